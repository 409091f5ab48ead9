"""Dataset subcommands: export (COCO, YOLO, CVAT for video, MOT, CSV) and import-annotations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vru_desktop.cli.common import Context, ProgressBar, print_json
from vru_desktop.datasets import exporter, importer
from vru_desktop.datasets.mapping import parse_map_options
from vru_desktop.errors import one_line


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("export", help="export videos' annotations as a dataset")
    p.add_argument("--format", required=True, choices=list(exporter.FORMATS))
    p.add_argument("--out", required=True, help="the dataset folder to create (new or empty)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--project", help="every video of this project")
    which.add_argument("--video", type=int, nargs="+", default=[], metavar="ID", help="these videos")
    p.add_argument("--run", type=int, nargs="+", default=[], metavar="ID", help="csv: these detection runs")
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
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_import_annotations)


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    options = exporter.ExportOptions(
        format=args.format,
        out=Path(args.out),
        video_ids=args.video,
        project=args.project,
        every=args.every,
        all_annotations=args.all_annotations,
        run_ids=args.run,
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
        media=args.with_video,
    )
    bar = ProgressBar("import")
    result = importer.import_annotations(ctx.db, args.format, args.path, options, progress=bar.update)
    if args.json:
        print_json(result.as_dict())
    else:
        print(one_line(f"imported {result.boxes} boxes from {result.source} ({result.format})"))
        for line in result.lines():
            print("  " + one_line(line))
    return 0
