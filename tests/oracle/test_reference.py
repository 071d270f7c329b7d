"""Checks of the float64 reference kernel that do not trust the kernel itself.

The reference (``harness.oracle.reference.conv_transpose``) is compared with

- a scalar-loop evaluation of the defining sum (``tests/naive.py``), exactly on small-integer data and
  to 1e-12 of ``Σ|x·w|`` otherwise, over random rank-1/2/3 geometries with groups, dilation, strides,
  asymmetric crops and output padding that reaches past the full output;
- the adjoint identity ``<conv_transpose(x, w), y> = <x, conv(y, w)>`` with an independent forward
  convolution;
- torch's float64 ``conv_transpose{1,2,3}d`` (skipped where torch is not installed);
- the documented examples of the frameworks' pages (docs/sources.md).

It also checks IEEE special-value propagation, argument errors and ``tap_counts``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from naive import conv_forward_naive, conv_transpose_naive

from harness.model.case import Case
from harness.oracle.reference import conv_transpose, reference_for_case, tap_counts

REL = 1e-12

# Per-rank bounds keeping the scalar loops fast: (max L, max k, max s, max d, max op).
_NAIVE_LIMITS: dict[int, tuple[int, int, int, int, int]] = {
    1: (6, 4, 3, 3, 3),
    2: (4, 3, 3, 2, 2),
    3: (3, 2, 2, 2, 2),
}
_TORCH_LIMITS: dict[int, tuple[int, int, int, int]] = {  # (max L, max k, max s, max d)
    1: (9, 5, 4, 3),
    2: (6, 4, 3, 3),
    3: (4, 3, 2, 2),
}


def geometry(case: Case) -> dict[str, Any]:
    """The keyword arguments of ``conv_transpose`` for a case."""
    return {
        "stride": case.stride,
        "dilation": case.dilation,
        "pads_begin": case.pads_begin,
        "pads_end": case.pads_end,
        "output_padding": case.output_padding,
        "groups": case.groups,
    }


@st.composite
def small_cases(draw: st.DrawFn, *, output_padding: bool = True) -> Case:
    """Valid float64 cases tiny enough for the scalar loops, crops drawn independently per end.

    Crops range over everything that keeps ``O ≥ 1``, so with output padding a crop may exceed the
    full output and output padding may reach past it (bias-only positions).
    """
    rank = draw(st.integers(1, 3))
    max_l, max_k, max_s, max_d, max_op = _NAIVE_LIMITS[rank]
    groups = draw(st.integers(1, 3))
    dims: dict[str, list[int]] = {name: [] for name in ("L", "k", "s", "d", "cb", "ce", "op")}
    for _ in range(rank):
        size, k = draw(st.integers(1, max_l)), draw(st.integers(1, max_k))
        s, d = draw(st.integers(1, max_s)), draw(st.integers(1, max_d))
        full = (size - 1) * s + d * (k - 1) + 1
        op = draw(st.integers(0, max_op)) if output_padding else 0
        cb = draw(st.integers(0, full + op - 1))
        ce = draw(st.integers(0, full + op - 1 - cb))
        for name, v in zip(dims, (size, k, s, d, cb, ce, op), strict=True):
            dims[name].append(v)
    return Case.make(
        rank=rank,
        batch=draw(st.integers(1, 2)),
        in_channels=groups * draw(st.integers(1, 2)),
        out_channels=groups * draw(st.integers(1, 2)),
        groups=groups,
        input_size=dims["L"],
        kernel_size=dims["k"],
        stride=dims["s"],
        dilation=dims["d"],
        pads_begin=dims["cb"],
        pads_end=dims["ce"],
        output_padding=dims["op"],
        bias=draw(st.booleans()),
        dtype="float64",
    )


def draw_arrays(
    case: Case, seed: int, integers: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Float64 data, weight and (if the case has one) bias: N(0, 1), or integers in {−2..2}."""
    rng = np.random.default_rng(seed)

    def one(shape: tuple[int, ...]) -> np.ndarray:
        if integers:
            return rng.integers(-2, 3, size=shape).astype(np.float64)
        return rng.standard_normal(shape)

    x, w = one(case.input_shape), one(case.weight_shape)
    b = one((case.out_channels,)) if case.bias else None
    return x, w, b


