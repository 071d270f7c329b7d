"""Targets ``torch.quantized.<engine>``: ``torch.ao.nn.quantized.ConvTranspose{1,2,3}d`` on one of
the CPU's quantized engines (fbgemm, x86, qnnpack, onednn), each a target of its own.

The module takes a quint8 input, a qint8 weight (quantized per tensor) and a float bias, and
requantizes its output to quint8 with its ``scale`` and ``zero_point``. The integer arrays become
quantized tensors the way users make them: ``torch.quantize_per_tensor`` of their dequantized
float32 values, which gives back exactly the drawn integers (``|q − z| ≤ 255`` and two float32
roundings move ``(q − z)·s / s`` by less than 255·2⁻²³ ≪ ½).
"""

from __future__ import annotations

from typing import Any, ClassVar

from adapters import plan as p
from adapters.probing import RawParams, RawQuant
from adapters.protocol import CROPS_SYMMETRIC, Capabilities, symmetric_padding_for
from adapters.torch import common, docs
from harness.model.case import QUANTIZED_DTYPE, Case
from harness.model.formulas import ExplicitFormula
from harness.model.quant import Quantization
from harness.oracle.quant_compare import QuantModel

DOCS = "https://docs.pytorch.org/docs/stable/generated/torch.ao.nn.quantized.ConvTranspose2d.html"
#: What torch 2.13's fbgemm, x86 and onednn prepack answer to a per-channel weight (qnnpack takes
#: one; this adapter does not pass it yet).
PER_CHANNEL_REFUSAL = "Per Channel Quantization is currently disabled for transposed conv"

#: fbgemm/x86/onednn requantize a float bias in float32: ``s_x·s_w`` rounded, the int32 accumulator
#: converted (it may pass 2²⁴), the product, the bias added, the multiplier ``1/s_y`` and its
#: product: at most 6 float32 roundings, then nearest-even rounding and saturation.
FLOAT_BIAS_MODEL = QuantModel(relative_steps=6, unit_roundoff=2.0**-24)
#: qnnpack rounds a float bias to int32 in units of ``s_x·s_w`` first, then requantizes the int32
#: accumulator with the float32 multiplier ``s_x·s_w/s_y``.
QNNPACK_MODEL = QuantModel(relative_steps=6, unit_roundoff=2.0**-24, bias_quantized=True)

MODULE_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "bias": True, "dilation": 1}


def _quantize(key: str, scale: float, zero_point: int, qdtype: str) -> p.Call:
    """``torch.quantize_per_tensor`` of ``data[key]``'s dequantized float32 values."""
    real = p.method(
        p.method(
            p.method(p.call("torch.from_numpy", p.data(key)), "to", p.sym("torch.float32")), "sub", zero_point
        ),
        "mul",
        scale,
    )
    return p.call("torch.quantize_per_tensor", real, scale, zero_point, p.sym(f"torch.{qdtype}"))


