"""The mode-equivalence audit: named modes compared by what they compute, in their workers.

The targets (``mode_targets``) plant the agreement and the disagreement; where the two splits must
differ (an odd total crop) is computed here, never read from the code under test.
"""

from __future__ import annotations

from mode_targets import odd_total_crop

from harness.audits.modes import audit_modes
from harness.model.case import Case


def test_mode_equivalence_table(short_workers: None) -> None:
    upper, twin, lower = "mode_targets:UpperTarget", "mode_targets:UpperTwin", "mode_targets:LowerTarget"
    result = audit_modes([upper, twin, lower], "dev", examples=4)
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    twins = pairs[(f"{upper}:same", f"{twin}:same")]
    assert twins["equivalent"] and 0 < twins["compared"] <= result["geometries"] and not twins["disagree"]
    upper_lower = pairs[(f"{upper}:same", f"{lower}:same_lower")]
    assert not upper_lower["equivalent"] and upper_lower["disagree"] > 0
    found = upper_lower["distinguishing"]
    minimal = Case.from_dict(found["case"])
    assert odd_total_crop(minimal)
    assert found[f"{upper}:same"]["begin"] != found[f"{lower}:same_lower"]["begin"]
    assert found[f"{upper}:same"]["shape"] == found[f"{lower}:same_lower"]["shape"]
