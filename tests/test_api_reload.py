"""The real server (uvicorn in a subprocess on a free loopback port): a list update and an admin
reload while requests are in flight; no request fails and no answer mixes two snapshots."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from compliance.api.keys import create_key  # noqa: E402
from compliance.store.db import get_engine  # noqa: E402
from tests.api_helpers import free_port, start_server, stop_server, wait_until_ready  # noqa: E402
from tests.conftest import MIRROR, ROOT  # noqa: E402


def copy_database(engine: Any, dest: Path) -> str:
    """A consistent copy of the session database (SQLite's backup API), to update freely."""
    src = sqlite3.connect(engine.url.database)
    dst = sqlite3.connect(dest)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{dest}"


@pytest.fixture
def server(
    loaded_engine: Any, tmp_path: Path
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    url = copy_database(loaded_engine, tmp_path / "served.db")
    env = {"COMPLIANCE_CACHE": str(tmp_path / "cache")}
    base, proc = start_server(url, "--poll", "0.5", env=env)
    try:
        wait_until_ready(base, proc)
        yield base, url, proc
    finally:
        stop_server(proc)


def _dpl_name(url: str) -> str:
    from sqlalchemy import select

    from compliance.store.models import Entity, SourceRow

    with get_engine(url).connect() as conn:
        snap = conn.execute(
            select(SourceRow.current_snapshot_id).where(SourceRow.key == "us_bis_dpl")
        ).scalar()
        return str(
            conn.execute(select(Entity.name).where(Entity.snapshot_id == snap).order_by(Entity.id))
            .scalars()
            .all()[40]
        )


def test_reload_in_flight_never_fails_or_mixes(server: tuple[str, str, Any]) -> None:
    from compliance.update import update_sources

    base, url, proc = server
    name = _dpl_name(url)
    old = httpx.post(f"{base}/v1/screen", json={"name": name}).json()["snapshots"]
    stop = threading.Event()
    answers: list[tuple[int, dict[str, Any]]] = []
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.post("/v1/screen", json={"name": name, "lists": ["us_bis_dpl"]})
                    answers.append((r.status_code, r.json()))
                except Exception as exc:  # a dropped connection is a failure too
                    failures.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        outcomes = update_sources(
            get_engine(url), ["us_bis_dpl"], mirror=str(MIRROR), force=True
        )  # the same files: forced, so that a new snapshot is made
        assert outcomes[0].ok
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the poller notices and swaps
            if (
                answers
                and answers[-1][1].get("snapshots", {}).get("us_bis_dpl") != old["us_bis_dpl"]
            ):
                break
            time.sleep(0.2)
        token = create_key(get_engine(url), "reloader", admin=True)
        r = httpx.post(
            f"{base}/v1/admin/reload", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        assert r.status_code == 200, r.text
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures
    assert answers and all(code == 200 for code, _ in answers)
    seen = {tuple(sorted(a["snapshots"].items())) for _, a in answers}
    assert len(seen) == 2  # the old set, then the new one
    new = dict(max(seen, key=lambda s: dict(s)["us_bis_dpl"]))
    assert new["us_bis_dpl"] > old["us_bis_dpl"]
    assert {k: v for k, v in new.items() if k != "us_bis_dpl"} == {
        k: v for k, v in old.items() if k != "us_bis_dpl"
    }
    for _, a in answers:
        assert a["matches"], a  # the listed name is found before, during and after
        for m in a["matches"]:  # every match's evidence is from the snapshot the answer names
            assert m["snapshot"]["id"] == a["snapshots"][m["source"]]
            for s in m["sources"]:
                assert s["snapshot"]["id"] == a["snapshots"][s["source"]]


def test_server_stops_cleanly_and_requires_keys_off_loopback(
    server: tuple[str, str, Any], tmp_path: Path
) -> None:
    base, url, proc = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    r = httpx.post(f"{base}/v1/screen", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    # binding beyond loopback without any key is refused before the server starts
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "compliance.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--db",
            f"sqlite:///{tmp_path / 'empty.db'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "requires API keys" in res.stderr
    assert "Traceback" not in res.stderr
