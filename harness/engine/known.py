"""Known findings: the accepted divergences of a known-findings file, each with why.

A known-findings file is YAML, read and checked the way a spec is (:mod:`harness.spec.loader`: a
regular UTF-8 file of at most 1 MiB, safe loading, no anchors; every problem is
``file:line: key rule``, :class:`~harness.errors.KnownFindingsError`, exit 2)::

    description: str               # optional
    known:                         # required, a list (may be empty)
      - signature: str             # a finding's signature, target|outcome|detail|features[|mechanism]
        reason: str                # required: why the finding is accepted
        link: str                  # optional: an http(s) address (an issue, a discussion)
      - target: str                # or a pattern: a target name or a glob (paddle.*)
        outcome: str               #   a failing outcome (value_mismatch, error, …)
        detail: str                #   the record's detail (beyond_bound, RuntimeError, …)
        features: [str]            #   signature tokens the finding must all have (it may have more)
        mechanism: str             #   a value mismatch's mechanism, pattern@region, or a glob (*@appended)
        reason: str
        link: str

An entry is a signature or a pattern, never both; a pattern names at least one of its keys, and
matches a finding when every key it names agrees. Findings are matched in file order: the first
entry that matches accepts the finding. An entry that matches no finding of a run is *stale*
(the bug was fixed, or its target did not run); reports list stale entries.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from harness.errors import KnownFindingsError
from harness.model.features import SIGNATURE_TOKEN
from harness.model.outcomes import FAILING
from harness.spec.keys import RuleError
from harness.spec.loader import parse_yaml_model, read_yaml_text

NOUN = "known-findings file"
FailingOutcome = Literal["shape_mismatch", "value_mismatch", "doc_mismatch", "error", "crash", "timeout"]
_PATTERN_KEYS = ("target", "outcome", "detail", "features", "mechanism")


class KnownEntry(BaseModel):
    """One entry of a known-findings file: a signature or a pattern, its reason and link."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signature: str | None = None
    target: str | None = None
    outcome: FailingOutcome | None = None
    detail: str | None = None
    features: tuple[str, ...] | None = None
    mechanism: str | None = None
    reason: str
    link: str | None = None

    @field_validator("signature")
    @classmethod
    def _signature_form(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = value.split("|")
        if len(parts) not in (4, 5) or not parts[0] or parts[1] not in FAILING:
            raise RuleError(
                "{key} must be a finding signature target|outcome|detail|features[|mechanism] with a "
                f"failing outcome (got {value!r})"
            )
        return value

    @field_validator("target", "detail", "mechanism")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise RuleError("{key} must not be empty")
        return value

    @field_validator("features")
    @classmethod
    def _tokens(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for index, token in enumerate(value or ()):
            if not SIGNATURE_TOKEN.fullmatch(token):
                raise RuleError(
                    f"{{key}} is not a signature feature (got {token!r}; e.g. rank=2, groups>1, "
                    "crop, output_padding, bias, dtype=float16)",
                    (index,),
                )
        return value

    @field_validator("reason")
    @classmethod
    def _reason_says_why(cls, value: str) -> str:
        if not value.strip():
            raise RuleError("{key} must say why the finding is accepted (got an empty reason)")
        return value

    @field_validator("link")
    @classmethod
    def _http_link(cls, value: str | None) -> str | None:
        # the report makes it a link: only a plain web address, never javascript: or a local file
        if value is not None and not _is_web_address(value):
            raise RuleError(f"{{key}} must be an http:// or https:// address (got {value!r})")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> KnownEntry:
        named = [key for key in _PATTERN_KEYS if getattr(self, key) is not None]
        if self.signature is not None and named:
            raise RuleError(
                "{key}: an entry is a signature or a pattern, not both (drop signature or "
                f"{', '.join(named)})",
                (named[0],),
            )
        if self.signature is None and not named:
            raise RuleError(
                "{here} must give a signature, or a pattern of target, outcome, detail and features "
                "(at least one)"
            )
        return self

    def matches(
        self,
        *,
        signature: str,
        target: str,
        outcome: str,
        detail: str,
        features: Iterable[str],
        mechanisms: Iterable[str] = (),
    ) -> bool:
        """Whether a finding with these fields (and these mechanism keys) is the one this entry
        accepts; a ``mechanism`` pattern matches when one of ``mechanisms`` does."""
        if self.signature is not None:
            return signature == self.signature
        return (
            (self.target is None or fnmatchcase(target, self.target))
            and (self.outcome is None or outcome == self.outcome)
            and (self.detail is None or detail == self.detail)
            and (self.features is None or set(self.features) <= set(features))
            and (self.mechanism is None or any(fnmatchcase(m, self.mechanism) for m in mechanisms))
        )

    def describe(self) -> str:
        """The entry's signature, or its pattern as ``key=value`` pairs."""
        if self.signature is not None:
            return self.signature
        parts = [
            f"{key}={getattr(self, key)}" for key in ("target", "outcome", "detail") if getattr(self, key)
        ]
        if self.features is not None:
            parts.append(f"features={','.join(self.features)}")
        if self.mechanism is not None:
            parts.append(f"mechanism={self.mechanism}")
        return " ".join(parts)


def record_mechanisms(record: Mapping[str, Any]) -> list[str]:
    """The mechanism keys of a record: its ``mechanism`` (a finding's), else those of its
    ``stats["mechanisms"]`` (:mod:`harness.oracle.mechanism`)."""
    if record.get("mechanism"):
        return [str(record["mechanism"])]
    listed = (record.get("stats") or {}).get("mechanisms")
    if not isinstance(listed, list):
        return []
    return [str(m["key"]) for m in listed if isinstance(m, dict) and m.get("key")]


def _is_web_address(text: str) -> bool:
    scheme, sep, rest = text.partition("://")
    return (
        bool(sep)
        and scheme.lower() in ("http", "https")
        and bool(rest)
        and not any(c.isspace() or c in "<>\"'`" or ord(c) < 32 for c in text)
    )


class KnownFile(BaseModel):
    """The top level of a known-findings file."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    known: list[KnownEntry]


@dataclass(frozen=True)
class KnownRule:
    """An entry with where it stands in its file."""

    entry: KnownEntry
    path: str
    line: int | None
    index: int

    @property
    def where(self) -> str:
        """``file:line`` of the entry."""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``summary.json``)."""
        return {
            "where": self.where,
            "entry": self.entry.describe(),
            "reason": self.entry.reason,
            "link": self.entry.link,
        }


@dataclass(frozen=True)
class KnownFindings:
    """The entries of one known-findings file, in file order."""

    path: str
    rules: tuple[KnownRule, ...]

    def match(
        self,
        *,
        signature: str,
        target: str,
        outcome: str,
        detail: str,
        features: Iterable[str],
        mechanisms: Iterable[str] = (),
    ) -> KnownRule | None:
        """The first entry accepting a finding with these fields, or None (a new finding)."""
        tokens = frozenset(features)
        keys = tuple(mechanisms)
        for rule in self.rules:
            if rule.entry.matches(
                signature=signature,
                target=target,
                outcome=outcome,
                detail=detail,
                features=tokens,
                mechanisms=keys,
            ):
                return rule
        return None

    def match_record(self, record: Mapping[str, Any]) -> KnownRule | None:
        """:meth:`match` for a record (``results.jsonl``): a finding's mechanism is its record's
        ``mechanism``; a plain failing case's, every mechanism its statistics list."""
        return self.match(
            signature=str(record.get("signature") or ""),
            target=str(record.get("target") or ""),
            outcome=str(record.get("outcome") or ""),
            detail=str(record.get("detail") or ""),
            features=[str(f) for f in record.get("features") or []],
            mechanisms=record_mechanisms(record),
        )

    def stale(self, matched: Iterable[KnownRule]) -> list[KnownRule]:
        """The entries not among ``matched`` (they accepted no finding), in file order."""
        used = {rule.index for rule in matched}
        return [rule for rule in self.rules if rule.index not in used]


def load_known(path: str | os.PathLike[str]) -> KnownFindings:
    """Read and check a known-findings file; :class:`KnownFindingsError` (``file:line: key rule``)
    for any problem."""
    text = read_yaml_text(path, noun=NOUN, error=KnownFindingsError)
    parsed, lines = parse_yaml_model(text, path, KnownFile, noun=NOUN, error=KnownFindingsError)
    shown = str(path)
    return KnownFindings(
        shown,
        tuple(
            KnownRule(entry, shown, lines.get(("known", str(i))), i) for i, entry in enumerate(parsed.known)
        ),
    )
