"""The worker processes: one long-lived process per framework, its limits, and the registry of them.

A :class:`Worker` starts ``python -m harness.workers.server FD PID`` (``PID``: this process, which
the worker dies with) with its output in the framework's log file and exchanges
:mod:`harness.workers.wire` messages with it. A worker that dies — a signal, an abort, ``os._exit``,
killed for memory — turns the call into a :class:`~harness.errors.RunFailure` with outcome
``crash``, the signal or exit status and the last lines of the worker's log; a call past its time
limit becomes ``timeout`` and the worker is killed. Either way the worker is started again on the
next call and the run goes on.

:data:`SETTINGS` holds the limits (:func:`configure`); :func:`worker_for` gives the worker of a
framework, and :func:`shutdown_all` (also run at exit) stops them all.
"""

from __future__ import annotations

import atexit
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import RemoteError, RunFailure
from harness.model.outcomes import Outcome
from harness.process import half_the_memory_mb, resident_mb, worker_environment
from harness.workers import wire

POLL_SECONDS = 0.05
LOG_TAIL_LINES = 20


@dataclass
class WorkerSettings:
    """Limits and where worker logs go (set once per run with :func:`configure`)."""

    case_timeout: float = 300.0
    load_timeout: float = 300.0
    memory_limit_mb: int = half_the_memory_mb()  # past it a worker is killed (outcome crash)
    log_dir: Path | None = None


SETTINGS = WorkerSettings()


def limit_problem(case_timeout: float | None = None, memory_limit_mb: int | None = None) -> str | None:
    """Why a limit cannot be used (None when both are fine): a case timeout must be a finite number
    of seconds above 0 (0 or less times out every case, nan never does), a memory limit a whole
    number of MiB above 0 (0 kills the worker on every case)."""
    if case_timeout is not None and not (math.isfinite(case_timeout) and case_timeout > 0):
        return f"the case timeout must be a finite number of seconds > 0, got {case_timeout!r}"
    if memory_limit_mb is not None and (isinstance(memory_limit_mb, bool) or memory_limit_mb < 1):
        return f"the worker memory limit must be a whole number of MiB > 0, got {memory_limit_mb!r}"
    return None


def configure(
    *,
    case_timeout: float | None = None,
    memory_limit_mb: int | None = None,
    log_dir: Path | None = None,
) -> WorkerSettings:
    """Change the worker limits (ValueError for a limit :func:`limit_problem` refuses)."""
    problem = limit_problem(case_timeout, memory_limit_mb)
    if problem is not None:
        raise ValueError(problem)
    if case_timeout is not None:
        SETTINGS.case_timeout = float(case_timeout)
    if memory_limit_mb is not None:
        SETTINGS.memory_limit_mb = int(memory_limit_mb)
    if log_dir is not None:
        SETTINGS.log_dir = log_dir
    return SETTINGS


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


