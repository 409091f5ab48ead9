"""Detection runs on a Ray cluster (setting ``detection.cluster``: ``ray`` or a Ray address).

One Ray task per run (one video), asking for the CPUs and GPUs the settings give. The task is a
streaming generator on a worker: it finds the video through the path mapping, checks its
fingerprint before decoding, runs the installed package's own detection code
(:func:`~vru_desktop.detection.pipeline.infer_frames`) and sends the frames' results back in
batches. This process alone writes the store: each batch is committed with the run's last committed
frame by the same code as a local run, so a lost worker loses no committed work; the task is then
submitted again from the frame after the last committed one (a tracking run replays the frames
before, as a local resume does). Pause and stop cancel the task within one poll; resuming submits it
again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

from vru_desktop import __version__
from vru_desktop.detection.models import (
    check_tracker_available,
    file_sha256,
    library_versions,
    load_model,
    model_trusted,
    record_class_names,
)
from vru_desktop.detection.pipeline import (
    FrameResult,
    RunCallbacks,
    RunConfig,
    RunControl,
    RunSummary,
    _ended,
    _keep_loaded,
    _model_sha,
    _Plan,
    _record_provenance,
    _Run,
    _take_loaded,
    infer_frames,
    run_sitting,
)
from vru_desktop.errors import ClusterError, MediaError, ModelError, VruError
from vru_desktop.media.frames import FrameTable
from vru_desktop.media.probe import content_fingerprint
from vru_desktop.settings import (
    CLUSTER_CPUS,
    CLUSTER_GPUS,
    CLUSTER_PATH_MAP,
    Locations,
    get_setting,
    resolve_locations,
)
from vru_desktop.store.db import Database
from vru_desktop.store.models import RunStatus, TestSession, Video

log = logging.getLogger(__name__)

#: How often the driver looks at pause and stop while it waits for a batch (seconds).
POLL_SECONDS = 0.2
#: A run fails after losing its worker this many times in a row without a batch coming back.
LOST_WORKER_RETRIES = 3
#: How long a Ray address may take to answer before it counts as unreachable (seconds).
CONNECT_TIMEOUT = 3.0

_connection_lock = threading.Lock()
_connected: str | None = None


# -- the cluster ------------------------------------------------------------------------------------


def connect(where: str) -> None:
    """Join the Ray instance ``where`` names (``ray``: this machine's, started when none runs);
    :class:`ClusterError` when it cannot be reached. A process joins one cluster in its life (Ray's
    client does not work again after leaving one); choosing another takes a restart."""
    global _connected
    with _connection_lock:
        if _connected == where and ray.is_initialized():
            return
        address = None if where == "ray" else where
        if address is not None:
            _check_reachable(address)
        if _connected is not None:
            raise ClusterError(
                f"VRU Desktop is joined to the Ray cluster {_connected}; it can use {where} after a restart.",
                hint="Restart the application (or run the command again); queued runs stay queued.",
            )
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:
            raise ClusterError(
                f"Cannot join the Ray cluster at {where}: {_first_line(exc)}",
                hint="Check detection.cluster (or --cluster); queued runs stay queued.",
            ) from exc
        _connected = where


def disconnect() -> None:
    """Leave the cluster (a Ray instance this process started stops); for the end of the process."""
    global _connected
    with _connection_lock:
        if ray.is_initialized():
            ray.shutdown()
        _connected = None


def _check_reachable(address: str) -> None:
    """Refuse an address nothing answers on at once (Ray itself would retry for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(
            f"{address} is not a Ray address.",
            hint="Use ray, host:port (the head's port, 6379 by default) or ray://host:10001.",
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ClusterError(
            f"Cannot reach the Ray cluster at {address}: {exc.strerror or exc}.",
            hint="Start it ('ray start --head') or correct detection.cluster; queued runs stay queued.",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class ClusterNode:
    node_id: str
    host: str
    cpus: float
    gpus: float


@dataclass(frozen=True)
class ClusterStatus:
    """The cluster as the Runs tab shows it: its live nodes and resources, and how many are in use."""

    address: str
    nodes: tuple[ClusterNode, ...]
    cpus: float
    gpus: float
    cpus_in_use: float
    gpus_in_use: float

    def text(self) -> str:
        gpus = f", GPUs {self.gpus_in_use:g}/{self.gpus:g} in use" if self.gpus else ""
        nodes = f"{len(self.nodes)} node{'s' if len(self.nodes) != 1 else ''}"
        return f"Ray cluster {self.address}: {nodes}, CPUs {self.cpus_in_use:g}/{self.cpus:g} in use{gpus}"


def cluster_status(where: str) -> ClusterStatus:
    """Join ``where`` and describe it."""
    connect(where)
    nodes = tuple(
        ClusterNode(
            node_id=n["NodeID"],
            host=n.get("NodeManagerHostname") or n["NodeManagerAddress"],
            cpus=float(n["Resources"].get("CPU", 0.0)),
            gpus=float(n["Resources"].get("GPU", 0.0)),
        )
        for n in ray.nodes()
        if n.get("Alive")
    )
    total, free = ray.cluster_resources(), ray.available_resources()
    return ClusterStatus(
        address=ray.get_runtime_context().gcs_address if where == "ray" else where,
        nodes=nodes,
        cpus=float(total.get("CPU", 0.0)),
        gpus=float(total.get("GPU", 0.0)),
        cpus_in_use=float(total.get("CPU", 0.0) - free.get("CPU", 0.0)),
        gpus_in_use=float(total.get("GPU", 0.0) - free.get("GPU", 0.0)),
    )


def worker_path(path: str, path_map: dict[str, str]) -> str:
    """``path`` as the workers see it: the longest mapped folder it lies in, replaced."""
    matches = [
        (local.rstrip("/"), remote)
        for local, remote in path_map.items()
        if path == local.rstrip("/") or path.startswith(local.rstrip("/") + "/")
    ]
    if not matches:
        return path
    local, remote = max(matches, key=lambda match: len(match[0]))
    return remote.rstrip("/") + path[len(local) :]


# -- the worker's side --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterTask:
    """What a worker needs to process frames ``start … end`` of one run's video."""

    session_id: int
    video_path: str
    video_kind: str
    fingerprint: str
    fps: float
    table: FrameTable | None
    model_path: str
    model_sha256: str
    trusted: bool
    config: RunConfig
    start: int
    end: int
    version: str


@dataclass(frozen=True)
class WorkerInfo:
    """The first item a task sends: where it runs and the model it loaded."""

    node_id: str
    host: str
    pid: int
    model_format: str
    names: dict[str, str]
    libraries: dict[str, str]

    def where(self) -> str:
        return f"{self.host} ({self.node_id[:8]})"


def detect_on_worker(task: ClusterTask) -> Iterator[WorkerInfo | list[FrameResult]]:
    """The Ray task's body: check the video and the model, then yield the frames' results in batches
    (at most ``commit_frames`` frames, at least every ``commit_seconds``)."""
    host = socket.gethostname()
    if task.version != __version__:
        raise ClusterError(
            f"The worker on {host} has vru-desktop {__version__}, this application {task.version}.",
            hint="Install the same version on every node of the cluster.",
        )
    video = Path(task.video_path)
    if not video.exists():
        raise MediaError(
            f"{video} does not exist on the worker {host}.",
            hint="Map the videos' folder in detection.cluster_path_map to where the workers see it.",
        )
    if content_fingerprint(video, task.video_kind, task.fps) != task.fingerprint:
        raise MediaError(
            f"{video} on the worker {host} is not the video in the library (its fingerprint differs); "
            "it was not decoded.",
            hint="Check detection.cluster_path_map, or relink the video.",
        )
    model_path = Path(task.model_path)
    if not model_path.exists():
        raise ModelError(
            f"The model {model_path} does not exist on the worker {host}.",
            hint="Map the models' folder in detection.cluster_path_map to where the workers see it.",
        )
    if file_sha256(model_path) != task.model_sha256:
        raise ModelError(
            f"The model {model_path} on the worker {host} differs from this application's (SHA-256).",
            hint="Copy the same model file to the workers.",
        )
    config = task.config
    tracking = config.tracker != "none"
    key = (str(model_path), task.model_sha256, config.device)
    model = None if tracking else _take_loaded(key)
    if model is None:
        if tracking:
            check_tracker_available()
        model = load_model(
            model_path, resolve_locations().ensure(), device=config.device, trusted=task.trusted
        )
    yield WorkerInfo(
        node_id=ray.get_runtime_context().get_node_id(),
        host=host,
        pid=os.getpid(),
        model_format=model.format,
        names={str(k): v for k, v in model.names.items()},
        libraries=library_versions(),
    )
    pending: list[FrameResult] = []
    sent = time.monotonic()
    batches = infer_frames(model, video, task.video_kind, task.table, config, task.start, task.end)
    try:
        for results in batches:
            pending.extend(r for r in results if r.index >= task.start)
            due = time.monotonic() - sent >= config.commit_seconds
            if pending and (due or len(pending) >= config.commit_frames):
                yield pending
                pending, sent = [], time.monotonic()
    finally:
        batches.close()
    if pending:
        yield pending
    if not tracking:  # a tracker keeps per-video state in the model: never reuse that one
        _keep_loaded(key, model)


# -- this application's side --------------------------------------------------------------------------


def execute_on_cluster(
    db: Database,
    session_id: int,
    locations: Locations,
    where: str,
    *,
    control: RunControl | None = None,
    callbacks: RunCallbacks | None = None,
) -> RunSummary:
    """Run (or continue) a run on the cluster ``where``; like :func:`execute_run` otherwise.

    A cluster that cannot be reached raises :class:`ClusterError` before the run changes (it stays
    queued)."""
    connect(where)
    return run_sitting(
        db,
        session_id,
        lambda plan, control, callbacks: _Remote(db, plan, control, callbacks).run(),
        control=control,
        callbacks=callbacks,
    )


class _Remote:
    """One sitting of a run on the cluster: submits the task, commits its batches, resubmits it."""

    def __init__(self, db: Database, plan: _Plan, control: RunControl, callbacks: RunCallbacks) -> None:
        self.db = db
        self.plan = plan
        self.control = control
        self.callbacks = callbacks
        self.sitting = _Run(db, plan, control, callbacks)
        self.start = plan.start_frame
        self.losses = 0
        self.described = False
        self.sha = ""

    def run(self) -> tuple[RunStatus, str | None]:
        self.sha = _model_sha(self.plan)
        task = self._task(self.sha)
        cpus = int(get_setting(self.db, CLUSTER_CPUS))
        gpus = max(int(get_setting(self.db, CLUSTER_GPUS)), 1 if self.plan.config.device == "cuda" else 0)
        _check_resources(cpus, gpus)
        remote = ray.remote(detect_on_worker).options(
            num_returns="streaming",
            num_cpus=cpus,
            num_gpus=gpus,
            max_retries=0,
            name=f"vru-run-{self.plan.session_id}",
        )
        try:
            while self.start < self.plan.end_frame:
                if self.control.paused and not self.control.stopped:
                    self.sitting.pause()
                if self.control.stopped:
                    return _ended(self.db, self.plan, self.sitting, RunStatus.STOPPED)
                if self._follow(remote.remote(replace(task, start=self.start))):
                    break
        finally:
            self.sitting.commit()
        return _ended(self.db, self.plan, self.sitting, RunStatus.COMPLETED)

    def _task(self, sha: str) -> ClusterTask:
        path_map = get_setting(self.db, CLUSTER_PATH_MAP)
        with self.db.session() as session:
            video = session.get(Video, self.plan.video_id)
            assert video is not None
            fingerprint, fps = video.fingerprint, video.fps
        return ClusterTask(
            session_id=self.plan.session_id,
            video_path=worker_path(str(self.plan.video_path), path_map),
            video_kind=self.plan.video_kind,
            fingerprint=fingerprint,
            fps=fps,
            table=self.plan.table,
            model_path=worker_path(str(self.plan.model_path), path_map),
            model_sha256=sha,
            trusted=model_trusted(self.db, sha),
            config=self.plan.config,
            start=self.start,
            end=self.plan.end_frame,
            version=__version__,
        )

    def _follow(self, stream: Any) -> bool:
        """Take the task's items until it ends (``True``) or pause or stop cancels it (``False``).
        A lost worker counts as an interruption, until it happened too often in a row."""
        finished = False
        try:
            while not (self.control.paused or self.control.stopped):
                ready, _ = ray.wait([stream], timeout=POLL_SECONDS)
                if not ready:
                    continue
                try:
                    item = ray.get(next(stream))
                except StopIteration:
                    finished = True
                    return True
                self._take(item)
            return False
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, VruError):
                finished = True
                raise exc.cause from None
            self._lost(exc.cause or exc)
            return False
        except ray.exceptions.RayError as exc:
            self._lost(exc)
            return False
        finally:
            if not finished:
                ray.cancel(stream)

    def _take(self, item: WorkerInfo | list[FrameResult]) -> None:
        if isinstance(item, WorkerInfo):
            self._placed(item)
            return
        self.sitting.record(item)
        self.sitting.commit()
        self.start = item[-1].index + self.plan.config.stride
        self.losses = 0

    def _placed(self, info: WorkerInfo) -> None:
        if not self.described:
            self.plan.class_map = record_class_names(self.db, self.plan.model_id, info.names)
            _record_provenance(self.db, self.plan, self.sha, info.model_format, info.names, info.libraries)
            self.described = True
        with self.db.transaction() as session:
            run = session.get(TestSession, self.plan.session_id)
            assert run is not None
            worker = {"node_id": info.node_id, "host": info.host, "pid": info.pid, "from_frame": self.start}
            run.provenance = {**run.provenance, "worker": worker}
        self.callbacks.placed(info.where())

    def _lost(self, error: BaseException) -> None:
        self.losses += 1
        if self.losses > LOST_WORKER_RETRIES:
            raise ClusterError(
                f"Run {self.plan.session_id} lost its worker {self.losses} times in a row: "
                f"{_first_line(error)}",
                hint="Check the cluster's nodes ('ray status'), then resume the run.",
            )
        log.warning(
            "run %s: worker lost (%s); again from frame %s",
            self.plan.session_id,
            _first_line(error),
            self.start,
        )


def _check_resources(cpus: int, gpus: int) -> None:
    """Refuse a request no live node can meet (Ray would wait for such a node for ever)."""
    for node in ray.nodes():
        have = node.get("Resources", {})
        if node.get("Alive") and have.get("CPU", 0) >= cpus and have.get("GPU", 0) >= gpus:
            return
    raise ClusterError(
        f"No node of the cluster has {cpus} CPUs and {gpus} GPUs free for one task.",
        hint="Lower detection.cluster_cpus or detection.cluster_gpus, or add such a node.",
    )
