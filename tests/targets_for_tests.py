"""Test-only targets built on the reference kernel (framework "numpy").

- :class:`CorrectTarget` computes every case faithfully (the reference, rounded once to the dtype).
- :class:`ThreeBugTarget` carries three independent deliberate bugs, checked in this order:

  (c) ``bias=False`` raises ``RuntimeError`` (an error);
  (a) ``groups > 1`` drops the last group's contribution, leaving the bias alone there (a value bug);
  (b) any ``dilation > 1`` returns an output one element shorter along the last dimension (a shape bug).

Both are named ``tests.targets_for_tests:CorrectTarget`` / ``...:ThreeBugTarget`` wherever a target
name is accepted (the repository root must be importable).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters import plan as p
from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.dtypes import round_to_format
from harness.model.formulas import ExplicitFormula
from harness.oracle.reference import conv_transpose
from harness.oracle.tolerance import exact_model

if TYPE_CHECKING:
    from adapters.reading import Api

DTYPES = ("float32", "float64")


class ReferenceTarget(Target):
    """Shared base: a numpy target whose capability model accepts every canonical geometry."""

    framework = "numpy"
    requires = "numpy"

    def framework_version(self) -> str:
        """numpy.__version__."""
        return str(np.__version__)

    def capabilities(self) -> Capabilities:
        """Ranks 1-3, float32/float64, channels-first, begin/end crops, any output padding, cpu."""
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset(DTYPES),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit="any",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu"}),
            accumulation={d: exact_model(d) for d in DTYPES},
        )

    def compute(self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """The reference output rounded once to the case's dtype."""
        y = conv_transpose(
            x,
            weight,
            bias if case.bias else None,
            stride=case.stride,
            dilation=case.dilation,
            pads_begin=case.pads_begin,
            pads_end=case.pads_end,
            output_padding=case.output_padding,
            groups=case.groups,
        )
        return round_to_format(y, case.dtype)

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The faithful result."""
        return self.compute(case, arrays.x, arrays.weight, arrays.bias)

    #: Snippet lines before the call and after it (the deliberate bugs, if any).
    snippet_bugs: str = ""
    snippet_after: str = ""

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone numpy code computing the case with :func:`harness.oracle.reference.conv_transpose`."""
        return (
            "import numpy as np\n"
            "from harness.oracle.reference import conv_transpose\n\n"
            f"data = np.load({npz_name!r})\n"
            'x, weight = data["x"].astype(np.float64), data["weight"].astype(np.float64)\n'
            'bias = data["bias"].astype(np.float64) if "bias" in data else None\n'
            f"groups, dilation = {case.groups}, {case.dilation}\n"
            f"{self.snippet_bugs}"
            "y = conv_transpose(x, weight, bias, stride="
            f"{case.stride}, dilation=dilation,\n"
            f"                   pads_begin={case.pads_begin}, pads_end={case.pads_end},\n"
            f"                   output_padding={case.output_padding}, groups=groups)\n"
            f"{self.snippet_after}"
            "print(y.shape)\nprint(y)\n"
        )


class CorrectTarget(ReferenceTarget):
    """The reference itself: never a finding."""

    name = "test.correct"


class SlowTarget(ReferenceTarget):
    """The reference after a 50 ms pause per case: a run that lasts long enough to interrupt."""

    name = "test.slow"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The faithful result, late."""
        import time

        time.sleep(0.05)
        return super().run(case, arrays)


class LoudTarget(ReferenceTarget):
    """Raises on every case, with a message of :data:`LOUD_CHARACTERS` characters (as a framework's
    error with a dump of its state can be)."""

    name = "test.loud"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Always raises the long message."""
        raise RuntimeError("state dump " + "x" * (LOUD_CHARACTERS - len("state dump ")))


#: Length of the text :class:`LoudTarget` raises with.
LOUD_CHARACTERS = 100_000


class ThreeBugTarget(ReferenceTarget):
    """The reference with three independent deliberate bugs (see the module docstring)."""

    name = "test.three_bugs"

    snippet_bugs = (
        "if bias is None:\n"
        '    raise RuntimeError("ThreeBugTarget: bias=False is not implemented")\n'
        "if groups > 1:\n"
        "    x = x.copy()\n"
        "    x[:, -(x.shape[1] // groups):] = 0.0\n"
    )
    snippet_after = "if max(dilation) > 1:\n    y = y[..., :-1]\n"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The reference, with the error, value and shape bugs."""
        if not case.bias:
            raise RuntimeError("ThreeBugTarget: bias=False is not implemented")
        x = arrays.x
        if case.groups > 1:
            x = x.copy()
            x[:, case.in_channels - case.in_channels // case.groups :] = 0.0  # last group dropped
        y = self.compute(case, x, arrays.weight, arrays.bias)
        if any(d > 1 for d in case.dilation):
            y = y[..., :-1]
        return y


#: A small 1D space in which each of ThreeBugTarget's bugs shows (groups ≤ 2, dilation ≤ 2,
#: bias on and off; float64, channels-first, normal values only).
THREE_BUGS_SPEC = """\
name: three_bugs_small
description: small 1D space exercising groups, dilation and bias on/off
rank: 1
max_elements: 256
batch: {min: 1, max: 2}
channels:
  groups: {min: 1, max: 2}
  in_per_group: {min: 1, max: 2}
  out_per_group: {min: 1, max: 2}
