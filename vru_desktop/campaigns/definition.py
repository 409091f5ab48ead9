"""Campaigns in the database: create (freeze the video set), launch (queue or reuse runs), list, delete.

A campaign's videos are frozen at creation with their content fingerprint and reviewed-frame count.
Launching checks every video is still there with the same content, then gives each video a run:
its own run when it already has one, else a finished run of the same model SHA-256, result-relevant
configuration and video fingerprint (recorded as *reused*), else a new queued run through
:func:`~vru_desktop.detection.runs.create_run`, the queue ``detect`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vru_desktop.campaigns.requirements import parse_requirements
from vru_desktop.campaigns.scoring import DEFAULT_PROTOCOL, check_protocols
from vru_desktop.detection.models import file_sha256
from vru_desktop.detection.pipeline import RunConfig
from vru_desktop.detection.runs import RESUMABLE, create_run, requeue
from vru_desktop.errors import DuplicateError, NotFoundError, ValidationError
from vru_desktop.media.probe import fingerprint_file, probe
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    Campaign,
    CampaignVideo,
    DetectorModel,
    Project,
    ReviewedFrame,
    RunStatus,
    TestSession,
    Video,
    VideoStatus,
    utcnow,
)

#: Configuration keys that change what a run detects; runs that agree on them (and on the model and
#: the video) give the same boxes, so a campaign reuses such a run instead of computing it again.
RESULT_KEYS = ("conf", "iou", "imgsz", "stride", "device", "tracker", "rider_threshold", "stop_frame")
DEFAULT_PROTOCOLS = (DEFAULT_PROTOCOL,)


class CampaignStatus(StrEnum):
    """Where a campaign stands, from its runs' states."""

    #: Not launched yet.
    CREATED = "created"
    #: Runs queued or going.
    RUNNING = "running"
    #: Every run finished.
    COMPLETED = "completed"
    #: A run stopped, failed or was interrupted.
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class CampaignVideoState:
    """One video of a campaign as ``status`` shows it."""

    position: int
    video_id: int | None
    filename: str
    fingerprint: str
    reviewed_frames: int
    run_id: int | None
    run_status: str | None
    progress: float
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    model_id: int | None
    model_name: str
    model_sha256: str
    config: dict[str, Any]
    protocols: list[str]
    requirements: list[str]
    source: dict[str, Any]
    created_at: str
    launched_at: str | None
    videos: list[CampaignVideoState]

    @property
    def status(self) -> CampaignStatus:
        if self.launched_at is None:
            return CampaignStatus.CREATED
        states = [v.run_status for v in self.videos]
        if all(s == RunStatus.COMPLETED for s in states):
            return CampaignStatus.COMPLETED
        if any(s in (RunStatus.CREATED, RunStatus.RUNNING, RunStatus.PAUSED) for s in states):
            return CampaignStatus.RUNNING
        return CampaignStatus.INCOMPLETE

    @property
    def progress(self) -> float:
        if not self.videos:
            return 0.0
        return sum(1.0 if v.run_status == RunStatus.COMPLETED else v.progress for v in self.videos) / len(
            self.videos
        )

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "videos"}
        return out | {
            "status": self.status,
            "progress": self.progress,
            "videos": [v.to_dict() for v in self.videos],
        }


