"""Targets ``tensorrt.int8`` and ``tensorrt.int8.dla``: one ``IDeconvolutionLayer`` between explicit
quantize/dequantize layers, built with the TensorRT Python API.

The network (static shapes) takes the float32 input ``x = s_x·q_x`` and quantizes it (IQuantizeLayer,
scale a float32 constant, zero point 0) and dequantizes it again; the kernel ``s_w·q_w`` is a float32
constant that goes through its own Q/DQ pair (per tensor, axis 0 of the CKRS kernel: the axis
TensorRT's deconvolution takes weight scales along) into the layer's input 1, so the layer's kernel
weights are empty; the bias stays float weights. A requantized case ends in an IQuantizeLayer with the
output scale, whose int8 tensor is the network output ``y``; a dequantized one outputs the layer's
float32 result. TensorRT fuses DQ → deconvolution → Q into its int8 kernel. The drawn integers come
back exactly from the first Q layers: ``s·q`` is rounded once to float32 and ``|q| ≤ 128``, so
``(s·q)/s`` is within 128·2⁻²³ of ``q``.

TensorRT 10 or later: the Q/DQ layers are added with their output type, which TensorRT 10.0
introduced and TensorRT 11 requires. Where ``NetworkDefinitionCreationFlag.STRONGLY_TYPED`` exists
the network is strongly typed (the explicit quantization guide: no precision flags); on DLA while
``BuilderFlag.INT8`` exists it is weakly typed with ``BuilderFlag.INT8``. ``tensorrt.int8.dla``
runs on the DLA core with GPU fallback off and sends only what the documented DLA restrictions allow
for int8 (2-D, no groups, no dilation, no padding, and the size limits of
:func:`adapters.tensorrt.model.dla_reason`).

Nothing here has run on a GPU: see docs/tensorrt.md for what was and was not executed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adapters import plan as p
from adapters.protocol import Capabilities
from adapters.tensorrt import engine
from adapters.tensorrt import model as tm
from adapters.tensorrt import quant as tq
from adapters.tensorrt.targets import TensorRTTarget, layer_attributes
from harness.model.case import QUANTIZED_DTYPE, Case
from harness.model.quant import Quantization


class TensorRTInt8(TensorRTTarget):
    """The Q/DQ network on the GPU (EXPLICIT_ROUND_DOWN for explicit crops)."""

    name = "tensorrt.int8"
    api_forms = ()

    def capabilities(self) -> Capabilities:
        """int8 cases only, 2D/3D, begin/end crops, no output_padding; int32 accumulation and the
        Q layer's round half to even with saturation (:data:`adapters.tensorrt.quant.INT8_MODEL`)."""
        return dataclasses.replace(
            super().capabilities(),
            dtypes=frozenset({QUANTIZED_DTYPE}),
            accumulation={},
            quantized=tq.INT8_MODEL,
        )

    def expressible(self, case: Case) -> str | None:
        """TensorRT's layer limits, then what a Q/DQ network expresses and the int8 groups rule."""
        reason = super().expressible(case)
        if reason is not None:
            return reason
        return tq.int8_reason(case)

    def plan(self, case: Case) -> p.Plan:
        """The Q/DQ network around one deconvolution, its (cached) engine, and one execution."""
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        assert case.quantization is not None
        return int8_engine_plan(
            attrs,
            case.quantization,
            bias=case.bias,
            dla_core=self._dla_core() if self.use_dla else None,
        )

    def run_info(self) -> dict[str, Any]:
        """As the float targets', with precision int8 and the typing the network was built with."""
        info = super().run_info()
        if info:
            info["precision"] = "int8"
            info["typing"] = "strong" if self.last_namespace["strongly_typed"] else "weak"
        return info


class TensorRTInt8DLA(TensorRTInt8):
    """On DLA with GPU fallback off: only int8 cases the documented DLA restrictions allow are sent."""

    name = "tensorrt.int8.dla"
    use_dla = True

    def capabilities(self) -> Capabilities:
        """2D only, no groups, no dilation (DLA runs int8 deconvolution 2D non-grouped only)."""
        return dataclasses.replace(super().capabilities(), ranks=frozenset({2}), groups=False, dilation=False)

    def expressible(self, case: Case) -> str | None:
        """The GPU target's limits, then the documented DLA restrictions for int8."""
        reason = super().expressible(case)
        if reason is not None:
            return reason
        attrs = self.attributes(case)
        assert not isinstance(attrs, str), attrs
        return tm.dla_reason(attrs, QUANTIZED_DTYPE)


def _scale_constant(name: str, scale: float) -> list[p.Stmt]:
    """``name`` = a one-coefficient float32 constant holding ``scale`` (its array kept alive by name,
    since ``trt.Weights`` does not copy)."""
    f32 = p.sym("np.float32")
    return [
        p.Assign(f"{name}_value", p.call("np.array", [scale], dtype=f32)),
        p.Assign(
            name,
            p.method(
                p.Name("network"),
                "add_constant",
                p.call("trt.Dims", (1,)),
                p.call("trt.Weights", p.Name(f"{name}_value")),
            ),
        ),
    ]


def output(name: str) -> p.Call:
    """``name.get_output(0)``."""
    return p.method(p.Name(name), "get_output", 0)


def _qdq(target: str, kind: str, source: p.Expr, scale: str, axis: int) -> list[p.Stmt]:
    """``target = network.add_<kind>(source, scale, output_type)`` with its axis set: int8 out of a
    quantize, float32 out of a dequantize. TensorRT 11.4's bindings require ``output_type``, 10.x's
    take it (TensorRT 10.0 added it with ``to_type``); 8.x had no such argument."""
    out_type = p.sym("trt.int8" if kind == "quantize" else "trt.float32")
    layer = p.method(
        p.Name("network"), f"add_{kind}", source, p.method(p.Name(scale), "get_output", 0), out_type
    )
    return [p.Assign(target, layer), p.SetAttr(p.Name(target), "axis", axis)]


