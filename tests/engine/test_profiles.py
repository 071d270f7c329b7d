"""Hypothesis profiles: dev, ci and nightly, and which one is active."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from harness.engine.profiles import (
    PROFILE_ENV,
    active_profile_name,
    example_database_path,
    load_active_profile,
    register_profiles,
)


def test_profiles_registered() -> None:
    register_profiles()
    dev, ci, nightly = (settings.get_profile(n) for n in ("dev", "ci", "nightly"))
    assert dev.max_examples == 30
    assert isinstance(dev.database, DirectoryBasedExampleDatabase)
    assert ci.derandomize and ci.database is None and ci.print_blob and ci.deadline is None
    assert ci.max_examples == 100
    assert nightly.max_examples == 2000 and nightly.deadline is None
    assert isinstance(nightly.database, DirectoryBasedExampleDatabase)
    assert example_database_path().parts[-2:] == (".hypothesis", "examples")


def test_active_profile_follows_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert active_profile_name() == "dev"
    monkeypatch.setenv("CI", "true")
    assert active_profile_name() == "ci"
    monkeypatch.setenv("CI", "false")
    assert active_profile_name() == "dev"
    monkeypatch.setenv(PROFILE_ENV, "nightly")
    assert active_profile_name() == "nightly"
    monkeypatch.setenv(PROFILE_ENV, "weekly")
    with pytest.raises(ValueError, match="weekly"):
        active_profile_name()


def test_load_active_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = settings.get_current_profile_name()
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.setenv("CI", "1")
    try:
        assert load_active_profile() == "ci"
        assert settings.default.derandomize
    finally:
        settings.load_profile(previous)
