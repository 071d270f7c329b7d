"""Writing a report's files into a folder.

``write_report(run_dirs, baseline)`` reads one or more run folders and writes, into the first:

- ``report.html`` — one self-contained page (:mod:`harness.report.html`);
- ``summary.json`` — counts, findings and the baseline comparison for CI systems
  (:mod:`harness.report.summary`);
- ``junit.xml`` — a testcase per (case, target) and per finding (:mod:`harness.report.junit`).

All three are rendered before any is written, and each is then replaced whole (:mod:`harness.files`):
a report that fails to render leaves the previous files, never a new summary beside an old page.
"""

from __future__ import annotations

import io
import json
from functools import partial
from pathlib import Path
from typing import BinaryIO

from harness.files import replace_atomically
from harness.report.html import render_html
from harness.report.junit import junit
from harness.report.model import Report, load_report
from harness.report.summary import summary


def write_report(run_dirs: list[Path], baseline: Path | None = None) -> Path:
    """Write ``report.html``, ``summary.json`` and ``junit.xml`` into ``run_dirs[0]``; returns the html."""
    return save_report(load_report(run_dirs, baseline), Path(run_dirs[0]))


def save_report(report: Report, out: Path) -> Path:
    """Render an already loaded report's three files, then write them into ``out``; returns the html path."""
    xml = io.BytesIO()
    junit(report).write(xml, encoding="utf-8", xml_declaration=True)
    # encoded here too: text that cannot be written fails before any file is replaced
    files = {
        "summary.json": (json.dumps(summary(report), indent=2, allow_nan=False) + "\n").encode("utf-8"),
        "junit.xml": xml.getvalue(),
        "report.html": render_html(report).encode("utf-8"),
    }
    for name, data in files.items():
        replace_atomically(out / name, partial(_write, data))
    return out / "report.html"


def _write(data: bytes, handle: BinaryIO) -> None:
    handle.write(data)
