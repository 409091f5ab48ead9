"""Evaluation subcommands: evaluate, report, evaluate-coco, evaluate-tracks, compare-runs, statistics,
device events."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vru_desktop.cli.common import Context, finite_float, print_json
from vru_desktop.errors import UsageError

if TYPE_CHECKING:
    from vru_desktop.evaluation.protocols import Protocol


def _protocol_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--protocol",
        action="append",
        default=[],
        metavar="NAME",
        help="log-average miss rate under a named protocol (repeatable; see 'protocols')",
    )
    p.add_argument(
        "--protocol-file",
        action="append",
        default=[],
        metavar="FILE.json",
        help="user-defined protocols (one JSON object or a list), usable by --protocol",
    )
    p.add_argument(
        "--reference-quirks",
        action="store_true",
        help="reproduce eval_MR_multisetup.py's quirks (rounded FPPI points, no floor)",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("evaluate", help="score a detection run against the video's ground truth")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--iou", type=finite_float, default=0.5, help="IoU threshold for a match (default 0.5)")
    p.add_argument("--conf", type=finite_float, help="confidence threshold (default: the run's own)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--tag", metavar="TAG", help="score only the reviewed frames carrying this condition tag")
    _protocol_options(p)
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser("protocols", help="list the pedestrian-detection protocols")
    p.add_argument("--protocol-file", action="append", default=[], metavar="FILE.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_protocols)

    p = subparsers.add_parser("report", help="write a self-contained HTML validation report of a run")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--iou", type=finite_float, default=0.5)
    p.add_argument("--conf", type=finite_float, help="confidence threshold (default: the run's own)")
    p.add_argument(
        "--tolerance", type=finite_float, default=1.0, help="device-event tolerance in seconds (default 1)"
    )
    p.add_argument("--tag", metavar="TAG", help="report only the reviewed frames carrying this condition tag")
    _protocol_options(p)
    p.set_defaults(handler=cmd_report)

    p = subparsers.add_parser(
        "evaluate-coco",
        help="score a COCO result file against a COCO ground-truth file (pycocotools' numbers)",
    )
    p.add_argument("ground_truth", metavar="GROUND_TRUTH.json")
    p.add_argument("results", metavar="RESULTS.json")
    p.add_argument("--tide", action="store_true", help="add TIDE's error breakdown (ΔAP per error kind)")
    p.add_argument("--json", action="store_true")
    _protocol_options(p)
    p.set_defaults(handler=cmd_evaluate_coco)

    p = subparsers.add_parser(
        "evaluate-tracks",
        help="score a MOTChallenge tracker result file against MOTChallenge ground truth (TrackEval's)",
    )
    p.add_argument("ground_truth", metavar="GROUND_TRUTH")
    p.add_argument("results", metavar="RESULTS")
    p.add_argument(
        "--benchmark",
        choices=["MOT15", "MOT16", "MOT17", "MOT20"],
        help="MOTChallenge rules (default: MOT15 for 10-column ground truth, else MOT17)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_evaluate_tracks)

    p = subparsers.add_parser("compare-runs", help="what a new run misses and adds against a base run")
    p.add_argument("base_run", type=int, metavar="BASE_RUN")
    p.add_argument("new_run", type=int, metavar="NEW_RUN")
    p.add_argument("--iou", type=finite_float, default=0.5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_compare_runs, conf=None)

    p = subparsers.add_parser("statistics", help="show a run's session statistics (recomputed when stale)")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--recalculate", action="store_true", help="link detections to annotations and recompute")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_statistics)

    p = subparsers.add_parser(
        "import-device-events", help="import a camera's detection event log (CSV or JSON)"
    )
    p.add_argument("video_id", type=int, metavar="VIDEO_ID")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--offset", type=finite_float, default=0.0, help="seconds added to every event time")
    p.set_defaults(handler=cmd_import_events)

    p = subparsers.add_parser("evaluate-events", help="compare a video's device events with its ground truth")
    p.add_argument("video_id", type=int, metavar="VIDEO_ID")
    p.add_argument(
        "--tolerance", type=finite_float, default=1.0, help="seconds either side of a presence (default 1)"
    )
    p.add_argument("--match-type", action="store_true", help="an event must name the VRU type to count")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_evaluate_events)


def _check_thresholds(args: argparse.Namespace) -> None:
    if not 0.0 < args.iou < 1.0:
        raise UsageError(f"--iou {args.iou} must be between 0 and 1.")
    if args.conf is not None and not 0.0 <= args.conf <= 1.0:
        raise UsageError(f"--conf {args.conf} must be between 0 and 1.")


def cmd_evaluate(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.run import evaluate_run, format_text

    _check_thresholds(args)
    protocols = _protocols(args, ctx)
    result = evaluate_run(
        ctx.db, args.run_id, iou=args.iou, conf=args.conf, protocols=protocols, tag=args.tag
    )
    if args.json:
        print_json(result.to_dict())
    else:
        for line in format_text(result):
            print(line)
    return 0


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.report import report_events, write_report
    from vru_desktop.evaluation.run import evaluate_run

    _check_thresholds(args)
    protocols = _protocols(args, ctx)
    result = evaluate_run(
        ctx.db, args.run_id, iou=args.iou, conf=args.conf, protocols=protocols, tag=args.tag
    )
    events = report_events(ctx.db, result, tolerance=args.tolerance)
    path = write_report(result, Path(args.out), events)
    print(f"report written to {path}")
    return 0


def _protocols(args: argparse.Namespace, ctx: Context) -> list[Protocol]:
    """The protocols ``--protocol`` names, among built-in, the setting's and ``--protocol-file``'s."""
    from vru_desktop.errors import ValidationError
    from vru_desktop.evaluation.protocols import available, choose
    from vru_desktop.settings import PROTOCOLS, get_setting

    if not args.protocol:
        if args.protocol_file:
            raise UsageError("--protocol-file defines protocols; name the ones to use with --protocol.")
        return []
    known = available(get_setting(ctx.db, PROTOCOLS), args.protocol_file)
    try:
        return choose(args.protocol, known, reference_quirks=args.reference_quirks)
    except ValidationError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc


def cmd_protocols(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.protocols import available, describe
    from vru_desktop.settings import PROTOCOLS, get_setting

    known = available(get_setting(ctx.db, PROTOCOLS), args.protocol_file)
    if args.json:
        print_json([p.to_dict() for p in known.values()])
        return 0
    for p in known.values():
        print(f"{p.name:<26} {p.title}: {describe(p)}")
    return 0


def cmd_evaluate_coco(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.coco import STAT_DEFINITIONS, evaluate, load_coco
    from vru_desktop.evaluation.protocols import evaluate_protocol, protocol_lines
    from vru_desktop.evaluation.tide import format_tide, tide

    protocols = _protocols(args, ctx)
    data = load_coco(args.ground_truth, args.results)
    result = evaluate(data)
    errors = tide(data.gt, data.dt, data.image_order) if args.tide else None
    by_protocol = [
        evaluate_protocol(
            p,
            data.gt,
            data.dt,
            data.category_names,
            len(data.image_ids),
            data.gt_conditions,
            data.gt_frame_size,
        )
        for p in protocols
    ]
    if args.json:
        document: dict[str, Any] = {"stats": result.stats_dict(), "per_category": result.per_category()}
        if by_protocol:
            document["protocols"] = [r.to_dict() for r in by_protocol]
        if errors is not None:
            document["tide"] = errors.to_dict()
        print_json(document)
        return 0
    for (_, is_ap, iou, area, max_dets), value in zip(STAT_DEFINITIONS, result.stats, strict=True):
        kind = "Average Precision  (AP)" if is_ap else "Average Recall     (AR)"
        iou_text = "0.50:0.95" if iou is None else f"{iou:.2f}"
        print(f" {kind} @[ IoU={iou_text:<9} | area={area:>6} | maxDets={max_dets:>3} ] = {value:0.3f}")
    for line in protocol_lines(by_protocol):
        print(line)
    for line in format_tide(errors) if errors is not None else []:
        print(line)
    return 0


def cmd_evaluate_tracks(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.mot_files import evaluate_mot_files
    from vru_desktop.evaluation.tracking import format_tracking

    result = evaluate_mot_files(args.ground_truth, args.results, benchmark=args.benchmark)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(
        f"{result.benchmark}: ground truth {result.gt_tracks} tracks, {result.gt_boxes} boxes; "
        f"tracker {result.tracker_tracks} tracks, {result.tracker_boxes} boxes "
        f"({result.tracker_boxes_removed} removed as matches of distractors)"
    )
    for line in format_tracking(result.metrics):
        print(line)
    return 0


def cmd_compare_runs(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.compare import DIFFERENCE_KINDS, compare_runs
    from vru_desktop.evaluation.run import evaluate_run

    _check_thresholds(args)
    result = compare_runs(
        evaluate_run(ctx.db, args.base_run, iou=args.iou), evaluate_run(ctx.db, args.new_run, iou=args.iou)
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(
        f"run {result.new_run} against run {result.base_run} on {result.frames} frames: "
        f"TP {result.base_tp} -> {result.new_tp}, FP {result.base_fp} -> {result.new_fp}"
    )
    print("  " + ", ".join(f"{kind} {result.count(kind)}" for kind in DIFFERENCE_KINDS))
    for d in result.differences:
        box = ", ".join(f"{v:.0f}" for v in d.box)
        score = "" if d.score is None else f" {d.score:.2f}"
        print(f"  frame {d.frame:6}  {d.kind:<22} {d.vru_type}{score}  [{box}]")
    return 0


def cmd_statistics(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.statistics import compute_statistics, get_statistics, link_detection_events

    if args.recalculate:
        link = link_detection_events(ctx.db, args.run_id)
        if not args.json:
            print(link.line())
        stats = compute_statistics(ctx.db, args.run_id)
    else:
        stats = get_statistics(ctx.db, args.run_id)
    document = {
        "run_id": stats.session_id,
        "total_annotations": stats.total_annotations,
        "total_detections": stats.total_detections,
        "annotations_by_type": stats.annotations_by_type,
        "detections_by_type": stats.detections_by_type,
        "detection_accuracy": stats.detection_accuracy,
        "processing_time_seconds": stats.processing_time_seconds,
        "frames_processed": stats.frames_processed,
        "frames_per_second": stats.frames_per_second,
        "extra": stats.extra,
    }
    if args.json:
        print_json(document)
        return 0
    accuracy = "-" if stats.detection_accuracy is None else f"{stats.detection_accuracy:.3f}"
    print(
        f"run {stats.session_id}: {stats.total_detections} detections, "
        f"{stats.total_annotations} ground-truth boxes"
    )
    print(f"  detections by type: {stats.detections_by_type}")
    print(f"  annotations by type: {stats.annotations_by_type}")
    print(f"  detection accuracy (F1 at the run's confidence, IoU 0.5): {accuracy}")
    print(
        f"  processing: {stats.processing_time_seconds:.1f} s, {stats.frames_processed} frames, "
        f"{stats.frames_per_second:.1f} frames/s"
    )
    return 0


def cmd_import_events(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.events import import_device_events

    count = import_device_events(ctx.db, args.video_id, args.file, offset=args.offset)
    print(f"imported {count} device events for video {args.video_id} from {Path(args.file).name}")
    return 0


def cmd_evaluate_events(args: argparse.Namespace, ctx: Context) -> int:
    from vru_desktop.evaluation.events import evaluate_events

    result = evaluate_events(ctx.db, args.video_id, tolerance=args.tolerance, match_type=args.match_type)
    document = result.to_dict()
    if args.json:
        print_json(document)
        return 0
    rate = "-" if result.hit_rate is None else f"{result.hit_rate:.3f}"
    per_hour = "-" if result.false_alarms_per_hour is None else f"{result.false_alarms_per_hour:.1f}"
    print(f"video {args.video_id}: {len(result.episodes)} VRU presences, {result.hits} hit (hit rate {rate})")
    latency = document["latency_s"]
    if latency:
        print(
            f"  latency s: mean {latency['mean']:.3f}, median {latency['median']:.3f}, "
            f"p90 {latency['p90']:.3f}, max {latency['max']:.3f}"
        )
    print(
        f"  false alarms: {result.false_alarms} of {result.events_judged} events judged "
        f"({per_hour} per hour); "
        f"{result.events_outside} events away from reviewed frames not judged"
    )
    return 0
