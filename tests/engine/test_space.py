"""Generation per target: cases drawn inside what the target declares it can express, a small
sample outside it that checks the framework refuses, each case judged once per exploration, and
Hypothesis's steering only where asked for."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st
from in_process_runs import run_in_process
from targets_for_tests import THREE_BUGS_SPEC, CorrectTarget, ReferenceTarget

from adapters.protocol import CROPS_SYMMETRIC, Capabilities, symmetric_padding_for
from adapters.registry import resolve
from harness.engine.explore import explore
from harness.engine.space import judge_outside, outside_budget, outside_cases, raw_params, target_space
from harness.engine.verdict import judge
from harness.errors import NotExpressible
from harness.model.case import Case
from harness.model.outcomes import OUTSIDE_INEXPRESSIBLE, OUTSIDE_REFUSED, OUTSIDE_UNPROBED, Outcome
from harness.spec.loader import load_spec
from harness.spec.schema import Spec
from harness.spec.strategies import cases

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPECS = sorted((ROOT / "specs").glob("conv_transpose*d.yaml"))


class SymmetricTarget(ReferenceTarget):
    """The reference behind a torch-like API: one padding per dimension, output_padding below
    max(stride, dilation), float32 only, no groups, no named modes; its probe runs nothing."""

    name = "test.symmetric"

    def capabilities(self) -> Capabilities:
        """What the docstring says."""
        return dataclasses.replace(
            super().capabilities(),
            dtypes=frozenset({"float32"}),
            crops=CROPS_SYMMETRIC,
            output_padding_limit="lt_stride_or_dilation",
            groups=False,
        )

    def expressible(self, case: Case) -> str | None:
        """padding = cb and output_padding = cb − ce + op, within the limit."""
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return form
        for op, s, d in zip(form[1], case.stride, case.dilation, strict=True):
            if op >= max(s, d):
                return f"output_padding {op} ≥ max(stride {s}, dilation {d})"
        return None


class LyingTarget(SymmetricTarget):
    """Declares the same, but its framework runs whatever parameters it is given."""

    name = "test.lying"

    def probe(self, params: dict[str, Any]) -> list[int]:
        """The shape the raw parameters give, never an exception."""
        p = params
        sizes = [
            (n - 1) * s + d * (k - 1) + 1 - b - e + o
            for n, k, s, d, b, e, o in zip(
                p["input_size"],
                p["kernel_size"],
                p["stride"],
                p["dilation"],
                p["pads_begin"],
                p["pads_end"],
                p["output_padding"],
                strict=True,
            )
        ]
        return [p["batch"], p["out_channels"], *sizes]


class RefusingTarget(SymmetricTarget):
    """Declares the same, and its framework raises on every raw call."""

    name = "test.refusing"

    def probe(self, params: dict[str, Any]) -> list[int]:
        """A framework's refusal."""
        raise ValueError("output_padding must be smaller than either stride or dilation")


def _draw(strategy: st.SearchStrategy[Case], n: int) -> list[Case]:
    drawn: list[Case] = []

    @hypothesis.settings(max_examples=n, derandomize=True, database=None, deadline=None)
    @given(strategy)
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    return drawn


def _space_cases(spec: Spec, api: Any, n: int = 150) -> list[Case]:
    space = target_space(spec, api)
    assert not isinstance(space, str), space
    return _draw(cases(space.spec, rule=space.rule), n)


@pytest.mark.parametrize("spec_path", DEFAULT_SPECS, ids=lambda p: p.stem)
def test_every_case_drawn_for_a_symmetric_target_is_expressible(spec_path: Path) -> None:
    spec, api = load_spec(spec_path), SymmetricTarget()
    drawn = _space_cases(spec, api)
    refused = [(c.short(), api.supports(c)) for c in drawn if api.supports(c) is not None]
    assert not refused, refused[:3]
    # still the interesting part of the space: asymmetric crops and output padding are drawn
    assert any(c.pads_begin != c.pads_end for c in drawn)
    assert any(any(c.output_padding) for c in drawn)


@pytest.mark.parametrize("name", ["torch.nn", "paddle.nn", "mindspore.ops"])
@pytest.mark.parametrize("spec_path", DEFAULT_SPECS, ids=lambda p: p.stem)
def test_nearly_every_case_drawn_for_a_framework_target_is_judged(name: str, spec_path: Path) -> None:
    spec, api = load_spec(spec_path), resolve(name)("cpu")
    space = target_space(spec, api)
    if isinstance(space, str):  # mindspore.ops has no 1-D primitive: nothing to draw
        assert spec.rank not in api.capabilities().ranks
        return
    drawn = _draw(cases(space.spec, rule=space.rule), 150)
    refused = [c for c in drawn if api.supports(c) is not None]
    # the rules a target does not declare (mindspore's 3-D depth dilation) may still refuse some
    assert len(refused) <= 0.10 * len(drawn), [api.supports(c) for c in refused[:3]]
    old = _draw(cases(spec), 150)  # the spec's space without the target's declarations
    assert sum(api.supports(c) is not None for c in old) > len(refused)