def bias_only_mask(case: Case) -> np.ndarray:
    """Output positions with ``o + cb ≥ F`` in some dimension: no products reach them."""
    mask = np.zeros(case.output_size, dtype=bool)
    dims = zip(case.output_size, case.pads_begin, case.full_size, strict=True)
    for axis, (size, cb, full) in enumerate(dims):
        past = np.arange(size) + cb >= full
        shape = [1] * case.rank
        shape[axis] = size
        mask |= past.reshape(shape)
    return mask


def magnitude(case: Case, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """``|bias| + Σ|x·w|`` per output element, by the scalar loop."""
    m = conv_transpose_naive(np.abs(x), np.abs(w), None, **geometry(case))
    if b is not None:
        m += np.abs(b).reshape((1, -1) + (1,) * case.rank)
    return m


# --- the parallel, blocked passes of large problems, forced on small ones -------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=small_cases(),
    seed=st.integers(0, 2**32 - 1),
    threads=st.sampled_from([2, 3]),
    block=st.sampled_from([1, 3, 7, 40]),
    split=st.booleans(),
)
def test_parallel_blocked_passes_match_naive_loop(
    monkeypatch: pytest.MonkeyPatch, case: Case, seed: int, threads: int, block: int, split: bool
) -> None:
    """Blocks of every kind (groups, channels, samples), threads, and row groups split phase by phase."""
    from harness.oracle.reference import kernel, scratch

    units = kernel.units_of
    with monkeypatch.context() as patch:
        patch.setattr(scratch, "PARALLEL_MIN_ELEMENTS", 0)
        patch.setattr(kernel, "BLOCK_ELEMENTS", block)
        if split:  # no room: one GEMM per phase
            patch.setattr(kernel, "units_of", lambda plan, room: units(plan, 0))
        patch.setenv("CONVT_REFERENCE_THREADS", str(threads))
        x, w, b = draw_arrays(case, seed, True)
        ref = conv_transpose(x, w, b, **geometry(case))
    np.testing.assert_array_equal(ref, conv_transpose_naive(x, w, b, **geometry(case)))


# --- reference vs. the defining sum ---------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(case=small_cases(), seed=st.integers(0, 2**32 - 1), integers=st.booleans())
@example(  # crop larger than the full output, made up for by output padding past it
    case=Case.make(
        input_size=2,
        kernel_size=2,
        stride=2,
        pads_begin=4,
        pads_end=0,
        output_padding=3,
        in_channels=2,
        out_channels=4,
        groups=2,
        dtype="float64",
    ),
    seed=1,
    integers=False,
)
@example(  # 3-D, asymmetric crops, dilation and stride, groups
    case=Case.make(
        input_size=(2, 2, 1),
        kernel_size=(2, 2, 2),
        stride=(2, 1, 2),
        dilation=(2, 1, 1),
        pads_begin=(1, 0, 2),
        pads_end=(0, 2, 0),
        output_padding=(2, 0, 1),
        batch=2,
        in_channels=3,
        out_channels=3,
        groups=3,
        dtype="float64",
    ),
    seed=2,
    integers=True,
)
def test_reference_matches_naive_loop(case: Case, seed: int, integers: bool) -> None:
    x, w, b = draw_arrays(case, seed, integers)
    ref = conv_transpose(x, w, b, **geometry(case))
    naive = conv_transpose_naive(x, w, b, **geometry(case))
    assert ref.shape == naive.shape == case.output_shape
    assert ref.dtype == np.float64
    if integers:
        # Sums of small integers are exact in float64: any difference is a structural bug.
        np.testing.assert_array_equal(ref, naive)
    else:
        err = np.abs(ref - naive)
        bound = REL * magnitude(case, x, w, b)
        assert np.all(err <= bound), f"max error/bound {np.max(err / np.maximum(bound, 1e-300)):.3g}"
    # Positions past the full output hold the bias alone, exactly (0 without bias).
    mask = bias_only_mask(case)
    expected = np.zeros(case.out_channels) if b is None else b
    got = ref[:, :, mask]
    np.testing.assert_array_equal(got, np.broadcast_to(expected[None, :, None], got.shape))


