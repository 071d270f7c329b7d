"""The float64 screen of the int8 comparison decides exactly what the exact rational judgement of
every element decides: drawn int8 cases, outputs at and next to the exact reference, a tie, the
neighbours a float model allows and a planted error, each compared element by element."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.quant import Quantization, TensorQuant, WeightQuant
from harness.oracle.quant_compare import (
    QuantModel,
    QuantReference,
    _exact_element,
    compare_quantized,
    expected_output,
)
from harness.spec.loader import load_spec
from harness.spec.strategies import cases

ROOT = Path(__file__).resolve().parents[2]
INT8_SPECS = sorted((ROOT / "specs" / "int8").glob("*.yaml"))
MODELS = [
    QuantModel(),
    QuantModel(relative_steps=6),
    QuantModel(relative_steps=3, integer_accumulation=False, bias_quantized=True),
    QuantModel(relative_steps=2, unit_roundoff=2.0**-11),
]


def _every_element(
    actual: np.ndarray, case: Case, ref: QuantReference, model: QuantModel
) -> tuple[int, tuple[int, ...] | None, float, int]:
    """(mismatched, worst index, worst miss, off by one allowed), each element judged exactly."""
    assert case.quantization is not None
    bad, worst, worst_miss, loose = 0, None, 0.0, 0
    for c in range(actual.shape[1]):
        channel = actual[:, c]
        for index in np.ndindex(channel.shape):
            full = (index[0], c, *index[1:])
            element = _exact_element(ref, case.quantization, model, full, float(actual[full]))
            loose += element.loose
            if not element.ok:
                bad += 1
                if worst is None or element.miss > worst_miss:
                    worst, worst_miss = full, element.miss
    return bad, worst, worst_miss, loose


def _binary_scales(case: Case) -> Case:
    """``case`` with power-of-two scales: many exact values land on a tie or a bound."""
    quant = case.quantization
    assert quant is not None
    weight = dataclasses.replace(
        quant.weight, scales=tuple(2.0 ** -(i % 3 + 1) for i in range(len(quant.weight.scales)))
    )
    output = None if quant.output is None else dataclasses.replace(quant.output, scale=1.0)
    changed = dataclasses.replace(
        quant, input=dataclasses.replace(quant.input, scale=0.5), weight=weight, output=output
    )
    return dataclasses.replace(case, quantization=changed)


def _edge(
    case: Case, ref: QuantReference, model: QuantModel, index: tuple[int, ...], start: float, sign: float
) -> tuple[float, float]:
    """The last float the exact judgement accepts at ``index`` going from ``start`` in direction
    ``sign``, and the next float, which it refuses."""
    quant = case.quantization
    assert quant is not None

    def accepted(v: float) -> bool:
        return _exact_element(ref, quant, model, index, v).ok

    step = abs(start) * 2.0**-8 + 1e-30
    while accepted(start + sign * step):
        step *= 16
    good, bad = start, start + sign * step
    assert accepted(good)
    while float(np.nextafter(good, bad)) != bad:
        middle = (good + bad) / 2
        good, bad = (middle, bad) if accepted(middle) else (good, middle)
    return good, bad


def _outputs(
    case: Case, ref: QuantReference, model: QuantModel, rng: np.random.Generator
) -> list[np.ndarray]:
    exact = np.asarray(expected_output(case, ref), dtype=np.float64)
    planted = exact.copy()
    planted.reshape(-1)[rng.integers(exact.size)] += 7.0
    if case.quantization is not None and case.quantization.output is None:
        sign = rng.choice([-1.0, 1.0], size=exact.shape)
        inside = exact * (1 + sign * 2.0**-30)
        last_in, first_out = exact.copy(), exact.copy()
        for flat in rng.choice(exact.size, size=min(4, exact.size), replace=False):
            index = tuple(int(i) for i in np.unravel_index(flat, exact.shape))
            edges = _edge(case, ref, model, index, float(exact[index]), float(sign[index]))
            last_in[index], first_out[index] = edges
        return [exact, inside, last_in, first_out, planted]
    nudged = exact + rng.choice([-1.0, 0.0, 0.0, 1.0], size=exact.shape)
    return [exact, nudged, planted]


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_the_screen_agrees_with_the_exact_judgement_of_every_element(data: st.DataObject) -> None:
    spec = load_spec(data.draw(st.sampled_from(INT8_SPECS)))
    case = data.draw(cases(spec.model_copy(update={"dtypes": {"int8": 1}})))
    if case.quantization is None or case.batch * case.out_channels * math.prod(case.output_size) > 400:
        hypothesis.reject()
    if data.draw(st.booleans()):
        case = _binary_scales(case)
    model = data.draw(st.sampled_from(MODELS))
    arrays = make_arrays(case)
    ref = QuantReference.for_case(case, arrays)
    rng = np.random.default_rng(case.seed)
    quant = case.quantization
    assert quant is not None
    for actual in _outputs(case, ref, model, rng):
        result = compare_quantized(actual, case, ref, model)
        bad, worst, worst_miss, loose = _every_element(actual, case, ref, model)
        assert result.mismatched == bad and result.passed == (bad == 0)
        assert result.worst_index == worst and result.max_abs_error == worst_miss
        if quant.output is not None:
            assert result.allowed_off_by_one == loose


def test_the_screen_leaves_a_dequantized_value_at_its_bound_to_the_exact_judgement() -> None:
    """Scales no binary fraction holds: the float64 real value is one rounding off, so at the last
    float the bound allows (and the next) only the exact judgement can say which side it is on."""
    quant = Quantization(TensorQuant("uint8", 0.1, 10), WeightQuant("int8", (0.3,), (0,)), "none", None)
    case = Case.make(
        input_size=1, kernel_size=1, bias=False, dtype="int8", quantization=quant, distribution="uniform"
    )
    model = QuantModel()
    for qx in range(11, 111):
        for qw in (3, -7, 11):
            arrays = CaseArrays(
                np.full((1, 1, 1), float(qx)),
                np.full((1, 1, 1), float(qw)),
                None,
                "int8",
                ("uint8", "int8", "int32"),
            )
            ref = QuantReference.for_case(case, arrays)
            start = float(expected_output(case, ref)[0, 0, 0])
            for sign in (-1.0, 1.0):
                last_in, first_out = _edge(case, ref, model, (0, 0, 0), start, sign)
                assert compare_quantized(np.full((1, 1, 1), last_in), case, ref, model).passed
                assert not compare_quantized(np.full((1, 1, 1), first_out), case, ref, model).passed


#: (roundings, unit roundoff, input, weight and output scales, qx, qw, the exact end of the allowed
#: interval, the end that float64 arithmetic gives): found by a search over such one-product cases.
FLOAT64_MISSES = [
    (3, 2.0**-8, 0.02, 0.05, 1.0, 174, 121, 6, 5),
    (3, 2.0**-8, 0.1, 0.3, 1.0, 59, 11, -23, -22),
    (1, 2.0**-8, 0.5, 0.05, 1.0, 230, -25, -64, -63),
    (1, 2.0**-8, 0.1, 0.125, 1.0, 28, -51, 64, 63),
    (1, 2.0**-8, 0.25, 0.5, 0.3, 125, 51, -64, -63),
]


@pytest.mark.parametrize("params", FLOAT64_MISSES)
def test_the_screen_leaves_an_interval_end_float64_misplaces_to_the_exact_judgement(
    params: tuple[int, float, float, float, float, int, int, int, int],
) -> None:
    """The ends of the allowed interval ``v ± e ± ½`` lie within a float64 rounding of an integer:
    computed in float64 they move one integer out; the exact judgement keeps them."""
    steps, u, sx, sw, sy, qx, qw, exact_end, float_end = params
    model = QuantModel(relative_steps=steps, unit_roundoff=u)
    output = TensorQuant("uint8", sy, 128)
    quant = Quantization(TensorQuant("uint8", sx, 128), WeightQuant("int8", (sw,), (0,)), "none", output)
    case = Case.make(
        input_size=1, kernel_size=1, bias=False, dtype="int8", quantization=quant, distribution="uniform"
    )
    x, w = np.full((1, 1, 1), float(qx)), np.full((1, 1, 1), float(qw))
    ref = QuantReference.for_case(case, CaseArrays(x, w, None, "int8", ("uint8", "int8", "int32")))
    assert compare_quantized(np.full((1, 1, 1), 128.0 + exact_end), case, ref, model).passed
    assert not compare_quantized(np.full((1, 1, 1), 128.0 + float_end), case, ref, model).passed
