"""The nightly CI recipes shipped in ``docs/ci/`` parse, their ``python -m harness`` commands take
only options the command line has, their targets are registered names, and each (framework,
device) has a job for every shard 1…N that its ``--shard K/N`` names."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.registry import BUILTIN
from harness.cli.main import build_parser

CI = Path(__file__).resolve().parents[1] / "docs" / "ci"
RECIPES = sorted(CI.glob("*.yml"))
#: ${{ expression }} (GitHub), then ${NAME} and $NAME (shell, GitLab)
VARIABLE = re.compile(r"\$\{\{[^}]*\}\}|\$\{\w+\}|\$\w+")


def _commands(node: Any) -> list[str]:
    """Every ``python -m harness …`` command in the recipe's scripts (up to a shell operator)."""
    if isinstance(node, dict):
        return [c for value in node.values() for c in _commands(value)]
    if isinstance(node, list):
        return [c for value in node for c in _commands(value)]
    if isinstance(node, str) and "python -m harness " in node:
        found = []
        for part in node.split("python -m harness ")[1:]:
            found.append(re.split(r"\|\||&&|;|\n", part)[0])
        return found
    return []


def _argv(command: str) -> list[str]:
    """The command's arguments with every variable standing for ``1`` (a shard index, a seed)."""
    text = (
        VARIABLE.sub("1", command)
        .replace("$(ls -d shards/*/ | sort)", "shards/a")
        .replace("$(ls -d reports/*/ | sort)", "reports/a")
    )
    return shlex.split(text)


def test_there_is_a_github_and_a_gitlab_recipe() -> None:
    assert [p.name for p in RECIPES] == ["github-nightly.yml", "gitlab-nightly.yml"]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_the_commands_of_a_recipe_take_only_options_the_command_line_has(recipe: Path) -> None:
    commands = _commands(yaml.safe_load(recipe.read_text(encoding="utf-8")))
    assert {c.split()[0] for c in commands} == {"doctor", "run", "report"}
    for command in commands:
        argv = _argv(command)
        args = build_parser().parse_args(argv)  # SystemExit(2) on an option the CLI lacks
        if argv[0] == "run":
            assert args.shard is not None and args.seed is not None and args.profile == "nightly"


def _github_jobs(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """The shard jobs of the GitHub matrix: its product, less the excludes, with the includes' keys."""
    matrix = recipe["jobs"]["shard"]["strategy"]["matrix"]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    jobs = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    jobs = [j for j in jobs if not any(all(j[k] == v for k, v in ex.items()) for ex in matrix["exclude"])]
    for job in jobs:
        for extra in matrix["include"]:
            if all(job.get(k) == v for k, v in extra.items() if k in axes):
                job.update(extra)
    return jobs


def _gitlab_jobs(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """The shard jobs of the GitLab ``parallel: matrix`` (each entry's lists multiplied out)."""
    jobs = []
    for entry in recipe["nightly-shard"]["parallel"]["matrix"]:
        lists = {k: v if isinstance(v, list) else [v] for k, v in entry.items()}
        for combo in itertools.product(*lists.values()):
            values = dict(zip(lists, combo, strict=True))
            jobs.append({k.lower(): v for k, v in values.items()})
    return jobs


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_framework_and_device_has_each_shard_once_with_registered_targets(recipe: Path) -> None:
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    jobs = _github_jobs(data) if recipe.name.startswith("github") else _gitlab_jobs(data)
    [run] = [c for c in _commands(data) if c.startswith("run ")]
    count = build_parser().parse_args(_argv(run)).shard.count
    shards: dict[tuple[str, str], list[int]] = {}
    for job in jobs:
        assert all(name in BUILTIN for name in job["targets"].split(",")), job
        shards.setdefault((job["framework"], job["device"]), []).append(int(job["shard"]))
    assert {f for f, _ in shards} == {"torch", "paddle", "mindspore", "onnx"}
    assert ("torch", "cuda") in shards
    assert all(sorted(found) == list(range(1, count + 1)) for found in shards.values()), shards
