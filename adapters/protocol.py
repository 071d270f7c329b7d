"""The adapter protocol: what every target (one framework API surface) provides, in two halves.

- :class:`TargetApi`, the pure description of an API: what it can express
  (:class:`Capabilities`, :meth:`~TargetApi.supports` with the reason it cannot), what its
  documentation says (named modes, the explicit-padding size, the call signatures ``port`` reads),
  and :meth:`~TargetApi.plan`, the framework calls one case makes (:mod:`adapters.plan`). The
  plan is the single description of the call: the run executes it, the snippet and the one-line
  equivalent call render it, and the audits' raw probes build one from raw parameters.
- :class:`TargetRunner`, what executes a case: :meth:`~TargetRunner.prepare` (import the
  framework, pin its numeric settings), :meth:`~TargetRunner.run`, the raw
  :meth:`~TargetRunner.probe`, :meth:`~TargetRunner.environment` and
  :meth:`~TargetRunner.run_info`.

:class:`Target` is both halves in one class, the form every built-in adapter and a third-party
``module:Class`` target take; its runner half executes the plan in this process. The engine holds
a target as a :class:`Handle`: the pure half, asked in the main process, and a runner — the target
itself, or its framework's worker process (:func:`harness.workers.client.isolated`).

A target maps the canonical case onto its API the way that API's users call it and never works
around what the framework does: a case the API cannot express is refused with the reason, and a
framework that computes something else is a finding for the comparator. The pure half must not
import a framework (the main process must never load paddle and mindspore together); the runner
imports it lazily, in :meth:`~TargetRunner.prepare` or when a plan runs.
"""

from __future__ import annotations

import abc
import functools
import importlib.metadata
import importlib.util
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from adapters import plan as plans
from adapters.defaults import DEFAULT_TOPICS as DEFAULT_TOPICS  # re-exported for the harness
from adapters.defaults import WEIGHT_LAYOUT as WEIGHT_LAYOUT  # (it reaches adapters through here)
from adapters.probing import RawParams
from harness.errors import NotExpressible
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode
from harness.oracle.quant_compare import QuantModel
from harness.oracle.tolerance import AccumulationModel

if TYPE_CHECKING:
    from adapters.reading import Api

# How an API expresses crops and output padding (the "padding forms" of the capability model).
CROPS_SYMMETRIC = "symmetric"  # one padding per dimension: cb = ce = padding
CROPS_BEGIN_END = "begin_end"  # independent begin and end crops
CROPS_DERIVED = "derived"  # an output size, crops derived from their total (ONNX output_shape)


@dataclass(frozen=True)
class Capabilities:
    """Declarative model of what a target's API can express and how it computes.

    ``output_padding_limit`` names the API's rule for output padding: ``"lt_stride_or_dilation"``
    (PyTorch: each op < stride or < dilation), ``"lt_stride"``, ``"any"`` or ``"none"``.
    ``accumulation`` maps each supported data dtype to the :class:`AccumulationModel` the target
    computes with on the given device; the tolerance is derived from it.
    """

    ranks: frozenset[int]
    dtypes: frozenset[str]
    layouts: frozenset[str]
    crops: str
    output_padding_limit: str
    groups: bool
    dilation: bool
    devices: frozenset[str]
    accumulation: Mapping[str, AccumulationModel] = field(default_factory=dict)
    channels_last_ranks: frozenset[int] = frozenset()
    #: canonical mode name ("same", "same_lower", "valid") → what the documentation says it does
    padding_modes: Mapping[str, DocumentedMode] = field(default_factory=dict)
    #: How an int8 target requantizes or dequantizes (None: the target runs no int8 case).
    quantized: QuantModel | None = None
    #: rank → the spatial dimensions whose dilation the API requires to be 1 (where it has dilation).
    unit_dilation_dims: Mapping[int, frozenset[int]] = field(default_factory=dict)
    #: The integer dtypes an int8 target takes as its quantized input (None: every one).
    quantized_inputs: frozenset[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for doctor and results."""
        return (
            {
                "ranks": sorted(self.ranks),
                "dtypes": sorted(self.dtypes),
                "layouts": sorted(self.layouts),
                "crops": self.crops,
                "output_padding_limit": self.output_padding_limit,
                "groups": self.groups,
                "dilation": self.dilation,
                "devices": sorted(self.devices),
                "accumulation": {k: v.describe() for k, v in self.accumulation.items()},
                "channels_last_ranks": sorted(self.channels_last_ranks),
                "padding_modes": {k: v.to_dict() for k, v in self.padding_modes.items()},
                "unit_dilation_dims": {str(r): sorted(d) for r, d in sorted(self.unit_dilation_dims.items())},
            }
            | ({} if self.quantized is None else {"quantized": self.quantized.describe()})
            | ({} if self.quantized_inputs is None else {"quantized_inputs": sorted(self.quantized_inputs)})
        )


def python_version() -> str:
    """This interpreter's ``major.minor`` (what a wheel's Python tag names)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@functools.cache
