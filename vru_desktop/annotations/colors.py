"""The one colour table of the VRU classes, shared by the overlay, the timeline and exports' previews."""

from __future__ import annotations

#: VRU type → ``#rrggbb``. Colour-blind-safe (Okabe–Ito) hues for the five standard types.
VRU_COLORS: dict[str, str] = {
    "pedestrian": "#e69f00",
    "cyclist": "#56b4e9",
    "motorcyclist": "#d55e00",
    "wheelchair_user": "#009e73",
    "scooter_rider": "#cc79a7",
}

#: Colour of any type a project adds beyond the standard ones.
FALLBACK_COLOR = "#9e9e9e"


def color_of(vru_type: str) -> str:
    """The ``#rrggbb`` colour of ``vru_type`` (grey for a type not in the table)."""
    return VRU_COLORS.get(vru_type, FALLBACK_COLOR)
