"""Which cases a seed gives does not depend on which source modules the process has loaded.

Hypothesis draws a share of integers from the literal constants of the local modules it finds in
``sys.modules``; left on, a resumed run (which imports other modules in another order) and every
change to the harness's own source would draw other cases for the same seed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from harness.model.case import Case
from harness.spec.loader import load_default_float_specs
from harness.spec.strategies import cases


def _draw(count: int = 120) -> list[Case]:
    spec = next(s for s in load_default_float_specs() if s.rank == 2)
    drawn: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(spec))
    def run(case: Case) -> None:
        drawn.append(case)

    run()
    return drawn


def test_a_newly_loaded_local_module_does_not_change_the_cases(tmp_path: Path) -> None:
    before = _draw()
    # a local module full of small integers, the kind the specs' ranges draw
    source = tmp_path / "constants_module.py"
    values = ", ".join(str(v) for v in range(2, 400, 3))
    source.write_text(f"VALUES = ({values})\nMORE = {{{values}}}\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("constants_module", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["constants_module"] = module
    try:
        spec.loader.exec_module(module)
        after = _draw()
    finally:
        del sys.modules["constants_module"]
    assert after == before
