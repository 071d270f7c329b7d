"""The worker's side of forking: a worker that has loaded its targets and run no case forks a child
per fresh judgement, so that a fresh process costs a fork instead of a framework import.

The main process sends ``fork`` and then one byte carrying a new socket's end
(:mod:`harness.workers.wire`). :func:`fork_child` takes that socket, and forks only while no thread
has appeared in this process since it started serving: a thread that a framework started (an
OpenMP pool, a runtime's scheduler) may hold a lock at the moment of the fork, and the child would
wait on it for ever. Such a framework is refused with :class:`~harness.errors.NotForkable`; its
fresh processes are forked instead from an *importer*, a worker that has imported only the modules
the framework's worker has (:func:`imported_modules`) whose packages start no thread
(:func:`import_thread_free`), and each imports the framework itself. The threads present when
serving began are the parent watchdog, which only sleeps, and the BLAS pool of NumPy, whose library
stops its threads around a fork itself.

The child puts itself in a process group of its own (the main process kills that group, as it kills
a spawned worker's session), dies with the worker it was forked from, and serves its socket; it
ends with ``os._exit``, so that nothing the worker registered to run at exit (a framework's
clean-up of files the worker still uses) runs twice. :func:`child_status` reaps a child and gives
its exit status.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import warnings
from collections.abc import Callable

from harness.errors import NotForkable

#: The environment's key for the threads a worker had when a target was loaded beyond those it
#: began serving with: more than 0, and a zygote of that framework would refuse to fork.
THREADS_STARTED = "worker_threads_started"


def thread_count() -> int:
    """The threads of this process as the kernel counts them (0 where it cannot be read)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def imported_modules(frameworks: set[str]) -> list[str]:
    """The modules this process has imported, in the order their imports began, but those of the
    packages named in ``frameworks`` (whose import may start threads)."""
    tops = {name.partition(".")[0] for name in frameworks} | {"__main__", "__mp_main__"}
    return [name for name in list(sys.modules) if name.partition(".")[0] not in tops]


def _import(name: str) -> None:
    """Import a module if it imports here; one that fails (it needs what a framework sets up first,
    or it belongs to another platform) is left to the framework's own import."""
    if name in sys.modules:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(name)
    except Exception:  # see the docstring
        sys.modules.pop(name, None)


def _first_threaded(names: list[str], threads_at_start: int) -> str:
    """In a forked probe: the first of ``names`` after whose import this process has more threads
    than ``threads_at_start`` ("" if none); the probe imports them in order and ends."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the probe: imports, reports, ends without running any exit handler
        os.close(read_end)
        found = ""
        for name in names:
            _import(name)
            if thread_count() > threads_at_start:
                found = name
                break
        os.write(write_end, found.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        found = pipe.read().decode()
    os.waitpid(pid, 0)
    return found


def import_thread_free(names: list[str], threads_at_start: int, rounds: int = 4) -> list[str]:
    """Import the modules of ``names`` whose packages start no thread on import, and return them.

    A forked probe imports them first; a package after one of whose modules a thread appeared
    (SciPy's BLAS starts its pool) is left out, and a new probe tries the rest, at most ``rounds``
    times (then nothing is imported). This process itself stays without threads, and forkable."""
    skipped: set[str] = set()
    for _ in range(rounds):
        wanted = [name for name in names if name.partition(".")[0] not in skipped]
        threaded = _first_threaded(wanted, threads_at_start)
        if not threaded:
            for name in wanted:
                _import(name)
            return wanted
        skipped.add(threaded.partition(".")[0])
    return []


def fork_child(
    conn: socket.socket, threads_at_start: int, watch: Callable[[int], None], log: str | None = None
) -> socket.socket | int:
    """Receive the child's socket from ``conn`` and fork. In the worker, returns the child's pid; in
    the child, returns the socket it is to serve (``watch(parent_pid)`` already called), with its
    output appended to the file ``log`` (two children alive at once must not share one log: a
    crash's message quotes the log's last lines).

    Raises NotForkable (after taking the socket, so that the stream stays in step) off Linux or
    when the process has more threads than the ``threads_at_start`` it had when serving began.
    """
    _, fds, _, _ = socket.recv_fds(conn, 1, 1)
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise NotForkable("the fork message came without its socket")
    fd = fds[0]
    threads = thread_count()
    if not sys.platform.startswith("linux") or threads == 0:
        os.close(fd)
        raise NotForkable(f"fresh processes are forked on Linux only, not on {sys.platform}")
    if threads > threads_at_start:
        os.close(fd)
        raise NotForkable(
            f"the framework started {threads - threads_at_start} thread(s) in this worker; "
            "a forked child would inherit the locks they hold"
        )
    sys.stdout.flush()
    sys.stderr.flush()
    worker_pid = os.getpid()
    with warnings.catch_warnings():
        # Python warns of any second thread; the ones left are harmless here (module docstring).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        os.close(fd)
        return pid
    try:
        conn.close()
        os.setpgid(0, 0)
        if log is not None:
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
        watch(worker_pid)
        return socket.socket(fileno=fd)
    except BaseException:
        os._exit(1)


def child_status(pid: int) -> int:
    """Wait for the forked child ``pid`` and return its exit status as :class:`subprocess.Popen`
    gives it (negative: the number of the signal that ended it)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
