"""Targets ``onnxruntime``, ``onnxruntime.opset11``, ``onnxruntime.output_shape`` and
``onnxruntime.tensorrt_ep``: one ONNX ``ConvTranspose`` node run by ONNX Runtime.

The model (attributes from :mod:`adapters.onnxruntime.model`) takes X, W and B as graph inputs with
symbolic dimensions, so one inference session serves every case that shares the node's attributes,
dtype, rank and bias flag; the plan caches sessions per model and providers (a session costs
1–70 ms).

Execution providers: the CPU provider on ``cpu``; on ``cuda`` the CUDA provider (TF32 off, so float32
is judged as float32) — or, for ``onnxruntime.tensorrt_ep``, the TensorRT provider — with the CPU
fallback disabled, so a node the GPU provider does not take is an error, never a silent CPU result.

Numerics measured here (ORT 1.31.1 CPU): the CPU provider registers ConvTranspose for float only
(docs/OperatorKernels.md of microsoft/onnxruntime); a float16 model still runs because ORT inserts
Cast nodes around the node (the optimised graph holds ``InsertedPrecisionFreeCast_*`` casts to
float), so float16 accumulates in float32 and is rounded once; float64 and bfloat16 models fail at
session creation with NOT_IMPLEMENTED.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters import plan as p
from adapters.defaults import NO_CROP, WEIGHT_LAYOUT, WITHOUT_BIAS, standard_defaults
from adapters.onnxruntime import docs
from adapters.onnxruntime import model as onnx_model
from adapters.probing import RawParams
from adapters.protocol import CROPS_BEGIN_END, CROPS_DERIVED, Capabilities, Target
from harness.errors import NotExpressible, TargetUnavailable
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode
from harness.oracle.tolerance import AccumulationModel, exact_model

#: float16 on the CPU provider: cast to float, computed in float, rounded once (see module docstring).
CPU_ACCUMULATION = {
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float32"),
}
#: CUDA provider (cuDNN, TF32 off): CUDA's ConvTranspose kernel takes double, float and float16.
#: The float16 model (float32 accumulation, rounded once) is cuDNN's documented default for half
#: convolutions and has not been measured here (no GPU on this machine).
CUDA_ACCUMULATION = {
    "float64": exact_model("float64"),
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float32"),
}
#: Inference sessions a target keeps on the CPU: the last one, which the next case reuses when its
#: model is the same. Each kept session holds its own intra-op threads; one destroyed after going
#: idle costs several times the CPU of building one, and a worker holding hundreds of them spins a
#: core while idle (``benchmarks/ort_sessions.py``).
CPU_SESSIONS_KEPT = 1
#: Attribute defaults of ConvTranspose in the ONNX specification, left out of call text.
ATTRIBUTE_DEFAULTS = {"strides": 1, "dilations": 1, "group": 1, "pads": 0, "output_padding": 0}


class OnnxRuntime(Target):
    """A ConvTranspose node (opset 22) with explicit ``pads``/``output_padding`` or ``auto_pad``."""

    name = "onnxruntime"
    framework = "onnxruntime"
    requires = "onnxruntime"
    opset: ClassVar[int] = 22
    use_output_shape: ClassVar[bool] = False
    #: providers asked for on ``cuda``, in order
    gpu_providers: ClassVar[tuple[str, ...]] = ("CUDAExecutionProvider",)
    api_forms: ClassVar[tuple[str, ...]] = ("onnxruntime.output_shape", "onnxruntime.opset11")

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        if not device.startswith("cuda"):  # a GPU session keeps the default cache (not measured)
            self._executor = p.Executor(cache_size=CPU_SESSIONS_KEPT)

    def call_defaults(self) -> Mapping[str, tuple[str, str]]:
        """The ConvTranspose node: no bias without input B, no crop, NC* data only."""
        return standard_defaults(
            (WITHOUT_BIAS, "no input B"),
            (NO_CROP, "auto_pad='NOTSET', pads=0"),
            "the only layout",
            stride="strides=1",
            dilation="dilations=1",
            groups="group=1",
        )

    def weight_layout(self, case: Case) -> tuple[str, str]:
        """Input W, as the specification names it: (C × M/group × k…)."""
        return WEIGHT_LAYOUT, "input W as the case holds it (the specification's C × M/group × k…)"

    @property
    def session_hits(self) -> int:
        """Cases that reused a cached inference session."""
        return self.executor.cache_hits["session"]

    @property
    def session_misses(self) -> int:
        """Cases that built an inference session."""
        return self.executor.cache_misses["session"]

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Both ``onnxruntime`` and ``onnx`` (which builds the model) must be installed."""
        import importlib.util

        reason = super().unavailable_reason()
        if reason is None and importlib.util.find_spec("onnx") is None:
            return "onnx is not installed (pip install the onnx extra)"
        return reason

    # --- capability model ---------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        """NC* data of rank 1–3, begin/end pads, output_padding below stride or dilation."""
        cuda = self.device.startswith("cuda")
        accumulation = CUDA_ACCUMULATION if cuda else CPU_ACCUMULATION
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset(accumulation),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_DERIVED if self.use_output_shape else CROPS_BEGIN_END,
            output_padding_limit="none" if self.use_output_shape else "lt_stride_or_dilation",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu", "cuda"}),
            accumulation=accumulation,
            padding_modes=self.padding_modes(),
        )

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """The ``auto_pad`` values, as the specification of this target's opset documents them."""
        return onnx_model.documented_modes(self.opset)

    def supports(self, case: Case) -> str | None:
        """The generic checks, with ONNX's reason for channels-last data first."""
        if case.layout == "channels_last":
            return (
                f"{self.name}: ONNX ConvTranspose takes NC* data only (X is (N, C, D1, …), "
                f"{onnx_model.SPEC_URL}); there is no channels-last form"
            )
        return super().supports(case)

    def expressible(self, case: Case) -> str | None:
        """The specification's output_padding limit, or the output_shape derivation."""
        if case.padding_mode != "explicit":
            return None
        if self.use_output_shape:
            return onnx_model.output_shape_reason(case)
        return onnx_model.output_padding_reason(case)

    # --- running ------------------------------------------------------------------------------
    @property
    def _ort(self) -> Any:
        import onnxruntime  # lazily: the main process only asks what this target supports

        return onnxruntime

    def prepare(self) -> None:
        """Import onnx and onnxruntime (every case builds a model and a session: a load that left
        the imports to the first case put their second and more into that case's time); on
        ``cuda`` check that the GPU providers asked for are there."""
        import onnx  # noqa: F401

        ort = self._ort
        if not self.device.startswith("cuda"):
            return
        available = ort.get_available_providers()
        missing = [name for name in self.gpu_providers if name not in available]
        if missing:
            raise TargetUnavailable(
                f"{self.name} on {self.device}: onnxruntime here lacks {', '.join(missing)} "
                f"(available: {', '.join(available)}); install onnxruntime-gpu"
            )

    def providers(self) -> list[Any]:
        """Provider list for ``InferenceSession`` on this target's device (no CPU fallback on cuda)."""
        if not self.device.startswith("cuda"):
            return ["CPUExecutionProvider"]
        device_id = self.device.partition(":")[2] or "0"
        providers: list[Any] = []
        for provider in self.gpu_providers:
            options = {"device_id": device_id}
            if provider == "CUDAExecutionProvider":
                options["use_tf32"] = "0"
            providers.append((provider, options))
        return providers

    def plan(self, case: Case) -> p.Plan:
        """The ConvTranspose node of the case, its model, a (cached) session and one run."""
        return session_plan(
            attributes=onnx_model.attributes(case, use_output_shape=self.use_output_shape),
            ranks=onnx_model.input_ranks(case),
            output_rank=case.rank + 2,
            elem=onnx_model.ONNX_DTYPES[case.dtype],
            opset=self.opset,
            providers=self.providers(),
            cuda=self.device.startswith("cuda"),
            cache=True,
        )

    def probe_plan(self, params: RawParams) -> p.Plan:
        """A node with raw attributes, float32, on the CPU provider."""
        if self.use_output_shape and any(v < 0 for v in params.output_padding):
            raise NotExpressible(
                "output_shape carries no output_padding: a negative one is a smaller "
                "output_shape, which is a valid crop"
            )
        dims = (params.input_size, params.kernel_size, params.stride, params.dilation, params.output_size)
        if self.use_output_shape and all(len(v) == params.rank for v in (*dims, params.pads_begin)):
            full = [s * (n - 1) + d * (k - 1) + 1 for n, k, s, d, _ in zip(*dims, strict=True)]
            split = onnx_model.begin_crop_reason(full, params.output_size, params.pads_begin)
            if split is not None:  # the node would run with the crops it derives, not these
                raise NotExpressible(split)
        ranks = {"X": params.rank + 2, "W": len(params.weight_shape)}
        if params.bias:
            ranks["B"] = 1
        return session_plan(
            attributes=onnx_model.raw_attributes(params, use_output_shape=self.use_output_shape),
            ranks=ranks,
            output_rank=params.rank + 2,
            elem="FLOAT",
            opset=self.opset,
            providers=["CPUExecutionProvider"],
            cuda=False,
            cache=False,
        )

    def run_info(self) -> dict[str, Any]:
        """What the last :meth:`run` used: the session's providers, whether it came from the cache."""
        session = self.last_namespace.get("session")
        if session is None:
            return {}
        return {
            "session_providers": list(session.get_providers()),
            "session_cache_hit": self.executor.last_hits.get("session", False),
        }

    def environment(self) -> dict[str, Any]:
        """Versions, opset, providers asked for and available, session options."""
        import importlib.metadata

        ort = self._ort
        env = super().environment()
        options = ort.SessionOptions()
        env.update(
            onnx_version=importlib.metadata.version("onnx"),
            opset=self.opset,
            available_providers=list(ort.get_available_providers()),
            requested_providers=list(self.gpu_providers)
            if self.device.startswith("cuda")
            else ["CPUExecutionProvider"],
            intra_op_num_threads=options.intra_op_num_threads,
            graph_optimization_level=str(options.graph_optimization_level),
        )
        if self.device.startswith("cuda"):
            env["cuda_use_tf32"] = False
            env["cpu_ep_fallback"] = False
        return env

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The specification's output size with ``pads`` (or ``output_shape``) at this opset."""
        return docs.output_shape_formula() if self.use_output_shape else docs.pads_formula(self.opset)