@pytest.mark.parametrize("name", ["onnxruntime.output_shape", "torch.nn.output_size"])
@pytest.mark.parametrize("spec_path", DEFAULT_SPECS, ids=lambda p: p.stem)
def test_every_case_drawn_for_a_target_that_takes_an_output_size_is_expressible(
    name: str, spec_path: Path
) -> None:
    """ONNX's output_shape derives the crops from their total (the odd one at the begin); torch's
    output_size is at most stride − 1 past the smallest size. Drawn without those rules, a quarter
    of output_shape's cases were refused."""
    spec, api = load_spec(spec_path), resolve(name)("cpu")
    drawn = _space_cases(spec, api)
    refused = [(c.short(), api.supports(c)) for c in drawn if api.supports(c) is not None]
    assert not refused, refused[:3]
    assert any(c.pads_begin != c.pads_end for c in drawn)
    assert any(any(c.output_padding) for c in drawn)
    if name == "onnxruntime.output_shape":  # an output_shape past the full output is drawn too
        assert any(any(o > f for o, f in zip(c.output_size, c.full_size, strict=True)) for c in drawn)


def test_the_outside_sample_of_output_shape_breaks_the_split_it_derives() -> None:
    spec = load_spec(ROOT / "specs" / "conv_transpose2d.yaml")
    api = resolve("onnxruntime.output_shape")("cpu")
    space = target_space(spec, api)
    assert not isinstance(space, str)
    assert "derived_crops" in space.rules and "output_padding" in space.rules
    sample = outside_cases(space, api, _space_cases(spec, api, 60), 3)
    reasons = [api.supports(c) or "" for c in sample]
    assert all(reasons)
    assert sum("output_shape derives begin pad" in r for r in reasons) == 3
    assert sum("not less than stride" in r for r in reasons) == 3


def test_a_target_that_can_express_nothing_of_a_spec_says_why() -> None:
    spec = load_spec(DEFAULT_SPECS[0])
    assert spec.rank == 1
    reason = target_space(spec, resolve("mindspore.ops")("cpu"))
    assert isinstance(reason, str) and "1-D" in reason


def test_the_outside_sample_breaks_each_declared_rule_and_is_refused() -> None:
    spec, api = load_spec(ROOT / "specs" / "conv_transpose2d.yaml"), SymmetricTarget()
    space = target_space(spec, api)
    assert not isinstance(space, str)
    assert set(space.rules) == {"dtypes", "layouts", "padding_modes", "groups", "output_padding", "crops"}
    per_rule = outside_budget(space, 100)
    assert per_rule >= 2
    sample = outside_cases(space, api, _space_cases(spec, api, 60), per_rule)
    assert all(api.supports(c) is not None for c in sample)
    reasons = [api.supports(c) or "" for c in sample]
    assert sum(c.dtype != "float32" for c in sample) >= per_rule
    assert sum(c.groups > 1 for c in sample) >= per_rule
    assert sum(c.layout == "channels_last" for c in sample) >= per_rule
    assert sum(c.padding_mode != "explicit" for c in sample) >= per_rule
    assert sum("output_padding" in r for r in reasons) >= per_rule
    assert sum("symmetric padding cannot crop more" in r for r in reasons) >= per_rule
    assert len(sample) <= per_rule * len(space.rules)


def _outside_float32(api: Any) -> Case:
    """An explicit float32 case past the output-padding limit (op 2 with stride = dilation = 1)."""
    case = Case(
        rank=1,
        batch=1,
        in_channels=1,
        out_channels=1,
        groups=1,
        input_size=(3,),
        kernel_size=(2,),
        stride=(2,),
        dilation=(1,),
        pads_begin=(0,),
        pads_end=(0,),
        output_padding=(2,),
        bias=True,
        dtype="float32",
        layout="channels_first",
        distribution="normal",
        seed=1,
    )
    assert api.supports(case) is not None
    return case


def test_a_declared_unsupported_case_the_framework_runs_is_reported() -> None:
    target = LyingTarget()
    case = _outside_float32(target)
    verdict = judge_outside(case, target, judge(case, target))
    assert verdict.outcome == Outcome.RAN_UNSUPPORTED and verdict.failing
    assert verdict.actual_shape == [1, 1, 8]
    assert "declares this case unsupported" in verdict.message


def test_a_refusal_is_checked_by_the_framework_where_the_probe_can_pass_it() -> None:
    refusing, plain = RefusingTarget(), SymmetricTarget()
    case = _outside_float32(refusing)
    refused = judge_outside(case, refusing, judge(case, refusing))
    assert (refused.outcome, refused.detail) == (Outcome.UNSUPPORTED, OUTSIDE_REFUSED)
    assert "smaller than either stride" in refused.message
    # the test targets' default probe has no way to pass raw parameters (NotExpressible)
    with pytest.raises(NotExpressible):
        plain.probe_plan(raw_params(case))
    inexpressible = judge_outside(case, plain, judge(case, plain))
    assert inexpressible.detail == OUTSIDE_INEXPRESSIBLE
    double = dataclasses.replace(case, dtype="float64")
    assert judge_outside(double, refusing, judge(double, refusing)).detail == OUTSIDE_UNPROBED


