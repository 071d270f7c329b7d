"""Torch-backed test targets, each with one planted structural bug, for measuring the search.

Every target computes a case from PyTorch's own uncropped float64 transposed convolution
(``padding=0``, ``output_padding=0``), adds the bias, and cuts the canonical output window out of it
in NumPy (output position ``o`` reads full position ``o + cb``; positions outside the full output
hold the bias alone), rounded once to the case's dtype. :class:`PlantedNone` is that and nothing
else: the control, which must never give a finding. Each other target changes one step, and only
where :meth:`PlantedTarget.triggered` says so, so a run that kills it must report a finding whose
minimal case triggers it. ``required`` and ``optional`` name the case's signature tokens
(:func:`harness.model.features.signature_features`) a minimal case must have and may have.

Named ``tests.planted_bugs:<Class>`` wherever a target is accepted; :data:`PLANTED` lists them all.
``benchmarks/planted_bugs.py`` runs them and scores the search.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from adapters.protocol import CROPS_BEGIN_END, Capabilities
from adapters.torch.common import TORCH_DTYPES
from adapters.torch.functional import TorchFunctional
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.oracle.tolerance import exact_model

Ints = tuple[int, ...]


def torch_full_output(
    case: Case, x: np.ndarray, weight: np.ndarray, stride: Ints, dilation: Ints
) -> np.ndarray:
    """PyTorch's uncropped float64 transposed convolution of ``x`` (no bias, no padding)."""
    import torch
    import torch.nn.functional as functional

    conv = getattr(functional, f"conv_transpose{case.rank}d")
    with torch.no_grad():
        y = conv(
            torch.from_numpy(np.array(x, dtype=np.float64, order="C")),
            torch.from_numpy(np.array(weight, dtype=np.float64, order="C")),
            None,
            stride=stride,
            padding=0,
            output_padding=0,
            groups=case.groups,
            dilation=dilation,
        )
    return np.asarray(y.numpy(), dtype=np.float64)


def output_window(full: np.ndarray, fill: np.ndarray, begins: Ints, lengths: Ints) -> np.ndarray:
    """``out[..., o] = full[..., o + begin]`` per dimension; positions outside ``full`` hold ``fill``
    (one value per channel)."""
    n, channels = full.shape[:2]
    rank = len(lengths)
    out = np.empty((n, channels, *lengths), dtype=np.float64)
    out[...] = fill.reshape((1, channels) + (1,) * rank)
    src: list[slice] = [slice(None), slice(None)]
    dst: list[slice] = [slice(None), slice(None)]
    for begin, length, size in zip(begins, lengths, full.shape[2:], strict=True):
        lo, hi = max(0, -begin), min(length, size - begin)
        if hi <= lo:
            return out
        dst.append(slice(lo, hi))
        src.append(slice(begin + lo, begin + hi))
    out[tuple(dst)] = full[tuple(src)]
    return out


