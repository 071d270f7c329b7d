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

from collections.abc import Callable
from typing import Any

import numpy as np

from adapters.protocol import CROPS_BEGIN_END, Capabilities, Target
from harness.errors import TargetUnavailable
from harness.model.case import Case
from harness.model.modes import DocumentedMode, RankedMode
from harness.oracle.tolerance import AccumulationModel, exact_model

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


def pad_value(case: Case, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """An int where every value is equal and the case's seed is even, else the tuple.

    Deterministic per case, so both documented forms of ``padding``/``output_padding`` are exercised.
    """
    if len(set(values)) == 1 and case.seed % 2 == 0:
        return values[0]
    return values


def begin_end_pairs(case: Case) -> tuple[int, ...]:
    """``(b1, e1, b2, e2, …)``: MindSpore's (top, bottom, left, right) / (head, tail, …) order."""
    out: list[int] = []
    for cb, ce in zip(case.pads_begin, case.pads_end, strict=True):
        out += [cb, ce]
    return tuple(out)


class MindSporeTarget(Target):
    """Base for the MindSpore targets: device selection, dtypes, warm-up and tensors."""

    framework = "mindspore"
    requires = "mindspore"

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

    # --- tensors ---------------------------------------------------------------------------------
    def ms_dtype(self, case: Case) -> Any:
        """The mindspore dtype object of the case's dtype."""
        return getattr(self._ms, MS_DTYPES[case.dtype])

    def tensor(self, array: np.ndarray) -> Any:
        """A mindspore Tensor holding ``array`` (already in the case's NumPy container)."""
        return self._ms.Tensor(array)

    def to_numpy(self, y: Any) -> np.ndarray:
        """Output Tensor to float64 NumPy (exact for float16/float32)."""
        return np.asarray(y.asnumpy(), dtype=np.float64)


def snippet_prelude(target: MindSporeTarget, npz: str, squeeze_warm_up: bool = False) -> str:
    """First lines of a reproduction: imports, device, the case's arrays.

    With ``squeeze_warm_up`` (1-D layers) it first makes the one-off NumPy-ABI failure of
    ``ops.Squeeze`` happen visibly, as :meth:`MindSporeTarget.prepare` does.
    """
    text = (
        "import numpy as np\nimport mindspore as ms\nfrom mindspore import Tensor, nn, ops\n\n"
        f"ms.set_device({target.device_target_name()!r})\n"
    )
    if squeeze_warm_up:
        text += (
            "# mindspore 2.10 under NumPy 2: the first ops.Squeeze call of a process (used by\n"
            "# nn.Conv1dTranspose) fails once with a NumPy-ABI SystemError; warm it up, visibly.\n"
            "try:\n"
            "    ops.Squeeze(2)(Tensor(np.ones((1, 1, 1, 1), np.float32)))\n"
            "except SystemError as exc:\n"
            '    print("NumPy-ABI warm-up failed once:", exc)\n'
        )
    return text + (
        f"data = np.load({npz!r})\n"
        'x = Tensor(data["x"])\n'
        'weight = Tensor(data["weight"])  # (C_in, C_out/group, *kernel)\n'
    )


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


# --- named modes, as MindSpore's documentation gives them ----------------------------------------
# The sizes are copied from the documentation as written, including formulas that do not describe
# a transposed convolution (3-D, 1-D 'same', 2-D 'valid'): the harness reports departures as
# doc_mismatch. The documentation's ``a / b`` inside a size is read as integer (floor) division.
SEED_001 = "seeds/001_72a899d02d2b3d39.txt"
SPLIT_END_2D = (
    "2.10 docstring of mindspore.nn.Conv2dTranspose, pad_mode 'same': 'if it is odd, the "
    "excess amount goes to the right/bottom side' (crop ⌊t/2⌋ at the begin, the rest at "
    f"the end); {DOCS}/nn/mindspore.nn.Conv2dTranspose.html"
)
SPLIT_END_1D = (
    "2.10 docstring of mindspore.nn.Conv1dTranspose, pad_mode 'same': 'if it is odd, the "
    f"excess padding goes to the right side'; {DOCS}/nn/mindspore.nn.Conv1dTranspose.html"
)
SPLIT_END_3D = (
    "2.10 docstring of mindspore.nn.Conv3dTranspose / ops.Conv3DTranspose, pad_mode 'same': "
    "'if it is odd, the excess amount goes to the front/right/bottom side'; read as the "
    "end of every dimension (like right/bottom; 'front' is not defined further); "
    f"{DOCS}/nn/mindspore.nn.Conv3dTranspose.html"
)
SPLIT_VALID = (
    "'valid' is documented as 'no padding is applied ... extra pixels that could not "
    "complete a full stride will be discarded': the whole crop is taken off the end"
)


def _size_1d_same(n: int, k: int, s: int, d: int) -> int:
    return (n + s - 1) // s


def _size_valid_full(n: int, k: int, s: int, d: int) -> int:
    return (n - 1) * s + d * (k - 1) + 1


def _size_2d_same(n: int, k: int, s: int, d: int) -> int:
    return n * s


def _size_2d_valid(n: int, k: int, s: int, d: int) -> int:
    return n * s + max((d - 1) * (k - 1) - s, 0)


def _size_3d_same(n: int, k: int, s: int, d: int) -> int:
    return n // s + 1


def _size_3d_valid(n: int, k: int, s: int, d: int) -> int:
    return (n - d * (k - 1)) // s + 1


def documented_modes(rank: int, api: str) -> dict[str, DocumentedMode]:
    """MindSpore's documented 'same' and 'valid' for ``api`` ("nn" or "ops") at ``rank``."""
    if rank == 1:
        src = (
            "2.10 docstring of mindspore.nn.Conv1dTranspose (Outputs); "
            f"{DOCS}/nn/mindspore.nn.Conv1dTranspose.html"
        )
        return {
            "same": DocumentedMode(
                "same",
                "L_out = (L_in + stride − 1) / stride",
                _size_1d_same,
                "extra_at_end",
                src,
                SPLIT_END_1D,
            ),
            "valid": DocumentedMode(
                "valid",
                "L_out = (L_in − 1)·stride + dilation·(kernel_size − 1) + 1",
                _size_valid_full,
                "all_at_end",
                src,
                SPLIT_VALID,
            ),
        }
    if rank == 2:
        src = (
            f"{SEED_001} and the 2.10 docstring of mindspore.nn.Conv2dTranspose (Outputs); "
            f"{DOCS}/nn/mindspore.nn.Conv2dTranspose.html"
        )
        if api == "ops":
            src = (
                "mindspore.ops.Conv2DTranspose refers to mindspore.nn.Conv2dTranspose for pad_mode "
                f"({DOCS}/ops/mindspore.ops.Conv2DTranspose.html); sizes from " + src
            )
        return {
            "same": DocumentedMode(
                "same", "H_out = H_in·stride", _size_2d_same, "extra_at_end", src, SPLIT_END_2D
            ),
            "valid": DocumentedMode(
                "valid",
                "H_out = H_in·stride + max{(dilation − 1)·(kernel_size − 1) − stride, 0}",
                _size_2d_valid,
                "all_at_end",
                src,
                SPLIT_VALID,
            ),
        }
    src = (
        "2.10 docstring of mindspore.nn.Conv3dTranspose (Outputs); "
        f"{DOCS}/nn/mindspore.nn.Conv3dTranspose.html"
    )
    if api == "ops":
        src = (
            "mindspore.ops.Conv3DTranspose documents only the 'pad' size "
            f"({DOCS}/ops/mindspore.ops.Conv3DTranspose.html); sizes from nn.Conv3dTranspose, which "
            "calls this primitive with the same pad_mode: " + src
        )
    return {
        "same": DocumentedMode(
            "same", "D_out = ⌊D_in / stride + 1⌋", _size_3d_same, "extra_at_end", src, SPLIT_END_3D
        ),
        "valid": DocumentedMode(
            "valid",
            "D_out = ⌊(D_in − dilation·(kernel_size − 1)) / stride + 1⌋",
            _size_3d_valid,
            "all_at_end",
            src,
            SPLIT_VALID,
        ),
    }


def ranked_modes(api: str, ranks: frozenset[int]) -> dict[str, DocumentedMode]:
    """'same' and 'valid' of ``api`` over ``ranks``, each documented per rank."""
    return {
        mode: RankedMode.combine(mode, {r: documented_modes(r, api)[mode] for r in sorted(ranks)})
        for mode in ("same", "valid")
    }
