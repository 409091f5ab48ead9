"""Projects: a camera setup each. One project is the system default and exists from the first start."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from vru_desktop.errors import DuplicateError, NotFoundError, ValidationError
from vru_desktop.library.views import ProjectView
from vru_desktop.settings import USER_DEFAULT_PROJECT, get_setting, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import (
    DEFAULT_GT_COVERAGE,
    VRU_TYPES,
    Project,
    ProjectMember,
    ProjectStatus,
    Video,
)

DEFAULT_PROJECT_NAME = "Default"
REQUIRED_FIELDS = ("name", "camera_model", "camera_view", "signal_type")
CAMERA_VIEWS = ("front", "rear", "side", "overhead", "interior", "surround", "other")
SIGNAL_TYPES = ("video", "object list", "event", "alarm", "other")
LENS_TYPES = ("standard", "wide angle", "fisheye", "telephoto", "other")
PROJECT_STATUSES = tuple(ProjectStatus)


@dataclass
class ProjectFields:
    """The editable fields of a project, as a dialog or the CLI gives them."""

    name: str = ""
    description: str = ""
    camera_model: str = ""
    camera_view: str = ""
    lens_type: str = ""
    resolution: str = ""
    frame_rate: float | None = None
    signal_type: str = ""
    status: str = ProjectStatus.ACTIVE
    vru_classes: list[str] = field(default_factory=lambda: list(VRU_TYPES))
    #: Evaluation ignores boxes and detections whose centre lies in one of these polygons.
    ignore_regions: list[Any] = field(default_factory=list)
    #: Share of a video's frames to review before its ground truth counts (readiness), 0–1.
    gt_coverage: float = DEFAULT_GT_COVERAGE

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming every missing required field and every bad value."""
        missing = [name.replace("_", " ") for name in REQUIRED_FIELDS if not str(getattr(self, name)).strip()]
        problems = []
        if missing:
            problems.append("required: " + ", ".join(missing))
        if self.frame_rate is not None and not 0 < self.frame_rate <= 240:
            problems.append("frame rate must be between 0 and 240")
        if self.resolution and not _valid_resolution(self.resolution):
            problems.append("resolution must look like 1920x1080")
        if not self.vru_classes:
            problems.append("at least one VRU class is needed")
        problems.extend(_region_problems(self.ignore_regions))
        if not 0 < self.gt_coverage <= 1:
            problems.append("ground-truth coverage must be a share of the frames above 0 and at most 1")
        if problems:
            raise ValidationError("Project not saved: " + "; ".join(problems) + ".")

    @classmethod
    def of(cls, project: Project | ProjectView) -> ProjectFields:
        data = cls(**{f.name: getattr(project, f.name) for f in fields(cls)})
        data.vru_classes, data.ignore_regions = list(data.vru_classes), list(data.ignore_regions)
        return data


def _region_problems(regions: Any) -> list[str]:
    if not isinstance(regions, list):
        return ["ignore regions must be a list of polygons"]
    problems = []
    for number, polygon in enumerate(regions, start=1):
        points_ok = isinstance(polygon, list) and all(
            isinstance(point, list | tuple)
            and len(point) == 2
            and all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in point)
            for point in polygon
        )
        if not points_ok or len(polygon) < 3:
            problems.append(
                f"ignore region {number} must be at least three [x, y] pixel points with x, y >= 0"
            )
    return problems


def parse_ignore_regions(text: str) -> list[Any]:
    """Ignore regions from JSON text: ``[[[x, y], [x, y], [x, y], …], …]`` (empty text: none)."""
    if not text.strip():
        return []
    try:
        regions = json.loads(text)
    except RecursionError:
        raise ValidationError("Ignore regions are nested too deeply to be polygons.") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"Ignore regions are not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            hint="Write a list of polygons, each a list of [x, y] points: [[[0, 0], [400, 0], [400, 200]]].",
        ) from exc
    problems = _region_problems(regions)
    if problems:
        raise ValidationError("Ignore regions not accepted: " + "; ".join(problems) + ".")
    return [[[float(x), float(y)] for x, y in polygon] for polygon in regions]


def _valid_resolution(text: str) -> bool:
    parts = text.lower().replace(" ", "").split("x")
    return len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts)


def ensure_default_project(db: Database) -> Project:
    """The system default project, created on first start."""
    with db.transaction() as session:
        project = session.scalars(select(Project).where(Project.is_default.is_(True))).first()
        if project is None:
            project = Project(
                name=DEFAULT_PROJECT_NAME,
                description="Videos not assigned to a camera setup.",
                camera_model="unspecified",
                camera_view="other",
                signal_type="video",
                is_default=True,
            )
            if session.scalars(select(Project).where(Project.name == DEFAULT_PROJECT_NAME)).first():
                project.name = f"{DEFAULT_PROJECT_NAME} ({len(session.scalars(select(Project)).all())})"
            session.add(project)
            session.flush()
        return project


def list_projects(db: Database) -> list[Project]:
    with db.session() as session:
        return list(session.scalars(select(Project).order_by(Project.is_default.desc(), Project.name)))


