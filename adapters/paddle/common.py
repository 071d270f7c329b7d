"""What the two PaddlePaddle targets share: capabilities, the padding-form choice, settings, transport.

Paddle's ``padding`` takes five forms (an int, one int per dimension, ``[b1, e1, b2, e2, …]``, the
full-rank pair list that includes batch and channel, and the strings ``'SAME'``/``'VALID'``), and
the output can be extended either by ``output_padding`` or by asking for ``output_size``. Which
form a case uses is decided here, from the case alone (:func:`plan_call`), so that a run exercises
every form and a reproduction snippet prints exactly the call that was made.

Documentation used (Paddle 3.3, ``paddle.nn.Conv{1,2,3}DTranspose`` and
``paddle.nn.functional.conv{1,2,3}d_transpose``): the English docstrings of the installed wheel and
the Chinese API pages (``docs/api/paddle/nn/Conv{1,2,3}DTranspose_cn.rst``,
``docs/api/paddle/nn/functional/conv2d_transpose_cn.rst`` in github.com/PaddlePaddle/docs; seed
002 is the Conv3DTranspose page).
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from harness.errors import TargetUnavailable
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.model.modes import DocumentedMode, size_valid
from harness.oracle.tolerance import AccumulationModel, exact_model

#: The wheels that provide ``import paddle``: the CPU build and the CUDA build.
CPU_DISTRIBUTION = "paddlepaddle"
GPU_DISTRIBUTION = "paddlepaddle-gpu"

#: On CPU the float16/bfloat16 kernels are not registered (checked: a RuntimeError from
#: kernel_factory for both, paddle 3.3.1; tests/test_paddle.py asks paddle again).
CPU_DTYPES = ("float32", "float64")
#: The functional API pages list float16, float32 and float64 input (conv2d_transpose_cn.rst).
GPU_DTYPES = ("float16", "float32", "float64")

CPU_ACCUMULATION: dict[str, AccumulationModel] = {d: exact_model(d) for d in CPU_DTYPES}
# cuDNN computes half convolutions in float32 and rounds once; TF32 is switched off in prepare().
# Not verified here (no CUDA build of paddle on this machine).
GPU_ACCUMULATION: dict[str, AccumulationModel] = {
    "float16": AccumulationModel("float32", "float32"),
    "float32": exact_model("float32"),
    "float64": exact_model("float64"),
}

CHANNELS_FIRST_FORMAT = {1: "NCL", 2: "NCHW", 3: "NCDHW"}
CHANNELS_LAST_FORMAT = {1: "NLC", 2: "NHWC", 3: "NDHWC"}

DOCS_CN = "https://www.paddlepaddle.org.cn/documentation/docs/zh/api/paddle/nn/Conv{r}DTranspose_cn.html"
_SOURCES = (
    "Paddle API docs (Chinese), section 形状/Shape of Conv1DTranspose, Conv2DTranspose and "
    "Conv3DTranspose (" + DOCS_CN.format(r="2") + ", seed 002 for 3D) and of "
    "paddle.nn.functional.conv2d_transpose; github.com/PaddlePaddle/docs "
    "docs/api/paddle/nn/Conv{1,2,3}DTranspose_cn.rst. The English docstrings give no SAME/VALID size."
)


def _size_same_documented(n: int, k: int, s: int, d: int) -> int:
    """Paddle's documented SAME size, ``(L + s − 1) / s`` read as integer division (``⌈L/s⌉``)."""
    return (n + s - 1) // s


