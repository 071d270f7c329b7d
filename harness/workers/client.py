"""Isolated framework workers: every target runs in a long-lived process, one per framework.

The main process keeps Hypothesis, the reference and the comparator; it asks a target what it
supports (pure code) and sends each case with its arrays to the framework's worker
(:mod:`harness.workers.server`). A worker that dies — a signal, an abort, ``os._exit``, killed for
memory — turns the case into outcome ``crash`` with the signal or exit status and the last lines of
the worker's log; a case past its time limit becomes ``timeout`` and the worker is killed. Either
way the worker is started again on the next case and the run goes on.

Usage::

    target = isolated(PaddleNN("cpu"))
    verdict = judge(case, target)
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adapters.protocol import Handle, Target, TargetApi, TargetRunner
from harness.errors import RemoteError, RunFailure
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.outcomes import Outcome
from harness.process import worker_environment
from harness.workers.server import send

POLL_SECONDS = 0.05
LOG_TAIL_LINES = 20


def _default_memory_limit_mb() -> int:
    """Half the machine's memory: a worker past it is killed (outcome ``crash``)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024 // 2
    except OSError:
        pass
    return 8192


@dataclass
class WorkerSettings:
    """Limits and where worker logs go (set once per run with :func:`configure`)."""

    case_timeout: float = 300.0
    load_timeout: float = 300.0
    memory_limit_mb: int = _default_memory_limit_mb()
    log_dir: Path | None = None


SETTINGS = WorkerSettings()


def configure(
    *,
    case_timeout: float | None = None,
    memory_limit_mb: int | None = None,
    log_dir: Path | None = None,
) -> WorkerSettings:
    """Change the worker limits; running workers keep their log file until restarted."""
    if case_timeout is not None:
        SETTINGS.case_timeout = float(case_timeout)
    if memory_limit_mb is not None:
        SETTINGS.memory_limit_mb = int(memory_limit_mb)
    if log_dir is not None:
        SETTINGS.log_dir = log_dir
    return SETTINGS


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def _child_pythonpath() -> str:
    """The parent's import path, so the worker resolves the same ``module:Class`` references."""
    entries = [p for p in sys.path if p and os.path.isdir(p)]
    cwd = os.getcwd()
    if cwd not in entries:
        entries.insert(0, cwd)
    return os.pathsep.join(entries)


