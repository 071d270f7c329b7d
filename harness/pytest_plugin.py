"""pytest plugin: one conformance test per (spec, target), collected only when asked for.

    pytest --convt                                  # every default spec × every installed target
    pytest --convt --convt-targets torch.nn --convt-spec specs/conv_transpose2d.yaml
    pytest specs/conv_transpose2d.yaml              # a spec file (or the specs folder) as a path
    pytest --convt my_specs/                        # every YAML file of a folder

Without ``--convt``/``--convt-spec``/``--convt-targets`` and without a spec named as a path, nothing
is added: ``pytest`` collects the unit tests alone. With ``--convt`` and no path, it collects the
conformance items alone (the default specs, or ``--convt-spec``). Items are ``SPEC.yaml::
conformance[stem-target]``, so ``-k``, ``--lf``, ``-x`` and ``-n`` (pytest-xdist; each worker
writes its own results folder) work as for any test. ``--convt-known FILE`` turns an item whose
every finding the known-findings file accepts into an xfail with the entries' reasons, and the
session lists the entries that matched nothing. Outside xdist, an item prints a line for each
finding as it is found and one every :data:`PROGRESS_SECONDS`.

Loading the plugin imports nothing heavy: NumPy and Hypothesis strategies are imported when a
conformance test runs, and frameworks only in their isolated worker processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.engine.profiles import PROFILES
from harness.engine.progress import Progress
from harness.errors import SpecError, TargetUnavailable, UnknownTarget, UsageError

if TYPE_CHECKING:
    from harness.engine.known import KnownFindings

#: Seconds between an item's progress lines (a finding is shown at once).
PROGRESS_SECONDS = 10.0
_MATCHED = "convt_known_matched"
_KNOWN = pytest.StashKey["KnownFindings | None"]()
#: The files and folders whose YAML files are specs: the paths named, once conformance is asked for.
_REQUESTED = pytest.StashKey[frozenset[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the --convt-* options."""
    group = parser.getgroup("convt", "transposed-convolution conformance")
    group.addoption(
        "--convt",
        action="store_true",
        help="collect the conformance tests (only them, without paths)",
    )
    group.addoption("--convt-targets", help="comma-separated targets or module:Class (default: installed)")
    group.addoption("--convt-spec", action="append", help="spec YAML (repeatable; default: specs/**/*.yaml)")
    group.addoption("--convt-profile", choices=PROFILES, help="Hypothesis profile")
    group.addoption("--convt-device", default="cpu", help="device (cpu, cuda, ...)")
    group.addoption("--convt-out", help="results folder (default reports/pytest/)")
    group.addoption("--convt-known", metavar="FILE", help="known-findings YAML: accepted findings xfail")
    group.addoption(
        "--convt-replay",
        action="store_true",
        help="replay the local findings store's past findings first (default: off, reproducible)",
    )


def _active(config: pytest.Config) -> bool:
    return bool(
        config.getoption("--convt") or config.getoption("--convt-targets") or config.getoption("--convt-spec")
    )


def _spec_args(config: pytest.Config) -> list[str]:
    """The spec paths ``--convt`` adds to what pytest collects."""
    given = config.getoption("--convt-spec")
    if given:
        return [str(p) for p in given]
    from harness.spec.loader import default_spec_paths

    return [str(p) for p in default_spec_paths()]


def pytest_configure(config: pytest.Config) -> None:
    """Point collection at the specs when conformance is asked for, and read ``--convt-known``."""
    known_path = config.getoption("--convt-known")
    known = None
    if known_path:
        from harness.engine.known import load_known

        try:
            known = load_known(known_path)
        except UsageError as exc:  # pytest prints it as one line and exits 4 (its usage error)
            raise pytest.UsageError(str(exc)) from None
    config.stash[_KNOWN] = known
    config.pluginmanager.register(_StaleEntries(known), "convt-stale-entries")
    named = config.args_source == pytest.Config.ArgsSource.ARGS
    if _active(config) and not (named and not config.getoption("--convt-spec")):
        try:
            specs = _spec_args(config)
        except SpecError as exc:
            raise pytest.UsageError(str(exc)) from None
        args = list(config.args) if named else []  # no path named: the specs instead of testpaths
        config.args = args + [s for s in specs if s not in args]
    config.stash[_REQUESTED] = _spec_places(config) if named or _active(config) else frozenset()


def _spec_places(config: pytest.Config) -> frozenset[Path]:
    """The YAML files named as paths, and the folders whose YAML files are specs: a folder named
    as a path when it is the specs folder (with its sub-folders of default specs), or with ``--convt``."""
    from harness.spec.loader import default_spec_paths, specs_dir

    base = config.invocation_params.dir
    out = set()
    for arg in config.args:
        path = (base / str(arg).split("::")[0]).resolve()
        if path == specs_dir().resolve():
            out.add(path)
            out.update(p.resolve().parent for p in default_spec_paths())
        elif not path.is_dir() or config.getoption("--convt"):
            out.add(path)
    return frozenset(out)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A YAML file named as a path, or lying in a folder of :func:`_spec_places`, is a spec of
    conformance items."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    requested = parent.config.stash[_REQUESTED]
    path = file_path.resolve()
    if path in requested or path.parent in requested:
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFile(pytest.File):
    """A spec file: one :class:`ConformanceItem` per target (the spec is read when an item runs, so
    a bad spec fails its items with its rule instead of stopping the collection)."""

    def collect(self) -> Iterator[pytest.Item]:
        """One item per requested (or installed) target."""
        names = self.config.getoption("--convt-targets")
        if names:
            targets = [t.strip() for t in names.split(",") if t.strip()]
        else:
            from adapters.registry import installed_targets

            targets = installed_targets()
        for target in targets:
            name = f"conformance[{self.path.stem}-{target}]"
            # the id given as text, so that pytest reads its [...] as parameters, as it reads the ids
            # it cached for --lf (an id built from the name alone would never match those)
            yield ConformanceItem.from_parent(
                self, name=name, nodeid=f"{self.nodeid}::{name}", target_name=target
            )