PADDING_MODES: dict[str, DocumentedMode] = {
    "same": DocumentedMode(
        api_value="SAME",
        formula="(L + stride − 1) / stride, i.e. ⌈L/stride⌉",
        size=_size_same_documented,
        split="extra_at_end",
        source=_SOURCES + " The page gives H'_out = (H_in + stride[0] − 1) / stride[0] for "
        "padding = 'SAME' (the forward-convolution SAME size); the fraction is read as integer "
        "division since a size is an integer.",
        split_source="Paddle's documentation is silent on how the SAME crop is divided between "
        "begin and end. Assumed: ⌊t/2⌋ at the begin and the rest at the end, the TensorFlow "
        "'SAME' convention that Paddle's padding string is named after (= ONNX SAME_UPPER).",
    ),
    "valid": DocumentedMode(
        api_value="VALID",
        formula="(L − 1)·stride + dilation·(k − 1) + 1",
        size=size_valid,
        split="extra_at_end",
        source=_SOURCES + " For padding = 'VALID': H'_out = (H_in − 1)·strides[0] + "
        "dilations[0]·(kernel_size[0] − 1) + 1.",
        split_source="VALID crops nothing, so no split arises.",
    ),
}

# Flags worth recording when the build has them (a CPU build lacks the CUDA ones).
RECORDED_FLAGS = (
    "FLAGS_use_onednn",
    "FLAGS_use_mkldnn",
    "FLAGS_paddle_num_threads",
    "FLAGS_use_accuracy_compatible_kernel",
    "FLAGS_cudnn_deterministic",
    "FLAGS_cudnn_exhaustive_search",
    "FLAGS_cudnn_allow_tf32",
    "FLAGS_conv_workspace_size_limit",
    "FLAGS_conv2d_disable_cudnn",
)

# Form names as recorded with each call (tests and snippets use them).
FORM_INT = "int"
FORM_PER_DIM = "per_dim"
FORM_PAIRS = "pairs"
FORM_FULL_RANK = "full_rank_pairs"
FORM_SAME = "SAME"
FORM_VALID = "VALID"


@dataclass(frozen=True)
class PaddleCall:
    """How one case is expressed in Paddle's API.

    ``padding`` is the exact value passed as ``padding=``; ``output_padding`` (a per-dimension list)
    and ``output_size`` are passed only when not None. ``form`` names the padding form.
    """

    form: str
    padding: int | str | list[int] | list[list[int]]
    output_padding: list[int] | None
    output_size: list[int] | None
    data_format: str

    def keyword_text(self) -> str:
        """``padding=…, output_padding=…`` as source text (what snippets print)."""
        parts = [f"padding={self.padding!r}"]
        if self.output_padding is not None:
            parts.append(f"output_padding={self.output_padding!r}")
        return ", ".join(parts)


def data_format(case: Case) -> str:
    """Paddle's ``data_format`` for the case's rank and layout."""
    table = CHANNELS_LAST_FORMAT if case.layout == "channels_last" else CHANNELS_FIRST_FORMAT
    return table[case.rank]


def _bit(case: Case, index: int) -> bool:
    return bool((case.seed >> index) & 1)


def _explicit_padding(case: Case) -> tuple[str, int | list[int] | list[list[int]]]:
    """Padding form for explicit crops; seed bit 0 picks single values or pairs, bit 1 which pairs."""
    begin, end = list(case.pads_begin), list(case.pads_end)
    if case.symmetric_crops and not _bit(case, 0):
        if len(set(begin)) == 1:
            return FORM_INT, begin[0]
        return FORM_PER_DIM, begin
    if _bit(case, 1):
        pairs = [[b, e] for b, e in zip(begin, end, strict=True)]
        zero: list[list[int]] = [[0, 0]]
        if case.layout == "channels_last":
            return FORM_FULL_RANK, zero + pairs + zero
        return FORM_FULL_RANK, zero + zero + pairs
    return FORM_PAIRS, [v for b, e in zip(begin, end, strict=True) for v in (b, e)]


