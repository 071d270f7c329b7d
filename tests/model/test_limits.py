"""The hard caps on a case's size: where cases enter, a case over a cap is refused fast, with its
rule and numbers, and without allocating (a spec, a pinned case, the findings store, ``port``);
below the caps nothing changes; the scratch estimate bounds what the reference allocates.

The probes that once hung or died run in a subprocess under an address-space limit of 2 GiB, so a
regression fails the test (MemoryError, a traceback, a timeout) instead of taking the machine's
memory.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from adapters.reading import Shapes, translate
from adapters.registry import readable_apis
from harness.engine.store import load_replay
from harness.errors import InvalidCase, PortError, SpecError
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.limits import (
    EXTENT,
    KERNEL_TAPS,
    LIMIT_RULES,
    REFERENCE_SCRATCH,
    STRIDE_PHASES,
    TENSOR_ELEMENTS,
    check_limits,
    check_reference,
    reference_scratch_bytes,
)
from harness.oracle import reference
from harness.spec.loader import load_default_specs, load_spec, parse_spec
from harness.spec.schema import Spec
from harness.spec.strategies import cases

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 2 * 2**30
SUBPROCESS_TIMEOUT = 120  # generous for a loaded machine: a regression hangs far longer or dies

SPEC_HEAD = """\
name: capped
rank: 2
max_elements: {max_elements}
batch: 1
channels: {{groups: 1, in_per_group: {{min: 1, max: 2}}, out_per_group: {{min: 1, max: 2}}}}
input_size: {{min: 1, max: 4}}
kernel_size: {{min: 1, max: 3}}
stride: {{min: 1, max: {stride_max}}}
dtypes: [float64]
layouts: [channels_first]
"""
PINNED_STRIDE = """\
pinned:
  - source: test
    in_channels: 4
    out_channels: 4
    input_size: 8
    kernel_size: 3
    stride: 1000000000
