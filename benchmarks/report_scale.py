"""The report at scale: a synthetic run folder with many findings, its ``report.html``, and what
headless Chromium makes of it at 1400 px.

The run folder is fake but well formed: every record passes :func:`harness.engine.records.record_problem`,
and each finding has a folder with ``snippet.py`` and, for a value mismatch, ``arrays.npz``, so the
page carries its pictures. The findings are spread over ``--targets`` targets and the three ranks,
in threes that share their mechanism (outcome, detail, features but rank) on other targets and
ranks, so the page has about a third as many groups as findings. One value mechanism in four is a
nan/inf pattern.

Figures printed (from Chromium through selenium and chromedriver, Debian's ``/usr/bin/chromium``):

- the file size, and the time ``report`` took to write it;
- ``load``: navigation start to the end of the load event (Navigation Timing), median of
  ``--repeats`` fresh loads, and the script's own time (``performance.measure`` around it);
- the page's height and width at a 1400 px window, and the matrix's own width (the page must not
  be wider than the window: the matrix scrolls inside its box);
- groups shown on the first page, the pager's text, and whether the next page shows the next groups;
- the time to re-sort by error ratio and by failing cases, and whether the shown groups are then in
  that order.

Usage::

    python -m benchmarks.report_scale --findings 1000 --targets 12 [--out DIR] [--shots DIR]
"""

from __future__ import annotations

import harness  # noqa: F401 - applies the process settings (harness.process) before NumPy loads

# isort: split
import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.model.case import Case
from harness.model.features import signature_features
from harness.model.outcomes import Outcome
from harness.report.write import write_report

#: The mechanisms cycle through these (outcome, detail) pairs; value mismatches are the most common.
KINDS = (
    (Outcome.VALUE_MISMATCH, "beyond_bound"),
    (Outcome.VALUE_MISMATCH, "beyond_bound"),
    (Outcome.SHAPE_MISMATCH, "shape"),
    (Outcome.VALUE_MISMATCH, "nonfinite_pattern"),
    (Outcome.ERROR, "RuntimeError"),
    (Outcome.CRASH, "signal_11"),
    (Outcome.TIMEOUT, "timeout"),
    (Outcome.VALUE_MISMATCH, "beyond_bound"),
    (Outcome.DOC_MISMATCH, "output_size"),
)
#: Geometry knobs a mechanism turns on (its features), by mechanism number's bits.
KNOBS: tuple[dict[str, Any], ...] = (
    {"stride": 2},
    {"dilation": 2},
    {"groups": 2, "in_channels": 2, "out_channels": 2},
    {"bias": False},
    {"dtype": "float16"},
    {"layout": "channels_last"},
    {"pads_begin": 1, "pads_end": 0},
    {"batch": 2},
)


def _case(mechanism: int, rank: int) -> Case:
    settings: dict[str, Any] = {"input_size": (4,) * rank, "kernel_size": 3}
    for bit, knob in enumerate(KNOBS):
        if mechanism >> bit & 1:
            settings.update(knob)
    return Case.make(**settings)


def _arrays(folder: Path, case: Case, index: int, nonfinite: bool) -> dict[str, Any]:
    """Write the finding's ``arrays.npz`` (output planes with an error pattern); its statistics."""
    rng = np.random.default_rng(index)
    shape = (case.batch, case.out_channels, *case.output_size)
    reference = rng.normal(size=shape)
    bound = np.full(shape, 1e-5)
    actual = reference + rng.normal(scale=2e-6, size=shape)
    actual.reshape(-1)[:: 3 + index % 5] += 1e-3 * (1 + index % 7)
    if nonfinite:
        actual.reshape(-1)[:: 4 + index % 3] = np.nan
    np.savez(folder / "arrays.npz", actual=actual, reference=reference, bound=bound)
    finite = np.isfinite(actual)
    err = np.abs(np.where(finite, actual, reference) - reference)
    return {
        "max_abs_error": float(err.max()),
        "max_rel_error": float((err / np.abs(reference)).max()),
        "max_ulp_error": float(err.max() / 1.2e-7),
        "error_ratio": float((err / bound).max()),
        "mismatched": int(((err > bound) | ~finite).sum()),
        "nonfinite_mismatches": int((~finite).sum()),
        "compared": int(actual.size),
        "worst_index": [0] * len(shape),
    }


def _record(target: str, case: Case, spec: str, outcome: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": "scale",
        "spec": spec,
        "target": target,
        "framework": target.split(".")[0],
        "framework_version": "1.0",
        "device": "cpu",
        "outcome": str(outcome),
        "detail": detail,
        "case": case.to_dict(),
        "features": sorted(signature_features(case)),
        "minimal": False,
        **extra,
    }


