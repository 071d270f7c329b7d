"""The planted-bug targets are what they claim: the control agrees with the reference, and each bug
changes a result exactly where its trigger says (so the search benchmark measures the search)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.features import signature_features
from harness.oracle.reference import reference_for_case
from tests import planted_bugs as pb

pytest.importorskip("torch")

SPECIAL = (pb.CrashAtKernel3Stride3, pb.HangAtDilation2Kernel2)


def random_cases(seed: int, count: int) -> list[Case]:
    """Valid explicit-crop cases of every rank with asymmetric crops and any output padding."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    while len(cases) < count:
        rank = int(rng.integers(1, 4))
        groups = int(rng.integers(1, 3))

        def dims(lo: int, hi: int, rank: int = rank) -> tuple[int, ...]:
            return tuple(int(v) for v in rng.integers(lo, hi + 1, rank))

        try:
            cases.append(
                Case.make(
                    rank=rank,
                    batch=int(rng.integers(1, 3)),
                    in_channels=groups * int(rng.integers(1, 4)),
                    out_channels=groups * int(rng.integers(1, 3)),
                    groups=groups,
                    input_size=dims(1, 6 if rank < 3 else 3),
                    kernel_size=dims(1, 3),
                    stride=dims(1, 3),
                    dilation=dims(1, 2),
                    pads_begin=dims(0, 2),
                    pads_end=dims(0, 2),
                    output_padding=dims(0, 2),
                    bias=bool(rng.integers(0, 2)),
                    dtype="float64",
                    distribution="normal",
                    seed=int(rng.integers(0, 2**31)),
                )
            )
        except InvalidCase:
            continue
    return cases


CASES = random_cases(7, 60)


def test_the_control_agrees_with_the_reference() -> None:
    control = pb.PlantedNone()
    for case in CASES:
        arrays = make_arrays(case)
        want = round_to_format(reference_for_case(case, arrays.x, arrays.weight, arrays.bias), case.dtype)
        np.testing.assert_allclose(
            control.run(case, arrays), want, rtol=1e-12, atol=1e-12, err_msg=case.short()
        )


@pytest.mark.parametrize("cls", [c for c in pb.PLANTED[1:] if c not in SPECIAL], ids=lambda c: c.name)
def test_each_bug_changes_exactly_the_cases_it_triggers_on(cls: type[pb.PlantedTarget]) -> None:
    control, buggy = pb.PlantedNone(), cls()
    changed = unchanged = 0
    cases = CASES
    if cls is pb.NanAsZero:
        cases = [c.replace(distribution="special") for c in CASES]
    if cls is pb.Float32ThroughBfloat16:
        cases = [c.replace(dtype="float32") for c in CASES[:20]] + CASES[20:]
    for case in cases:
        arrays = make_arrays(case)
        want, got = control.run(case, arrays), buggy.run(case, arrays)
        same = want.shape == got.shape and bool(np.array_equal(want, got, equal_nan=True))
        if buggy.triggered(case):
            changed += not same
        else:
            assert same, f"{cls.name} changed a case it does not trigger on: {case.short()}"
            unchanged += 1
        if not same:
            tokens = signature_features(case)
            assert cls.required <= tokens, (cls.name, case.short(), sorted(tokens))
    assert changed > 0, f"{cls.name} changed none of {len(cases)} cases"


def test_every_planted_target_has_its_own_name_and_a_sentence() -> None:
    names = [c.name for c in pb.PLANTED]
    assert len(set(names)) == len(names) >= 16
    assert all(c.description and c.name.startswith("planted.") for c in pb.PLANTED)
