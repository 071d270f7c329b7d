"""``python -m harness audit-docs``: every target's documented output sizes and crop splits, checked
against what the framework does on generated cases.

The documentation of each target is data with its source: the named modes are the targets'
:class:`~harness.modes.DocumentedMode` declarations; the explicit-padding formulas are
:class:`ExplicitFormula` entries here, each evaluated on the arguments the target's adapter really
passes (the formula is the API's, written in its own parameters). A departure is a generated case
whose output size differs from the documented one, or — for a named mode whose size matches — whose
values match another crop than the documented split. Each kind of departure is shrunk to a minimal
case and written to ``DIR/doc_audit.json``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.mindspore.nn import MindSporeNN
from adapters.mindspore.ops import MindSporeOps
from adapters.onnxruntime import model as onnx_model
from adapters.paddle.common import FORM_FULL_RANK, FORM_PAIRS, plan_call
from adapters.protocol import symmetric_padding_for
from adapters.tensorrt import model as tm
from harness.audits.common import (
    LoadedTarget,
    explain_output,
    generated_cases,
    guarded_run,
    load_targets,
    make_command,
    mode_variants,
    size_key,
)
from harness.engine.findings import shrink
from harness.errors import InvalidCase
from harness.model.arrays import make_arrays
from harness.model.case import Case
from harness.model.modes import resolve
from harness.oracle.compare import compare
from harness.oracle.tolerance import ReferenceResult

DOC_AUDIT_FILE = "doc_audit.json"
DOC_AUDIT_SCHEMA = "convt-doc-audit/1"
NAMED_MODES = ("same", "same_lower", "valid")
SHRINK_EVALUATIONS = 80

TORCH_DOC = "https://docs.pytorch.org/docs/stable/generated/torch.nn.ConvTranspose{r}d.html"
TORCH_SEEDS = {1: "seeds/004_54bec4feb12fa2ba.txt", 2: "seeds/003_f90ce2d32773065c.txt"}
PADDLE_DOC = (
    "paddle 3.3.1 docstrings of paddle.nn.Conv{r}DTranspose (Shape) and "
    "paddle.nn.functional.conv{r}d_transpose (Example); "
    "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Conv{r}DTranspose_en.html"
)
MS_DOC = "https://www.mindspore.cn/docs/en/r2.10.0/api_python"


@dataclass(frozen=True)
class ExplicitFormula:
    """An API's documented output size for explicit padding, as text with its source, and as code
    taking the case (mapped to the API's arguments the way the target's adapter maps it)."""

    api: str
    formula: str
    source: str
    size: Callable[[Case], tuple[int, ...]]

    def to_dict(self) -> dict[str, str]:
        """JSON-ready description."""
        return {"api": self.api, "formula": self.formula, "source": self.source}


def _torch_size(case: Case) -> tuple[int, ...]:
    form = symmetric_padding_for(case)
    assert not isinstance(form, str), form
    padding, op = form
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            case.input_size, case.stride, padding, case.dilation, case.kernel_size, op, strict=True
        )
    )


def _paddle_size(case: Case) -> tuple[int, ...]:
    call = plan_call(case)
    if call.output_size is not None:
        return tuple(call.output_size)
    if call.form in (FORM_PAIRS, FORM_FULL_RANK):
        begin, end = case.pads_begin, case.pads_end
    else:
        begin = end = tuple(call.padding) if isinstance(call.padding, list) else (call.padding,) * case.rank
    extra = call.output_padding or [0] * case.rank
    return tuple(
        (n - 1) * s - b - e + d * (k - 1) + 1 + o
        for n, s, b, e, d, k, o in zip(
            case.input_size, case.stride, begin, end, case.dilation, case.kernel_size, extra, strict=True
        )
    )


def _ms_pairs(value: Any, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """MindSpore's int-or-(b1, e1, b2, e2, …) padding as (begin, end)."""
    if isinstance(value, int):
        return (value,) * rank, (value,) * rank
    return tuple(value[0::2]), tuple(value[1::2])