class Worker:
    """One worker process for one framework; restarted after a crash or a timeout."""

    def __init__(self, framework: str) -> None:
        self.framework = framework
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.loaded: dict[str, dict[str, Any]] = {}
        self.log_path: Path | None = None
        self.starts = 0
        self.exit_sent = False  # "exit" already sent to the current process (see request_exit)

    # --- process --------------------------------------------------------------------------------
    def _log_file(self) -> Path:
        folder = SETTINGS.log_dir
        if folder is None:
            import tempfile

            folder = Path(tempfile.gettempdir()) / f"convt-workers-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.framework}.log"

    def start(self) -> None:
        """Start the process (its log is appended to, across restarts)."""
        parent, child = socket.socketpair()
        self.log_path = self._log_file()
        env = worker_environment(os.environ, _child_pythonpath())
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- worker start #{self.starts} for {self.framework}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.workers.server", str(child.fileno())],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        child.close()
        self.sock = parent
        self.loaded = {}
        self.exit_sent = False

    def request_exit(self) -> None:
        """Ask the process to end without waiting for it (:meth:`stop` then waits)."""
        if self.proc is None or self.sock is None or self.exit_sent or self.proc.poll() is not None:
            return
        try:
            self._send(self.sock, ("exit",))
            self.exit_sent = True
        except OSError:
            pass

    def stop(self, kill: bool = False) -> None:
        """End the process (politely unless ``kill``)."""
        exit_sent, self.exit_sent = self.exit_sent, False
        proc, self.proc = self.proc, None
        sock, self.sock = self.sock, None
        try:
            if proc is not None and proc.poll() is None and not kill and sock is not None:
                try:
                    if not exit_sent:
                        self._send(sock, ("exit",))
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        finally:  # also when Ctrl-C cuts the wait short: the process must not outlive the run
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    proc.kill()
                proc.wait()
            if sock is not None:
                sock.close()
            self.loaded = {}

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    # --- messages -------------------------------------------------------------------------------
    @staticmethod
    def _send(sock: socket.socket, message: tuple[Any, ...]) -> None:
        sock.settimeout(None)
        send(sock, message)

    def _log_tail(self, offset: int) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])

    def _log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path and self.log_path.exists() else 0

    def _failure(self, outcome: str, detail: str, what: str, offset: int) -> RunFailure:
        tail = self._log_tail(offset)
        message = f"{self.framework} worker {what}"
        if tail:
            message += f"; last lines of its log ({self.log_path}):\n{tail}"
        return RunFailure(outcome, detail, message)

    def _receive(self, timeout: float, offset: int) -> Any:
        """Wait for one reply, watching the process, the clock and the memory limit."""
        assert self.sock is not None and self.proc is not None
        sock, proc = self.sock, self.proc
        deadline = time.monotonic() + timeout
        # The 8-byte length first, then the payload received in place (no quadratic concatenation).
        header = bytearray(8)
        payload: bytearray | None = None
        got = 0
        sock.settimeout(POLL_SECONDS)
        while True:
            n = 0
            try:
                view = memoryview(header)[got:] if payload is None else memoryview(payload)[got - 8 :]
                n = sock.recv_into(view)
                if not n:
                    raise ConnectionError("closed")
                got += n
            except TimeoutError:
                pass
            except (ConnectionError, OSError):
                proc.wait()
                code = proc.returncode
                self.stop(kill=True)
                raise self._failure(
                    Outcome.CRASH,
                    _describe_exit(code),
                    f"died ({_describe_exit(code)}) while running the case",
                    offset,
                ) from None
            if payload is None and got == 8:
                payload = bytearray(int.from_bytes(header, "little"))
            if payload is not None and got == 8 + len(payload):
                return pickle.loads(payload)
            if n:
                continue  # data is flowing: read on before the (slower) process checks below
            if proc.poll() is not None:
                continue  # the socket reports the end on the next recv
            rss = _rss_mb(proc.pid)
            if rss > SETTINGS.memory_limit_mb:
                self.stop(kill=True)
                raise self._failure(
                    Outcome.CRASH,
                    "memory_limit",
                    f"used {rss:.0f} MiB, over the {SETTINGS.memory_limit_mb} MiB limit, and was killed",
                    offset,
                )
            if time.monotonic() > deadline:
                self.stop(kill=True)
                raise self._failure(
                    Outcome.TIMEOUT,
                    f"{timeout:g}s",
                    f"ran past the {timeout:g} s limit and was killed",
                    offset,
                )

    def submit(self, message: tuple[Any, ...]) -> int:
        """Send a message without waiting; returns the log offset that :meth:`collect` needs."""
        if not self.alive:
            self.stop(kill=True)
            self.start()
        offset = self._log_offset()
        try:
            assert self.sock is not None
            self._send(self.sock, message)
        except OSError:
            self.stop(kill=True)
            raise self._failure(Outcome.CRASH, "send", "could not be reached", offset) from None
        return offset

    def collect(self, timeout: float, offset: int) -> Any:
        """The payload of the reply to the last submitted message; RunFailure or RemoteError."""
        reply = self._receive(timeout, offset)
        if reply[0] == "ok":
            return reply[1]
        raise RemoteError(reply[1], reply[2])

    def request(self, message: tuple[Any, ...], timeout: float) -> Any:
        """Send a message and return the reply's payload; raise RunFailure or RemoteError."""
        return self.collect(timeout, self.submit(message))

    def ensure_loaded(self, key: str, class_ref: str, device: str) -> dict[str, Any]:
        """Load (construct and prepare) a target in the worker once; returns its environment."""
        if not self.alive:
            self.stop(kill=True)
            self.start()
        if key not in self.loaded:
            self.loaded[key] = self.request(("load", key, class_ref, device), SETTINGS.load_timeout)
        return self.loaded[key]


_WORKERS: dict[str, Worker] = {}


def worker_for(framework: str) -> Worker:
    """The (lazily started) worker of a framework."""
    if framework not in _WORKERS:
        _WORKERS[framework] = Worker(framework)
    return _WORKERS[framework]


def shutdown_all() -> None:
    """Stop every worker (registered at exit): all are asked first, so they wind down together."""
    workers = list(_WORKERS.values())
    for worker in workers:
        worker.request_exit()
    interrupted: KeyboardInterrupt | None = None
    for worker in workers:
        try:
            worker.stop(kill=interrupted is not None)
        except KeyboardInterrupt as exc:  # Ctrl-C while waiting: kill the rest without waiting
            interrupted = exc
    _WORKERS.clear()
    if interrupted is not None:
        raise interrupted


atexit.register(shutdown_all)


@contextmanager
def workers_shut_down() -> Iterator[None]:
    """Context that stops every worker on exit (tests, the runner)."""
    try:
        yield
    finally:
        shutdown_all()


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
        self._pending = self.worker.submit(("run", self._key, case.to_dict(), arrays))

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
        return self.worker.request(("invoke", self._key, method, args, kwargs), SETTINGS.case_timeout)


def isolated(target: Target | Handle) -> Handle:
    """``target`` with a runner in its framework's worker process (idempotent)."""
    if isinstance(target, Handle):
        if isinstance(target.runner, WorkerRunner):
            return target
        return Handle(target.api, WorkerRunner(target.api))
    return Handle(target, WorkerRunner(target))
