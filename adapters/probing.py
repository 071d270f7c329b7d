"""Raw probe parameters: the configuration ``audit-invalid`` sends a target, unvalidated.

:meth:`adapters.protocol.TargetApi.probe_plan` builds the target's call from :class:`RawParams`
(which may break every rule of the canonical model) and the runner executes it on random data;
:class:`~harness.errors.NotExpressible` says the API has no way to pass the parameters at all.
Nothing here imports a framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters.plan import LazyArrays
from harness.errors import NotExpressible


@dataclass(frozen=True)
class RawQuant:
    """Raw affine quantization of a probe, unvalidated (a zero or negative scale, a zero point
    outside its dtype's range, per-channel lists of any length): uint8 input and output, an int8
    weight with one scale and zero point, or one per output channel (its axis 1)."""

    input_scale: float = 0.05
    input_zero_point: int = 128
    weight_scales: tuple[float, ...] = (0.02,)
    weight_zero_points: tuple[int, ...] = (0,)
    output_scale: float = 0.1
    output_zero_point: int = 128

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RawQuant:
        """From its plain-dict form (lists become tuples)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class RawParams:
    """Raw transposed-convolution parameters, unvalidated (negative or zero values allowed).

    ``input_channels`` is the channel count of the data tensor (it may differ from
    ``in_channels``); ``weight_shape`` the shape of the weight given to APIs that take one;
    ``output_size`` the spatial size asked of APIs that take a size (computed by the caller from
    the raw formula).
    """

    rank: int
    batch: int
    input_channels: int
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]
    output_padding: tuple[int, ...]
    bias: bool
    weight_shape: tuple[int, ...]
    output_size: tuple[int, ...]
    #: The quantization of an int8 probe; None for a float probe.
    quant: RawQuant | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RawParams:
        """From the plain dict the audit sends to a worker (lists become tuples)."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        if values.get("quant") is not None:
            values["quant"] = RawQuant.from_dict(values["quant"])
        return cls(**values)

    @property
    def x_shape(self) -> tuple[int, ...]:
        """``(N, C, *L)`` of the data tensor."""
        return (self.batch, self.input_channels, *self.input_size)

    @property
    def symmetric(self) -> bool:
        """True when every dimension crops the same at both ends."""
        return self.pads_begin == self.pads_end

    def pairs(self) -> tuple[int, ...]:
        """``(b1, e1, b2, e2, …)``."""
        return tuple(v for b, e in zip(self.pads_begin, self.pads_end, strict=True) for v in (b, e))

    def require_symmetric(self, api: str) -> None:
        """Raise :class:`NotExpressible` unless the crops are symmetric."""
        if not self.symmetric:
            raise NotExpressible(f"{api} takes one padding per dimension for both ends")

    def default_weight_shape(self) -> tuple[int, ...]:
        """``(C_in, C_out/groups, *k)`` (``C_out`` per group when groups is not positive)."""
        per_group = self.out_channels // self.groups if self.groups > 0 else self.out_channels
        return (self.in_channels, per_group, *self.kernel_size)

    def require_layer_weight(self, api: str) -> None:
        """A layer creates its own weight: a configuration about the weight's shape does not apply."""
        if self.weight_shape != self.default_weight_shape():
            raise NotExpressible(
                f"{api} creates its own weight (of shape (C_in, C_out/groups, *k)): "
                f"a weight of shape {list(self.weight_shape)} cannot be given"
            )

    def require_kernel_from_weight(self, api: str) -> None:
        """A functional API without ``kernel_size`` reads the kernel from the weight."""
        if len(self.weight_shape) == self.rank + 2 and self.weight_shape[2:] != self.kernel_size:
            raise NotExpressible(
                f"{api} takes no kernel_size: the kernel is the weight's {list(self.weight_shape[2:])}"
            )

    def arrays(self) -> LazyArrays:
        """The probe's ``x``, ``weight`` and ``bias`` (seeds 0, 1, 2), each made when first read."""
        return LazyArrays(
            {
                "x": lambda: self.data(),
                "weight": lambda: self.data(self.weight_shape, seed=1),
                "bias": lambda: self.data((self.out_channels,), seed=2),
            }
        )

    def data(self, shape: Sequence[int] | None = None, seed: int = 0) -> np.ndarray:
        """Normal float32 values of ``shape`` (the data tensor's by default); empty shapes allowed."""
        dims = tuple(int(v) for v in (self.x_shape if shape is None else shape))
        if any(v < 0 for v in dims):
            raise NotExpressible(f"no tensor has the negative shape {list(dims)}")
        return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
