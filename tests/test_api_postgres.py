"""Several `compliance serve` processes on one PostgreSQL database: `compliance update`, run as
another process, commits a snapshot; every instance learns of it by NOTIFY (their polling set to
an hour, so nothing else could) and swaps its index while clients keep asking, with no failed
request and no answer mixing two snapshots. With NOTIFY off, polling alone does it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from sqlalchemy import select  # noqa: E402

from compliance.store.db import get_engine  # noqa: E402
from compliance.store.models import Entity  # noqa: E402
from compliance.store.status import current_snapshot_ids  # noqa: E402
from tests.api_helpers import start_server, stop_server, wait_until_ready  # noqa: E402
from tests.conftest import MIRROR, ROOT  # noqa: E402
from tests.pg_server import postgres_server  # noqa: E402

Answer = tuple[int, dict[str, Any]]


def _cli(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "compliance.cli", *args, "--db", url]


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, COMPLIANCE_CACHE=str(cache))


def update_dpl(url: str, cache: Path, *flags: str) -> None:
    """`compliance update us_bis_dpl` from the mirror folder, in a process of its own."""
    res = subprocess.run(
        _cli(url, "update", "us_bis_dpl", "--mirror", str(MIRROR), "-q", *flags),
        cwd=ROOT,
        env=_env(cache),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL server holding us_bis_dpl, for the module."""
    with postgres_server() as url:
        update_dpl(url, tmp_path_factory.mktemp("cache"))
        yield url
        get_engine(url).dispose()


@contextmanager
def serving(url: str, tmp: Path, count: int, *options: str) -> Iterator[list[str]]:
    """`count` servers on their own loopback ports and index caches (as on other hosts),
    started together; yields their base URLs once all are ready."""
    with ExitStack() as stack:
        procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        for i in range(count):
            log = tmp / f"server{i}.log"
            env = {"COMPLIANCE_CACHE": str(tmp / f"cache{i}")}
            base, proc = start_server(url, *options, env=env, log=log)
            stack.callback(stop_server, proc)
            procs.append((base, proc, log))
        for base, proc, log in procs:
            wait_until_ready(base, proc, log)
        yield [base for base, _, _ in procs]


def ready(base: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/readyz", timeout=10).json())


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def listed_name(url: str) -> str:
    with get_engine(url).connect() as conn:
        names = conn.execute(select(Entity.name).order_by(Entity.id).limit(41)).scalars().all()
    return str(names[-1])


class Hammer:
    """Clients asking each server without pause, each keeping its answers in order."""

    def __init__(self, bases: list[str], name: str, per_server: int = 2) -> None:
        self.name = name
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.answers: dict[tuple[str, int], list[Answer]] = {
            (b, i): [] for b in bases for i in range(per_server)
        }
        self.threads = [threading.Thread(target=self._ask, args=(k,)) for k in self.answers]

    def __enter__(self) -> Hammer:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _ask(self, key: tuple[str, int]) -> None:
        out = self.answers[key]
        with httpx.Client(base_url=key[0], timeout=30) as c:
            while not self.stop.is_set():
                try:
                    r = c.post("/v1/screen", json={"name": self.name, "lists": ["us_bis_dpl"]})
                    out.append((r.status_code, r.json()))
                except Exception as exc:  # a dropped connection is a failure too
                    self.failures.append(f"{key[0]}: {exc!r}")

    def latest(self, base: str) -> set[int]:
        """The snapshot each of this server's clients saw last."""
        return {
            a[-1][1].get("snapshots", {}).get("us_bis_dpl", -1)
            for (b, _), a in self.answers.items()
            if b == base and a
        }


def test_instances_reload_on_notify(pg: str, tmp_path: Path) -> None:
    old = current_snapshot_ids(get_engine(pg))["us_bis_dpl"]
    with serving(pg, tmp_path, 2, "--poll", "3600") as bases:
        wait_for(lambda: all(ready(b)["reload"]["notify"] for b in bases), "both to LISTEN")
        with Hammer(bases, listed_name(pg)) as hammer:
            wait_for(lambda: all(hammer.latest(b) == {old} for b in bases), "first answers")
            update_dpl(pg, tmp_path / "cache-update", "--force")  # same files: forced
            new = current_snapshot_ids(get_engine(pg))["us_bis_dpl"]
            assert new > old
            wait_for(lambda: all(hammer.latest(b) == {new} for b in bases), "both to reload")
            time.sleep(0.5)
        for b in bases:
            r = ready(b)
            assert r["snapshots"] == {"us_bis_dpl": new}
            assert r["reload"] == {"notify": True, "poll_seconds": 3600.0}
    assert not hammer.failures
    for (base, _), answers in hammer.answers.items():
        assert answers and all(code == 200 for code, _ in answers), base
        ids = [a["snapshots"]["us_bis_dpl"] for _, a in answers]
        assert ids == sorted(ids) and set(ids) == {old, new}, base  # old, then new, for good
        for _, a in answers:
            assert a["matches"], a  # the listed name is found before, during and after
            for m in a["matches"]:  # every match's evidence is from the answer's snapshot
                assert m["snapshot"]["id"] == a["snapshots"][m["source"]]
                for s in m["sources"]:
                    assert s["snapshot"]["id"] == a["snapshots"][s["source"]]


def test_polling_alone_without_notify(pg: str, tmp_path: Path) -> None:
    old = current_snapshot_ids(get_engine(pg))["us_bis_dpl"]
    with serving(pg, tmp_path, 1, "--poll", "0.5", "--no-listen") as (base,):
        assert ready(base)["reload"] == {"notify": False, "poll_seconds": 0.5}
        assert ready(base)["snapshots"] == {"us_bis_dpl": old}
        update_dpl(pg, tmp_path / "cache-update", "--force")
        new = current_snapshot_ids(get_engine(pg))["us_bis_dpl"]
        wait_for(lambda: ready(base)["snapshots"] == {"us_bis_dpl": new}, "the poller")
        assert new > old
