"""Skip marks for tests that need particular frameworks installed.

The suite must pass with any subset of the framework extras (``pip install -e '.[paddle,dev]'`` is a
supported setup), so a test that runs real frameworks says which, and skips naming the missing ones.
"""

from __future__ import annotations

import importlib.util

import pytest


def missing(*modules: str) -> list[str]:
    """The top-level modules among ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def needs(*modules: str) -> pytest.MarkDecorator:
    """Skip the test unless every one of ``modules`` is installed."""
    absent = missing(*modules)
    return pytest.mark.skipif(bool(absent), reason=f"needs {', '.join(absent)} (not installed)")
