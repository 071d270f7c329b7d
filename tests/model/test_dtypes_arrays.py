"""Float formats (``harness.model.dtypes``) and deterministic case arrays (``harness.model.arrays``).

Rounding is checked against independent implementations: torch's float32→bfloat16 conversion, NumPy's
float16/float32 casts, and an exact rational-arithmetic rounder written here. ``ulp`` is checked
against ``np.spacing`` and ``gamma`` against its formula. ``make_arrays`` is checked for determinism,
exact representability, shapes and the promised properties of each value distribution.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.model.arrays import make_arrays
from harness.model.case import DISTRIBUTIONS, Case
from harness.model.dtypes import (
    DATA_DTYPES,
    FORMATS,
    _round_generic,
    float_format,
    gamma,
    round_to_format,
    to_container,
    ulp,
)

NUMPY_FORMATS = ("float16", "float32", "float64")


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal element for element, nan matching nan, and the same sign on zeros."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (
        a.shape == b.shape
        and np.array_equal(a, b, equal_nan=True)
        and np.array_equal(np.signbit(a) & ~np.isnan(a), np.signbit(b) & ~np.isnan(b))
    )


def round_exact(v: float, name: str) -> float:
    """Round one float64 to format ``name`` in exact rational arithmetic (ties to even)."""
    fmt = FORMATS[name]
    if not math.isfinite(v) or v == 0.0:
        return v
    a = Fraction(abs(v))
    _, e = math.frexp(abs(v))  # abs(v) = m·2**e with m in [0.5, 1): leading bit 2**(e−1)
    quantum = Fraction(2) ** (max(e - 1, fmt.emin) - fmt.precision + 1)
    r = round(a / quantum) * quantum  # Fraction rounding is half-to-even
    out = math.inf if r > Fraction(fmt.max_finite) else float(r)
    return math.copysign(out, v)


# --- bfloat16 against torch -----------------------------------------------------------------

_LOW_HALVES = [0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF]


@st.composite
def float32_bit_patterns(draw: st.DrawFn) -> np.ndarray:
    """float32 values by bit pattern, low halves biased toward bfloat16 ties and near-ties."""
    high = draw(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=64))
    low = draw(
        st.lists(
            st.one_of(st.sampled_from(_LOW_HALVES), st.integers(0, 0xFFFF)),
            min_size=len(high),
            max_size=len(high),
        )
    )
    bits = np.array([(h << 16) | lo for h, lo in zip(high, low, strict=True)], dtype=np.uint32)
    return bits.view(np.float32)


def torch_bfloat16(torch: Any, values32: np.ndarray) -> np.ndarray:
    return torch.from_numpy(values32.copy()).to(torch.bfloat16).to(torch.float64).numpy()


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def round_bf16_from32(values32: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # signalling nans quieten on the float32→float64 cast
        return round_to_format(values32.astype(np.float64), "bfloat16")


@settings(max_examples=300, deadline=None)
@given(values=float32_bit_patterns())
def test_bfloat16_matches_torch_on_bit_patterns(torch: Any, values: np.ndarray) -> None:
    assert same_values(round_bf16_from32(values), torch_bfloat16(torch, values))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(width=32), min_size=1, max_size=64))
def test_bfloat16_matches_torch_on_float32_values(torch: Any, values: list[float]) -> None:
    v32 = np.array(values, dtype=np.float32)
    assert same_values(round_bf16_from32(v32), torch_bfloat16(torch, v32))


def test_bfloat16_named_cases_match_torch(torch: Any) -> None:
    bits = {
        "tie down to even 1.0": 0x3F808000,
        "tie up to even": 0x3F818000,
        "just above a tie": 0x3F808001,
        "just below a tie": 0x3F807FFF,
        "smallest subnormal": 0x00000001,
        "subnormal tie to zero": 0x00008000,
        "subnormal tie up": 0x00018000,
        "largest subnormal": 0x007FFFFF,
        "max finite": 0x7F7F0000,
        "tie at max → inf": 0x7F7F8000,
        "below tie at max": 0x7F7F7FFF,
        "float32 max → inf": 0x7F7FFFFF,
        "-tie at max → -inf": 0xFF7F8000,
        "inf": 0x7F800000,
        "-inf": 0xFF800000,
        "nan": 0x7FC00000,
        "-nan payload": 0xFFC12345,
        "-0.0": 0x80000000,
        "-subnormal to -0.0": 0x80000001,
    }
    v32 = np.array(list(bits.values()), dtype=np.uint32).view(np.float32)
    ours, theirs = round_bf16_from32(v32), torch_bfloat16(torch, v32)
    for label, a, b in zip(bits, ours, theirs, strict=True):
        assert same_values(np.array([a]), np.array([b])), (label, a, b)
    named = dict(zip(bits, ours, strict=True))
    assert named["tie down to even 1.0"] == 1.0
    assert named["tie at max → inf"] == np.inf and named["-tie at max → -inf"] == -np.inf
    assert named["below tie at max"] == FORMATS["bfloat16"].max_finite
    assert named["-subnormal to -0.0"] == 0.0 and np.signbit(named["-subnormal to -0.0"])


# --- exact rounding of float64 inputs -------------------------------------------------------


_OVERFLOW_WARNING = "ignore:overflow encountered:RuntimeWarning"


@pytest.mark.filterwarnings(_OVERFLOW_WARNING)
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(), min_size=1, max_size=32), name=st.sampled_from(sorted(FORMATS)))
@example(values=[1.0 + 2.0**-8 + 2.0**-30], name="bfloat16")  # double rounding via float32 gives 1.0
@example(values=[2.0**-134 * 1.5, 2.0**-134, 2.0**-150], name="bfloat16")
@example(values=[65520.0, 65519.99, -65520.0, 2.0**-25, 2.0**-25 * 1.0001], name="float16")
def test_round_to_format_is_exact_single_rounding(values: list[float], name: str) -> None:
    v = np.array(values, dtype=np.float64)
    expected = np.array([round_exact(x, name) for x in values])
    assert same_values(round_to_format(v, name), expected)
    if name == "bfloat16":
        assert round_to_format(np.array([1.0 + 2.0**-8 + 2.0**-30]), name)[0] == 1.0 + 2.0**-7


@pytest.mark.filterwarnings(_OVERFLOW_WARNING)
@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(), min_size=1, max_size=32), name=st.sampled_from(["float16", "float32"]))
def test_numpy_formats_match_numpy_casts(values: list[float], name: str) -> None:
    v = np.array(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        cast = v.astype(name).astype(np.float64)
    assert same_values(round_to_format(v, name), cast)
    # The generic path (the one bfloat16 takes) agrees with NumPy where NumPy has the format.
    assert same_values(_round_generic(v, FORMATS[name]), cast)


@pytest.mark.filterwarnings(_OVERFLOW_WARNING)
def test_round_to_format_float64_is_identity_and_keeps_specials() -> None:
    v = np.array([0.1, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308])
    assert same_values(round_to_format(v, "float64"), v)
    for name in DATA_DTYPES:
        r = round_to_format(v, name)
        assert np.isnan(r[4]) and r[2] == np.inf and r[3] == -np.inf
        assert r[1] == 0.0 and np.signbit(r[1])
        assert same_values(round_to_format(r, name), r)  # idempotent


def test_to_container_and_unknown_format() -> None:
    v = np.array([1.0 + 2.0**-9, 3.0])
    assert to_container(v, "bfloat16").dtype == np.float32
    assert to_container(v, "float16").dtype == np.float16
    assert to_container(v, "bfloat16").tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        float_format("int8")


def test_format_constants() -> None:
    for name in NUMPY_FORMATS:
        info = np.finfo(name)
        fmt = FORMATS[name]
        assert fmt.max_finite == float(info.max)
        assert fmt.min_subnormal == float(info.smallest_subnormal)
        assert fmt.unit_roundoff == float(info.eps) / 2
    assert FORMATS["bfloat16"].max_finite == float(np.uint32(0x7F7F0000).view(np.float32))
    assert FORMATS["bfloat16"].min_subnormal == 2.0**-133


# --- ulp and gamma --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.data(), name=st.sampled_from(NUMPY_FORMATS))
def test_ulp_matches_numpy_spacing(data: st.DataObject, name: str) -> None:
    fmt = FORMATS[name]
    width = {"float16": 16, "float32": 32, "float64": 64}[name]
    values = data.draw(
        st.lists(
            st.floats(min_value=0.0, max_value=fmt.max_finite, exclude_max=True, width=width),
            min_size=1,
            max_size=32,
        )
    )
    v = np.array(values, dtype=name)
    spacing = np.spacing(v).astype(np.float64)  # toward +inf: the ulp of a positive value
    np.testing.assert_array_equal(ulp(v.astype(np.float64), name), spacing)
    np.testing.assert_array_equal(ulp(-v.astype(np.float64), name), spacing)  # by magnitude


def test_ulp_fixed_points() -> None:
    for name in NUMPY_FORMATS:
        assert ulp(np.array([0.0]), name)[0] == float(np.finfo(name).smallest_subnormal)
        assert ulp(np.array([1.0]), name)[0] == float(np.finfo(name).eps)
    # bfloat16 spacing is float32's times 2**16 everywhere in range, subnormals included.
    v = np.array([0.0, 2.0**-140, 2.0**-126, 1.0, 3.0, 1e30], dtype=np.float32)
    expected = np.spacing(v).astype(np.float64) * 2**16
    np.testing.assert_array_equal(ulp(v.astype(np.float64), "bfloat16"), expected)
    # Non-finite values take the spacing at the largest finite value.
    assert ulp(np.array([np.inf]), "float16")[0] == 32.0


def test_gamma() -> None:
    u = 2.0**-24
    n = np.array([0, 1, 10, 1000, 2**23])
    got = gamma(n, u)
    exact = [Fraction(int(k)) * Fraction(u) / (1 - Fraction(int(k)) * Fraction(u)) for k in n]
    np.testing.assert_allclose(got, [float(e) for e in exact], rtol=1e-15)
    assert got[0] == 0.0 and got[-1] == pytest.approx(1.0)
    assert np.all(np.diff(got) > 0)
    assert gamma(2**24, u) == np.inf and gamma(2**25, u) == np.inf  # n·u ≥ 1: no bound
    assert float(gamma(3, 2.0**-53)) == pytest.approx(3 * 2.0**-53, rel=1e-15)


# --- make_arrays ----------------------------------------------------------------------------


def arrays_case(**changes: Any) -> Case:
    base: dict[str, Any] = {
        "input_size": (12, 10),
        "kernel_size": (3, 3),
        "batch": 2,
        "in_channels": 6,
        "out_channels": 9,
        "groups": 3,
        "stride": 2,
    }
    return Case.make(**{**base, **changes})


@pytest.mark.parametrize("dtype", DATA_DTYPES)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_make_arrays_deterministic_exact_and_shaped(dtype: str, distribution: str) -> None:
    case = arrays_case(dtype=dtype, distribution=distribution, seed=11)
    a, b = make_arrays(case), make_arrays(case)
    other = make_arrays(case.replace(seed=12))
    assert a.dtype == dtype
    assert a.x.shape == case.input_shape == (2, 6, 12, 10)
    assert a.weight.shape == case.weight_shape == (6, 3, 3, 3)
    assert a.bias is not None and a.bias.shape == (9,)
    for name in ("x", "weight", "bias"):
        first, second = getattr(a, name), getattr(b, name)
        assert first.dtype == np.float64
        assert same_values(first, second)  # deterministic
        assert same_values(round_to_format(first, dtype), first)  # exactly representable
    assert not same_values(a.x, other.x)  # the seed matters
    store = float_format(dtype).numpy_container
    container = a.container()
    assert set(container) == {"x", "weight", "bias"}
    for name, arr in container.items():
        assert arr.dtype == store
        assert same_values(arr.astype(np.float64), getattr(a, name))  # lossless in the container


def test_make_arrays_without_bias() -> None:
    arrays = make_arrays(arrays_case(bias=False))
    assert arrays.bias is None
    assert set(arrays.container()) == {"x", "weight"}


def test_make_arrays_layout_does_not_change_nc_arrays() -> None:
    first = make_arrays(arrays_case(layout="channels_first"))
    last = make_arrays(arrays_case(layout="channels_last"))
    assert same_values(first.x, last.x) and same_values(first.weight, last.weight)


def test_small_int_values() -> None:
    arrays = make_arrays(arrays_case(distribution="small_int", dtype="bfloat16"))
    for a in (arrays.x, arrays.weight, arrays.bias):
        assert set(np.unique(a).tolist()) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert set(np.unique(arrays.x).tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_uniform_values() -> None:
    arrays = make_arrays(arrays_case(distribution="uniform", dtype="float64"))
    assert np.all(np.abs(arrays.x) <= 1.0) and np.all(np.abs(arrays.weight) <= 1.0)


@pytest.mark.parametrize("dtype", DATA_DTYPES)
def test_special_values_present(dtype: str) -> None:
    # Big enough that each special (≈1.25 % each) shows up in both x (2880) and weight (2304).
    case = arrays_case(
        distribution="special",
        dtype=dtype,
        seed=3,
        in_channels=12,
        out_channels=12,
        groups=1,
        kernel_size=(4, 4),
    )
    arrays = make_arrays(case)
    for a in (arrays.x, arrays.weight):
        assert np.any(np.isposinf(a)) and np.any(np.isneginf(a)) and np.any(np.isnan(a))
        assert np.any((a == 0.0) & np.signbit(a))  # −0
        assert 0.01 < np.mean(~np.isfinite(a)) < 0.1  # about 3/4 of 5 %
    assert arrays.bias is not None and np.all(np.isfinite(arrays.bias))


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_large_values_overflow_float16_products(dtype: str) -> None:
    arrays = make_arrays(arrays_case(distribution="large", dtype=dtype, seed=5))
    f16_max = float(np.finfo(np.float16).max)
    assert f16_max == 65504.0
    # Every value is finite in float16, but products of actual entries exceed its range.
    for a in (arrays.x, arrays.weight, arrays.bias):
        assert np.all(np.isfinite(a.astype(np.float16)))
    assert np.max(np.abs(arrays.x)) * np.max(np.abs(arrays.weight)) > f16_max
    products = np.abs(arrays.x[0, :3].reshape(3, 1, -1)) * np.abs(arrays.weight[:3, 0].reshape(3, -1, 1))
    assert np.any(products > f16_max)


@settings(max_examples=60, deadline=None)
@given(
    rank=st.integers(1, 3),
    groups=st.integers(1, 3),
    dtype=st.sampled_from(DATA_DTYPES),
    distribution=st.sampled_from(DISTRIBUTIONS),
    seed=st.integers(0, 2**32 - 1),
    bias=st.booleans(),
)
def test_make_arrays_properties_hold_for_random_cases(
    rank: int, groups: int, dtype: str, distribution: str, seed: int, bias: bool
) -> None:
    case = Case.make(
        input_size=(3,) * rank,
        kernel_size=2,
        in_channels=2 * groups,
        out_channels=groups,
        groups=groups,
        dtype=dtype,
        distribution=distribution,
        seed=seed,
        bias=bias,
    )
    arrays = make_arrays(case)
    assert arrays.x.shape == case.input_shape and arrays.weight.shape == case.weight_shape
    assert (arrays.bias is None) == (not bias)
    for a in (arrays.x, arrays.weight) + ((arrays.bias,) if arrays.bias is not None else ()):
        assert same_values(round_to_format(a, dtype), a)
    again = make_arrays(case)
    assert same_values(again.x, arrays.x) and same_values(again.weight, arrays.weight)
