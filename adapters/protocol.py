"""The adapter protocol: what every target (one framework API surface) provides.

A target maps a canonical :class:`~harness.case.Case` onto its API the way that API's users call
it, declares what the API can express (:class:`Capabilities`), runs it, and prints a standalone
reproduction in the framework's own code. It never works around what the framework does: a case
the API cannot express is refused by :meth:`Target.supports` with the reason, and a framework that
computes something else is a finding for the comparator, not something to patch here.

Targets run in isolated worker processes (:mod:`harness.workers.client`), while the main process asks the
same class what it supports. So an adapter imports its framework **lazily**, in :meth:`prepare`,
:meth:`run` or :meth:`environment` — never at module import, in ``__init__``, or in
:meth:`capabilities`, :meth:`supports`, :meth:`expressible` and :meth:`snippet`, which must stay
pure (the main process must never load paddle and mindspore together).
"""

from __future__ import annotations

import abc
import functools
import importlib.metadata
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode
from harness.oracle.tolerance import AccumulationModel

# How an API expresses crops and output padding (the "padding forms" of the capability model).
CROPS_SYMMETRIC = "symmetric"  # one padding per dimension: cb = ce = padding
CROPS_BEGIN_END = "begin_end"  # independent begin and end crops


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for doctor and results."""
        return {
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
        }


@functools.cache
def _distribution_version(dist: str) -> str:
    """A distribution's installed version, read once per process (every result records it, and
    reading the metadata parses a file each time)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Target(abc.ABC):
    """One framework API surface. Subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    framework: ClassVar[str]
    #: The Python module whose importability decides availability.
    requires: ClassVar[str]
    #: The installed distribution whose version is recorded (defaults to ``requires``).
    distribution: ClassVar[str | None] = None

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        #: Seconds the framework took for the last case (set by :meth:`finish_run`).
        self.last_seconds = 0.0

    # --- identity and environment -------------------------------------------------------------
    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when the framework is installed here; otherwise why this target cannot run.

        Decided from the installed distribution's metadata, without importing the framework (the
        main process must not load frameworks that clash); a framework that is installed but fails
        to import shows up as ``crash``/``error`` results of its worker instead.
        """
        import importlib.util

        try:
            found = importlib.util.find_spec(cls.requires) is not None
        except (ImportError, ValueError) as exc:
            return f"cannot find {cls.requires}: {type(exc).__name__}: {exc}"
        if not found:
            return f"{cls.requires} is not installed (pip install the {cls.framework} extra)"
        return None

    def framework_version(self) -> str:
        """The installed framework's version, from its distribution metadata (no import)."""
        return _distribution_version(self.distribution or self.requires)

    def class_reference(self) -> str:
        """``module:Class`` naming this target's class (how workers and ``repro`` load it)."""
        cls = type(self)
        return f"{cls.__module__}:{cls.__qualname__}"

    def prepare(self) -> None:  # noqa: B027 - optional hook, a no-op unless a target needs it
        """Import the framework and pin its numeric settings; called once in the worker."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What the API can express on ``self.device``."""

    def environment(self) -> dict[str, Any]:
        """Numeric settings recorded with every result (threads, TF32, device, versions).

        Called in the worker, after :meth:`prepare`.
        """
        return {"device": self.device, "framework_version": self.framework_version()}

    # --- the case -------------------------------------------------------------------------------
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

    def documented_mode(self, mode: str, rank: int | None = None) -> DocumentedMode:
        """What this target's documentation says the canonical ``mode`` produces (at ``rank``,
        for documentation that differs by rank)."""
        documented = self.capabilities().padding_modes[mode]
        return documented if rank is None else documented.for_rank(rank)

    def expressible(self, case: Case) -> str | None:
        """API-specific part of :meth:`supports` (crops and output padding)."""
        return None

    @abc.abstractmethod
    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Run the case; return the output in NC* order as a NumPy float array."""

    @abc.abstractmethod
    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """A standalone, copy-pasteable reproduction in the framework's own code.

        It loads ``x``, ``weight`` and (if present) ``bias`` from ``npz_name`` (as written by
        :func:`harness.repro.save_arrays`) and prints the output.
        """

    def start_run(self, case: Case, arrays: CaseArrays) -> None:
        """Begin running a case; :meth:`finish_run` returns its output. A target that computes
        elsewhere (a worker process) returns at once, so the reference is computed meanwhile;
        here the case is only remembered and runs in :meth:`finish_run`."""
        self._started = (case, arrays)

    def finish_run(self) -> np.ndarray:
        """The output of the case given to :meth:`start_run` (exceptions as from :meth:`run`)."""
        started: tuple[Case, CaseArrays] | None = getattr(self, "_started", None)
        self._started = None
        if started is None:
            raise RuntimeError("finish_run() without start_run()")
        began = time.perf_counter()
        try:
            return self.run(*started)
        finally:
            self.last_seconds = time.perf_counter() - began

    def run_info(self) -> dict[str, Any]:
        """What the last :meth:`run` decided that a result should carry (e.g. whether a layer ran
        on DLA or fell back, the execution providers of a session); recorded as ``run_info``."""
        return {}

    def accumulation(self, dtype: str) -> AccumulationModel:
        """The declared accumulation model for ``dtype`` on this device."""
        return self.capabilities().accumulation[dtype]

    def output_dtype(self, case: Case) -> str:
        """The dtype the target returns for this case (the data dtype for every float target)."""
        return case.dtype


def symmetric_padding_for(case: Case) -> tuple[tuple[int, ...], tuple[int, ...]] | str:
    """Express the case's crops as symmetric ``padding`` plus ``output_padding``, or say why not.

    The output of a case depends only on the begin crop and the output size, so begin crop ``cb``
    is the padding and ``op' = cb − ce + op`` the output padding that yields the same size.
    """
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