# Edge paths of the polyphase kernel, each with a stride phase that no kernel tap reaches (it holds
# the bias alone): a kernel shorter than the stride, or a dilation sharing a factor with the stride.
_EDGE_CASES: dict[str, dict[str, Any]] = {
    "1d k<s": {"input_size": 5, "kernel_size": 1, "stride": 3},
    "1d k<s dilated, crop, output padding": {
        "input_size": 4,
        "kernel_size": 2,
        "stride": 4,
        "dilation": 3,
        "pads_begin": 2,
        "output_padding": 3,
    },
    "1d d=s: one phase only": {"input_size": 3, "kernel_size": 3, "stride": 2, "dilation": 2},
    "2d k<s one dim, groups": {
        "input_size": (3, 4),
        "kernel_size": (1, 2),
        "stride": (3, 3),
        "dilation": (1, 2),
        "in_channels": 4,
        "out_channels": 2,
        "groups": 2,
    },
    "2d dilation 2 stride 2": {"input_size": (3, 3), "kernel_size": 3, "stride": 2, "dilation": 2},
    "3d mixed, groups": {
        "input_size": (2, 3, 2),
        "kernel_size": (1, 2, 3),
        "stride": (2, 3, 1),
        "dilation": (1, 1, 2),
        "pads_begin": (0, 1, 1),
        "output_padding": (1, 0, 0),
        "batch": 2,
        "in_channels": 3,
        "out_channels": 6,
        "groups": 3,
    },
}


def _untapped_phases(case: Case) -> np.ndarray:
    """Output positions whose stride phase no kernel tap reaches in some dim, by brute force."""
    mask = np.zeros(case.output_size, dtype=bool)
    dims = zip(case.kernel_size, case.stride, case.dilation, case.pads_begin, case.output_size, strict=True)
    for axis, (k, s, d, cb, o) in enumerate(dims):
        empty = np.array([all((pos % s + cb - j * d) % s for j in range(k)) for pos in range(o)])
        shape = [1] * case.rank
        shape[axis] = o
        mask |= empty.reshape(shape)
    return mask


@pytest.mark.parametrize("forced", [False, True], ids=["default", "blocked-threaded-per-phase"])
@pytest.mark.parametrize("special", [False, True], ids=["finite", "inf-weight"])
@pytest.mark.parametrize("name", sorted(_EDGE_CASES))
def test_edge_paths_match_naive_loop(
    monkeypatch: pytest.MonkeyPatch, name: str, special: bool, forced: bool
) -> None:
    """Exact on small integers (also with an inf weight: the exact-window path), bias alone where no
    tap reaches, with the default paths and with blocks, threads and one GEMM per phase forced."""
    from harness.oracle.reference import kernel, scratch

    params: dict[str, Any] = {"in_channels": 2, "out_channels": 3, "bias": True, "dtype": "float64"}
    params.update(_EDGE_CASES[name])
    size = params["input_size"]
    case = Case.make(rank=1 if isinstance(size, int) else len(size), **params)
    untapped = _untapped_phases(case)
    assert untapped.any()
    x, w, b = draw_arrays(case, 11, True)
    if special:
        w.flat[0] = np.inf
    if forced:
        units = kernel.units_of
        monkeypatch.setattr(scratch, "PARALLEL_MIN_ELEMENTS", 0)
        monkeypatch.setattr(kernel, "BLOCK_ELEMENTS", 2)
        monkeypatch.setattr(kernel, "units_of", lambda plan, room: units(plan, 0))
        monkeypatch.setenv("CONVT_REFERENCE_THREADS", "2")
    with np.errstate(invalid="ignore"):
        naive = conv_transpose_naive(x, w, b, **geometry(case))
    ref = conv_transpose(x, w, b, **geometry(case))
    np.testing.assert_array_equal(ref, naive)
    assert b is not None  # a phase no tap reaches holds the bias alone
    got = ref[:, :, untapped]
    np.testing.assert_array_equal(got, np.broadcast_to(b[None, :, None], got.shape))


