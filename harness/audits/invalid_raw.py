"""Raw probe parameters built from a small valid case (:func:`raw`), and the raw output-size
formula (:func:`raw_output_size`) that holds whatever the parameters' signs: what the tables of
``audit-invalid`` (:mod:`harness.audits.invalid_configs`, :mod:`harness.audits.invalid_quant_configs`)
are made of."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.probing import RawParams


def raw_output_size(p: RawParams) -> tuple[int, ...]:
    """``(L−1)·s + d·(k−1) + 1 − cb − ce + op`` per dimension, whatever the signs."""
    return tuple(
        (n - 1) * s + d * (k - 1) + 1 - b - e + o
        for n, k, s, d, b, e, o in zip(
            p.input_size,
            p.kernel_size,
            p.stride,
            p.dilation,
            p.pads_begin,
            p.pads_end,
            p.output_padding,
            strict=True,
        )
    )


def raw(rank: int = 2, **changes: Any) -> RawParams:
    """Raw parameters: a small valid case (N=1, C 2→2, L=4, k=3) with ``changes`` applied.

    Per-dimension values given as ints are broadcast; ``weight_shape`` and ``output_size`` follow
    the other values unless given.
    """
    base: dict[str, Any] = {
        "batch": 1,
        "input_channels": None,
        "in_channels": 2,
        "out_channels": 2,
        "groups": 1,
        "input_size": 4,
        "kernel_size": 3,
        "stride": 1,
        "dilation": 1,
        "pads_begin": 0,
        "pads_end": 0,
        "output_padding": 0,
        "bias": True,
        "weight_shape": None,
        "output_size": None,
    }
    base.update(changes)
    per_dim = ("input_size", "kernel_size", "stride", "dilation", "pads_begin", "pads_end", "output_padding")
    for key in per_dim:
        value = base[key]
        base[key] = (value,) * rank if isinstance(value, int) else tuple(value)
    if base["input_channels"] is None:
        base["input_channels"] = base["in_channels"]
    weight = base.pop("weight_shape")
    params = RawParams(
        rank=rank, **{k: v for k, v in base.items() if k != "output_size"}, weight_shape=(), output_size=()
    )
    params = replace(params, weight_shape=params.default_weight_shape() if weight is None else tuple(weight))
    if base["output_size"] is None:
        return replace(params, output_size=raw_output_size(params))
    return replace(params, output_size=tuple(base["output_size"]))
