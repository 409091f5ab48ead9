"""``db copy``: move a library to another database (a local file to a team server).

Tables are copied parent before child, in primary-key order, in batches that each commit on their
own. Running it again copies only the rows past the last one already there, so an interrupted copy
resumes and a finished one changes nothing. At the end every table's row count must match.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Integer, Table, func, insert, select, text, tuple_

from vru_desktop.errors import StoreError
from vru_desktop.settings import LIBRARY_ID, get_setting, set_setting
from vru_desktop.store.db import Database
from vru_desktop.store.models import AppSetting, Base

BATCH_ROWS = 5000

#: Called after each committed batch with (table name, rows of that table copied so far by this run).
Progress = Callable[[str, int], None]


@dataclass
class CopyReport:
    #: Table name → (rows in the source, rows copied by this run).
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def copied(self) -> int:
        return sum(copied for _, copied in self.tables.values())

    def lines(self) -> list[str]:
        return [
            f"{name:26} {total:9} rows, {copied:9} copied now"
            for name, (total, copied) in self.tables.items()
        ]


def library_id(db: Database) -> str:
    """This library's id, made on first use."""
    value = get_setting(db, LIBRARY_ID)
    if value is None:
        value = uuid.uuid4().hex
        set_setting(db, LIBRARY_ID, value)
    return str(value)


def copy_database(
    source: Database, target: Database, *, batch_rows: int = BATCH_ROWS, progress: Progress | None = None
) -> CopyReport:
    """Copy every row of ``source`` that ``target`` lacks; :class:`StoreError` when ``target`` holds
    another library or the counts differ afterwards."""
    identity = library_id(source)
    _claim(target, identity)
    report = CopyReport()
    for table in Base.metadata.sorted_tables:
        copied = _copy_table(source, target, table, batch_rows, progress)
        report.tables[table.name] = (_count(source, table), copied)
    if target.engine.dialect.name == "postgresql":
        _advance_sequences(target)
    differ = [
        f"{name} {total} here, {_count(target, Base.metadata.tables[name])} there"
        for name, (total, _) in report.tables.items()
        if _count(target, Base.metadata.tables[name]) != total
    ]
    if differ:
        raise StoreError(
            f"The copy does not match the source: {'; '.join(differ)}.",
            hint="Rows were changed or removed here after an earlier copy; copy into a new, empty database.",
        )
    return report


def _claim(target: Database, identity: str) -> None:
    """Mark ``target`` as a copy of this library, refusing one that holds anything else."""
    found = get_setting(target, LIBRARY_ID)
    if found == identity:
        return
    non_empty = [t.name for t in Base.metadata.sorted_tables if _count(target, t)]
    if found is not None or non_empty:
        raise StoreError(
            "The target database already holds another library.",
            hint="Copy into a new, empty database (createdb NAME on the server).",
        )
    with target.transaction() as session:
        session.add(AppSetting(key=LIBRARY_ID, value=identity))


def _count(db: Database, table: Table) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _copy_table(
    source: Database, target: Database, table: Table, batch_rows: int, progress: Progress | None
) -> int:
    key = list(table.primary_key.columns)
    query = select(table).order_by(*key)
    present: set[tuple[Any, ...]] = set()
    with target.engine.connect() as conn:
        if all(isinstance(c.type, Integer) for c in key):
            # Copied in key order, so what is there is a prefix: continue after its last row.
            last = conn.execute(select(*key).order_by(*(c.desc() for c in key)).limit(1)).first()
            if last is not None:
                query = query.where(tuple_(*key) > tuple_(*last) if len(key) > 1 else key[0] > last[0])
        else:  # text keys sort differently on each side: skip the keys already there (a small table)
            present = {tuple(row) for row in conn.execute(select(*key))}
    dates = [c.name for c in table.columns if isinstance(c.type, DateTime)]
    copied = 0
    with source.engine.connect() as reader:
        rows = reader.execution_options(yield_per=batch_rows).execute(query).mappings()
        for batch in rows.partitions(batch_rows):
            values = [
                _as_written(dict(row), dates)
                for row in batch
                if tuple(row[c.name] for c in key) not in present
            ]
            if not values:
                continue
            with target.engine.begin() as writer:
                if writer.dialect.name == "postgresql":
                    _copy_rows(writer, table, values)
                else:
                    writer.execute(insert(table), values)
            copied += len(values)
            if progress is not None:
                progress(table.name, copied)
    return copied


def _copy_rows(writer: Connection, table: Table, values: list[dict[str, Any]]) -> None:
    """The rows through PostgreSQL's COPY: about ten times the speed of an INSERT per row."""
    from psycopg.types.json import Json

    names = [c.name for c in table.columns]
    json_names = {c.name for c in table.columns if isinstance(c.type, JSON)}
    columns = ", ".join(f'"{name}"' for name in names)
    cursor = writer.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in values:
            copy.write_row([Json(row[n]) if n in json_names else row[n] for n in names])


def _as_written(row: dict[str, Any], dates: list[str]) -> dict[str, Any]:
    """SQLite hands back its UTC times without a zone; name it, so a server does not read local time."""
    for name in dates:
        value = row[name]
        if isinstance(value, datetime) and value.tzinfo is None:
            row[name] = value.replace(tzinfo=UTC)
    return row


def _advance_sequences(target: Database) -> None:
    """Ids copied as they were; the server's id sequences continue after the largest."""
    with target.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            if len(key) != 1 or not key[0].autoincrement or key[0].name != "id":
                continue
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) FROM {table.name} "
                    "HAVING max(id) IS NOT NULL"
                )
            )