class WorkerProcess(Protocol):
    """What a worker needs of its process: a :class:`subprocess.Popen`, or a forked child
    (:class:`harness.workers.forked.ForkedProcess`)."""

    @property
    def pid(self) -> int:
        """The process id."""

    @property
    def returncode(self) -> int | None:
        """The exit status once known (negative: the signal that ended it)."""

    def poll(self) -> int | None:
        """The exit status if the process has ended, else None."""

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end; :class:`subprocess.TimeoutExpired` past ``timeout``."""

    def kill(self) -> None:
        """Send SIGKILL."""


class Worker:
    """One worker process for one framework; restarted after a crash or a timeout."""

    def __init__(self, framework: str) -> None:
        self.framework = framework
        self.proc: WorkerProcess | None = None
        self.sock: socket.socket | None = None
        self.loaded: dict[str, dict[str, Any]] = {}
        self.log_path: Path | None = None
        self.starts = 0
        self.exit_sent = False  # "exit" already sent to the current process (see request_exit)
        #: The cases the current process has run, in order (what a history-dependent result needs).
        self.history: list[dict[str, Any]] = []
        #: Loads sent by :meth:`preload` whose replies are still to be read: key → log offset.
        self.preloading: dict[str, int] = {}

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
                [sys.executable, "-m", "harness.workers.server", str(child.fileno()), str(os.getpid())],
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
        self.history = []
        self.preloading = {}

    def request_exit(self) -> None:
        """Ask the process to end without waiting for it (:meth:`stop` then waits)."""
        if self.proc is None or self.sock is None or self.exit_sent or self.proc.poll() is not None:
            return
        try:
            self._send(self.sock, wire.EXIT_MESSAGE)
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
                        self._send(sock, wire.EXIT_MESSAGE)
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
    def _send(sock: socket.socket, message: wire.Message) -> None:
        sock.settimeout(None)
        wire.send(sock, message)

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
        # The length first, then the payload received in place (no quadratic concatenation).
        head = wire.HEADER_BYTES
        header = bytearray(head)
        payload: bytearray | None = None
        got = 0
        sock.settimeout(POLL_SECONDS)
        while True:
            n = 0
            try:
                view = memoryview(header)[got:] if payload is None else memoryview(payload)[got - head :]
                n = sock.recv_into(view)
                if not n:
                    raise ConnectionError("closed")
                got += n
            except TimeoutError:
                pass
            except (ConnectionError, OSError):
                code = proc.wait()
                self.stop(kill=True)
                raise self._failure(
                    Outcome.CRASH,
                    _describe_exit(code),
                    f"died ({_describe_exit(code)}) while running the case",
                    offset,
                ) from None
            if payload is None and got == head:
                payload = bytearray(wire.payload_size(header))
            if payload is not None and got == head + len(payload):
                return wire.decode(payload)
            if n:
                continue  # data is flowing: read on before the (slower) process checks below
            if proc.poll() is not None:
                continue  # the socket reports the end on the next recv
            rss = resident_mb(proc.pid)
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

    def submit(self, message: wire.Message) -> int:
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
        return wire.reply_payload(self._receive(timeout, offset))

    def request(self, message: wire.Message, timeout: float) -> Any:
        """Send a message and return the reply's payload; raise RunFailure or RemoteError."""
        return self.collect(timeout, self.submit(message))

    def ensure_loaded(self, key: str, class_ref: str, device: str) -> dict[str, Any]:
        """Load (construct and prepare) a target in the worker once; returns its environment."""
        if not self.alive:
            self.stop(kill=True)
            self.start()
        self.read_preloads(key)
        if key not in self.loaded:
            self.loaded[key] = self.request(wire.load_message(key, class_ref, device), SETTINGS.load_timeout)
        return self.loaded[key]

    def read_preloads(self, key: str | None = None) -> None:
        """Read the replies of every load sent by :meth:`preload` (replies come in the order the
        messages were sent: any other request must wait for these); a load that failed raises
        RemoteError only if it is ``key``'s."""
        while self.preloading:
            sent, offset = next(iter(self.preloading.items()))
            del self.preloading[sent]
            try:
                self.loaded[sent] = self.collect(SETTINGS.load_timeout, offset)
            except RemoteError:
                if sent == key:
                    raise

    def preload(self, key: str, class_ref: str, device: str) -> None:
        """Start the process and send it a target's load without waiting: the framework imports
        in the background, and :meth:`ensure_loaded` reads the reply when the target is first used."""
        self.send_ahead(key, wire.load_message(key, class_ref, device))

    def send_ahead(self, key: str, message: wire.Message) -> None:
        """Start the process and send ``message`` (a load, an importer's modules) without waiting;
        :meth:`read_preloads` reads its reply, kept as ``key``'s, before any other request's."""
        if not self.alive:
            self.stop(kill=True)
            self.start()
        if key not in self.loaded and key not in self.preloading:
            self.preloading[key] = self.submit(message)


_WORKERS: dict[str, Worker] = {}


def worker_for(framework: str) -> Worker:
    """The (lazily started) worker of a framework."""
    if framework not in _WORKERS:
        _WORKERS[framework] = Worker(framework)
    return _WORKERS[framework]


def registered(name: str) -> Worker | None:
    """The worker registered under ``name``, if any (none is started)."""
    return _WORKERS.get(name)


def adopt(worker: Worker) -> Worker:
    """Register a worker made elsewhere under its name; returns the one registered under it."""
    return _WORKERS.setdefault(worker.framework, worker)


def shutdown_all(kill: bool = False) -> None:
    """Stop every worker (registered at exit), all asked first so that they wind down together;
    with ``kill``, none is waited for (a caller like ``port`` need not wait for a teardown)."""
    workers = list(_WORKERS.values())
    if not kill:
        for worker in workers:
            worker.request_exit()
    interrupted: KeyboardInterrupt | None = None
    for worker in workers:
        try:
            worker.stop(kill=kill or interrupted is not None)
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
