"""Hard limits on the size of a case: the caps, their rule names, and the checks against them.

The main process computes every reference in float64, holds the arrays a target returns and builds
Python bookkeeping per stride phase and per kernel tap, so a case far beyond what any machine can
hold would otherwise hang it or kill it. These caps are the same on every machine and far above
what the default specs draw (a few thousand elements per tensor); whether a case fits *this*
machine's memory is checked separately, before each reference (:mod:`harness.oracle.memory`).

- ``max_tensor_elements``, 2**28: elements of the input, of the weight and of the output, each.
- ``max_extent``, 2**28: every per-dimension size (input, kernel, stride, dilation, crops, output
  padding), and the full output ``F`` along each dimension.
- ``max_stride_phases``, 2**18: the reference's stride phases, ``Π min(s, O)``.
- ``max_kernel_taps``, 2**18: the kernel's taps, ``Π k``.
- ``max_reference_scratch``, 8 GiB (four tensors' worth of float64 at the tensor cap): the
  reference's work memory besides its output, estimated as below.

The first two are part of a case's validity: :func:`harness.model.case.validate` checks them
(:func:`check_case_size`) on every case constructed. A spec's ``max_elements`` may not exceed the
tensor cap, nor its per-dimension ranges the extent cap, so the cases a spec draws never meet
them. The last three concern the reference's computation and depend on several sizes at once;
:func:`check_reference` checks them where cases enter (a spec's pinned cases, the findings store,
``port``) and the verdict checks them before it allocates anything for a case.

The scratch estimate follows ``harness/oracle/reference/kernel.py``: one work buffer holding the padded,
channel-major data (``G·(C_in/g + 1)`` rows over ``N·Π padded`` positions) and one unit's GEMM
result, which together stay within the larger of one GEMM over every tap on the unpadded positions
(``taps·C_out·N·Π L``) and the padded data plus a single phase's GEMM; the GEMM weights
(``taps·C_out·(C_in/g + 1)``) and their gathered copy; and the per-dimension tables of
``tap_counts`` (``O × k``); and the Python bookkeeping per phase and per tap. Each term is an upper
bound computed from the shape alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from harness.errors import InvalidCase


class CaseShape(Protocol):
    """What the checks read of a :class:`harness.model.case.Case` (which imports this module)."""

    @property
    def batch(self) -> int: ...
    @property
    def in_channels(self) -> int: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def input_size(self) -> tuple[int, ...]: ...
    @property
    def kernel_size(self) -> tuple[int, ...]: ...
    @property
    def stride(self) -> tuple[int, ...]: ...
    @property
    def dilation(self) -> tuple[int, ...]: ...
    @property
    def pads_begin(self) -> tuple[int, ...]: ...
    @property
    def pads_end(self) -> tuple[int, ...]: ...
    @property
    def output_padding(self) -> tuple[int, ...]: ...
    @property
    def output_size(self) -> tuple[int, ...]: ...
    @property
    def input_shape(self) -> tuple[int, ...]: ...
    @property
    def weight_shape(self) -> tuple[int, ...]: ...
    @property
    def output_shape(self) -> tuple[int, ...]: ...


@dataclass(frozen=True)
class Limit:
    """One cap: the rule a case over it breaks, the value, and what it counts (for messages)."""

    rule: str
    cap: int
    unit: str

    def shown(self) -> str:
        """The cap as messages give it, e.g. ``2**28 = 268435456 elements per tensor``."""
        if self.unit == "bytes":
            return f"{self.cap / 2**30:g} GiB"
        power = self.cap.bit_length() - 1
        exact = f"2**{power} = {self.cap}" if self.cap == 1 << power else str(self.cap)
        return f"{exact} {self.unit}"


TENSOR_ELEMENTS = Limit("max_tensor_elements", 2**28, "elements per tensor")
EXTENT = Limit("max_extent", 2**28, "per dimension")
STRIDE_PHASES = Limit("max_stride_phases", 2**18, "stride phases")
KERNEL_TAPS = Limit("max_kernel_taps", 2**18, "kernel taps")
#: Four tensors' worth of float64 at the tensor cap.
REFERENCE_SCRATCH = Limit("max_reference_scratch", 4 * 8 * TENSOR_ELEMENTS.cap, "bytes")
LIMITS: tuple[Limit, ...] = (TENSOR_ELEMENTS, EXTENT, STRIDE_PHASES, KERNEL_TAPS, REFERENCE_SCRATCH)
#: The rules of these caps (the :attr:`~harness.errors.InvalidCase.rule` of a case over one).
LIMIT_RULES: frozenset[str] = frozenset(limit.rule for limit in LIMITS)

#: The Python bookkeeping of a geometry (phases, taps, windows), per phase and per tap, and the
#: NumPy views and small arrays every call makes, as measured with tracemalloc.
BOOKKEEPING_BYTES_PER_ITEM = 2**10
BOOKKEEPING_BYTES = 2**18

_PER_DIM = ("input_size", "kernel_size", "stride", "dilation", "pads_begin", "pads_end", "output_padding")


def _over(limit: Limit, message: str, field: str | None = None) -> InvalidCase:
    text = f"{message}, over the cap of {limit.shown()} (rule {limit.rule})"
    return InvalidCase(limit.rule, text, field)


def _product(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape))


def check_case_size(case: CaseShape) -> None:
    """Raise :class:`InvalidCase` when a per-dimension size or a tensor is over its cap.

    Arithmetic on the shape only; called by :func:`harness.model.case.validate` once the geometry
    is known to be valid.
    """
    if max(max(getattr(case, name)) for name in _PER_DIM) > EXTENT.cap:
        for name in _PER_DIM:
            for dim, value in enumerate(getattr(case, name)):
                if value > EXTENT.cap:
                    raise _over(EXTENT, f"{name}[{dim}] is {value}", name)
    dims = zip(case.input_size, case.kernel_size, case.stride, case.dilation, strict=True)
    for dim, (n, k, s, d) in enumerate(dims):
        full = (n - 1) * s + d * (k - 1) + 1
        if full > EXTENT.cap:
            raise _over(EXTENT, f"the full output along spatial dim {dim} is {full}")
    counts = {
        "input": case.batch * case.in_channels * math.prod(case.input_size),
        "weight": case.in_channels * (case.out_channels // case.groups) * math.prod(case.kernel_size),
        "output": case.batch * case.out_channels * math.prod(case.output_size),
    }
    for tensor, count in counts.items():
        if count > TENSOR_ELEMENTS.cap:
            shape: tuple[int, ...] = getattr(case, f"{tensor}_shape")
            raise _over(TENSOR_ELEMENTS, f"the {tensor} has {count} elements ({_product(shape)})")


def stride_phases(case: CaseShape) -> int:
    """The reference's stride phases, ``Π min(s, O)``."""
    return math.prod(min(s, o) for s, o in zip(case.stride, case.output_size, strict=True))