def _per_dim(value: Any, rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _ms_nn_size(case: Case) -> tuple[int, ...]:
    args = MindSporeNN().arguments(case)
    r = case.rank
    k, s, d = (_per_dim(args[n], r) for n in ("kernel_size", "stride", "dilation"))
    begin, end = _ms_pairs(args["padding"], r)
    op = _per_dim(args.get("output_padding", 0), r)
    rows = zip(case.input_size, k, s, d, begin, end, op, strict=True)
    if r == 1:
        return tuple((n - 1) * si - 2 * b + di * (ki - 1) + 1 for n, ki, si, di, b, _, _ in rows)
    if r == 2:
        return tuple(n * si - (b + e) + ki + (di - 1) * (ki - 1) - si + o for n, ki, si, di, b, e, o in rows)
    return tuple((n + b + e - (di - 1) * ki - 1) // si + 1 for n, ki, si, di, b, e, _ in rows)


def _ms_ops_size(case: Case) -> tuple[int, ...]:
    target = MindSporeOps()
    if case.rank == 2:
        return tuple(target.input_size(case)[2:])
    args = target.arguments(case)
    pad = args["pad"]
    # As written: "− 2 × pad[i]" for dimension i, pad[i] indexing the int or the 6-tuple.
    pads = (pad,) * 3 if isinstance(pad, int) else tuple(pad[:3])
    op = _per_dim(args.get("output_padding", 0), 3)
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            case.input_size, case.stride, pads, case.dilation, case.kernel_size, op, strict=True
        )
    )


def _onnx_size(case: Case) -> tuple[int, ...]:
    attrs = onnx_model.attributes(case)
    pads = attrs["pads"]
    op = attrs.get("output_padding", [0] * case.rank)
    r = case.rank
    return tuple(
        s * (n - 1) + o + ((k - 1) * d + 1) - pads[i] - pads[i + r]
        for i, (n, s, k, d, o) in enumerate(
            zip(case.input_size, case.stride, case.kernel_size, case.dilation, op, strict=True)
        )
    )


def _onnx_shape_size(case: Case) -> tuple[int, ...]:
    return tuple(onnx_model.attributes(case, use_output_shape=True)["output_shape"])


def _requested_size(case: Case) -> tuple[int, ...]:
    return tuple(case.output_size)


def _trt_size(case: Case) -> tuple[int, ...]:
    attrs = tm.translate(case)
    assert not isinstance(attrs, str), attrs
    return attrs.output_size()


