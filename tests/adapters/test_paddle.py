"""The PaddlePaddle targets: padding-form choice, capability declarations checked against paddle,
named modes, channels-last, documented examples and runnable snippets.

Paddle is never imported in the pytest process (it clashes with mindspore): the pure parts are
tested here, everything that runs paddle goes through :func:`harness.workers.client.isolated` or a
subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.paddle.common import GPU_DISTRIBUTION, PaddleTarget, installed_distribution
from adapters.paddle.forms import FORM_FULL_RANK, FORM_INT, FORM_PAIRS, FORM_PER_DIM, padding_call
from adapters.paddle.functional import PaddleFunctional
from adapters.paddle.nn import PaddleNN
from adapters.protocol import Handle
from harness.engine.artefacts import save_arrays
from harness.engine.verdict import judge
from harness.errors import RemoteError
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.model.outcomes import Outcome

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("paddle") is None,
    reason="paddle is not installed (pip install the paddle extra)",
)

ROOT = Path(__file__).resolve().parents[2]
CLASSES: tuple[type[PaddleTarget], ...] = (PaddleNN, PaddleFunctional)


def _case(**kw: Any) -> Case:
    base: dict[str, Any] = {"input_size": 5, "kernel_size": 3, "in_channels": 2, "out_channels": 3}
    base.update(kw)
    return Case.make(**base)


# --- pure: form selection, declarations, snippets (no paddle in this process) ------------------


def test_symmetric_crops_reach_every_form_over_seeds() -> None:
    forms = {}
    for seed in range(8):
        call = padding_call(_case(input_size=(4, 4), pads_begin=1, pads_end=1, seed=seed))
        forms[call.form] = call.padding
    assert forms[FORM_INT] == 1
    assert forms[FORM_PAIRS] == [1, 1, 1, 1]
    assert forms[FORM_FULL_RANK] == [[0, 0], [0, 0], [1, 1], [1, 1]]
    unequal = padding_call(_case(input_size=(4, 4), pads_begin=(2, 1), pads_end=(2, 1), seed=0))
    assert (unequal.form, unequal.padding) == (FORM_PER_DIM, [2, 1])


def test_asymmetric_crops_use_pairs_in_the_data_format_order() -> None:
    case = _case(input_size=(4, 4, 4), pads_begin=(2, 0, 1), pads_end=(0, 1, 1))
    assert {padding_call(case.replace(seed=s)).form for s in range(8)} == {FORM_PAIRS, FORM_FULL_RANK}
    assert padding_call(case.replace(seed=0)).padding == [2, 0, 0, 1, 1, 1]
    first = padding_call(case.replace(seed=2))
    assert first.padding == [[0, 0], [0, 0], [2, 0], [0, 1], [1, 1]]
    assert first.data_format == "NCDHW"
    last = padding_call(case.replace(seed=2, layout="channels_last"))
    assert last.padding == [[0, 0], [2, 0], [0, 1], [1, 1], [0, 0]]
    assert last.data_format == "NDHWC"


def test_output_extension_chooses_output_size_only_where_it_can_express_it() -> None:
    case = _case(stride=2, dilation=3, output_padding=1, pads_begin=1, pads_end=0)
    by_size = padding_call(case.replace(seed=4))
    assert by_size.output_size == list(case.output_size) and by_size.output_padding is None
    by_op = padding_call(case.replace(seed=0))
    assert by_op.output_padding == [1] and by_op.output_size is None
    # op = 2 = stride < dilation: only output_padding can say it (output_size stays below O' + stride)
    beyond = padding_call(case.replace(seed=4, output_padding=(2,)))
    assert beyond.output_padding == [2] and beyond.output_size is None
    assert padding_call(_case(seed=0)).output_padding is None


def test_named_modes_pass_the_strings() -> None:
    assert padding_call(_case(stride=2, padding_mode="same")).padding == "SAME"
    valid = padding_call(_case(stride=2, padding_mode="valid", layout="channels_last"))
    assert (valid.padding, valid.output_padding, valid.output_size) == ("VALID", None, None)
    assert valid.data_format == "NLC"


@pytest.mark.parametrize("cls", CLASSES)
def test_declarations(cls: type[PaddleTarget]) -> None:
    target = cls("cpu")
    caps = target.capabilities()
    assert caps.dtypes == {"float32", "float64"}
    assert caps.channels_last_ranks == {1, 2, 3}
    assert set(caps.padding_modes) == {"same", "valid"}
    same = caps.padding_modes["same"]
    assert same.api_value == "SAME" and "Conv2DTranspose_cn" in same.source
    assert "silent" in same.split_source
    assert same.output_size(_case(input_size=(5, 4), stride=(2, 3))) == (3, 2)  # ⌈L/s⌉ as documented
    assert target.supports(_case(padding_mode="same_lower")) is not None
    assert "float16" in (target.supports(_case(dtype="float16")) or "")
    assert "paddle" not in sys.modules, "capabilities/supports/snippet must not import paddle"


@pytest.mark.parametrize("cls", CLASSES)
def test_gpu_is_declared_only_with_the_cuda_wheel(cls: type[PaddleTarget]) -> None:
    target = cls("gpu:0")
    if installed_distribution() == GPU_DISTRIBUTION:
        assert "gpu" in target.capabilities().devices
    else:
        reason = target.supports(_case())
        assert reason is not None and "device 'gpu:0'" in reason


@pytest.mark.parametrize("cls", CLASSES)
def test_output_padding_limits_follow_paddles_validation(cls: type[PaddleTarget]) -> None:
    target = cls("cpu")
    reason = target.supports(_case(input_size=(4, 4), stride=2, dilation=2, output_padding=(2, 0)))
    assert reason is not None and "max(stride 2, dilation 2)" in reason
    one_d = target.supports(_case(stride=1, dilation=3, output_padding=2))
    assert one_d is not None and "greater than stride 1" in one_d
    assert target.supports(_case(input_size=(4, 4), stride=1, dilation=3, output_padding=(2, 0))) is None
    assert target.supports(_case(stride=1, dilation=3, output_padding=1)) is None
    assert target.supports(_case(stride=2, pads_begin=4, pads_end=0, output_padding=1)) is None


@pytest.mark.parametrize("cls", CLASSES)
def test_snippets_print_the_exact_call(cls: type[PaddleTarget]) -> None:
    target = cls("cpu")
    full_rank = _case(
        input_size=(4, 5),
        pads_begin=(2, 0),
        pads_end=(0, 1),
        stride=2,
        output_padding=(1, 0),
        seed=2,
        layout="channels_last",
    )
    text = target.snippet(full_rank)
    compile(text, "snippet.py", "exec")
    assert "padding=[[0, 0], [2, 0], [0, 1], [0, 0]]" in text
    assert "output_padding=[1, 0]" in text and "data_format='NHWC'" in text
    sized = target.snippet(full_rank.replace(seed=6))
    # output_size and output_padding are exclusive: no output padding goes with the size
    assert "output_size=[8, 10]" in sized and "output_padding=[" not in sized
    assert "padding='SAME'" in target.snippet(_case(padding_mode="same"))


# --- through the worker -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Handle]]:
    """Both targets on the CPU, each running in the paddle worker process."""
    from harness.workers.client import isolated
    from harness.workers.worker import workers_shut_down

    with workers_shut_down():
        yield {cls.name: isolated(cls("cpu")) for cls in CLASSES}


NAMES = [cls.name for cls in CLASSES]


@pytest.mark.parametrize("name", NAMES)
def test_seed_002_documented_example(targets: dict[str, Handle], name: str) -> None:
    # Conv3DTranspose(4, 6, (3, 3, 3)) on a (2, 4, 8, 8, 8) input gives (2, 6, 10, 10, 10).
    case = _case(input_size=(8, 8, 8), in_channels=4, out_channels=6, batch=2, distribution="uniform")
    verdict = judge(case, targets[name])
    assert verdict.outcome == Outcome.PASS, verdict.message
    assert verdict.actual_shape == [2, 6, 10, 10, 10]


@pytest.mark.parametrize("name", NAMES)
def test_conv1d_transpose_documented_values(targets: dict[str, Handle], name: str) -> None:
    # The Conv1DTranspose docstring's example: x (1, 2, 4), w (2, 1, 2) → [[[60, 16, 99, 75, 4]]].
    case = _case(input_size=4, kernel_size=2, in_channels=2, out_channels=1, bias=False)
    x = np.array([[[4, 0, 9, 7], [8, 0, 9, 2]]], dtype=np.float64)
    w = np.array([[[7, 0]], [[4, 2]]], dtype=np.float64)
    out = targets[name].runner.run(case, CaseArrays(x=x, weight=w, bias=None, dtype="float32"))
    np.testing.assert_array_equal(out, [[[60, 16, 99, 75, 4]]])


FORM_CASES = {
    "symmetric": _case(
        input_size=(4, 5),
        kernel_size=(3, 2),
        stride=(2, 3),
        dilation=(1, 2),
        pads_begin=(1, 0),
        pads_end=(1, 0),
        output_padding=(1, 0),
        in_channels=4,
        out_channels=6,
        groups=2,
        batch=2,
    ),
    "asymmetric": _case(
        input_size=(4, 5), stride=2, pads_begin=(2, 1), pads_end=(0, 1), output_padding=(1, 1)
    ),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("label", list(FORM_CASES))
def test_every_padding_form_reaches_paddle_and_passes(
    targets: dict[str, Handle], name: str, label: str
) -> None:
    seen = set()
    for seed in range(8):
        case = FORM_CASES[label].replace(seed=seed)
        call = padding_call(case)
        seen.add((call.form, call.output_size is not None))
        verdict = judge(case, targets[name])
        assert verdict.outcome == Outcome.PASS, (call, verdict.message)
    assert len(seen) == (6 if label == "symmetric" else 4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channels_last(targets: dict[str, Handle], name: str, rank: int) -> None:
    case = _case(
        input_size=(3,) * rank,
        kernel_size=2,
        stride=2,
        pads_begin=1,
        pads_end=0,
        output_padding=1,
        in_channels=2,
        out_channels=4,
        groups=2,
        seed=1,
        layout="channels_last",
        dtype="float64",
        distribution="small_int",
    )
    verdict = judge(case, targets[name])
    assert verdict.outcome == Outcome.PASS, verdict.message


@pytest.mark.parametrize("name", NAMES)
def test_valid_mode_passes(targets: dict[str, Handle], name: str) -> None:
    case = _case(input_size=(5, 4), stride=(3, 2), dilation=(2, 1), padding_mode="valid")
    assert judge(case, targets[name]).outcome == Outcome.PASS


# Recorded findings (paddle 3.3.1 CPU), asserted so that a change in paddle shows up here.
@pytest.mark.parametrize("name", NAMES)
def test_same_mode_findings(targets: dict[str, Handle], name: str) -> None:
    target = targets[name]
    assert judge(_case(input_size=(5, 4), padding_mode="same"), target).outcome == Outcome.PASS
    # Documented ⌈L/s⌉; paddle gives (L−1)s + k − max((⌈L/s⌉−1)s + k − L, 0), neither that nor L·s.
    strided = judge(_case(input_size=(5, 4), stride=2, padding_mode="same"), target)
    assert strided.outcome == Outcome.DOC_MISMATCH
    assert strided.stats["documented_size"] == [3, 2] and strided.stats["actual_size"] == [9, 8]
    # Stride 1 has the documented size, but SAME ignores the dilation.
    dilated = judge(_case(input_size=(5, 4), dilation=2, padding_mode="same"), target)
    assert dilated.outcome == Outcome.VALUE_MISMATCH


@pytest.mark.parametrize("name", NAMES)
def test_output_padding_accepted_by_validation_but_refused_by_the_kernel(
    targets: dict[str, Handle], name: str
) -> None:
    # stride ≤ op < dilation passes paddle's shape inference, then its CPU kernel raises.
    for case in (
        _case(stride=1, dilation=3, output_padding=1),
        _case(input_size=(3, 3, 3), kernel_size=2, stride=2, dilation=3, output_padding=(2, 0, 0)),
    ):
        verdict = judge(case, targets[name])
        assert verdict.outcome == Outcome.ERROR, verdict.message
        assert "ValueError" in verdict.message


@pytest.mark.parametrize("name", NAMES)
def test_declared_unsupported_is_really_refused(targets: dict[str, Handle], name: str) -> None:
    target = targets[name]
    refused = [
        _case(dtype="float16"),
        _case(dtype="bfloat16"),
        _case(input_size=(4, 4), stride=2, dilation=2, output_padding=(2, 0)),
        _case(stride=1, dilation=3, output_padding=2),
    ]
    for case in refused:
        assert judge(case, target).outcome == Outcome.UNSUPPORTED
        with pytest.raises(RemoteError):
            target.runner.run(case, make_arrays(case))


def _sampled_cases(n: int) -> list[Case]:
    rng = np.random.default_rng(2024)
    out: list[Case] = []
    while len(out) < n:
        rank = int(rng.integers(1, 4))
        groups = int(rng.integers(1, 3))
        dims = {
            key: tuple(int(v) for v in rng.integers(lo, hi + 1, size=rank))
            for key, lo, hi in (
                ("input_size", 1, 4),
                ("kernel_size", 1, 3),
                ("stride", 1, 3),
                ("dilation", 1, 2),
                ("pads_begin", 0, 2),
                ("pads_end", 0, 2),
                ("output_padding", 0, 2),
            )
        }
        try:
            case = Case.make(
                rank=rank,
                groups=groups,
                in_channels=groups * int(rng.integers(1, 3)),
                out_channels=groups * int(rng.integers(1, 3)),
                batch=int(rng.integers(1, 3)),
                bias=bool(rng.integers(0, 2)),
                dtype=str(rng.choice(["float32", "float64"])),
                layout=str(rng.choice(["channels_first", "channels_last"])),
                seed=int(rng.integers(0, 64)),
                **dims,
            )
        except ValueError:
            continue
        if PaddleNN("cpu").supports(case) is None:
            out.append(case)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_sampled_supported_cases_pass_or_are_the_recorded_finding(
    targets: dict[str, Handle], name: str
) -> None:
    outcomes = []
    for case in _sampled_cases(40):
        verdict = judge(case, targets[name])
        kernel_refuses = any(op >= s for op, s in zip(case.output_padding, case.stride, strict=True))
        expected = Outcome.ERROR if kernel_refuses else Outcome.PASS
        assert verdict.outcome == expected, (case.short(), verdict.message)
        outcomes.append(verdict.outcome)
    assert outcomes.count(Outcome.PASS) >= 20


def test_environment_is_recorded_from_the_worker(targets: dict[str, Handle]) -> None:
    env = targets["paddle.nn"].runner.environment()
    assert env["isolated"] is True and "worker_error" not in env
    assert env["paddle_device"] == "cpu" and env["compiled_with_cuda"] is False
    assert "FLAGS_use_onednn" in env["flags"] and "FLAGS_paddle_num_threads" in env["flags"]
    assert env["framework_version"] != "unknown" and env["distribution"] == "paddlepaddle"


def test_snippets_run_standalone(tmp_path: Path) -> None:
    case = _case(
        input_size=(4, 5),
        pads_begin=(2, 0),
        pads_end=(0, 1),
        stride=2,
        output_padding=(1, 0),
        seed=6,
        layout="channels_last",
        in_channels=2,
        out_channels=2,
    )
    save_arrays(case, tmp_path / "case.npz")
    script = "\n".join(cls("cpu").snippet(case) for cls in CLASSES)
    (tmp_path / "snippet.py").write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "snippet.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, OPENBLAS_THREAD_TIMEOUT="4"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shapes = [line for line in done.stdout.splitlines() if line.startswith("(")]
    assert shapes == [str(case.output_shape)] * 2


def test_support_checks_read_the_installed_wheel_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every drawn case asks a target what it supports; reading paddle's metadata each time was
    # about 2 ms a case, 10 s of a ci run of the defaults.
    import importlib.metadata

    reads: list[str] = []
    real = importlib.metadata.version

    def counted(dist: str) -> str:
        reads.append(dist)
        return real(dist)

    installed_distribution.cache_clear()
    monkeypatch.setattr(importlib.metadata, "version", counted)
    target = PaddleTarget("cpu")
    for _ in range(5):
        target.capabilities()
        target.framework_version()
    installed_distribution.cache_clear()
    assert len(reads) <= 3  # the wheel found once (GPU, then CPU), its version once
