"""Spec health: what the cases a spec draws look like, and whether a run of it would be vacuous.

:func:`measure_spec` draws cases of a spec through a derandomized Hypothesis run and tallies their
coverage features; :func:`check_spec_health` rejects a spec whose run would test little (draws
rejected, a declared dtype never drawn, mostly tiny outputs) with a :class:`SpecError` naming its
file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, settings

from harness.errors import SpecError
from harness.model.case import Case
from harness.model.features import TINY_OUTPUT, coverage_features
from harness.spec.schema import Spec
from harness.spec.strategies import Tally
from harness.spec.strategies import cases as _case_strategy  # the name is part of run's seed: see there

MAX_REJECTION_RATE = 0.20
MAX_TINY_FRACTION = 0.50


@dataclass(frozen=True)
class SpecHealth:
    """What ``n`` drawn cases of a spec look like.

    ``fractions[feature][value]`` is the share of produced cases with that feature value (see
    :func:`harness.model.features.coverage_features`). ``rejected`` counts strategy attempts that
    produced no case: the strategy makes no ``assume()`` and no ``.filter()``, so these are draws
    Hypothesis itself abandoned (overruns of its reduced size cap for early examples and of its
    mutations).
    """

    spec_name: str
    spec_path: str
    requested: int
    attempts: int
    produced: int
    declared_dtypes: tuple[str, ...]
    fractions: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Strategy attempts that produced no case (draws Hypothesis abandoned)."""
        return max(0, self.attempts - self.produced)

    @property
    def rejection_rate(self) -> float:
        """``rejected / attempts`` (1.0 when nothing was attempted)."""
        return self.rejected / self.attempts if self.attempts else 1.0

    @property
    def tiny_fraction(self) -> float:
        """Share of cases with at most :data:`TINY_OUTPUT` output elements per channel."""
        return self.fractions.get("size", {}).get("tiny", 0.0)

    @property
    def dtype_fractions(self) -> dict[str, float]:
        """Share of cases per dtype."""
        return dict(self.fractions.get("dtype", {}))

    def problems(self) -> list[tuple[str | None, str]]:
        """What makes a run of this spec vacuous, as ``(spec key or None, message)``."""
        out: list[tuple[str | None, str]] = []
        if self.produced == 0:
            return [(None, f"no case could be drawn in {self.attempts} attempts")]
        if self.rejection_rate > MAX_REJECTION_RATE:
            out.append(
                (
                    None,
                    f"{self.rejection_rate:.0%} of {self.attempts} draw attempts were rejected "
                    f"(limit {MAX_REJECTION_RATE:.0%})",
                )
            )
        seen = [d for d, f in self.dtype_fractions.items() if f > 0]
        if len(self.declared_dtypes) > 1 and len(seen) <= 1:
            out.append(
                (
                    "dtypes",
                    f"only {', '.join(seen) or 'no dtype'} appeared in {self.produced} cases "
                    f"although {len(self.declared_dtypes)} dtypes are declared "
                    f"({', '.join(self.declared_dtypes)}): check their weights",
                )
            )
        if self.tiny_fraction > MAX_TINY_FRACTION:
            out.append(
                (
                    None,
                    f"{self.tiny_fraction:.0%} of {self.produced} cases are tiny (≤ {TINY_OUTPUT} "
                    f"output elements per channel; limit {MAX_TINY_FRACTION:.0%}): widen "
                    f"input_size/kernel_size/stride or raise max_elements",
                )
            )
        return out

    def summary(self) -> str:
        """A one-line account: rejection rate, dtype spread, tiny fraction."""
        spread = ", ".join(f"{k} {v:.0%}" for k, v in sorted(self.dtype_fractions.items()))
        return (
            f"{self.spec_name}: {self.produced}/{self.attempts} cases, rejection "
            f"{self.rejection_rate:.1%}, dtypes [{spread}], tiny {self.tiny_fraction:.1%}"
        )


def measure_spec(spec: Spec, n: int = 300) -> SpecHealth:
    """Draw ``n`` cases of ``spec`` through a derandomized Hypothesis run and tally them."""
    tally = Tally()
    seen: list[dict[str, str]] = []

    # derandomize seeds the draws from the source of run, its decorators included (a nested
    # function's source does not parse alone, so Hypothesis cannot strip them): any change to these
    # lines, even renaming _case_strategy, changes which cases are measured.
    @settings(
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_case_strategy(spec, tally))
    def run(case: Case) -> None:
        seen.append(coverage_features(case))

    run()
    counts: dict[str, Counter[str]] = {}
    for features in seen:
        for key, value in features.items():
            counts.setdefault(key, Counter())[value] += 1
    total = len(seen)
    fractions = {k: {v: c / total for v, c in sorted(cnt.items())} for k, cnt in counts.items()}
    return SpecHealth(
        spec_name=spec.name,
        spec_path=str(spec.path) if spec.path is not None else "<spec>",
        requested=n,
        attempts=tally.attempts,
        produced=total,
        declared_dtypes=tuple(spec.dtypes),
        fractions=fractions,
    )


def check_spec_health(spec: Spec, n: int = 300) -> SpecHealth:
    """Measure ``spec`` and raise :class:`SpecError` (naming its file) if a run would be vacuous.

    Vacuous: more than 20 % of draw attempts rejected, a single dtype appearing although several
    are declared, or more than half of the cases tiny.
    """
    health = measure_spec(spec, n)
    problems = health.problems()
    if problems:
        located: list[tuple[int | None, str | None, str]] = [
            (spec.line_of(key) if key else None, key, f"spec health: {message}") for key, message in problems
        ]
        line, key, message = located[0]
        raise SpecError(health.spec_path, line, key, message, located)
    return health
