"""Drawing an int8 case's quantization from a spec's ``quantization`` block
(:mod:`harness.spec.quant_schema`); :mod:`harness.spec.strategies` calls it for an int8 case."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from hypothesis import strategies as st

from harness.model.quant import QUANT_DISTRIBUTIONS, BiasForm, Quantization, TensorQuant, WeightQuant
from harness.spec.quant_schema import SCALE_STEPS, QuantSpace, TensorSpace

T = TypeVar("T")


def _pick(draw: st.DrawFn, weights: Mapping[T, int]) -> T:
    """One key, with probability proportional to its weight; shrinks to the first."""
    keys = [k for k, w in weights.items() for _ in range(w)]
    return draw(st.sampled_from(keys))


def _tensor(draw: st.DrawFn, space: TensorSpace) -> tuple[str, float, int]:
    dtype = _pick(draw, space.dtypes)
    scale = space.scale.at(draw(st.integers(0, SCALE_STEPS)))
    zero_point = draw(st.integers(space.zero_point.min, space.zero_point.max))
    return dtype, scale, zero_point


def quant_distributions(weights: Mapping[str, int]) -> dict[str, int]:
    """The distributions of ``weights`` an int8 case can take (the schema checks one is left)."""
    return {k: w for k, w in weights.items() if k in QUANT_DISTRIBUTIONS}


def draw_quantization(draw: st.DrawFn, space: QuantSpace, out_channels: int, bias: bool) -> Quantization:
    """A quantization of ``space`` for a case with ``out_channels`` (a bias form other than none
    exactly when ``bias``; a case whose space lists only none has none)."""
    in_dtype, in_scale, in_zero = _tensor(draw, space.input)
    w_dtype = _pick(draw, space.weight.dtypes)
    channels = out_channels if _pick(draw, space.weight.per_channel) else 1
    scales = tuple(space.weight.scale.at(draw(st.integers(0, SCALE_STEPS))) for _ in range(channels))
    zeros = tuple(
        draw(st.integers(space.weight.zero_point.min, space.weight.zero_point.max)) for _ in range(channels)
    )
    forms = {k: w for k, w in space.bias.items() if (k != "none") == bias}
    form: BiasForm = _pick(draw, forms) if forms else "none"
    output = None
    if _pick(draw, space.requantized):
        out_dtype, out_scale, out_zero = _tensor(draw, space.output)
        output = TensorQuant(out_dtype, out_scale, out_zero)  # type: ignore[arg-type]
    return Quantization(
        input=TensorQuant(in_dtype, in_scale, in_zero),  # type: ignore[arg-type]
        weight=WeightQuant(w_dtype, scales, zeros),
        bias=form,
        output=output,
        rounding=_pick(draw, space.rounding),
    )
