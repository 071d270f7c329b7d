"""The audits: documented formulas evaluated as the adapters call the APIs, departures found and
shrunk, named modes compared by what they compute, invalid inputs classified (error, crash, hang,
silent acceptance).

The departures and disagreements tested here are planted in numpy targets whose documentation and
behaviour are chosen by the test; which cases must depart is computed here independently (an odd
total crop splits differently; ⌈L/s⌉ differs from L·s), never read from the code under test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from frameworks import needs
from targets_for_tests import CorrectTarget, ReferenceTarget

from adapters.probing import RawParams
from adapters.protocol import Capabilities
from adapters.registry import known_names, resolve
from harness.audits.common import (
    LoadedTarget,
    crop_candidates,
    explain_output,
    generated_cases,
    infer_explicit,
    mode_variants,
)
from harness.audits.docs import audit_target, check_case, minimal_departure
from harness.audits.invalid import assess, audit_invalid, probe
from harness.audits.invalid_configs import CONFIGS, Config, raw
from harness.audits.modes import audit_modes
from harness.errors import InvalidCase, NotExpressible
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode, size_same
from harness.model.modes import resolve as resolve_mode
from harness.oracle.reference import reference_for_case
from harness.workers.client import isolated
from harness.workers.worker import SETTINGS, configure, shutdown_all

SEEDS = Path("/work/shared/seeds")


@pytest.fixture
def short_workers(tmp_path: Path) -> Iterator[None]:
    """Short limits and a log folder of the test's own; every worker stopped afterwards."""
    saved = (SETTINGS.case_timeout, SETTINGS.log_dir)
    configure(case_timeout=4, log_dir=tmp_path / "logs")
    try:
        yield
    finally:
        shutdown_all()
        SETTINGS.case_timeout, SETTINGS.log_dir = saved


# --- numpy targets with a named mode: documentation and behaviour chosen per class ---------------


