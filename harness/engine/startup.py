"""The targets of a run, loaded where their cases run: every worker started at once.

Importing a framework takes seconds (PaddlePaddle and MindSpore several). :func:`ready_targets`
first sends every target's load to its framework's worker without waiting, so the frameworks import
side by side, then waits for each target in the order given: the run's start costs the slowest
import instead of the sum of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from adapters.protocol import Handle, handle
from adapters.registry import resolve
from harness.errors import TargetUnavailable
from harness.workers.client import WorkerRunner, isolated


def _constructed(name: str, device: str, *, isolate: bool) -> Handle | str:
    """The target with its runner (not yet loaded), or why it cannot run here: its framework is
    missing or it has no such device."""
    cls = resolve(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        return reason
    api = cls(device)
    if device.split(":")[0] not in api.capabilities().devices:
        return f"{name} does not run on device {device!r}"
    return isolated(api) if isolate else handle(api)


def _loaded(target: Handle) -> Handle | str:
    """``target`` once its ``prepare()`` has run where its cases run, or the reason of the
    :class:`TargetUnavailable` it raised (a missing device or provider). A load that fails some
    other way still gives the target: the cases' results (error, crash) record that failure."""
    try:
        target.runner.ready()
    except TargetUnavailable as exc:
        return str(exc)
    except Exception:  # the cases that run into it record it, as their results
        pass
    return target


def ready_targets(names: Iterable[str], device: str, *, isolate: bool) -> dict[str, Handle | str]:
    """Each named target, loaded, or why it cannot run here, in the order of ``names``.

    Every isolated target's load is sent to its worker before any is waited for (several targets of
    one framework share its worker, which loads them in the order sent).
    """
    constructed = {name: _constructed(name, device, isolate=isolate) for name in names}
    for target in constructed.values():
        if isinstance(target, Handle) and isinstance(target.runner, WorkerRunner):
            target.runner.preload()
    return {
        name: target if isinstance(target, str) else _loaded(target) for name, target in constructed.items()
    }
