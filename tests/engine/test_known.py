"""The known-findings file: checked as a spec is (``file:line: key rule``), and what its entries match."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engine.known import load_known
from harness.errors import KnownFindingsError, UsageError

SIG = "torch.nn|value_mismatch|beyond_bound|dtype=float16,groups>1"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(KnownFindingsError) as caught:
        load_known(_file(tmp_path, text))
    assert isinstance(caught.value, UsageError)  # exit 2, one line per problem
    return str(caught.value).splitlines()


def test_each_problem_is_file_line_key_rule(tmp_path: Path) -> None:
    lines = _problems(
        tmp_path,
        "known:\n"
        f"  - signature: '{SIG}'\n"  # line 2: fine
        "    reason: upstream\n"
        "  - target: paddle.*\n"  # line 4
        "    outcome: valu_mismatch\n"  # line 5: not an outcome
        "    reason: x\n"
        "  - target: torch.nn\n"  # line 7
        "    features: [crop, grops>1]\n"  # line 8: not a feature token
        "    reason: '  '\n"  # line 9: says nothing
        "    link: 'javascript:alert(1)'\n"  # line 10: not a web address
        "  - signature: 'a|error|RuntimeError|'\n"  # line 11
        "    target: b\n"  # line 12: both forms
        "    reason: y\n"
        "  - reason: z\n"  # line 14: no signature, no pattern
        "  - target: c\n"  # line 15
        "    colour: red\n",  # line 16: unknown key; reason missing
    )
    path = tmp_path / "known.yaml"
    assert lines[0] == (
        f"{path}:5: known[1].outcome must be one of 'shape_mismatch', 'value_mismatch', 'doc_mismatch', "
        "'error', 'crash' or 'timeout' (got 'valu_mismatch')"
    )
    assert f"{path}:8: known[2].features[1] is not a signature feature (got 'grops>1'" in lines[1]
    assert lines[2] == f"{path}:9: known[2].reason must say why the finding is accepted (got an empty reason)"
    assert (
        lines[3]
        == f"{path}:10: known[2].link must be an http:// or https:// address (got 'javascript:alert(1)')"
    )
    assert lines[4].startswith(f"{path}:12: known[3].target: an entry is a signature or a pattern, not both")
    assert lines[5].startswith(f"{path}:14: known[4] must give a signature, or a pattern")
    assert any(line.startswith(f"{path}:15: known[5].reason is required but missing") for line in lines)
    assert any(line.startswith(f"{path}:16: known[5].colour is not a known key") for line in lines)


def test_a_signature_must_have_the_signature_form(tmp_path: Path) -> None:
    lines = _problems(tmp_path, "known:\n  - signature: torch.nn value mismatch\n    reason: x\n")
    assert lines == [
        f"{tmp_path / 'known.yaml'}:2: known[0].signature must be a finding signature "
        "target|outcome|detail|features[|mechanism] with a failing outcome (got 'torch.nn value mismatch')"
    ]


def test_the_file_is_read_with_the_specs_hardening(tmp_path: Path) -> None:
    aliased = _problems(tmp_path, "known:\n  - &e {target: a, reason: x}\n  - *e\n")
    assert aliased[0].endswith(
        "a known-findings file may not use YAML anchors or aliases (write each value out where it is used)"
    )
    assert _problems(tmp_path, "- a\n") == [
        f"{tmp_path / 'known.yaml'}:1: a known-findings file must be a mapping of keys"
    ]
    (tmp_path / "known.yaml").write_bytes(b"known: []\nx: \xff\n")
    with pytest.raises(KnownFindingsError, match=r"known.yaml:2: known-findings file is not UTF-8 text"):
        load_known(tmp_path / "known.yaml")
    with pytest.raises(KnownFindingsError, match="cannot read known-findings file"):
        load_known(tmp_path / "missing.yaml")


def test_entries_match_by_signature_or_pattern_first_entry_first(tmp_path: Path) -> None:
    known = load_known(
        _file(
            tmp_path,
            "description: accepted\n"
            "known:\n"
            f"  - signature: '{SIG}'\n"
            "    reason: fp16 accumulation\n"
            "    link: https://github.com/pytorch/pytorch/issues/1\n"
            "  - target: 'paddle.*'\n"
            "    outcome: shape_mismatch\n"
            "    features: [output_padding]\n"
            "    reason: paddle drops output_padding\n"
            "  - detail: RuntimeError\n"
            "    reason: any RuntimeError\n",
        )
    )
    fields = {"target": "torch.nn", "outcome": "value_mismatch", "detail": "beyond_bound"}
    first = known.match(signature=SIG, features=["dtype=float16", "groups>1"], **fields)
    assert first is not None and first.index == 0 and first.where == f"{tmp_path / 'known.yaml'}:3"
    assert known.match(signature=SIG + ",bias", features=[], **fields) is None  # signatures are exact
    shape = {"signature": "x", "outcome": "shape_mismatch", "detail": "shape"}
    matched = known.match(target="paddle.functional", features=["output_padding", "crop"], **shape)
    assert matched is not None and matched.index == 1  # a glob, and features as a subset
    assert known.match(target="paddle.nn", features=["crop"], **shape) is None  # lacks output_padding
    assert known.match(target="torch.nn", features=["output_padding"], **shape) is None  # not paddle.*
    error = known.match(
        signature="y", target="onnxruntime", outcome="error", detail="RuntimeError", features=[]
    )
    assert error is not None and error.index == 2
    assert [r.index for r in known.stale([first, error])] == [1]


def test_an_empty_list_accepts_nothing(tmp_path: Path) -> None:
    known = load_known(_file(tmp_path, "known: []\n"))
    assert known.rules == ()
    assert known.match(signature=SIG, target="t", outcome="error", detail="d", features=[]) is None


def test_a_mechanism_pattern_tells_zeros_from_stale_values(tmp_path: Path) -> None:
    known = load_known(
        _file(
            tmp_path,
            "known:\n"
            "  - target: mindspore.nn\n"
            "    mechanism: 'zero_for_finite@appended'\n"
            "    reason: appended positions left at 0\n",
        )
    )
    base = {"target": "mindspore.nn", "outcome": "value_mismatch", "detail": "beyond_bound"}
    record = {**base, "signature": "s", "mechanism": "zero_for_finite@appended"}
    assert known.match_record(record) is not None
    assert known.match_record({**record, "mechanism": "finite_for_finite@appended"}) is None
    # a plain failing case: any mechanism its statistics list
    case = {
        **base,
        "stats": {"mechanisms": [{"key": "nan_for_finite@inside"}, {"key": "zero_for_finite@appended"}]},
    }
    assert known.match_record(case) is not None
    assert known.match_record({**base, "stats": {}}) is None
    assert known.rules[0].entry.describe() == "target=mindspore.nn mechanism=zero_for_finite@appended"
