"""What the store holds now, per source: its status (records, the list's own date, when
fetched, the checksum, the last error), the current snapshot ids, a snapshot's list-wide facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from compliance.store.models import Snapshot, SourceRow


@dataclass
class SourceStatus:
    source: str
    title: str
    records: int
    data_date: str | None  # only where the files or the server state one; never the fetch date
    fetched_at: str | None
    sha256: str | None
    status: str
    snapshot_id: int | None
    last_error: str | None
    last_attempt_at: str | None
    data_date_from: str | None = None  # "file" | "http-last-modified" | None
    checked_at: str | None = None  # last time an update found the same files (or fetched them)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def source_statuses(engine: Engine) -> list[SourceStatus]:
    out = []
    with engine.connect() as conn:
        srcs = conn.execute(select(SourceRow).order_by(SourceRow.key)).all()
        for s in srcs:
            snap = None
            if s.current_snapshot_id is not None:
                snap = conn.execute(
                    select(Snapshot).where(Snapshot.id == s.current_snapshot_id)
                ).first()
            if snap is None:
                status = "failed" if s.last_status == "failed" else "empty"
            else:
                status = "ok" if s.last_status == "ok" else "stale (last update failed)"
            out.append(
                SourceStatus(
                    source=s.key,
                    title=s.title,
                    records=snap.record_count if snap else 0,
                    data_date=snap.data_date if snap else None,
                    fetched_at=snap.fetched_at.isoformat(timespec="seconds") if snap else None,
                    sha256=snap.sha256 if snap else None,
                    status=status,
                    snapshot_id=snap.id if snap else None,
                    last_error=s.last_error,
                    last_attempt_at=_iso(s.last_attempt_at),
                    data_date_from=snap.data_date_from if snap else None,
                    checked_at=_iso(snap.checked_at) if snap else None,
                )
            )
    return out


def current_snapshot_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            k: sid
            for k, sid in conn.execute(select(SourceRow.key, SourceRow.current_snapshot_id))
            if sid is not None
        }


def current_meta(engine: Engine, key: str) -> dict[str, Any]:
    """What the current snapshot of a source said about the list as a whole ({} if none)."""
    with engine.connect() as conn:
        meta = conn.execute(
            select(Snapshot.meta)
            .join(SourceRow, SourceRow.current_snapshot_id == Snapshot.id)
            .where(SourceRow.key == key)
        ).scalar()
    return meta or {}
