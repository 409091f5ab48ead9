"""The validation report: one self-contained HTML file (inline CSS and SVG plots, no external assets).

It holds the model and its SHA-256, library versions, the run's configuration, the video's
fingerprint, the metrics tables (threshold metrics per class, COCO statistics, miss rates, height
bins, tracks, error counts, confusion matrix, and the device-event validation when the video has
device events) and plots drawn here as SVG (precision–recall per
class, confidence histograms of true and false positives, detections and misses along the video).
The file is written to a temporary name and renamed.
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from vru_desktop import __version__
from vru_desktop.errors import ValidationError, write_error
from vru_desktop.evaluation.events import EventValidation, device_event_count, evaluate_events
from vru_desktop.evaluation.protocols import describe
from vru_desktop.evaluation.run import RunEvaluation
from vru_desktop.evaluation.tide import ERRORS, TideResult
from vru_desktop.evaluation.tracking import TrackingMetrics
from vru_desktop.evaluation.tracks import summarize_tracks
from vru_desktop.store.db import Database

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
_W, _H, _M = 520, 300, 44  # plot width, height, margin


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and (np.isnan(value) or value < 0)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _thin(xs: np.ndarray, ys: np.ndarray, limit: int = 400) -> tuple[np.ndarray, np.ndarray]:
    if len(xs) <= limit:
        return xs, ys
    pick = np.unique(np.linspace(0, len(xs) - 1, limit).astype(int))
    return xs[pick], ys[pick]


def _frame(title: str, x_label: str, y_label: str, x_max: float, y_max: float, body: str) -> str:
    """An SVG plot: axes from 0 to the maxima with 5 ticks each, ``body`` drawn inside."""
    ticks = []
    for i in range(6):
        x = _M + i * (_W - 2 * _M) / 5
        y = _H - _M - i * (_H - 2 * _M) / 5
        ticks.append(
            f'<line x1="{x:.1f}" y1="{_H - _M}" x2="{x:.1f}" y2="{_H - _M + 4}" stroke="#555"/>'
            f'<text x="{x:.1f}" y="{_H - _M + 16}" text-anchor="middle">{_tick(x_max * i / 5)}</text>'
            f'<line x1="{_M - 4}" y1="{y:.1f}" x2="{_W - _M}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{_M - 7}" y="{y + 4:.1f}" text-anchor="end">{_tick(y_max * i / 5)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        f'font-family="sans-serif" font-size="11" role="img" aria-label="{_e(title)}">'
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{_e(title)}</text>'
        + "".join(ticks)
        + f'<line x1="{_M}" y1="{_H - _M}" x2="{_W - _M}" y2="{_H - _M}" stroke="#333"/>'
        f'<line x1="{_M}" y1="{_M}" x2="{_M}" y2="{_H - _M}" stroke="#333"/>'
        f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">{_e(x_label)}</text>'
        f'<text x="12" y="{_H / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_H / 2})">{_e(y_label)}</text>' + body + "</svg>"
    )


def _nice_max(value: float) -> float:
    """The smallest "round" axis maximum >= ``value`` whose fifths are round too (5, 10, 25, 50 …)."""
    if value <= 0:
        return 1.0
    step = value / 5
    magnitude = 10 ** np.floor(np.log10(step))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= step:
            return float(factor * magnitude * 5)
    return float(10 * magnitude * 5)


def _nice_count_max(value: float) -> float:
    """An axis maximum for counts whose fifths are whole numbers (5, 10, 25, 50 …), at least 5."""
    step = max(1, math.ceil(value / 5))
    magnitude = 10 ** int(math.log10(step))
    whole = [f * magnitude for f in (1, 2, 2.5, 5, 10) if float(f * magnitude).is_integer()]
    return float(next(v for v in whole if v >= step) * 5)


def _tick(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"


def _sx(x: np.ndarray | float, x_max: float) -> np.ndarray | float:
    return _M + np.asarray(x) / (x_max or 1) * (_W - 2 * _M)


def _sy(y: np.ndarray | float, y_max: float) -> np.ndarray | float:
    return _H - _M - np.asarray(y) / (y_max or 1) * (_H - 2 * _M)


def _legend(items: Sequence[tuple[str, str]]) -> str:
    out = []
    for i, (label, color) in enumerate(items):
        y = _M + 4 + i * 15
        out.append(
            f'<rect x="{_W - _M - 120}" y="{y}" width="10" height="10" fill="{color}"/>'
            f'<text x="{_W - _M - 105}" y="{y + 9}">{_e(label)}</text>'
        )
    return "".join(out)


def pr_plot(curves: dict[str, dict[str, np.ndarray]]) -> str:
    body, legend = [], []
    for i, (name, curve) in enumerate(curves.items()):
        color = "#000" if name == "all" else PALETTE[i % len(PALETTE)]
        xs, ys = _thin(curve["recall"], curve["precision"])
        points = " ".join(f"{_sx(x, 1):.1f},{_sy(y, 1):.1f}" for x, y in zip(xs, ys, strict=True))
        dash = ' stroke-dasharray="5,3"' if name == "all" else ""
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{points}"/>')
        legend.append((name, color))
    return _frame("Precision–recall", "recall", "precision", 1.0, 1.0, "".join(body) + _legend(legend))


def histogram_plot(hist: dict[str, np.ndarray], conf: float) -> str:
    edges = hist["edges"]
    y_max = _nice_count_max(float(max(hist["tp"].max(initial=0), hist["fp"].max(initial=0))))
    width = (_W - 2 * _M) / (len(edges) - 1) / 2
    body = []
    for i in range(len(edges) - 1):
        x0 = float(_sx(edges[i], 1.0))
        for j, (key, color) in enumerate((("tp", PALETTE[2]), ("fp", PALETTE[1]))):
            value = float(hist[key][i])
            top = float(_sy(value, y_max))
            body.append(
                f'<rect x="{x0 + j * width:.1f}" y="{top:.1f}" width="{width - 0.5:.1f}" '
                f'height="{_H - _M - top:.1f}" fill="{color}">'
                f"<title>{key.upper()} {int(value)}</title></rect>"
            )
    x = float(_sx(conf, 1.0))
    body.append(
        f'<line x1="{x:.1f}" y1="{_M}" x2="{x:.1f}" y2="{_H - _M}" stroke="#000" stroke-dasharray="4,3"/>'
    )
    legend = _legend([("true positives", PALETTE[2]), ("false positives", PALETTE[1])])
    return _frame("Confidence of TP and FP", "confidence", "detections", 1.0, y_max, "".join(body) + legend)


def timeline_plot(line: dict[str, np.ndarray], times: np.ndarray) -> str:
    x_max = _nice_max(float(times.max(initial=0)))
    y_max = _nice_count_max(
        float(max(line["tp"].max(initial=0), line["fp"].max(initial=0), line["fn"].max(initial=0)))
    )
    body, legend = [], []
    for key, color, label in (
        ("tp", PALETTE[2], "detected (TP)"),
        ("fp", PALETTE[1], "false (FP)"),
        ("fn", PALETTE[4], "missed (FN)"),
    ):
        xs, ys = _thin(times, line[key].astype(float), 800)
        points = " ".join(f"{_sx(x, x_max):.1f},{_sy(y, y_max):.1f}" for x, y in zip(xs, ys, strict=True))
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.4" points="{points}"/>')
        legend.append((label, color))
    return _frame(
        "Along the video (reviewed frames)",
        "time (s)",
        "boxes per frame",
        x_max,
        y_max,
        "".join(body) + _legend(legend),
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _confusion_table(labels: list[str], matrix: np.ndarray) -> str:
    used = [i for i in range(len(labels)) if matrix[i].any() or matrix[:, i].any()]
    peak = float(matrix.max(initial=1) or 1)
    head = "<th>truth \\ predicted</th>" + "".join(f"<th>{_e(labels[j])}</th>" for j in used)
    rows = []
    for i in used:
        cells = []
        for j in used:
            value = int(matrix[i, j])
            alpha = 0.08 + 0.8 * value / peak if value else 0
            color = "44,160,44" if i == j and i != len(labels) - 1 else "214,39,40"
            cells.append(f'<td style="background: rgba({color},{alpha:.2f})">{value}</td>')
        rows.append(f"<tr><th>{_e(labels[i])}</th>{''.join(cells)}</tr>")
    return f'<table class="confusion"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _library_versions() -> dict[str, str]:
    import sqlalchemy

    return {
        "vru_desktop": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sqlalchemy": sqlalchemy.__version__,
    }


_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1120px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; } .plots svg { border: 1px solid #ddd; }
code { font-size: 12px; word-break: break-all; } .note { color: #666; font-size: 12px; }
"""