def fake_run(
    folder: Path, findings: int = 1000, targets: int = 12, *, per_group: int = 3, arrays: bool = True
) -> Path:
    """Write a run folder with ``findings`` findings over ``targets`` targets (module docstring),
    ``per_group`` of them (at most 3, one per rank) of each mechanism; ``arrays=False`` leaves
    out the value findings' ``arrays.npz`` (no pictures: a smaller, faster page)."""
    names = [f"fw{t:02d}.conv_transpose" for t in range(targets)]
    folder.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = []
    for i in range(findings):
        mechanism, member = divmod(i, per_group)
        rank = 1 + member % 3
        target = names[(mechanism * 5 + member * 7) % targets]
        outcome, detail = KINDS[mechanism % len(KINDS)]
        case = _case(mechanism, rank)
        # a spec per mechanism: in one spec a finding whose features hold another's of the same
        # kind is retired (harness.engine.findings.retired), and the knobs' feature sets nest
        spec = f"synthetic{mechanism:04d}_{rank}d"
        rel = f"findings/{i:05d}-{target}-{outcome}"
        (folder / rel).mkdir(parents=True)
        (folder / rel / "snippet.py").write_text(f"# finding {i}\nimport numpy as np\n", encoding="utf-8")
        extra: dict[str, Any] = {"message": f"finding {i}: {outcome} ({detail}) on {target}"}
        if outcome == Outcome.VALUE_MISMATCH:
            extra["stats"] = _arrays(folder / rel, case, i, detail == "nonfinite_pattern")
            if not arrays:
                (folder / rel / "arrays.npz").unlink()
            if detail == "nonfinite_pattern":
                n = extra["stats"]["nonfinite_mismatches"]
                extra["message"] = (
                    f"{n} element(s) differ in nan/inf pattern; first at [0, 0, 0]: got nan, expected 0.5"
                )
        elif outcome in (Outcome.SHAPE_MISMATCH, Outcome.DOC_MISMATCH):
            extra["expected_shape"] = [case.batch, case.out_channels, *case.output_size]
            extra["actual_shape"] = [case.batch, case.out_channels, *(n + 1 for n in case.output_size)]
        if outcome == Outcome.DOC_MISMATCH:
            extra["stats"] = {"source": "https://example.org/docs/conv_transpose.html (section Shape)."}
        failing = [
            _record(target, case.replace(seed=s), spec, outcome, detail, **extra) for s in range(1 + i % 4)
        ]
        passing = _record(target, case.replace(seed=99), spec, Outcome.PASS, "")
        signature = "|".join([target, str(outcome), detail, ",".join(sorted(signature_features(case)))])
        minimal = dict(
            failing[0],
            minimal=True,
            signature=signature,
            finding_dir=rel,
            repro=f"python -m harness repro {i}",
        )
        lines += [*failing, passing, minimal]
    run = {
        "run_id": "scale",
        "profile": "synthetic",
        "device": "cpu",
        "specs": ["synthetic.yaml"],
        "targets": {},
    }
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    with (folder / "results.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(line) + "\n" for line in lines)
    return folder


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--hide-scrollbars",
    "--window-size=1400,1000",
)
#: The groups the page shows (a helper the scripts below start with).
SHOWN = """
const shownGroups = () => [...document.querySelectorAll('#finding-list > details.group')]
  .filter(g => g.style.display !== 'none');
"""
#: What the page reports about itself once loaded (run in the page).
PAGE_FIGURES = (
    SHOWN
    + """
const nav = performance.getEntriesByType('navigation')[0];
const script = performance.getEntriesByName('report-script')[0];
const matrix = document.getElementById('matrix-box');
return {
  load_ms: nav.loadEventEnd - nav.startTime,
  dom_ms: nav.domContentLoadedEventEnd - nav.startTime,
  script_ms: script ? script.duration : -1,
  height: document.documentElement.scrollHeight,
  width: document.documentElement.scrollWidth,
  window: document.documentElement.clientWidth,
  matrix_box: matrix ? matrix.clientWidth : 0,
  matrix: matrix ? matrix.scrollWidth : 0,
  groups: document.querySelectorAll('#finding-list > details.group').length,
  shown: shownGroups().length,
  pager: (document.querySelector('#pager-top .where') || {}).textContent || '',
};
"""
)
#: Re-sort by ``arguments[0]``: the time until the page is laid out again, and whether the shown
#: groups are then in that order (largest first).
RESORT = (
    SHOWN
    + """
const key = arguments[0], select = document.getElementById('finding-sort');
const t0 = performance.now();
select.value = key;
select.dispatchEvent(new Event('change'));
void document.documentElement.scrollHeight;  // forces the layout into the timing
const ms = performance.now() - t0;
const v = shownGroups().map(g => parseFloat(g.getAttribute(key === 'cases' ? 'data-cases' : 'data-ratio')));
const ordered = v.every((x, i) => i === 0 || v[i - 1] >= x);
return {ms: ms, shown: v.length, ordered: ordered, top: v.slice(0, 3).map(String)};
"""
)
#: Turn to the next page: the time until laid out, and the groups then shown.
NEXT_PAGE = (
    SHOWN
    + """
const next = document.querySelector('#pager-top button:last-child');
if (!next) { return null; }  // one page: 200 groups or fewer
const before = shownGroups().map(g => g.id);
const t0 = performance.now();
next.click();
const height = document.documentElement.scrollHeight;
const ms = performance.now() - t0;
const after = shownGroups().map(g => g.id);
return {ms: ms, shown: after.length, overlap: after.filter(id => before.includes(id)).length,
        pager: document.querySelector('#pager-top .where').textContent, height: height};
"""
)


