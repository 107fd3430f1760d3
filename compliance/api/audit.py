"""The service's screening audit trail: buffered and written in batches by one thread, so a
screening never waits for the database."""

from __future__ import annotations

import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from compliance.api.models import ScreeningAudit

log = logging.getLogger("compliance.api")
BATCH = 1000


def summarize(result: Any) -> list[dict[str, Any]]:
    """Each match's entry and score, from a ScreenResult or its JSON form."""
    matches = result.get("matches", []) if isinstance(result, dict) else result.matches
    keys = ("source", "source_id", "name", "score")
    return [{k: (m[k] if isinstance(m, dict) else getattr(m, k)) for k in keys} for m in matches]


class AuditWriter:
    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self.engine = engine
        self.interval = interval
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=100_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        self.dropped = 0

    def record(
        self,
        *,
        key_name: str,
        channel: str,
        query: dict[str, Any],
        threshold: float,
        snapshots: dict[str, int],
        result: Any = None,  # a ScreenResult or its JSON form
        error: str | None = None,
    ) -> None:
        matches = summarize(result) if result else []
        row = {
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
        try:
            self._q.put(row, timeout=5)
        except queue.Full:  # the database is far behind: say so, never block screening forever
            self.dropped += 1
            log.error("screening audit queue full; a record was dropped")

    def _drain(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while len(rows) < BATCH:
            try:
                rows.append(self._q.get_nowait())
            except queue.Empty:
                break
        return rows

    def flush(self) -> None:
        while rows := self._drain():
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(ScreeningAudit), rows)
            except Exception as exc:
                log.error("cannot write %d screening audit records: %s", len(rows), exc)
                return

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
        self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
