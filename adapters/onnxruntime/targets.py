"""Targets ``onnxruntime``, ``onnxruntime.opset11``, ``onnxruntime.output_shape`` and
``onnxruntime.tensorrt_ep``: one ONNX ``ConvTranspose`` node run by ONNX Runtime.

The model (:mod:`adapters.onnxruntime.model`) takes X, W and B as graph inputs with symbolic dimensions, so
one inference session serves every case that shares the node's attributes, dtype, rank and bias
flag; sessions are cached by the serialised model bytes and the providers (a session costs 1–70 ms).

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
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np

from adapters.onnxruntime import model as onnx_model
from adapters.probing import RawParams, call_text
from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from harness.errors import NotExpressible, TargetUnavailable
from harness.model.arrays import CaseArrays
from harness.model.case import Case
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
SESSION_CACHE_SIZE = 256
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

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self._sessions: OrderedDict[tuple[bytes, str], Any] = OrderedDict()
        self.session_hits = 0
        self.session_misses = 0
        self._last_info: dict[str, Any] = {}

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
            crops=CROPS_BEGIN_END,
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

    def _providers(self) -> list[Any]:
        """Provider list for ``InferenceSession`` on this target's device."""
        if not self.device.startswith("cuda"):
            return ["CPUExecutionProvider"]
        available = self._ort.get_available_providers()
        missing = [p for p in self.gpu_providers if p not in available]
        if missing:
            raise TargetUnavailable(
                f"{self.name} on {self.device}: onnxruntime here lacks {', '.join(missing)} "
                f"(available: {', '.join(available)}); install onnxruntime-gpu"
            )
        _, _, index = self.device.partition(":")
        device_id = index or "0"
        providers: list[Any] = []
        for provider in self.gpu_providers:
            options = {"device_id": device_id}
            if provider == "CUDAExecutionProvider":
                options["use_tf32"] = "0"
            providers.append((provider, options))
        return providers

    def session(self, case: Case) -> Any:
        """The (cached) inference session for the case's model on this device."""
        model = onnx_model.build_model(case, opset=self.opset, use_output_shape=self.use_output_shape)
        key = (model.SerializeToString(), self.device)
        cached = self._sessions.get(key)
        if cached is not None:
            self.session_hits += 1
            self._sessions.move_to_end(key)
            return cached
        self.session_misses += 1
        ort = self._ort
        options = ort.SessionOptions()
        if self.device.startswith("cuda"):
            options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        session = ort.InferenceSession(key[0], options, providers=self._providers())
        self._sessions[key] = session
        if len(self._sessions) > SESSION_CACHE_SIZE:
            self._sessions.popitem(last=False)
        return session

    def run(self, case: Case, arrays: CaseArrays) -> np.ndarray:
        """Feed X, W (and B) in the case's dtype to the cached session; output as float64."""
        held = arrays.container()
        feeds = {"X": held["x"], "W": held["weight"]}
        if case.bias:
            feeds["B"] = held["bias"]
        hits = self.session_hits
        session = self.session(case)
        self._last_info = {
            "session_providers": list(session.get_providers()),
            "session_cache_hit": self.session_hits > hits,
        }
        (y,) = session.run(["Y"], feeds)
        return np.asarray(y).astype(np.float64)

    def run_info(self) -> dict[str, Any]:
        """What the last :meth:`run` used: the session's providers, whether it came from the cache."""
        return dict(self._last_info)

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

    # --- reproduction -------------------------------------------------------------------------
    def snippet(self, case: Case, npz_name: str = "case.npz") -> str:
        """Standalone Python: build the model with ``onnx.helper`` and run it with onnxruntime."""
        reason = self.supports(case)
        if reason is not None:
            return f"# not expressible in {self.name}: {reason}\n"
        attrs = onnx_model.attributes(case, use_output_shape=self.use_output_shape)
        names = onnx_model.input_names(case)
        ranks = onnx_model.input_ranks(case)
        elem = onnx_model.ONNX_DTYPES[case.dtype]
        if self.device.startswith("cuda"):
            providers = repr(
                [(p, {"device_id": self.device.partition(":")[2] or "0"}) for p in self.gpu_providers]
            )
        else:
            providers = "['CPUExecutionProvider']"
        feeds = {"X": 'data["x"]', "W": 'data["weight"]', "B": 'data["bias"]'}
        feed_text = ", ".join(f'"{n}": {feeds[n]}' for n in names)
        inputs = ",\n    ".join(
            f'helper.make_tensor_value_info("{n}", TensorProto.{elem}, [None] * {ranks[n]})' for n in names
        )
        attr_text = ", ".join(f"{k}={v!r}" for k, v in attrs.items())
        return (
            "import numpy as np\n"
            "import onnxruntime as ort\n"
            "from onnx import TensorProto, helper\n\n"
            f"data = np.load({npz_name!r})\n"
            f'node = helper.make_node("ConvTranspose", {names!r}, ["Y"], {attr_text})\n'
            "inputs = [\n"
            f"    {inputs},\n"
            "]\n"
            f'output = helper.make_tensor_value_info("Y", TensorProto.{elem}, [None] * {case.rank + 2})\n'
            'graph = helper.make_graph([node], "conv_transpose", inputs, [output])\n'
            f'opsets = [helper.make_opsetid("", {self.opset})]\n'
            "model = helper.make_model(graph, opset_imports=opsets,\n"
            "                          ir_version=helper.find_min_ir_version_for(opsets))\n"
            f"session = ort.InferenceSession(model.SerializeToString(), providers={providers})\n"
            f"(y,) = session.run(['Y'], {{{feed_text}}})\n"
            "print(y.shape)\nprint(y)\n"
        )

    def equivalent_call(self, case: Case) -> str:
        """The ``onnx.helper.make_node`` call of the node :meth:`run` executes (and its opset)."""
        attrs = onnx_model.attributes(case, use_output_shape=self.use_output_shape)
        text = call_text(
            "onnx.helper.make_node",
            ("ConvTranspose", onnx_model.input_names(case), ["Y"]),
            attrs,
            ATTRIBUTE_DEFAULTS,
        )
        return f"{text}  # opset {self.opset}"

    def probe(self, params: dict[str, object]) -> list[int]:
        """Run a node with raw attributes on random float32 data (CPU provider); the output shape."""
        p = RawParams.from_dict(params)
        if self.use_output_shape and any(v < 0 for v in p.output_padding):
            raise NotExpressible(
                "output_shape carries no output_padding: a negative one is a smaller "
                "output_shape, which is a valid crop"
            )
        model = onnx_model.build_raw_model(p, opset=self.opset, use_output_shape=self.use_output_shape)
        session = self._ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {"X": p.data(), "W": p.data(p.weight_shape, seed=1)}
        if p.bias:
            feeds["B"] = p.data((p.out_channels,), seed=2)
        (y,) = session.run(["Y"], feeds)
        return list(np.asarray(y).shape)


class OnnxRuntimeOpset11(OnnxRuntime):
    """The same node declared under opset 11 (ORT's ConvTranspose kernel registered for 11–21)."""

    name = "onnxruntime.opset11"
    opset = 11


class OnnxRuntimeOutputShape(OnnxRuntime):
    """The node given ``output_shape`` (auto_pad NOTSET, no output_padding): pads are derived."""

    name = "onnxruntime.output_shape"
    use_output_shape = True

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """None: ``output_shape`` and ``auto_pad`` are two ways of sizing the output."""
        return {}


class OnnxRuntimeTensorRTEP(OnnxRuntime):
    """The opset-22 node on ONNX Runtime's TensorRT execution provider (``cuda`` only)."""

    name = "onnxruntime.tensorrt_ep"
    gpu_providers = ("TensorrtExecutionProvider",)

    def capabilities(self) -> Capabilities:
        """As ``onnxruntime`` on cuda, minus float64 (TensorRT has no double), cuda only."""
        accumulation = {k: v for k, v in CUDA_ACCUMULATION.items() if k != "float64"}
        return dataclasses.replace(
            super().capabilities(),
            dtypes=frozenset(accumulation),
            devices=frozenset({"cuda"}),
            accumulation=accumulation,
        )
