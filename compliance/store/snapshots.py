"""Atomic snapshot replacement: a source's new records go in, and its old ones out, in one
transaction, or nothing changes at all. Also the delta between the two snapshots."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from compliance.sources.base import EntityRecord, ParsedList
from compliance.store.models import (
    CHILD_TABLES,
    Entity,
    EntityAddress,
    EntityBirthDate,
    EntityIdentifier,
    EntityName,
    EntityNationality,
    Snapshot,
    SourceRow,
)
from compliance.store.notify import notify_snapshot

SHRINK_LIMIT = 0.5  # a new snapshot under half the size of the current one needs --force


class ShrinkError(Exception):
    pass


@dataclass
class Delta:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
        }


@dataclass
class LoadResult:
    snapshot_id: int
    record_count: int
    previous_count: int | None
    delta: Delta


def now() -> datetime:
    return datetime.now(UTC)


def combined_sha256(files: list[dict[str, Any]]) -> str:
    """One checksum for a multi-file snapshot: sha256 over 'name:sha256' lines in file order."""
    joined = "\n".join(f"{f['name']}:{f['sha256']}" for f in files)
    return hashlib.sha256(joined.encode()).hexdigest()


def _plain(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else str(obj)


def record_hash(rec: EntityRecord) -> str:
    # Not asdict(rec): that deep-copies `raw`, which dominated the time of large updates.
    body = {f.name: getattr(rec, f.name) for f in fields(rec) if f.name != "raw"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=_plain).encode()).hexdigest()


def _lock_source(conn: Connection, key: str, title: str) -> None:
    """Serialise writers of one database: two updates never interleave.

    PostgreSQL: an advisory lock held to the end of the transaction. SQLite: the first
    statement is a write, so the write lock (waiting up to busy_timeout) is taken before
    anything is read; a read first could act on a state another writer is about to replace.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7223300)"))
    found = conn.execute(update(SourceRow).where(SourceRow.key == key).values(title=title))
    if not found.rowcount:
        conn.execute(insert(SourceRow).values(key=key, title=title))


def replace_snapshot(
    engine: Engine,
    key: str,
    title: str,
    parsed: ParsedList,
    files: list[dict[str, Any]],
    fetched_at: datetime,
    *,
    force: bool = False,
    data_date: str | None = None,
    data_date_from: str | None = None,
    reader: str | None = None,
) -> LoadResult:
    """`data_date` defaults to the date the files state (`parsed.data_date`), never the fetch
    date; `data_date_from` says where a date came from ("file", "http-last-modified")."""
    records = parsed.records
    if data_date is None and parsed.data_date:
        data_date, data_date_from = parsed.data_date, "file"
    with engine.begin() as conn:
        _lock_source(conn, key, title)
        current = conn.execute(
            select(SourceRow.current_snapshot_id).where(SourceRow.key == key)
        ).scalar()
        old_hashes = _current_hashes(conn, current)
        previous_count = len(old_hashes) if current is not None else None
        if (
            previous_count is not None
            and not force
            and len(records) < previous_count * SHRINK_LIMIT
        ):
            raise ShrinkError(
                f"would shrink the list from {previous_count:,} to {len(records):,} records "
                "(more than half gone); previous snapshot kept. Re-run with --force if the "
                "publisher really removed them"
            )
        new_hashes = {r.source_id: record_hash(r) for r in records}
        delta = _delta(old_hashes, new_hashes)
        snap_id = _insert_snapshot(
            conn, key, parsed, files, fetched_at, delta,
            data_date=data_date, data_date_from=data_date_from, reader=reader,
        )  # fmt: skip
        _insert_entities(conn, key, snap_id, records, new_hashes)
        if current is not None:
            _delete_snapshot_entities(conn, current)
            conn.execute(update(Snapshot).where(Snapshot.id == current).values(status="superseded"))
        conn.execute(
            update(SourceRow)
            .where(SourceRow.key == key)
            .values(
                current_snapshot_id=snap_id,
                last_attempt_at=fetched_at,
                last_status="ok",
                last_error=None,
            )
        )
        notify_snapshot(conn, key, snap_id)  # delivered at commit, with the snapshot
    return LoadResult(snap_id, len(records), previous_count, delta)


def _insert_snapshot(
    conn: Connection, key: str, parsed: ParsedList, files: list[dict[str, Any]],
    fetched_at: datetime, delta: Delta, *, data_date: str | None, data_date_from: str | None,
    reader: str | None,
) -> int:  # fmt: skip
    return int(
        conn.execute(
            insert(Snapshot).values(
                source=key,
                fetched_at=fetched_at,
                checked_at=fetched_at,
                data_date=data_date,
                data_date_from=data_date_from if data_date else None,
                reader=reader,
                sha256=combined_sha256(files),
                files=files,
                record_count=len(parsed.records),
                status="current",
                warnings=parsed.warnings[:1000],
                delta={"added": delta.added, "removed": delta.removed, "changed": delta.changed},
                meta=parsed.meta,
            )
        ).inserted_primary_key[0]
    )


def _current_hashes(conn: Connection, snapshot_id: int | None) -> dict[str, str]:
    """Entry id -> content hash of the current snapshot (empty when there is none)."""
    if snapshot_id is None:
        return {}
    rows = conn.execute(
        select(Entity.source_id, Entity.content_hash).where(Entity.snapshot_id == snapshot_id)
    )
    return {sid: h for sid, h in rows}


