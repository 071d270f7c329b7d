"""The documentation audit: documented formulas evaluated as the adapters call the APIs, and
departures from the documentation found and shrunk.

The departures tested here are planted in numpy targets whose documentation and behaviour are chosen
by the test (``mode_targets``); which cases must depart is computed here independently (an odd total
crop splits differently; ⌈L/s⌉ differs from L·s), never read from the code under test.
"""

from __future__ import annotations

from mode_targets import CeilDocumented, LowerDocumentedUpper, UpperTarget, odd_total_crop
from targets_for_tests import ReferenceTarget

from adapters.registry import known_names, resolve
from harness.audits.common import LoadedTarget, generated_cases, mode_variants
from harness.audits.docs import audit_target, check_case, minimal_departure
from harness.model.case import Case


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
            # a page a reader can open (docs/sources.md lists them)
            assert "https://" in formula.source, (name, formula.source)