def video_counts(db: Database) -> dict[int, int]:
    with db.session() as session:
        rows = session.execute(select(Video.project_id, func.count()).group_by(Video.project_id))
        return {pid: count for pid, count in rows if pid is not None}


def get_project(db: Database, project_id: int) -> Project:
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        return project


def video_ignore_regions(db: Database, video_id: int) -> tuple[int | None, list[Any]]:
    """The project a video is in now (``None``: none) and that project's ignore regions."""
    with db.session() as session:
        row = session.execute(
            select(Project.id, Project.ignore_regions)
            .join(Video, Video.project_id == Project.id)
            .where(Video.id == video_id)
        ).first()
        return (row.id, list(row.ignore_regions or [])) if row is not None else (None, [])


def set_ignore_regions(
    db: Database, project_id: int, regions: Sequence[Sequence[Sequence[float]]]
) -> list[Any]:
    """Store ``regions`` as the project's ignore regions, validated as the project form and the CLI
    validate them; the stored list is returned."""
    data = ProjectFields.of(get_project(db, project_id))
    data.ignore_regions = [[list(point) for point in polygon] for polygon in regions]
    return list(update_project(db, project_id, data).ignore_regions)


def find_project(session: Session, name: str) -> Project | None:
    return session.scalars(select(Project).where(func.lower(Project.name) == name.strip().lower())).first()


def project_by_name(db: Database, name: str) -> Project:
    with db.session() as session:
        project = find_project(session, name)
        if project is None:
            names = ", ".join(session.scalars(select(Project.name).order_by(Project.name)))
            raise NotFoundError(f"No project named '{name}'.", hint=f"Known projects: {names or 'none'}.")
        return project


def create_project(db: Database, data: ProjectFields) -> Project:
    data.validate()
    with db.transaction() as session:
        if find_project(session, data.name):
            raise DuplicateError(f"A project named '{data.name.strip()}' already exists.")
        values: dict[str, Any] = {f.name: getattr(data, f.name) for f in fields(data)}
        values["name"] = data.name.strip()
        project = Project(**values)
        session.add(project)
        session.flush()
        return project


def update_project(db: Database, project_id: int, data: ProjectFields) -> Project:
    data.validate()
    with db.transaction() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        other = find_project(session, data.name)
        if other is not None and other.id != project_id:
            raise DuplicateError(f"A project named '{data.name.strip()}' already exists.")
        for f in fields(data):
            setattr(project, f.name, getattr(data, f.name))
        project.name = data.name.strip()
        return project


def delete_project(db: Database, project_id: int) -> int:
    """Delete a project; its videos move to the default project. Returns how many moved."""
    default = ensure_default_project(db)
    with db.transaction() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        if project.is_default:
            raise ValidationError("The default project cannot be deleted.")
        moved = session.execute(
            update(Video).where(Video.project_id == project_id).values(project_id=default.id)
        ).rowcount
        session.delete(project)
    if get_setting(db, USER_DEFAULT_PROJECT) == project_id:
        set_setting(db, USER_DEFAULT_PROJECT, None)
    return int(moved or 0)


def move_videos(db: Database, video_ids: Sequence[int], project_id: int) -> int:
    """Put videos in another project, all or none. Returns how many changed project (a video already
    there is left as it is); :class:`NotFoundError` names a project or video that does not exist."""
    wanted = list(dict.fromkeys(int(v) for v in video_ids))
    with db.transaction() as session:
        if session.get(Project, project_id) is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        found = set(session.scalars(select(Video.id).where(Video.id.in_(wanted))))
        unknown = [str(v) for v in wanted if v not in found]
        if unknown:
            raise NotFoundError(
                f"No video with id {', '.join(unknown)} in the library; nothing was moved.",
                hint="List the videos with `vru-desktop videos`.",
            )
        moved = session.execute(
            update(Video)
            .where(Video.id.in_(wanted), or_(Video.project_id.is_(None), Video.project_id != project_id))
            .values(project_id=project_id)
        ).rowcount
    return int(moved or 0)


def set_project_members(db: Database, project_id: int, members: list[str] | None) -> None:
    """Restrict a project to ``members`` (database role names), or open it to everyone with None.

    A team server enforces it for every other role; there only the tables' owner (the team's
    administrator) may change members. A SQLite file has one user and records it only.
    """
    with db.transaction() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        if project.is_default and members is not None:
            raise ValidationError(
                "The default project cannot be restricted: it holds everyone's unsorted videos."
            )
        session.execute(delete(ProjectMember).where(ProjectMember.project_id == project_id))
        names = sorted({name.strip() for name in members or [] if name.strip()})
        session.add_all(ProjectMember(project_id=project_id, member=name) for name in names)
        project.restricted = members is not None


def project_members(db: Database, project_id: int) -> list[str] | None:
    """The roles a restricted project is open to, or None when every role sees it."""
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"Project {project_id} does not exist.")
        if not project.restricted:
            return None
        query = select(ProjectMember.member).where(ProjectMember.project_id == project_id)
        return list(session.scalars(query.order_by(ProjectMember.member)))