def _delta(old: dict[str, str], new: dict[str, str]) -> Delta:
    return Delta(
        added=sorted(k for k in new if k not in old),
        removed=sorted(k for k in old if k not in new),
        changed=sorted(k for k, h in new.items() if k in old and old[k] != h),
    )


def _next_id(conn: Connection, table: Any) -> int:
    return (conn.execute(select(func.max(table.id))).scalar() or 0) + 1


def _insert_entities(
    conn: Connection, key: str, snap_id: int, records: list[EntityRecord], hashes: dict[str, str]
) -> None:
    next_ids = {t: _next_id(conn, t) for t in (Entity, *CHILD_TABLES)}
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in next_ids}

    def add(table: Any, **values: Any) -> int:
        values["id"] = next_ids[table]
        next_ids[table] += 1
        rows[table].append(values)
        return values["id"]

    for rec in records:
        eid = add(
            Entity,
            snapshot_id=snap_id,
            source=key,
            source_id=rec.source_id,
            entity_type=rec.entity_type,
            name=rec.name,
            programs=rec.programs,
            lists=rec.lists,
            countries=rec.countries,
            remarks=rec.remarks,
            fields=rec.fields,
            raw=rec.raw,
            content_hash=hashes[rec.source_id],
        )
        for n in rec.names:
            add(
                EntityName,
                entity_id=eid,
                name=n.name,
                kind=n.kind,
                script=n.script,
                quality=n.quality,
            )
        for a in rec.addresses:
            add(EntityAddress, entity_id=eid, **asdict(a))
        for i in rec.identifiers:
            add(EntityIdentifier, entity_id=eid, **asdict(i))
        for d in rec.dates_of_birth:
            add(EntityBirthDate, entity_id=eid, date=d)
        for c in rec.nationalities:
            add(EntityNationality, entity_id=eid, country=c)
    for table in (Entity, *CHILD_TABLES):
        batch = rows[table]
        for start in range(0, len(batch), 5000):
            conn.execute(insert(table), batch[start : start + 5000])


def _delete_snapshot_entities(conn: Connection, snapshot_id: int) -> None:
    ids = select(Entity.id).where(Entity.snapshot_id == snapshot_id).scalar_subquery()
    for table in CHILD_TABLES:
        conn.execute(delete(table).where(table.entity_id.in_(ids)))
    conn.execute(delete(Entity).where(Entity.snapshot_id == snapshot_id))


def current_files(engine: Engine, key: str, reader: str | None) -> dict[str, dict[str, Any]]:
    """The current snapshot's file records (name, url, sha256, size, etag, last_modified) by
    file name; {} when the source has no snapshot or `reader` did not read it (a new program
    version or parser reads the same files again)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Snapshot.files, Snapshot.reader)
            .join(SourceRow, SourceRow.current_snapshot_id == Snapshot.id)
            .where(SourceRow.key == key)
        ).first()
    if row is None or row.reader != reader:
        return {}
    return {f["name"]: f for f in row.files or [] if f.get("name") and f.get("sha256")}


@dataclass
class CurrentSnapshot:
    snapshot_id: int | None
    record_count: int
    data_date: str | None
    data_date_from: str | None


def confirm_unchanged(
    engine: Engine, key: str, title: str, files: list[dict[str, Any]], at: datetime
) -> CurrentSnapshot:
    """The publisher still serves the current snapshot's files: note when that was seen (and
    the server's latest validators), and clear a failure recorded since; the entities stay."""
    with engine.begin() as conn:
        _lock_source(conn, key, title)
        snap = conn.execute(
            select(Snapshot.id, Snapshot.sha256, Snapshot.record_count, Snapshot.data_date,
                   Snapshot.data_date_from)
            .join(SourceRow, SourceRow.current_snapshot_id == Snapshot.id)
            .where(SourceRow.key == key)
        ).first()  # fmt: skip
        if snap is None:
            return CurrentSnapshot(None, 0, None, None)
        if snap.sha256 == combined_sha256(files):
            conn.execute(
                update(Snapshot).where(Snapshot.id == snap.id).values(checked_at=at, files=files)
            )
        conn.execute(
            update(SourceRow)
            .where(SourceRow.key == key)
            .values(last_attempt_at=at, last_status="ok", last_error=None)
        )
    return CurrentSnapshot(snap.id, snap.record_count, snap.data_date, snap.data_date_from)


def record_failure(
    engine: Engine, key: str, title: str, error: str, files: list[dict[str, Any]], at: datetime
) -> None:
    """Record a failed attempt without touching the current snapshot."""
    with engine.begin() as conn:
        _lock_source(conn, key, title)
        conn.execute(
            insert(Snapshot).values(
                source=key,
                fetched_at=at,
                files=files,
                sha256=combined_sha256(files) if files else None,
                record_count=0,
                status="failed",
                error=error,
                warnings=[],
                delta={},
                meta={},
            )
        )
        conn.execute(
            update(SourceRow)
            .where(SourceRow.key == key)
            .values(last_attempt_at=at, last_status="failed", last_error=error)
        )
