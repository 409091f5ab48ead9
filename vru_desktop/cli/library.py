"""Library subcommands: import, projects, videos, relink, doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vru_desktop.annotations.tags import (
    project_tags,
    set_project_tags,
    tag_frames,
    tag_video,
    video_tags,
)
from vru_desktop.cli.common import Context, ProgressBar, finite_float, print_json
from vru_desktop.errors import NotFoundError, UsageError
from vru_desktop.files import read_text
from vru_desktop.library.doctor import run_doctor
from vru_desktop.library.importer import (
    Assignment,
    import_paths,
    project_id_by_name,
    relink,
    relink_search,
)
from vru_desktop.library.projects import (
    ProjectFields,
    create_project,
    list_projects,
    move_videos,
    parse_ignore_regions,
    project_by_name,
    update_project,
)
from vru_desktop.library.views import VideoDetails, all_video_details
from vru_desktop.store.models import DEFAULT_GT_COVERAGE, Project


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("import", help="import video files, folders or frame folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--project", help="project to put the videos in (else the assignment rules choose)")
    p.add_argument("--fps", type=finite_float, help="frame rate for image sequences without seqinfo.ini")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_import)

    p = subparsers.add_parser("projects", help="list projects")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_projects)

    p = subparsers.add_parser("create-project", help="create a project (a camera setup)")
    p.add_argument("name")
    p.add_argument("--camera-model", required=True)
    p.add_argument("--camera-view", required=True)
    p.add_argument("--signal-type", required=True)
    p.add_argument("--lens-type", default="")
    p.add_argument("--resolution", default="")
    p.add_argument("--frame-rate", type=finite_float)
    p.add_argument("--description", default="")
    p.add_argument("--ignore-regions", metavar="FILE.json", help="polygons evaluation leaves out")
    p.add_argument(
        "--gt-coverage",
        type=float,
        default=DEFAULT_GT_COVERAGE,
        metavar="SHARE",
        help=f"frames share reviewed for a video's ground truth to count (default {DEFAULT_GT_COVERAGE})",
    )
    p.set_defaults(handler=cmd_create_project)

    p = subparsers.add_parser("ignore-regions", help="show or set a project's evaluation ignore regions")
    p.add_argument("project", metavar="NAME")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--set", metavar="FILE.json", help="polygons: [[[x, y], [x, y], [x, y], ...], ...]")
    which.add_argument("--clear", action="store_true", help="remove all ignore regions")
    p.set_defaults(handler=cmd_ignore_regions)

    p = subparsers.add_parser("tags", help="show or set a project's condition tags (day, night, rain ...)")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--set", nargs="*", metavar="TAG", help="the project's tags from now on (none: no tags)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_tags)

    p = subparsers.add_parser("tag", help="put condition tags on a video or frames, or list them")
    p.add_argument("video_id", type=int, metavar="VIDEO_ID", help="the video (see 'videos')")
    p.add_argument("tags", nargs="*", metavar="TAG", help="tags of the video's project (none: list)")
    p.add_argument("--frames", metavar="A-B", help="only frames A to B (0-based, inclusive), or frame A")
    p.add_argument("--remove", action="store_true", help="take the tags off instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_tag)

    p = subparsers.add_parser("videos", help="list videos")
    p.add_argument("--project", help="only this project's videos")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_videos)

    p = subparsers.add_parser("move-video", help="put videos in another project")
    p.add_argument("video_ids", type=int, nargs="+", metavar="VIDEO_ID", help="the videos (see 'videos')")
    p.add_argument("--project", required=True, metavar="NAME", help="the project they go to")
    p.set_defaults(handler=cmd_move_video)

    p = subparsers.add_parser(
        "relink", help="point a moved video at its new file, or search a folder for missing videos"
    )
    p.add_argument("video_id", type=int, nargs="?", help="the video to relink (see 'videos')")
    p.add_argument("path", nargs="?", help="its file (or frame folder) at the new place")
    p.add_argument("--search", metavar="FOLDER", help="find every missing video below FOLDER by content")
    p.set_defaults(handler=cmd_relink)

    p = subparsers.add_parser("doctor", help="check the database and repair it")
    p.set_defaults(handler=cmd_doctor)


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    try:
        project_id = project_id_by_name(ctx.db, args.project) if args.project else None
    except NotFoundError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc
    assignment = Assignment(explicit_project_id=project_id)
    bar = ProgressBar("import")
    outcomes = import_paths(ctx.db, args.paths, assignment=assignment, fps=args.fps, progress=bar.update)
    if args.json:
        print_json(
            [
                {
                    "path": str(o.path),
                    "status": o.status,
                    "message": o.message,
                    "video_id": o.video_id,
                    "project": o.project,
                }
                for o in outcomes
            ]
        )
    else:
        for outcome in outcomes:
            print(outcome.line())
        if not outcomes:
            print("nothing to import: no video files or frame folders found", file=sys.stderr)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "camera_model": project.camera_model,
        "camera_view": project.camera_view,
        "lens_type": project.lens_type,
        "resolution": project.resolution,
        "frame_rate": project.frame_rate,
        "signal_type": project.signal_type,
        "status": project.status,
        "is_default": project.is_default,
        "vru_classes": project.vru_classes,
        "gt_coverage": project.gt_coverage,
    }


def video_dict(video: VideoDetails) -> dict[str, Any]:
    return {
        "id": video.id,
        "project_id": video.project_id,
        "project": video.project,
        "name": video.filename,
        "filename": video.filename,
        "file_path": video.file_path,
        "kind": video.kind,
        "file_size": video.file_size,
        "duration": video.duration,
        "fps": video.fps,
        "frame_count": video.frame_count,
        "width": video.width,
        "height": video.height,
        "codec": video.codec,
        "start_time": video.start_time,
        "fingerprint": video.fingerprint,
        "status": video.status,
        "processing_status": video.processing_status,
        "ground_truth_generated": video.ground_truth_generated,
    }


def cmd_projects(args: argparse.Namespace, ctx: Context) -> int:
    projects = list_projects(ctx.db)
    if args.json:
        print_json([project_dict(p) for p in projects])
        return 0
    for p in projects:
        mark = " (default)" if p.is_default else ""
        print(
            f"{p.id:4}  {p.name}{mark}  camera={p.camera_model} view={p.camera_view} signal={p.signal_type}"
        )
    return 0


def cmd_create_project(args: argparse.Namespace, ctx: Context) -> int:
    project = create_project(
        ctx.db,
        ProjectFields(
            name=args.name,
            description=args.description,
            camera_model=args.camera_model,
            camera_view=args.camera_view,
            lens_type=args.lens_type,
            resolution=args.resolution,
            frame_rate=args.frame_rate,
            signal_type=args.signal_type,
            ignore_regions=_read_regions(args.ignore_regions) if args.ignore_regions else [],
            gt_coverage=args.gt_coverage,
        ),
    )
    print(f"created project {project.id}: {project.name}")
    return 0


def _read_regions(path: str) -> list[Any]:
    return parse_ignore_regions(read_text(Path(path), UsageError))


def cmd_ignore_regions(args: argparse.Namespace, ctx: Context) -> int:
    project = project_by_name(ctx.db, args.project)
    if args.set or args.clear:
        data = ProjectFields.of(project)
        data.ignore_regions = _read_regions(args.set) if args.set else []
        project = update_project(ctx.db, project.id, data)
    print_json(project.ignore_regions)
    return 0


def cmd_tags(args: argparse.Namespace, ctx: Context) -> int:
    project = project_by_name(ctx.db, args.project)
    tags = (
        set_project_tags(ctx.db, project.id, args.set)
        if args.set is not None
        else project_tags(ctx.db, project.id)
    )
    if args.json:
        print_json(tags)
    else:
        print(f"{project.name}: {', '.join(tags) or '(no condition tags)'}")
    return 0


def _frame_range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise UsageError(
            f"--frames {text} is not a frame range.", hint="Write A-B, e.g. 0-299, or one frame."
        ) from None


def cmd_tag(args: argparse.Namespace, ctx: Context) -> int:
    if args.tags:
        if args.frames:
            first, last = _frame_range(args.frames)
            count = tag_frames(ctx.db, args.video_id, args.tags, first, last, remove=args.remove)
            where = f"{count} frame(s) of video {args.video_id}"
        else:
            tag_video(ctx.db, args.video_id, args.tags, remove=args.remove)
            where = f"video {args.video_id}"
        if not args.json:
            print(f"{', '.join(args.tags)} {'removed from' if args.remove else 'put on'} {where}")
    elif args.frames or args.remove:
        raise UsageError("--frames and --remove need at least one TAG.")
    tags = video_tags(ctx.db, args.video_id)
    if args.json:
        print_json(tags.to_dict())
    elif not args.tags:
        print(f"video {args.video_id}: {', '.join(tags.video) or '(no video tags)'}")
        for tag, ranges in tags.frames.items():
            print(f"  {tag}: frames " + ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges))
    return 0


def cmd_videos(args: argparse.Namespace, ctx: Context) -> int:
    project_id = project_by_name(ctx.db, args.project).id if args.project else None
    videos = all_video_details(ctx.db, project_id)
    if args.json:
        print_json([video_dict(v) for v in videos])
        return 0
    for v in videos:
        print(
            f"{v.id:4}  {v.filename}  {v.frame_count} frames  {v.fps:g} fps  {v.resolution}  "
            f"{v.duration:.2f} s  {v.status}"
        )
    return 0


def cmd_move_video(args: argparse.Namespace, ctx: Context) -> int:
    try:
        project = project_by_name(ctx.db, args.project)
    except NotFoundError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc
    moved = move_videos(ctx.db, args.video_ids, project.id)
    print(f"{moved} video(s) moved to project '{project.name}'")
    return 0


def cmd_relink(args: argparse.Namespace, ctx: Context) -> int:
    if args.search:
        if args.video_id is not None or args.path:
            raise UsageError("relink takes either VIDEO_ID PATH or --search FOLDER, not both.")
        found = relink_search(ctx.db, args.search)
        for video_id, path in found:
            print(f"video {video_id} now at {path}")
        if not found:
            print(f"no missing video found below {args.search}")
        return 0
    if args.video_id is None or not args.path:
        raise UsageError(
            "relink needs VIDEO_ID PATH, or --search FOLDER.", hint="See 'vru-desktop relink --help'."
        )
    video = relink(ctx.db, args.video_id, args.path)
    print(f"video {video.id} now at {video.file_path}")
    return 0


def cmd_doctor(args: argparse.Namespace, ctx: Context) -> int:
    report = run_doctor(ctx.db)
    for line in report.lines():
        print(line)
    return 0 if report.healthy else 1
