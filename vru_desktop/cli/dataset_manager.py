"""``datasets``: the dataset table (every video with its readiness) with the GUI's filters and sorting."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from vru_desktop.cli.common import Context, print_json
from vru_desktop.datasets.query import CAMERA_FIELDS, SORT_KEYS, DatasetFilter, query_datasets
from vru_desktop.datasets.readiness import coverage_text, parse_level
from vru_desktop.datasets.statistics import compute_statistics
from vru_desktop.errors import UsageError
from vru_desktop.library.projects import project_by_name


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("datasets", help="list videos with readiness, detection and annotation counts")
    p.add_argument("--project", action="append", metavar="NAME", help="only this project (repeatable)")
    p.add_argument(
        "--readiness", action="append", metavar="LEVEL", help="ready, partial or not-ready (repeatable)"
    )
    p.add_argument("--status", action="append", metavar="STATUS", help="video status: ok, missing, error")
    p.add_argument("--vru-type", action="append", metavar="TYPE", help="videos with this VRU type")
    p.add_argument(
        "--camera",
        action="append",
        metavar="FIELD=VALUE",
        help=f"project camera field ({', '.join(CAMERA_FIELDS)}), e.g. camera_view=front",
    )
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="imported on or after this day (UTC)")
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="imported on or before this day (UTC)")
    p.add_argument("--sort", default="video_id", choices=sorted(SORT_KEYS), help="column to sort by")
    p.add_argument("--descending", action="store_true")
    p.add_argument("--stats", action="store_true", help="add the statistics of the listed videos")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_datasets)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-01-31") from exc


def _camera(pairs: list[str] | None) -> tuple[tuple[str, str], ...]:
    out = []
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not value.strip():
            raise UsageError(
                f"--camera '{pair}' is not FIELD=VALUE.", hint="Example: --camera camera_view=front"
            )
        out.append((name.strip(), value.strip()))
    return tuple(out)


def cmd_datasets(args: argparse.Namespace, ctx: Context) -> int:
    flt = DatasetFilter(
        project_ids=tuple(project_by_name(ctx.db, name).id for name in args.project or []),
        readiness=tuple(parse_level(level) for level in args.readiness or []),
        statuses=tuple(args.status or []),
        vru_types=tuple(args.vru_type or []),
        camera=_camera(args.camera),
        imported_from=args.since,
        imported_to=args.until,
    )
    rows = query_datasets(ctx.db, flt, sort=args.sort, descending=args.descending)
    stats = compute_statistics(ctx.db, rows, all_videos=flt == DatasetFilter()) if args.stats else None
    if args.json:
        document: dict[str, Any] = {"videos": [row.as_dict() for row in rows]}
        if stats is not None:
            document["statistics"] = stats.as_dict()
        print_json(document)
        return 0
    for row in rows:
        detections = " ".join(f"{k}={v}" for k, v in sorted(row.detections.items())) or "-"
        print(
            f"{row.video_id:5}  {row.level:9} {row.score:3}  {row.filename}  [{row.project_name or '-'}]"
            f"  det {row.detection_total} ({detections})  boxes {row.annotations}  validated {row.validated}"
            f"  gt {row.ground_truth}  reviewed {row.reviewed_frames}/{row.frame_count}"
            f" ({coverage_text(row.coverage)} of {row.coverage_required:.0%})"
            f"  file {'ok' if row.file_healthy else 'unhealthy'}"
        )
    levels = [row.level for row in rows]
    print(
        f"{len(rows)} video(s): {levels.count('ready')} ready, {levels.count('partial')} partial, "
        f"{levels.count('not-ready')} not ready"
    )
    if stats is not None:
        print(
            f"boxes by type: {stats.annotations_by_type}; detections by type: {stats.detections_by_type}; "
            f"ground-truth coverage {stats.coverage:.1%} ({stats.reviewed_frames}/{stats.frames} frames)"
        )
    return 0
