"""Detection subcommands: detect, runs, resume, cancel-run, models, add-model.

They run the same pipeline as the window's worker (:func:`vru_desktop.detection.pipeline.execute_run`),
headless, with a progress bar. Every command first marks runs left by a crashed process interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vru_desktop.cli.common import (
    TRUST_HELP,
    Context,
    add_cluster_option,
    add_run_options,
    chosen_cluster,
    print_json,
    run_config_from_args,
    run_summary_line,
    run_together,
    run_with_progress,
)
from vru_desktop.detection.executor import LOCAL
from vru_desktop.detection.models import (
    ensure_model_file,
    list_models,
    register_model,
)
from vru_desktop.detection.runs import (
    cancel_queued,
    list_runs,
    queue_project,
    queue_videos,
    recover_interrupted,
    requeue,
)
from vru_desktop.errors import UsageError
from vru_desktop.library.importer import project_id_by_name
from vru_desktop.store.models import RunStatus


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("detect", help="run a detector over videos (headless, with a progress bar)")
    p.add_argument("video_ids", nargs="*", type=int, metavar="VIDEO_ID")
    p.add_argument("--project", help="every video of this project")
    add_run_options(p)
    add_cluster_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_detect)

    p = subparsers.add_parser("runs", help="list detection runs with state and statistics")
    p.add_argument("--video", type=int, help="only this video's runs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_runs)

    p = subparsers.add_parser("resume", help="continue an interrupted, stopped or failed run")
    p.add_argument("run_id", type=int)
    add_cluster_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_resume)

    p = subparsers.add_parser("cancel-run", help="take a queued run off the queue")
    p.add_argument("run_id", type=int)
    p.set_defaults(handler=cmd_cancel)

    p = subparsers.add_parser("models", help="list the known detector models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_models)

    p = subparsers.add_parser("add-model", help="add a detector model file to the known models")
    p.add_argument("path")
    p.add_argument("--name", help="name to show (default: the file name)")
    p.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    p.set_defaults(handler=cmd_add_model)


def cmd_detect(args: argparse.Namespace, ctx: Context) -> int:
    if bool(args.video_ids) == bool(args.project):
        raise UsageError("detect: give VIDEO_IDs or --project NAME (one of them).")
    config = run_config_from_args(args)
    recover_interrupted(ctx.db)
    where = chosen_cluster(ctx, args.cluster)
    path = ensure_model_file(args.model, ctx.locations)
    model = register_model(ctx.db, path, trust=args.trust_model)
    if args.project:
        runs = queue_project(ctx.db, project_id_by_name(ctx.db, args.project), model.id, config)
    else:
        runs = queue_videos(ctx.db, args.video_ids, model.id, config)
    if where == LOCAL:
        summaries = [run_with_progress(ctx, run.id, f"video {run.video_id}") for run in runs]
    else:
        summaries = run_together(ctx, [run.id for run in runs], where)
    if args.json:
        print_json([s.to_dict() for s in summaries])
    else:
        for summary in summaries:
            print(run_summary_line(summary))
        if not summaries:
            print("nothing to do: no videos (or each already has a queued or running run)", file=sys.stderr)
    return 0 if summaries and all(s.status == RunStatus.COMPLETED for s in summaries) else 1


def cmd_resume(args: argparse.Namespace, ctx: Context) -> int:
    recover_interrupted(ctx.db)
    where = chosen_cluster(ctx, args.cluster)
    run = requeue(ctx.db, args.run_id)
    summary = run_with_progress(ctx, run.id, f"run {run.id}", where)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(run_summary_line(summary))
    return 0 if summary.status == RunStatus.COMPLETED else 1


def cmd_runs(args: argparse.Namespace, ctx: Context) -> int:
    recover_interrupted(ctx.db)
    rows = list_runs(ctx.db, video_id=args.video)
    if args.json:
        print_json([r.to_dict() for r in rows])
        return 0
    for r in rows:
        stats = (
            f"{r.total_detections} detections, {r.frames_per_second or 0:.1f} frames/s"
            if r.total_detections is not None
            else ""
        )
        print(
            f"{r.id:4}  video {r.video_id} {r.video_name}  {r.model_name}  {r.status:11} "
            f"{r.progress * 100:5.1f}%  {r.frames_processed} frames  {stats}"
        )
        if r.error_message:
            print(f"      {r.error_message}")
    return 0


def cmd_cancel(args: argparse.Namespace, ctx: Context) -> int:
    cancel_queued(ctx.db, args.run_id)
    print(f"run {args.run_id} cancelled")
    return 0


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    models = list_models(ctx.db)
    if args.json:
        print_json(
            [
                {
                    "id": m.id,
                    "name": m.name,
                    "path": m.path,
                    "format": m.format,
                    "sha256": m.sha256,
                    "class_names": m.class_names,
                    "class_map": m.class_map,
                }
                for m in models
            ]
        )
        return 0
    for m in models:
        mapped = sorted({v for v in m.class_map.values() if v})
        print(f"{m.id:4}  {m.name}  {m.format}  {m.sha256[:12]}  {len(m.class_names)} classes → {mapped}")
    return 0


def cmd_add_model(args: argparse.Namespace, ctx: Context) -> int:
    path = ensure_model_file(args.path, ctx.locations)
    model = register_model(ctx.db, path, name=args.name, trust=args.trust_model)
    print(f"model {model.id}: {model.name} ({model.format}, sha256 {model.sha256[:12]}…)")
    return 0