input_size: {min: 1, max: 6}
kernel_size: {min: 1, max: 3}
stride: {min: 1, max: 2}
dilation: {min: 1, max: 2}
crops: {max: 1, probability: 0.5, asymmetric_probability: 0.5}
output_padding: {max: 1, probability: 0.3}
bias: [true, false]
dtypes: [float64]
layouts: [channels_first]
distributions: [normal]
"""


def write_spec(folder: Path) -> Path:
    """Write :data:`THREE_BUGS_SPEC` to ``folder/three_bugs_small.yaml`` and return its path."""
    path = folder / "three_bugs_small.yaml"
    path.write_text(THREE_BUGS_SPEC, encoding="utf-8")
    return path


class MisbehavingTarget(ReferenceTarget):
    """The reference, except that some cases kill, hang or bloat the process running them.

    Chosen by ``in_channels`` (with ``groups=1``), so a test picks the behaviour:
    3 → ``os.abort()`` (SIGABRT); 5 → a segmentation fault; 7 → ``os._exit(3)``;
    9 → hangs; 11 → allocates memory until killed; anything else → the faithful result.
    Its framework is ``misbehaving``: it gets a worker of its own.
    """

    name = "test.misbehaving"
    framework = "misbehaving"

    def worker_pid(self) -> int:
        """The process this target runs in (for the invoke test)."""
        import os

        return os.getpid()

    def abort(self) -> None:
        """Abort the process running this target."""
        import os

        os.abort()

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Misbehave according to ``case.in_channels``."""
        import ctypes
        import os
        import time

        behaviour = case.in_channels
        if behaviour == 3:
            os.abort()
        if behaviour == 5:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if behaviour == 7:
            os._exit(3)
        if behaviour == 9:
            time.sleep(3600)
        if behaviour == 11:
            hoard = []
            while True:
                hoard.append(np.ones(1 << 26))  # 512 MiB at a time, touched
                time.sleep(0.01)
        return self.compute(case, arrays.x, arrays.weight, arrays.bias)


#: MisbehavingTarget's behaviours by in_channels: the outcome and detail each one must become
#: (``{timeout}``: the case timeout in seconds, as a timeout's detail gives it).
MISBEHAVIOURS: tuple[tuple[int, str, str], ...] = (
    (3, "crash", "SIGABRT"),
    (5, "crash", "SIGSEGV"),
    (7, "crash", "exit 3"),
    (9, "timeout", "{timeout}s"),
    (11, "crash", "memory_limit"),
)


class UnavailableTarget(ReferenceTarget):
    """Installed (numpy is), but its ``prepare()`` finds it cannot run here, as onnxruntime does on
    ``cuda`` without a CUDA provider. Its framework is ``unavailable``: a worker of its own."""

    name = "test.unavailable"
    framework = "unavailable"

    def prepare(self) -> None:
        """Refuse, with the reason."""
        from harness.errors import TargetUnavailable

        raise TargetUnavailable("test.unavailable needs an accelerator this machine lacks")


class SlowLoadTarget(ReferenceTarget):
    """The reference, after a ``prepare()`` that takes :data:`LOAD_SECONDS` (a framework's import);
    its environment says when that load ran (``time.time()``), so a test can tell whether two
    workers loaded at the same time. Its framework is ``slow_load_a``: a worker of its own."""

    name = "test.slow_load_a"
    framework = "slow_load_a"
    LOAD_SECONDS = 2.0

    def prepare(self) -> None:
        """Take the time an import would."""
        import time

        start = time.time()
        time.sleep(self.LOAD_SECONDS)
        self._load_span = (start, time.time())

    def environment(self) -> dict[str, Any]:
        """The base environment and when ``prepare()`` started and ended."""
        start, end = getattr(self, "_load_span", (0.0, 0.0))
        return {**super().environment(), "load_start": start, "load_end": end}


class OtherSlowLoadTarget(SlowLoadTarget):
    """:class:`SlowLoadTarget` in another framework's worker (``slow_load_b``)."""

    name = "test.slow_load_b"
    framework = "slow_load_b"


def _documented_size(case: Case) -> tuple[int, ...]:
    return tuple(case.output_size)


def _read_numpyconv(call: Any, api: Any, arguments: dict[str, Any], shapes: Any) -> Any:
    """``numpyconv.conv_transposeNd(x, weight, stride=1)`` read into the canonical case."""
    from adapters import reading

    notes: list[str] = []
    n, c, size = reading.split_layout(reading.input_shape(api, arguments["x"], shapes, notes), False)
    weight = reading.weight_shape(api, arguments["weight"], shapes)
    case = reading.make_case(
        api,
        batch=n,
        in_channels=c,
        out_channels=weight[1],
        groups=1,
        input_size=size,
        kernel_size=weight[2:],
        stride=reading.per_dim(arguments["stride"], api.rank, "stride", api),
        dilation=1,
        pads_begin=0,
        pads_end=0,
        output_padding=0,
        bias=False,
        seed=shapes.seed,
    )
    return reading.Translation(call, api, arguments, case, "test.documented", notes)