def _protocol_table(result: RunEvaluation) -> str:
    if not result.protocol_results:
        return ""
    return "<h3>Log-average miss rate by protocol (FPPI 0.01–1)</h3>" + _table(
        ["protocol", "definition", "source", "MR⁻² %", "boxes", "ignored", "detections"],
        [
            [
                r.protocol.name,
                describe(r.protocol),
                r.protocol.source,
                _num(None if r.log_average_miss_rate is None else 100 * r.log_average_miss_rate, 2),
                r.positives,
                r.ignored,
                r.detections,
            ]
            for r in result.protocol_results
        ],
    )


def _events_section(events: EventValidation) -> str:
    document = events.to_dict()
    latency = document["latency_s"] or {}
    return "<h2>Device events (event-level validation)</h2>" + _table(
        ["measure", "value"],
        [
            ["tolerance (s)", _num(events.tolerance, 2)],
            ["VRU presences", document["episodes"]],
            ["hit", document["hits"]],
            ["hit rate", _num(document["hit_rate"])],
            [
                "latency median / p90 / max (s)",
                " / ".join(_num(latency.get(k)) for k in ("median", "p90", "max")),
            ],
            ["events judged", document["events_judged"]],
            ["false alarms", document["false_alarms"]],
            ["false alarms per hour", _num(document["false_alarms_per_hour"], 1)],
            ["events away from reviewed frames", document["events_not_judged"]],
        ],
    )


