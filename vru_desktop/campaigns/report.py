"""A campaign's report: one self-contained HTML file (the run report's tables and style) and the
same results as JSON beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vru_desktop.campaigns.requirements import METRICS
from vru_desktop.evaluation.report import _CSS, _e, _library_versions, _num, _table, write_html, write_text

_SHOWN = ("recall", "precision", "f1", "ap", "ap50", "ap75", "ar100", "mr", "mota", "idf1", "hota")


def _interval(intervals: dict[str, Any], name: str) -> str:
    i = intervals.get(name)
    if not i or i["low"] is None:
        return "–"
    return f"{_num(i['low'])} – {_num(i['high'])}"


def _protocol_section(result: dict[str, Any]) -> str:
    m, intervals = result["metrics"], result["intervals"]
    parts = [
        f"<h2>Protocol {_e(result['protocol'])}</h2>",
        f"<p>{result['videos_scored']} videos scored, {result.get('reviewed_frames', 0)} reviewed frames, "
        f"{result.get('ground_truth_boxes', 0)} ground-truth boxes, {result.get('detections_evaluated', 0)} "
        f"detections; confidence ≥ {result['conf']:g}, IoU ≥ {result['iou']:g}.</p>",
    ]
    if not m:
        return "".join(parts) + "<p>No video could be scored.</p>" + _excluded(result)
    parts += [
        "<h3>Pooled over all videos</h3>",
        _table(
            ["metric", "value", "95 % interval (bootstrap over videos)", "meaning"],
            [[k, _num(m.get(k)), _interval(intervals, k), METRICS[k][0]] for k in _SHOWN],
        ),
        f"<p class='note'>TP {m['tp']}, FP {m['fp']}, FN {m['fn']}.</p>",
        "<h3>Per class</h3>",
        _table(
            ["class", "TP", "FP", "FN", "precision", "recall", "F1", "AP", "AP50", "MR⁻²"],
            [
                [
                    name,
                    c["tp"],
                    c["fp"],
                    c["fn"],
                    _num(c["precision"]),
                    _num(c["recall"]),
                    _num(c["f1"]),
                    _num(c.get("AP")),
                    _num(c.get("AP50")),
                    _num(c.get("mr")),
                ]
                for name, c in result["per_class"].items()
            ],
        ),
        "<h3>Per video (worst recall first)</h3>",
        _table(
            ["video", "run", "reused", "frames", "boxes", "recall", "precision", "F1", "AP50", "MR⁻²"],
            [
                [
                    v["filename"],
                    v["run_id"],
                    "yes" if v["reused"] else "",
                    v["reviewed_frames"],
                    v["ground_truth_boxes"],
                    _num(v["recall"]),
                    _num(v["precision"]),
                    _num(v["f1"]),
                    _num(v["ap50"]),
                    _num(v["mr"]),
                ]
                for v in result["per_video"]
            ],
        ),
        "<h3>By camera</h3>",
    ]
    for key, groups in result["slices"].items():
        parts.append(
            _table(
                [key.replace("_", " "), "videos", "recall", "precision", "F1", "AP50", "MR⁻²"],
                [
                    [
                        value or "(not set)",
                        g["videos"],
                        _num(g["recall"]),
                        _num(g["precision"]),
                        _num(g["f1"]),
                        _num(g["ap50"]),
                        _num(g["mr"]),
                    ]
                    for value, g in groups.items()
                ],
            )
        )
    return "".join(parts) + _excluded(result)


def _excluded(result: dict[str, Any]) -> str:
    if not result["excluded"]:
        return ""
    return "<h3>Left out</h3>" + _table(
        ["video", "reason"], [[e["filename"], e["reason"]] for e in result["excluded"]]
    )


def render_campaign_report(scores: dict[str, Any], gate: dict[str, Any] | None = None) -> str:
    name = scores["campaign"]
    config = scores["config"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Campaign report – {_e(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Campaign {_e(name)}</h1>",
        _table(
            ["", ""],
            [
                ["model", scores["model"]["name"]],
                ["model SHA-256", scores["model"]["sha256"]],
                ["status", scores["status"]],
                ["protocols", ", ".join(scores["protocols"])],
                *[
                    [f"run {k}", v]
                    for k, v in config.items()
                    if k in ("conf", "iou", "imgsz", "stride", "device", "tracker")
                ],
            ],
        ),
        _table(["library", "version"], sorted(_library_versions().items())),
    ]
    if gate is not None:
        parts += [
            f"<h2>Requirements: {'passed' if gate['passed'] else 'FAILED'}</h2>",
            _table(
                ["requirement", "value", "threshold", "result"],
                [
                    [
                        c["requirement"],
                        _num(c["value"]),
                        _num(c["threshold"]),
                        "pass" if c["passed"] else f"fail{' (' + c['reason'] + ')' if c['reason'] else ''}",
                    ]
                    for c in gate["checks"]
                ],
            ),
        ]
    parts += [_protocol_section(r) for r in scores["protocols"].values()]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_campaign_report(
    scores: dict[str, Any], path: str | os.PathLike[str], gate: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """The HTML report at ``path`` and its JSON beside it (``.json``), each written whole or not at all."""
    html_path = write_html(render_campaign_report(scores, gate), path)
    json_path = write_text(
        json.dumps(scores | {"gate": gate}, indent=2, default=str, ensure_ascii=False),
        html_path.with_suffix(".json"),
    )
    return html_path, json_path
