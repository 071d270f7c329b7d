"""Test-suite setup: repository root importable (``tests.targets_for_tests``), BLAS thread
spinning off, and the Hypothesis profile (``ci`` when ``$CI`` is set)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from hypothesis import settings  # noqa: E402

from harness.engine.profiles import active_profile_name, register_profiles  # noqa: E402

register_profiles()
settings.load_profile(active_profile_name())
