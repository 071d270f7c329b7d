"""What the two MindSpore targets share: devices, dtypes, the NumPy-ABI warm-up and tensor transport.

MindSpore 2.10 is built against NumPy 1.x. Under NumPy 2 the first call of the ``ops.Squeeze``
primitive in a fresh process fails once with ``SystemError: <built-in method pyboost_squeeze ...>
returned a result with an exception set`` (NumPy 2 refuses the NumPy-1 C API that is asked for, and
the pending ``ImportError`` surfaces in that call); ``nn.Conv1dTranspose`` squeezes its output with
that primitive, so its first call in a process fails, and every later call succeeds. The other
layers and primitives used here are unaffected (mindspore 2.10.0, NumPy 2.4). Rather than retry
failing cases, :meth:`MindSporeTarget.prepare` calls every API surface once per process, the 1-D
layer first, and records each outcome, with the error text, in :meth:`MindSporeTarget.environment`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters import plan as p
from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from harness.errors import TargetUnavailable
from harness.model.case import Case
from harness.model.formulas import ExplicitFormula
from harness.model.modes import DocumentedMode
from harness.oracle.tolerance import AccumulationModel, exact_model

if TYPE_CHECKING:
    from adapters.reading import Api

#: Data dtypes MindSpore runs on the CPU (float64 and bfloat16 transposed convolutions have no CPU
#: kernel: checked by tests/test_mindspore.py).
MS_DTYPES = {"float32": "float32", "float16": "float16"}

# float16 on the CPU: the convolution accumulates taps and channels in float32 and rounds once to
# float16 (exact probes: 2048+1+1+1 gives 2052 over taps and over channels; without bias the
# round-once bound holds, max error/bound 0.998 over 400 random cases), but the bias is added
# afterwards by a separate float16 BiasAdd, a second rounding of the already rounded sum (and an
# overflow to inf where the sum before the bias exceeds 65504). The round-once model does not bound
# that (random cases with bias exceed it up to 337x, 89-95 % of them); the model with float16 tap
# sums (γ_{T+1}(u16)·M) does (max 0.499) and is declared. benchmarks/mindspore_accumulation.py.
CPU_ACCUMULATION = {
    "float32": exact_model("float32"),
    "float16": AccumulationModel("float32", "float16"),
}

#: ``--device`` prefix → MindSpore device target.
DEVICE_TARGETS = {"cpu": "CPU", "gpu": "GPU", "cuda": "GPU", "ascend": "Ascend"}

DOCS = "https://www.mindspore.cn/docs/en/r2.10.0/api_python"

#: One warm-up record per process: API surface → outcome text (see the module docstring).
_WARMUP: dict[str, str] = {}


def device_target(device: str) -> tuple[str, int | None]:
    """``"cpu"`` → ``("CPU", None)``, ``"gpu:1"`` → ``("GPU", 1)``; unknown prefixes raise."""
    kind, _, index = device.partition(":")
    try:
        target = DEVICE_TARGETS[kind.lower()]
    except KeyError:
        known = ", ".join(DEVICE_TARGETS)
        raise TargetUnavailable(f"mindspore has no device {device!r} (known: {known})") from None
    return target, int(index) if index else None


class MindSporeTarget(Target):
    """Base for the MindSpore targets: device selection, dtypes, warm-up and tensors."""

    framework = "mindspore"
    requires = "mindspore"
    wheel_pythons = frozenset({"3.11", "3.12"})  # mindspore 2.10.0 has no cp313 wheel

    @property
    def _ms(self) -> Any:
        import mindspore  # lazily: the main process must never load mindspore next to paddle

        return mindspore

    # --- identity and environment -------------------------------------------------------------
    def device_target_name(self) -> str:
        """The MindSpore device target of ``self.device`` (``"CPU"``, ``"GPU"``, ``"Ascend"``)."""
        return device_target(self.device)[0]

    def on_cpu(self) -> bool:
        """True when the target runs on MindSpore's CPU backend."""
        return self.device.split(":")[0].lower() == "cpu"

    def prepare(self) -> None:
        """Import mindspore, select the device, and run the once-per-process warm-up (recorded)."""
        ms = self._ms
        target, index = device_target(self.device)
        try:
            if index is None:
                ms.set_device(target)
            else:
                ms.set_device(target, index)
        except (RuntimeError, ValueError) as exc:
            raise TargetUnavailable(f"mindspore cannot use device {self.device!r}: {exc}") from exc
        if not _WARMUP:
            _WARMUP.update(warm_up(self))

    def environment(self) -> dict[str, Any]:
        """Versions, device, execution mode, threads and the NumPy-ABI warm-up record."""
        ms = self._ms
        env = super().environment()
        env.update(
            device_target=ms.get_context("device_target"),
            mode="PYNATIVE" if ms.get_context("mode") == ms.PYNATIVE_MODE else "GRAPH",
            runtime_num_threads=ms.get_context("runtime_num_threads"),
            numpy_version=np.__version__,
            numpy_abi_warmup=dict(_WARMUP),
        )
        return env

    # --- capabilities ---------------------------------------------------------------------------
    #: Ranks the target's API has, and why the missing ones are missing.
    ranks: frozenset[int] = frozenset({1, 2, 3})
    missing_rank_reason = ""
    output_padding_limit = "lt_stride_or_dilation"

    def padding_modes(self) -> dict[str, DocumentedMode]:
        """The named modes the target's documentation defines (overridden per target)."""
        return {}

    def capabilities(self) -> Capabilities:
        """Channels-first only on the CPU (NHWC is GPU-only), float32/float16, begin/end crops."""
        return Capabilities(
            ranks=self.ranks,
            dtypes=frozenset(MS_DTYPES),
            layouts=frozenset({"channels_first"}),
            crops=CROPS_BEGIN_END,
            output_padding_limit=self.output_padding_limit,
            groups=True,
            dilation=True,
            devices=frozenset({"cpu", "gpu", "cuda", "ascend"}),
            accumulation=CPU_ACCUMULATION,
            padding_modes=self.padding_modes(),
            # the Conv3DTranspose primitive's depth dilation (see supports)
            unit_dilation_dims={3: frozenset({0})},
        )

    def supports(self, case: Case) -> str | None:
        """The protocol's checks, with MindSpore's reasons for layout and rank (a missing rank first:
        no layout of a rank without a primitive could be expressed)."""
        if case.rank not in self.ranks and self.missing_rank_reason:
            return self.missing_rank_reason
        if case.layout == "channels_last":
            if self.on_cpu():
                return (
                    f"{self.name}: the NHWC data format exists on GPU only (MindSpore raises "
                    "ValueError for data_format='NHWC' on other targets)"
                )
            return f"{self.name} has no channels-last form for {case.rank}-D data in this adapter"
        if case.rank == 3 and case.dilation[0] > 1:
            # Undocumented: the Conv3DTranspose primitive (also behind nn.Conv3dTranspose) checks
            # its dilation with third_one=True and raises ValueError for a depth dilation > 1.
            return (
                f"{self.name}: Conv3DTranspose requires dilation 1 along depth (got "
                f"{case.dilation[0]}; ValueError 'the depth of parameter dilation must be 1', "
                "not stated in its documentation)"
            )
        return super().supports(case)

    def accumulation(self, dtype: str) -> AccumulationModel:
        """The declared model (measured on the CPU; GPU/Ascend kernels are assumed to match)."""
        return CPU_ACCUMULATION[dtype]

    # --- what the documentation says --------------------------------------------------------------
    def explicit_formula(self, rank: int) -> ExplicitFormula | None:
        """The size the API's documentation gives for ``pad_mode='pad'`` (per target)."""
        return None

    @classmethod
    def call_apis(cls) -> Sequence[Api]:
        """``mindspore.nn.Conv{1,2,3}dTranspose``."""
        from adapters.mindspore import reading

        return reading.APIS