def distribution_version(dist: str) -> str:
    """A distribution's installed version, read once per process (every result records it, and
    reading the metadata parses a file each time)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class TargetApi(abc.ABC):
    """The pure description of one framework API surface (answered in the main process)."""

    name: ClassVar[str]
    framework: ClassVar[str]
    #: The Python module whose importability decides availability.
    requires: ClassVar[str]
    #: The installed distribution whose version is recorded (defaults to ``requires``).
    distribution: ClassVar[str | None] = None
    #: The Python versions (``"3.12"``) the framework's pinned release has wheels for, where that is
    #: fewer than the harness runs on; its extra in pyproject.toml carries the same marker. None: all.
    wheel_pythons: ClassVar[frozenset[str] | None] = None

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    # --- identity -------------------------------------------------------------------------------
    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when the framework is installed here; otherwise why this target cannot run.

        Decided from the installed distribution's metadata, without importing the framework (the
        main process must not load frameworks that clash); a framework that is installed but fails
        to import shows up as ``crash``/``error`` results of its worker instead.
        """
        try:
            found = importlib.util.find_spec(cls.requires) is not None
        except (ImportError, ValueError) as exc:
            return f"cannot find {cls.requires}: {type(exc).__name__}: {exc}"
        if not found:
            python = python_version()
            if cls.wheel_pythons is not None and python not in cls.wheel_pythons:
                return (
                    f"{cls.requires} is not installed: {cls.framework} has no wheel for Python {python} "
                    f"(only for {', '.join(sorted(cls.wheel_pythons))}), so its extra installs nothing here"
                )
            return f"{cls.requires} is not installed (pip install the {cls.framework} extra)"
        return None

    def framework_version(self) -> str:
        """The installed framework's version, from its distribution metadata (no import)."""
        return distribution_version(self.distribution or self.requires)

    def class_reference(self) -> str:
        """``module:Class`` naming this target's class (how workers and ``repro`` load it)."""
        cls = type(self)
        return f"{cls.__module__}:{cls.__qualname__}"

    # --- what the API expresses -----------------------------------------------------------------
    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What the API can express on ``self.device``."""

    def supports(self, case: Case) -> str | None:
        """None if the API can express ``case`` on this device, else the reason it cannot."""
        caps = self.capabilities()
        if self.device.split(":")[0] not in caps.devices:
            return f"{self.name} does not run on device {self.device!r}"
        if case.rank not in caps.ranks:
            return f"{self.name} has no {case.rank}-D transposed convolution"
        if case.dtype not in caps.dtypes:
            return f"{self.name} does not run {case.dtype} on {self.device}"
        if case.layout not in caps.layouts:
            return f"{self.name} has no {case.layout} layout"
        if case.layout == "channels_last" and case.rank not in caps.channels_last_ranks:
            return f"{self.name} has no channels-last layout for {case.rank}-D data"
        if case.groups > 1 and not caps.groups:
            return f"{self.name} has no groups"
        if any(d > 1 for d in case.dilation) and not caps.dilation:
            return f"{self.name} has no dilation"
        if case.padding_mode != "explicit" and case.padding_mode not in caps.padding_modes:
            return f"{self.name} has no named padding mode for {case.padding_mode!r}"
        return self.expressible(case)

    def expressible(self, case: Case) -> str | None:
        """API-specific part of :meth:`supports` (crops and output padding)."""
        return None

    def accumulation(self, dtype: str) -> AccumulationModel:
        """The declared accumulation model for ``dtype`` on this device."""
        return self.capabilities().accumulation[dtype]

    def output_dtype(self, case: Case) -> str:
        """The dtype the target returns for this case (the data dtype for every float target)."""
        return case.dtype

    # --- what the documentation says ------------------------------------------------------------
    def documented_mode(self, mode: str, rank: int | None = None) -> DocumentedMode:
        """What this target's documentation says the canonical ``mode`` produces (at ``rank``,
        for documentation that differs by rank)."""
        documented = self.capabilities().padding_modes[mode]
        return documented if rank is None else documented.for_rank(rank)

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The output size the API's documentation gives for explicit padding at ``rank``, or None
        where this target records none (``audit-docs`` lists it as not documented)."""
        return None

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """The documented call signatures of this framework that ``port`` reads (none by default)."""
        return ()

    #: Registered targets that call this same API another way (``torch.nn`` and
    #: ``torch.nn.output_size``): ``port`` tries them when this one's call diverges.
    api_forms: ClassVar[tuple[str, ...]] = ()

    def weight_layout(self, case: Case) -> tuple[str, str]:
        """(the layout the API holds the case's weight in, how the call takes it): ``port`` shows
        it next to the emitted call, and says where it is not :data:`~adapters.defaults.WEIGHT_LAYOUT`."""
        return WEIGHT_LAYOUT, "the weight as the case holds it"

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """What the API does with what a call leaves out: topic (one of
        :data:`adapters.defaults.DEFAULT_TOPICS`) → (what it means, how the API spells that
        default); ``port`` names those that differ between the source API and a target."""
        return {}

    # --- the call -------------------------------------------------------------------------------
    def plan(self, case: Case) -> plans.Plan:
        """The framework calls ``case`` makes (only asked for a case :meth:`supports` accepts)."""
        raise NotImplementedError(f"{self.name} describes no call plan")

    def probe_plan(self, params: RawParams) -> plans.Plan:
        """The calls made for raw, possibly invalid, parameters; :class:`NotExpressible` when the
        API has no way to pass them."""
        raise NotExpressible(f"{self.name} has no raw probe")

    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """A standalone, copy-pasteable reproduction in the framework's own code: it loads ``x``,
        ``weight`` and (if present) ``bias`` from ``npz_name`` (as written by
        :func:`harness.engine.artefacts.save_arrays`) and prints the output."""
        reason = self.supports(case)
        if reason is not None:
            return f"# not expressible in {self.name}: {reason}\n"
        return plans.snippet(self.plan(case), npz_name)

    def equivalent_call(self, case: Case) -> str:
        """The one-line call in the API that the run makes for ``case`` (arguments at their
        documented default left out)."""
        return plans.one_line(self.plan(case))


