"""Other forms of the same call, for a target whose direct translation diverges.

The output of a transposed convolution depends only on its begin crop and its output size
(:mod:`harness.model.case`), so one canonical case can be written several ways in one API. When
the direct call fails in a target — other values, another shape, an error, a crash — :func:`search`
tries, in this fixed order and at most :data:`MAX_FORMS` of them:

1. ``crops``: the same call with the crop split differently between the end crop and the output
   padding (asymmetric padding instead of ``output_padding``, or the converse), fewest output
   padding first;
2. ``api_form``: the same API called another way, as another registered target
   (:attr:`adapters.protocol.TargetApi.api_forms`: ``forward(output_size=…)`` instead of
   ``output_padding``, ONNX ``output_shape`` instead of ``pads``);
3. ``named_mode``: the API's own named mode, where its documentation gives this case's output;
4. ``slice``: the uncropped transposed convolution, then a slice of its output.

Each form is run in the target's worker and judged against the reference of the pinned case
(:class:`harness.audits.port_verify.Verifier`): an alternative is offered only when it computes the
same output, never a different case. The direct call's divergence stays a finding; the form is
offered as the call that works around it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters.protocol import TargetApi
from harness.audits.common import LoadedTarget, one_line_call
from harness.audits.port_verify import Transform, Verifier, output_key
from harness.errors import InvalidCase
from harness.model.case import Case
from harness.model.modes import resolve_mode
from harness.model.outcomes import Outcome

#: Forms tried per target at most (each is one run of a tiny or real-size case).
MAX_FORMS = 8
#: Outcomes of the direct call that start a search (a timeout does not: each form could take as long).
SEARCHED = (Outcome.VALUE_MISMATCH, Outcome.SHAPE_MISMATCH, Outcome.ERROR, Outcome.CRASH)


def call_of(target: TargetApi, case: Case) -> str:
    """The target's one-line call; for a target that describes no plan, the last code line of its
    snippet."""
    text = one_line_call(target, case)
    if text is not None:
        return text
    lines = [ln for ln in target.snippet(case).splitlines() if ln and not ln.startswith(("import", "#"))]
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class Form:
    """One way of writing the case in a target's API, and how its output is read."""

    kind: str
    description: str
    target: LoadedTarget
    run_case: Case
    call: str
    transform: Transform | None = None


def crop_splits(case: Case) -> list[Case]:
    """The case with the same begin crop and output size, the rest split otherwise between the end
    crop and the output padding (each output padding below max(stride, dilation), where APIs take
    it), fewest output padding first."""
    rests, choices = [], []
    for full, cb, size, s, d in zip(
        case.full_size, case.pads_begin, case.output_size, case.stride, case.dilation, strict=True
    ):
        rest = full - cb - size  # end crop minus output padding
        rests.append(rest)
        low = max(0, -rest)
        choices.append(range(low, max(low + 1, max(s, d))))
    combos = sorted(itertools.product(*choices), key=lambda ops: (sum(ops), ops))
    out = []
    for ops in combos[: 4 * MAX_FORMS]:
        ends = tuple(op + rest for op, rest in zip(ops, rests, strict=True))
        split = case.replace(pads_end=ends, output_padding=tuple(ops))
        if split != case:
            out.append(split)
    return out


def _crop_text(case: Case) -> str:
    if not any(case.output_padding):
        return f"end crop {list(case.pads_end)} and no output_padding"
    return f"end crop {list(case.pads_end)} with output_padding {list(case.output_padding)}"


def _slicer(case: Case) -> tuple[Transform, str]:
    """The slice of the uncropped output that is the case's output (NC* for the comparison, the
    API's layout in the text)."""
    spans = [slice(cb, cb + size) for cb, size in zip(case.pads_begin, case.output_size, strict=True)]
    index = (slice(None), slice(None), *spans)
    texts = [f"{s.start}:{s.stop}" for s in spans]
    if case.layout == "channels_last":
        text = ", ".join([":", *texts, ":"])
    else:
        text = ", ".join([":", ":", *texts])

    def cut(y: np.ndarray) -> np.ndarray:
        return y[index]

    return cut, text


