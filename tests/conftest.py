"""Test-suite setup: repository root importable (``tests.targets_for_tests``), BLAS thread
spinning off (importing harness), and the Hypothesis profile (``ci`` when ``$CI`` is set)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from hypothesis import settings  # noqa: E402

import harness  # noqa: E402, F401 - applies the process settings before NumPy loads
from harness.engine.profiles import active_profile_name, register_profiles  # noqa: E402

register_profiles()
settings.load_profile(active_profile_name())
