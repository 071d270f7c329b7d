"""The live progress display of a run: one row per (target, spec) with its cases done out of its
total, the findings so far, the rate and the time left, drawn with ``rich`` on stderr.

Nothing is drawn with ``--quiet``, or when stdout or stderr is not a terminal (a CI log, a pipe, a
file): the display redraws itself in place, which only a terminal can show.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars
from rich.text import Text

from harness.terminal import printable


class RateColumn(ProgressColumn):
    """Cases per second, as rich estimates it over the task's recent updates."""

    def render(self, task: Task) -> Text:
        """``12.3 cases/s``, or ``… cases/s`` before there is an estimate."""
        speed = task.finished_speed or task.speed
        return Text("… cases/s" if speed is None else f"{speed:.1f} cases/s")


def on_terminals(*streams: TextIO) -> bool:
    """True when every stream is a terminal (default: stdout and stderr)."""
    for stream in streams or (sys.stdout, sys.stderr):
        isatty = getattr(stream, "isatty", None)
        if isatty is None or not isatty():
            return False
    return True


class Progress:
    """The run's progress rows; does nothing unless ``enabled`` and on terminals (or given a
    ``console``, which tests use to draw into a buffer)."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled and (console is not None or on_terminals())
        self.console = console if console is not None else Console(stderr=True)
        self._bars: Bars | None = None
        self._tasks: dict[str, TaskID] = {}

    def _started(self) -> Bars:
        if self._bars is None:
            self._bars = Bars(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("cases · {task.fields[findings]} finding(s) ·", markup=False),
                RateColumn(),
                TextColumn("· ETA", markup=False),
                TimeRemainingColumn(),
                console=self.console,
                refresh_per_second=4,
            )
            self._bars.start()
        return self._bars

    def start(self, label: str, total: int) -> None:
        """Add the row of a (target, spec) whose exploration judges at most ``total`` cases."""
        if not self.enabled:
            return
        bars = self._started()
        self._tasks[label] = bars.add_task(printable(label), total=max(total, 1), findings=0)

    def update(self, label: str, done: int, findings: int) -> None:
        """``done`` cases of the (target, spec) ``label`` judged, ``findings`` found in it so far."""
        if not self.enabled:
            return
        if label not in self._tasks:
            self.start(label, done)
        bars = self._started()
        task = self._tasks[label]
        total = bars.tasks[bars.task_ids.index(task)].total or 0
        bars.update(task, completed=done, total=max(total, done), findings=findings)

    def finish(self, label: str) -> None:
        """End a row: its exploration judged what it judged (Hypothesis may stop short of the total
        when the spec's space runs out)."""
        if not self.enabled or label not in self._tasks:
            return
        bars = self._started()
        task = self._tasks[label]
        done = bars.tasks[bars.task_ids.index(task)].completed
        bars.update(task, total=done, completed=done)
        bars.stop_task(task)

    def done(self) -> None:
        """Stop drawing (the rows stay on the terminal as they last were)."""
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
