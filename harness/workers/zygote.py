"""The worker's side of forking: a worker that has loaded its targets and run no case forks a child
per fresh judgement, so that a fresh process costs a fork instead of a framework import.

The main process sends ``fork`` and then one byte carrying a new socket's end
(:mod:`harness.workers.wire`). :func:`fork_child` takes that socket, and forks only while no thread
has appeared in this process since it started serving: a thread that a framework started (an
OpenMP pool, a runtime's scheduler) may hold a lock at the moment of the fork, and the child would
wait on it for ever. Such a framework is refused with :class:`~harness.errors.NotForkable`, and the
main process starts fresh processes the slow way instead. The threads present when serving began
are the parent watchdog, which only sleeps, and the BLAS pool of NumPy, whose library stops its
threads around a fork itself.

The child puts itself in a process group of its own (the main process kills that group, as it kills
a spawned worker's session), dies with the worker it was forked from, and serves its socket; it
ends with ``os._exit``, so that nothing the worker registered to run at exit (a framework's
clean-up of files the worker still uses) runs twice. :func:`child_status` reaps a child and gives
its exit status.
"""

from __future__ import annotations

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


def fork_child(
    conn: socket.socket, threads_at_start: int, watch: Callable[[int], None]
) -> socket.socket | int:
    """Receive the child's socket from ``conn`` and fork. In the worker, returns the child's pid; in
    the child, returns the socket it is to serve (``watch(parent_pid)`` already called).

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
        watch(worker_pid)
        return socket.socket(fileno=fd)
    except BaseException:
        os._exit(1)


def child_status(pid: int) -> int:
    """Wait for the forked child ``pid`` and return its exit status as :class:`subprocess.Popen`
    gives it (negative: the number of the signal that ended it)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