def _ceil_size(n: int, k: int, s: int, d: int) -> int:
    return -(-n // s)


class ModeTarget(ReferenceTarget):
    """A 'same' mode that computes ``does_split`` crops of size ``does_size``; documents ``doc_*``."""

    name = "test.mode"
    mode: ClassVar[str] = "same"
    does_split: ClassVar[str] = "extra_at_end"
    doc_split: ClassVar[str] = "extra_at_end"
    does_size = staticmethod(size_same)
    doc_size = staticmethod(size_same)

    def capabilities(self) -> Capabilities:
        """The reference target's capabilities with the one documented mode."""
        documented = DocumentedMode(
            "SAME", "as documented by the test", self.doc_size, self.doc_split, "this test", "this test"
        )
        return replace(super().capabilities(), padding_modes={self.mode: documented})

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Explicit cases faithfully; the mode as the class says it behaves."""
        if case.padding_mode == self.mode:
            does = DocumentedMode("SAME", "", self.does_size, self.does_split, "", "")
            case = resolve_mode(case, does)
        return self.compute(case, arrays.x, arrays.weight, arrays.bias)


class UpperTarget(ModeTarget):
    """Does what it documents: extra crop at the end."""

    name = "test.upper"


class UpperTwin(UpperTarget):
    """The same behaviour under another name."""

    name = "test.upper_twin"


class LowerDocumentedUpper(ModeTarget):
    """Documents the extra crop at the end, takes it at the begin."""

    name = "test.lower_documented_upper"
    does_split = "extra_at_begin"


class LowerTarget(ModeTarget):
    """A 'same_lower' mode, as documented: extra crop at the begin."""

    name = "test.lower"
    mode = "same_lower"
    does_split = doc_split = "extra_at_begin"


class CeilDocumented(ModeTarget):
    """Computes L·s, documents ⌈L/s⌉ (the forward-convolution SAME size)."""

    name = "test.ceil_documented"
    doc_size = staticmethod(_ceil_size)


def odd_total_crop(case: Case) -> bool:
    """Whether some dimension's SAME crop ``K − s`` is positive and odd (where the splits differ)."""
    return any((kk - s) > 0 and (kk - s) % 2 for kk, s in zip(case.dilated_kernel, case.stride, strict=True))


def same_cases() -> list[Case]:
    """Small SAME cases of every rank, with stride and kernel so that every crop parity occurs."""
    out = []
    for rank in (1, 2, 3):
        for k, s in ((1, 1), (2, 1), (3, 1), (4, 2), (3, 2), (1, 2), (5, 3)):
            for seed in (0, 1):
                size = (3, 2, 2)[:rank]
                case = Case.make(
                    input_size=size,
                    kernel_size=k,
                    stride=s,
                    in_channels=2,
                    out_channels=3,
                    seed=seed,
                    rank=rank,
                )
                out += mode_variants(case, ["same"])
    return out


def loaded(target: ReferenceTarget) -> LoadedTarget:
    """An in-process target as the audits take it."""
    return LoadedTarget(target.name, target, None, target)


# --- documentation audit -------------------------------------------------------------------------


def test_a_target_that_does_what_it_documents_has_no_departure() -> None:
    tally = audit_target(loaded(UpperTarget()), same_cases())
    assert tally.checked == len(same_cases()) and not tally.departing and not tally.errors


def test_a_different_crop_split_is_found_on_exactly_the_odd_crops() -> None:
    target = loaded(LowerDocumentedUpper())
    cases = same_cases()
    tally = audit_target(target, cases)
    assert set(tally.departing) == {
        ("test.lower_documented_upper", "test.lower_documented_upper (1-D)", "same", "crop_split"),
        ("test.lower_documented_upper", "test.lower_documented_upper (2-D)", "same", "crop_split"),
        ("test.lower_documented_upper", "test.lower_documented_upper (3-D)", "same", "crop_split"),
    }
    departing = [c for found in tally.departing.values() for c in found]
    assert sorted(map(repr, departing)) == sorted(repr(c) for c in cases if odd_total_crop(c))
    key = next(iter(sorted(tally.departing)))
    entry = minimal_departure(target, key, tally.departing[key], tally.checked)
    minimal = Case.from_dict(entry["case"])
    assert odd_total_crop(minimal)
    total = [kk - s for kk, s in zip(minimal.dilated_kernel, minimal.stride, strict=True)]
    assert entry["documented"]["crops"]["begin"] == [max(t, 0) // 2 for t in total]
    assert entry["actual"]["crops"]["begin"] == [max(t, 0) - max(t, 0) // 2 for t in total]


def test_a_wrong_documented_size_is_found_where_the_sizes_differ() -> None:
    cases = same_cases()
    tally = audit_target(loaded(CeilDocumented()), cases)
    departing = {repr(c) for found in tally.departing.values() for c in found}
    differ = {
        repr(c)
        for c in cases
        if any(-(-n // s) != n * s for n, s in zip(c.input_size, c.stride, strict=True))
    }
    assert departing == differ
    assert all(key[3] == "output_size" for key in tally.departing)
    sample = next(c for c in cases if repr(c) in differ)
    found = check_case(loaded(CeilDocumented()), sample)
    assert not isinstance(found, str) and found is not None
    assert found.documented["value"] == [
        -(-n // s) for n, s in zip(sample.input_size, sample.stride, strict=True)
    ]
    assert found.actual["value"] == [n * s for n, s in zip(sample.input_size, sample.stride, strict=True)]


# --- the documented explicit formulas -------------------------------------------------------------

#: Targets whose documented explicit size is the canonical one (the documentation is right there).
CORRECT_DOCS = {
    "torch.nn": (1, 2, 3),
    "torch.nn.output_size": (1, 2, 3),
    "torch.functional": (1, 2, 3),
    "paddle.nn": (1, 2, 3),
    "paddle.functional": (1, 2, 3),
    "onnxruntime": (1, 2, 3),
    "onnxruntime.output_shape": (1, 2, 3),
    "mindspore.nn": (1, 2),
    "mindspore.ops": (2,),
    "tensorrt": (2, 3),
}


def test_formulas_evaluated_on_the_adapters_arguments_give_the_documented_size() -> None:
    checked = 0
    for case in generated_cases("dev", examples=25):
        for name, ranks in CORRECT_DOCS.items():
            target = resolve(name)()
            if case.rank not in ranks or case.padding_mode != "explicit" or target.supports(case):
                continue
            formula = resolve(name)().explicit_formula(case.rank)
            assert formula is not None
            assert formula.size(case) == case.output_size, (name, case.short())
            checked += 1
    assert checked > 100


def test_mindspore_3d_formula_is_the_one_its_docstring_gives() -> None:
    # D_out = ⌊(D_in + padding[0] + padding[1] − (dilation − 1)·kernel_size − 1) / stride + 1⌋
    case = Case.make(
        input_size=(4, 5, 6),
        kernel_size=(3, 2, 4),
        stride=(2, 1, 3),
        dilation=(1, 2, 1),
        pads_begin=(1, 0, 0),
        pads_end=(1, 0, 2),
    )
    formula = resolve("mindspore.nn")().explicit_formula(3)
    assert formula is not None
    assert formula.size(case) == (
        (4 + 1 + 1 - 0 - 1) // 2 + 1,
        (5 - 2 - 1) // 1 + 1,
        (6 + 0 + 2 - 0 - 1) // 3 + 1,
    )


def test_every_registered_target_and_rank_has_a_sourced_formula() -> None:
    for name in known_names():
        target = resolve(name)()
        for rank in target.capabilities().ranks:
            formula = resolve(name)().explicit_formula(rank)
            assert formula is not None, (name, rank)
            assert "http" in formula.source or "seeds/" in formula.source, (name, formula.source)
            for cited in formula.source.split("seeds/")[1:]:
                if SEEDS.is_dir():
                    assert (SEEDS / cited.split()[0].rstrip(";,)")).is_file(), cited


# --- inferring what a target did ------------------------------------------------------------------


def test_inference_names_the_crop_an_output_has() -> None:
    target = CorrectTarget()
    case = Case.make(input_size=(5, 4), kernel_size=(4, 3), stride=(2, 1), in_channels=2, out_channels=2)
    arrays = make_arrays(case)
    for begin, end in (((0, 0), (2, 2)), ((2, 1), (0, 1)), ((1, 0), (1, 2))):
        truth = case.replace(pads_begin=begin, pads_end=end)
        actual = reference_for_case(truth, arrays.x, arrays.weight, arrays.bias)
        found = infer_explicit(case, actual, arrays, target)
        assert found is not None
        assert (found.pads_begin, found.output_size) == (truth.pads_begin, truth.output_size)
        spoiled = actual.copy()
        spoiled[0, 0, 0, 0] += 1.0
        assert infer_explicit(case, spoiled, arrays, target) is None


def test_an_output_that_ignores_dilation_is_named_as_such() -> None:
    case = Case.make(input_size=(4,), kernel_size=3, stride=2, dilation=2, in_channels=2, out_channels=2)
    arrays = make_arrays(case)
    plain = case.replace(dilation=(1,), pads_begin=(1,), pads_end=(0,))
    actual = reference_for_case(plain, arrays.x, arrays.weight, arrays.bias)
    found, note, instead = explain_output(case, actual, arrays, CorrectTarget())
    assert found is None and instead is not None and "dilation" in note
    assert (instead.dilation, instead.pads_begin, instead.output_size) == ((1,), (1,), plain.output_size)


def test_crop_candidates_cover_the_whole_crop() -> None:
    case = Case.make(input_size=(3, 2), kernel_size=(5, 3), stride=(1, 2))
    size = (4, 3)
    candidates = crop_candidates(case, size)
    for b0 in range(case.full_size[0] - size[0] + 1):
        for b1 in range(case.full_size[1] - size[1] + 1):
            assert (b0, b1) in candidates


# --- mode equivalence -----------------------------------------------------------------------------


def test_mode_equivalence_table(short_workers: None) -> None:
    upper, twin, lower = "test_audit:UpperTarget", "test_audit:UpperTwin", "test_audit:LowerTarget"
    result = audit_modes([upper, twin, lower], "dev", examples=4)
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    twins = pairs[(f"{upper}:same", f"{twin}:same")]
    assert twins["equivalent"] and 0 < twins["compared"] <= result["geometries"] and not twins["disagree"]
    upper_lower = pairs[(f"{upper}:same", f"{lower}:same_lower")]
    assert not upper_lower["equivalent"] and upper_lower["disagree"] > 0
    found = upper_lower["distinguishing"]
    minimal = Case.from_dict(found["case"])
    assert odd_total_crop(minimal)
    assert found[f"{upper}:same"]["begin"] != found[f"{lower}:same_lower"]["begin"]
    assert found[f"{upper}:same"]["shape"] == found[f"{lower}:same_lower"]["shape"]


# --- invalid inputs -------------------------------------------------------------------------------


def test_the_configurations_are_what_they_say() -> None:
    for config in CONFIGS:
        canonical = config.canonical()
        if config.expect == "accept":
            assert isinstance(canonical, Case), config.name
        if isinstance(canonical, Case):
            assert config.expect != "error", config.name
            assert config.expected_shape() == list(canonical.output_shape), config.name
    categories = {c.category for c in CONFIGS}
    assert {"groups", "crop", "output_padding", "zero_size", "negative", "weight"} <= categories


@pytest.mark.parametrize(
    ("expect", "response", "assessment"),
    [
        ("error", {"response": "error"}, "ok"),
        ("error", {"response": "accepted", "shape": [1, 2, 6, 6]}, "silently_accepted"),
        ("accept", {"response": "error"}, "refused"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 6]}, "ok"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 7]}, "wrong_shape"),
        (
            "accept",
            {"response": "accepted", "shape": [1, 2, 6, 6], "values": {"outcome": "value_mismatch"}},
            "wrong_values",
        ),
        ("either", {"response": "error"}, "ok"),
        ("either", {"response": "accepted", "shape": [1, 2, 5, 6]}, "wrong_shape"),
        ("either", {"response": "crash"}, "crash"),
        ("error", {"response": "hang"}, "hang"),
    ],
)
def test_assessment(expect: str, response: dict[str, Any], assessment: str) -> None:
    config = Config("c", "test", "a 4x4 input, k=3", expect, raw())
    assert config.expected_shape() == [1, 2, 6, 6]
    assert assess(config, response) == assessment


class ProbeTarget(CorrectTarget):
    """A probe whose behaviour the configuration's in_channels picks."""

    name = "test.probe"

    def probe(self, params: dict[str, Any]) -> list[int]:
        """1: an output; 2: a clean error; 3: abort; 4: hang; 5: not expressible."""
        p = RawParams.from_dict(params)
        if p.in_channels == 2:
            raise ValueError("groups must divide the channels")
        if p.in_channels == 3:
            os.abort()
        if p.in_channels == 4:
            time.sleep(60)
        if p.in_channels == 5:
            raise NotExpressible("no such form")
        return [p.batch, p.out_channels, *p.output_size]


def test_responses_are_classified(short_workers: None) -> None:
    target = isolated(ProbeTarget())
    subject = LoadedTarget("test.probe", target, None, ProbeTarget())
    expected = {1: "accepted", 2: "error", 3: "crash", 4: "hang", 5: "not_applicable"}
    for channels, response in expected.items():
        config = Config(
            f"c{channels}", "test", "", "error", raw(in_channels=channels, weight_shape=(channels, 2, 3, 3))
        )
        got = probe(subject, config)
        assert got["response"] == response, got
    refused = probe(subject, Config("c", "t", "", "error", raw(in_channels=2)))
    assert "groups must divide" in refused["message"]
    valid = probe(subject, Config("v", "t", "", "accept", raw(in_channels=1, stride=2, output_padding=1)))
    assert valid["response"] == "accepted" and valid["values"]["outcome"] == "pass"


@needs("torch", "onnxruntime")
def test_audit_invalid_on_real_frameworks(short_workers: None) -> None:
    names = ["torch.functional", "onnxruntime", "tensorrt"]
    result = audit_invalid(names)
    assert len(result["configurations"]) == len(CONFIGS)
    for row in result["configurations"]:
        assert set(row["responses"]) == set(names)
        assert row["responses"]["tensorrt"]["response"] == "not_run"
        for name in names[:2]:
            response = row["responses"][name]
            config = next(c for c in CONFIGS if c.name == row["name"])
            assert response["assessment"] == assess(config, response)
    valid = next(r for r in result["configurations"] if r["name"] == "output_padding_below_stride")
    assert valid["responses"]["torch.functional"]["assessment"] == "ok"


def test_raw_parameters_default_to_a_valid_case() -> None:
    params = raw()
    case = Config("c", "t", "", "accept", params).canonical()
    assert isinstance(case, Case) and not isinstance(case, InvalidCase)
    assert params.weight_shape == case.weight_shape
    assert params.output_size == case.output_size
