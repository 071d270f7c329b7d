"""The worker process: hosts the targets of one framework and runs cases sent over a socket.

Started by :mod:`harness.workers.client` as ``python -m harness.workers.server FD``, with ``FD`` one end of a
socket pair and stdout/stderr going to the worker's log file. It imports nothing heavy itself: each
``load`` message names a target class (``module:Class``) that it constructs and prepares (which
imports the framework). Messages are pickled tuples, each preceded by its length (8 bytes, little
endian):

- ``("load", key, class_ref, device)`` → ``("ok", environment)``
- ``("run", key, case_dict, arrays)`` → ``("ok", (output, run_info, seconds))``
- ``("env", key)`` → ``("ok", environment)``
- ``("invoke", key, method, args, kwargs)`` → ``("ok", result)``: any other public method of the
  target (audits use it to send raw, possibly invalid, parameters to the framework)
- ``("exit",)`` → the process ends

An exception in a target comes back as ``("exc", type_name, text)``; anything that kills the process
(a signal, an abort, ``os._exit``) is seen by the parent as the socket closing.
"""

from __future__ import annotations

import pickle
import socket
import sys
import time
import traceback
from typing import Any

from harness.process import recorded_settings, tune_allocator


def _environment(target: Any) -> dict[str, Any]:
    """The target's environment, plus this worker process's allocator and thread-wait settings."""
    settings = recorded_settings()
    return {
        **target.environment(),
        "allocator": settings["allocator"],
        "omp_wait_policy": settings["omp_wait_policy"],
    }


def _exception_reply(exc: BaseException) -> tuple[str, str, str]:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return ("exc", type(exc).__name__, text)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("parent closed the socket")
        buf += chunk
    return bytes(buf)


def receive(sock: socket.socket) -> Any:
    """One length-prefixed pickled message."""
    size = int.from_bytes(_recv_exact(sock, 8), "little")
    return pickle.loads(_recv_exact(sock, size))


def send(sock: socket.socket, message: Any) -> None:
    """Send one length-prefixed pickled message."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(len(data).to_bytes(8, "little") + data)


def serve(conn: socket.socket) -> None:
    """Answer messages until ``exit`` or the parent goes away."""
    from adapters.registry import resolve
    from harness.model.case import Case

    targets: dict[str, Any] = {}
    while True:
        try:
            message = receive(conn)
        except (EOFError, OSError):
            return
        verb = message[0]
        if verb == "exit":
            return
        try:
            if verb == "load":
                _, key, class_ref, device = message
                target = resolve(class_ref)(device)
                target.ready()
                targets[key] = target
                reply: tuple[Any, ...] = ("ok", _environment(target))
            elif verb == "run":
                _, key, case_dict, arrays = message
                target = targets[key]
                began = time.perf_counter()
                output = target.run(Case.from_dict(case_dict), arrays)
                reply = ("ok", (output, target.run_info(), time.perf_counter() - began))
            elif verb == "env":
                reply = ("ok", _environment(targets[message[1]]))
            elif verb == "invoke":
                _, key, method, args, kwargs = message
                if method.startswith("_"):
                    raise AttributeError(f"{method!r} is not a public method")
                reply = ("ok", getattr(targets[key], method)(*args, **kwargs))
            else:
                reply = ("exc", "ProtocolError", f"unknown message {verb!r}")
        except Exception as exc:  # the framework's failure is the result; the worker lives on
            reply = _exception_reply(exc)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            send(conn, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an unpicklable result
            send(conn, _exception_reply(exc))


def main(argv: list[str]) -> int:
    """Entry point: ``python -m harness.workers.server FD``."""
    conn = socket.socket(fileno=int(argv[1]))
    tune_allocator()
    try:
        serve(conn)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