def output_padding_reason(case: Case) -> str | None:
    """Why Paddle's validation refuses the case's output_padding, or None if it accepts it.

    Enforced (not documented) rules, paddle 3.3.1: the shape inference requires each
    ``output_padding < max(stride, dilation)`` (phi/infermeta/binary.cc), and
    ``conv1d_transpose`` additionally refuses ``output_padding > stride`` in Python.
    """
    for dim, (op, s, d) in enumerate(zip(case.output_padding, case.stride, case.dilation, strict=True)):
        if op >= max(s, d):
            return (
                f"output_padding {op} along dim {dim} is not smaller than max(stride {s}, "
                f"dilation {d}): paddle's shape inference refuses it"
            )
        if case.rank == 1 and op > s:
            return (
                f"output_padding {op} is greater than stride {s}: paddle.nn.functional."
                "conv1d_transpose refuses it"
            )
    return None


def plan_call(case: Case) -> PaddleCall:
    """The padding form and output extension used for ``case`` (deterministic in the case).

    Named modes pass the string. Explicit crops: symmetric crops use the int/per-dimension form
    when seed bit 0 is clear, else (and for asymmetric crops always) the ``[b1, e1, …]`` form or,
    when seed bit 1 is set, the full-rank pair list. The output extension is ``output_size`` when
    seed bit 2 is set and the documented range ``[O', O' + stride)`` holds it (every
    ``output_padding < stride``), otherwise ``output_padding`` when any is non-zero.
    """
    fmt = data_format(case)
    if case.padding_mode == "same":
        return PaddleCall(FORM_SAME, "SAME", None, None, fmt)
    if case.padding_mode == "valid":
        return PaddleCall(FORM_VALID, "VALID", None, None, fmt)
    form, padding = _explicit_padding(case)
    fits_size = all(op < s for op, s in zip(case.output_padding, case.stride, strict=True))
    if _bit(case, 2) and fits_size:
        return PaddleCall(form, padding, None, list(case.output_size), fmt)
    output_padding = list(case.output_padding) if any(case.output_padding) else None
    return PaddleCall(form, padding, output_padding, None, fmt)


def raw_padding(params: Any) -> list[int]:
    """The padding form a probe passes for raw parameters: one per dimension, or begin/end pairs."""
    if params.symmetric:
        return list(params.pads_begin)
    return list(params.pairs())


def installed_distribution() -> str | None:
    """Which paddle wheel is installed (metadata only, no import), or None."""
    for dist in (GPU_DISTRIBUTION, CPU_DISTRIBUTION):
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        return dist
    return None


