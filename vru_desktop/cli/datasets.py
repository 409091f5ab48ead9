"""Dataset subcommands: export (COCO, YOLO, CVAT for video, MOT, CSV, OpenLABEL), import-annotations,
the record of imports (imports, remove-import) and bulk deletion of boxes (delete-annotations)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vru_desktop.annotations.bulk import BoxFilter, delete_annotations, parse_frame_range
from vru_desktop.cli.common import Context, ProgressBar, print_json
from vru_desktop.datasets import exporter, importer
from vru_desktop.datasets.imports import list_imports, remove_import
from vru_desktop.datasets.mapping import parse_map_options
from vru_desktop.errors import one_line


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("export", help="export videos' annotations as a dataset")
    p.add_argument("--format", required=True, choices=list(exporter.FORMATS))
    p.add_argument("--out", required=True, help="the dataset folder to create (new or empty)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--project", help="every video of this project")
    which.add_argument("--video", type=int, nargs="+", default=[], metavar="ID", help="these videos")
    p.add_argument(
        "--run", type=int, nargs="+", default=[], metavar="ID", help="csv, openlabel: these detection runs"
    )
    p.add_argument(
        "--detections", action="store_true", help="openlabel: also the detections of each video's latest run"
    )
    p.add_argument(
        "--every", type=int, metavar="N", help="write every Nth frame instead of the annotated ones"
    )
    p.add_argument(
        "--all-annotations", action="store_true", help="every annotation, not only validated ground truth"
    )
    p.add_argument("--images", action="store_true", help="mot: also write the frames to img1/")
    p.add_argument("--overwrite", action="store_true", help="replace the folder if it holds files")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser("import-annotations", help="import annotations onto library videos")
    p.add_argument("path", metavar="PATH", help="the dataset file or folder")
    p.add_argument("--format", required=True, choices=list(importer.FORMATS))
    p.add_argument("--video", type=int, metavar="ID", help="put everything onto this video")
    p.add_argument(
        "--with-video", nargs="+", default=[], metavar="MEDIA", help="import these videos first, then pair"
    )
    p.add_argument(
        "--map", action="append", default=[], metavar="SRC=VRU", help="class name to VRU type (or =ignore)"
    )
    p.add_argument("--ignore-unmapped", action="store_true", help="leave out classes with no VRU type")
    p.add_argument(
        "--proposals", action="store_true", help="import as unvalidated proposals (no frame marked reviewed)"
    )
    p.add_argument(
        "--cvat-frames",
        choices=("source", "task"),
        default="source",
        help="cvat video: the library video is the task's source video (default) or holds only its frames",
    )
    p.add_argument("--stream", metavar="NAME", help="openlabel: the camera stream to import")
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--replace",
        action="store_true",
        help="boxes an earlier import already put on a video: remove that import's boxes there first",
    )
    again.add_argument(
        "--append", action="store_true", help="boxes an earlier import already put on a video: keep both"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_import_annotations)

    p = subparsers.add_parser("imports", help="list annotation imports")
    p.add_argument("--video", type=int, metavar="ID", help="only imports that placed boxes on this video")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_imports)

    p = subparsers.add_parser(
        "remove-import", help="remove an import: its boxes and the reviewed marks it added"
    )
    p.add_argument("import_id", type=int, metavar="ID")
    p.set_defaults(handler=cmd_remove_import)

    p = subparsers.add_parser("delete-annotations", help="delete a video's boxes in bulk")
    p.add_argument("--video", type=int, required=True, metavar="ID")
    p.add_argument("--class", dest="vru_type", metavar="VRU_TYPE", help="only boxes of this class")
    p.add_argument(
        "--source",
        metavar="IMPORT_ID|SOURCE",
        help="only boxes of this import (its id) or source (manual, detection, import:mot …)",
    )
    p.add_argument("--frames", metavar="A-B", help="only frames A to B (0-based, both included)")
    p.set_defaults(handler=cmd_delete_annotations)


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    options = exporter.ExportOptions(
        format=args.format,
        out=Path(args.out),
        video_ids=args.video,
        project=args.project,
        every=args.every,
        all_annotations=args.all_annotations,
        run_ids=args.run,
        detections=args.detections,
        mot_images=args.images,
        overwrite=args.overwrite,
    )
    bar = ProgressBar("export")
    result = exporter.export_dataset(ctx.db, options, progress=bar.update)
    if args.json:
        print_json(result.as_dict())
    else:
        details = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.counts.items())
        print(f"exported {result.videos} videos to {result.out} ({result.format}): {details}")
    return 0


def cmd_import_annotations(args: argparse.Namespace, ctx: Context) -> int:
    options = importer.ImportOptions(
        video_id=args.video,
        mapping=parse_map_options(args.map),
        unmapped="ignore" if args.ignore_unmapped else "refuse",
        ground_truth=not args.proposals,
        cvat_frames=args.cvat_frames,
        stream=args.stream,
        media=args.with_video,
        on_duplicate="replace" if args.replace else "append" if args.append else "refuse",
    )
    bar = ProgressBar("import")
    result = importer.import_annotations(ctx.db, args.format, args.path, options, progress=bar.update)
    if args.json:
        print_json(result.as_dict())
    else:
        print(
            one_line(
                f"import {result.import_id}: {result.boxes} boxes from {result.source} ({result.format})"
            )
        )
        for line in result.lines():
            print("  " + one_line(line))
    return 0


def cmd_imports(args: argparse.Namespace, ctx: Context) -> int:
    imports = list_imports(ctx.db, args.video)
    if args.json:
        print_json([record.as_dict() for record in imports])
    else:
        for record in imports:
            print(record.line())
    return 0


def cmd_remove_import(args: argparse.Namespace, ctx: Context) -> int:
    deleted = remove_import(ctx.db, args.import_id)
    print(f"removed import {args.import_id}: {deleted} annotation rows deleted")
    return 0


def cmd_delete_annotations(args: argparse.Namespace, ctx: Context) -> int:
    source: str | None = args.source
    which = BoxFilter(
        video_id=args.video,
        vru_type=args.vru_type,
        import_id=int(source) if source is not None and source.isdigit() else None,
        source=source if source is not None and not source.isdigit() else None,
        frames=parse_frame_range(args.frames) if args.frames else None,
    )
    deleted = delete_annotations(ctx.db, which)
    print(f"deleted {deleted} annotation rows from video {args.video}")
    return 0
