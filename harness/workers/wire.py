"""What the main process and a framework's worker say to each other: the framing and the vocabulary.

Both directions carry pickled tuples, each preceded by its length (8 bytes, little endian). The
main process (:mod:`harness.workers.worker`, :mod:`harness.workers.client`) sends a message and the
worker (:mod:`harness.workers.server`) answers each one but ``exit`` with one reply:

- ``("load", key, class_ref, device)`` → ``("ok", environment)``
- ``("run", key, case_dict, arrays)`` → ``("ok", (output, run_info, seconds))``
- ``("env", key)`` → ``("ok", environment)``
- ``("invoke", key, method, args, kwargs)`` → ``("ok", result)``: any other public method of the
  target (audits use it to send raw, possibly invalid, parameters to the framework)
- ``("fork", log)`` followed by one byte that carries a socket (``SCM_RIGHTS``) → ``("ok", pid)``:
  the worker forks a child that serves that socket, its output appended to the file ``log``, with
  every target already loaded and nothing run
  (:mod:`harness.workers.zygote`); ``("exc", "NotForkable", why)`` when a fork would copy threads
- ``("status", pid)`` → ``("ok", returncode)``: wait for a forked child and give its exit status
  (negative: the signal that ended it), as :class:`subprocess.Popen` gives it
- ``("modules",)`` → ``("ok", names)``: the modules this worker has imported, in the order it
  imported them, but those of its loaded targets' frameworks
- ``("import", names)`` → ``("ok", {"imported": n, "worker_threads_started": t})``: import those
  modules whose packages start no thread (:func:`harness.workers.zygote.import_thread_free`)
- ``("exit",)`` → no reply: the process ends

An exception in a target comes back as ``("exc", type_name, text)``; anything that kills the process
(a signal, an abort, ``os._exit``) is seen by the main process as the socket closing.
"""

from __future__ import annotations

import pickle
import socket
import traceback
from typing import Any

from harness.errors import RemoteError

LOAD = "load"
RUN = "run"
ENV = "env"
INVOKE = "invoke"
EXIT = "exit"
FORK = "fork"
STATUS = "status"
MODULES = "modules"
IMPORT = "import"

OK = "ok"
EXC = "exc"

#: The length that precedes every pickled message.
HEADER_BYTES = 8

Message = tuple[Any, ...]

EXIT_MESSAGE: Message = (EXIT,)
MODULES_MESSAGE: Message = (MODULES,)


def load_message(key: str, class_ref: str, device: str) -> Message:
    """Construct the target class ``class_ref`` for ``device``, prepare it, and keep it as ``key``."""
    return (LOAD, key, class_ref, device)


def run_message(key: str, case_dict: dict[str, Any], arrays: Any) -> Message:
    """Run one case (as :meth:`~harness.model.case.Case.to_dict` gives it) on the target ``key``."""
    return (RUN, key, case_dict, arrays)


def invoke_message(key: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Message:
    """Call another public method of the target ``key``."""
    return (INVOKE, key, method, args, kwargs)


def fork_message(log: str) -> Message:
    """Fork a child (its socket follows this message) whose output goes to the file ``log``."""
    return (FORK, log)


def import_message(modules: list[str]) -> Message:
    """Import these modules (a worker that will fork processes which then load a target)."""
    return (IMPORT, tuple(modules))


def status_message(pid: int) -> Message:
    """Wait for the forked child ``pid`` and reply with its exit status."""
    return (STATUS, pid)


def ok_reply(payload: Any) -> Message:
    """The reply that carries a result."""
    return (OK, payload)


def error_reply(type_name: str, text: str) -> Message:
    """The reply that carries an exception by its type name and text."""
    return (EXC, type_name, text)


def exception_reply(exc: BaseException) -> Message:
    """The reply for an exception raised in the worker."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return error_reply(type(exc).__name__, text)


def reply_payload(reply: Message) -> Any:
    """The result a reply carries; :class:`~harness.errors.RemoteError` for an exception reply."""
    if reply[0] == OK:
        return reply[1]
    raise RemoteError(reply[1], reply[2])


def payload_size(header: bytes | bytearray) -> int:
    """The length of the payload that follows a header."""
    return int.from_bytes(header, "little")


def decode(payload: bytes | bytearray) -> Any:
    """The message a payload holds."""
    return pickle.loads(payload)


def send(sock: socket.socket, message: Any) -> None:
    """Send one length-prefixed pickled message (a message that does not pickle sends nothing)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(len(data).to_bytes(HEADER_BYTES, "little") + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the socket")
        buf += chunk
    return bytes(buf)


def receive(sock: socket.socket) -> Any:
    """One length-prefixed pickled message, waiting as long as it takes (EOFError when closed)."""
    size = payload_size(_recv_exact(sock, HEADER_BYTES))
    return decode(_recv_exact(sock, size))
