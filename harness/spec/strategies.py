"""The Hypothesis strategy drawing canonical cases from a spec, and its drawing helpers.

:func:`cases` draws cases that are valid by construction: groups are drawn with per-group channel
counts (so they divide both channel counts), each size is drawn within what is left of the
per-tensor budget (never filtered), and crops are bounded by what keeps every output size ≥ 1 given
the drawn output_padding. The strategy makes no ``assume()`` call and no ``.filter()``; whatever
Hypothesis itself discards is still counted by :func:`harness.spec.health.measure_spec` as attempts
that produced no case.

Shrinking goes toward small, simple cases: every integer is drawn from its minimum upward, every
choice shrinks to the first entry listed in the spec, crops and output padding shrink to none,
asymmetric crops to symmetric ones, and the seed to 0.

Bounded integers are drawn (near-)uniformly over their range rather than with Hypothesis' bias
toward the low end, so that the spec's weights and ranges describe what a run actually covers.

Hypothesis also draws a share of integers from the literal constants of the local source modules
it finds loaded. The strategy turns that pool off (:func:`pin_generation`): otherwise which cases a
seed gives would change with every edit of the harness's own source and with the order its
modules happen to be imported in (a resumed run imports others first), and a run's results would
depend on local state.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import event
from hypothesis import strategies as st

from harness.model.case import QUANTIZED_DTYPE, Case
from harness.model.features import coverage_features
from harness.spec.quant_strategies import draw_quantization, quant_distributions
from harness.spec.schema import Spec

T = TypeVar("T")

SEED_MAX = 2**32 - 1
_UNIFORM_SPAN = 256  # Hypothesis draws sampled_from over this many items close to uniformly
_CHANCE_BUCKETS = 256


# --- drawing helpers ---------------------------------------------------------------------------


@functools.cache
def _indices(n: int) -> st.SearchStrategy[int]:
    """``sampled_from(range(n))``, built once per ``n`` (building one per draw costs ~1 ms)."""
    return st.sampled_from(range(n))


def _index(draw: st.DrawFn, n: int) -> int:
    """A near-uniform index in ``[0, n)``, shrinking to 0."""
    if n <= 1:
        return 0
    if n <= _UNIFORM_SPAN:
        return draw(_indices(n))
    high = _index(draw, -(-n // _UNIFORM_SPAN))
    low = draw(_indices(_UNIFORM_SPAN))
    return (high * _UNIFORM_SPAN + low) % n


def _int(draw: st.DrawFn, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``, near-uniform, shrinking to ``lo``."""
    if hi < lo:
        raise AssertionError(f"empty range [{lo}, {hi}]: the spec's minimal case should fit")
    return lo + _index(draw, hi - lo + 1)


def _chance(draw: st.DrawFn, p: float) -> bool:
    """True with probability about ``p``; shrinks to False (unless ``p`` is 1)."""
    if p <= 0.0:
        return False
    if p >= 1.0:
        return True
    hits = max(1, round(p * _CHANCE_BUCKETS))
    return _index(draw, _CHANCE_BUCKETS) >= _CHANCE_BUCKETS - hits


def _choice(draw: st.DrawFn, weights: Mapping[T, int]) -> T:
    """One key of ``weights``, drawn with probability proportional to its weight."""
    items = list(weights.items())
    u = _index(draw, sum(w for _, w in items))
    for value, weight in items:
        if u < weight:
            return value
        u -= weight
    raise AssertionError("unreachable: u < total weight")


def _iroot(n: int, k: int) -> int:
    """``floor(n ** (1/k))`` for n ≥ 0, exactly."""
    if k == 1 or n < 2:
        return n
    x: int = round(n ** (1.0 / k))
    while x > 0 and x**k > n:
        x -= 1
    while (x + 1) ** k <= n:
        x += 1
    return x