IMPORTS = (p.Import("numpy", "np"), p.Import("mindspore"))


def setup(device_target: str, squeeze_warm_up: bool) -> tuple[p.Stmt, ...]:
    """Once per process: select the device and, for 1-D layers, warm up ``ops.Squeeze`` visibly
    (see the module docstring)."""
    out: list[p.Stmt] = [p.Do(p.call("mindspore.set_device", device_target))]
    if squeeze_warm_up:
        out.append(p.Do(p.call(p.Name("warm_up_squeeze"))))
    return tuple(out)


def tensor(key: str) -> p.Call:
    """``mindspore.Tensor(data[key])`` (the array already in the case's dtype container)."""
    return p.call("mindspore.Tensor", p.data(key))


#: The output as float64 NumPy (exact for float16/float32).
TO_NUMPY = p.call("np.asarray", p.method(p.Name("y"), "asnumpy"), dtype=p.sym("np.float64"))


def warm_up_squeeze() -> None:
    """mindspore 2.10 under NumPy 2: the first ops.Squeeze call of a process (used by
    nn.Conv1dTranspose) fails once with a NumPy-ABI SystemError; make it happen here, visibly."""
    import mindspore

    try:
        mindspore.ops.Squeeze(2)(mindspore.Tensor(np.ones((1, 1, 1, 1), np.float32)))
    except SystemError as exc:
        print("NumPy-ABI warm-up failed once:", exc)


def warm_up(target: MindSporeTarget) -> dict[str, str]:
    """Call each MindSpore API surface once on a tiny float32 input; outcome text per surface.

    A surface whose first call fails is called once more, and both outcomes are recorded, so the
    record says whether the failure was the one-off NumPy-ABI error or persists.
    """
    ms = target._ms
    nn, ops = ms.nn, ms.ops

    def t(*shape: int) -> Any:
        return ms.Tensor(np.ones(shape, dtype=np.float32))

    calls: dict[str, Callable[[], Any]] = {
        "nn.Conv1dTranspose": lambda: nn.Conv1dTranspose(1, 1, 1, has_bias=True)(t(1, 1, 2)),
        "nn.Conv2dTranspose": lambda: nn.Conv2dTranspose(1, 1, 1, has_bias=True)(t(1, 1, 2, 2)),
        "nn.Conv3dTranspose": lambda: nn.Conv3dTranspose(1, 1, 1, has_bias=True)(t(1, 1, 2, 2, 2)),
        "ops.Conv2DTranspose": lambda: ops.Conv2DTranspose(1, 1)(t(1, 1, 2, 2), t(1, 1, 1, 1), (1, 1, 2, 2)),
        "ops.Conv3DTranspose": lambda: ops.Conv3DTranspose(1, 1, 1)(t(1, 1, 2, 2, 2), t(1, 1, 1, 1, 1)),
        "ops.bias_add": lambda: ops.bias_add(t(1, 1, 2, 2), t(1)),
    }
    record: dict[str, str] = {}
    for label, call in calls.items():
        first = _outcome(call)
        record[label] = first if first == "ok" else f"first call: {first}; second call: {_outcome(call)}"
    return record


def _outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as exc:  # recorded, never hidden: the text goes into environment()
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return "ok"