def explicit_formula(target: str, rank: int) -> ExplicitFormula | None:
    """The documented explicit-padding size of a registered target at ``rank`` (None if none is
    recorded for that target)."""
    torch_src = f"{TORCH_DOC.format(r=rank)}" + (f"; {TORCH_SEEDS[rank]}" if rank in TORCH_SEEDS else "")
    paddle = ExplicitFormula(
        f"paddle.nn.Conv{rank}DTranspose / paddle.nn.functional.conv{rank}d_transpose",
        "O' = (L − 1)·stride − 2·padding + dilation·(k − 1) + 1 (read as − pad_begin − pad_end for the "
        "pair forms), + output_padding; with output_size: O = output_size ∈ [O', O' + stride)",
        PADDLE_DOC.format(r=rank)
        + ("; seeds/002_424ad79cc908f79b.txt" if rank == 3 else "")
        + "; output_padding: 'additional size added to one side of each dimension in the output shape'",
        _paddle_size,
    )
    table: dict[str, ExplicitFormula] = {
        "torch.nn": ExplicitFormula(
            f"torch.nn.ConvTranspose{rank}d",
            "O = (L − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1",
            torch_src,
            _torch_size,
        ),
        "torch.nn.output_size": ExplicitFormula(
            f"torch.nn.ConvTranspose{rank}d.forward(input, output_size)",
            "O = output_size ('exact output size can be also specified as an argument')",
            f"{TORCH_DOC.format(r=rank)}; seeds/003_f90ce2d32773065c.txt",
            _requested_size,
        ),
        "torch.functional": ExplicitFormula(
            f"torch.nn.functional.conv_transpose{rank}d",
            "O = (L − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1 (the "
            f"module's formula; the functional page refers to ConvTranspose{rank}d)",
            torch_src,
            _torch_size,
        ),
        "paddle.nn": paddle,
        "paddle.functional": paddle,
        "onnxruntime": ExplicitFormula(
            "ONNX ConvTranspose-22",
            "O = stride·(L − 1) + output_padding + ((k − 1)·dilation + 1) − pads_begin − pads_end",
            f"{onnx_model.SPEC_URL} (ConvTranspose-22)",
            _onnx_size,
        ),
        "onnxruntime.opset11": ExplicitFormula(
            "ONNX ConvTranspose-11",
            "O = stride·(L − 1) + output_padding + ((k − 1)·dilation + 1) − pads_begin − pads_end",
            f"{onnx_model.SPEC_URL} (ConvTranspose-11)",
            _onnx_size,
        ),
        "onnxruntime.output_shape": ExplicitFormula(
            "ONNX ConvTranspose-22 with output_shape",
            "O = output_shape",
            f"{onnx_model.SPEC_URL} (attribute output_shape)",
            _onnx_shape_size,
        ),
        "tensorrt": ExplicitFormula(
            "IDeconvolutionLayer (EXPLICIT_ROUND_DOWN)", "O = (I − 1)·S + DK − (B + A)", tm.SEED, _trt_size
        ),
        "tensorrt.round_up": ExplicitFormula(
            "IDeconvolutionLayer (EXPLICIT_ROUND_UP)",
            "O = (I − 1)·S + DK − (B + A) (no division: rounding up or down gives the same size)",
            tm.SEED,
            _trt_size,
        ),
    }
    table["onnxruntime.tensorrt_ep"] = table["onnxruntime"]
    table["tensorrt.dla"] = table["tensorrt.dla.gpu_fallback"] = table["tensorrt"]
    ms_nn = {
        1: (
            "L_out = (L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + 1",
            "mindspore.nn.Conv1dTranspose",
        ),
        2: (
            "H_out = H_in·stride − (padding[0] + padding[1]) + kernel_size "
            "+ (dilation − 1)·(kernel_size − 1) − stride + output_padding",
            "mindspore.nn.Conv2dTranspose",
        ),
        3: (
            "D_out = ⌊(D_in + padding[0] + padding[1] − (dilation − 1)·kernel_size − 1) / stride + 1⌋",
            "mindspore.nn.Conv3dTranspose",
        ),
    }
    text, api = ms_nn[rank]
    table["mindspore.nn"] = ExplicitFormula(
        f"{api} (pad_mode='pad')",
        text,
        f"2.10 docstring of {api} (Outputs, pad_mode 'pad'); "
        f"{MS_DOC}/nn/{api}.html" + ("; seeds/001_72a899d02d2b3d39.txt" if rank == 2 else ""),
        _ms_nn_size,
    )
    if rank == 2:
        table["mindspore.ops"] = ExplicitFormula(
            "mindspore.ops.Conv2DTranspose",
            "output shape = input_size ('It has the same shape as the "
            "input', input_size being that input's shape)",
            f"2.10 docstring of mindspore.ops.Conv2DTranspose (Inputs, Outputs); "
            f"{MS_DOC}/ops/mindspore.ops.Conv2DTranspose.html",
            _ms_ops_size,
        )
    elif rank == 3:
        table["mindspore.ops"] = ExplicitFormula(
            "mindspore.ops.Conv3DTranspose (pad_mode='pad')",
            "D_out = (D_in − 1)·stride[0] − 2·pad[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0]"
            " + 1, and likewise with pad[1], pad[2] for H and W (pad as written: the int, or the first "
            "three of the 6-tuple (head, tail, top, …))",
            "2.10 docstring of mindspore.ops.Conv3DTranspose; "
            f"{MS_DOC}/ops/mindspore.ops.Conv3DTranspose.html",
            _ms_ops_size,
        )
    return table.get(target)


# --- checking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """One case where behaviour departs from the documentation."""

    key: tuple[str, str, str, str]  # target, api, mode, aspect
    documented: dict[str, Any]
    actual: dict[str, Any]


def _crops(case: Case | None) -> dict[str, list[int]] | None:
    if case is None:
        return None
    return {
        "begin": list(case.pads_begin),
        "end": list(case.pads_end),
        "output_padding": list(case.output_padding),
    }


def api_label(target: str, case: Case) -> str:
    """The API a case exercises on a target, as departures name it."""
    formula = explicit_formula(target, case.rank)
    if case.padding_mode == "explicit" and formula is not None:
        return formula.api
    return formula.api.split(" (")[0] if formula is not None else f"{target} ({case.rank}-D)"


