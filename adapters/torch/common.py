"""What the two PyTorch targets share: dtypes, devices, numeric settings and tensor transport."""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.protocol import CROPS_SYMMETRIC, Capabilities, Target
from harness.model.arrays import CaseArrays
from harness.model.case import Case
from harness.oracle.tolerance import AccumulationModel, exact_model

TORCH_DTYPES = {"float64": "float64", "float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}

# torch CPU: half types round each tap's partial sum to the half type, channels accumulate in
# float32 (fact sheet §5; checked by benchmarks/tolerance_calibration.py and the tests).
CPU_ACCUMULATION = {
    "float64": exact_model("float64"),
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float16"),
    "bfloat16": AccumulationModel("float32", "bfloat16"),
}
# CUDA (cuDNN) with TF32 disabled by the harness: half types accumulate in float32, rounded once.
CUDA_ACCUMULATION = {
    "float64": exact_model("float64"),
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float32"),
    "bfloat16": AccumulationModel("float32", "float32"),
}


class TorchTarget(Target):
    """Base for the PyTorch targets (shared capability model and settings)."""

    framework = "torch"
    requires = "torch"

    @property
    def _torch(self) -> Any:
        import torch  # lazily: the main process only asks what this target supports

        return torch

    def prepare(self) -> None:
        """Import torch; on CUDA pin TF32 off so float32 is judged as float32 (recorded)."""
        torch = self._torch
        if self.device.startswith("cuda"):
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False

    def capabilities(self) -> Capabilities:
        """ConvTranspose1d/2d/3d: symmetric padding, output_padding < stride or dilation."""
        cuda = self.device.startswith("cuda")
        return Capabilities(
            ranks=frozenset({1, 2, 3}),
            dtypes=frozenset(TORCH_DTYPES),
            layouts=frozenset({"channels_first", "channels_last"}),
            crops=CROPS_SYMMETRIC,
            output_padding_limit="lt_stride_or_dilation",
            groups=True,
            dilation=True,
            devices=frozenset({"cpu", "cuda"}),
            accumulation=CUDA_ACCUMULATION if cuda else CPU_ACCUMULATION,
            channels_last_ranks=frozenset({2, 3}),
        )

    def environment(self) -> dict[str, Any]:
        """Versions, threads, TF32 and oneDNN settings."""
        torch = self._torch
        env = super().environment()
        env.update(
            threads=torch.get_num_threads(),
            cudnn_allow_tf32=bool(torch.backends.cudnn.allow_tf32),
            matmul_allow_tf32=bool(torch.backends.cuda.matmul.allow_tf32),
            mkldnn_enabled=bool(torch.backends.mkldnn.enabled),
        )
        if self.device.startswith("cuda") and torch.cuda.is_available():
            env["cuda_device"] = torch.cuda.get_device_name(self.device)
            env["cudnn_version"] = torch.backends.cudnn.version()
        return env

    def tensors(self, case: Case, arrays: CaseArrays) -> tuple[Any, Any, Any]:
        """x, weight, bias as torch tensors of the case's dtype on the device, in its layout."""
        torch = self._torch
        dt = getattr(torch, TORCH_DTYPES[case.dtype])
        held = arrays.container()
        x = torch.from_numpy(held["x"]).to(device=self.device, dtype=dt)
        w = torch.from_numpy(held["weight"]).to(device=self.device, dtype=dt)
        b = None
        if "bias" in held:
            b = torch.from_numpy(held["bias"]).to(device=self.device, dtype=dt)
        if case.layout == "channels_last":
            x = x.contiguous(memory_format=self.memory_format(case))
        return x, w, b

    def memory_format(self, case: Case) -> Any:
        """torch's channels-last memory format for the case's rank."""
        return getattr(self._torch, memory_format_name(case))

    def to_numpy(self, y: Any) -> np.ndarray:
        """Output tensor to a float64 NumPy array (exact for every torch float dtype)."""
        torch = self._torch
        return y.detach().to(device="cpu", dtype=torch.float64).numpy()


def memory_format_name(case: Case) -> str:
    """Name of torch's channels-last memory format for the case's rank (2-D or 3-D data)."""
    return "channels_last" if case.rank == 2 else "channels_last_3d"


def op_limit_reason(case: Case, output_padding: tuple[int, ...]) -> str | None:
    """torch's rule: each output_padding must be smaller than either its stride or its dilation."""
    for dim, (op, s, d) in enumerate(zip(output_padding, case.stride, case.dilation, strict=True)):
        if op >= s and op >= d:
            return (
                f"output_padding {op} along dim {dim} is not smaller than stride {s} or "
                f"dilation {d} (torch's limit)"
            )
    return None


SNIPPET_LOAD = """import numpy as np
import torch

data = np.load({npz!r})
dtype = torch.{dtype}
x = torch.from_numpy(data["x"]).to({device!r}, dtype){layout}
weight = torch.from_numpy(data["weight"]).to({device!r}, dtype)
bias = torch.from_numpy(data["bias"]).to({device!r}, dtype) if "bias" in data else None
"""


def snippet_prelude(target: TorchTarget, case: Case, npz: str) -> str:
    """The common first lines of a torch reproduction snippet."""
    layout = ""
    if case.layout == "channels_last":
        layout = f".contiguous(memory_format=torch.{memory_format_name(case)})"
    return SNIPPET_LOAD.format(npz=npz, dtype=TORCH_DTYPES[case.dtype], device=target.device, layout=layout)