class PaddleTarget(Target):
    """Base for the PaddlePaddle targets (shared capability model, settings and transport)."""

    framework = "paddle"
    requires = "paddle"
    distribution = CPU_DISTRIBUTION

    _prepared = False

    @property
    def _paddle(self) -> Any:
        import paddle  # lazily: the main process only asks what this target supports

        return paddle

    def framework_version(self) -> str:
        """The installed paddle wheel's version (CPU or CUDA build), from metadata."""
        dist = installed_distribution()
        return importlib.metadata.version(dist) if dist else "unknown"

    @property
    def _on_gpu(self) -> bool:
        return self.device.split(":")[0] == "gpu"

    def capabilities(self) -> Capabilities:
        """Ranks 1-3, begin/end crops, both layouts; "gpu" only where the CUDA wheel is installed."""
        devices = {"cpu"} | ({"gpu"} if installed_distribution() == GPU_DISTRIBUTION else set())
        dtypes = GPU_DTYPES if self._on_gpu else CPU_DTYPES
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset(dtypes),
            layouts=frozenset({"channels_first", "channels_last"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit="lt_stride_or_dilation",
            groups=True,
            dilation=True,
            devices=frozenset(devices),
            accumulation=GPU_ACCUMULATION if self._on_gpu else CPU_ACCUMULATION,
            channels_last_ranks=frozenset({1, 2, 3}),
            padding_modes=PADDING_MODES,
        )

    def expressible(self, case: Case) -> str | None:
        """Every crop is a padding pair; output_padding within Paddle's enforced limits."""
        if case.padding_mode != "explicit":
            return None
        return output_padding_reason(case)

    def prepare(self) -> None:
        """Import paddle, select the device (checked, not assumed) and pin TF32 off on CUDA."""
        if self._prepared:
            return
        paddle = self._paddle
        if self._on_gpu:
            if not paddle.is_compiled_with_cuda():
                raise TargetUnavailable(
                    f"paddle {paddle.__version__} is a CPU build: no device {self.device!r}"
                )
            if paddle.device.cuda.device_count() < 1:
                raise TargetUnavailable(f"no CUDA device visible for {self.device!r}")
            self._set_flag("FLAGS_cudnn_allow_tf32", False)
        paddle.set_device(self.device)
        self._prepared = True

    def _set_flag(self, name: str, value: Any) -> None:
        try:
            self._paddle.set_flags({name: value})
        except (ValueError, RuntimeError):
            pass  # a build without the flag has nothing to switch off

    def _flags(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in RECORDED_FLAGS:
            try:
                found.update(self._paddle.get_flags([name]))
            except (ValueError, RuntimeError):
                continue
        return found

    def environment(self) -> dict[str, Any]:
        """Version, device, threads, oneDNN use and the numeric flags this build has."""
        self.prepare()
        paddle = self._paddle
        env = super().environment()
        env.update(
            distribution=installed_distribution(),
            commit=getattr(paddle.version, "commit", "unknown"),
            paddle_device=paddle.get_device(),
            compiled_with_cuda=bool(paddle.is_compiled_with_cuda()),
            compiled_with_onednn=bool(paddle.base.core.is_compiled_with_mkldnn()),
            omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
            flags=self._flags(),
        )
        if self._on_gpu:
            env["cudnn_version"] = paddle.device.get_cudnn_version()
            env["cuda_device"] = paddle.device.cuda.get_device_name()
        return env

    # --- transport ---------------------------------------------------------------------------
    def tensors(self, case: Case, arrays: CaseArrays) -> tuple[Any, Any, Any]:
        """x (in the case's data_format), weight and bias as paddle tensors of the case's dtype."""
        self.prepare()
        paddle = self._paddle
        held = arrays.container()
        x = held["x"]
        if case.layout == "channels_last":
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        bias = paddle.to_tensor(held["bias"], dtype=case.dtype) if "bias" in held else None
        return (
            paddle.to_tensor(x, dtype=case.dtype),
            paddle.to_tensor(held["weight"], dtype=case.dtype),
            bias,
        )

    @staticmethod
    def to_numpy(case: Case, y: Any) -> np.ndarray:
        """Output tensor to a float64 NC* NumPy array (channels-last output moved back)."""
        out = np.asarray(y.numpy()).astype(np.float64)
        return np.moveaxis(out, -1, 1) if case.layout == "channels_last" else out


SNIPPET_LOAD = """import numpy as np
import paddle

paddle.set_device({device!r})
data = np.load({npz!r})
x_np = data["x"]{layout}
x = paddle.to_tensor(x_np, dtype={dtype!r})
weight = paddle.to_tensor(data["weight"], dtype={dtype!r})
bias = paddle.to_tensor(data["bias"], dtype={dtype!r}) if "bias" in data else None
"""


def snippet_prelude(target: PaddleTarget, case: Case, npz: str) -> str:
    """The common first lines of a paddle reproduction snippet (x already in its data_format)."""
    layout = ""
    if case.layout == "channels_last":
        layout = f"\nx_np = np.ascontiguousarray(np.moveaxis(x_np, 1, -1))  # {data_format(case)}"
    return SNIPPET_LOAD.format(device=target.device, npz=npz, dtype=case.dtype, layout=layout)


def snippet_output(case: Case) -> str:
    """The snippet's last lines: print the output's shape and values in NC* order."""
    move = ""
    if case.layout == "channels_last":
        move = "y_ncx = np.moveaxis(y_ncx, -1, 1)  # back to NC* order\n"
    return "y_ncx = y.numpy()\n" + move + "print(y_ncx.shape)\nprint(y_ncx)\n"
