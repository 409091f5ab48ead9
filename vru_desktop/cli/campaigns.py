"""Campaign subcommands: ``campaign create|list|run|status|evaluate|compare|gate|report|delete``.

``run`` launches the campaign (reusing matching finished runs) and runs its queued runs through the
pipeline ``detect`` uses, with the same progress bar; Ctrl+C stops and keeps what was computed.
``gate`` exits 0 when every requirement holds and 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vru_desktop.campaigns.compare import compare_campaigns, gate_campaign
from vru_desktop.campaigns.definition import (
    CampaignStatus,
    create_campaign,
    delete_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
    queued_campaign_runs,
)
from vru_desktop.campaigns.report import comparison_document, write_campaign_report, write_comparison_report
from vru_desktop.campaigns.requirements import METRICS, needs_base, parse_requirements
from vru_desktop.campaigns.scoring import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, score_campaign, sort_videos
from vru_desktop.cli.common import (
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
from vru_desktop.detection.models import ensure_model_file, register_model
from vru_desktop.detection.runs import recover_interrupted
from vru_desktop.store.models import RunStatus

METRIC_HELP = "; ".join(f"{k}: {v[0]}" for k, v in METRICS.items())


def register(subparsers: Any) -> None:
    top = subparsers.add_parser(
        "campaign", help="campaigns: one model over a frozen set of videos, scored pooled"
    )
    sub = top.add_subparsers(dest="campaign_command", metavar="<action>", required=True)

    p = sub.add_parser("create", help="freeze a video set with a model and its run configuration")
    p.add_argument("name")
    p.add_argument("--project", action="append", help="every video of this project (repeatable)")
    p.add_argument("--videos", type=int, nargs="+", metavar="VIDEO_ID", help="these videos")
    add_run_options(p)
    p.add_argument("--protocol", action="append", metavar="NAME", help="protocol to score (repeatable)")
    p.add_argument(
        "--require",
        action="append",
        metavar="REQ",
        help="requirement METRIC>=VALUE, METRIC<=VALUE or METRIC>=base-D (repeatable). "
        f"Metrics: {METRIC_HELP}",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_create)

    p = sub.add_parser("list", help="campaigns with their status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser(
        "run", help="launch a campaign and run its queued runs (Ctrl+C stops, keeping results)"
    )
    p.add_argument("name")
    add_cluster_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("status", help="a campaign's videos and their runs")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "evaluate", help="score a campaign pooled over its videos, per video, class and camera"
    )
    p.add_argument("name")
    _scoring_options(p)
    p.add_argument("--conf", type=float, help="confidence threshold (default: the campaign's own)")
    p.add_argument("--sort", default="recall", choices=list(METRICS), help="per-video order, worst first")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="every metric of two campaigns with its delta and interval, tracks one misses, "
        "false positives the new one adds",
    )
    p.add_argument("base")
    p.add_argument("new")
    _scoring_options(p)
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write a self-contained HTML report and FILE.json beside it",
    )
    p.set_defaults(handler=cmd_compare)

    p = sub.add_parser("gate", help="exit 0 when the campaign meets its requirements, 1 otherwise")
    p.add_argument("name")
    p.add_argument("--against", metavar="BASE", help="base campaign for requirements like recall>=base-0.02")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_gate)

    p = sub.add_parser("report", help="write a self-contained HTML report and its JSON")
    p.add_argument("name")
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--against", metavar="BASE", help="base campaign for relative requirements")
    p.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES)
    p.add_argument("--seed", type=int, default=BOOTSTRAP_SEED)
    p.set_defaults(handler=cmd_report, iou=0.5)

    p = sub.add_parser("delete", help="remove a campaign (its runs stay)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_delete)


def _scoring_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--iou", type=float, default=0.5, help="IoU threshold for a match (default 0.5)")
    p.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=BOOTSTRAP_SEED, help="bootstrap seed")
    p.add_argument("--json", action="store_true")


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def cmd_create(args: argparse.Namespace, ctx: Context) -> int:
    config = run_config_from_args(args)
    parse_requirements(args.require or [])
    path = ensure_model_file(args.model, ctx.locations)
    model = register_model(ctx.db, path, trust=args.trust_model)
    create_campaign(
        ctx.db,
        args.name,
        model.id,
        config,
        projects=args.project,
        video_ids=args.videos,
        protocols=args.protocol,
        requirements=args.require,
    )
    info = get_campaign(ctx.db, args.name)
    if args.json:
        print_json(info.to_dict())
    else:
        print(
            f"campaign {info.name}: {len(info.videos)} videos, model {info.model_name}; run it with "
            f"'vru-desktop campaign run {info.name}'"
        )
    return 0


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    recover_interrupted(ctx.db)
    campaigns = list_campaigns(ctx.db)
    if args.json:
        print_json([c.to_dict() for c in campaigns])
        return 0
    for c in campaigns:
        print(
            f"{c.name}  {c.status:10} {c.progress * 100:5.1f}%  {len(c.videos)} videos  {c.model_name}  "
            f"protocols {', '.join(c.protocols)}"
        )
    return 0


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    recover_interrupted(ctx.db)
    where = chosen_cluster(ctx, args.cluster)
    launch_campaign(ctx.db, args.name)
    info = get_campaign(ctx.db, args.name)
    for v in info.videos:
        if v.reused:
            print(f"video {v.video_id} {v.filename}: reusing finished run {v.run_id}", file=sys.stderr)
    queued = queued_campaign_runs(ctx.db, args.name)
    summaries = []
    if where != LOCAL:
        summaries = run_together(ctx, queued, where)
        if not args.json:
            for summary in summaries:
                print(run_summary_line(summary))
        queued = []
    for i, run_id in enumerate(queued, 1):
        video = next(v for v in info.videos if v.run_id == run_id)
        summary = run_with_progress(ctx, run_id, f"[{i}/{len(queued)}] video {video.video_id}")
        summaries.append(summary)
        if not args.json:
            print(run_summary_line(summary))
        if summary.status == RunStatus.STOPPED:
            print(f"stopped; 'vru-desktop campaign run {args.name}' continues", file=sys.stderr)
            break
    info = get_campaign(ctx.db, args.name)
    if args.json:
        print_json(info.to_dict() | {"runs": [s.to_dict() for s in summaries]})
    else:
        print(f"campaign {info.name}: {info.status}, {info.progress * 100:.0f}% of {len(info.videos)} videos")
    return 0 if info.status == CampaignStatus.COMPLETED else 1


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    recover_interrupted(ctx.db)
    info = get_campaign(ctx.db, args.name)
    if args.json:
        print_json(info.to_dict())
        return 0
    print(
        f"campaign {info.name}: {info.status} {info.progress * 100:.0f}%, model {info.model_name} "
        f"({info.model_sha256[:12]}), protocols {', '.join(info.protocols)}"
    )
    if info.requirements:
        print("requirements: " + ", ".join(info.requirements))
    for v in info.videos:
        run = f"run {v.run_id} {v.run_status} {v.progress * 100:.0f}%" if v.run_id else "no run yet"
        print(
            f"  video {v.video_id} {v.filename}  {v.reviewed_frames} reviewed frames  {run}"
            + ("  (reused)" if v.reused else "")
        )
    return 0


def cmd_evaluate(args: argparse.Namespace, ctx: Context) -> int:
    scores = score_campaign(
        ctx.db, args.name, iou=args.iou, conf=args.conf, resamples=args.resamples, seed=args.seed
    )
    for result in scores["protocols"].values():
        result["per_video"] = sort_videos(result["per_video"], args.sort)
    if args.json:
        print_json(scores)
        return 0
    for result in scores["protocols"].values():
        _print_protocol(result, args.sort)
    return 0


def _print_protocol(r: dict[str, Any], sort: str) -> None:
    print(
        f"protocol {r['protocol']}: {r['videos_scored']} videos, "
        f"confidence >= {r['conf']:g}, IoU >= {r['iou']:g}"
    )
    m, ci = r["metrics"], r["intervals"]
    if m:
        for name in METRICS:
            interval = ci.get(name)
            extra = f"  [{_f(interval['low'])}, {_f(interval['high'])}]" if interval else ""
            print(f"  {name:<22}{_f(m.get(name)):>8}{extra}")
        print(f"  TP {m['tp']}  FP {m['fp']}  FN {m['fn']}")
        print(
            "  per class: "
            + ", ".join(
                f"{k} recall {_f(c['recall'])} precision {_f(c['precision'])}"
                for k, c in r["per_class"].items()
            )
        )
        print(f"  per video (worst {sort} first):")
        for v in r["per_video"]:
            print(
                f"    {v['filename']:<32} {sort} {_f(v.get(sort))}  recall {_f(v['recall'])}  "
                f"precision {_f(v['precision'])}  F1 {_f(v['f1'])}  frames {v['reviewed_frames']}"
                + ("  (reused run)" if v["reused"] else "")
            )
        for key, groups in r["slices"].items():
            print(
                f"  by {key.replace('_', ' ')}: "
                + ", ".join(
                    f"{value or '(not set)'} ({g['videos']}) recall {_f(g['recall'])}"
                    for value, g in groups.items()
                )
            )
    for e in r["excluded"]:
        print(f"  left out: {e['filename']}: {e['reason']}")


def cmd_compare(args: argparse.Namespace, ctx: Context) -> int:
    result = compare_campaigns(
        ctx.db, args.base, args.new, iou=args.iou, resamples=args.resamples, seed=args.seed
    )
    if args.report is not None:
        html_path, json_path = write_comparison_report(comparison_document(ctx.db, result), args.report)
        print(f"report written to {html_path} and {json_path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print_json(result)
        return 0
    print(f"{args.new} against {args.base} ({'paired' if result['paired'] else 'unpaired'} bootstrap):")
    for name, m in result["metrics"].items():
        ci = m["delta_interval"]
        extra = f"  [{_f(ci['low'])}, {_f(ci['high'])}]" if ci else ""
        print(f"  {name:<22}{_f(m['base']):>8} -> {_f(m['new']):>8}  delta {_f(m['delta'])}{extra}")
    compared = [*result["videos_better"], *result["videos_worse"], *result["videos_unchanged"]]
    if not compared:
        print("  no video in common: the campaigns are compared unpaired, without per-video changes")
    for label, key in (("better", "videos_better"), ("worse", "videos_worse")):
        for v in result[key]:
            print(f"  {label}: {v['filename']}  F1 {_f(v['f1']['base'])} -> {_f(v['f1']['new'])}")
    for label, key in (("new", "missed_by_new"), ("base", "missed_by_base")):
        for t in result["tracks"][key]:
            print(
                f"  track missed by {label}: {t['filename']} (video {t['video_id']}) track {t['track_id']} "
                f"{t['class']}, from frame {t['first_frame']}, {t['frames']} frames"
            )
    added = result["false_positives_added"]
    print(f"  false positives the new run adds: {added['count']}")
    return 0


def cmd_gate(args: argparse.Namespace, ctx: Context) -> int:
    result = gate_campaign(ctx.db, args.name, against=args.against)
    if args.json:
        print_json(result)
    else:
        for c in result["checks"]:
            state = "ok    " if c["passed"] else "FAILED"
            why = f" ({c['reason']})" if c["reason"] else ""
            print(f"{state} {c['requirement']}: {_f(c['value'])} against {_f(c['threshold'])}{why}")
        print(
            f"campaign {args.name}: "
            + ("all requirements hold" if result["passed"] else "requirements failed")
        )
    return 0 if result["passed"] else 1


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    scores = score_campaign(ctx.db, args.name, iou=args.iou, resamples=args.resamples, seed=args.seed)
    requirements = parse_requirements(get_campaign(ctx.db, args.name).requirements)
    gate = None
    if requirements and (args.against is not None or not needs_base(requirements)):
        gate = gate_campaign(ctx.db, args.name, against=args.against)
    html_path, json_path = write_campaign_report(scores, args.out, gate)
    print(f"report written to {html_path} and {json_path}")
    return 0


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    delete_campaign(ctx.db, args.name)
    print(f"campaign {args.name} deleted (its runs stay)")
    return 0
