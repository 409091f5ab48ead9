"""The data model (SQLAlchemy 2.0 typed models) on one SQLite file.

Conventions shared by every layer:

* A frame is its 0-based decode index in the video (``frame_number``); its time in seconds comes
  from the video's frame table (:class:`FrameIndex`), never from ``index / fps``.
* Boxes are pixel ``x1, y1, x2, y2`` floats in the video's native resolution.
* Tracks are stored materialised: one :class:`Annotation` row per frame a track is on. Rows the
  user placed are keyframes (``is_keyframe``); rows between two keyframes are linear
  interpolations and are rewritten when a keyframe moves. A keyframe with ``outside`` set ends the
  track; it is kept (for CVAT export) but is never a ground-truth box.
* Ground truth = validated annotations that are not outside, on frames listed in
  :class:`ReviewedFrame`.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from vru_desktop.paths import path_from_db, path_to_db

#: The VRU types: a new project's class list, which it may change (the viewer's keys 1–9 pick from it).
VRU_TYPES: tuple[str, ...] = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
#: Share of a video's frames that must be reviewed before its ground truth counts for readiness.
DEFAULT_GT_COVERAGE = 0.9


def utcnow() -> datetime:
    return datetime.now(UTC)


# Statuses are stored as their strings; a StrEnum member compares equal to its string, so rows
# written before these existed need no migration.


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class VideoStatus(StrEnum):
    """Whether the video's file is where the library expects it."""

    OK = "ok"
    MISSING = "missing"
    ERROR = "error"


class RunStatus(StrEnum):
    """A detection run's state: created (queued) → running ⇄ paused → completed | stopped | failed;
    interrupted when found running or paused after a crash."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ProcessingStatus(StrEnum):
    """A video's detection state: pending until a run is queued, then that of its latest run."""

    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


#: The processing status a video takes from the state of its run.
PROCESSING_STATUS_OF_RUN: dict[RunStatus, ProcessingStatus] = {
    RunStatus.CREATED: ProcessingStatus.QUEUED,
    RunStatus.RUNNING: ProcessingStatus.PROCESSING,
    RunStatus.PAUSED: ProcessingStatus.PAUSED,
    RunStatus.COMPLETED: ProcessingStatus.COMPLETED,
    RunStatus.STOPPED: ProcessingStatus.STOPPED,
    RunStatus.FAILED: ProcessingStatus.FAILED,
    RunStatus.INTERRUPTED: ProcessingStatus.INTERRUPTED,
}


class Review(StrEnum):
    """A person's decision on a detection in the viewer (``None``: still open)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


def connection_user(context: Any) -> str:
    """Who is writing: the connection's role on a server, the operating-system user on a file."""
    info = context.connection.info
    if "vru.user" not in info:
        if context.dialect.name == "postgresql":
            info["vru.user"] = context.connection.exec_driver_sql("SELECT current_user").scalar()
        else:
            try:
                info["vru.user"] = getpass.getuser()
            except (KeyError, OSError):  # a user id without a name (some containers)
                info["vru.user"] = ""
    return str(info["vru.user"])