class DocumentedTarget(ReferenceTarget):
    """A target written the way an adapter is: a call plan (the reference kernel stands in for a
    framework function), a documented explicit-padding size and a call signature ``port`` reads."""

    name = "test.documented"

    def plan(self, case: Case) -> p.Plan:
        """``y = conv_transpose(x, weight, bias, ...)`` on float64 copies of the arrays."""
        fn = p.call(
            "reference.conv_transpose",
            p.method(p.data("x"), "astype", p.sym("np.float64")),
            p.method(p.data("weight"), "astype", p.sym("np.float64")),
            p.method(p.data("bias"), "astype", p.sym("np.float64")) if case.bias else None,
            stride=case.stride,
            dilation=case.dilation,
            pads_begin=case.pads_begin,
            pads_end=case.pads_end,
            output_padding=case.output_padding,
            groups=case.groups,
        )
        imports = (p.Import("numpy", "np"), p.Import("harness.oracle", names=("reference",)))
        return p.Plan(imports, (p.Assign("y", fn),), "y", p.Name("y"), (fn,))

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Execute the plan (the protocol's own run, not the reference base class's)."""
        return Target.run(self, case, arrays)

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """The plan's snippet (the protocol's own)."""
        return Target.snippet(self, case, npz_name)

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The size this target documents: the canonical output size."""
        return ExplicitFormula(
            f"numpyconv.conv_transpose{rank}d", "O = F − cb − ce + op", "tests", _documented_size
        )

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """``numpyconv.conv_transpose{1,2,3}d(x, weight, stride=1)``."""
        from adapters.reading import Api

        return tuple(
            Api(
                "numpyconv",
                f"numpyconv.conv_transpose{r}d",
                r,
                ("x", "weight", "stride"),
                2,
                {"stride": 1},
                cls.name,
                "tests/targets_for_tests.py",
                ("numpyconv",),
                _read_numpyconv,
            )
            for r in (1, 2, 3)
        )


class KilledOnceTarget(ReferenceTarget):
    """The reference, but the first case it meets is cut by a SIGKILL from outside the framework
    (as the OOM killer or an operator would): once per ``$CONVT_TEST_KILL_MARKER`` file, in
    whichever process meets it first (framework ``killed_once``: a worker of its own)."""

    name = "test.killed_once"
    framework = "killed_once"

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The faithful result, after killing this process the first time the marker is missing."""
        import os
        import signal

        marker = Path(os.environ["CONVT_TEST_KILL_MARKER"])
        if not marker.exists():
            marker.write_text(str(os.getpid()), encoding="utf-8")
            os.kill(os.getpid(), signal.SIGKILL)
        return self.compute(case, arrays.x, arrays.weight, arrays.bias)


class HistoryTarget(ReferenceTarget):
    """The reference, except that every fourth case its process runs comes out 1 too high: a
    failure that depends on what ran before it, not on the case (framework ``history``: a worker
    of its own)."""

    name = "test.history"
    framework = "history"
    runs = 0

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """The faithful result, or it plus one on every fourth call in this process."""
        HistoryTarget.runs += 1
        y = self.compute(case, arrays.x, arrays.weight, arrays.bias)
        return y + 1.0 if HistoryTarget.runs % 4 == 0 else y


class ThreadedTarget(ReferenceTarget):
    """The reference, after a ``prepare()`` that starts a thread of its own (as the imports of
    onnxruntime and MindSpore do): a worker that loaded it must not fork (framework
    ``threaded``: a worker of its own)."""

    name = "test.threaded"
    framework = "threaded"

    def prepare(self) -> None:
        """Start a thread that sleeps for the life of the process."""
        import threading
        import time

        threading.Thread(target=lambda: time.sleep(3600), daemon=True).start()


class AtExitTarget(ReferenceTarget):
    """The reference, after a ``prepare()`` that registers a clean-up at exit, which appends this
    process's pid to ``$CONVT_TEST_AT_EXIT`` (framework ``at_exit``: a worker of its own)."""

    name = "test.at_exit"
    framework = "at_exit"

    def prepare(self) -> None:
        """Register the clean-up."""
        import atexit
        import os

        def clean_up(path: str = os.environ["CONVT_TEST_AT_EXIT"]) -> None:
            with open(path, "a", encoding="ascii") as fh:
                fh.write(f"{os.getpid()}\n")

        atexit.register(clean_up)


class ChattyTarget(ReferenceTarget):
    """The reference, printing the pid of the process that runs each case to standard error
    (framework ``chatty``: a worker of its own)."""

    name = "test.chatty"
    framework = "chatty"

    def compute(self, case: Case, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """Print, then the reference."""
        import os
        import sys

        print(f"case run by pid {os.getpid()}", file=sys.stderr, flush=True)
        return super().compute(case, x, weight, bias)