def browser(profile: Path) -> Any:
    """Headless Chromium (``$CHROMIUM``, else ``/usr/bin/chromium``) through chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = shutil.which(os.environ.get("CHROMEDRIVER") or "chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def screenshot(driver: Any, path: Path, height: int) -> None:
    """A 1400 px wide picture of the page's top ``height`` pixels (beyond the window if need be)."""
    import base64

    clip = {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def measure(page: Path, repeats: int, shots: Path | None) -> dict[str, Any]:
    """Load ``page`` ``repeats`` times in fresh tabs of one browser; the figures of the module docstring."""
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(Path(profile))
        try:
            loads = []
            for _ in range(repeats):
                driver.get("about:blank")
                driver.get(page.as_uri())
                figures = driver.execute_script(PAGE_FIGURES)
                loads.append(figures)
            out: dict[str, Any] = dict(loads[-1])
            out["load_ms"] = statistics.median(f["load_ms"] for f in loads)
            out["dom_ms"] = statistics.median(f["dom_ms"] for f in loads)
            out["script_ms"] = statistics.median(f["script_ms"] for f in loads)
            if shots is not None:
                screenshot(driver, shots / "scale-top.png", 1000)
                screenshot(driver, shots / "scale-full.png", min(int(out["height"]), 8000))
            out["next"] = driver.execute_script(NEXT_PAGE)
            out["ratio_sort"] = driver.execute_script(RESORT, "ratio")
            out["cases_sort"] = driver.execute_script(RESORT, "cases")
        finally:
            driver.quit()
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the fake run, write its report, measure it; print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--findings", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3, help="page loads to take the median of")
    parser.add_argument("--out", type=Path, help="the run folder to write (default: a temporary one)")
    parser.add_argument("--shots", type=Path, help="save screenshots of the page here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp) / "run"
        if folder.exists():
            shutil.rmtree(folder)
        fake_run(folder, args.findings, args.targets)
        t0 = time.perf_counter()
        page = write_report([folder])
        written = time.perf_counter() - t0
        if args.shots is not None:
            args.shots.mkdir(parents=True, exist_ok=True)
        f = measure(page, args.repeats, args.shots)
        size = page.stat().st_size
    window = f["window"]
    print(f"findings: {args.findings} in {f['groups']} groups on {args.targets} targets")
    print(f"report.html: {size / 2**20:.1f} MiB, written in {written:.1f} s")
    print(
        f"load, navigation start to load event end (median of {args.repeats}): {f['load_ms']:.0f} ms;"
        f" DOMContentLoaded {f['dom_ms']:.0f} ms; the page's script {f['script_ms']:.0f} ms"
    )
    print(f"page at a {window} px window: {f['height']} px high, {f['width']} px wide")
    print(
        f"fits the window: {f['width'] <= window}; matrix {f['matrix']} px wide in a {f['matrix_box']} px box"
    )
    print(f"first page: {f['shown']} groups shown ({f['pager'] or 'the only page'})")
    n = f["next"]
    if n is None:
        print("next page: none, every group is on one page")
    else:
        print(
            f"next page: {n['ms']:.1f} ms, {n['shown']} groups shown, {n['overlap']} of them on page 1"
            f" ({n['pager']}); page {n['height']} px high"
        )
    for key in ("ratio", "cases"):
        r = f[f"{key}_sort"]
        print(
            f"sort by {key}: {r['ms']:.1f} ms, {r['shown']} groups shown,"
            f" in order: {r['ordered']}, first {', '.join(r['top'])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
