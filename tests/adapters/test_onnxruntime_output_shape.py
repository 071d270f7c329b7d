"""``onnxruntime.output_shape``: what it declares it cannot express is what ONNX Runtime really does
not compute, and what ONNX's own backend test runs is accepted."""

from __future__ import annotations

import importlib.util
import itertools
from typing import Any

import numpy as np
import pytest

from adapters.onnxruntime.targets import OnnxRuntimeOutputShape
from harness.engine.verdict import judge
from harness.errors import InvalidCase
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.oracle.reference import reference_for_case

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason="onnxruntime/onnx are not installed (the onnx extra)",
)


def _backend_vectors() -> dict[str, tuple[Any, list[np.ndarray], list[np.ndarray]]]:
    """ONNX's ConvTranspose backend-test vectors with ``output_shape``, as ONNX's own exporter makes
    them (``expect`` is intercepted instead of written to disk)."""
    import onnx.backend.test.case.node.convtranspose as vectors

    found: dict[str, tuple[Any, list[np.ndarray], list[np.ndarray]]] = {}

    def keep(node: Any, inputs: list[np.ndarray], outputs: list[np.ndarray], name: str, **_: Any) -> None:
        found[name] = (node, inputs, outputs)

    saved = vectors.expect
    vectors.expect = keep
    try:
        vectors.ConvTranspose.export_convtranspose_attributes()
    finally:
        vectors.expect = saved
    return found


def test_onnx_backend_output_shape_vector_runs_and_matches() -> None:
    # test_convtranspose_output_shape: X (1,1,3,3), W (1,2,3,3), strides [3,2], output_shape [10,8];
    # the full output is 9x7, so the total padding is -1 along both dims.
    node, (x, w), (y,) = _backend_vectors()["test_convtranspose_output_shape"]
    attrs = {a.name: list(a.ints) for a in node.attribute}
    assert attrs == {"strides": [3, 2], "output_shape": [10, 8]}
    case = Case.make(
        input_size=(3, 3),
        kernel_size=3,
        stride=(3, 2),
        output_padding=1,
        in_channels=1,
        out_channels=2,
        bias=False,
    )
    assert case.full_size == (9, 7) and case.output_size == (10, 8)
    target = OnnxRuntimeOutputShape()
    assert target.supports(case) is None
    arrays = CaseArrays(x=x.astype(np.float64), weight=w.astype(np.float64), bias=None, dtype="float32")
    got = target.run(case, arrays)
    assert np.array_equal(got, y.astype(np.float64))
    assert np.array_equal(got, reference_for_case(case, arrays.x, arrays.weight, None))
    assert judge(case, target).outcome == Outcome.PASS


def _grid() -> list[Case]:
    """Every 1-D case of a small grid, each output size around the full output and each begin crop."""
    cases: list[Case] = []
    for k, s, d in itertools.product((2, 3), (1, 2, 3), (1, 2)):
        full = 2 * s + d * (k - 1) + 1  # input size 3
        for cb, size in itertools.product(range(3), range(max(1, full - 3), full + s + 1)):
            ce = max(0, full - cb - size)
            try:
                cases.append(
                    Case.make(
                        input_size=3,
                        kernel_size=k,
                        stride=s,
                        dilation=d,
                        pads_begin=cb,
                        pads_end=ce,
                        output_padding=size - (full - cb - ce),
                        in_channels=2,
                        out_channels=2,
                        seed=cb,
                    )
                )
            except InvalidCase:
                continue
    return cases


def test_every_declared_refusal_is_really_not_computed_by_ort() -> None:
    # Each case the target declares inexpressible is run anyway, bypassing supports(): ORT must
    # raise, or compute another case. Each case it declares expressible must pass.
    target = OnnxRuntimeOutputShape()
    refused = accepted = 0
    for case in _grid():
        reason = target.supports(case)
        if reason is None:
            accepted += 1
            verdict = judge(case, target)
            assert verdict.outcome == Outcome.PASS, (case.short(), verdict.message)
            continue
        refused += 1
        arrays = make_arrays(case)
        try:
            got = target.run(case, arrays)
        except Exception:  # any refusal by ORT will do
            continue
        expected = reference_for_case(case, arrays.x, arrays.weight, arrays.bias)
        same = got.shape == expected.shape and np.allclose(got, expected, rtol=1e-5, atol=1e-5)
        assert not same, f"declared inexpressible, yet ORT computes it: {case.short()}: {reason}"
    assert refused > 50 and accepted > 50, (refused, accepted)


@pytest.mark.parametrize(
    ("stride", "begin", "op", "fragment"),
    [(2, 0, 2, "not less than stride 2"), (3, 1, 3, "crops nothing at the begin")],
    ids=["past-by-stride", "past-with-begin-crop"],
)
def test_outputs_past_the_full_output_that_stay_refused_say_why(
    stride: int, begin: int, op: int, fragment: str
) -> None:
    case = Case.make(input_size=4, kernel_size=3, stride=stride, pads_begin=begin, output_padding=op)
    assert fragment in (OnnxRuntimeOutputShape().supports(case) or "")


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "begin", "end", "op"),
    [((5,), (2,), (3,), (2,), (0,), (1,)), ((3, 4), (2, 3), (2, 1), (1, 0), (0, 2), (1, 0))],
)
def test_the_probe_of_a_begin_crop_output_shape_cannot_give_is_not_expressible(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    begin: tuple[int, ...],
    end: tuple[int, ...],
    op: tuple[int, ...],
) -> None:
    """The outside sample asks the framework with the raw parameters; output_shape has no way to pass
    the begin crop, so ORT would run the node with the crop it derives: that is no evidence that the
    declared-unsupported case runs (a ci run reported such cases as ``ran_unsupported``)."""
    from harness.engine.space import judge_outside

    case = Case.make(
        input_size=size, kernel_size=kernel, stride=stride, pads_begin=begin, pads_end=end, output_padding=op
    )
    target = OnnxRuntimeOutputShape()
    verdict = judge_outside(case, target, judge(case, target))
    assert (verdict.outcome, verdict.detail) == (Outcome.UNSUPPORTED, "outside_inexpressible")
    assert "output_shape derives begin pad" in verdict.message