def _one(seed: int) -> Case:
    return dataclasses.replace(_outside_float32(SymmetricTarget()), output_padding=(0,), seed=seed)


def test_a_case_already_judged_is_not_judged_again() -> None:
    judged: list[Case] = []
    recorded: list[Case] = []
    a, b, c = _one(1), _one(2), _one(3)
    target = SymmetricTarget()

    def counting(case: Case, tgt: Any) -> Any:
        judged.append(case)
        return judge(case, tgt)

    result = explore(
        target=target,
        strategy=st.sampled_from([a, b, c]),
        pinned=[a],
        settings=hypothesis.settings(max_examples=30, derandomize=True, database=None, deadline=None),
        record=lambda case, verdict, finding: recorded.append(case),
        judge_fn=counting,
    )
    assert sorted(judged, key=lambda x: x.seed) == [a, b, c]
    assert recorded == judged == result.judged
    assert result.duplicates >= 1 and result.drawn == result.duplicates + 2


def test_a_space_holding_only_pinned_cases_ends_quietly() -> None:
    a = _one(1)
    result = explore(
        target=SymmetricTarget(),
        strategy=st.just(a),
        pinned=[a],
        settings=hypothesis.settings(max_examples=10, derandomize=True, database=None, deadline=None),
        record=lambda case, verdict, finding: None,
    )
    assert result.judged == [a] and result.drawn == result.duplicates >= 1


@pytest.mark.parametrize("steer", [False, True])
def test_hypothesis_is_steered_by_error_ratio_only_when_asked(
    steer: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[float] = []

    def target_called(value: float, label: str = "") -> float:
        calls.append(value)
        return value

    monkeypatch.setattr(hypothesis, "target", target_called)
    target = SymmetricTarget()
    explore(
        target=target,
        strategy=st.sampled_from([_one(1), _one(2), _one(3)]),
        pinned=[],
        settings=hypothesis.settings(max_examples=5, derandomize=True, database=None, deadline=None),
        record=lambda case, verdict, finding: None,
        steer=steer,
    )
    assert bool(calls) is steer


def test_run_json_reports_what_each_target_and_spec_generated(tmp_path: Path) -> None:
    spec = tmp_path / "three_bugs_small.yaml"
    spec.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    out = tmp_path / "run"
    run_in_process([spec], "tests.targets_for_tests:CorrectTarget", out)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert list(meta["generation"]) == [f"{CorrectTarget.name}|three_bugs_small"]
    counts = meta["generation"][f"{CorrectTarget.name}|three_bugs_small"]
    assert counts["distinct"] == counts["drawn"] - counts["duplicates"]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert counts["mapped"] > 0
    assert counts["mapped"] + counts["distinct"] == sum(1 for r in records if not r["minimal"])
    # the ci budget, all of it on distinct cases: the coverage map's first, then drawn ones
    assert counts["mapped"] + counts["distinct"] == 100


@pytest.mark.parametrize(("profile", "steered"), [("ci", False), ("dev", False), ("nightly", True)])
def test_a_run_steers_only_in_the_nightly_profile(
    profile: str, steered: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.engine.run as run_module
    from harness.engine.explore import Exploration

    asked: list[bool] = []

    def fake_explore(**kwargs: Any) -> Exploration:
        if kwargs["strategy"] is not None:
            asked.append(kwargs.get("steer", False))
        return Exploration()

    monkeypatch.setattr(run_module, "explore", fake_explore)
    spec = tmp_path / "three_bugs_small.yaml"
    spec.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    run_in_process([spec], "tests.targets_for_tests:CorrectTarget", tmp_path / "run", profile=profile)
    assert asked == [steered]


def test_a_mechanism_found_in_one_spec_is_not_shrunk_again_in_the_next(tmp_path: Path) -> None:
    """ThreeBugTarget's three bugs show in 1-D and in 2-D: each is one finding, from the spec run
    first; the 2-D failures are recorded, explained by it (as the report attributes them)."""
    one = tmp_path / "three_bugs_small.yaml"
    one.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    two = tmp_path / "three_bugs_2d.yaml"
    text = THREE_BUGS_SPEC.replace("name: three_bugs_small", "name: three_bugs_2d")
    two.write_text(text.replace("rank: 1", "rank: 2").replace("max_elements: 256", "max_elements: 1024"))
    out = tmp_path / "run"
    run_in_process([one, two], "tests.targets_for_tests:ThreeBugTarget", out)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    minimal = [r for r in records if r["minimal"]]
    assert {r["outcome"] for r in minimal} == {"error", "value_mismatch", "shape_mismatch"}
    assert {r["spec"] for r in minimal} == {"three_bugs_small"}
    failing_2d = {r["outcome"] for r in records if r["spec"] == "three_bugs_2d" and not r["minimal"]}
    assert {"error", "value_mismatch", "shape_mismatch"} <= failing_2d