class TargetRunner(abc.ABC):
    """What executes cases of a target; :meth:`start_run` / :meth:`finish_run` let the caller
    compute the reference while the case runs elsewhere."""

    #: Seconds the framework took for the last case (set by :meth:`finish_run`).
    last_seconds: float = 0.0

    def prepare(self) -> None:  # noqa: B027 - optional hook, a no-op unless a target needs it
        """Import the framework and pin its numeric settings (through :meth:`ready`)."""

    def ready(self) -> None:
        """:meth:`prepare`, once: the worker calls it when it loads the target, an in-process run
        before its first case."""
        if not getattr(self, "_ready", False):
            self.prepare()
            self._ready = True

    @abc.abstractmethod
    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Run the case; return the output in NC* order as a NumPy array of real numbers."""

    @abc.abstractmethod
    def probe(self, params: dict[str, Any]) -> list[int]:
        """Call the framework with raw parameters on random data; the output shape (or raise what
        the framework raises)."""

    @abc.abstractmethod
    def environment(self) -> dict[str, Any]:
        """Numeric settings recorded with every result (threads, TF32, device, versions)."""

    def run_info(self) -> dict[str, Any]:
        """What the last :meth:`run` decided that a result should carry (e.g. whether a layer ran
        on DLA or fell back, the execution providers of a session); recorded as ``run_info``."""
        return {}

    def start_run(self, case: Case, arrays: CaseArrays) -> None:
        """Begin running a case; :meth:`finish_run` returns its output. This default only
        remembers the case; it runs in :meth:`finish_run`."""
        self._started: tuple[Case, CaseArrays] | None = (case, arrays)

    def finish_run(self) -> np.ndarray:
        """The output of the case given to :meth:`start_run` (exceptions as from :meth:`run`)."""
        started = getattr(self, "_started", None)
        self._started = None
        if started is None:
            raise RuntimeError("finish_run() without start_run()")
        began = time.perf_counter()
        try:
            return self.run(*started)
        finally:
            self.last_seconds = time.perf_counter() - began


class Target(TargetApi, TargetRunner):
    """One framework API surface, both halves: the runner half executes :meth:`plan` here."""

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self.last_seconds = 0.0
        self._executor = plans.Executor()
        #: The namespace the last plan left (what :meth:`run_info` reads).
        self.last_namespace: dict[str, Any] = {}

    @property
    def executor(self) -> plans.Executor:
        """The plan executor of this target (its caches live as long as the target)."""
        return self._executor

    def environment(self) -> dict[str, Any]:
        """Device and framework version; targets add their numeric settings."""
        return {"device": self.device, "framework_version": self.framework_version()}

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Execute :meth:`plan` on the case's arrays (in their dtype's NumPy container)."""
        self.ready()
        plan = self.plan(case)
        self.last_namespace = self._executor.execute(plan, arrays.container())
        return np.asarray(plans.evaluate(plan.to_numpy, self.last_namespace))

    def probe(self, params: dict[str, Any]) -> list[int]:
        """Execute :meth:`probe_plan` on random float32 arrays; the output's shape."""
        raw = RawParams.from_dict(params)
        if raw.quant is not None and self.capabilities().quantized is None:
            raise NotExpressible(f"{self.name} takes float tensors: a quantization cannot be given")
        plan = self.probe_plan(raw)
        self.ready()
        namespace = self._executor.execute(plan, raw.arrays())
        return [int(v) for v in namespace[plan.output].shape]


