"""What every subcommand shares: the opened data folder, JSON output, a text progress bar, running a
detection run with it."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from vru_desktop.detection.executor import LOCAL, cluster_choice, cluster_module, execute
from vru_desktop.detection.pipeline import (
    Progress,
    RunCallbacks,
    RunConfig,
    RunControl,
    RunSummary,
    eta_text,
)
from vru_desktop.settings import Locations, configure_logging, resolve_database, resolve_locations
from vru_desktop.store.db import Database, open_database

TRUST_HELP = "load a .pt file even if it carries code beyond a YOLO checkpoint (remembered by SHA-256)"


class Context:
    """The data folder and database of this invocation; the database is opened on first use."""

    def __init__(self, data_dir: str | None, *, database: str | None = None, verbose: bool = False) -> None:
        self.locations: Locations = resolve_locations(data_dir).ensure()
        self.database = resolve_database(self.locations, database)
        configure_logging(self.locations, verbose=verbose)
        self._db: Database | None = None

    @cached_property
    def db(self) -> Database:
        from vru_desktop.library.projects import ensure_default_project

        self._db = open_database(self.database)
        ensure_default_project(self._db)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def finite_float(text: str) -> float:
    """The argparse type of every numeric option: a number, refusing ``nan`` and ``inf``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal; silent in pipes and tests)."""

    def __init__(self, label: str, *, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {detail[-40:]:40}"
        )
        self.stream.flush()
        if done >= total:
            self.stream.write("\n")


@contextmanager
def _stop_on_interrupt(control: RunControl) -> Iterator[None]:
    """Ctrl+C stops the run cleanly (what was computed is kept) instead of killing it."""

    def handler(_signum: int, _frame: Any) -> None:
        print("\nstopping after the current frames…", file=sys.stderr)
        control.stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_with_progress(ctx: Context, run_id: int, label: str, cluster: str = LOCAL) -> RunSummary:
    """Run ``run_id`` where ``cluster`` says, with a progress bar; Ctrl+C stops it and keeps what was done."""
    bar = ProgressBar(label)
    control = RunControl()

    def progress(p: Progress) -> None:
        bar.update(p.done, p.total, f"{p.fps:.1f} frames/s, {eta_text(p.eta_seconds)} left")

    with _stop_on_interrupt(control):
        return execute(
            ctx.db,
            run_id,
            ctx.locations,
            cluster=cluster,
            control=control,
            callbacks=RunCallbacks(progress=progress),
        )


def run_together(ctx: Context, run_ids: list[int], cluster: str) -> list[RunSummary]:
    """Run every run at once on ``cluster`` (which places them), with one progress bar over all;
    Ctrl+C stops them all and keeps what was done. Summaries in the order of ``run_ids``."""
    bar = ProgressBar(f"{len(run_ids)} runs on {cluster}")
    control = RunControl()
    done: dict[int, tuple[int, int]] = {}
    summaries: dict[int, RunSummary] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def progress(run_id: int, p: Progress) -> None:
        with lock:
            done[run_id] = (p.done, p.total)
            bar.update(sum(d for d, _ in done.values()), sum(t for _, t in done.values()))

    def one(run_id: int) -> None:
        try:
            callbacks = RunCallbacks(progress=lambda p: progress(run_id, p))
            summaries[run_id] = execute(
                ctx.db, run_id, ctx.locations, cluster=cluster, control=control, callbacks=callbacks
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(run_id,), name=f"vru-run-{run_id}") for run_id in run_ids]
    with _stop_on_interrupt(control):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # in short waits, so Ctrl+C is handled
                thread.join(0.2)
    if errors:
        raise errors[0]
    return [summaries[run_id] for run_id in run_ids]


def add_cluster_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        help="where runs go: local, ray (this machine's Ray) or a Ray address (default: detection.cluster)",
    )


def chosen_cluster(ctx: Context, cluster: str | None) -> str:
    """Where this command's runs go (``--cluster``, else the setting); a cluster is joined now, so one that
    cannot be reached is refused before anything is queued."""
    where = cluster_choice(ctx.db, cluster)
    if where != LOCAL:
        cluster_module().connect(where)
    return where


def run_summary_line(s: RunSummary) -> str:
    """One finished run in words (and its error on a second line)."""
    types = ", ".join(f"{k} {v}" for k, v in sorted(s.detections_by_type.items())) or "none"
    line = (
        f"run {s.session_id} (video {s.video_id}): {s.status}, {s.frames_processed} frames "
        f"({s.frames_failed} failed), {s.total_detections} detections ({types}), "
        f"{s.processing_time_seconds:.1f} s, {s.frames_per_second:.1f} frames/s"
    )
    return line + (f"\n  {s.error_message}" if s.error_message else "")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The model and detector settings of a run, as ``detect`` and ``campaign create`` take them."""
    from vru_desktop.detection.models import DEFAULT_MODEL_NAME
    from vru_desktop.detection.pipeline import DEVICES, TRACKERS

    p.add_argument("--model", default=DEFAULT_MODEL_NAME, help=f"model file (default {DEFAULT_MODEL_NAME})")
    p.add_argument("--trust-model", action="store_true", help=TRUST_HELP)
    defaults = RunConfig()
    p.add_argument("--conf", type=finite_float, default=defaults.conf, help="confidence threshold")
    p.add_argument("--iou", type=finite_float, default=defaults.iou, help="NMS IoU threshold")
    p.add_argument("--imgsz", type=int, default=defaults.imgsz, help="inference image size")
    p.add_argument("--stride", type=int, default=defaults.stride, help="process every Nth frame")
    p.add_argument("--stop-frame", type=int, help="process frames before this index only")
    p.add_argument("--batch", type=int, default=defaults.batch, help="frames per inference batch")
    p.add_argument("--device", choices=DEVICES, default=defaults.device)
    p.add_argument("--tracker", choices=TRACKERS, default=defaults.tracker, help="fill track ids")
    p.add_argument("--rider-threshold", type=finite_float, default=defaults.rider_threshold)
    p.add_argument("--commit-frames", type=int, default=defaults.commit_frames, help=argparse.SUPPRESS)


def run_config_from_args(args: argparse.Namespace) -> RunConfig:
    """The validated run configuration from the detector options ``detect`` and ``campaign create`` share."""
    config = RunConfig(
        conf=args.conf,
        iou=args.iou,
        imgsz=args.imgsz,
        stride=args.stride,
        device=args.device,
        tracker=args.tracker,
        batch=args.batch,
        rider_threshold=args.rider_threshold,
        stop_frame=args.stop_frame,
        commit_frames=args.commit_frames,
    )
    config.validate()
    return config
