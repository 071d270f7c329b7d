"""The live progress display of a run."""

from __future__ import annotations

import sys
import time

from harness.terminal import printable


class Progress:
    """A one-line progress display on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, label: str, done: int, findings: int) -> None:
        """Show progress for the current (target, spec)."""
        if not self.enabled:
            return
        now = time.monotonic()
        label = printable(label)
        if self.tty:
            sys.stderr.write(f"\r{label}: {done} cases, {findings} findings   ")
            sys.stderr.flush()
        elif now - self.last > 5:
            sys.stderr.write(f"{label}: {done} cases, {findings} findings\n")
            self.last = now

    def done(self) -> None:
        """End the progress line."""
        if self.enabled and self.tty:
            sys.stderr.write("\n")
