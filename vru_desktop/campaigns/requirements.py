"""Pass/fail requirements of a campaign: ``METRIC OP VALUE``, e.g. ``recall>=0.90`` or ``mr<=0.15``.

``VALUE`` is a number, or ``base``, ``base+D`` / ``base-D`` for the same metric of the campaign named
with ``--against`` (``recall>=base-0.02``: at most 0.02 below the base). The metric names are
:data:`METRICS`; they are the pooled numbers of the campaign's primary protocol.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vru_desktop.errors import ValidationError

#: Metric name → (what it is, True when higher is better).
METRICS: dict[str, tuple[str, bool]] = {
    "recall": ("TP / (TP + FN) at the confidence and IoU thresholds", True),
    "precision": ("TP / (TP + FP) at the confidence and IoU thresholds", True),
    "f1": ("2·TP / (2·TP + FP + FN) at the confidence and IoU thresholds", True),
    "ap": ("COCO AP, IoU .50:.95", True),
    "ap50": ("COCO AP at IoU .50", True),
    "ap75": ("COCO AP at IoU .75", True),
    "ap_small": ("COCO AP of small boxes", True),
    "ap_medium": ("COCO AP of medium boxes", True),
    "ap_large": ("COCO AP of large boxes", True),
    "ar1": ("COCO AR, 1 detection per frame", True),
    "ar10": ("COCO AR, 10 detections per frame", True),
    "ar100": ("COCO AR, 100 detections per frame", True),
    "mr": ("log-average miss rate MR⁻² over FPPI 10⁻²…10⁰, all classes", False),
    "mota": ("MOTA of the tracker ids (runs with tracks)", True),
    "idf1": ("IDF1 of the tracker ids (runs with tracks)", True),
    "hota": ("HOTA of the tracker ids (runs with tracks)", True),
    "false_alarms_per_hour": ("device events that hit no ground-truth presence, per reviewed hour", False),
    "ttfd_p95": ("95th percentile of the time (s) from a presence's start to its first device event", False),
    "event_hit_rate": ("share of ground-truth presences with a device event", True),
}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?:(?P<base>base)\s*(?:(?P<sign>[+-])\s*(?P<delta>\d+(?:\.\d*)?|\.\d+))?|(?P<value>-?\d+(?:\.\d*)?|-?\.\d+))\s*$"
)


@dataclass(frozen=True)
class Requirement:
    text: str
    metric: str
    op: str
    value: float  # the number, or the offset from the base
    relative: bool  # compared with the base campaign's value plus ``value``

    def check(self, metrics: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
        """``{"requirement", "value", "threshold", "passed", "reason"}`` for these pooled metrics."""
        value = metrics.get(self.metric)
        threshold: float | None = self.value
        reason = None
        if self.relative:
            base_value = None if base is None else base.get(self.metric)
            threshold = None if base_value is None else base_value + self.value
            if base_value is None:
                reason = "the base campaign has no value for it"
        if value is None:
            reason = "the campaign has no value for it (nothing to score)"
        passed = reason is None and OPERATORS[self.op](float(value), float(threshold))  # type: ignore[arg-type]
        return {
            "requirement": self.text,
            "value": value,
            "threshold": threshold,
            "passed": bool(passed),
            "reason": reason,
        }


def parse_requirement(text: str) -> Requirement:
    match = _PATTERN.match(text.lower())
    if match is None:
        raise ValidationError(
            f"Requirement '{text}' is not METRIC OP VALUE.",
            hint="Write e.g. recall>=0.9, mr<=0.15 or recall>=base-0.02.",
        )
    metric = match["metric"]
    if metric not in METRICS:
        raise ValidationError(
            f"Requirement '{text}' names an unknown metric '{metric}'.",
            hint="Known metrics: " + ", ".join(METRICS) + ".",
        )
    if match["base"]:
        offset = float(match["delta"] or 0.0) * (-1 if match["sign"] == "-" else 1)
        return Requirement(text, metric, match["op"], offset, True)
    return Requirement(text, metric, match["op"], float(match["value"]), False)


def parse_requirements(texts: list[str]) -> list[Requirement]:
    return [parse_requirement(t) for t in texts]


def needs_base(requirements: list[Requirement]) -> bool:
    return any(r.relative for r in requirements)
