"""Pure helpers the adapters' audit methods share: call text and raw probe parameters.

Two optional methods let the porting and audit tools (``harness.audits.port``, ``harness.audits.invalid``)
talk to a target beyond the protocol:

- ``equivalent_call(case) -> str``: the one-line call in the target's own API that its ``run`` makes
  for ``case`` (arguments at the API's documented default are left out);
- ``probe(params) -> list[int]``: call the framework with *raw* parameters (:class:`RawParams`, which
  may break every rule of the canonical model) and return the output shape, or raise what the
  framework raises. :class:`NotExpressible` says the API has no way to pass the parameters at all.

Nothing here imports a framework.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import NotExpressible


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RawParams:
        """From the plain dict the audit sends to a worker (lists become tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

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

    def data(self, shape: Sequence[int] | None = None, seed: int = 0) -> np.ndarray:
        """Normal float32 values of ``shape`` (the data tensor's by default); empty shapes allowed."""
        dims = tuple(int(v) for v in (self.x_shape if shape is None else shape))
        if any(v < 0 for v in dims):
            raise NotExpressible(f"no tensor has the negative shape {list(dims)}")
        return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)


class Code(str):
    """Source text shown as is in a call (a variable or attribute name, not a string literal)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def literal(value: Any) -> str:
    """Python source text of an argument value (tuples keep their parentheses)."""
    if isinstance(value, np.integer):
        return str(int(value))
    return repr(value)


def call_text(
    function: str,
    positional: Sequence[Any] = (),
    keywords: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> str:
    """``function(p1, p2, k=v, …)``, leaving out keywords equal to their documented default.

    A tuple whose entries all equal an int default counts as that default (the APIs documented
    here broadcast an int to every dimension).
    """
    parts = [literal(v) for v in positional]
    defaults = defaults or {}
    for key, value in (keywords or {}).items():
        if key in defaults and _is_default(value, defaults[key]):
            continue
        parts.append(f"{key}={literal(value)}")
    return f"{function}({', '.join(parts)})"


def _is_default(value: Any, default: Any) -> bool:
    if isinstance(value, list | tuple) and not isinstance(default, list | tuple) and value:
        return all(_is_default(v, default) for v in value)
    return type(value) is type(default) and value == default