# --- adjoint identity -----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(case=small_cases(output_padding=False), seed=st.integers(0, 2**32 - 1))
def test_adjoint_identity(case: Case, seed: int) -> None:
    x, w, _ = draw_arrays(case, seed)
    y = np.random.default_rng(seed + 1).standard_normal(case.output_shape)
    conv_kw = {k: v for k, v in geometry(case).items() if k != "output_padding"}

    conv_y = conv_forward_naive(y, w, **conv_kw)
    assert conv_y.shape == case.input_shape  # the forward conv maps the output back onto the input
    rhs = float(np.sum(x * conv_y))
    scale = float(np.sum(np.abs(x) * conv_forward_naive(np.abs(y), np.abs(w), **conv_kw)))

    lhs = float(np.sum(conv_transpose(x, w, None, **geometry(case)) * y))
    assert abs(lhs - rhs) <= REL * scale
    # The two oracles are each other's adjoint as well.
    lhs_naive = float(np.sum(conv_transpose_naive(x, w, None, **geometry(case)) * y))
    assert abs(lhs_naive - rhs) <= REL * scale


# --- torch float64 cross-check --------------------------------------------------------------


@pytest.fixture(scope="module")
def torch() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@st.composite
def torch_cases(draw: st.DrawFn) -> Case:
    """Valid cases torch can express: symmetric crops and ``op < max(stride, dilation)``."""
    rank = draw(st.integers(1, 3))
    max_l, max_k, max_s, max_d = _TORCH_LIMITS[rank]
    groups = draw(st.integers(1, 4))
    dims: dict[str, list[int]] = {name: [] for name in ("L", "k", "s", "d", "p", "op")}
    for _ in range(rank):
        size, k = draw(st.integers(1, max_l)), draw(st.integers(1, max_k))
        s, d = draw(st.integers(1, max_s)), draw(st.integers(1, max_d))
        full = (size - 1) * s + d * (k - 1) + 1
        op = draw(st.integers(0, max(s, d) - 1))
        p = draw(st.integers(0, (full + op - 1) // 2))
        for name, v in zip(dims, (size, k, s, d, p, op), strict=True):
            dims[name].append(v)
    return Case.make(
        rank=rank,
        batch=draw(st.integers(1, 3)),
        in_channels=groups * draw(st.integers(1, 3)),
        out_channels=groups * draw(st.integers(1, 3)),
        groups=groups,
        input_size=dims["L"],
        kernel_size=dims["k"],
        stride=dims["s"],
        dilation=dims["d"],
        pads_begin=dims["p"],
        pads_end=dims["p"],
        output_padding=dims["op"],
        bias=draw(st.booleans()),
        dtype="float64",
    )


def torch_conv_transpose(
    torch: Any, case: Case, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> np.ndarray:
    """torch's functional transposed convolution (symmetric crops ``pads_begin``) in float64."""
    fn = getattr(torch.nn.functional, f"conv_transpose{case.rank}d")
    out = fn(
        torch.from_numpy(x),
        torch.from_numpy(w),
        bias=None if b is None else torch.from_numpy(b),
        stride=case.stride,
        padding=case.pads_begin,
        output_padding=case.output_padding,
        groups=case.groups,
        dilation=case.dilation,
    )
    return out.numpy()


@settings(max_examples=150, deadline=None)
@given(case=torch_cases(), seed=st.integers(0, 2**32 - 1))
def test_reference_matches_torch_float64(torch: Any, case: Case, seed: int) -> None:
    x, w, b = draw_arrays(case, seed)
    ref = reference_for_case(case, x, w, b)
    got = torch_conv_transpose(torch, case, x, w, b)
    assert got.shape == ref.shape == case.output_shape
    scale = torch_conv_transpose(torch, case, np.abs(x), np.abs(w), None if b is None else np.abs(b))
    assert np.all(np.abs(ref - got) <= REL * scale)


# --- documented examples -------------------------------------------------------------------------


def test_seed_000_tensorrt_deconvolution_example() -> None:
    # TensorRT operator page, Deconvolution (docs/sources.md): add_deconvolution_nd, 3x3 ones
    # kernel, stride 1, no padding, input 3x3 -> documented 5x5 output.
    x = np.array([[[[-3.0, -2.0, -1.0], [0.0, 1.0, 2.0], [2.0, 5.0, 6.0]]]])
    w = np.ones((1, 1, 3, 3))
    expected = np.array(
        [
            [-3.0, -5.0, -6.0, -3.0, -1.0],
            [-3.0, -4.0, -3.0, 0.0, 1.0],
            [-1.0, 3.0, 10.0, 11.0, 7.0],
            [2.0, 8.0, 16.0, 14.0, 8.0],
            [2.0, 7.0, 13.0, 11.0, 6.0],
        ]
    )[None, None]
    case = Case.make(input_size=(3, 3), kernel_size=3, bias=False, dtype="float64")
    assert case.output_shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(reference_for_case(case, x, w, None), expected)
    np.testing.assert_array_equal(conv_transpose_naive(x, w, None, **geometry(case)), expected)


def test_seed_001_mindspore_pad_mode_pad_shape() -> None:
    # MindSpore nn.Conv2dTranspose page (docs/sources.md): nn.Conv2dTranspose(3, 64, 4, pad_mode='pad')
    # (padding 0, stride 1, dilation 1) on ones (1, 3, 16, 50) prints (1, 64, 19, 53).
    case = Case.make(input_size=(16, 50), kernel_size=4, in_channels=3, out_channels=64, bias=False)
    assert case.output_shape == (1, 64, 19, 53)
    # MindSpore's own 'pad' formula: H_in·s − (p_top + p_bottom) + k + (d − 1)(k − 1) − s.
    assert case.output_size == tuple(n * 1 - 0 + 4 + 0 - 1 for n in (16, 50))
    out = reference_for_case(case, np.ones(case.input_shape), np.ones(case.weight_shape), None)
    assert out.shape == (1, 64, 19, 53)


def test_seed_003_pytorch_non_square_example_shape() -> None:
    # PyTorch ConvTranspose2d page (docs/sources.md): ConvTranspose2d(16, 33, (3, 5), stride=(2, 1),
    # padding=(4, 2)) on (20, 16, 50, 100); documented H_out = (H−1)s − 2p + d(k−1) + op + 1.
    case = Case.make(
        input_size=(50, 100),
        kernel_size=(3, 5),
        stride=(2, 1),
        pads_begin=(4, 2),
        pads_end=(4, 2),
        batch=20,
        in_channels=16,
        out_channels=33,
    )
    documented = tuple((n - 1) * s - 2 * p + (k - 1) + 1 for n, s, p, k in ((50, 2, 4, 3), (100, 1, 2, 5)))
    assert documented == (93, 100)
    assert case.output_shape == (20, 33, 93, 100)
    # The reference run uses batch 2 (batch 20 needs ~0.5 GB and seconds); batch is independent.
    small = case.replace(batch=2)
    x, w, b = draw_arrays(small, 3)
    assert reference_for_case(small, x, w, b).shape == (2, 33, 93, 100)


def test_seed_003_pytorch_output_size_example() -> None:
    # PyTorch ConvTranspose2d page (docs/sources.md): Conv2d(16, 16, 3, stride=2, padding=1) takes
    # (1, 16, 12, 12) to (1, 16, 6, 6); ConvTranspose2d(16, 16, 3, stride=2, padding=1) with
    # output_size=(12, 12) gives (1, 16, 12, 12), i.e. output_padding = 1.
    kw = {"stride": (2, 2), "dilation": (1, 1), "pads_begin": (1, 1), "pads_end": (1, 1), "groups": 1}
    x12, w, _ = draw_arrays(
        Case.make(input_size=(12, 12), kernel_size=3, in_channels=16, out_channels=16, bias=False), 5
    )
    h = conv_forward_naive(x12, w, **kw)
    assert h.shape == (1, 16, 6, 6)
    plain = Case.make(
        input_size=(6, 6), kernel_size=3, stride=2, pads_begin=1, pads_end=1, in_channels=16, out_channels=16
    )
    assert plain.output_shape == (1, 16, 11, 11)
    case = plain.replace(output_padding=(1, 1))
    assert case.output_shape == (1, 16, 12, 12)
    _, wt, b = draw_arrays(case, 6)
    assert reference_for_case(case, h, wt, b).shape == (1, 16, 12, 12)


def test_seed_003_output_size_matches_torch_module(torch: Any) -> None:
    # PyTorch ConvTranspose2d page (docs/sources.md): the same upsample run through torch's module with
    # output_size=(12, 12) equals the reference with output_padding = 1, values included.
    case = Case.make(
        input_size=(6, 6),
        kernel_size=3,
        stride=2,
        pads_begin=1,
        pads_end=1,
        output_padding=1,
        in_channels=16,
        out_channels=16,
        dtype="float64",
    )
    h, wt, b = draw_arrays(case, 7)
    out = reference_for_case(case, h, wt, b)
    m = torch.nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(wt))
        m.bias.copy_(torch.from_numpy(b))
        got = m(torch.from_numpy(h), output_size=(1, 16, 12, 12)).numpy()
    assert got.shape == (1, 16, 12, 12)
    np.testing.assert_array_equal(got, torch_conv_transpose(torch, case, h, wt, b))
    scale = torch_conv_transpose(torch, case, np.abs(h), np.abs(wt), np.abs(b))
    assert np.all(np.abs(out - got) <= REL * scale)


# --- IEEE special values --------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(
    case=small_cases(),
    seed=st.integers(0, 2**32 - 1),
    where=st.sampled_from(["x", "weight", "both"]),
    fraction=st.sampled_from([0.05, 0.2, 0.5]),
    forced=st.booleans(),
)
def test_special_values_propagate_as_in_direct_sum(
    case: Case, seed: int, where: str, fraction: float, forced: bool
) -> None:
    """Also with the large-output paths forced on (blocks, threads, one GEMM per phase)."""
    if forced:
        from harness.oracle.reference import kernel, scratch

        units = kernel.units_of
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scratch, "PARALLEL_MIN_ELEMENTS", 0)
            patch.setattr(kernel, "BLOCK_ELEMENTS", 5)
            patch.setattr(kernel, "units_of", lambda plan, room: units(plan, 0))
            patch.setenv("CONVT_REFERENCE_THREADS", "2")
            _check_special_values(case, seed, where, fraction)
    else:
        _check_special_values(case, seed, where, fraction)