def result_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a run configuration that decides its detections (defaults filled in)."""
    full = RunConfig.from_dict(config).to_dict()
    return {k: full[k] for k in RESULT_KEYS}


def _video_problem(video: Video | None, fingerprint: str | None, label: str) -> str | None:
    """Why the video cannot be part of a run now (``None`` when it can)."""
    if video is None:
        return f"{label} was removed from the library"
    path = Path(video.file_path)
    if video.status != VideoStatus.OK or not path.exists():
        return f"{label} is missing at {path}; relink it to its file"
    current = (
        probe(path, fps=video.fps).fingerprint if video.kind == "image_sequence" else fingerprint_file(path)
    )
    if current != (fingerprint or video.fingerprint):
        return f"{label} at {path} has changed content (its fingerprint differs)"
    return None


def _reviewed_count(session: Any, video_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ReviewedFrame).where(ReviewedFrame.video_id == video_id)
        )
        or 0
    )


def create_campaign(
    db: Database,
    name: str,
    model_id: int,
    config: RunConfig,
    *,
    projects: list[str] | None = None,
    video_ids: list[int] | None = None,
    protocols: list[str] | None = None,
    requirements: list[str] | None = None,
) -> Campaign:
    """Freeze the video set (each video's fingerprint and reviewed-frame count) with the model and
    configuration. Everything is checked first; a refused campaign leaves nothing behind."""
    name = name.strip()
    if not name:
        raise ValidationError("A campaign needs a name.")
    config.validate()
    protocols = list(protocols or DEFAULT_PROTOCOLS)
    check_protocols(db, protocols)
    requirements = list(requirements or [])
    parse_requirements(requirements)
    if bool(projects) == bool(video_ids):
        raise ValidationError("Choose the campaign's videos: one or more projects, or a list of video ids.")
    with db.transaction() as session:
        if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
            raise DuplicateError(f"A campaign named '{name}' exists already.", hint="Choose another name.")
        model = session.get(DetectorModel, model_id)
        if model is None:
            raise NotFoundError(f"There is no model {model_id}.", hint="See 'vru-desktop models'.")
        if projects:
            videos = []
            for project_name in projects:
                project = session.scalar(select(Project).where(Project.name == project_name))
                if project is None:
                    raise NotFoundError(
                        f"No project named '{project_name}'.", hint="See 'vru-desktop projects'."
                    )
                videos += session.scalars(
                    select(Video).where(Video.project_id == project.id).order_by(Video.filename, Video.id)
                ).all()
        else:
            videos = []
            for vid in dict.fromkeys(video_ids or []):
                video = session.get(Video, vid)
                if video is None:
                    raise NotFoundError(f"There is no video {vid}.", hint="See 'vru-desktop videos'.")
                videos.append(video)
        if not videos:
            raise ValidationError(
                f"Campaign '{name}' would have no videos: the chosen projects are empty.",
                hint="Import videos into them first, or choose other projects.",
            )
        problems = [p for v in videos if (p := _video_problem(v, None, f"video {v.id} ({v.filename})"))]
        if problems:
            raise ValidationError("Cannot create the campaign: " + "; ".join(problems) + ".")
        campaign = Campaign(
            name=name,
            model_id=model.id,
            model_name=model.name,
            model_sha256=model.sha256,
            config=config.to_dict(),
            protocols=protocols,
            requirements=requirements,
            source={"projects": list(projects)} if projects else {"videos": [v.id for v in videos]},
        )
        session.add(campaign)
        session.flush()
        for position, video in enumerate(videos):
            session.add(
                CampaignVideo(
                    campaign_id=campaign.id,
                    video_id=video.id,
                    position=position,
                    filename=video.filename,
                    fingerprint=video.fingerprint,
                    reviewed_frames=_reviewed_count(session, video.id),
                )
            )
        session.flush()
        return campaign


def _find(session: Any, name: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.name == name))
    if campaign is None:
        raise NotFoundError(f"There is no campaign named '{name}'.", hint="See 'vru-desktop campaign list'.")
    return campaign


def _run_sha(run: TestSession, model: DetectorModel | None) -> str:
    return str(run.provenance.get("model_sha256") or (model.sha256 if model is not None else ""))


def _reusable_run(session: Any, video_id: int, sha: str, wanted: dict[str, Any]) -> int | None:
    """The newest completed run of this video with the same model SHA-256 and result configuration."""
    rows = session.execute(
        select(TestSession, DetectorModel)
        .outerjoin(DetectorModel, DetectorModel.id == TestSession.model_id)
        .where(TestSession.video_id == video_id, TestSession.status == RunStatus.COMPLETED)
        .order_by(TestSession.id.desc())
    ).all()
    for run, model in rows:
        if _run_sha(run, model) == sha and result_config(run.config or {}) == wanted:
            return int(run.id)
    return None


def launch_campaign(db: Database, name: str) -> list[int]:
    """Give every video of the campaign a run (its own, a reused finished one, or a new queued one);
    runs stopped, interrupted or failed are queued again. Returns the ids of the queued runs.

    Refused, with nothing changed, when a video is missing or its content changed, or the model
    is gone or its file changed."""
    with db.session() as session:
        campaign = _find(session, name)
        model = session.get(DetectorModel, campaign.model_id) if campaign.model_id is not None else None
        if model is None:
            raise NotFoundError(
                f"Campaign '{name}': its model {campaign.model_name} (sha256 {campaign.model_sha256[:12]}…) "
                "is no longer registered.",
                hint="Add the model file again with 'vru-desktop add-model'.",
            )
        if not Path(model.path).exists():
            raise NotFoundError(
                f"Campaign '{name}': the model file {model.path} is missing.",
                hint="Put it back or relink it.",
            )
        if file_sha256(Path(model.path)) != campaign.model_sha256:
            raise ValidationError(
                f"Campaign '{name}': the model file {model.path} has changed since the campaign was created.",
                hint="Create a new campaign for the new model.",
            )
        problems = []
        plan: list[tuple[int, int, int | None, str | None]] = []  # row id, video id, run id, run status
        for row in campaign.videos:
            video = session.get(Video, row.video_id) if row.video_id is not None else None
            run = session.get(TestSession, row.session_id) if row.session_id is not None else None
            if run is None or run.status != RunStatus.COMPLETED:
                label = f"video {row.video_id} ({row.filename})" if video else f"video ({row.filename})"
                problem = _video_problem(video, row.fingerprint, label)
                if problem:
                    problems.append(problem)
                    continue
            plan.append(
                (row.id, int(row.video_id or 0), run.id if run else None, run.status if run else None)
            )
        if problems:
            raise ValidationError(f"Cannot launch campaign '{name}': " + "; ".join(problems) + ".")
        wanted = result_config(campaign.config)
        config = RunConfig.from_dict(campaign.config)
        sha, model_id, campaign_id = campaign.model_sha256, model.id, campaign.id
        reuse = {
            row_id: _reusable_run(session, video_id, sha, wanted)
            for row_id, video_id, run_id, _ in plan
            if run_id is None
        }
    queued: list[int] = []
    for row_id, video_id, run_id, status in plan:
        if run_id is not None:
            if status in RESUMABLE:
                queued.append(requeue(db, run_id).id)
            elif status == RunStatus.CREATED:
                queued.append(run_id)
            continue
        reused = reuse[row_id]
        if reused is None:
            run_id = create_run(db, video_id, model_id, config).id
            queued.append(run_id)
        with db.transaction() as session:
            row = session.get(CampaignVideo, row_id)
            assert row is not None
            row.session_id = reused if reused is not None else run_id
            row.reused = reused is not None
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.launched_at = campaign.launched_at or utcnow()
    return queued


def queued_campaign_runs(db: Database, name: str) -> list[int]:
    """The campaign's runs waiting in the queue, in video order."""
    return [
        v.run_id
        for v in get_campaign(db, name).videos
        if v.run_id is not None and v.run_status == RunStatus.CREATED
    ]


def _info(session: Any, campaign: Campaign) -> CampaignInfo:
    states = []
    for row in campaign.videos:
        run = session.get(TestSession, row.session_id) if row.session_id is not None else None
        states.append(
            CampaignVideoState(
                position=row.position,
                video_id=row.video_id,
                filename=row.filename,
                fingerprint=row.fingerprint,
                reviewed_frames=row.reviewed_frames,
                run_id=row.session_id,
                run_status=run.status if run is not None else None,
                progress=run.progress if run is not None else 0.0,
                reused=row.reused,
            )
        )
    return CampaignInfo(
        id=campaign.id,
        name=campaign.name,
        model_id=campaign.model_id,
        model_name=campaign.model_name,
        model_sha256=campaign.model_sha256,
        config=dict(campaign.config),
        protocols=list(campaign.protocols),
        requirements=list(campaign.requirements),
        source=dict(campaign.source),
        created_at=campaign.created_at.isoformat(timespec="seconds"),
        launched_at=campaign.launched_at.isoformat(timespec="seconds") if campaign.launched_at else None,
        videos=states,
    )


def get_campaign(db: Database, name: str) -> CampaignInfo:
    with db.session() as session:
        return _info(session, _find(session, name))


def list_campaigns(db: Database) -> list[CampaignInfo]:
    with db.session() as session:
        return [_info(session, c) for c in session.scalars(select(Campaign).order_by(Campaign.id))]


def delete_campaign(db: Database, name: str) -> None:
    """Remove the campaign; its runs stay (they are ordinary runs of their videos)."""
    with db.transaction() as session:
        session.delete(_find(session, name))