def check_case(loaded: LoadedTarget, case: Case) -> Departure | str | None:
    """A departure, an error text (the framework failed on a supported case), or None (agrees)."""
    assert loaded.target is not None and loaded.pure is not None
    target, pure = loaded.target, loaded.pure
    arrays = make_arrays(case)
    if case.padding_mode == "explicit":
        formula = explicit_formula(loaded.name, case.rank)
        if formula is None:
            return None
        documented_size = formula.size(case)
        result = guarded_run(target, case, arrays)
        if result.output is None:
            return f"{result.kind}: {result.message}"
        shape = tuple(result.output.shape)
        if shape[2:] == documented_size and shape[:2] == (case.batch, case.out_channels):
            return None
        return Departure(
            (loaded.name, api_label(loaded.name, case), "explicit", "output_size"),
            {"formula": formula.formula, "value": list(documented_size), "source": formula.source},
            {"value": list(shape[2:]), "shape": list(shape)},
        )
    mode = pure.documented_mode(case.padding_mode, case.rank)
    api = api_label(loaded.name, case)
    documented_size = mode.output_size(case)
    try:
        documented: Case | None = resolve(case, mode)
    except InvalidCase:
        documented = None
    result = guarded_run(target, case, arrays)
    doc = {
        "formula": mode.formula,
        "value": list(documented_size),
        "split": mode.split,
        "source": mode.source,
        "split_source": mode.split_source,
        "api_value": mode.api_value,
    }
    if result.output is None:
        if documented is None:
            return None  # the documentation gives an empty output and the framework refuses: agreed
        return f"{result.kind}: {result.message}"
    shape = tuple(result.output.shape)
    if shape[2:] != documented_size or shape[:2] != (case.batch, case.out_channels):
        actual, note, _ = explain_output(case, result.output, arrays, target)
        return Departure(
            (loaded.name, api, case.padding_mode, "output_size"),
            doc,
            {"value": list(shape[2:]), "shape": list(shape), "crops": _crops(actual), "note": note or None},
        )
    assert documented is not None
    model, dtype = target.accumulation(case.dtype), target.output_dtype(case)
    if compare(result.output, ReferenceResult.for_case(documented, arrays), dtype, model).passed:
        return None
    actual, note, _ = explain_output(case, result.output, arrays, target)
    return Departure(
        (loaded.name, api, case.padding_mode, "crop_split"),
        dict(doc, crops=_crops(documented)),
        {"value": list(shape[2:]), "crops": _crops(actual), "note": note or None},
    )


@dataclass
class TargetTally:
    """Per target: cases checked, unsupported, failing, and a few error samples."""

    checked: int = 0
    unsupported: int = 0
    errors: int = 0
    error_samples: list[dict[str, Any]] = field(default_factory=list)
    departing: dict[tuple[str, str, str, str], list[Case]] = field(default_factory=dict)
    #: cases checked per (api, mode): the denominator of each departure's count
    checked_by_key: dict[tuple[str, str], int] = field(default_factory=dict)


def _still_departs(loaded: LoadedTarget, key: tuple[str, str, str, str]) -> Callable[[Case], bool]:
    def check(case: Case) -> bool:
        assert loaded.pure is not None
        if loaded.pure.supports(case) is not None:
            return False
        found = check_case(loaded, case)
        return isinstance(found, Departure) and found.key == key

    return check


def audit_target(loaded: LoadedTarget, cases: list[Case], progress: bool = False) -> TargetTally:
    """Check every supported case on one runnable target."""
    assert loaded.pure is not None
    tally = TargetTally()
    for index, case in enumerate(cases):
        if loaded.pure.supports(case) is not None:
            tally.unsupported += 1
            continue
        tally.checked += 1
        scope = (api_label(loaded.name, case), case.padding_mode)
        tally.checked_by_key[scope] = tally.checked_by_key.get(scope, 0) + 1
        found = check_case(loaded, case)
        if isinstance(found, str):
            tally.errors += 1
            if len(tally.error_samples) < 3:
                tally.error_samples.append(
                    {"case": case.to_dict(), "case_short": case.short(), "message": found[:500]}
                )
        elif found is not None:
            tally.departing.setdefault(found.key, []).append(case)
        if progress and index % 50 == 0:
            print(f"  {loaded.name}: {index}/{len(cases)}", file=sys.stderr)
    return tally