def forms(
    loaded: LoadedTarget, case: Case, direct_call: str, sibling: Callable[[str], LoadedTarget]
) -> Iterator[Form]:
    """Every other form of ``case`` the target's API expresses, in the order of the module
    docstring (calls equal to one already given are left out)."""
    pure = loaded.pure
    assert pure is not None
    seen = {direct_call}

    def fresh(form: Form) -> bool:
        if form.call in seen:
            return False
        seen.add(form.call)
        return True

    for split in crop_splits(case):
        if pure.supports(split) is None:
            form = Form("crops", _crop_text(split), loaded, split, call_of(pure, split))
            if fresh(form):
                yield form
    for name in pure.api_forms:
        other = sibling(name)
        if other.pure is not None and other.pure.supports(case) is None:
            form = Form(
                "api_form", f"{name}: the same API called another way", other, case, call_of(other.pure, case)
            )
            if fresh(form):
                yield form
    yield from _mode_forms(loaded, case, fresh)
    if any(case.pads_begin) or case.output_size != case.full_size:
        yield from _slice_forms(loaded, case, fresh)


def _mode_forms(loaded: LoadedTarget, case: Case, fresh: Callable[[Form], bool]) -> Iterator[Form]:
    pure = loaded.pure
    assert pure is not None
    zero = (0,) * case.rank
    for mode in sorted(pure.capabilities().padding_modes):
        mode_case = case.replace(padding_mode=mode, pads_begin=zero, pads_end=zero, output_padding=zero)
        if pure.supports(mode_case) is not None:
            continue
        documented = pure.documented_mode(mode, case.rank)
        try:
            if output_key(resolve_mode(mode_case, documented)) != output_key(case):
                continue
        except InvalidCase:
            continue
        form = Form(
            "named_mode",
            f"its own {documented.api_value!r} instead of explicit crops",
            loaded,
            mode_case,
            call_of(pure, mode_case),
        )
        if fresh(form):
            yield form


def _slice_forms(loaded: LoadedTarget, case: Case, fresh: Callable[[Form], bool]) -> Iterator[Form]:
    pure = loaded.pure
    assert pure is not None
    ends = [cb + size for cb, size in zip(case.pads_begin, case.output_size, strict=True)]
    if any(end > full for end, full in zip(ends, case.full_size, strict=True)):
        return  # positions past the full output hold the bias alone: no slice of it reaches them
    zero = (0,) * case.rank
    uncropped = case.replace(pads_begin=zero, pads_end=zero, output_padding=zero)
    if pure.supports(uncropped) is not None:
        return
    cut, text = _slicer(case)
    call = f"{call_of(pure, uncropped)}; then y = y[{text}]"
    form = Form(
        "slice", f"the uncropped transposed convolution, then y[{text}]", loaded, uncropped, call, cut
    )
    if fresh(form):
        yield form


def finding_text(name: str, result: dict[str, Any]) -> str:
    """The direct call's divergence in one line: what the form works around."""
    message = str(result.get("message") or "").strip().splitlines()
    first = message[0] if message else ""
    outcome = result.get("outcome", "failed")
    if outcome in (Outcome.ERROR, Outcome.CRASH):
        verb = "raises" if outcome == Outcome.ERROR else "crashes"
        return f"{name} {verb} on the direct call: {first}"
    return f"{name} {outcome} on the direct call: {first}"


def search(
    verifier: Verifier,
    loaded: LoadedTarget,
    case: Case,
    direct: dict[str, Any],
    direct_call: str,
    sibling: Callable[[str], LoadedTarget],
) -> dict[str, Any] | None:
    """The first form that verifies (with what it works around), or what was tried; None when the
    direct call did not diverge (or timed out)."""
    if direct.get("verified") or direct.get("not_run") or direct.get("outcome") not in SEARCHED:
        return None
    works_around = finding_text(loaded.name, direct)
    tried: list[dict[str, Any]] = []
    for form in itertools.islice(forms(loaded, case, direct_call, sibling), MAX_FORMS):
        result = verifier.verify(form.target, form.run_case, form.transform)
        attempt = {
            "kind": form.kind,
            "description": form.description,
            "target": form.target.name,
            "call": form.call,
            **result,
        }
        tried.append(attempt)
        if result.get("verified"):
            return {"found": attempt, "works_around": works_around, "tried": tried}
    return {"found": None, "works_around": works_around, "tried": tried}
