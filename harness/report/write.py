"""Writing a report's files into a folder.

``write_report(run_dirs, baseline)`` reads one or more run folders and writes, into the first:

- ``report.html`` — one self-contained page (:mod:`harness.report.html`);
- ``summary.json`` — counts, findings and the baseline comparison for CI systems
  (:mod:`harness.report.summary`);
- ``junit.xml`` — a testcase per (case, target) and per finding (:mod:`harness.report.junit`).

Each file is replaced whole (:mod:`harness.files`): a failed write leaves the previous one.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.files import replace_atomically, write_text_atomic
from harness.report.html import render_html
from harness.report.junit import junit
from harness.report.model import Report, load_report
from harness.report.summary import summary


def write_report(run_dirs: list[Path], baseline: Path | None = None) -> Path:
    """Write ``report.html``, ``summary.json`` and ``junit.xml`` into ``run_dirs[0]``; returns the html."""
    return save_report(load_report(run_dirs, baseline), Path(run_dirs[0]))


def save_report(report: Report, out: Path) -> Path:
    """Write an already loaded report's three files into ``out``; returns the html path."""
    write_text_atomic(out / "summary.json", json.dumps(summary(report), indent=2, allow_nan=False) + "\n")
    tree = junit(report)
    replace_atomically(
        out / "junit.xml", lambda handle: tree.write(handle, encoding="utf-8", xml_declaration=True)
    )
    return write_text_atomic(out / "report.html", render_html(report))