def _cap(hi: int, budget: int, *unit_costs: int) -> int:
    """``hi`` lowered so that ``value * cost ≤ budget`` for every cost."""
    return min(hi, *(budget // c for c in unit_costs))


def _share(room: int, unit_min: int, later: int) -> int:
    """The cap for one dimension's extent out of ``room`` (a product budget).

    Hard limit: leave ``unit_min`` for each of the ``later`` dimensions. Soft limit: this
    dimension's fair share, ``room ** (1 / (later + 1))``, so that the first dimension does not
    take the whole budget and leave the others at their minimum.
    """
    hard: int = room // unit_min**later
    return max(unit_min, min(hard, _iroot(room, later + 1)))


# --- the strategy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRule:
    """What of a target's rules the strategy keeps to within a dimension, so that only what it can
    express is drawn (the rest of its declarations restrict the spec itself).

    ``symmetric``: the API takes one padding per dimension, so a case reaches it as padding ``cb``
    and output padding ``cb − ce + op`` (:func:`adapters.protocol.symmetric_padding_for`), which
    must be ≥ 0 and within ``op_rule``. ``op_rule`` is a ``Capabilities.output_padding_limit``
    resolved for the spec's rank: ``"lt_stride_or_dilation"``, ``"lt_stride"``, ``"none"`` or
    ``"any"``. ``unit_dilation_dims``: the spatial dimensions whose dilation the API requires to
    be 1. ``derived``: the API takes an output size and derives the crops from the total
    ``t = cb + ce − op`` (:data:`adapters.protocol.CROPS_DERIVED`): ``cb = t − ⌊t/2⌋`` for
    ``t ≥ 0``, and no begin crop for a size past the full output.
    """

    symmetric: bool = False
    op_rule: str = "any"
    unit_dilation_dims: frozenset[int] = frozenset()
    derived: bool = False

    def op_limit(self, stride: int, dilation: int) -> int | None:
        """The exclusive bound on the output padding the API receives (None: no bound)."""
        if self.op_rule == "lt_stride_or_dilation":
            return max(stride, dilation)
        if self.op_rule == "lt_stride":
            return stride
        if self.op_rule == "none":
            return 1
        return None


#: Everything the spec allows (no target's rule applied).
ANY_API = ApiRule()


def _crops(
    draw: st.DrawFn, rule: ApiRule, asymmetric: bool, limits: tuple[int, int, int, int | None]
) -> tuple[int, int]:
    """Begin and end crops of one dimension, keeping ``O ≥ 1`` and the API's padding rule.

    ``limits`` is (the spec's crop bound, the room ``F + op − 1``, ``op``, the rule's exclusive
    output-padding bound). For a symmetric API the end crop is drawn within
    ``[cb + op − lim + 1, cb + op]``, which is non-empty while ``2·cb ≤ F + lim − 2``.
    """
    crop_max, room, op, lim = limits
    if rule.derived:
        return _derived_crops(draw, asymmetric, limits)
    if not rule.symmetric:
        if not asymmetric:
            cb = _int(draw, 0, min(crop_max, room // 2))
            return cb, cb
        cb = _int(draw, 0, min(crop_max, room))
        return cb, _int(draw, 0, min(crop_max, room - cb))
    full = room + 1 - op
    cb_hi = min(crop_max, room) if lim is None else min(crop_max, room, (full + lim - 2) // 2)
    if not asymmetric:
        cb = _int(draw, 0, min(cb_hi, room // 2))
        return cb, cb
    cb = _int(draw, 0, cb_hi)
    low = 0 if lim is None else max(0, cb + op - lim + 1)
    return cb, _int(draw, low, min(cb + op, crop_max, room - cb))


def _derived_crops(draw: st.DrawFn, odd: bool, limits: tuple[int, int, int, int | None]) -> tuple[int, int]:
    """Crops an API that derives them from the total ``t = cb + ce − op`` can give: ``t = 2h``
    (``odd``: ``2h + 1``, the odd position cropped at the begin), so ``cb = h (+1)``, ``ce = h + op``."""
    crop_max, room, op, _ = limits
    for extra in (1, 0) if odd else (0,):
        h_hi = min(crop_max - extra, crop_max - op, (room - op - extra) // 2)
        if h_hi >= 0:
            h = _int(draw, 0, h_hi)
            return h + extra, h + op
    return 0, 0


@dataclass
class Tally:
    """Invocations of a :func:`cases` strategy (the strategy itself never rejects a draw)."""

    attempts: int = 0


def pin_generation() -> bool:
    """Empty Hypothesis's pool of constants taken from local source modules (see the module
    docstring); the pool of Hypothesis's own constants stays. Idempotent; False where this
    Hypothesis has no such pool."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - a Hypothesis without the pool
        return False
    if not hasattr(providers, "_get_local_constants"):
        return False
    empty = Constants()
    setattr(providers, "_get_local_constants", lambda: empty)  # noqa: B010 - a private hook, on purpose
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()
    return True


def cases(spec: Spec, tally: Tally | None = None, rule: ApiRule = ANY_API) -> st.SearchStrategy[Case]:
    """Cases of ``spec``'s parameter space, valid by construction and within its budget.

    ``tally``, when given, counts every invocation of the strategy (see
    :func:`harness.spec.health.measure_spec`); ``rule`` keeps crops and output padding to what
    one target's API expresses.
    """
    pin_generation()
    rank, budget = spec.rank, spec.max_elements
    ch = spec.channels
    lmin, kmin, smin, dmin = spec.input_size.min, spec.kernel_size.min, spec.stride.min, spec.dilation.min
    fmin = spec.smallest_full_size
    unit_in, unit_w, unit_out = lmin**rank, kmin**rank, fmin**rank
    nmin, gmin, cin_min, cout_min = spec.batch.min, ch.groups.min, ch.in_per_group.min, ch.out_per_group.min

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        if tally is not None:
            tally.attempts += 1
        # Channels and batch, each bounded by the budget left with everything else at its minimum.
        # input = N·g·cin·ΠL, weight = g·cin·cout·Πk, output = N·g·cout·ΠO.
        g = _int(
            draw,
            gmin,
            _cap(
                ch.groups.max,
                budget,
                nmin * cin_min * unit_in,
                cin_min * cout_min * unit_w,
                nmin * cout_min * unit_out,
            ),
        )
        cin = _int(
            draw, cin_min, _cap(ch.in_per_group.max, budget, nmin * g * unit_in, g * cout_min * unit_w)
        )
        cout = _int(draw, cout_min, _cap(ch.out_per_group.max, budget, g * cin * unit_w, nmin * g * unit_out))
        n = _int(draw, nmin, _cap(spec.batch.max, budget, g * cin * unit_in, g * cout * unit_out))
        room_in, room_w, room_out = (
            budget // (n * g * cin),
            budget // (g * cin * cout),
            budget // (n * g * cout),
        )

        pads_out = _chance(draw, spec.output_padding.probability)
        crops_on = _chance(draw, spec.crops.probability)
        asymmetric = crops_on and _chance(draw, spec.crops.asymmetric_probability)
        # Drawn after the flags so that the choice sequence keeps its shape (shrinking stays good).
        mode = _choice(draw, spec.padding_modes)
        named = mode != "explicit"
        pads_out, crops_on, asymmetric = (False, False, False) if named else (pads_out, crops_on, asymmetric)

        dims: dict[str, list[int]] = {k: [] for k in ("L", "k", "s", "d", "cb", "ce", "op")}
        for i in range(rank):
            later = rank - 1 - i
            cap_in, cap_w, cap_out = (
                _share(room_in, lmin, later),
                _share(room_w, kmin, later),
                _share(room_out, fmin, later),
            )
            # Full output F = (L−1)·s + d·(k−1) + 1 must stay ≤ cap_out whatever is drawn next.
            head = cap_out - 1 - (lmin - 1) * smin
            k = _int(draw, kmin, min(spec.kernel_size.max, cap_w, head // dmin + 1))
            d_hi = spec.dilation.max if k == 1 else min(spec.dilation.max, head // (k - 1))
            d_hi = dmin if i in rule.unit_dilation_dims else d_hi
            d = _int(draw, dmin, d_hi)
            kk = d * (k - 1) + 1
            s_hi = spec.stride.max if lmin == 1 else min(spec.stride.max, (cap_out - kk) // (lmin - 1))
            if named:  # the SAME modes' nominal size L·s may pass F when s > K
                s_hi = min(s_hi, cap_out // lmin)
            s = _int(draw, smin, s_hi)
            l_hi = min(spec.input_size.max, cap_in, (cap_out - kk) // s + 1)
            if named:
                l_hi = min(l_hi, cap_out // s)
            length = _int(draw, lmin, l_hi)
            full = max((length - 1) * s + kk, length * s if named else 0)
            op = 0
            lim = rule.op_limit(s, d)
            if pads_out:
                op_max = max(s, d) + 1 if spec.output_padding.max == "auto" else spec.output_padding.max
                op = _int(draw, 0, min(op_max, cap_out - full, op_max if lim is None else lim - 1))
            # Crops keep O = F − cb − ce + op ≥ 1.
            room = full + op - 1
            crop_max = d * (k - 1) if spec.crops.max == "auto" else spec.crops.max
            if crops_on:
                cb, ce = _crops(draw, rule, asymmetric, (crop_max, room, op, lim))
            else:
                cb = ce = 0
            for key, value in zip(dims, (length, k, s, d, cb, ce, op), strict=True):
                dims[key].append(value)
            room_in, room_w, room_out = room_in // length, room_w // k, room_out // (full + op)

        bias = _choice(draw, spec.bias)
        dtype = _choice(draw, spec.dtypes)
        layout = _choice(draw, spec.layouts)
        quant = None
        distributions: Mapping[Any, int] = spec.distributions
        if spec.quantization is not None and dtype == QUANTIZED_DTYPE:
            quant = draw_quantization(draw, spec.quantization, g * cout, bias)
            bias, distributions = quant.bias != "none", quant_distributions(distributions)
        case = Case(
            rank=rank,
            batch=n,
            in_channels=g * cin,
            out_channels=g * cout,
            groups=g,
            input_size=tuple(dims["L"]),
            kernel_size=tuple(dims["k"]),
            stride=tuple(dims["s"]),
            dilation=tuple(dims["d"]),
            pads_begin=tuple(dims["cb"]),
            pads_end=tuple(dims["ce"]),
            output_padding=tuple(dims["op"]),
            bias=bias,
            dtype=dtype,
            layout=layout,
            distribution=_choice(draw, distributions),
            seed=draw(st.integers(0, SEED_MAX)),
            padding_mode=mode,
            quantization=quant,
        )
        for feature, shown in coverage_features(case).items():
            event(f"{feature}: {shown}")
        return case

    return draw_case()
