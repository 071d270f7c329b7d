"""Python 3.11–3.13: the package admits each, a framework extra whose pinned release has no wheel
for one carries a marker that skips it there, the target says the same (``wheel_pythons``), and
``doctor`` gives that as the reason the framework is missing."""

from __future__ import annotations

import argparse
import importlib.util
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import adapters.protocol
import adapters.registry
from adapters.registry import BUILTIN, resolve

PYPROJECT = tomllib.loads(
    (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
)
SUPPORTED = ["3.11", "3.12", "3.13"]


def test_the_package_admits_python_3_11_to_3_13_and_no_other() -> None:
    admitted = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert [v for v in ["3.10", *SUPPORTED, "3.14"] if admitted.contains(f"{v}.0")] == SUPPORTED


def _installed_on(requirement: Requirement, python: str) -> bool:
    return requirement.marker is None or requirement.marker.evaluate({"python_version": python, "extra": ""})


def test_each_target_names_the_pythons_its_framework_extra_installs_on() -> None:
    by_distribution = {
        Requirement(text).name: Requirement(text)
        for extra, texts in PYPROJECT["project"]["optional-dependencies"].items()
        if extra not in ("all", "dev")
        for text in texts
    }
    marked = {name for name, req in by_distribution.items() if "python_version" in str(req.marker or "")}
    assert marked == {"mindspore"}  # the one framework without a wheel for every supported Python
    for name in BUILTIN:
        cls = resolve(name)
        requirement = by_distribution.get(cls.distribution or cls.requires)
        if requirement is None:  # tensorrt: from NVIDIA's index (docs/tensorrt.md)
            continue
        installs = {v for v in SUPPORTED if _installed_on(requirement, v)}
        assert installs == (cls.wheel_pythons or set(SUPPORTED)), name


@pytest.fixture
def no_mindspore(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mindspore" else real(name, *a)
    )


@pytest.mark.usefixtures("no_mindspore")
def test_a_framework_missing_for_want_of_a_wheel_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters.protocol, "python_version", lambda: "3.13")
    reason = resolve("mindspore.nn").unavailable_reason()
    assert reason is not None and "no wheel for Python 3.13 (only for 3.11, 3.12)" in reason


@pytest.mark.usefixtures("no_mindspore")
def test_a_framework_missing_where_it_has_a_wheel_says_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters.protocol, "python_version", lambda: "3.12")
    assert resolve("mindspore.nn").unavailable_reason() == (
        "mindspore is not installed (pip install the mindspore extra)"
    )


@pytest.mark.usefixtures("no_mindspore")
def test_doctor_gives_the_missing_wheel_as_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli.doctor import cmd_doctor

    monkeypatch.setattr(adapters.protocol, "python_version", lambda: "3.13")
    names = [n for n in BUILTIN if n.startswith("mindspore")]
    monkeypatch.setattr(
        adapters.registry, "availability", lambda: {n: resolve(n).unavailable_reason() for n in names}
    )
    assert cmd_doctor(argparse.Namespace(device="cpu", json=False)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(names) and all("no wheel for Python 3.13" in line for line in lines)