def _check_special_values(case: Case, seed: int, where: str, fraction: float) -> None:
    x, w, b = draw_arrays(case, seed)
    rng = np.random.default_rng(seed ^ 0x5EED)
    specials = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])

    def spoil(a: np.ndarray) -> np.ndarray:
        picks = specials[rng.integers(0, len(specials), size=a.shape)]
        return np.where(rng.random(a.shape) < fraction, picks, a)

    if where in ("x", "both"):
        x = spoil(x)
    if where in ("weight", "both"):
        w = spoil(w)
    ref = conv_transpose(x, w, b, **geometry(case))
    naive = conv_transpose_naive(x, w, b, **geometry(case))
    np.testing.assert_array_equal(np.isnan(ref), np.isnan(naive))
    np.testing.assert_array_equal(np.isinf(ref), np.isinf(naive))
    inf = np.isinf(naive)
    np.testing.assert_array_equal(ref[inf], naive[inf])  # same signs
    finite = np.isfinite(naive)
    mag = magnitude(case, np.where(np.isfinite(x), x, 0.0), np.where(np.isfinite(w), w, 0.0), b)
    assert np.all(np.abs(ref[finite] - naive[finite]) <= REL * mag[finite])


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_special_values_hand_examples() -> None:
    kw1 = {"stride": (1,), "dilation": (1,), "pads_begin": (0,), "pads_end": (0,), "output_padding": (0,)}
    # inf·0 is nan; inf·positive is inf.
    out = conv_transpose(np.array([[[np.inf]]]), np.array([[[1.0, 0.0, -2.0]]]), **kw1)
    assert np.isposinf(out[0, 0, 0]) and np.isnan(out[0, 0, 1]) and np.isneginf(out[0, 0, 2])
    # +inf and −inf products meeting in one sum give nan.
    out = conv_transpose(np.array([[[np.inf, np.inf]]]), np.array([[[1.0, -1.0]]]), **kw1)
    assert np.isposinf(out[0, 0, 0]) and np.isnan(out[0, 0, 1]) and np.isneginf(out[0, 0, 2])
    # A nan whose products all land in the cropped part never reaches the output.
    out = conv_transpose(np.array([[[np.nan, 3.0]]]), np.array([[[2.0]]]), **{**kw1, "pads_begin": (1,)})
    np.testing.assert_array_equal(out, [[[6.0]]])
    # Bias-only positions past the full output stay finite whatever the data holds.
    out = conv_transpose(
        np.array([[[np.nan]]]), np.array([[[1.0]]]), np.array([0.5]), **{**kw1, "output_padding": (2,)}
    )
    assert np.isnan(out[0, 0, 0])
    np.testing.assert_array_equal(out[0, 0, 1:], [0.5, 0.5])


