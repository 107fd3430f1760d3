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
