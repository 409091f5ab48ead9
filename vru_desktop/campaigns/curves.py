"""The pooled precision–recall curve of a campaign: the curve of the same pooled matching
:func:`~vru_desktop.campaigns.scoring.score_protocol` scores (every reviewed frame of every video as
one image set), read at every detection's confidence from the highest down."""

from __future__ import annotations

from vru_desktop.campaigns.definition import get_campaign
from vru_desktop.campaigns.scoring import _evaluate, load_suite
from vru_desktop.store.db import Database


def pooled_pr_curve(db: Database, name: str, *, iou: float = 0.5) -> dict[str, list[float]]:
    """``{"score", "recall", "precision"}`` of all classes together, one point per detection in
    descending confidence; empty lists when no video of the campaign can be scored."""
    info = get_campaign(db, name)
    suite = load_suite(db, name)
    if not suite.inputs:
        return {"score": [], "recall": [], "precision": []}
    conf = float(info.config.get("conf", 0.25))
    curve = _evaluate(db, suite.inputs, iou=iou, conf=conf)[1].points.curves.get("all")
    if curve is None:
        return {"score": [], "recall": [], "precision": []}
    return {key: [float(v) for v in curve[key]] for key in ("score", "recall", "precision")}
