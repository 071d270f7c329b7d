"""The invalid-input audit: the configurations are what they say, and each response (error, crash,
hang, silent acceptance, wrong shape or values) is classified and assessed."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from frameworks import needs
from targets_for_tests import CorrectTarget

from adapters.probing import RawParams
from harness.audits.common import LoadedTarget
from harness.audits.invalid import assess, audit_invalid, probe
from harness.audits.invalid_configs import CONFIGS, Config, raw
from harness.errors import InvalidCase, NotExpressible
from harness.model.case import Case
from harness.workers.client import isolated


def test_the_configurations_are_what_they_say() -> None:
    for config in CONFIGS:
        canonical = config.canonical()
        if config.expect == "accept":
            assert isinstance(canonical, Case), config.name
        if isinstance(canonical, Case):
            assert config.expect != "error", config.name
            assert config.expected_shape() == list(canonical.output_shape), config.name
    categories = {c.category for c in CONFIGS}
    assert {"groups", "crop", "output_padding", "zero_size", "negative", "weight"} <= categories


@pytest.mark.parametrize(
    ("expect", "response", "assessment"),
    [
        ("error", {"response": "error"}, "ok"),
        ("error", {"response": "accepted", "shape": [1, 2, 6, 6]}, "silently_accepted"),
        ("accept", {"response": "error"}, "refused"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 6]}, "ok"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 7]}, "wrong_shape"),
        (
            "accept",
            {"response": "accepted", "shape": [1, 2, 6, 6], "values": {"outcome": "value_mismatch"}},
            "wrong_values",
        ),
        ("either", {"response": "error"}, "ok"),
        ("either", {"response": "accepted", "shape": [1, 2, 5, 6]}, "wrong_shape"),
        ("either", {"response": "crash"}, "crash"),
        ("error", {"response": "hang"}, "hang"),
    ],
)
def test_assessment(expect: str, response: dict[str, Any], assessment: str) -> None:
    config = Config("c", "test", "a 4x4 input, k=3", expect, raw())
    assert config.expected_shape() == [1, 2, 6, 6]
    assert assess(config, response) == assessment


class ProbeTarget(CorrectTarget):
    """A probe whose behaviour the configuration's in_channels picks."""

    name = "test.probe"

    def probe(self, params: dict[str, Any]) -> list[int]:
        """1: an output; 2: a clean error; 3: abort; 4: hang; 5: not expressible."""
        p = RawParams.from_dict(params)
        if p.in_channels == 2:
            raise ValueError("groups must divide the channels")
        if p.in_channels == 3:
            os.abort()
        if p.in_channels == 4:
            time.sleep(60)
        if p.in_channels == 5:
            raise NotExpressible("no such form")
        return [p.batch, p.out_channels, *p.output_size]


def test_responses_are_classified(short_workers: None) -> None:
    target = isolated(ProbeTarget())
    subject = LoadedTarget("test.probe", target, None, ProbeTarget())
    expected = {1: "accepted", 2: "error", 3: "crash", 4: "hang", 5: "not_applicable"}
    for channels, response in expected.items():
        config = Config(
            f"c{channels}", "test", "", "error", raw(in_channels=channels, weight_shape=(channels, 2, 3, 3))
        )
        got = probe(subject, config)
        assert got["response"] == response, got
    refused = probe(subject, Config("c", "t", "", "error", raw(in_channels=2)))
    assert "groups must divide" in refused["message"]
    valid = probe(subject, Config("v", "t", "", "accept", raw(in_channels=1, stride=2, output_padding=1)))
    assert valid["response"] == "accepted" and valid["values"]["outcome"] == "pass"


@needs("torch", "onnxruntime")
def test_audit_invalid_on_real_frameworks(short_workers: None) -> None:
    names = ["torch.functional", "onnxruntime", "tensorrt"]
    result = audit_invalid(names)
    assert len(result["configurations"]) == len(CONFIGS)
    for row in result["configurations"]:
        assert set(row["responses"]) == set(names)
        assert row["responses"]["tensorrt"]["response"] == "not_run"
        for name in names[:2]:
            response = row["responses"][name]
            config = next(c for c in CONFIGS if c.name == row["name"])
            assert response["assessment"] == assess(config, response)
    valid = next(r for r in result["configurations"] if r["name"] == "output_padding_below_stride")
    assert valid["responses"]["torch.functional"]["assessment"] == "ok"


def test_raw_parameters_default_to_a_valid_case() -> None:
    params = raw()
    case = Config("c", "t", "", "accept", params).canonical()
    assert isinstance(case, Case) and not isinstance(case, InvalidCase)
    assert params.weight_shape == case.weight_shape
    assert params.output_size == case.output_size
