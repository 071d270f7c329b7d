"""pytest plugin: one conformance test per (spec, target).

    pytest --convt-targets torch.nn,torch.functional --convt-spec specs/conv_transpose2d.yaml
    pytest --convt                       # every default spec × every installed target

Loading the plugin imports nothing heavy: NumPy and Hypothesis strategies are imported when a
conformance test runs, and frameworks only in their isolated worker processes. Works with
pytest-xdist (each worker writes its own results file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.engine.profiles import PROFILES
from harness.errors import SpecError, TargetUnavailable, UnknownTarget


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the --convt-* options."""
    group = parser.getgroup("convt", "transposed-convolution conformance")
    group.addoption("--convt", action="store_true", help="run conformance tests (default specs/targets)")
    group.addoption("--convt-targets", help="comma-separated targets or module:Class (default: installed)")
    group.addoption("--convt-spec", action="append", help="spec YAML (repeatable; default: specs/*.yaml)")
    group.addoption("--convt-profile", choices=PROFILES, help="Hypothesis profile")
    group.addoption("--convt-device", default="cpu", help="device (cpu, cuda, ...)")
    group.addoption("--convt-out", help="results folder (default reports/pytest/)")


def _active(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--convt") or config.getoption("--convt-targets") or config.getoption("--convt-spec")
    )


class ConformanceFailure(Exception):
    """Raised by a conformance item with the text to show."""


class ConformanceItem(pytest.Item):
    """Explores one spec against one target; fails listing every finding."""

    def __init__(self, *, spec_path: str, target_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec_path = spec_path
        self.target_name = target_name

    def runtest(self) -> None:
        """Run the exploration and fail on any finding."""
        import hypothesis

        from adapters.registry import resolve
        from harness.engine.profiles import active_profile_name, register_profiles
        from harness.engine.progress import Progress
        from harness.engine.results import ResultsWriter, new_run_id
        from harness.engine.run import run_target_spec
        from harness.engine.tally import RunReport
        from harness.process import tune_allocator
        from harness.spec.loader import load_spec
        from harness.workers.client import isolated

        config = self.config
        tune_allocator()  # a conformance run reuses freed memory, as `python -m harness run` does
        register_profiles()
        profile = config.getoption("--convt-profile") or active_profile_name()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        base = Path(config.getoption("--convt-out") or Path("reports") / "pytest")
        out = base / worker
        cls = resolve(self.target_name)
        reason = cls.unavailable_reason()
        if reason is not None:
            pytest.skip(f"{self.target_name} unavailable: {reason}")
        # In its framework's worker, as in a run: a crash is a result, and frameworks that cannot
        # share a process (paddle, mindspore) never meet in the pytest process.
        target = isolated(cls(config.getoption("--convt-device")))
        try:
            target.runner.ready()
        except TargetUnavailable as exc:  # e.g. no CUDA provider: as unavailable as a missing framework
            pytest.skip(f"{self.target_name} unavailable: {exc}")
        except Exception:  # the cases that run into it record it, as their results
            pass
        writer = ResultsWriter(out)
        report = RunReport(out_dir=out)
        try:
            run_target_spec(
                target=target,
                spec=load_spec(self.spec_path),
                settings=hypothesis.settings(hypothesis.settings.get_profile(profile), database=None),
                writer=writer,
                report=report,
                run_id=new_run_id(),
                progress=Progress(False),
            )
        finally:
            writer.close()
        for _, _, n, reason in report.vacuous():  # a test that covered nothing must not pass
            pytest.skip(
                f"{self.target_name} judged no case of {self.spec_path}: all {n} were ones its "
                f"API cannot express, mostly: {reason}"
            )
        if report.findings:
            parts = [f"{len(report.findings)} finding(s) for {self.target_name} on {self.spec_path}"]
            for finding, folder in report.findings:
                snippet = (folder / "snippet.py").read_text(encoding="utf-8")
                readme = (folder / "README.txt").read_text(encoding="utf-8")
                parts += ["", f"== {finding.signature}", readme, "snippet.py:", snippet]
            raise ConformanceFailure("\n".join(parts))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """Show findings as text rather than a traceback."""

        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        if isinstance(excinfo.value, (SpecError, UnknownTarget)):  # bad input: its rule, no traceback
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Location shown by pytest."""
        return Path(self.spec_path), 0, f"conformance[{self.target_name}]"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one ConformanceItem per (spec, target) when conformance is requested."""
    if not _active(config):
        return
    from adapters.registry import installed_targets
    from harness.spec.loader import default_spec_paths

    specs = config.getoption("--convt-spec") or [str(p) for p in default_spec_paths()]
    names = config.getoption("--convt-targets")
    targets = [t.strip() for t in names.split(",") if t.strip()] if names else installed_targets()
    added = [
        ConformanceItem.from_parent(
            session, name=f"conformance[{Path(spec).stem}-{target}]", spec_path=spec, target_name=target
        )
        for spec in specs
        for target in targets
    ]
    items.extend(added)
    # Items added here were not in any collect report: report them, so that pytest's "collected N
    # items" line counts them.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(nodeid="", outcome="passed", longrepr=None, result=list(added))
    )