def minimal_departure(
    loaded: LoadedTarget, key: tuple[str, str, str, str], cases: list[Case], checked: int
) -> dict[str, Any]:
    """The departure of one kind, shrunk to a minimal case, as written to the JSON."""
    smallest = min(cases, key=size_key)
    minimal = shrink(smallest, _still_departs(loaded, key), max_evaluations=SHRINK_EVALUATIONS)
    found = check_case(loaded, minimal)
    if not isinstance(found, Departure):  # flaky: keep the smallest generated case
        minimal, found = smallest, check_case(loaded, smallest)
    assert isinstance(found, Departure) and loaded.pure is not None
    target, api, mode, aspect = key
    call = getattr(loaded.pure, "equivalent_call", None)
    return {
        "target": target,
        "api": api,
        "mode": mode,
        "aspect": aspect,
        "documented": found.documented,
        "actual": found.actual,
        "case": minimal.to_dict(),
        "case_short": minimal.short(),
        "call": call(minimal) if call else None,
        "cases_checked": checked,
        "cases_departing": len(cases),
    }


def audit_docs(
    target_names: list[str],
    profile: str,
    *,
    examples: int | None = None,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """The whole audit as a JSON-ready dict."""
    start = time.monotonic()
    drawn = generated_cases(profile, examples=examples)
    cases: list[Case] = []
    for case in drawn:
        cases.append(case)
        if case.padding_mode == "explicit":
            cases.extend(mode_variants(case, NAMED_MODES))
    targets: dict[str, Any] = {}
    departures: list[dict[str, Any]] = []
    for loaded in load_targets(target_names, device):
        entry: dict[str, Any] = {"not_run": loaded.reason, "formulas": _formulas(loaded)}
        targets[loaded.name] = entry
        if loaded.target is None:
            continue
        tally = audit_target(loaded, cases, progress)
        entry.update(
            checked=tally.checked,
            unsupported=tally.unsupported,
            errors=tally.errors,
            error_samples=tally.error_samples,
        )
        for key, bad in sorted(tally.departing.items()):
            checked = tally.checked_by_key.get((key[1], key[2]), 0)
            departures.append(minimal_departure(loaded, key, bad, checked))
        entry["departures"] = sum(1 for d in departures if d["target"] == loaded.name)
    return {
        "schema": DOC_AUDIT_SCHEMA,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "profile": profile,
        "generated_cases": len(drawn),
        "cases": len(cases),
        "seconds": round(time.monotonic() - start, 1),
        "targets": targets,
        "departures": departures,
    }


def _formulas(loaded: LoadedTarget) -> list[dict[str, Any]]:
    """Every documented formula of a target (explicit per rank, then its named modes)."""
    out: list[dict[str, Any]] = []
    pure = loaded.pure
    if pure is None:
        return out
    ranks = sorted(pure.capabilities().ranks)
    for rank in ranks:
        formula = explicit_formula(loaded.name, rank)
        if formula is not None:
            out.append(dict(formula.to_dict(), mode="explicit", rank=rank))
    for mode_name in pure.capabilities().padding_modes:
        for rank in ranks:
            documented = pure.documented_mode(mode_name, rank)
            out.append(dict(documented.to_dict(), mode=mode_name, rank=rank))
    return out


def summary_text(result: dict[str, Any]) -> str:
    """One line per target and one per departure."""
    lines = [
        f"{result['cases']} cases ({result['generated_cases']} generated, profile {result['profile']}) "
        f"in {result['seconds']} s"
    ]
    for name, entry in result["targets"].items():
        if entry.get("not_run"):
            lines.append(f"  {name:26s} not run: {entry['not_run']}")
        else:
            lines.append(
                f"  {name:26s} {entry['checked']} checked, {entry['unsupported']} unsupported, "
                f"{entry['errors']} errors, {entry['departures']} departure kind(s)"
            )
    for d in result["departures"]:
        lines.append(
            f"- {d['target']} {d['api']} [{d['mode']}, {d['aspect']}]: documented "
            f"{d['documented']['value']} ({d['documented']['formula']}), "
            f"actual {d['actual']['value']}"
            f"; {d['cases_departing']}/{d['cases_checked']} cases; minimal: {d['case_short']}"
        )
    return "\n".join(lines)


cmd_audit_docs = make_command(audit_docs, DOC_AUDIT_FILE, summary_text, lambda r: bool(r["departures"]))