"""
PORT_CALL = "torch.nn.ConvTranspose2d(4, 4, 3, stride=1000000000)"


def spec_text(max_elements: int = 4096, stride_max: int = 2, pinned: str = "") -> str:
    return SPEC_HEAD.format(max_elements=max_elements, stride_max=stride_max) + pinned


def limited(*argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m harness ARGV`` under a 2 GiB address-space limit; the result and its wall time."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        preexec_fn=cap,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    return proc, time.monotonic() - start


# --- a case's own size ------------------------------------------------------------------------------


def test_a_tensor_over_the_cap_is_an_invalid_case_naming_rule_and_numbers() -> None:
    with pytest.raises(InvalidCase) as err:
        Case.make(rank=2, input_size=8, kernel_size=3, stride=10_000, in_channels=4, out_channels=4)
    assert err.value.rule == TENSOR_ELEMENTS.rule
    text = str(err.value)
    assert "output has 19601680036 elements (1 × 4 × 70003 × 70003)" in text
    assert "2**28 = 268435456 elements per tensor" in text


def test_a_per_dimension_size_over_the_cap_names_its_field() -> None:
    with pytest.raises(InvalidCase) as err:
        Case.make(input_size=1, stride=10**30)
    assert (err.value.rule, err.value.field) == (EXTENT.rule, "stride")
    assert f"stride[0] is {10**30}" in str(err.value)
    with pytest.raises(InvalidCase) as err:  # F = (L − 1)·s + K, cropped back to a small output
        Case.make(input_size=2, stride=2**28, pads_begin=2**28 - 1)
    assert err.value.rule == EXTENT.rule
    assert "full output along spatial dim 0 is 268435459" in str(err.value)


def test_cases_at_the_caps_are_valid() -> None:
    Case.make(input_size=2**28, kernel_size=1)  # input and output at the tensor cap
    Case.make(input_size=1, stride=2**28)
    check_reference(Case.make(input_size=2, stride=2**17, kernel_size=1))  # 2**17 phases
    check_reference(Case.make(rank=2, input_size=1, kernel_size=2**9, stride=2**9))  # 2**18 taps


def test_the_reference_caps_name_rule_and_numbers() -> None:
    with pytest.raises(InvalidCase) as err:
        check_reference(Case.make(rank=2, input_size=2, stride=2**10, kernel_size=1))
    assert err.value.rule == STRIDE_PHASES.rule
    assert "1048576 stride phases" in str(err.value)
    with pytest.raises(InvalidCase) as err:
        check_reference(Case.make(rank=3, input_size=1, kernel_size=2**7))
    assert err.value.rule == KERNEL_TAPS.rule
    assert "2097152 taps (128 × 128 × 128)" in str(err.value)
    # Small tensors, but one GEMM over 2**14 taps on 2**14 positions, and O × k tap-count tables.
    with pytest.raises(InvalidCase) as err:
        check_reference(Case.make(input_size=2**14, kernel_size=2**14))
    assert err.value.rule == REFERENCE_SCRATCH.rule
    assert "GiB of work memory, over the cap of 8 GiB" in str(err.value)


def _draw_within_reference_caps(spec: Spec, n: int) -> int:
    drawn: list[Case] = []

    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(spec))
    def draw(case: Case) -> None:
        check_reference(case)
        drawn.append(case)

    draw()
    return len(drawn)


def test_nothing_the_default_specs_draw_or_pin_meets_a_cap() -> None:
    for spec in load_default_specs():
        for case in spec.pinned_cases():
            check_limits(case)
        assert _draw_within_reference_caps(spec, 200) == 200


def test_a_spec_at_the_caps_draws_only_valid_cases() -> None:
    # Strides with L = 1 and dilations with k = 1 are drawn from the whole range: the spec's caps
    # keep them under the per-dimension cap, and max_elements every tensor under the tensor cap.
    text = spec_text(max_elements=2**28, stride_max=2**28).replace(
        "input_size: {min: 1, max: 4}", "input_size: {min: 1, max: 1000}\ndilation: {min: 1, max: 268435456}"
    )
    spec = parse_spec(text)

    @settings(
        max_examples=100,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(spec))
    def draw(case: Case) -> None:
        assert max(case.stride + case.dilation) <= EXTENT.cap

    draw()


# --- specs ---------------------------------------------------------------------------------------


def test_max_elements_over_the_cap_is_a_spec_error_naming_it() -> None:
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        parse_spec(spec_text(max_elements=10**12), "big.yaml")
    assert time.perf_counter() - start < 1.0
    assert (err.value.line, err.value.key) == (3, "max_elements")
    assert str(err.value) == (
        "big.yaml:3: max_elements=1000000000000 is over the harness's cap of 2**28 = 268435456 "
        "elements per tensor (rule max_tensor_elements): lower it"
    )
    parse_spec(spec_text(max_elements=2**28))


def test_a_range_over_the_per_dimension_cap_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(spec_text(stride_max=2**28 + 1), "wide.yaml")
    assert (err.value.line, err.value.key) == (8, "stride.max")
    assert "(rule max_extent)" in str(err.value)


def test_a_pinned_case_over_a_cap_fails_fast_at_its_key(tmp_path: Path) -> None:
    path = tmp_path / "pinned.yaml"
    path.write_text(spec_text(pinned=PINNED_STRIDE), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert time.perf_counter() - start < 1.0
    assert (err.value.line, err.value.key) == (17, "pinned[0].stride")
    assert f"{path}:17: pinned[0] is not a valid case: stride[0] is 1000000000" in str(err.value)
    assert "(rule max_extent)" in str(err.value)


def test_a_pinned_case_whose_reference_is_over_a_cap_is_a_spec_error(tmp_path: Path) -> None:
    pinned = PINNED_STRIDE.replace("stride: 1000000000", "stride: 1").replace(
        "kernel_size: 3", "kernel_size: 600"
    )
    with pytest.raises(SpecError) as err:
        parse_spec(spec_text(pinned=pinned), "taps.yaml")
    assert err.value.key == "pinned[0]"
    assert "360000 taps (600 × 600)" in str(err.value)
    assert "(rule max_kernel_taps)" in str(err.value)


def test_a_run_of_a_spec_pinning_stride_1e9_exits_2_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "pinned.yaml"
    path.write_text(spec_text(pinned=PINNED_STRIDE), encoding="utf-8")
    proc, _ = limited(
        "run",
        "--spec",
        str(path),
        "--targets",
        "tests.targets_for_tests:CorrectTarget",
        "--in-process",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:17: pinned[0] is not a valid case" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- port ----------------------------------------------------------------------------------------


def test_a_port_call_over_a_cap_is_refused_fast() -> None:
    start = time.perf_counter()
    with pytest.raises(PortError) as err:
        translate(PORT_CALL, readable_apis(), Shapes(input_shape=(1, 4, 8, 8)))
    assert time.perf_counter() - start < 1.0
    assert "stride[0] is 1000000000, over the cap of 2**28" in str(err.value)
    assert "(rule max_extent)" in str(err.value)
    with pytest.raises(PortError, match="rule max_reference_scratch"):
        translate("torch.nn.ConvTranspose1d(1, 1, 16384)", readable_apis(), Shapes(input_shape=(1, 1, 16384)))


def test_the_port_command_over_a_cap_exits_2_without_allocating() -> None:
    proc, _ = limited("port", PORT_CALL, "--input-shape", "1,4,8,8", "--to", "torch.functional")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("port: the call's case is too large for the harness: stride[0]")
    assert "(rule max_extent)" in proc.stderr


# --- the findings store ---------------------------------------------------------------------------


def _stored(case: dict[str, Any], spec: str, target: str) -> str:
    return json.dumps({"spec": spec, "target": target, "signature": "s", "case": case}, sort_keys=True)


OVERSIZE = Case.make(input_size=2).to_dict() | {"batch": 2**40}


def test_a_stored_case_over_a_cap_is_skipped_with_a_note(tmp_path: Path) -> None:
    small = Case.make(input_size=2)
    scratch = Case.make(input_size=2**14, kernel_size=2**14).to_dict()
    store = tmp_path / "store.jsonl"
    store.write_text(
        "\n".join(
            [
                _stored(OVERSIZE, "capped", "t"),
                _stored(small.to_dict(), "capped", "t"),
                _stored(scratch, "capped", "t"),
                _stored(OVERSIZE, "other", "t"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    notes: list[str] = []
    assert load_replay(store, "capped", "t", notes) == [small]
    assert len(notes) == 2
    assert notes[0].startswith(f"{store}:1: a past finding of t × capped is not replayed: the input has ")
    assert notes[0].endswith("(rule max_tensor_elements)")
    assert notes[1].startswith(f"{store}:3: ") and notes[1].endswith("(rule max_reference_scratch)")


def test_a_run_replays_around_a_stored_case_over_a_cap(tmp_path: Path) -> None:
    from harness.engine.run import run
    from harness.engine.tally import summary_text

    target = "tests.targets_for_tests:CorrectTarget"
    spec = tmp_path / "capped.yaml"
    spec.write_text(spec_text(), encoding="utf-8")
    store = tmp_path / "store.jsonl"
    kept = Case.make(rank=2, input_size=3, dtype="float64")
    store.write_text(
        _stored(Case.make(rank=2, input_size=2).to_dict() | {"batch": 2**40}, "capped", target)
        + "\n"
        + _stored(kept.to_dict(), "capped", target)
        + "\n",
        encoding="utf-8",
    )
    report = run(
        spec_paths=[spec],
        target_names=[target],
        profile="dev",
        device="cpu",
        out_dir=tmp_path / "out",
        progress=False,
        store=store,
        isolate=False,
        replay_findings=True,
    )
    meta = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert meta["status"] == "complete"
    assert len(meta["replay_skipped"]) == 1 and "(rule max_tensor_elements)" in meta["replay_skipped"][0]
    assert report.notes == meta["replay_skipped"]
    assert summary_text(report).startswith(f"note: {store}:1: a past finding of {target} × capped")
    first = json.loads((tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert Case.from_dict(first["case"]) == kept
    assert not report.failed


# --- the scratch estimate -------------------------------------------------------------------------


def _measured_scratch(case: Case) -> int:
    """What computing the reference and the tap counts allocated beyond the two results."""
    arrays = make_arrays(case)
    reference.release_scratch()
    reference.plan.cache_clear()
    tracemalloc.start()
    try:
        out = reference.reference_for_case(case, arrays.x, arrays.weight, arrays.bias)
        taps = reference.tap_counts(case)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        reference.release_scratch()
    return peak - out.nbytes - taps.nbytes


def test_the_scratch_estimate_bounds_what_the_reference_allocates() -> None:
    rng = random.Random(7)
    checked = 0
    while checked < 60:
        rank = rng.randint(1, 3)

        def dims(lo: int, hi: int, rank: int = rank) -> tuple[int, ...]:
            return tuple(rng.randint(lo, hi) for _ in range(rank))

        g = rng.randint(1, 3)
        try:
            case = Case.make(
                rank=rank,
                batch=rng.randint(1, 3),
                groups=g,
                in_channels=g * rng.randint(1, 8),
                out_channels=g * rng.randint(1, 8),
                input_size=dims(1, (64, 16, 6)[rank - 1]),
                kernel_size=dims(1, 5),
                stride=dims(1, 6),
                dilation=dims(1, 3),
                pads_begin=dims(0, 6),
                pads_end=dims(0, 6),
                output_padding=dims(0, 4),
                bias=rng.random() < 0.5,
                distribution=rng.choice(["normal", "special"]),  # special: the exact-window path
            )
        except InvalidCase:
            continue
        checked += 1
        assert _measured_scratch(case) <= reference_scratch_bytes(case), case.short()


def test_the_scratch_estimate_is_close_on_a_large_case() -> None:
    case = Case.make(rank=2, batch=8, in_channels=64, out_channels=32, input_size=32, kernel_size=4, stride=2)
    measured = _measured_scratch(case)  # about 23 MiB: one GEMM over every tap
    assert measured <= reference_scratch_bytes(case) <= 2 * measured


def test_every_rule_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rule in LIMIT_RULES:
        assert f"| `{rule}` |" in readme