# --- argument errors ------------------------------------------------------------------------

_OK_1D: dict[str, Any] = {
    "stride": (1,),
    "dilation": (1,),
    "pads_begin": (0,),
    "pads_end": (0,),
    "output_padding": (0,),
}


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "bias", "overrides", "match"),
    [
        ((1, 2, 3), (3, 1, 2), None, {}, "weight has 3 input channels but x has 2"),
        ((1, 3, 3), (3, 1, 2), None, {"groups": 2}, "C_in=3 is not divisible by groups=2"),
        ((1, 3, 3), (3, 1, 2), None, {"groups": 0}, "groups=0"),
        ((1, 1, 2), (1, 1, 2), None, {"pads_begin": (2,), "pads_end": (1,)}, "output size"),
        (
            (1, 1, 2, 2),
            (1, 1, 2, 2),
            None,
            {
                "pads_begin": (0, 3),
                "pads_end": (0, 0),
                "stride": (1, 1),
                "dilation": (1, 1),
                "output_padding": (0, 0),
            },
            "output size",
        ),
        ((1, 1, 3), (1, 1, 2), None, {"stride": (1, 1)}, "stride has 2 entries"),
        ((1, 1, 3), (1, 1, 2), None, {"dilation": ()}, "dilation has 0 entries"),
        ((1, 1, 3), (1, 1, 2), None, {"output_padding": (0, 0)}, "output_padding has 2 entries"),
        ((1, 1, 3), (1, 1, 2), None, {"stride": (0,)}, r"stride=\[0\]"),
        ((1, 1, 3), (1, 1, 2), None, {"dilation": (0,)}, r"dilation=\[0\]"),
        ((1, 1, 3), (1, 1, 2), None, {"pads_begin": (-1,)}, r"pads_begin=\[-1\]"),
        ((1, 1, 3), (1, 1, 2), None, {"pads_end": (-1,)}, r"pads_end=\[-1\]"),
        ((1, 1, 3), (1, 1, 2), None, {"output_padding": (-1,)}, r"output_padding=\[-1\]"),
        ((1, 3), (1, 1, 2), None, {}, "x must be N,C,"),
        ((1, 1, 1, 1, 1, 3), (1, 1, 1, 1, 1, 2), None, {}, "x must be N,C,"),
        ((1, 1, 3), (1, 1, 2, 2), None, {}, "x must be N,C,"),
        ((1, 2, 3), (2, 2, 2), (3,), {}, r"bias must have shape \(2,\)"),
    ],
)
def test_wrong_arguments_raise_value_error(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    bias: tuple[int, ...] | None,
    overrides: dict[str, Any],
    match: str,
) -> None:
    kwargs = {**_OK_1D, **overrides}
    b = None if bias is None else np.zeros(bias)
    with pytest.raises(ValueError, match=match):
        conv_transpose(np.zeros(x_shape), np.zeros(w_shape), b, **kwargs)


def test_well_formed_arguments_accepted() -> None:
    # The control for the table above: grouped 1-D call with a bias of shape (C_out,).
    out = conv_transpose(np.ones((1, 2, 3)), np.ones((2, 1, 2)), np.zeros(2), **_OK_1D, groups=2)
    np.testing.assert_array_equal(out, [[[1.0, 2.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0]]])


# --- tap counts -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(case=small_cases())
def test_tap_counts_match_brute_force(case: Case) -> None:
    expected = np.zeros(case.output_size, dtype=np.int64)
    for o in itertools.product(*(range(n) for n in case.output_size)):
        for j in itertools.product(*(range(k) for k in case.kernel_size)):
            if all(
                any(i * s + jj * d == oo + cb for i in range(n))
                for oo, jj, n, s, d, cb in zip(
                    o, j, case.input_size, case.stride, case.dilation, case.pads_begin, strict=True
                )
            ):
                expected[o] += 1
    got = tap_counts(case)
    assert got.shape == case.output_size
    np.testing.assert_array_equal(got, expected)
    # No taps exactly where the output is bias-only.
    assert not np.any(got[bias_only_mask(case)])