class PlantedTarget(TorchFunctional):
    """The faithful torch-backed computation, with hooks a planted bug overrides."""

    name = "planted.none"
    description = "no bug (the control)"
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()

    def capabilities(self) -> Capabilities:
        """Every canonical explicit-crop geometry; each dtype computed exactly and rounded once."""
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset(TORCH_DTYPES),
            layouts=frozenset({"channels_first", "channels_last"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit="any",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu"}),
            accumulation={d: exact_model(d) for d in TORCH_DTYPES},
            channels_last_ranks=frozenset({2, 3}),
        )

    def expressible(self, case: Case) -> str | None:
        """Any explicit crops and output padding."""
        return None

    def triggered(self, case: Case) -> bool:
        """Whether the planted bug can change this case's result."""
        return False

    # --- the steps a bug may change -------------------------------------------------------------
    def before(self, case: Case) -> None:
        """Called first (a crash or a hang happens here)."""

    def inputs(
        self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The input, weight and per-channel bias (zeros without bias) the convolution uses."""
        return x, weight, bias

    def geometry(self, case: Case) -> tuple[Ints, Ints]:
        """The stride and dilation the convolution uses."""
        return case.stride, case.dilation

    def begins(self, case: Case) -> Ints:
        """The full-output position of each dimension's first output element."""
        return case.pads_begin

    def fill(self, case: Case, bias: np.ndarray) -> np.ndarray:
        """What positions outside the full output hold, per channel."""
        return bias

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        """The float64 output before it is rounded to the dtype."""
        return y

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The torch-backed result with this target's bug."""
        self.ready()
        self.before(case)
        zeros = np.zeros(case.out_channels)
        bias0 = zeros if arrays.bias is None or not case.bias else np.asarray(arrays.bias, dtype=np.float64)
        x, weight, bias = self.inputs(case, arrays.x, arrays.weight, bias0)
        stride, dilation = self.geometry(case)
        full = torch_full_output(case, x, weight, stride, dilation)
        full += bias.reshape((1, -1) + (1,) * case.rank)
        y = output_window(full, self.fill(case, bias), self.begins(case), case.output_size)
        return round_to_format(self.after(case, y), case.dtype)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """How to re-run the case (the bug lives in this test module, not in a framework)."""
        return (
            f"# {self.name}: a test target with a planted bug: {self.description}\n"
            "import numpy as np\n"
            "from harness.model.arrays import CaseArrays\n"
            "from harness.model.case import Case\n"
            f"from tests.planted_bugs import {type(self).__name__}\n\n"
            f"case = Case.from_dict({case.to_dict()!r})\n"
            f"data = np.load({npz_name!r})\n"
            'bias = data["bias"] if "bias" in data else None\n'
            'arrays = CaseArrays(data["x"], data["weight"], bias, case.dtype)\n'
            f"print({type(self).__name__}().run(case, arrays))\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The target's class, called on the case."""
        return f"{type(self).__name__}().run(case, arrays)"


class PlantedNone(PlantedTarget):
    """The control: no bug."""


class CropBeginOffByOne(PlantedTarget):
    name = "planted.crop_begin_off_by_one"
    description = "a nonzero begin crop is read one position too far"
    required = frozenset({"crop"})
    # a cropped output of one input element is empty unless the kernel (or a stride) widens it
    optional = frozenset({"asymmetric_crop", "kernel>1", "stride>1"})

    def triggered(self, case: Case) -> bool:
        return any(case.pads_begin)

    def begins(self, case: Case) -> Ints:
        return tuple(cb + 1 if cb else 0 for cb in case.pads_begin)


class CropsSwapped(PlantedTarget):
    name = "planted.crops_swapped"
    description = "the begin crop is taken from pads_end"
    required = frozenset({"crop", "asymmetric_crop"})
    optional = frozenset({"kernel>1", "stride>1"})

    def triggered(self, case: Case) -> bool:
        return case.pads_begin != case.pads_end

    def begins(self, case: Case) -> Ints:
        return case.pads_end


class OutputPaddingAtBegin(PlantedTarget):
    name = "planted.output_padding_at_begin"
    description = "output_padding is added before the first position instead of after the last"
    required = frozenset({"output_padding"})
    optional = frozenset({"past_full_output"})

    def triggered(self, case: Case) -> bool:
        return any(case.output_padding)

    def begins(self, case: Case) -> Ints:
        return tuple(cb - op for cb, op in zip(case.pads_begin, case.output_padding, strict=True))


class AppendedWithoutBias(PlantedTarget):
    name = "planted.appended_without_bias"
    description = "positions past the full output hold 0 instead of the bias"
    required = frozenset({"bias", "output_padding", "past_full_output"})

    def triggered(self, case: Case) -> bool:
        return case.bias and any(
            cb + o > f for cb, o, f in zip(case.pads_begin, case.output_size, case.full_size, strict=True)
        )

    def fill(self, case: Case, bias: np.ndarray) -> np.ndarray:
        return np.zeros_like(bias)


class KernelFlippedLastDim(PlantedTarget):
    name = "planted.kernel_flipped_last_dim"
    description = "the kernel is applied mirrored along the last dimension"
    required = frozenset({"kernel>1"})

    def triggered(self, case: Case) -> bool:
        return case.kernel_size[-1] > 1

    def inputs(
        self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return x, weight[..., ::-1].copy(), bias


class GroupsMixed(PlantedTarget):
    name = "planted.groups_mixed"
    description = "each group reads the next group's input channels"
    required = frozenset({"groups>1"})

    def triggered(self, case: Case) -> bool:
        return case.groups > 1

    def inputs(
        self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.roll(x, -(case.in_channels // case.groups), axis=1), weight, bias


class DilationIgnoredLastDim(PlantedTarget):
    name = "planted.dilation_ignored_last_dim"
    description = "the last dimension's dilation is taken as 1 (the output keeps its documented size)"
    required = frozenset({"dilation>1", "kernel>1"})

    def triggered(self, case: Case) -> bool:
        return case.dilation[-1] > 1 and case.kernel_size[-1] > 1

    def geometry(self, case: Case) -> tuple[Ints, Ints]:
        return case.stride, (*case.dilation[:-1], 1)


class StrideIgnoredFirstDim(PlantedTarget):
    name = "planted.stride_ignored_first_dim"
    description = "in 2-D and 3-D the first spatial dimension's stride is taken as 1"
    required = frozenset({"stride>1"})
    optional = frozenset({"rank=2", "rank=3"})

    def triggered(self, case: Case) -> bool:
        return case.rank >= 2 and case.stride[0] > 1 and case.input_size[0] > 1

    def geometry(self, case: Case) -> tuple[Ints, Ints]:
        stride = (1, *case.stride[1:]) if case.rank >= 2 else case.stride
        return stride, case.dilation


class WrongAtSize5Stride2(PlantedTarget):
    name = "planted.wrong_at_size5_stride2"
    description = "the last output column is negated (minus 1) when input size 5 meets stride 2 there"
    required = frozenset({"stride>1"})

    def triggered(self, case: Case) -> bool:
        return case.input_size[-1] == 5 and case.stride[-1] == 2

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        if self.triggered(case):
            y = y.copy()
            y[..., -1] = -y[..., -1] - 1.0
        return y


class LastOutputChannelZero(PlantedTarget):
    name = "planted.last_output_channel_zero"
    description = "the last output channel holds 0"
    optional = frozenset({"out_per_group>1", "groups>1"})

    def triggered(self, case: Case) -> bool:
        return case.out_channels > 1

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        if self.triggered(case):
            y = y.copy()
            y[:, -1] = 0.0
        return y


class LastInputChannelDropped(PlantedTarget):
    name = "planted.last_input_channel_dropped"
    description = "with 4 or more input channels the last one is ignored"
    optional = frozenset({"in_per_group>1", "groups>1"})

    def triggered(self, case: Case) -> bool:
        return case.in_channels >= 4

    def inputs(
        self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.triggered(case):
            x = x.copy()
            x[:, -1] = 0.0
        return x, weight, bias


class BiasOfNextChannel(PlantedTarget):
    name = "planted.bias_of_next_channel"
    description = "each output channel gets the next channel's bias"
    required = frozenset({"bias"})
    optional = frozenset({"out_per_group>1", "groups>1"})

    def triggered(self, case: Case) -> bool:
        return case.bias and case.out_channels > 1

    def inputs(
        self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return x, weight, np.roll(bias, -1)


class BatchItemsMixed(PlantedTarget):
    name = "planted.batch_items_mixed"
    description = "every batch item gets the first item's output"
    required = frozenset({"batch>1"})

    def triggered(self, case: Case) -> bool:
        return case.batch > 1

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        return np.broadcast_to(y[:1], y.shape).copy()


class NanAsZero(PlantedTarget):
    name = "planted.nan_as_zero"
    description = "nan outputs are returned as 0"
    required = frozenset({"distribution=special"})
    optional = frozenset({"kernel>1", "in_per_group>1"})

    def triggered(self, case: Case) -> bool:
        return case.distribution == "special"

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(y), 0.0, y)


class Float32ThroughBfloat16(PlantedTarget):
    name = "planted.float32_through_bfloat16"
    description = "float32 results are rounded through bfloat16 (a precision loss, not a structural one)"

    def triggered(self, case: Case) -> bool:
        return case.dtype == "float32"

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        return round_to_format(y, "bfloat16") if case.dtype == "float32" else y


class CrashAtKernel3Stride3(PlantedTarget):
    name = "planted.crash_at_kernel3_stride3"
    description = "the process aborts when the first dimension has kernel 3 and stride 3"
    required = frozenset({"kernel>1", "stride>1"})

    def triggered(self, case: Case) -> bool:
        return case.kernel_size[0] == 3 and case.stride[0] == 3

    def before(self, case: Case) -> None:
        if self.triggered(case):
            os.abort()


class HangAtDilation2Kernel2(PlantedTarget):
    name = "planted.hang_at_dilation2_kernel2"
    description = "the call never returns when the first dimension has dilation 2 and kernel 2"
    required = frozenset({"dilation>1", "kernel>1"})

    def triggered(self, case: Case) -> bool:
        return case.dilation[0] == 2 and case.kernel_size[0] == 2

    def before(self, case: Case) -> None:
        if self.triggered(case):
            time.sleep(3600)


class OddSizeTruncated(PlantedTarget):
    name = "planted.odd_output_truncated"
    description = "an odd output length along the last dimension holds 0 in its last position"
    optional = frozenset({"kernel>1", "stride>1", "crop", "output_padding", "dilation>1"})

    def triggered(self, case: Case) -> bool:
        return case.output_size[-1] % 2 == 1 and case.output_size[-1] > 1

    def after(self, case: Case, y: np.ndarray) -> np.ndarray:
        if self.triggered(case):
            y = y.copy()
            y[..., -1] = 0.0
        return y


#: Every planted-bug target, the control first.
PLANTED: tuple[type[PlantedTarget], ...] = (
    PlantedNone,
    CropBeginOffByOne,
    CropsSwapped,
    OutputPaddingAtBegin,
    AppendedWithoutBias,
    KernelFlippedLastDim,
    GroupsMixed,
    DilationIgnoredLastDim,
    StrideIgnoredFirstDim,
    WrongAtSize5Stride2,
    LastOutputChannelZero,
    LastInputChannelDropped,
    BiasOfNextChannel,
    BatchItemsMixed,
    NanAsZero,
    Float32ThroughBfloat16,
    CrashAtKernel3Stride3,
    HangAtDilation2Kernel2,
    OddSizeTruncated,
)


def reference_name(cls: type[PlantedTarget]) -> str:
    """``tests.planted_bugs:<Class>``: how ``--targets`` names the target."""
    return f"{__name__}:{cls.__qualname__}"


#: Tokens no minimal case is blamed for: each spec fixes its rank, so a shrinker cannot remove it.
ALWAYS_ALLOWED = frozenset({"rank=2", "rank=3"})


def needless_tokens(target: PlantedTarget, tokens: frozenset[str]) -> frozenset[str]:
    """Signature tokens of a minimal case that its bug neither requires nor may carry."""
    return tokens - target.required - target.optional - ALWAYS_ALLOWED


def describe(cls: type[PlantedTarget]) -> dict[str, Any]:
    """Name, sentence and required tokens of a planted target (for the benchmark's table)."""
    return {"name": cls.name, "description": cls.description, "required": sorted(cls.required)}
