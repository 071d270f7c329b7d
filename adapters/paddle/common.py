"""What the PaddlePaddle targets share: capabilities, devices, numeric settings and the tensor
statements of their plans."""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adapters import plan as p
from adapters.paddle import docs
from adapters.paddle.forms import output_padding_reason
from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target, distribution_version
from harness.errors import TargetUnavailable
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.oracle.tolerance import AccumulationModel, exact_model

if TYPE_CHECKING:
    from adapters.reading import Api

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


@functools.cache
def installed_distribution() -> str | None:
    """Which paddle wheel is installed (metadata only, no import), or None; read once per process
    (every support check asks, and reading the metadata scans the installed distributions)."""
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
        return distribution_version(dist) if dist else "unknown"

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
            padding_modes=docs.PADDING_MODES,
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

    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The documented size with explicit padding (the same for the layer and the function)."""
        return docs.explicit_formula(rank)

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """``paddle.nn.Conv{1,2,3}DTranspose`` and ``paddle.nn.functional.conv{1,2,3}d_transpose``."""
        from adapters.paddle import reading

        return reading.APIS


IMPORTS = (p.Import("numpy", "np"), p.Import("paddle"))


def setup(device: str) -> tuple[p.Stmt, ...]:
    """Once per process: select the device."""
    return (p.Do(p.call("paddle.set_device", device)),)


def tensors(*, dtype: str, channels_last: bool, weight: bool, bias: bool) -> list[p.Stmt]:
    """``x`` (moved to channels-last when the data format asks for it), ``weight`` and ``bias`` as
    paddle tensors of ``dtype``."""
    x: p.Expr = p.data("x")
    if channels_last:
        x = p.call("np.ascontiguousarray", p.call("np.moveaxis", x, 1, -1))
    out: list[p.Stmt] = [p.Assign("x", p.call("paddle.to_tensor", x, dtype=dtype))]
    if weight:
        out.append(p.Assign("weight", p.call("paddle.to_tensor", p.data("weight"), dtype=dtype)))
    if bias:
        out.append(p.Assign("bias", p.call("paddle.to_tensor", p.data("bias"), dtype=dtype)))
    return out


def to_numpy(channels_last: bool) -> p.Expr:
    """The output as float64 NumPy in NC* order (a channels-last output moved back)."""
    out = p.method(p.call("np.asarray", p.method(p.Name("y"), "numpy")), "astype", p.sym("np.float64"))
    return p.call("np.moveaxis", out, -1, 1) if channels_last else out