_TRACK_COLUMNS = (
    "tracks",
    "never_detected",
    "mean_time_to_first_detection",
    "mean_time_to_stable_detection",
    "mean_longest_gap_s",
    "fragmentations",
)


def _tracks_section(tracks: dict[str, Any], stable: tuple[int, int]) -> str:
    by_height = tracks["by_height"]
    overall = {k: v for k, v in tracks.items() if k != "by_height"}
    return "\n".join(
        [
            _table(["measure", "value"], [[k.replace("_", " "), _num(v)] for k, v in overall.items()]),
            f"<p class='note'>Stable detection: {stable[0]} of the last {stable[1]} track frames detected. "
            "Longest gap: nuScenes LGD, averaged over tracks detected at least once. "
            "Height bin: where the track appears.</p>",
            _table(
                ["height bin", *(c.replace("_", " ") for c in _TRACK_COLUMNS)],
                [[name, *(_num(part.get(c)) for c in _TRACK_COLUMNS)] for name, part in by_height.items()],
            ),
        ]
    )


def _tide_section(tide: TideResult) -> str:
    rows = [[f"{name} ({ERRORS[name]})", f"{tide.delta_ap[name]:.2f}", tide.counts[name]] for name in ERRORS]
    rows += [
        ["all false positives", f"{tide.false_positive_delta_ap:.2f}", ""],
        ["all false negatives", f"{tide.false_negative_delta_ap:.2f}", ""],
    ]
    return "\n".join(
        [
            f"<p class='note'>AP at IoU 0.5 (0–100, all detections, tidecv's definitions): {tide.ap:.2f}. "
            "ΔAP: the AP gained by fixing only that kind of error.</p>",
            _table(["error", "ΔAP", "count"], rows),
        ]
    )


