"""Target ``onnxruntime.qdq``: an int8 case as a QDQ model (:mod:`adapters.onnxruntime.quant_model`)
run by ONNX Runtime's CPU provider.

The rounding model is the one the documented operators imply (:data:`QDQ_MODEL`), whatever ORT
does underneath: its graph optimizer may fuse a DQ → op → Q pattern into an integer kernel, and the
target asks for ``ORT_ENABLE_ALL`` (ORT's default, recorded in the environment) so that a fusion
would be judged, not hidden. Measured here (ORT 1.31.1 CPU): no fusion happens for ConvTranspose —
the optimized graph keeps DequantizeLinear → float ConvTranspose → QuantizeLinear
(``tests/adapters/test_onnxruntime_qdq.py`` checks it) — and ORT CPU has no integer transposed
convolution to run instead: ``com.microsoft`` registers no QLinearConvTranspose and no
ConvTransposeInteger, and the ``com.ms.internal.nhwc`` QLinearConvTranspose schema has no CPU
kernel ("Could not find an implementation"; it is the XNNPACK provider's).

Finding (measured, pinned in the tests): from ``ORT_ENABLE_BASIC`` on, ORT's graph optimizer
rewrites a float bias ``B`` into ``DequantizeLinear(round(B / (x_scale·w_scale)) as int32,
x_scale·w_scale)`` (its WeightBiasQuantization transformer), which the graph's operators do not
say: the bias moves by up to half an accumulator unit, and an output near a rounding boundary is
off by one. It does so per tensor and per channel, and only when a QuantizeLinear follows the
node (a dequantized output keeps its float bias). The declared model is the operators', so those
cases are value mismatches.
"""

from __future__ import annotations

from typing import Any

from adapters import plan as p
from adapters.onnxruntime import model as onnx_model
from adapters.onnxruntime import quant_model as qdq
from adapters.onnxruntime.targets import ATTRIBUTE_DEFAULTS, IMPORTS, OnnxRuntime, model_and_options
from adapters.probing import RawParams
from adapters.protocol import CROPS_BEGIN_END, Capabilities
from harness.errors import NotExpressible
from harness.model.case import QUANTIZED_DTYPE, Case
from harness.oracle.quant_compare import QuantModel

#: What the QDQ graph's documented operators compute, per output element, in float32
#: (``u = 2⁻²⁴``): each product's path has the two DequantizeLinear products ``(q − z)·s``, the
#: product of the dequantized values, the additions of ConvTranspose (counted by the comparison
#: with the product: ``C/group·Πk + 1`` roundings, bias included) and QuantizeLinear's division by
#: ``y_scale`` — 3 steps besides those. An int32 bias has as many (``x_scale·w_scale`` rounded to
#: float32, its product with the bias, the division). A dequantized output has one fewer (no
#: division; the comparison's final rounding to float32 stands in for it).
QDQ_MODEL = QuantModel(relative_steps=3, unit_roundoff=2.0**-24, integer_accumulation=False)
GRAPH_OPTIMIZATION_LEVEL = "ORT_ENABLE_ALL"


