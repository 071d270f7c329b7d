"""The call plan: rendering, execution, caching, and that a target's snippet computes what its run
computed (one plan drives both, so they cannot drift)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from frameworks import needs

from adapters import plan as p
from adapters.registry import resolve
from harness.engine.artefacts import save_arrays
from harness.model.arrays import make_arrays
from harness.model.case import Case

IMPORTS = (p.Import("numpy", "np"),)


def _plan(body: tuple[p.Stmt, ...], **kwargs: Any) -> p.Plan:
    return p.Plan(IMPORTS, body, "y", p.Name("y"), body[-1:], **kwargs)


# --- rendering ------------------------------------------------------------------------------------


def test_render_writes_python_source_and_the_short_form_drops_defaults() -> None:
    node = p.call("torch.nn.ConvTranspose1d", 2, 3, (3,), stride=(1,), padding=(2,), defaults={"stride": 1})
    assert p.render(node) == "torch.nn.ConvTranspose1d(2, 3, (3,), stride=(1,), padding=(2,))"
    assert p.render(node, short=True) == "torch.nn.ConvTranspose1d(2, 3, (3,), padding=(2,))"
    nested = p.method(p.data("x"), "astype", p.sym("np.float64"))
    assert p.render(nested) == "data['x'].astype(np.float64)"
    assert p.render({"X": p.data("x"), "B": [None, np.int64(2)]}) == "{'X': data['x'], 'B': [None, 2]}"


def test_a_tuple_default_counts_only_when_every_entry_is_the_default() -> None:
    node = p.call("f", a=(1, 1), b=(1, 2), c=[], defaults={"a": 1, "b": 1, "c": 0})
    assert p.render(node, short=True) == "f(b=(1, 2), c=[])"


def test_statements_render_with_their_blocks() -> None:
    block = p.Try(
        (p.With(p.call("ctx"), (p.Assign(("y",), p.call("g")),)),),
        (p.SetAttr(p.Name("m"), "name", "y"),),
    )
    assert p.statement_lines(block) == [
        "try:",
        "    with ctx():",
        "        (y,) = g()",
        "finally:",
        "    m.name = 'y'",
    ]


def test_one_line_joins_the_summary_and_adds_the_note() -> None:
    plan = p.Plan(
        IMPORTS,
        (),
        "y",
        p.Name("y"),
        (p.Assign("layer", p.call("make", 3, k=1, defaults={"k": 1})), p.SetAttr(p.Name("layer"), "n", 2)),
        note="opset 22",
    )
    assert p.one_line(plan) == "layer = make(3); layer.n = 2  # opset 22"


# --- execution ------------------------------------------------------------------------------------


def test_executor_runs_the_body_on_the_arrays() -> None:
    plan = _plan((p.Assign("y", p.call("np.add", p.data("x"), p.data("weight"))),))
    out = p.Executor().output(plan, {"x": np.ones(3), "weight": np.arange(3.0)})
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_setup_runs_once_per_distinct_setup() -> None:
    calls: list[int] = []

    def count() -> None:
        calls.append(1)

    plan = _plan((p.Assign("y", p.data("x")),), setup=(p.Do(p.call(p.Name("count"))),), helpers=(count,))
    executor = p.Executor()
    for _ in range(3):
        executor.execute(plan, {"x": np.zeros(1)})
    assert calls == [1]


def test_try_runs_its_cleanup_when_the_body_raises() -> None:
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    def cleanup() -> None:
        seen.append("cleaned")

    plan = _plan(
        (p.Try((p.Do(p.call(p.Name("boom"))),), (p.Do(p.call(p.Name("cleanup"))),)), p.Assign("y", 1)),
        helpers=(boom, cleanup),
    )
    with pytest.raises(RuntimeError, match="boom"):
        p.Executor().execute(plan, {})
    assert seen == ["cleaned"]


def test_a_configuration_cache_follows_the_statements_and_arrays_before_it() -> None:
    built: list[float] = []

    def build(weight: np.ndarray) -> float:
        built.append(float(weight.sum()))
        return float(weight.sum())

    body = (
        p.Assign("session", p.call(p.Name("build"), p.data("weight")), cache=p.CACHE_CONFIGURATION),
        p.Assign("y", p.call("np.multiply", p.data("x"), p.Name("session"))),
    )
    plan = _plan(body, helpers=(build,))
    executor = p.Executor()
    x = np.ones(2)
    executor.execute(plan, {"x": x, "weight": np.ones(2)})
    assert executor.last_hits == {"session": False}
    executor.execute(plan, {"x": x * 5, "weight": np.ones(2)})  # other data, same weight: reused
    assert executor.last_hits == {"session": True}
    executor.execute(plan, {"x": x, "weight": np.full(2, 3.0)})  # other weight: built again
    assert built == [2.0, 6.0]
    assert (executor.cache_hits["session"], executor.cache_misses["session"]) == (1, 2)
    other = _plan((p.Assign("unused", 0), *body), helpers=(build,))  # another statement before it
    executor.execute(other, {"x": x, "weight": np.ones(2)})
    assert built == [2.0, 6.0, 2.0]


def test_a_once_cache_ignores_what_comes_before() -> None:
    made: list[int] = []

    def make() -> int:
        made.append(1)
        return 7

    first = _plan(
        (p.Assign("a", 1), p.Assign("y", p.call(p.Name("make")), cache=p.CACHE_ONCE)), helpers=(make,)
    )
    second = _plan(
        (p.Assign("a", 2), p.Assign("y", p.call(p.Name("make")), cache=p.CACHE_ONCE)), helpers=(make,)
    )
    executor = p.Executor()
    assert executor.output(first, {}) == 7 and executor.output(second, {}) == 7
    assert made == [1]


def test_lazy_arrays_make_only_what_is_read() -> None:
    made: list[str] = []

    def maker(key: str) -> Any:
        return lambda: made.append(key) or np.zeros(1)

    arrays = p.LazyArrays({k: maker(k) for k in ("x", "weight", "bias")})
    p.Executor().execute(_plan((p.Assign("y", p.data("x")),)), arrays)
    assert made == ["x"] and len(arrays) == 3


def test_the_snippet_defines_helpers_and_prints_the_output(tmp_path: Path) -> None:
    def double(a: Any) -> Any:
        return a * 2

    plan = _plan((p.Assign("y", p.call(p.Name("double"), p.data("x"))),), helpers=(double,))
    np.savez(tmp_path / "case.npz", x=np.arange(3.0))
    text = p.snippet(plan, str(tmp_path / "case.npz"))
    assert "def double(a: Any) -> Any:" in text
    namespace: dict[str, Any] = {"Any": Any}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(text, "snippet.py", "exec"), namespace)
    np.testing.assert_array_equal(namespace["y_ncx"], [0.0, 2.0, 4.0])
    assert printed.getvalue().splitlines()[0] == "(3,)"


# --- one plan: the snippet computes what the run computed ----------------------------------------

CASES = [
    Case.make(rank=1, input_size=5, kernel_size=3, stride=2, pads_begin=1, pads_end=1, output_padding=1),
    Case.make(
        rank=2,
        in_channels=4,
        out_channels=6,
        groups=2,
        input_size=(3, 4),
        kernel_size=(3, 2),
        stride=(2, 1),
        dilation=(1, 2),
        pads_begin=(1, 0),
        pads_end=(1, 0),
        output_padding=(1, 0),
        layout="channels_last",
        seed=3,
    ),
    Case.make(rank=3, input_size=(2, 3, 2), kernel_size=2, stride=2, bias=False, dtype="float64", seed=5),
]
IN_PROCESS = {
    "torch.nn": needs("torch"),
    "torch.nn.output_size": needs("torch"),
    "torch.functional": needs("torch"),
    "onnxruntime": needs("onnxruntime", "onnx"),
    "onnxruntime.opset11": needs("onnxruntime", "onnx"),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=mark) for n, mark in IN_PROCESS.items()], ids=list(IN_PROCESS)
)
@pytest.mark.parametrize("index", range(len(CASES)))
def test_snippet_output_equals_the_run_output(tmp_path: Path, name: str, index: int) -> None:
    target = resolve(name)()
    case = CASES[index]
    if target.supports(case) is not None:
        case = case.replace(layout="channels_first", dtype="float32")
    assert target.supports(case) is None
    ran = target.run(case, make_arrays(case))
    save_arrays(case, tmp_path / "case.npz")
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(target.snippet(case, str(tmp_path / "case.npz")), "snippet.py", "exec"), namespace)
    assert namespace["y_ncx"].shape == ran.shape == case.output_shape
    np.testing.assert_array_equal(namespace["y_ncx"], ran)