def _tracking_section(tracking: TrackingMetrics | None, conf: float) -> str:
    if tracking is None:
        return ""
    values = [(name, tracking.hota[name]) for name in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr")]
    values += [(name, tracking.hota[name]) for name in ("AssRe", "AssPr")]
    values += [(name, tracking.clear[key]) for name, key in _CLEAR_ROWS]
    values += [(name, tracking.identity[name]) for name in ("IDF1", "IDP", "IDR")]
    rows = [[name, f"{v:.3f}" if isinstance(v, float) else str(v)] for name, v in values]  # MOTA may be < 0
    return "\n".join(
        [
            "<h2>Tracking</h2>",
            f"<p class='note'>Tracker ids against ground-truth tracks, all VRU types as one class, "
            f"confidence ≥ {conf:g}, IoU ≥ 0.5 (HOTA: mean over α 0.05–0.95); TrackEval's definitions.</p>",
            _table(["measure", "value"], rows),
        ]
    )


_CLEAR_ROWS = (
    ("MOTA", "MOTA"),
    ("MOTP", "MOTP"),
    ("false positives", "CLR_FP"),
    ("false negatives", "CLR_FN"),
    ("ID switches", "IDSW"),
    ("fragmentations", "Frag"),
    ("mostly tracked", "MT"),
    ("partly tracked", "PT"),
    ("mostly lost", "ML"),
)


def render_report(result: RunEvaluation, events: EventValidation | None = None) -> str:
    """The report as one HTML string (with the device-event validation when given)."""
    d = result.data
    points = result.points
    m = result.metrics()
    run, video = d.run, d.video
    provenance = run["provenance"]
    versions = {**_library_versions(), **{k: str(v) for k, v in (provenance.get("libraries") or {}).items()}}
    sha = run["model_sha256"] or provenance.get("model_sha256") or "(not recorded)"
    stats = result.coco.stats_dict()
    tracks = summarize_tracks(result.tracks)
    times = d.time_of(d.reviewed_frames)

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Validation report – run {d.session_id}</title><style>{_CSS}</style></head><body>",
        f"<h1>Validation report: run {d.session_id}, {_e(video['filename'])}</h1>",
        f"<p class='note'>Generated {datetime.now(UTC).isoformat(timespec='seconds')} by vru_desktop "
        f"{_e(__version__)}. Ground truth: validated boxes on {d.n_frames} reviewed frames"
        + (
            f" carrying the condition tag {_e(run['tag'])} (device events, which cover the whole video,"
            " are left out)"
            if run.get("tag")
            else ""
        )
        + f"; confidence ≥ {result.conf:g}, IoU ≥ {result.iou:g}.</p>",
        "<h2>Model and provenance</h2>",
        _table(
            ["field", "value"],
            [
                ["model", run["model_name"]],
                ["model SHA-256", sha],
                ["model format", run["model_format"] or provenance.get("model_format", "")],
                ["run status", run["status"]],
                ["started / completed", f"{run['created_at']} / {run['completed_at']}"],
                ["processing time (s)", _num(float(run["processing_time_seconds"]), 1)],
                ["frames processed", run["frames_processed"]],
            ],
        ),
        "<h2>Configuration</h2>",
        f"<pre>{_e(json.dumps(run['config'], indent=2, sort_keys=True, default=str))}</pre>",
        "<h2>Library versions</h2>",
        _table(["library", "version"], sorted(versions.items())),
        "<h2>Video</h2>",
        _table(
            ["field", "value"],
            [
                ["file", video["filename"]],
                ["fingerprint", video["fingerprint"]],
                ["project", video["project"] or ""],
                ["resolution", f"{video['width']}x{video['height']}"],
                [
                    "frames / fps / duration",
                    f"{video['frame_count']} / {video['fps']:g} / {video['duration']:.2f} s",
                ],
                ["reviewed frames evaluated", d.n_frames],
                ["ignore regions", len(video["ignore_regions"])],
                [
                    "left out in ignore regions",
                    f"{d.gt_in_ignore_regions} boxes, {d.dt_in_ignore_regions} detections",
                ],
            ],
        ),
        f"<h2>Metrics at confidence ≥ {result.conf:g}, IoU ≥ {result.iou:g}</h2>",
        _table(
            ["class", "TP", "FP", "FN", "precision", "recall", "F1"],
            [
                [name, c.tp, c.fp, c.fn, _num(c.precision), _num(c.recall), _num(c.f1)]
                for name, c in [*m.per_class.items(), ("overall", m.overall)]
            ],
        ),
        _table(["error type", "count"], [[k.replace("_", " "), v] for k, v in m.error_counts.items()]),
        "<h3>Confusion matrix (class-agnostic matching)</h3>",
        _confusion_table(m.confusion_labels, m.confusion),
        "<h2>COCO metrics (pycocotools definition)</h2>",
        _table(list(stats), [[_num(v) for v in stats.values()]]),
        _table(
            ["class", "AP", "AP50", "AP75", "AR100"],
            [
                [name, *(_num(v[k]) for k in ("AP", "AP50", "AP75", "AR100"))]
                for name, v in result.coco.per_category().items()
            ],
        ),
        "<h2>Pedestrian-detection metrics</h2>",
        _table(
            ["class", "log-average miss rate (FPPI 0.01–1)"],
            [[k, _num(v)] for k, v in result.miss_rates().items()],
        ),
        _table(
            ["height bin", "pixels", "boxes", "TP", "recall", "AP50", "log-avg miss rate"],
            [
                [
                    b.name,
                    f"≥ {b.low:g}" if b.high >= 1e8 else f"{b.low:g}–{b.high:g}",
                    b.positives,
                    b.true_positives,
                    _num(b.recall),
                    _num(b.ap50),
                    _num(b.log_average_miss_rate),
                ]
                for b in result.heights()
            ],
        ),
        _protocol_table(result),
        "<h2>Error breakdown (TIDE)</h2>",
        _tide_section(result.tide),
        "<h2>Tracks</h2>",
        _tracks_section(tracks, result.stable) if tracks["tracks"] else "<p>No ground-truth tracks.</p>",
        _tracking_section(result.tracking, result.conf),
        _events_section(events) if events is not None else "",
        "<h2>Plots</h2><div class='plots'>",
        pr_plot(points.curves),
        histogram_plot(points.score_histograms(), result.conf),
        timeline_plot(points.timeline(result.conf), times),
        "</div></body></html>",
    ]
    return "\n".join(parts)


def report_events(db: Database, result: RunEvaluation, tolerance: float = 1.0) -> EventValidation | None:
    """The device-event validation a run's report shows: none without device events or reviewed
    frames, nor for a run scored on the frames of one tag (device events cover the whole video)."""
    d = result.data
    if d.run.get("tag") or not d.n_frames or not device_event_count(db, d.video_id):
        return None
    return evaluate_events(db, d.video_id, tolerance=tolerance)


def write_report(
    result: RunEvaluation, path: str | os.PathLike[str], events: EventValidation | None = None
) -> Path:
    """Write the report to ``path`` (a temporary file in the same folder, then renamed)."""
    return write_html(render_report(result, events), path)


def write_html(text: str, path: str | os.PathLike[str]) -> Path:
    """Write an HTML document to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValidationError(
            f"The report file {path.name} should end in .html.", hint="Use e.g. --out report.html."
        )
    if not path.parent.is_dir():
        raise ValidationError(
            f"The folder {path.parent} does not exist.", hint="Create it or choose another."
        )
    return write_text(text, path)


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    temp: str | None = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(exc, path) from exc
        raise
    return path