@dataclass(frozen=True)
class Handle:
    """A target as the engine drives it: the pure ``api`` (asked in the main process) and the
    ``runner`` that executes its cases (the target itself, or its framework's worker)."""

    api: TargetApi
    runner: TargetRunner

    @property
    def name(self) -> str:
        """The target's name."""
        return self.api.name


def handle(target: Target | Handle) -> Handle:
    """``target`` as a :class:`Handle` (a :class:`Target` runs its own cases)."""
    return target if isinstance(target, Handle) else Handle(target, target)


def api_of(target: TargetApi | Handle) -> TargetApi:
    """The pure half of a target or a handle."""
    return target.api if isinstance(target, Handle) else target


def symmetric_padding_for(case: Case) -> tuple[tuple[int, ...], tuple[int, ...]] | str:
    """Express the case's crops as symmetric ``padding`` plus ``output_padding``, or say why not.

    The output of a case depends only on the begin crop and the output size, so begin crop ``cb``
    is the padding and ``op' = cb − ce + op`` the output padding that yields the same size."""
    padding = case.pads_begin
    op = tuple(
        cb - ce + o for cb, ce, o in zip(case.pads_begin, case.pads_end, case.output_padding, strict=True)
    )
    for dim, value in enumerate(op):
        if value < 0:
            return (
                f"crops end {case.pads_end[dim]} > begin {case.pads_begin[dim]} + output_padding "
                f"{case.output_padding[dim]} along dim {dim}: symmetric padding cannot crop more "
                f"at the end"
            )
    return padding, op