class TorchQuantized(common.TorchTarget):
    """``torch.ao.nn.quantized.ConvTranspose{rank}d`` on quantized engine :attr:`engine`."""

    engine: ClassVar[str] = "fbgemm"
    name = "torch.quantized.fbgemm"
    #: The weight dtypes the engine's prepack takes (fbgemm and qnnpack: qint8 only).
    weight_dtypes: ClassVar[frozenset[str]] = frozenset({"int8"})
    #: onednn takes only symmetric weights (zero point 0) and no output padding.
    symmetric_weight_only: ClassVar[bool] = False
    output_padding_allowed: ClassVar[bool] = True
    model: ClassVar[QuantModel] = FLOAT_BIAS_MODEL

    def capabilities(self) -> Capabilities:
        """int8 cases only, CPU, channels first, symmetric padding; requantized, half to even."""
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset({QUANTIZED_DTYPE}),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_SYMMETRIC,
            output_padding_limit="lt_stride_or_dilation" if self.output_padding_allowed else "none",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu"}),
            quantized=self.model,
            quantized_inputs=frozenset({"uint8"}),
        )

    def expressible(self, case: Case) -> str | None:
        """The module's quantization (quint8 in and out, per-tensor weight, float bias) and padding."""
        quant = case.quantization
        assert quant is not None
        reason = self._quantization_reason(quant)
        if reason is not None:
            return reason
        form = symmetric_padding_for(case)
        if isinstance(form, str):
            return form
        _, output_padding = form
        if not self.output_padding_allowed and any(output_padding):
            return f"{self.engine} takes no output_padding ('ONEDNN only supports zero output_padding.')"
        return common.op_limit_reason(case, output_padding)

    def _quantization_reason(self, quant: Quantization) -> str | None:
        if quant.input.dtype != "uint8":
            return (
                f"{self.name} takes a quint8 input only (the kernel's 'Expected activation data type QUInt8')"
            )
        if quant.weight.dtype not in self.weight_dtypes:
            return f"{self.name} takes a {'/'.join(sorted(self.weight_dtypes))} weight"
        if quant.weight.per_channel:
            if self.engine == "qnnpack":
                return f"{self.name}: this adapter does not pass per-channel weights yet (qnnpack takes them)"
            return f"{self.name}: '{PER_CHANNEL_REFUSAL}'"
        if self.symmetric_weight_only and any(quant.weight.zero_points):
            return (
                f"{self.name} takes weight zero point 0 only "
                "('ONEDNN only supports symmetric quantization of weight')"
            )
        if quant.output is None:
            return f"{self.name} always requantizes its output (no dequantized form)"
        if quant.output.dtype != "uint8":
            return f"{self.name} returns quint8 for a quint8 input"
        if quant.bias == "int32":
            return f"{self.name} takes a float bias (set_weight_bias), not an int32 one"
        if quant.rounding != "half_even":
            return f"{self.name} requantizes with round half to even"
        return None

    def plan(self, case: Case) -> p.Plan:
        """Select the engine, quantize the arrays, load them into the module, call it on ``x``."""
        quant = case.quantization
        assert quant is not None and quant.output is not None
        form = symmetric_padding_for(case)
        assert not isinstance(form, str), form
        padding, output_padding = form
        module = p.call(
            f"torch.ao.nn.quantized.ConvTranspose{case.rank}d",
            case.in_channels,
            case.out_channels,
            case.kernel_size,
            stride=case.stride,
            padding=padding,
            output_padding=output_padding,
            groups=case.groups,
            bias=case.bias,
            dilation=case.dilation,
            defaults=MODULE_DEFAULTS,
        )
        m = p.Name("m")
        weight_dtype = "qint8" if quant.weight.dtype == "int8" else "quint8"
        bias = p.call("torch.from_numpy", p.data("bias")) if case.bias else None
        body: list[p.Stmt] = [
            p.SetAttr(p.sym("torch.backends.quantized"), "engine", self.engine),
            p.Assign("x", _quantize("x", quant.input.scale, quant.input.zero_point, "quint8")),
            p.Assign(
                "weight",
                _quantize("weight", quant.weight.scales[0], quant.weight.zero_points[0], weight_dtype),
            ),
            p.Assign("m", module),
            p.Do(p.method(m, "set_weight_bias", p.Name("weight"), bias)),
            p.SetAttr(m, "scale", quant.output.scale),
            p.SetAttr(m, "zero_point", quant.output.zero_point),
            p.Assign("y", p.Call(m, (p.Name("x"),))),
        ]
        to_numpy = p.method(p.method(p.Name("y"), "int_repr"), "numpy")
        return p.Plan(common.IMPORTS, tuple(body), "y", to_numpy, (module,), note=f"engine {self.engine}")

    def probe_plan(self, params: RawParams) -> p.Plan:
        """The module built from raw parameters and raw quantization (the default valid one where
        the configuration gives none): the float probe arrays quantized with it, the weight per
        tensor or, given several scales, per channel along axis 1, the module's output scale and
        zero point set, called on ``x``."""
        params.require_symmetric(f"torch.ao.nn.quantized.ConvTranspose{params.rank}d")
        quant = params.quant or RawQuant()
        module = p.call(
            f"torch.ao.nn.quantized.ConvTranspose{params.rank}d",
            params.in_channels,
            params.out_channels,
            params.kernel_size,
            stride=params.stride,
            padding=params.pads_begin,
            output_padding=params.output_padding,
            groups=params.groups,
            bias=params.bias,
            dilation=params.dilation,
            defaults=MODULE_DEFAULTS,
        )
        weight_data = p.call("torch.from_numpy", p.data("weight"))
        if len(quant.weight_scales) == 1 and len(quant.weight_zero_points) == 1:
            weight = p.call(
                "torch.quantize_per_tensor",
                weight_data,
                quant.weight_scales[0],
                quant.weight_zero_points[0],
                p.sym("torch.qint8"),
            )
        else:
            weight = p.call(
                "torch.quantize_per_channel",
                weight_data,
                p.call("torch.tensor", list(quant.weight_scales), dtype=p.sym("torch.float64")),
                p.call("torch.tensor", list(quant.weight_zero_points), dtype=p.sym("torch.int64")),
                1,
                p.sym("torch.qint8"),
            )
        x = p.call(
            "torch.quantize_per_tensor",
            p.call("torch.from_numpy", p.data("x")),
            quant.input_scale,
            quant.input_zero_point,
            p.sym("torch.quint8"),
        )
        m = p.Name("m")
        bias = p.call("torch.from_numpy", p.data("bias")) if params.bias else None
        body: list[p.Stmt] = [
            p.SetAttr(p.sym("torch.backends.quantized"), "engine", self.engine),
            p.Assign("x", x),
            p.Assign("weight", weight),
            p.Assign("m", module),
            p.Do(p.method(m, "set_weight_bias", p.Name("weight"), bias)),
            p.SetAttr(m, "scale", quant.output_scale),
            p.SetAttr(m, "zero_point", quant.output_zero_point),
            p.Assign("y", p.Call(m, (p.Name("x"),))),
        ]
        to_numpy = p.method(p.method(p.Name("y"), "int_repr"), "numpy")
        return p.Plan(common.IMPORTS, tuple(body), "y", to_numpy, (module,), note=f"engine {self.engine}")

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The float module's documented output size: the quantized module's page refers to
        ``torch.nn.ConvTranspose{rank}d`` for its arguments and shapes."""
        return docs.module_size(rank)

    def environment(self) -> dict[str, Any]:
        """torch's settings, the engine this target selects and the engines the build supports."""
        torch = self._torch
        env = super().environment()
        env.update(
            quantized_engine=self.engine,
            supported_engines=list(torch.backends.quantized.supported_engines),
        )
        return env


class TorchQuantizedX86(TorchQuantized):
    """The x86 engine (fbgemm or onednn underneath, chosen by torch; it also takes a quint8 weight)."""

    engine = "x86"
    name = "torch.quantized.x86"
    weight_dtypes = frozenset({"int8", "uint8"})


class TorchQuantizedQnnpack(TorchQuantized):
    """The qnnpack engine."""

    engine = "qnnpack"
    name = "torch.quantized.qnnpack"
    model = QNNPACK_MODEL


class TorchQuantizedOnednn(TorchQuantized):
    """The onednn engine: symmetric weights and no output padding."""

    engine = "onednn"
    name = "torch.quantized.onednn"
    weight_dtypes = frozenset({"int8", "uint8"})
    symmetric_weight_only = True
    output_padding_allowed = False
