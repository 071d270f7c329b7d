"""Fresh worker processes forked from a *zygote*: a framework's worker that has imported the
framework and loaded the target but runs no case (the worker's side: :mod:`harness.workers.zygote`).

A :class:`ForkedWorker` is a :class:`~harness.workers.worker.Worker` whose process is forked by the
zygote instead of started from scratch: it starts in milliseconds with the target loaded, where a
new process waits seconds for the framework's import. The main process owns it as it owns any
worker: it talks to it over its own socket, watches its memory, and kills its process group on a
timeout; :class:`ForkedProcess` asks the zygote, its parent, for its exit status. A zygote that
cannot fork (:class:`~harness.errors.NotForkable`) makes :meth:`ForkedWorker.fork` raise, and its
:meth:`~ForkedWorker.start` fall back to starting a process from scratch.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from harness.errors import NotForkable, RemoteError, RunFailure
from harness.workers import wire
from harness.workers.worker import SETTINGS, Worker

#: Seconds the zygote may take to report a child's exit status.
STATUS_TIMEOUT = 10.0
POLL_SECONDS = 0.005


def _running(pid: int) -> bool:
    """True while ``pid`` runs (False once it has exited, reaped or not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X", "x")


class ForkedProcess:
    """A child of the zygote, with the part of :class:`subprocess.Popen`'s interface that a
    :class:`~harness.workers.worker.Worker` uses."""

    def __init__(self, pid: int, zygote: Worker) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._zygote = zygote

    def poll(self) -> int | None:
        """The exit status once the child has ended (the zygote reaps it), else None."""
        if self.returncode is None and not _running(self.pid):
            self.returncode = self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; :class:`subprocess.TimeoutExpired` past ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"forked worker {self.pid}", timeout or 0.0)
            time.sleep(POLL_SECONDS)
        return code

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _reap(self) -> int:
        # A zygote that is gone took its children with it (they die with their parent).
        if self._zygote.alive:
            try:
                self._zygote.read_preloads()  # a load sent for another target answers first
                return int(self._zygote.request(wire.status_message(self.pid), STATUS_TIMEOUT))
            except (RemoteError, RunFailure):
                pass
        return -int(signal.SIGKILL)


class ForkedWorker(Worker):
    """A worker whose process is forked from ``zygote``: with ``target`` loaded there, or, without
    one, from a zygote that has only imported modules (the child then loads what it is sent)."""

    def __init__(self, name: str, zygote: Worker, target: tuple[str, str, str] | None) -> None:
        super().__init__(name)
        self.zygote = zygote
        self.target = target  # (key, class reference, device) that the zygote loads
        self.forks = 0
        #: Why the zygote could not fork (then :meth:`start` starts processes from scratch).
        self.refused: str | None = None

    def start(self) -> None:
        """Fork a process from the zygote; where it cannot fork, start one from scratch."""
        if self.refused is None:
            try:
                self.fork()
                return
            except NotForkable:
                pass
        super().start()

    def fork(self) -> None:
        """Fork a process from the zygote (loading the target there first if it is not):
        NotForkable when the zygote refuses."""
        if self.target is None:  # an importer: its modules imported first, or processes from scratch
            try:
                self.zygote.read_preloads()
            except (RunFailure, RemoteError) as exc:
                self.refused = f"the importer failed: {exc}"
            if self.refused is None and not self.zygote.alive:
                self.refused = "the importer is gone"
            if self.refused is not None:
                raise NotForkable(self.refused)
        else:
            self.zygote.ensure_loaded(*self.target)
        ours, theirs = socket.socketpair()
        log = self._log_file()
        with log.open("ab") as out:
            out.write(f"--- forked start #{self.starts + 1} for {self.framework}\n".encode())
        try:
            offset = self.zygote.submit(wire.fork_message(str(log)))
            assert self.zygote.sock is not None
            socket.send_fds(self.zygote.sock, [b"F"], [theirs.fileno()])
            pid = int(self.zygote.collect(SETTINGS.load_timeout, offset))
        except RemoteError as exc:
            ours.close()
            if exc.type_name == NotForkable.__name__:
                self.refused = exc.message
                raise NotForkable(exc.message) from None
            raise
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.forks += 1
        self.starts += 1
        self.proc = ForkedProcess(pid, self.zygote)
        self.sock = ours
        self.log_path = log
        self.loaded = dict(self.zygote.loaded)
        self.exit_sent = False
        self.history = []
        self.preloading = {}
