"""The invalid-input audit: the configurations are what they say, and each response (error, crash,
hang, silent acceptance, wrong shape or values) is classified and assessed."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any

import pytest
from frameworks import needs
from targets_for_tests import CorrectTarget

from adapters.probing import RawParams
from adapters.protocol import handle
from harness.audits.common import LoadedTarget
from harness.audits.invalid import assess, audit_invalid, documented_acceptance, probe
from harness.audits.invalid_configs import CONFIGS, Config
from harness.audits.invalid_raw import raw
from harness.audits.invalid_verdicts import VERDICTS
from harness.errors import InvalidCase, NotExpressible
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.workers.client import isolated


def test_the_configurations_are_what_they_say() -> None:
    for config in CONFIGS:
        canonical = config.canonical()
        if config.expect == "accept":
            assert isinstance(canonical, Case), config.name
        if isinstance(canonical, Case):
            assert config.expect != "error", config.name
            assert config.expected_shape() == list(canonical.output_shape), config.name
        assert config.name == f"{config.rule}_{config.rank}d"
    categories = {c.category for c in CONFIGS}
    assert {
        "groups",
        "crop",
        "output_padding",
        "zero_size",
        "negative",
        "weight",
        "quantization",
    } <= categories


def test_every_rule_is_sent_at_every_rank() -> None:
    ranks: dict[str, set[int]] = {}
    for config in CONFIGS:
        ranks.setdefault(config.rule, set()).add(config.rank)
        assert len(config.params.input_size) == config.rank == len(config.params.weight_shape) - 2 or (
            config.rule == "weight_wrong_rank" and len(config.params.weight_shape) == config.rank + 1
        ), config.name
    assert ranks and all(r == {1, 2, 3} for r in ranks.values()), ranks


#: The canonical rule each quantization configuration breaks, written out by hand.
QUANT_RULES = {
    "quant_input_scale_zero": "quant_scale",
    "quant_input_scale_negative": "quant_scale",
    "quant_weight_scale_zero": "quant_scale",
    "quant_weight_scale_negative": "quant_scale",
    "quant_output_scale_zero": "quant_scale",
    "quant_output_scale_negative": "quant_scale",
    "quant_input_zero_point_out_of_range": "quant_zero_point",
    "quant_weight_zero_point_out_of_range": "quant_zero_point",
    "quant_output_zero_point_out_of_range": "quant_zero_point",
    "quant_per_channel_length": "quant_channels",
    "quant_per_channel_scale_zero_point_lengths": "quant_channels",
}


def test_quantization_configurations_break_the_rule_they_name() -> None:
    quant = [c for c in CONFIGS if c.category == "quantization"]
    assert {c.rule for c in quant} == {*QUANT_RULES, "quant_valid", "quant_per_channel_valid"}
    for config in quant:
        canonical = config.canonical()
        if config.rule in QUANT_RULES:
            assert isinstance(canonical, InvalidCase) and canonical.rule == QUANT_RULES[config.rule], (
                config.name
            )
            assert config.expect == "error"
        else:
            assert isinstance(canonical, Case) and canonical.quantization is not None, config.name
    # a float configuration asked for an int8 target becomes an int8 case of the default quantization
    float_valid = next(c for c in CONFIGS if c.name == "output_padding_below_stride_2d")
    floating = float_valid.canonical()
    assert isinstance(floating, Case) and floating.quantization is None
    int8 = float_valid.canonical(quantized=True)
    assert isinstance(int8, Case) and int8.dtype == "int8" and int8.quantization is not None


def test_raw_parameters_travel_as_plain_data() -> None:
    for config in CONFIGS:
        sent = json.loads(json.dumps(asdict(config.params)))
        assert RawParams.from_dict(sent) == config.params, config.name


BAD = "RuntimeError: integer modulo by zero"


@pytest.mark.parametrize(
    ("expect", "response", "assessment"),
    [
        ("error", {"response": "error", "message": "groups must be a positive integer"}, "clear"),
        ("error", {"response": "error", "message": BAD}, "opaque"),
        ("error", {"response": "error", "message": BAD, "message_verdict": "clear"}, "clear"),
        ("error", {"response": "accepted", "shape": [1, 2, 6, 6]}, "accepted"),
        (
            "accept",
            {"response": "error", "message": "groups?", "documented_valid": "the docs say so"},
            "refused_valid",
        ),
        ("accept", {"response": "error", "message": "groups must divide"}, "clear"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 6]}, "ok"),
        ("accept", {"response": "accepted", "shape": [1, 2, 6, 7]}, "wrong_shape"),
        (
            "accept",
            {"response": "accepted", "shape": [1, 2, 6, 6], "values": {"outcome": "value_mismatch"}},
            "wrong_values",
        ),
        ("either", {"response": "error", "message": BAD}, "opaque"),
        ("either", {"response": "accepted", "shape": [1, 2, 5, 6]}, "wrong_shape"),
        ("either", {"response": "crash"}, "crash"),
        ("error", {"response": "hang"}, "hang"),
    ],
)
def test_assessment(expect: str, response: dict[str, Any], assessment: str) -> None:
    config = Config("c", "test", "a 4x4 input, k=3", expect, raw(), ("groups",), "c")
    assert config.expected_shape() == [1, 2, 6, 6]
    assert assess(config, response) == assessment
    assert assessment in VERDICTS


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
    configs = [c for c in CONFIGS if c.rank == 2 and c.category != "quantization"]
    result = audit_invalid(names, configs=configs)
    assert len(result["configurations"]) == len(configs)
    for row in result["configurations"]:
        assert set(row["responses"]) == set(names)
        assert row["responses"]["tensorrt"]["response"] == "not_run"
        for name in names[:2]:
            response = row["responses"][name]
            config = next(c for c in configs if c.name == row["name"])
            assert response["assessment"] == assess(config, response)
    valid = next(r for r in result["configurations"] if r["name"] == "output_padding_below_stride_2d")
    assert valid["responses"]["torch.functional"]["assessment"] == "ok"


def test_raw_parameters_default_to_a_valid_case() -> None:
    params = raw()
    case = Config("c", "t", "", "accept", params).canonical()
    assert isinstance(case, Case) and not isinstance(case, InvalidCase)
    assert params.weight_shape == case.weight_shape
    assert params.output_size == case.output_size


class RefusingTarget(CorrectTarget):
    """Refuses every probe with :attr:`text`; documents the output size :attr:`documented` gives."""

    name = "test.refusing"
    text = "no"
    documented: tuple[int, ...] | None = None
    inexpressible: str | None = None

    def probe(self, params: dict[str, Any]) -> list[int]:
        """Always :attr:`text`."""
        raise ValueError(self.text)

    def expressible(self, case: Case) -> str | None:
        """:attr:`inexpressible` for every case."""
        return self.inexpressible

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """None, or a formula giving :attr:`documented` whatever the case."""
        size = self.documented
        if size is None:
            return None
        return ExplicitFormula("refusing.deconv", "O = documented", "tests", lambda case: size)


def _refusal(target: RefusingTarget, config_name: str) -> tuple[str, dict[str, Any]]:
    config = next(c for c in CONFIGS if c.name == config_name)
    response = probe(LoadedTarget(target.name, handle(target), None, target), config)
    return assess(config, response), response


def test_a_refusal_of_what_the_documentation_accepts_is_refused_valid() -> None:
    # stride 2, output_padding 1, 2-D: canonical output 10 x 10, which the target declares expressible
    target = RefusingTarget()
    target.text = "output_padding must be smaller than stride"
    verdict, response = _refusal(target, "output_padding_below_stride_2d")
    assert verdict == "refused_valid" and "[10, 10]" in response["documented_valid"]
    target.documented = (7, 7)
    verdict, response = _refusal(target, "output_padding_below_stride_2d")
    assert verdict == "refused_valid" and "refusing.deconv" in response["documented_valid"]
    # the same message is clear where the documentation refuses: its formula gives no positive size,
    target.documented = (0, 7)
    assert _refusal(target, "output_padding_below_stride_2d")[0] == "clear"
    # or the adapter (transcribing the documented limits) declares the case inexpressible
    target.documented, target.inexpressible = None, "output_padding below the stride is not documented"
    case = next(c for c in CONFIGS if c.name == "output_padding_below_stride_2d").canonical()
    assert isinstance(case, Case) and target.supports(case)
    assert _refusal(target, "output_padding_below_stride_2d")[0] == "clear"
    # and a configuration the canonical model rejects is judged by its message alone
    target.inexpressible, target.text = None, "Trying to create tensor with negative dimension -2"
    assert _refusal(target, "stride_zero_2d")[0] == "opaque"
    assert _refusal(target, "groups_negative_1d")[0] == "opaque"


def test_documented_acceptance_reads_the_formula() -> None:
    target = RefusingTarget()
    case = next(c for c in CONFIGS if c.name == "crop_beyond_kernel_3d").canonical()
    assert isinstance(case, Case) and case.output_size == (1, 1, 1)
    assert documented_acceptance(target, case) is not None
    target.documented = (1, 1, 0)
    assert documented_acceptance(target, case) is None


@needs("torch")
def test_quantization_parameters_reach_torch_quantized() -> None:
    from adapters.torch.nn import TorchNN
    from adapters.torch.quantized import TorchQuantized

    int8 = TorchQuantized()
    subject = LoadedTarget(int8.name, handle(int8), None, int8)
    by_name = {c.name: c for c in CONFIGS}
    valid = probe(subject, by_name["quant_valid_2d"])
    assert valid["shape"] == [1, 2, 6, 6] and valid["values"]["outcome"] == "pass"
    assert assess(by_name["quant_valid_2d"], valid) == "ok"
    # torch's own check of the zero point, in its words
    zp = probe(subject, by_name["quant_weight_zero_point_out_of_range_1d"])
    assert zp["response"] == "error" and "zero_point 128" in zp["message"]
    assert assess(by_name["quant_weight_zero_point_out_of_range_1d"], zp) == "clear"
    length = probe(subject, by_name["quant_per_channel_length_3d"])
    assert length["response"] == "error" and "scales" in length["message"]
    # a float configuration runs on the int8 target with the default quantization
    geometric = probe(subject, by_name["output_padding_below_stride_1d"])
    assert geometric["shape"] == [1, 2, 10] and geometric["values"]["outcome"] == "pass"
    # and a float target cannot be given a quantization
    floating = TorchNN()
    response = probe(LoadedTarget(floating.name, handle(floating), None, floating), by_name["quant_valid_2d"])
    assert response["response"] == "not_applicable" and "quantization" in response["message"]
