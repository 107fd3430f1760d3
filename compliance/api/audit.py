"""The service's screening audit trail, written off the request path and never lost.

A request only builds its row and puts it on a bounded queue. One thread per process takes
what has queued, up to BATCH rows, and inserts them in one transaction. When the database
refuses (locked, missing table, disk full) the rows are kept and the write is tried again,
with a growing pause; nothing is dropped. When the queue is full, a request waits for room
(the event loop awaits it in a thread, so other requests go on). Rows still unwritten when
the process stops are saved to a JSON-lines file in the spill folder, and the next writer on
the same database inserts them before anything else.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from compliance.api.models import ScreeningAudit

log = logging.getLogger("compliance.api")
BATCH = 1000
MAX_PAUSE = 5.0  # seconds between tries while the database refuses


def summarize(result: Any) -> list[dict[str, Any]]:
    """Each match's entry and score, from a ScreenResult or its JSON form."""
    matches = result.get("matches", []) if isinstance(result, dict) else result.matches
    keys = ("source", "source_id", "name", "score")
    return [{k: (m[k] if isinstance(m, dict) else getattr(m, k)) for k in keys} for m in matches]


def audit_row(
    *,
    key_name: str,
    channel: str,
    query: dict[str, Any],
    threshold: float,
    snapshots: dict[str, int],
    result: Any = None,  # a ScreenResult or its JSON form
    error: str | None = None,
) -> dict[str, Any]:
    matches = summarize(result) if result else []
    return {
        "at": datetime.now(UTC),
        "key_name": key_name,
        "channel": channel,
        "query": query,
        "threshold": threshold,
        "snapshots": snapshots,
        "match_count": len(matches),
        "matches": matches,
        "error": error,
    }


def default_spill_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("compliance")) / "audit-spill"


class AuditWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int = 100_000,
        spill_dir: Path | None = None,
        linger: float = 0.05,
    ) -> None:
        self.engine = engine
        self.linger = linger  # after the first row, wait this long for more to share a commit
        self.spill_dir = spill_dir or default_spill_dir()
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=capacity)
        self._pending: list[dict[str, Any]] = []  # taken off the queue, not yet committed
        self._lock = threading.Lock()  # one writer at a time (the thread, or flush())
        self._stop = threading.Event()
        self.written = 0
        self.failures = 0  # failed tries (the rows were kept)
        self.waits = 0  # times a request waited for room in a full queue
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    # the request side -------------------------------------------------------------------

    def record(self, **fields: Any) -> None:
        """Queue one screening (fields of audit_row); waits for room, never drops it."""
        self.put(audit_row(**fields))

    def put(self, row: dict[str, Any]) -> None:
        try:
            self._q.put_nowait(row)
        except queue.Full:
            self.waits += 1
            self._q.put(row)

    async def arecord(self, **fields: Any) -> None:
        """record() for the event loop: when the queue is full it waits in a thread."""
        row = audit_row(**fields)
        try:
            self._q.put_nowait(row)
        except queue.Full:
            from starlette.concurrency import run_in_threadpool

            self.waits += 1
            await run_in_threadpool(self._q.put, row)

    @property
    def backlog(self) -> int:
        return self._q.qsize() + len(self._pending)

    # the writing side -------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything queued now (raises if the database refuses; the rows are kept)."""
        with self._lock:
            self._take()
            while self._pending:
                self._write_pending()
                self._take()

    def _take(self) -> None:
        while len(self._pending) < BATCH:
            try:
                self._pending.append(self._q.get_nowait())
            except queue.Empty:
                return

    def _write_pending(self) -> None:
        rows = self._pending[:BATCH]
        with self.engine.begin() as conn:
            conn.execute(insert(ScreeningAudit), rows)
        del self._pending[: len(rows)]
        self.written += len(rows)
        self.last_error = None

    def _run(self) -> None:
        pause = 0.0
        self._replay_spills()
        while True:
            if pause:
                self._stop.wait(pause)
            elif not self._pending:
                try:  # sleep until a row comes, then let a few more join it
                    row = self._q.get(timeout=0.5)
                    with self._lock:
                        self._pending.append(row)
                    time.sleep(self.linger)
                except queue.Empty:
                    pass
            if self._stop.is_set() and not self._pending and self._q.empty():
                return
            if self._stop.is_set() and pause:
                return  # the database still refuses: close() saves the rest to a file
            try:
                self.flush()
                pause = 0.0
            except Exception as exc:  # kept; tried again after a pause
                self.failures += 1
                self.last_error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
                pause = min(MAX_PAUSE, max(0.1, pause * 2))
                log.error(
                    "cannot write %d screening audit records (kept, retrying in %.1f s): %s",
                    self.backlog,
                    pause,
                    self.last_error,
                )

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued; what the database still refuses goes to a spill file."""
        self._stop.set()
        self._thread.join(timeout=timeout)
        with self._lock:
            self._take()
            try:
                while self._pending:
                    self._write_pending()
                    self._take()
            except Exception as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                self._spill()

    def _spill(self) -> None:
        rows = self._pending + list(_drain(self._q))
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"{_db_tag(self.engine)}-{os.getpid()}-{time.time_ns()}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({**row, "at": row["at"].isoformat()}, default=str) + "\n")
        self._pending = []
        log.error(
            "the database refused %d screening audit records (%s); saved to %s, written the "
            "next time the service starts on this database",
            len(rows),
            self.last_error,
            path,
        )

    def _replay_spills(self) -> None:
        if not self.spill_dir.is_dir():
            return
        for found in sorted(self.spill_dir.glob(f"{_db_tag(self.engine)}-*.jsonl")):
            path = found.with_suffix(f".replaying-{os.getpid()}")
            try:
                found.rename(path)  # claimed: another worker starting now skips it
            except OSError:
                continue
            rows = [_row_from_json(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
            try:
                with self.engine.begin() as conn:
                    for k in range(0, len(rows), BATCH):
                        conn.execute(insert(ScreeningAudit), rows[k : k + BATCH])
            except Exception as exc:
                path.rename(found)  # for the next start
                log.error("cannot write the saved audit records of %s yet: %s", found, exc)
                return
            path.unlink()
            self.written += len(rows)
            log.warning("wrote %d saved screening audit records from %s", len(rows), found)


def _drain(q: queue.Queue[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    while True:
        try:
            yield q.get_nowait()
        except queue.Empty:
            return


def _row_from_json(line: str) -> dict[str, Any]:
    row = json.loads(line)
    row["at"] = datetime.fromisoformat(row["at"])
    return row


def _db_tag(engine: Engine) -> str:
    """A file-name-safe name of the database, so a spill is replayed into the same one."""
    import hashlib

    url = engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:16]