def kernel_taps(case: CaseShape) -> int:
    """Kernel taps, ``Π k``."""
    return math.prod(case.kernel_size)


def reference_scratch_bytes(case: CaseShape) -> int:
    """An upper bound on the memory the reference of ``case`` allocates besides its output.

    See the module docstring; a named-mode case is estimated with its nominal output and no crops.
    """
    n, c_in, c_out, g = case.batch, case.in_channels, case.out_channels, case.groups
    padded, phase_taps, tables = 1, 1, 0
    for size, k, s, d, cb, o in zip(
        case.input_size,
        case.kernel_size,
        case.stride,
        case.dilation,
        case.pads_begin,
        case.output_size,
        strict=True,
    ):
        dilated = d * (k - 1) + 1
        largest_phase = -(-o // s)
        # Reads reach back at most (K − 1 − cb)/s before the data and forward to (O + cb)/s.
        before = min(largest_phase - 1, max(0, (dilated - 1 - cb) // s))
        padded *= before + max(size, -(-(o + cb) // s))
        # One phase takes the taps of one residue class of j·d modulo s.
        phase_taps *= -(-k // (s // math.gcd(s, d)))
        tables = max(tables, 3 * o * k)  # tap_counts: int64 positions, their residues, masks
    taps = kernel_taps(case)
    rows = c_in // g + 1  # the data rows of a group, plus the row of ones that carries the bias
    grid = n * padded
    all_taps_gemm = taps * c_out * n * math.prod(case.input_size)
    one_phase = g * rows * grid + phase_taps * c_out * grid
    weights = taps * c_out * rows + 2 * math.prod(case.weight_shape)  # GEMM weights, gathered copy
    bookkeeping = BOOKKEEPING_BYTES + BOOKKEEPING_BYTES_PER_ITEM * (stride_phases(case) + taps)
    return 8 * (max(all_taps_gemm, one_phase) + weights + tables) + bookkeeping


def check_reference(case: CaseShape) -> None:
    """Raise :class:`InvalidCase` when the reference of ``case`` would pass a cap on its phases, its
    taps or its scratch memory (arithmetic on the shape only)."""
    phases = stride_phases(case)
    if phases > STRIDE_PHASES.cap:
        raise _over(STRIDE_PHASES, f"the reference would loop over {phases} stride phases (Π min(s, O))")
    taps = kernel_taps(case)
    if taps > KERNEL_TAPS.cap:
        raise _over(KERNEL_TAPS, f"the kernel has {taps} taps ({_product(case.kernel_size)})")
    scratch = reference_scratch_bytes(case)
    if scratch > REFERENCE_SCRATCH.cap:
        raise _over(
            REFERENCE_SCRATCH,
            f"the reference would need about {scratch / 2**30:.3g} GiB of work memory",
        )


def check_limits(case: CaseShape) -> None:
    """Every cap: the case's sizes, then its reference's (raises :class:`InvalidCase`)."""
    check_case_size(case)
    check_reference(case)