#: ``created_by`` / ``updated_by``: a role or user name, filled on insert / update.
USER_NAME_LENGTH = 100


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class FilePath(TypeDecorator[str]):
    """A file path as text; one that is not valid UTF-8 is stored by :func:`~vru_desktop.paths.path_to_db`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else path_to_db(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else path_from_db(value)


class BoxMixin:
    """Pixel box ``x1, y1, x2, y2`` in the video's native resolution."""

    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)

    @property
    def bounding_box(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @bounding_box.setter
    def bounding_box(self, box: tuple[float, float, float, float]) -> None:
        self.x1, self.y1, self.x2, self.y2 = (float(v) for v in box)


class Project(Base):
    """A camera setup: the camera's fields from the specification, and its own VRU class list."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    camera_model: Mapped[str] = mapped_column(String(200), default="")
    camera_view: Mapped[str] = mapped_column(String(100), default="")
    lens_type: Mapped[str] = mapped_column(String(100), default="")
    resolution: Mapped[str] = mapped_column(String(50), default="")
    frame_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    signal_type: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(30), default=ProjectStatus.ACTIVE)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    #: VRU types offered in this project, in key order (1–9).
    vru_classes: Mapped[list[Any]] = mapped_column(JSON, default=lambda: list(VRU_TYPES))
    #: Ignore regions for evaluation: a list of polygons, each a list of ``[x, y]`` pixel points.
    ignore_regions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Reviewed frames / frames a video needs for its ground truth to count (readiness), 0–1.
    gt_coverage: Mapped[float] = mapped_column(Float, default=DEFAULT_GT_COVERAGE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    #: Only the roles in :class:`ProjectMember` see its rows (enforced by a PostgreSQL server).
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    videos: Mapped[list[Video]] = relationship(back_populates="project")


class ProjectMember(Base):
    """A database role that may see and change a restricted project's videos and everything on them."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(USER_NAME_LENGTH), primary_key=True)


class Video(Base):
    """A video file (or a folder of numbered frames, ``kind == "image_sequence"``) in the library.

    The file stays where it is; ``fingerprint`` (a content hash) finds it again after a move.
    """

    __tablename__ = "videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(500))
    file_path: Mapped[str] = mapped_column(FilePath)
    kind: Mapped[str] = mapped_column(String(20), default="file")  # file | image_sequence
    #: 64-bit on a server (files over 2 GiB); SQLite's INTEGER is 64-bit already.
    file_size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    fps: Mapped[float] = mapped_column(Float, default=0.0)
    frame_count: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    codec: Mapped[str] = mapped_column(String(50), default="")
    #: Presentation time of frame 0 in seconds (non-zero for some containers).
    start_time: Mapped[float] = mapped_column(Float, default=0.0)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=VideoStatus.OK)
    processing_status: Mapped[str] = mapped_column(String(20), default=ProcessingStatus.PENDING)
    ground_truth_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_source: Mapped[str] = mapped_column(String(100), default="")
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    project: Mapped[Project | None] = relationship(back_populates="videos")
    frame_index: Mapped[FrameIndex | None] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"

    __table_args__ = (Index("ix_videos_project_status", "project_id", "status"),)


class FrameIndex(Base):
    """A video's frame table: presentation time of every decoded frame, and its keyframes.

    ``times`` holds little-endian float64 seconds, one per frame in decode-index order;
    ``keyframes`` holds little-endian int32 frame indices of the keyframes (empty when unknown).
    """

    __tablename__ = "frame_index"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    frame_count: Mapped[int] = mapped_column(Integer)
    times: Mapped[bytes] = mapped_column(LargeBinary)
    keyframes: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    is_vfr: Mapped[bool] = mapped_column(Boolean, default=False)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    video: Mapped[Video] = relationship(back_populates="frame_index")


class DetectorModel(Base):
    """A detector model file the user added, with its checksum and class names."""

    __tablename__ = "detector_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(30))  # pt | onnx | openvino | tflite | engine
    #: Model class id (as a string key) → class name.
    class_names: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Model class name → VRU type, or ``None`` to ignore that class.
    class_map: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("path", name="uq_detector_models_path"),)


class TestSession(Base):
    """A detection run: one model over one video (the specification's test session).

    States: created (queued) → running ⇄ paused → completed | stopped | failed; a run found
    ``running`` or ``paused`` at start-up after a crash becomes ``interrupted`` and can be resumed
    from ``last_committed_frame + 1``.
    """

    __tablename__ = "test_sessions"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("detector_models.id", ondelete="SET NULL"), nullable=True
    )
    #: Run configuration (``RunConfig.to_dict()``): conf, iou, imgsz, stride, device, tracker, batch …
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The model's name (from queueing), its path, SHA-256, library versions and anything else needed
    #: to reproduce the run.
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.CREATED, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    last_committed_frame: Mapped[int] = mapped_column(Integer, default=-1)
    frames_processed: Mapped[int] = mapped_column(Integer, default=0)
    frames_failed: Mapped[int] = mapped_column(Integer, default=0)
    processing_time_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(USER_NAME_LENGTH), default=connection_user)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)

    video: Mapped[Video] = relationship()
    model: Mapped[DetectorModel | None] = relationship()
    statistics: Mapped[SessionStatistics | None] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


def run_model_name(model_name: str | None, provenance: dict[str, Any] | None) -> str:
    """The name a run's model is shown by: the model's current name (``model_name``, ``None`` once the
    model is removed), else the name the run recorded in its provenance when it was queued."""
    return model_name or str((provenance or {}).get("model_name") or "") or "(unknown model)"