def int8_engine_plan(
    attrs: tm.DeconvAttributes, quant: Quantization, *, bias: bool, dla_core: int | None
) -> p.Plan:
    """Build the Q/DQ network, configure the builder, build the engine (cached per configuration and
    weights) and execute it on the dequantized input."""
    f32 = p.sym("np.float32")
    network, layer, config = p.Name("network"), p.Name("layer"), p.Name("config")
    add = p.method(
        network,
        "add_deconvolution_nd",
        output("x_dq"),
        attrs.num_output_maps,
        p.call("trt.Dims", attrs.kernel_shape),
        p.call("trt.Weights"),
        p.Name("bias"),
    )
    bias_weights = (
        p.call("trt.Weights", p.call("np.ascontiguousarray", p.data("bias"), dtype=f32))
        if bias
        else p.call("trt.Weights")
    )
    attributes: list[p.Stmt] = [
        p.Do(p.method(layer, "set_input", 1, output("w_dq"))),
        *layer_attributes(layer, attrs),
    ]
    body: list[p.Stmt] = [
        p.Assign("kernel", p.call("np.multiply", p.data("weight"), quant.weight.scales[0], dtype=f32)),
        p.Assign("bias", bias_weights),
        p.Assign("logger", p.call("trt.Logger", p.sym("trt.Logger.WARNING"))),
        p.Assign("builder", p.call("trt.Builder", p.Name("logger"))),
        p.Assign(
            "strongly_typed", p.call(p.Name("int8_strongly_typed"), p.Name("trt"), dla_core is not None)
        ),
        p.Assign(
            "network",
            p.method(
                p.Name("builder"),
                "create_network",
                p.call(p.Name("int8_network_flags"), p.Name("trt"), p.Name("strongly_typed")),
            ),
        ),
        p.Assign("inp", p.method(network, "add_input", "x", p.sym("trt.float32"), attrs.input_shape)),
        *_scale_constant("x_scale", quant.input.scale),
        *_qdq("x_q", "quantize", p.Name("inp"), "x_scale", tq.ACTIVATION_AXIS),
        *_qdq("x_dq", "dequantize", output("x_q"), "x_scale", tq.ACTIVATION_AXIS),
        p.Assign(
            "w",
            p.method(
                network,
                "add_constant",
                p.call("trt.Dims", attrs.kernel_weights_shape),
                p.call("trt.Weights", p.Name("kernel")),
            ),
        ),
        *_scale_constant("w_scale", quant.weight.scales[0]),
        *_qdq("w_q", "quantize", output("w"), "w_scale", tq.WEIGHT_AXIS),
        *_qdq("w_dq", "dequantize", output("w_q"), "w_scale", tq.WEIGHT_AXIS),
        p.Assign("layer", add),
        p.SetAttr(layer, "name", "deconv"),
        *attributes,
    ]
    if quant.output is not None:
        body += [
            *_scale_constant("y_scale", quant.output.scale),
            *_qdq("y_q", "quantize", output("layer"), "y_scale", tq.ACTIVATION_AXIS),
            p.Assign("out", output("y_q")),
        ]
    else:
        body.append(p.Assign("out", output("layer")))
    body += [
        p.SetAttr(p.Name("out"), "name", "y"),
        p.Do(
            p.call(
                p.Name("int8_output_type"),
                p.Name("trt"),
                p.Name("out"),
                p.Name("strongly_typed"),
                quant.output is not None,
            )
        ),
        p.Do(p.method(network, "mark_output", p.Name("out"))),
        p.Assign("config", p.method(p.Name("builder"), "create_builder_config")),
        p.Do(p.call(p.Name("int8_precision_flags"), p.Name("trt"), config, p.Name("strongly_typed"))),
        p.SetAttr(config, "profiling_verbosity", p.sym("trt.ProfilingVerbosity.DETAILED")),
        p.Assign("timing_cache", p.method(config, "create_timing_cache", b""), cache=p.CACHE_ONCE),
        p.Do(p.method(config, "set_timing_cache", p.Name("timing_cache"), False)),
    ]
    if dla_core is not None:
        body += [
            p.SetAttr(config, "default_device_type", p.sym("trt.DeviceType.DLA")),
            p.SetAttr(config, "DLA_core", dla_core),
            p.Assign("can_run_on_dla", p.method(config, "can_run_on_DLA", layer)),
        ]
    y_dtype = p.sym("np.int8" if quant.output is not None else "np.float32")
    body += [
        p.Assign(
            ("engine", "placement"),
            p.call(
                p.Name("build_engine"), p.Name("trt"), p.Name("logger"), p.Name("builder"), network, config
            ),
            cache=p.CACHE_CONFIGURATION,
        ),
        p.Assign("x", p.call("np.multiply", p.data("x"), quant.input.scale, dtype=f32)),
        p.Assign("y", p.call(p.Name("execute_engine"), p.Name("engine"), p.Name("x"), y_dtype)),
    ]
    return p.Plan(
        (p.Import("numpy", "np"), p.Import("tensorrt", "trt")),
        tuple(body),
        "y",
        p.method(p.Name("y"), "astype", p.sym("np.float64")),
        (p.Assign("layer", add), *attributes),
        helpers=(
            engine.int8_strongly_typed,
            engine.int8_network_flags,
            engine.int8_precision_flags,
            engine.int8_output_type,
            engine.placement_from_inspector,
            engine.build_engine,
            engine.execute_engine,
        ),
    )