FEEDS = {"X": "x", "W": "weight", "B": "bias"}


def model_and_options(opset: int) -> list[p.Stmt]:
    """The statements that wrap ``graph`` into ``model`` at ``opset`` and make empty session
    ``options`` (shared by the float and the QDQ plans)."""
    return [
        p.Assign("opsets", [p.call("onnx.helper.make_opsetid", "", opset)]),
        p.Assign(
            "model",
            p.call(
                "onnx.helper.make_model",
                p.Name("graph"),
                opset_imports=p.Name("opsets"),
                ir_version=p.call("onnx.helper.find_min_ir_version_for", p.Name("opsets")),
            ),
        ),
        p.Assign("options", p.call("ort.SessionOptions")),
    ]


def session_plan(
    *,
    attributes: dict[str, Any],
    ranks: dict[str, int],
    output_rank: int,
    elem: str,
    opset: int,
    providers: list[Any],
    cuda: bool,
    cache: bool,
) -> p.Plan:
    """Build the one-node model with ``onnx.helper``, open an inference session on ``providers``
    (cached per model when ``cache``) and run it on the case's arrays."""
    names = list(ranks)
    tensor_type = p.sym(f"onnx.TensorProto.{elem}")
    node = p.call(
        "onnx.helper.make_node", "ConvTranspose", names, ["Y"], **attributes, defaults=ATTRIBUTE_DEFAULTS
    )
    inputs = [p.call("onnx.helper.make_tensor_value_info", n, tensor_type, [None] * ranks[n]) for n in names]
    body: list[p.Stmt] = [
        p.Assign("node", node),
        p.Assign("inputs", inputs),
        p.Assign(
            "output", p.call("onnx.helper.make_tensor_value_info", "Y", tensor_type, [None] * output_rank)
        ),
        p.Assign(
            "graph",
            p.call(
                "onnx.helper.make_graph",
                [p.Name("node")],
                "conv_transpose",
                p.Name("inputs"),
                [p.Name("output")],
            ),
        ),
        *model_and_options(opset),
    ]
    if cuda:
        body.append(
            p.Do(
                p.method(
                    p.Name("options"), "add_session_config_entry", "session.disable_cpu_ep_fallback", "1"
                )
            )
        )
    session = p.call(
        "ort.InferenceSession",
        p.method(p.Name("model"), "SerializeToString"),
        p.Name("options"),
        providers=providers,
    )
    body += [
        p.Assign("session", session, cache=p.CACHE_CONFIGURATION if cache else ""),
        p.Assign(("y",), p.method(p.Name("session"), "run", ["Y"], {n: p.data(FEEDS[n]) for n in names})),
    ]
    to_numpy = p.method(p.call("np.asarray", p.Name("y")), "astype", p.sym("np.float64"))
    return p.Plan(IMPORTS, tuple(body), "y", to_numpy, (node,), note=f"opset {opset}")