class DetectionEvent(BoxMixin, Base):
    """One detected VRU on one frame of a run."""

    __tablename__ = "detection_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("test_sessions.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    frame_number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    vru_type: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float] = mapped_column(Float)
    class_name: Mapped[str] = mapped_column(String(100), default="")
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The vehicle box (bicycle, motorcycle …) associated with a rider: ``[x1, y1, x2, y2]``.
    vehicle_box: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    vehicle_class: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: Review decision in the viewer (:class:`Review`), ``None`` while open.
    review: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (
        # Covering: per-frame and per-type summaries of a run read the index only.
        Index(
            "ix_detection_events_session_frame_type", "session_id", "frame_number", "vru_type", "confidence"
        ),
        Index("ix_detection_events_video_frame", "video_id", "frame_number"),
    )


class Annotation(BoxMixin, Base):
    """A box a person drew, imported or accepted from a detection (linked via ``detection_event_id``)."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    detection_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("detection_events.id", ondelete="SET NULL"), nullable=True, index=True
    )
    frame_number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float, default=0.0)
    vru_type: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    validated: Mapped[bool] = mapped_column(Boolean, default=False)
    occluded: Mapped[bool] = mapped_column(Boolean, default=False)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: COCO "iscrowd": matched detections on it are neither TP nor FP.
    crowd: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Visible share of the box, 0…1 (``None``: not known; counts as fully visible).
    visibility: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The visible part ``[x1, y1, x2, y2]`` in the video's pixels, where the source has one.
    visible_box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    #: Occlusion level: 0 none, 1 partial, 2 heavy (``None``: derived from the visibility).
    occlusion: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    #: Share of the person outside the image, 0…1 (``None``: not known).
    truncation: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Caltech "ignore": a region that absorbs any detections (intersection over detection area).
    ignore: Mapped[bool] = mapped_column(Boolean, default=False)
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_keyframe: Mapped[bool] = mapped_column(Boolean, default=True)
    outside: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Where the box came from: manual, detection, import:coco, import:mot …
    source: Mapped[str] = mapped_column(String(50), default="manual")
    #: The import that brought the box in (removing the import removes its boxes).
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation_imports.id", ondelete="CASCADE"), nullable=True, index=True
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(USER_NAME_LENGTH), default=connection_user)
    updated_by: Mapped[str | None] = mapped_column(
        String(USER_NAME_LENGTH), default=connection_user, onupdate=connection_user
    )
    #: Raised by every write; an edit writes only where the row still has the version it read, so
    #: two people editing one box never lose a change silently.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}
    __table_args__ = (
        # Covering: the timeline, ground-truth and dataset summaries read the index only.
        Index(
            "ix_annotations_video_frame_cover", "video_id", "frame_number", "vru_type", "outside", "validated"
        ),
        Index("ix_annotations_video_track", "video_id", "track_id"),
    )


class AnnotationImport(Base):
    """One annotation import: what was read, its content fingerprint, when, and what it brought in."""

    __tablename__ = "annotation_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    format: Mapped[str] = mapped_column(String(30))
    #: The file or folder that was imported.
    source: Mapped[str] = mapped_column(Text)
    #: SHA-256 over the content of everything the import placed (not over file names or paths).
    fingerprint: Mapped[str] = mapped_column(String(64))
    ground_truth: Mapped[bool] = mapped_column(Boolean, default=True)
    #: How it met earlier imports of the same content: new | replace | append.
    mode: Mapped[str] = mapped_column(String(10), default="new")
    #: The class mapping used and what was left out and why.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(USER_NAME_LENGTH), default=connection_user)

    videos: Mapped[list[AnnotationImportVideo]] = relationship(
        back_populates="annotation_import", cascade="all, delete-orphan", passive_deletes=True
    )


class AnnotationImportVideo(Base):
    """What one import placed on one video: the content's fingerprint, its counts, the frames it
    marked reviewed (``[first, last]`` ranges of frames that were not reviewed before)."""

    __tablename__ = "annotation_import_videos"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("annotation_imports.id", ondelete="CASCADE"), primary_key=True
    )
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    boxes: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    tracks: Mapped[int] = mapped_column(Integer, default=0)
    crowd: Mapped[int] = mapped_column(Integer, default=0)
    reviewed: Mapped[list[Any]] = mapped_column(JSON, default=list)

    annotation_import: Mapped[AnnotationImport] = relationship(back_populates="videos")

    __table_args__ = (Index("ix_annotation_import_videos_video_fingerprint", "video_id", "fingerprint"),)


class ReviewedFrame(Base):
    """A frame a person has checked: only reviewed frames count as ground truth."""

    __tablename__ = "reviewed_frames"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    frame_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(USER_NAME_LENGTH), default=connection_user)


class VideoChange(Base):
    """One committed change of a video's boxes or review marks: what open viewers elsewhere follow.

    ``first_frame``–``last_frame`` are the frames it touched (``None``: any frame of the video).
    """

    __tablename__ = "video_changes"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    #: 1, 2, … per video in commit order (writers of a video take its row lock before writing one).
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_frame: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_frame: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_by: Mapped[str | None] = mapped_column(String(USER_NAME_LENGTH), default=connection_user)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConditionTag(Base):
    """A condition tag a project offers (day, night, rain, tunnel …) for its videos and frames."""

    __tablename__ = "condition_tags"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)


class VideoTag(Base):
    """A condition tag on a whole video: every frame of the video carries it."""

    __tablename__ = "video_tags"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class FrameTag(Base):
    """A condition tag on one frame (keyed so the frames of a video with a tag are one range scan)."""

    __tablename__ = "frame_tags"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    frame_number: Mapped[int] = mapped_column(Integer, primary_key=True)


class SessionStatistics(Base):
    """The specification's session statistics, cached per run and marked stale when inputs change."""

    __tablename__ = "session_statistics"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("test_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    total_annotations: Mapped[int] = mapped_column(Integer, default=0)
    total_detections: Mapped[int] = mapped_column(Integer, default=0)
    annotations_by_type: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detections_by_type: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detection_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    processing_time_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    frames_processed: Mapped[int] = mapped_column(Integer, default=0)
    frames_per_second: Mapped[float] = mapped_column(Float, default=0.0)
    #: Further metrics (precision, recall, F1 …) at the time of the last computation.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    session: Mapped[TestSession] = relationship(back_populates="statistics")


class DeviceEvent(Base):
    """An event from a camera under test's own detection log, for event-level validation."""

    __tablename__ = "device_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    timestamp: Mapped[float] = mapped_column(Float)
    vru_type: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)


