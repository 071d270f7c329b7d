"""Does the search kill planted structural bugs, and shrink each to a case that isolates it?

Runs ``python -m harness run`` with the targets of ``tests/planted_bugs.py`` (one planted bug each,
plus the bug-free control) over the default specs, once per seed, then reads the results:

- *killed*: some judged case of the target is not a pass, and its case triggers the bug;
- *isolated*: the best minimal case of the target's findings triggers the bug and carries no
  signature token the bug neither requires nor may carry (``needless`` lists those it carries);
- *stray*: minimal cases of a target that do not trigger its bug (a harness or tolerance fault,
  as is any finding of the control).

    python benchmarks/planted_bugs.py --profile ci --seeds 1
    python benchmarks/planted_bugs.py --profile dev --seeds 1,2,3,4,5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.model.case import Case  # noqa: E402
from harness.model.features import signature_features  # noqa: E402
from tests import planted_bugs as pb  # noqa: E402

NOT_FINDINGS = ("pass", "unsupported")


@dataclass
class Score:
    """What one seed's run shows for one planted target."""

    judged: int = 0
    killed: bool = False
    findings: int = 0
    stray: list[str] = field(default_factory=list)
    best: str = ""
    needless: frozenset[str] | None = None


def run_once(
    profile: str, seed: int, targets: list[type[pb.PlantedTarget]], out: Path, timeout: float
) -> float:
    """One harness run of the planted targets; returns its wall time in seconds."""
    names = ",".join(pb.reference_name(t) for t in targets)
    argv = [sys.executable, "-m", "harness", "run", "--profile", profile, "--seed", str(seed)]
    argv += ["--targets", names, "--case-timeout", str(timeout), "--out", str(out), "--quiet"]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"harness run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - began


def score(results: Path, targets: list[type[pb.PlantedTarget]]) -> dict[str, Score]:
    """Each target's score from one run's ``results.jsonl``."""
    by_name = {t.name: t() for t in targets}
    scores = {name: Score() for name in by_name}
    for line in results.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        target = by_name.get(record.get("target", ""))
        if target is None or record["outcome"] == "unsupported":
            continue
        s = scores[target.name]
        s.judged += 1
        case = Case.from_dict(record["case"])
        failed = record["outcome"] not in NOT_FINDINGS
        if failed and target.triggered(case):
            s.killed = True
        if not record.get("minimal"):
            continue
        s.findings += 1
        if not target.triggered(case):
            s.stray.append(f"{record['outcome']}: {case.short()}")
            continue
        needless = pb.needless_tokens(target, signature_features(case))
        if s.needless is None or len(needless) < len(s.needless):
            s.needless, s.best = needless, case.short()
    return scores


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the control has a finding or a minimal case is stray."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="ci", choices=("dev", "ci", "nightly"))
    ap.add_argument("--seeds", default="1", help="comma-separated Hypothesis seeds, one run each")
    ap.add_argument("--bugs", default="", help="comma-separated planted target names (default: all)")
    ap.add_argument("--case-timeout", type=float, default=5.0)
    ap.add_argument("--out", type=Path, default=None, help="folder for the runs (default: a temporary one)")
    args = ap.parse_args(argv)
    wanted = {b for b in args.bugs.split(",") if b}
    targets = [t for t in pb.PLANTED if not wanted or t.name in wanted or t is pb.PlantedNone]
    seeds = [int(s) for s in args.seeds.split(",")]
    out = args.out or Path(tempfile.mkdtemp(prefix="planted-"))
    per_seed: list[dict[str, Score]] = []
    for seed in seeds:
        folder = out / f"{args.profile}-seed{seed}"
        wall = run_once(args.profile, seed, targets, folder, args.case_timeout)
        print(f"seed {seed}: {wall:.0f} s, {folder}")
        per_seed.append(score(folder / "results.jsonl", targets))
    bugs = [t for t in targets if t is not pb.PlantedNone]
    header = f"{'planted bug':36} {'killed':>7} {'findings':>9} {'isolated':>9}"
    print(f"\n{header}  best minimal case (needless tokens)")
    kills = isolated = faults = 0
    for t in bugs:
        rows = [s[t.name] for s in per_seed]
        k = sum(r.killed for r in rows)
        iso = sum(r.needless is not None and not r.needless for r in rows)
        kills, isolated = kills + k, isolated + iso
        faults += sum(len(r.stray) for r in rows)
        first = rows[0]
        extra = "" if first.needless is None else f" ({','.join(sorted(first.needless)) or '-'})"
        found = sum(r.findings for r in rows)
        print(f"{t.name:36} {k:>4}/{len(rows)} {found:>9} {iso:>6}/{len(rows)}  {first.best}{extra}")
        for r in rows:
            for stray in r.stray:
                print(f"    stray minimal case: {stray}")
    control = [s[pb.PlantedNone.name] for s in per_seed]
    control_findings = sum(r.findings for r in control)
    faults += control_findings
    total = len(bugs) * len(seeds)
    print(f"\nkilled {kills}/{total} ({100 * kills / total:.0f} %), isolated {isolated}/{total}")
    print(f"control: {control_findings} finding(s) over {sum(r.judged for r in control)} judged cases")
    return 1 if faults else 0


if __name__ == "__main__":
    raise SystemExit(main())
