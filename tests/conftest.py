"""Test-suite setup: the repository root importable (``harness``, and ``tests.targets_for_tests``
as target names spell it), this folder importable so that test modules in any subfolder import the
shared helpers by their bare names (``from naive import ...``, ``from targets_for_tests import ...``,
``from frameworks import needs``), BLAS thread spinning off (importing harness), and the Hypothesis
profile (``ci`` when ``$CI`` is set).

Test modules are not packages (no ``__init__.py``): pytest imports each by its file name, so a test
file's name must be unique across all folders of ``tests/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for folder in (str(TESTS.parent), str(TESTS)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from hypothesis import settings  # noqa: E402

import harness  # noqa: E402, F401 - applies the process settings before NumPy loads
from harness.engine.profiles import active_profile_name, register_profiles  # noqa: E402

register_profiles()
settings.load_profile(active_profile_name())
