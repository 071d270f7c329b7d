"""Targets run in their framework's worker process: :class:`WorkerRunner` and :func:`isolated`.

The main process keeps Hypothesis, the reference and the comparator; it asks a target what it
supports (pure code) and sends each case with its arrays to the framework's worker
(:mod:`harness.workers.worker`). A crash or a timeout there comes back as
:class:`~harness.errors.RunFailure`, an exception in the target as :class:`~harness.errors.RemoteError`.

Usage::

    target = isolated(PaddleNN("cpu"))
    verdict = judge(case, target)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, TargetApi, TargetRunner
from harness.errors import RemoteError, RunFailure, TargetUnavailable
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.workers import wire
from harness.workers.worker import SETTINGS, Worker, worker_for


class WorkerRunner(TargetRunner):
    """Runs a target's cases in its framework's worker process (the target's class is loaded there
    by its ``module:Class`` reference); the pure half stays with the caller."""

    def __init__(self, target: TargetApi) -> None:
        self.framework = target.framework
        self.device = target.device
        self.target_name = target.name
        self._version = target.framework_version()
        self._ref = target.class_reference()
        self._key = f"{self._ref}@{target.device}"
        self._last_info: dict[str, Any] = {}
        self._pending: int | None = None
        self.last_seconds = 0.0

    @property
    def worker(self) -> Worker:
        """The worker process of this target's framework."""
        return worker_for(self.framework)

    def _loaded(self) -> dict[str, Any]:
        return self.worker.ensure_loaded(self._key, self._ref, self.device)

    def prepare(self) -> None:
        """Load (construct and prepare) the target in its worker. A target that finds it cannot run
        here (its ``prepare()`` raised :class:`~harness.errors.TargetUnavailable`, e.g. onnxruntime
        without a CUDA provider) raises TargetUnavailable with its reason; any other failure
        raises RemoteError or RunFailure."""
        try:
            self._loaded()
        except RemoteError as exc:
            if exc.type_name == TargetUnavailable.__name__:
                raise TargetUnavailable(exc.message) from None
            raise

    def preload(self) -> None:
        """Start the worker and send it this target's load without waiting: several frameworks
        import at the same time, and the first case (or :meth:`prepare`) reads the reply."""
        self.worker.preload(self._key, self._ref, self.device)

    def environment(self) -> dict[str, Any]:
        """The environment as the worker reports it (after the framework was prepared there).

        A worker that cannot load the target gives the reason instead of failing the caller.
        """
        try:
            env = dict(self._loaded())
        except (RunFailure, RemoteError) as exc:
            env = {"device": self.device, "framework_version": self._version, "worker_error": str(exc)}
        env["isolated"] = True
        return env

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Run the case in the worker (RunFailure on crash or timeout, RemoteError on exception)."""
        self.start_run(case, arrays)
        return self.finish_run()

    def start_run(self, case: Case, arrays: CaseArrays) -> None:
        """Send the case to the worker and return at once (the caller computes the reference
        meanwhile: the framework and the reference run on two cores at the same time)."""
        self._last_info = {}
        self._pending = None
        self._loaded()
        message = wire.run_message(self._key, case.to_dict(), arrays)
        self._pending = self.worker.submit(message)
        self.worker.history.append(case.to_dict())

    def history(self) -> list[dict[str, Any]]:
        """The cases the worker's current process has run (this target's and others'), in order."""
        return list(self.worker.history)

    def replay(self, case: Case) -> None:
        """Run a case for its effect on the worker only (the output and any failure are dropped):
        a resumed run rebuilds what its worker had run before the interruption."""
        try:
            self.run(case, make_arrays(case))
        except (RunFailure, RemoteError):
            pass

    def finish_run(self) -> np.ndarray:
        """Wait for the worker's output of the case sent by :meth:`start_run`."""
        offset, self._pending = self._pending, None
        if offset is None:
            raise RuntimeError("finish_run() without start_run()")
        output, self._last_info, self.last_seconds = self.worker.collect(SETTINGS.case_timeout, offset)
        return output  # type: ignore[no-any-return]

    def run_info(self) -> dict[str, Any]:
        """What the worker's target reported about its last run."""
        return self._last_info

    def probe(self, params: dict[str, Any]) -> list[int]:
        """The target's raw probe, in the worker (RunFailure / RemoteError as for :meth:`run`)."""
        return [int(v) for v in self.invoke("probe", params)]

    def invoke(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call another public method of the target inside the worker (RunFailure / RemoteError
        as for :meth:`run`); arguments and result must pickle."""
        self._loaded()
        return self.worker.request(
            wire.invoke_message(self._key, method, args, kwargs), SETTINGS.case_timeout
        )


#: Appended to a framework's name for the worker that judges cases afresh.
FRESH = ".fresh"


class FreshRunner(WorkerRunner):
    """Runs a target's cases in a worker of its own, which :meth:`restart` replaces by a new
    process: a case judged right after it runs where nothing else has run.

    Two processes take turns, so that one is importing the framework (and loading the target) in
    the background while the other judges: a restart costs no import time.
    """

    def __init__(self, target: TargetApi) -> None:
        super().__init__(target)
        self._turn = 0

    @property
    def worker(self) -> Worker:
        """The fresh-check process in use."""
        return worker_for(f"{self.framework}{FRESH}{self._turn}")

    def warm(self) -> None:
        """Start the process that :meth:`restart` switches to, loading the target there in the
        background: the first fresh judgement then waits for no import either."""
        worker_for(f"{self.framework}{FRESH}{1 - self._turn}").preload(self._key, self._ref, self.device)

    def restart(self) -> None:
        """End the process in use and switch to the other one; start a new process in the place of
        the ended one, loading the target there in the background."""
        used = self.worker
        used.stop(kill=True)
        self._turn = 1 - self._turn
        self.worker.preload(self._key, self._ref, self.device)
        used.preload(self._key, self._ref, self.device)


def stop_fresh_workers(framework: str) -> None:
    """End a framework's fresh-check processes (when a run has no more targets of it)."""
    for turn in (0, 1):
        worker_for(f"{framework}{FRESH}{turn}").stop(kill=True)


def isolated(target: Target | Handle) -> Handle:
    """``target`` with a runner in its framework's worker process (idempotent)."""
    if isinstance(target, Handle):
        if isinstance(target.runner, WorkerRunner):
            return target
        return Handle(target.api, WorkerRunner(target.api))
    return Handle(target, WorkerRunner(target))
