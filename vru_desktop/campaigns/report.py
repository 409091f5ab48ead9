"""A campaign's report, and the comparison report of two campaigns: each one self-contained HTML
file (the run report's tables and style, inline SVG, nothing fetched) and the same results as JSON
beside it. The comparison's JSON follows the JSON Schema in
``vru_desktop/resources/campaign_comparison.schema.json``: ``comparison`` is exactly what
:func:`~vru_desktop.campaigns.compare.compare_campaigns` returns, ``provenance`` what both campaigns
were (model SHA-256, configuration, videos with fingerprints, protocol definitions), the bootstrap
and the library versions."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vru_desktop.campaigns.bootstrap import INTERVAL_METRICS
from vru_desktop.campaigns.definition import get_campaign
from vru_desktop.campaigns.requirements import METRICS
from vru_desktop.campaigns.scoring import check_protocols
from vru_desktop.evaluation.protocols import describe
from vru_desktop.evaluation.report import _CSS, _e, _library_versions, _num, _table, write_html, write_text
from vru_desktop.store.db import Database

#: The JSON Schema of the comparison report's JSON.
COMPARISON_SCHEMA_FILE = (
    Path(__file__).resolve().parent.parent / "resources" / "campaign_comparison.schema.json"
)
COMPARISON_FORMAT = "vru-desktop campaign comparison 1"

_SHOWN = ("recall", "precision", "f1", "ap", "ap50", "ap75", "ar100", "mr", "mota", "idf1", "hota")


def _interval(intervals: dict[str, Any], name: str) -> str:
    i = intervals.get(name)
    if not i or i["low"] is None:
        return "–"
    return f"{_num(i['low'])} – {_num(i['high'])}"


def _with_interval(group: dict[str, Any], name: str) -> str:
    """A slice's value with its 95 % interval where it has one."""
    shown = _interval(group.get("intervals") or {}, name)
    return _num(group.get(name)) + ("" if shown == "–" else f" ({shown})")


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
        _events_section(result.get("device_events")),
        "<h3>Per class (95 % interval over videos)</h3>",
        _table(
            ["class", "TP", "FP", "FN", "precision", "recall", "F1", "AP", "AP50", "MR⁻²"],
            [
                [
                    name,
                    c["tp"],
                    c["fp"],
                    c["fn"],
                    *(_with_interval(c, k) for k in ("precision", "recall", "f1")),
                    *(
                        _with_interval(c | {"ap": c.get("AP"), "ap50": c.get("AP50")}, k)
                        for k in ("ap", "ap50")
                    ),
                    _with_interval(c, "mr"),
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
        "<h3>By camera and condition tag (95 % interval over the slice's videos; none for one video)</h3>",
    ]
    for key, groups in result["slices"].items():
        parts.append(
            _table(
                [key.replace("_", " "), "videos", "recall", "precision", "F1", "AP50", "MR⁻²"],
                [
                    [
                        value or "(not set)",
                        g["videos"],
                        *(_with_interval(g, k) for k in ("recall", "precision", "f1", "ap50", "mr")),
                    ]
                    for value, g in groups.items()
                ],
            )
        )
    return "".join(parts) + _excluded(result)


def _events_section(pooled: dict[str, Any] | None) -> str:
    if pooled is None:
        return ""
    latency = pooled["latency_s"] or {}
    return "<h3>Device events (videos that have them, pooled)</h3>" + _table(
        ["", "value"],
        [
            ["videos", pooled["videos"]],
            ["reviewed seconds", _num(pooled["reviewed_seconds"], 1)],
            ["presences (episodes)", pooled["episodes"]],
            ["hit", f"{pooled['hits']} ({_num(pooled['hit_rate'])})"],
            [
                "time to first event median / p95 / max (s)",
                " / ".join(_num(latency.get(k)) for k in ("median", "p95", "max")),
            ],
            ["false alarms", pooled["false_alarms"]],
            ["false alarms per hour", _num(pooled["false_alarms_per_hour"], 1)],
            ["tolerance (s)", _num(pooled["tolerance_s"], 1)],
        ],
    )


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


def _campaign_provenance(db: Database, name: str) -> dict[str, Any]:
    info = get_campaign(db, name)
    protocols = check_protocols(db, info.protocols)
    return {
        "name": info.name,
        "model": {"id": info.model_id, "name": info.model_name, "sha256": info.model_sha256},
        "config": info.config,
        "requirements": info.requirements,
        "created_at": info.created_at,
        "launched_at": info.launched_at,
        "primary_protocol": info.protocols[0],
        "protocols": [
            {"name": name, "description": "COCO rules, every box, the all-box miss rate", "definition": None}
            if p is None
            else {"name": name, "description": describe(p), "definition": p.to_dict()}
            for name, p in protocols.items()
        ],
        "videos": [
            {
                "video_id": v.video_id,
                "filename": v.filename,
                "fingerprint": v.fingerprint,
                "run_id": v.run_id,
                "reused": v.reused,
            }
            for v in info.videos
        ],
    }


def comparison_document(db: Database, comparison: dict[str, Any]) -> dict[str, Any]:
    """The comparison report's JSON: ``comparison`` (as given) with both campaigns' provenance."""
    return {
        "format": COMPARISON_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "provenance": {
            "campaigns": {
                "base": _campaign_provenance(db, comparison["base"]),
                "new": _campaign_provenance(db, comparison["new"]),
            },
            "bootstrap": comparison["bootstrap"],
            "versions": _library_versions(),
        },
        "comparison": comparison,
    }


_BAR_W, _ROW_H, _LABEL_W = 560, 26, 90


def _delta_chart(metrics: dict[str, Any]) -> str:
    """Each interval metric's delta (a bar from 0) with its 95 % interval (a line), on one scale."""
    rows = [(k, metrics[k]) for k in INTERVAL_METRICS if metrics[k]["delta"] is not None]
    if not rows:
        return ""
    ends = [abs(m["delta"]) for _, m in rows] + [
        abs(m["delta_interval"][side])
        for _, m in rows
        if m["delta_interval"]
        for side in ("low", "high")
        if m["delta_interval"][side] is not None
    ]
    span = max(ends) or 1.0
    half = (_BAR_W - _LABEL_W - 70) / 2
    zero = _LABEL_W + half

    def x(value: float) -> float:
        return zero + value / span * half

    height = _ROW_H * len(rows) + 30
    parts = [
        f'<svg width="{_BAR_W}" height="{height}" viewBox="0 0 {_BAR_W} {height}" font-family="sans-serif" '
        'font-size="11" role="img" aria-label="metric deltas, new minus base, with 95 % intervals">',
        f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{height - 22}" stroke="#333"/>',
        f'<text x="{x(-span):.1f}" y="{height - 6}" text-anchor="middle">{-span:+.3f}</text>',
        f'<text x="{zero:.1f}" y="{height - 6}" text-anchor="middle">0</text>',
        f'<text x="{x(span):.1f}" y="{height - 6}" text-anchor="middle">{span:+.3f}</text>',
    ]
    for i, (name, m) in enumerate(rows):
        y = 6 + i * _ROW_H
        better = (m["delta"] > 0) == METRICS[name][1]
        color = "#2ca02c" if better else "#d62728"
        left, right = sorted((zero, x(m["delta"])))
        parts.append(f'<text x="4" y="{y + 13}">{_e(name)}</text>')
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 3}" width="{max(right - left, 1):.1f}" height="12" '
            f'fill="{color}" fill-opacity="0.55"/>'
        )
        interval = m["delta_interval"]
        if interval and interval["low"] is not None:
            lo, hi = x(interval["low"]), x(interval["high"])
            parts.append(
                f'<line x1="{lo:.1f}" y1="{y + 9}" x2="{hi:.1f}" y2="{y + 9}" stroke="#222"/>'
                f'<line x1="{lo:.1f}" y1="{y + 4}" x2="{lo:.1f}" y2="{y + 14}" stroke="#222"/>'
                f'<line x1="{hi:.1f}" y1="{y + 4}" x2="{hi:.1f}" y2="{y + 14}" stroke="#222"/>'
            )
        parts.append(f'<text x="{_BAR_W - 4}" y="{y + 13}" text-anchor="end">{m["delta"]:+.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _signed(value: Any) -> str:
    return "–" if value is None else f"{value:+.3f}" if isinstance(value, float) else f"{value:+d}"


def render_comparison_report(document: dict[str, Any]) -> str:
    c, provenance = document["comparison"], document["provenance"]
    base, new = provenance["campaigns"]["base"], provenance["campaigns"]["new"]
    boot = c["bootstrap"]
    config_keys = sorted(set(base["config"]) | set(new["config"]))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Campaign comparison – {_e(c['new'])} against {_e(c['base'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Campaign {_e(c['new'])} against {_e(c['base'])}</h1>",
        f"<p class='note'>Generated {_e(document['generated_at'])}. Deltas are new − base; 95 % intervals "
        f"by {'paired' if c['paired'] else 'unpaired'} bootstrap over videos ({boot['resamples']} "
        f"resamples, seed {boot['seed']}).</p>",
        "<h2>Provenance</h2>",
        _table(
            ["", "base", "new"],
            [
                ["campaign", base["name"], new["name"]],
                ["model", base["model"]["name"], new["model"]["name"]],
                ["model SHA-256", base["model"]["sha256"], new["model"]["sha256"]],
                ["primary protocol", base["primary_protocol"], new["primary_protocol"]],
                ["videos", len(base["videos"]), len(new["videos"])],
                ["created", base["created_at"], new["created_at"]],
                *[[f"run {k}", base["config"].get(k, "–"), new["config"].get(k, "–")] for k in config_keys],
            ],
        ),
        "<h3>Protocols</h3>",
        _table(
            ["campaign", "protocol", "definition"],
            [[p_of["name"], p["name"], p["description"]] for p_of in (base, new) for p in p_of["protocols"]],
        ),
        "<h3>Videos</h3>",
        _table(
            ["campaign", "video", "file", "fingerprint", "run"],
            [
                [
                    p_of["name"],
                    v["video_id"] or "removed",
                    v["filename"],
                    v["fingerprint"],
                    v["run_id"] or "–",
                ]
                for p_of in (base, new)
                for v in p_of["videos"]
            ],
        ),
        _table(["library", "version"], sorted(provenance["versions"].items())),
        "<h2>Metrics</h2>",
        _delta_chart(c["metrics"]),
        _table(
            ["metric", "base", "new", "delta", "95 % interval of the delta"],
            [
                [
                    name,
                    _num(m["base"]),
                    _num(m["new"]),
                    _signed(m["delta"]),
                    "–"
                    if not m["delta_interval"] or m["delta_interval"]["low"] is None
                    else f"{m['delta_interval']['low']:+.3f} … {m['delta_interval']['high']:+.3f}",
                ]
                for name, m in c["metrics"].items()
            ],
        ),
        "<h2>Videos better and worse (F1)</h2>",
    ]
    rows = [
        [label, v["filename"], _num(v["f1"]["base"]), _num(v["f1"]["new"]), _signed(v["f1_delta"])]
        for label, key in (
            ("better", "videos_better"),
            ("worse", "videos_worse"),
            ("same", "videos_unchanged"),
        )
        for v in c[key]
    ]
    parts.append(
        _table(["", "video", "F1 base", "F1 new", "delta"], rows)
        if rows
        else "<p>No video in common: the campaigns were compared unpaired.</p>"
    )
    if c["only_in_base"] or c["only_in_new"]:
        parts.append(
            _table(
                ["only in", "fingerprint"],
                [["base", f] for f in c["only_in_base"]] + [["new", f] for f in c["only_in_new"]],
            )
        )
    for key, title in (
        ("missed_by_new", "Tracks the new run misses"),
        ("missed_by_base", "Tracks the base run misses"),
    ):
        tracks = c["tracks"][key]
        parts.append(f"<h2>{title} ({len(tracks)})</h2>")
        if tracks:
            parts.append(
                _table(
                    ["video", "video id", "track", "class", "first frame", "frames"],
                    [
                        [
                            t["filename"],
                            t["video_id"],
                            t["track_id"],
                            t["class"],
                            t["first_frame"],
                            t["frames"],
                        ]
                        for t in tracks
                    ],
                )
            )
    added = c["false_positives_added"]
    parts.append(f"<h2>False positives the new run adds ({added['count']})</h2>")
    if added["items"]:
        if len(added["items"]) < added["count"]:
            parts.append(f"<p class='note'>The {len(added['items'])} with the highest scores.</p>")
        parts.append(
            _table(
                ["video", "video id", "frame", "class", "score", "box x, y, w, h"],
                [
                    [
                        f["filename"],
                        f["video_id"],
                        f["frame"],
                        f["class"],
                        _num(f["score"]),
                        ", ".join(f"{v:.0f}" for v in f["box"]),
                    ]
                    for f in added["items"]
                ],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_comparison_report(document: dict[str, Any], path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The comparison's HTML at ``path`` and its JSON beside it (``.json``), each written whole."""
    html_path = write_html(render_comparison_report(document), path)
    json_path = write_text(
        json.dumps(document, indent=2, default=str, ensure_ascii=False), html_path.with_suffix(".json")
    )
    return html_path, json_path
