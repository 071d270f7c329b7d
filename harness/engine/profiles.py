"""Hypothesis settings profiles for the conformance run.

- ``dev``: fast local runs (30 examples per spec × target). Past failures are saved to and replayed
  first from the example database under ``.hypothesis/examples``.
- ``ci``: deterministic (``derandomize=True``, no database), 100 examples per spec × target, and
  ``print_blob`` so a failure can be reproduced with ``@reproduce_failure``.
- ``nightly``: 2000 examples per spec × target, with the example database.

No profile has a deadline: a case's time is dominated by framework workers, whose first calls
are slow, not by the code under test. The ``too_slow`` health check is suppressed for the same
reason.

:func:`active_profile_name` picks ``ci`` when the ``CI`` environment variable is set (to anything
but ``""``, ``0``, ``false`` or ``no``), else ``dev``; ``CONVT_HYPOTHESIS_PROFILE`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import UnknownProfile

#: Examples per (spec, target) of each profile: the one table of profiles (Hypothesis is imported
#: only when they are registered, so the pytest plugin can read this).
EXAMPLES: dict[str, int] = {"dev": 30, "ci": 100, "nightly": 2000}
PROFILES: tuple[str, ...] = tuple(EXAMPLES)
PROFILE_ENV = "CONVT_HYPOTHESIS_PROFILE"
_FALSE = {"", "0", "false", "no"}


def example_database_path() -> Path:
    """``.hypothesis/examples`` in the source checkout holding this package, else in the cwd."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file():
        return root / ".hypothesis" / "examples"
    return Path.cwd() / ".hypothesis" / "examples"


def register_profiles() -> None:
    """Register the ``dev``, ``ci`` and ``nightly`` profiles (idempotent; loads none of them)."""
    from hypothesis import HealthCheck, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    slow = [HealthCheck.too_slow]
    database = DirectoryBasedExampleDatabase(str(example_database_path()))
    settings.register_profile(
        "dev", max_examples=EXAMPLES["dev"], database=database, deadline=None, suppress_health_check=slow
    )
    settings.register_profile(
        "ci",
        max_examples=EXAMPLES["ci"],
        derandomize=True,
        database=None,
        print_blob=True,
        deadline=None,
        suppress_health_check=slow,
    )
    settings.register_profile(
        "nightly",
        max_examples=EXAMPLES["nightly"],
        database=database,
        deadline=None,
        suppress_health_check=slow,
    )


def active_profile_name() -> str:
    """``$CONVT_HYPOTHESIS_PROFILE`` if set (:class:`~harness.errors.UnknownProfile` when it names
    no profile), else ``"ci"`` when ``$CI`` is set, else ``"dev"``."""
    chosen = os.environ.get(PROFILE_ENV, "").strip()
    if chosen:
        if chosen not in PROFILES:
            raise UnknownProfile(
                f"{PROFILE_ENV}={chosen!r} is not a profile; set it to one of {', '.join(PROFILES)}"
            )
        return chosen
    if os.environ.get("CI", "").strip().lower() not in _FALSE:
        return "ci"
    return "dev"


def load_active_profile() -> str:
    """Register the profiles, load the active one and return its name."""
    from hypothesis import settings

    register_profiles()
    name = active_profile_name()
    settings.load_profile(name)
    return name
