"""The words adapters describe their API's weight layout and defaults with (what ``port`` shows
next to an emitted call: :meth:`adapters.protocol.TargetApi.weight_layout` and
:meth:`~adapters.protocol.TargetApi.call_defaults`)."""

from __future__ import annotations

#: The canonical weight layout; every built-in API takes the weight in this order.
WEIGHT_LAYOUT = "(C_in, C_out/groups, k…)"
#: What ``call_defaults`` describes. Meanings are worded alike across adapters, so that equal
#: texts mean equal behaviour.
DEFAULT_TOPICS = ("bias", "padding", "output_padding", "stride", "dilation", "groups", "layout")
#: Meanings of ``call_defaults``, worded once so that equal words mean equal behaviour.
WITH_BIAS = "with bias"
WITHOUT_BIAS = "without bias"
NO_CROP = "no crop"
CHANNELS_FIRST = "NC* data (channels first)"


def standard_defaults(
    bias: tuple[str, str], padding: tuple[str, str], layout: str, **spelled: str
) -> dict[str, tuple[str, str]]:
    """``call_defaults`` of an API whose stride, dilation and groups default to 1,
    output padding to 0 and data to NC*; ``spelled`` gives how the API writes a default where its
    keyword differs from the topic (e.g. ``groups="group=1"``)."""
    names = {
        "output_padding": "output_padding=0",
        "stride": "stride=1",
        "dilation": "dilation=1",
        "groups": "groups=1",
        **spelled,
    }
    return {
        "bias": bias,
        "padding": padding,
        "output_padding": ("0", names["output_padding"]),
        "stride": ("1", names["stride"]),
        "dilation": ("1", names["dilation"]),
        "groups": ("1", names["groups"]),
        "layout": (CHANNELS_FIRST, layout),
    }
