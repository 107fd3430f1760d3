"""Snapshot change notices between processes sharing one PostgreSQL database.

A snapshot swap sends NOTIFY on CHANNEL in its own transaction, so the notice is delivered
exactly when the new snapshot is visible (and never for one rolled back). A SnapshotListener
holds one psycopg connection LISTENing and calls `on_change` for each notice, and once each
time it (re)connects, since notices sent while it was away are lost. Elsewhere (SQLite, no
psycopg, the connection down) it does nothing: the caller's polling is the safety net.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CHANNEL = "compliance_snapshots"
APPLICATION_NAME = "compliance-listen"

log = logging.getLogger("compliance.store")


def notify_snapshot(conn: Connection, source: str, snapshot_id: int) -> None:
    """Announce a new current snapshot when `conn`'s transaction commits (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        payload = json.dumps({"source": source, "snapshot_id": snapshot_id})
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


def can_listen(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


class SnapshotListener:
    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[], None],
        *,
        retry_seconds: float = 5.0,
        settle_seconds: float = 0.2,
    ) -> None:
        self.engine = engine
        self.on_change = on_change
        self.retry_seconds = retry_seconds
        self.settle_seconds = settle_seconds  # notices this close together: one call
        self.listening = threading.Event()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start listening in a daemon thread; False where NOTIFY is not available."""
        if not can_listen(self.engine) or self._thread is not None:
            return False
        self._thread = threading.Thread(target=self._run, name="snapshot-listener", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _connect(self) -> Any:
        import psycopg

        _, params = self.engine.dialect.create_connect_args(self.engine.url)
        params.pop("context", None)
        # keepalives: a peer that vanished without closing is noticed within about a minute
        params.setdefault("keepalives", 1)
        params.setdefault("keepalives_idle", 30)
        params.setdefault("keepalives_interval", 10)
        params.setdefault("keepalives_count", 3)
        params.setdefault("connect_timeout", 10)
        params["application_name"] = APPLICATION_NAME  # to find it in pg_stat_activity
        return psycopg.connect(autocommit=True, **params)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self.last_error = None
                    self._call()  # whatever was committed while nobody listened
                    self._listen(conn)
            except Exception as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}".strip()
                log.warning("snapshot listener: %s; polling until it reconnects", self.last_error)
            finally:
                self.listening.clear()
            self._stop.wait(self.retry_seconds)

    def _listen(self, conn: Any) -> None:
        while not self._stop.is_set():
            if not list(conn.notifies(timeout=1.0, stop_after=1)):
                continue  # a second to notice stop()
            for _ in conn.notifies(timeout=self.settle_seconds):
                pass  # one call for a burst of notices (an update of several lists)
            self._call()

    def _call(self) -> None:
        try:
            self.on_change()
        except Exception as exc:  # the caller records its own failures; keep listening
            log.warning("snapshot listener: reload failed: %s", exc)