class OnnxRuntimeQDQ(OnnxRuntime):
    """QuantizeLinear → DequantizeLinear → ConvTranspose (opset 22) → QuantizeLinear, CPU provider."""

    name = "onnxruntime.qdq"
    api_forms = ()

    def capabilities(self) -> Capabilities:
        """int8 cases of rank 1–3 on the CPU, begin/end pads, the ``auto_pad`` modes."""
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset({QUANTIZED_DTYPE}),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit="lt_stride_or_dilation",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu"}),
            padding_modes=self.padding_modes(),
            quantized=QDQ_MODEL,
        )

    def expressible(self, case: Case) -> str | None:
        """ConvTranspose's output_padding limit, then what the Q/DQ operators can hold."""
        return super().expressible(case) or qdq.quantization_reason(case)

    def plan(self, case: Case) -> p.Plan:
        """Build the QDQ model, open a session and run it on the dequantized input.

        The session is not cached: the model holds the case's weights and bias as initializers, so
        a session serves one case only, and a kept one holds its intra-op threads until it is
        evicted, when destroying it costs far more CPU than right after its run
        (``benchmarks/ort_sessions.py`` measures both)."""
        quant = case.quantization
        assert quant is not None
        tensor = "onnx.TensorProto."
        conv = onnx_model.attributes(case)
        made = []
        for n in qdq.nodes(case, conv):
            defaults = ATTRIBUTE_DEFAULTS if n.op == "ConvTranspose" else None
            made.append(
                p.call(
                    "onnx.helper.make_node",
                    n.op,
                    list(n.inputs),
                    list(n.outputs),
                    **dict(n.attrs),
                    defaults=defaults,
                )
            )
        params = [
            p.call("onnx.helper.make_tensor", q.name, p.sym(tensor + q.elem), list(q.dims), list(q.values))
            for q in qdq.params(case)
        ]
        arrays = [
            p.call("onnx.numpy_helper.from_array", p.data(key), name)
            for name, key in qdq.initializer_arrays(case).items()
        ]
        out_name = qdq.output_name(case)
        body: list[p.Stmt] = [
            p.Assign("nodes", made),
            p.Assign("initializers", params + arrays),
            p.Assign(
                "graph",
                p.call(
                    "onnx.helper.make_graph",
                    p.Name("nodes"),
                    "qdq_conv_transpose",
                    [
                        p.call(
                            "onnx.helper.make_tensor_value_info",
                            "X",
                            p.sym(tensor + "FLOAT"),
                            [None] * (case.rank + 2),
                        )
                    ],
                    [
                        p.call(
                            "onnx.helper.make_tensor_value_info",
                            out_name,
                            p.sym(tensor + qdq.output_elem(case)),
                            [None] * (case.rank + 2),
                        )
                    ],
                    p.Name("initializers"),
                ),
            ),
            *model_and_options(self.opset),
            p.SetAttr(
                p.Name("options"),
                "graph_optimization_level",
                p.sym(f"ort.GraphOptimizationLevel.{GRAPH_OPTIMIZATION_LEVEL}"),
            ),
            p.Assign(
                "session",
                p.call(
                    "ort.InferenceSession",
                    p.method(p.Name("model"), "SerializeToString"),
                    p.Name("options"),
                    providers=["CPUExecutionProvider"],
                ),
            ),
            # The drawn integers' real values, (q − z)·s in float32: what a float model feeds in.
            p.Assign(
                "x",
                p.call(
                    "np.multiply",
                    p.call("np.subtract", p.data("x"), quant.input.zero_point, dtype=p.sym("np.float32")),
                    quant.input.scale,
                    dtype=p.sym("np.float32"),
                ),
            ),
            p.Assign(("y",), p.method(p.Name("session"), "run", [out_name], {"X": p.Name("x")})),
        ]
        to_numpy = p.method(p.call("np.asarray", p.Name("y")), "astype", p.sym("np.float64"))
        conv_node = made[-2] if quant.output is not None else made[-1]
        return p.Plan(IMPORTS, tuple(body), "y", to_numpy, (conv_node,), note=f"QDQ, opset {self.opset}")

    def probe_plan(self, params: RawParams) -> p.Plan:
        """None: raw probes are float ConvTranspose nodes, which the ``onnxruntime`` target probes."""
        raise NotExpressible(f"{self.name} runs int8 cases only; the onnxruntime target probes the node")

    def environment(self) -> dict[str, Any]:
        """The ``onnxruntime`` settings, with the graph optimization level this target sets."""
        env = super().environment()
        env["graph_optimization_level"] = GRAPH_OPTIMIZATION_LEVEL
        env["qdq_model"] = QDQ_MODEL.describe()
        return env
