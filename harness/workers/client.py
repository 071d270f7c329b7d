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

import sys
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, TargetApi, TargetRunner
from harness.errors import NotForkable, RemoteError, RunFailure, TargetUnavailable
from harness.model.arrays import CaseArrays, make_arrays
from harness.model.case import Case
from harness.workers import wire
from harness.workers.forked import ForkedWorker
from harness.workers.worker import SETTINGS, Worker, adopt, registered, worker_for


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
#: Appended to a framework's name for the worker that loads targets and forks fresh processes.
ZYGOTE = ".zygote"
#: Appended to a framework's name for the worker whose processes the zygote forks.
FORKED = f"{FRESH}.forked"
#: Appended to a framework's name for the worker that has imported what the framework imports,
#: but not the framework, and forks the processes that take turns where the zygote cannot fork.
IMPORTER = ".importer"
#: The key under which the importer keeps the reply to its modules (as a worker keeps a load's).
IMPORTS = "(imports)"


def forked_worker(framework: str) -> ForkedWorker | None:
    """The framework's worker of forked fresh processes, once a fresh runner has made one (its
    ``refused`` says why the zygote would not fork)."""
    worker = registered(f"{framework}{FORKED}")
    return worker if isinstance(worker, ForkedWorker) else None


class FreshRunner(WorkerRunner):
    """Runs a target's cases in a worker of its own, which :meth:`restart` replaces by a new
    process: a case judged right after it runs where nothing else has run.

    The new process is forked from the framework's zygote, which has loaded the target and runs
    no case (:mod:`harness.workers.forked`): a restart costs a fork. Where the zygote cannot fork
    (its framework has started threads), two processes take turns instead, so that one is
    importing the framework (and loading the target) in the background while the other judges.
    Those are forked too, from a worker that has imported every module the framework's worker
    has but the framework's own (:meth:`_fork_turns`): each then imports only the framework.
    """

    def __init__(self, target: TargetApi, fork: bool = True, importer: bool = True) -> None:
        """``fork=False``: two processes take turns from the start, forked from the importer or,
        with ``importer=False``, started from scratch (``benchmarks/fresh_start.py`` compares them)."""
        super().__init__(target)
        self._importer = importer
        self._turn = 0
        self._forked: ForkedWorker | None = None
        earlier = forked_worker(self.framework)
        # until the zygote refuses (once per framework: a later target does not ask again)
        self._forking = fork and not (earlier is not None and earlier.refused)

    @property
    def zygote(self) -> Worker:
        """The framework's zygote worker."""
        return worker_for(f"{self.framework}{ZYGOTE}")

    @property
    def worker(self) -> Worker:
        """The fresh-check process in use (when forking, the first is forked on first use)."""
        if self._forking and self._forked is None:
            self.restart()
        if self._forked is not None:
            return self._forked
        return worker_for(f"{self.framework}{FRESH}{self._turn}")

    def warm(self) -> None:
        """Start loading the target where the first fresh process will come from (the zygote, or
        the process that :meth:`restart` switches to): the first fresh judgement then waits for no
        import either."""
        if self._forking:
            self.zygote.preload(self._key, self._ref, self.device)
        else:
            self._fork_turns()
            worker_for(f"{self.framework}{FRESH}{1 - self._turn}").preload(self._key, self._ref, self.device)

    def _fork_turns(self) -> None:
        """Make the two processes that take turns forked ones, from the framework's importer: a
        worker that imports, in the background, the modules the framework's own worker has
        imported (its framework's excepted). An importer that has started a thread by then
        refuses to fork, and the turns are started from scratch (so they are off Linux)."""
        names = [f"{self.framework}{FRESH}{turn}" for turn in (0, 1)]
        if not (self._importer and sys.platform.startswith("linux")) or any(map(registered, names)):
            return  # started from scratch, or made already (for an earlier target of the framework)
        main = worker_for(self.framework)
        try:
            main.read_preloads()
            modules = main.request(wire.MODULES_MESSAGE, SETTINGS.load_timeout)
        except (RemoteError, RunFailure):
            return
        importer = worker_for(f"{self.framework}{IMPORTER}")
        importer.send_ahead(IMPORTS, wire.import_message(list(modules)))
        for name in names:
            adopt(ForkedWorker(name, importer, None))

    def restart(self) -> None:
        """End the process in use and put a new one in its place: forked from the zygote, or else
        the other of the two that take turns (a new process is started, loading the target in the
        background, in the place of the ended one)."""
        if self._forking:
            if self._forked is None:
                target = (self._key, self._ref, self.device)
                forked = adopt(ForkedWorker(f"{self.framework}{FORKED}", self.zygote, target))
                assert isinstance(forked, ForkedWorker)  # the name is only ever given to one
                self._forked = forked
            self._forked.stop(kill=True)
            self._forked.target = (self._key, self._ref, self.device)
            try:
                self._forked.fork()
                return
            except NotForkable:
                self._forking, self._forked = False, None
                self.zygote.stop(kill=True)
                self.warm()
        used = self.worker
        used.stop(kill=True)
        self._turn = 1 - self._turn
        self.worker.preload(self._key, self._ref, self.device)
        used.preload(self._key, self._ref, self.device)


def stop_fresh_workers(framework: str) -> None:
    """End a framework's fresh-check processes (when a run has no more targets of it)."""
    for name in (FORKED, ZYGOTE, f"{FRESH}0", f"{FRESH}1", IMPORTER):
        worker_for(f"{framework}{name}").stop(kill=True)


def isolated(target: Target | Handle) -> Handle:
    """``target`` with a runner in its framework's worker process (idempotent)."""
    if isinstance(target, Handle):
        if isinstance(target.runner, WorkerRunner):
            return target
        return Handle(target.api, WorkerRunner(target.api))
    return Handle(target, WorkerRunner(target))