IMPORTS = (
    p.Import("numpy", "np"),
    p.Import("onnxruntime", "ort"),
    p.Import("onnx"),
)


class OnnxRuntimeOpset11(OnnxRuntime):
    """The same node declared under opset 11 (ORT's ConvTranspose kernel registered for 11–21)."""

    name = "onnxruntime.opset11"
    opset = 11
    api_forms = ("onnxruntime",)


class OnnxRuntimeOutputShape(OnnxRuntime):
    """The node given ``output_shape`` (auto_pad NOTSET, no output_padding): pads are derived."""

    name = "onnxruntime.output_shape"
    use_output_shape = True
    api_forms = ("onnxruntime",)

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """None: ``output_shape`` and ``auto_pad`` are two ways of sizing the output."""
        return {}


class OnnxRuntimeTensorRTEP(OnnxRuntime):
    """The opset-22 node on ONNX Runtime's TensorRT execution provider (``cuda`` only)."""

    name = "onnxruntime.tensorrt_ep"
    gpu_providers = ("TensorrtExecutionProvider",)
    api_forms = ()

    def capabilities(self) -> Capabilities:
        """As ``onnxruntime`` on cuda, minus float64 (TensorRT has no double), cuda only."""
        accumulation = {k: v for k, v in CUDA_ACCUMULATION.items() if k != "float64"}
        return dataclasses.replace(
            super().capabilities(),
            dtypes=frozenset(accumulation),
            devices=frozenset({"cuda"}),
            accumulation=accumulation,
        )