class ConformanceFailure(Exception):
    """Raised by a conformance item with the text to show."""


class _LiveProgress(Progress):
    """An item's progress as lines on pytest's terminal: each finding at once, else a line every
    :data:`PROGRESS_SECONDS` (nothing under xdist, whose workers have no terminal)."""

    def __init__(self, config: pytest.Config) -> None:
        super().__init__(False)
        self.config = config
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        self.findings = 0
        self.shown = time.monotonic()

    def update(self, label: str, done: int, findings: int) -> None:
        """Write a line when a finding appears, or when the last line is old."""
        now = time.monotonic()
        if self.reporter is None or os.environ.get("PYTEST_XDIST_WORKER"):
            return
        if findings == self.findings and now - self.shown < PROGRESS_SECONDS:
            return
        from harness.terminal import printable

        news = " (new finding)" if findings > self.findings else ""
        self.findings, self.shown = findings, now
        line = f"  convt {printable(label)}: {done} cases, {findings} finding(s){news}"
        if self.capture is not None:
            with self.capture.global_and_fixture_disabled():
                self.reporter.write_line(line)
        else:
            self.reporter.write_line(line)

    def done(self) -> None:
        """Nothing to close: each line is whole."""


class ConformanceItem(pytest.Item):
    """Explores one spec against one target; fails listing every new finding."""

    def __init__(self, *, target_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec_path = str(self.path)
        self.target_name = target_name

    def runtest(self) -> None:
        """Run the exploration; fail on a new finding, xfail when every finding is known."""
        import hypothesis

        from adapters.registry import resolve
        from harness.engine.pairing import not_applicable
        from harness.engine.profiles import active_profile_name, register_profiles
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
        out = Path(config.getoption("--convt-out") or Path("reports") / "pytest") / worker
        cls = resolve(self.target_name)
        reason = cls.unavailable_reason()
        if reason is not None:
            pytest.skip(f"{self.target_name} unavailable: {reason}")
        spec = load_spec(self.spec_path)
        inapplicable = not_applicable(cls(config.getoption("--convt-device")), spec)
        if inapplicable is not None:
            pytest.skip(f"{self.spec_path} is not applicable to {self.target_name}: {inapplicable}")
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
                spec=spec,
                settings=hypothesis.settings(hypothesis.settings.get_profile(profile), database=None),
                writer=writer,
                report=report,
                run_id=new_run_id(),
                progress=_LiveProgress(config),
                replay=None if config.getoption("--convt-replay") else [],
                steer=profile == "nightly",
            )
        finally:
            writer.close()
        for _, _, n, why in report.vacuous():  # a test that covered nothing must not pass
            pytest.skip(
                f"{self.target_name} judged no case of {self.spec_path}: all {n} were ones its "
                f"API cannot express, mostly: {why}"
            )
        self._conclude(report.findings)

    def _conclude(self, findings: list[Any]) -> None:
        """Fail on new findings (shown whole), xfail when the known-findings file accepts all."""
        known = self.config.stash[_KNOWN]
        accepted: list[tuple[Any, str]] = []
        new: list[tuple[Any, Path]] = []
        for finding, folder in findings:
            rule = None
            if known is not None:
                rule = known.match(
                    signature=finding.signature,
                    target=finding.target,
                    outcome=finding.outcome,
                    detail=finding.detail,
                    features=finding.features,
                    mechanisms=[finding.mechanism] if finding.mechanism else [],
                )
            if rule is None:
                new.append((finding, folder))
            else:
                self.user_properties.append((_MATCHED, rule.index))
                link = f" — {rule.entry.link}" if rule.entry.link else ""
                accepted.append((finding, f"{finding.signature}: {rule.entry.reason}{link} ({rule.where})"))
        if new:
            parts = [f"{len(new)} new finding(s) for {self.target_name} on {self.spec_path}"]
            parts += [f"known: {note}" for _, note in accepted]
            for finding, folder in new:
                snippet = (folder / "snippet.py").read_text(encoding="utf-8")
                readme = (folder / "README.txt").read_text(encoding="utf-8")
                parts += ["", f"== {finding.signature}", readme, "snippet.py:", snippet]
            raise ConformanceFailure("\n".join(parts))
        if accepted:
            pytest.xfail("known: " + "; ".join(note for _, note in accepted))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """Show findings as text rather than a traceback."""

        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        if isinstance(excinfo.value, (SpecError, UnknownTarget)):  # bad input: its rule, no traceback
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Location shown by pytest."""
        return self.path, 0, f"conformance[{self.target_name}]"


class _StaleEntries:
    """Gathers which known-findings entries matched (from every item's report, xdist workers'
    included) and lists the others at the end of the session."""

    def __init__(self, known: KnownFindings | None) -> None:
        self.known = known
        self.matched: set[int] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note the entries an item's findings matched."""
        self.matched.update(
            v for name, v in report.user_properties if name == _MATCHED and isinstance(v, int)
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """List the stale entries (they accepted no finding of this session)."""
        if self.known is None:
            return
        stale = [rule for rule in self.known.rules if rule.index not in self.matched]
        if stale:
            from harness.terminal import printable

            terminalreporter.section("convt: stale known-findings entries")
            for rule in stale:
                terminalreporter.write_line(
                    printable(f"{rule.where}: {rule.entry.describe()} (matched no finding of this session)")
                )
