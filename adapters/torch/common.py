"""What the PyTorch targets share: dtypes, devices, numeric settings and the tensor statements of
their plans."""

from __future__ import annotations

from typing import Any

from adapters import plan as p
from adapters.protocol import CROPS_SYMMETRIC, Capabilities, Target
from harness.model.case import Case
from harness.oracle.tolerance import AccumulationModel, exact_model

TORCH_DTYPES = ("float64", "float32", "float16", "bfloat16")

# torch CPU: half types round each tap's partial sum to the half type, channels accumulate in
# float32 (checked by benchmarks/tolerance_calibration.py and the tests).
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

IMPORTS = (p.Import("numpy", "np"), p.Import("torch"))
DOCS = "https://docs.pytorch.org/docs/stable/generated"


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


def memory_format_name(rank: int) -> str:
    """Name of torch's channels-last memory format for a rank (2-D or 3-D data)."""
    return "channels_last" if rank == 2 else "channels_last_3d"


def tensors(
    *, dtype: str, device: str, rank: int, channels_last: bool, weight: bool, bias: bool
) -> list[p.Stmt]:
    """``x`` (and ``weight``, ``bias``) as torch tensors of ``dtype`` on ``device``; ``x`` in the
    channels-last memory format when asked."""

    def tensor(key: str) -> p.Call:
        return p.method(
            p.call("torch.from_numpy", p.data(key)), "to", device=device, dtype=p.sym(f"torch.{dtype}")
        )

    x: p.Expr = tensor("x")
    if channels_last:
        x = p.method(x, "contiguous", memory_format=p.sym(f"torch.{memory_format_name(rank)}"))
    out: list[p.Stmt] = [p.Assign("x", x)]
    if weight:
        out.append(p.Assign("weight", tensor("weight")))
    if bias:
        out.append(p.Assign("bias", tensor("bias")))
    return out


#: The output as float64 NumPy (exact for every torch float dtype).
TO_NUMPY = p.method(
    p.method(p.method(p.Name("y"), "detach"), "to", device="cpu", dtype=p.sym("torch.float64")), "numpy"
)


def op_limit_reason(case: Case, output_padding: tuple[int, ...]) -> str | None:
    """torch's rule: each output_padding must be smaller than either its stride or its dilation."""
    for dim, (op, s, d) in enumerate(zip(output_padding, case.stride, case.dilation, strict=True)):
        if op >= s and op >= d:
            return (
                f"output_padding {op} along dim {dim} is not smaller than stride {s} or "
                f"dilation {d} (torch's limit)"
            )
    return None
