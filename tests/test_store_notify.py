"""NOTIFY of a new snapshot on a real PostgreSQL server: a notice per committed swap, none for a
failed one, and a listener whose connection is killed reconnects and catches up."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from compliance.store.db import get_engine
from compliance.store.notify import APPLICATION_NAME, SnapshotListener, can_listen
from compliance.store.status import current_snapshot_ids
from compliance.update import update_sources
from tests.conftest import MIRROR


def _listener_pid(engine: Any) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
            {"a": APPLICATION_NAME},
        ).scalar()


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _next_call(seen: queue.Queue[dict[str, int]]) -> dict[str, int]:
    return seen.get(timeout=30)


def test_listener_hears_swaps_and_survives_a_dropped_connection(postgres_url: str) -> None:
    engine = get_engine(postgres_url)
    assert update_sources(engine, ["us_bis_dpl"], mirror=str(MIRROR))[0].ok
    seen: queue.Queue[dict[str, int]] = queue.Queue()  # the ids each call saw
    listener = SnapshotListener(
        engine, lambda: seen.put(current_snapshot_ids(engine)), retry_seconds=0.2
    )
    assert listener.start()
    try:
        first = _next_call(seen)  # the catch-up call on connecting
        assert listener.listening.is_set()
        assert seen.empty()

        # A committed swap: one call, which already sees the new snapshot.
        assert update_sources(engine, ["us_bis_dpl"], mirror=str(MIRROR), force=True)[0].ok
        after = _next_call(seen)
        assert after["us_bis_dpl"] > first["us_bis_dpl"]

        # An update that changes nothing (same files, not forced) sends no notice.
        assert update_sources(engine, ["us_bis_dpl"], mirror=str(MIRROR))[0].ok
        time.sleep(1.5)
        assert seen.empty()

        # The server drops the listening connection: it reconnects and calls once to catch up
        # on what it may have missed, then hears the next swap.
        pid = _listener_pid(engine)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        assert _next_call(seen) == after
        _wait(lambda: _listener_pid(engine) not in (None, pid), "the listener to reconnect")
        assert update_sources(engine, ["us_bis_dpl"], mirror=str(MIRROR), force=True)[0].ok
        assert _next_call(seen)["us_bis_dpl"] > after["us_bis_dpl"]
    finally:
        listener.stop()
        engine.dispose()
    _wait(lambda: _listener_pid(engine) is None, "stop() to close the connection")
    engine.dispose()


def test_no_listener_on_sqlite(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert not can_listen(engine)
    assert not SnapshotListener(engine, lambda: None).start()
