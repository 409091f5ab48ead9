"""Comparing two campaigns and gating one on its requirements.

Comparison: every pooled metric of the primary protocols side by side with its delta (new − base)
and a 95 % bootstrap interval of the delta. When both campaigns score the same videos (same
fingerprints) the resamples are paired (the same draw of videos for both); otherwise each
campaign is resampled on its own. Videos in both (by fingerprint) are listed better or worse by
their F1 at the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vru_desktop.campaigns.bootstrap import INTERVAL_METRICS, resample_weights, values
from vru_desktop.campaigns.definition import get_campaign
from vru_desktop.campaigns.requirements import METRICS, needs_base, parse_requirements
from vru_desktop.campaigns.scoring import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    load_suite,
    score_protocol,
    suite_bootstrap,
)
from vru_desktop.errors import ValidationError
from vru_desktop.store.db import Database

VIDEO_METRICS = ("recall", "precision", "f1", "ap50", "mr")


def _score(db: Database, name: str, iou: float, resamples: int, seed: int) -> tuple[dict[str, Any], Any, Any]:
    info = get_campaign(db, name)
    suite = load_suite(db, name)
    conf = float(info.config.get("conf", 0.25))
    scores = score_protocol(db, suite, info.protocols[0], iou=iou, conf=conf, resamples=resamples, seed=seed)
    boot = suite_bootstrap(db, suite, iou=iou, conf=conf) if suite.inputs else None
    return scores, suite, boot


def compare_campaigns(
    db: Database,
    base: str,
    new: str,
    *,
    iou: float = 0.5,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """Metrics of ``base`` and ``new`` with deltas and intervals; videos that got better or worse."""
    a, suite_a, boot_a = _score(db, base, iou, resamples, seed)
    b, suite_b, boot_b = _score(db, new, iou, resamples, seed)
    fp_a = [v["fingerprint"] for v in suite_a.videos]
    fp_b = [v["fingerprint"] for v in suite_b.videos]
    paired = bool(fp_a) and sorted(fp_a) == sorted(fp_b)
    deltas: dict[str, dict[str, Any]] = {}
    if boot_a is not None and boot_b is not None and resamples > 0:
        w_a = resample_weights(len(fp_a), resamples, seed)
        if paired:
            w_b = w_a[:, [fp_a.index(f) for f in fp_b]]
        else:
            w_b = resample_weights(len(fp_b), resamples, seed + 1)
        drawn_a, drawn_b = values(boot_a, w_a), values(boot_b, w_b)
        for name in INTERVAL_METRICS:
            d = drawn_b[name] - drawn_a[name]
            d = d[~np.isnan(d)]
            deltas[name] = (
                {"low": float(np.percentile(d, 2.5)), "high": float(np.percentile(d, 97.5))}
                if len(d)
                else {"low": None, "high": None}
            )
    metrics = {}
    for name in [*METRICS, "tp", "fp", "fn"]:
        va, vb = a["metrics"].get(name), b["metrics"].get(name)
        metrics[name] = {
            "base": va,
            "new": vb,
            "delta": None if va is None or vb is None else vb - va,
            "delta_interval": deltas.get(name),
        }
    videos_a = {v["fingerprint"]: v for v in a["per_video"]}
    better, worse, same = [], [], []
    for v in b["per_video"]:
        old = videos_a.get(v["fingerprint"])
        if old is None:
            continue
        row = {"filename": v["filename"], "fingerprint": v["fingerprint"]} | {
            m: {"base": old[m], "new": v[m]} for m in VIDEO_METRICS
        }
        change = (v["f1"] or 0.0) - (old["f1"] or 0.0)
        row["f1_delta"] = change
        (better if change > 0 else worse if change < 0 else same).append(row)
    return {
        "base": base,
        "new": new,
        "paired": paired,
        "bootstrap": {"resamples": resamples, "seed": seed, "level": 0.95},
        "metrics": metrics,
        "videos_better": sorted(better, key=lambda r: -r["f1_delta"]),
        "videos_worse": sorted(worse, key=lambda r: r["f1_delta"]),
        "videos_unchanged": same,
        "only_in_base": sorted(set(videos_a) - {v["fingerprint"] for v in b["per_video"]}),
        "only_in_new": sorted({v["fingerprint"] for v in b["per_video"]} - set(videos_a)),
    }


def gate_campaign(db: Database, name: str, *, against: str | None = None, iou: float = 0.5) -> dict[str, Any]:
    """Check the campaign's requirements on its pooled primary-protocol metrics (``passed``)."""
    info = get_campaign(db, name)
    requirements = parse_requirements(info.requirements)
    if needs_base(requirements) and against is None:
        relative = ", ".join(r.text for r in requirements if r.relative)
        raise ValidationError(
            f"Campaign '{name}' has requirements relative to a base ({relative}).",
            hint=f"Give the base campaign: 'vru-desktop campaign gate {name} --against BASE'.",
        )
    metrics = _score(db, name, iou, 0, BOOTSTRAP_SEED)[0]["metrics"]
    base = _score(db, against, iou, 0, BOOTSTRAP_SEED)[0]["metrics"] if against is not None else None
    checks = [r.check(metrics, base) for r in requirements]
    return {
        "campaign": name,
        "against": against,
        "passed": all(c["passed"] for c in checks),
        "checks": checks,
    }
