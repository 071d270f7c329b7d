"""The worker process: hosts the targets of one framework and runs cases sent over a socket.

Started by :mod:`harness.workers.worker` as ``python -m harness.workers.server FD PARENT``, with
``FD`` one end of a socket pair, ``PARENT`` the pid of the process that started it, and
stdout/stderr going to the worker's log file. It dies with that process, whatever it is doing
(:func:`die_with_parent`). It imports nothing heavy
itself: each ``load`` message names a target class (``module:Class``) that it constructs and
prepares (which imports the framework). It answers the messages of :mod:`harness.workers.wire`, one
reply each, until ``exit`` or the parent goes away:

- ``load``: construct the target for the device, call its ``ready()``, reply with its environment;
- ``run``: run the case, reply with the output, the target's ``run_info()`` and the seconds taken;
- ``env``: reply with the environment of a loaded target;
- ``invoke``: call another public method of a loaded target (a name starting with ``_`` is refused);
- ``fork``: fork a child that serves a socket of its own with the targets loaded here
  (:mod:`harness.workers.zygote`), reply with its pid; ``status``: reap such a child;
- ``exit``: end the process.

An exception in a target, or a result that does not pickle, comes back as an ``exc`` reply and the
worker lives on; anything that kills the process (a signal, an abort, ``os._exit``) is seen by the
parent as the socket closing.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import socket
import sys
import threading
import time
from typing import Any

from harness.process import recorded_settings, tune_allocator
from harness.workers import wire, zygote


def _environment(target: Any) -> dict[str, Any]:
    """The target's environment, plus this worker process's allocator and thread-wait settings."""
    settings = recorded_settings()
    return {
        **target.environment(),
        "allocator": settings["allocator"],
        "omp_wait_policy": settings["omp_wait_policy"],
    }


#: prctl(2) option: the signal this process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's looks at the parent pid.
WATCH_SECONDS = 0.5
#: The exit status of a worker that found itself orphaned (nobody is left to read it).
ORPHANED = 1


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` (the harness that started it) ends.

    The worker runs in a session of its own, so a kill of the harness's process group misses it,
    and a hanging case never reads the closed socket. On Linux the kernel sends SIGKILL when the
    parent goes (``PR_SET_PDEATHSIG``); that also stops a main thread stuck in C code holding the
    GIL. :func:`watch_parent` covers the parent dying before that was set, and other platforms.
    The kernel's signal follows the parent *thread* that started the worker: workers are started
    from the harness's main thread, which lives as long as the harness.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl here: the watchdog alone
    watch_parent(parent_pid)


def watch_parent(parent_pid: int, interval: float = WATCH_SECONDS) -> None:
    """End this process now if its parent is no longer ``parent_pid``; else start a daemon thread
    that ends it (``os._exit``, without the main thread's help) as soon as the parent changes."""
    if os.getppid() != parent_pid:
        os._exit(ORPHANED)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:  # re-parented: the harness is gone
                os._exit(ORPHANED)

    threading.Thread(target=watch, name="convt-parent-watch", daemon=True).start()


def serve(conn: socket.socket) -> bool:
    """Answer messages until ``exit`` or the parent goes away; True in a child forked on ``fork``
    (which has served its own socket, not ``conn``)."""
    from adapters.registry import resolve
    from harness.model.case import Case

    targets: dict[str, Any] = {}
    threads_at_start = zygote.thread_count()
    forked = False
    while True:
        try:
            message = wire.receive(conn)
        except (EOFError, OSError):
            return forked
        verb = message[0]
        if verb == wire.EXIT:
            return forked
        try:
            if verb == wire.FORK:
                child = zygote.fork_child(conn, threads_at_start, die_with_parent, message[1])
                if isinstance(child, socket.socket):  # in the child: serve the new socket from now on
                    conn, forked = child, True
                    continue
                reply = wire.ok_reply(child)
            elif verb == wire.STATUS:
                reply = wire.ok_reply(zygote.child_status(message[1]))
            elif verb == wire.MODULES:
                reply = wire.ok_reply(zygote.imported_modules({t.requires for t in targets.values()}))
            elif verb == wire.IMPORT:
                imported = zygote.import_thread_free(list(message[1]), threads_at_start)
                started = zygote.thread_count() - threads_at_start
                reply = wire.ok_reply({"imported": len(imported), zygote.THREADS_STARTED: started})
            elif verb == wire.LOAD:
                _, key, class_ref, device = message
                target = resolve(class_ref)(device)
                target.ready()
                targets[key] = target
                # counted at the load, before any case: threads a case starts are not the import's
                started = zygote.thread_count() - threads_at_start
                reply = wire.ok_reply({**_environment(target), zygote.THREADS_STARTED: started})
            elif verb == wire.RUN:
                _, key, case_dict, arrays = message
                target = targets[key]
                began = time.perf_counter()
                output = target.run(Case.from_dict(case_dict), arrays)
                reply = wire.ok_reply((output, target.run_info(), time.perf_counter() - began))
            elif verb == wire.ENV:
                reply = wire.ok_reply(_environment(targets[message[1]]))
            elif verb == wire.INVOKE:
                _, key, method, args, kwargs = message
                if method.startswith("_"):
                    raise AttributeError(f"{method!r} is not a public method")
                reply = wire.ok_reply(getattr(targets[key], method)(*args, **kwargs))
            else:
                reply = wire.error_reply("ProtocolError", f"unknown message {verb!r}")
        except Exception as exc:  # the framework's failure is the result; the worker lives on
            reply = wire.exception_reply(exc)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            wire.send(conn, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an unpicklable result
            wire.send(conn, wire.exception_reply(exc))


def main(argv: list[str]) -> int:
    """Entry point: ``python -m harness.workers.server FD PARENT``."""
    if len(argv) > 2:
        die_with_parent(int(argv[2]))
    conn = socket.socket(fileno=int(argv[1]))
    tune_allocator()
    forked = False
    try:
        forked = serve(conn)
    finally:
        conn.close()
    if forked:  # what the worker registered to run at exit is the worker's, not this child's
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
