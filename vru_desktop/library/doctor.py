"""``doctor``: check the database and repair what the specification's migration names."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, text, update

from vru_desktop.library.importer import refresh_status
from vru_desktop.library.projects import ensure_default_project
from vru_desktop.store.db import Database
from vru_desktop.store.models import Video


@dataclass
class DoctorReport:
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"problem: {p}" for p in self.problems] + [f"repaired: {r}" for r in self.repairs]
        return out or ["ok: database healthy, nothing to repair"]


def run_doctor(db: Database) -> DoctorReport:
    """Integrity and foreign-key checks; orphan videos move to the default project; missing files marked."""
    report = DoctorReport()
    if db.engine.dialect.name == "sqlite":  # a server checks its pages and foreign keys itself
        with db.engine.connect() as conn:
            integrity = [row[0] for row in conn.execute(text("PRAGMA integrity_check"))]
            if integrity != ["ok"]:
                report.problems.extend(f"integrity: {line}" for line in integrity)
            for table, rowid, parent, _ in conn.execute(text("PRAGMA foreign_key_check")):
                report.problems.append(f"row {rowid} of {table} points at a missing {parent} row")
    default = ensure_default_project(db)
    with db.transaction() as session:
        orphans = list(session.scalars(select(Video.id).where(Video.project_id.is_(None))))
        if orphans:
            session.execute(update(Video).where(Video.id.in_(orphans)).values(project_id=default.id))
            report.repairs.append(f"{len(orphans)} video(s) without a project moved to '{default.name}'")
    missing = refresh_status(db)
    if missing:
        report.repairs.append(
            f"{len(missing)} video file(s) not found, marked missing (ids {', '.join(map(str, missing))}); "
            "use Relink to find them"
        )
    return report
