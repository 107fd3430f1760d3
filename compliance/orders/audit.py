"""Audit trail: each check run (input checksum, list snapshots, thresholds, counts) and its
per-line decisions, stored in the database; listed and exported by `compliance audit`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from compliance.orders.models import CheckLine, CheckRun
from compliance.orders.reasons import LineResult, reason_from_dict
from compliance.orders.writer import escape_formula, reasons_text
from compliance.store.models import Snapshot, SourceRow

BATCH = 2000


def snapshot_info(engine: Engine, lists: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The current snapshot of each loaded source: id, data date, checksum, fetch time."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                SourceRow.key, Snapshot.id, Snapshot.data_date, Snapshot.sha256, Snapshot.fetched_at
            )
            .join(Snapshot, Snapshot.id == SourceRow.current_snapshot_id)
            .order_by(SourceRow.key)
        ).all()
    return {
        key: {
            "snapshot_id": sid,
            "data_date": data_date,
            "sha256": sha,
            "fetched_at": fetched.isoformat(timespec="seconds") if fetched else None,
        }
        for key, sid, data_date, sha, fetched in rows
        if not lists or key in lists
    }


def lists_as_of(snapshots: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Source -> the date its files state, else "fetched YYYY-MM-DD" (the source states no
    date, so the day it was downloaded is all there is, and it is labelled as such)."""
    return {
        k: v.get("data_date")
        or (f"fetched {v['fetched_at'][:10]}" if v.get("fetched_at") else None)
        for k, v in snapshots.items()
    }


def start_run(engine: Engine, **values: Any) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(CheckRun).values(started_at=datetime.now(UTC), status="running", **values)
            ).inserted_primary_key[0]
        )


class LineSink:
    """Buffers per-line decisions and inserts them in batches."""

    def __init__(self, engine: Engine, run_id: int) -> None:
        self.engine = engine
        self.run_id = run_id
        self._buf: list[dict[str, Any]] = []

    def add(self, r: LineResult) -> None:
        self._buf.append(
            {
                "run_id": self.run_id,
                "line": r.line,
                "order_id": r.order_id[:200],
                "decision": r.decision,
                "reasons": r.reasons_dicts(),
                "parties": r.parties,
                "item": r.item or None,
                "destination": r.destination or None,
            }
        )
        if len(self._buf) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            with self.engine.begin() as conn:
                conn.execute(insert(CheckLine), self._buf)
            self._buf = []


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    line_count: int,
    counts: dict[str, int],
    error: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(CheckRun)
            .where(CheckRun.id == run_id)
            .values(
                finished_at=datetime.now(UTC),
                status=status,
                line_count=line_count,
                counts=counts,
                error=error,
            )
        )


def list_runs(engine: Engine, limit: int = 50) -> list[CheckRun]:
    with engine.connect() as conn:
        rows = conn.execute(select(CheckRun).order_by(CheckRun.id.desc()).limit(limit)).all()
    return [CheckRun.model_validate(r._mapping) for r in rows]


def get_run(engine: Engine, run_id: int) -> CheckRun | None:
    with engine.connect() as conn:
        row = conn.execute(select(CheckRun).where(CheckRun.id == run_id)).first()
    return CheckRun.model_validate(row._mapping) if row else None


def iter_lines(engine: Engine, run_id: int, page: int = 5000) -> Iterator[CheckLine]:
    """A run's lines in input order, a page at a time (memory stays flat)."""
    after = -1
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(CheckLine)
                .where(CheckLine.run_id == run_id, CheckLine.line > after)
                .order_by(CheckLine.line)
                .limit(page)
            ).all()
        if not rows:
            return
        for r in rows:
            yield CheckLine.model_validate(r._mapping)
        after = rows[-1].line


def run_to_dict(run: CheckRun) -> dict[str, Any]:
    d = run.model_dump()
    for k in ("started_at", "finished_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat(timespec="seconds")
    return d


def export_run(engine: Engine, run_id: int, path: str | Path, fmt: str | None = None) -> int:
    """Write the run's per-line decisions (CSV or JSONL, by extension); returns lines written."""
    p = Path(path)
    kind = fmt or ("jsonl" if p.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    n = 0
    with p.open("w", encoding="utf-8", newline="") as f:
        if kind == "jsonl":
            for ln in iter_lines(engine, run_id):
                f.write(json.dumps(_line_dict(run_id, ln), ensure_ascii=False) + "\n")
                n += 1
        else:
            w = csv.writer(f)
            w.writerow(
                [
                    "run_id",
                    "line",
                    "order_id",
                    "decision",
                    "item",
                    "destination",
                    "parties",
                    "reasons",
                ]
            )
            for ln in iter_lines(engine, run_id):
                parties = "; ".join(f"{p['role']}={p['name']}" for p in ln.parties)
                cells = [
                    str(run_id),
                    str(ln.line),
                    ln.order_id,
                    ln.decision,
                    ln.item or "",
                    ln.destination or "",
                    parties,
                    reasons_text([reason_from_dict(r) for r in ln.reasons]),
                ]
                w.writerow([escape_formula(c) for c in cells])
                n += 1
    return n


def _line_dict(run_id: int, ln: CheckLine) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "line": ln.line,
        "order_id": ln.order_id,
        "decision": ln.decision,
        "item": ln.item,
        "destination": ln.destination,
        "parties": ln.parties,
        "reasons": ln.reasons,
    }