class AppSetting(Base):
    """Key → JSON value of a setting declared in :data:`vru_desktop.settings.REGISTRY`."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Campaign(Base):
    """A frozen video set × one model configuration × the protocols to score, with requirements.

    The model is kept by its SHA-256 and name too, so the campaign still says what it ran after the
    model entry is removed. Deleting a campaign leaves its runs alone.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("detector_models.id", ondelete="SET NULL"), nullable=True
    )
    model_name: Mapped[str] = mapped_column(String(200))
    model_sha256: Mapped[str] = mapped_column(String(64))
    #: The run configuration (:class:`~vru_desktop.detection.pipeline.RunConfig` as a dict).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Names of the evaluation protocols to score, in order (the first is the primary one).
    protocols: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Pass/fail requirements as written (``"recall>=0.9"``).
    requirements: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: How the video set was chosen: ``{"projects": [...]}`` or ``{"videos": [...]}``.
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    videos: Mapped[list[CampaignVideo]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CampaignVideo.position",
    )


class CampaignVideo(Base):
    """One video of a campaign as frozen at creation: its fingerprint and reviewed-frame count, and
    the run that scores it (``reused`` when an earlier finished run matched)."""

    __tablename__ = "campaign_videos"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    #: ``None`` once the video was removed from the library (the campaign still lists it).
    video_id: Mapped[int | None] = mapped_column(
        ForeignKey("videos.id", ondelete="SET NULL"), nullable=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    reviewed_frames: Mapped[int] = mapped_column(Integer, default=0)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("test_sessions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    reused: Mapped[bool] = mapped_column(Boolean, default=False)

    campaign: Mapped[Campaign] = relationship(back_populates="videos")

    __table_args__ = (UniqueConstraint("campaign_id", "position", name="uq_campaign_videos_position"),)
