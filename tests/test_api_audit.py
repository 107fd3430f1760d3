"""The screening audit trail of the service: every screening recorded with the key's name, the
time, the snapshots and the result, on a database made by the CLI, and none lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from tests.api_helpers import running_server  # noqa: E402
from tests.conftest import MIRROR, ROOT  # noqa: E402


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compliance.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_server_on_a_library_made_database_audits_every_screening(tmp_path: Path) -> None:
    # the lists are loaded through the library (as benchmarks/ and other programs do), in a
    # process that never imported the API: its tables must exist all the same
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    load = (
        "from compliance.store.db import get_engine; from compliance.update import update_sources;"
        f"assert update_sources(get_engine({db!r}), ['us_bis_dpl'], mirror={str(MIRROR)!r})[0].ok"
    )
    made = subprocess.run([sys.executable, "-c", load], cwd=ROOT, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    key = cli("keys", "create", "order-desk", "--db", db)
    assert key.returncode == 0, key.stderr
    token = key.stdout.strip()
    names = [f"Screened Party {n}" for n in range(60)]
    con = sqlite3.connect(tmp_path / "cli.db")
    listed = con.execute("SELECT name FROM entity ORDER BY id LIMIT 1").fetchone()[0]
    con.close()
    auth = {"Authorization": f"Bearer {token}"}
    with (
        running_server(db, "--require-keys", "--rate", "0") as base,
        httpx.Client(base_url=base, headers=auth, timeout=30) as c,
    ):
        hit = c.post("/v1/screen", json={"name": listed}).json()
        for name in names:  # answered just before the stop: flushed at shutdown
            assert c.post("/v1/screen", json={"name": name}).status_code == 200
    rows = _audit_rows(tmp_path / "cli.db")
    assert [r["query"]["name"] for r in rows] == [listed, *names]
    first = rows[0]
    assert first["key_name"] == "order-desk" and first["channel"] == "api" and first["at"]
    assert (
        first["snapshots"] == hit["snapshots"] == {"us_bis_dpl": first["snapshots"]["us_bis_dpl"]}
    )
    top = hit["matches"][0]
    assert first["match_count"] == len(hit["matches"]) >= 1
    assert first["matches"][0] == {k: top[k] for k in ("source", "source_id", "name", "score")}
    assert all(r["match_count"] == 0 and r["key_name"] == "order-desk" for r in rows[1:])


def _audit_rows(path: Path) -> list[dict[str, Any]]:
    import json

    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    out = []
    for r in con.execute("SELECT * FROM screening_audit ORDER BY id"):
        row = dict(r)
        for k in ("query", "snapshots", "matches"):
            row[k] = json.loads(row[k])
        out.append(row)
    con.close()
    return out


def _fields(n: int) -> dict[str, Any]:
    return {
        "key_name": "k",
        "channel": "api",
        "query": {"name": f"Party {n}"},
        "threshold": 85.0,
        "snapshots": {"us_bis_dpl": 1},
    }


def _names(engine: Any) -> list[str]:
    from sqlalchemy import select

    from compliance.api.models import ScreeningAudit

    with engine.connect() as conn:
        rows = conn.execute(select(ScreeningAudit.query).order_by(ScreeningAudit.id)).all()
    return [r.query["name"] for r in rows]


def test_writer_waits_and_retries_while_the_database_refuses(tmp_path: Path) -> None:
    import threading
    import time

    from sqlalchemy import create_engine

    from compliance.api.audit import AuditWriter
    from compliance.api.models import ScreeningAudit

    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")  # no tables yet: inserts fail
    writer = AuditWriter(engine, capacity=5, spill_dir=tmp_path / "spill", linger=0)
    producer = threading.Thread(target=lambda: [writer.record(**_fields(n)) for n in range(40)])
    producer.start()
    deadline = time.monotonic() + 10
    while writer.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    producer.join(timeout=1.0)
    assert writer.failures >= 2 and "no such table" in (writer.last_error or "")
    assert producer.is_alive() and writer.waits >= 1  # held back, not dropped
    ScreeningAudit.__table__.create(engine)  # type: ignore[attr-defined]  # the database is back
    producer.join(timeout=30)
    assert not producer.is_alive()
    writer.close()
    assert _names(engine) == [f"Party {n}" for n in range(40)]
    assert writer.written == 40 and not list((tmp_path / "spill").glob("*"))


def test_records_unwritable_at_shutdown_are_written_at_the_next_start(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from compliance.api.audit import AuditWriter
    from compliance.api.models import ScreeningAudit

    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    spill = tmp_path / "spill"
    writer = AuditWriter(engine, spill_dir=spill, linger=0)
    for n in range(7):
        writer.record(**_fields(n))
    writer.close(timeout=2)
    saved = list(spill.glob("*.jsonl"))
    assert len(saved) == 1 and len(saved[0].read_text().splitlines()) == 7
    ScreeningAudit.__table__.create(engine)  # type: ignore[attr-defined]
    other = create_engine(f"sqlite:///{tmp_path / 'other.db'}")  # not its database: left alone
    AuditWriter(other, spill_dir=spill).close()
    assert list(spill.glob("*.jsonl")) == saved
    again = AuditWriter(engine, spill_dir=spill)
    again.record(**_fields(7))
    again.close()
    assert _names(engine) == [f"Party {n}" for n in range(8)]
    assert not list(spill.iterdir())
