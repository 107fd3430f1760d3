"""Updates that skip unchanged files, data dates only where stated, retries through urllib3.

A server on 127.0.0.1 that really implements ETag / Last-Modified / 304 (and one that ignores
them) serves copies of the real mirrored files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from compliance.cli import app
from compliance.lists_update import update_source
from compliance.sources import all_sources, us_bis_dpl, us_ofac_cons
from compliance.sources.base import ParsedList, Source
from compliance.store.db import get_engine
from compliance.store.models import Snapshot
from compliance.store.status import source_statuses
from compliance.update import update_sources
from tests.conftest import MIRROR

FAST = {"COMPLIANCE_HTTP_BACKOFF": "0.01"}
CONS_CSVS = ("cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv")
PUBLISHED = time.mktime((2025, 3, 14, 12, 0, 0, 0, 0, 0))  # the copies' mtime: Last-Modified


class Server:
    """Serves `root` as a mirror. With `validators`, every 200 carries an ETag (a hash of the
    body) and a Last-Modified (the file's mtime), and If-None-Match / If-Modified-Since are
    answered 304 when they match; without, those headers are neither sent nor heeded."""

    def __init__(self, root: Path, *, validators: bool = True) -> None:
        self.root = root
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.conditional: Counter[str] = Counter()  # requests that carried a validator
        self.body_bytes = 0
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}  # canned answers first
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.lstrip("/")
                if owner.script.get(path):
                    status, headers = owner.script[path].pop(0)
                    owner.statuses[path, status] += 1
                    self.send_response(status)
                    for k, v in {**headers, "Content-Length": "0"}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    return
                file = owner.root / path
                if not file.is_file():
                    self.send_error(404)
                    return
                body = file.read_bytes()
                etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
                mtime = int(file.stat().st_mtime)
                if validators and self._not_modified(etag, mtime):
                    owner.statuses[path, 304] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                owner.statuses[path, 200] += 1
                owner.body_bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if validators:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
                self.end_headers()
                self.wfile.write(body)

            def _not_modified(self, etag: str, mtime: int) -> bool:
                match, since = (
                    self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"),
                )
                if match or since:
                    owner.conditional[self.path.lstrip("/")] += 1
                if match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
                    return etag in [m.strip() for m in match.split(",")]
                if since:
                    try:
                        return mtime <= parsedate_to_datetime(since).timestamp()
                    except (TypeError, ValueError):
                        return False
                return False

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, status: int) -> int:
        return sum(n for (_, s), n in self.statuses.items() if s == status)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """Copies of the real DPL, UN and OFAC non-SDN CSV files, all 'published' on 2025-03-14."""
    root = tmp_path / "mirror"
    for key, names in (
        ("us_bis_dpl", ("dpl.txt",)),
        ("un_sc", ("consolidated.xml",)),
        ("us_ofac_cons", CONS_CSVS),
    ):
        (root / key).mkdir(parents=True)
        for name in names:
            shutil.copyfile(MIRROR / key / name, root / key / name)
            os.utime(root / key / name, (PUBLISHED, PUBLISHED))
    return root


@pytest.fixture
def server(mirror: Path) -> Iterator[Server]:
    s = Server(mirror)
    yield s
    s.close()


@pytest.fixture
def plain_server(mirror: Path) -> Iterator[Server]:
    s = Server(mirror, validators=False)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("COMPLIANCE_DB", "COMPLIANCE_HTTP_DEADLINE", "COMPLIANCE_HTTP_MAX_BYTES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COMPLIANCE_HTTP_BACKOFF", "0.01")


def counting(source: Source) -> tuple[Source, Counter[str]]:
    """The source with a parser that counts its calls."""
    calls: Counter[str] = Counter()

    def parse(files: Mapping[str, bytes]) -> ParsedList:
        calls["parse"] += 1
        return source.parse(files)

    return dataclasses.replace(source, parse=parse), calls


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=FAST)


def snapshots(db: str, key: str) -> list[Any]:
    with get_engine(db).connect() as conn:
        return conn.execute(
            select(Snapshot).where(Snapshot.source == key).order_by(Snapshot.id)
        ).all()


# --- unchanged files are not read again ------------------------------------------------------


def test_304_means_unchanged_and_nothing_is_parsed(server: Server, db_url: str) -> None:
    engine = get_engine(db_url)
    dpl, calls = counting(us_bis_dpl.SOURCE)
    first = update_source(engine, dpl, mirror=server.url)
    assert first.ok and not first.unchanged and calls["parse"] == 1
    sent = server.body_bytes
    [snap] = snapshots(db_url, "us_bis_dpl")
    assert snap.files[0]["etag"].startswith('"') and snap.files[0]["last_modified"]

    again = update_source(engine, dpl, mirror=server.url)
    assert again.ok and again.unchanged, again
    assert calls["parse"] == 1  # not parsed again
    assert server.statuses["us_bis_dpl/dpl.txt", 304] == 1
    assert server.body_bytes == sent  # no body the second time
    assert (again.records, again.previous) == (first.records, first.records)
    assert again.delta.counts() == {"added": 0, "removed": 0, "changed": 0}
    assert again.data_date == first.data_date == "2023-11-28"
    [same] = snapshots(db_url, "us_bis_dpl")  # no new snapshot
    assert same.id == snap.id and same.fetched_at == snap.fetched_at
    assert same.checked_at > snap.checked_at


def test_a_server_without_validators_is_compared_by_sha256(
    plain_server: Server, db_url: str
) -> None:
    engine = get_engine(db_url)
    dpl, calls = counting(us_bis_dpl.SOURCE)
    assert update_source(engine, dpl, mirror=plain_server.url).ok
    again = update_source(engine, dpl, mirror=plain_server.url)
    assert again.ok and again.unchanged and calls["parse"] == 1
    assert plain_server.count(200) == 2 and plain_server.count(304) == 0
    assert not plain_server.conditional  # nothing to send: no validators were stored
    assert len(snapshots(db_url, "us_bis_dpl")) == 1


def test_a_mirror_directory_is_compared_by_sha256(mirror: Path, db_url: str) -> None:
    engine = get_engine(db_url)
    dpl, calls = counting(us_bis_dpl.SOURCE)
    assert update_source(engine, dpl, mirror=str(mirror)).ok
    assert update_source(engine, dpl, mirror=str(mirror)).unchanged
    assert calls["parse"] == 1
    (mirror / "us_bis_dpl" / "dpl.txt").write_bytes(
        (mirror / "us_bis_dpl" / "dpl.txt").read_bytes().replace(b"I. ASH", b"I. ASHE", 1)
    )
    changed = update_source(engine, dpl, mirror=str(mirror))
    assert changed.ok and not changed.unchanged and calls["parse"] == 2
    assert len(snapshots(db_url, "us_bis_dpl")) == 2  # a new snapshot of the edited file


def test_a_changed_file_is_fetched_and_loaded(server: Server, mirror: Path, db_url: str) -> None:
    engine = get_engine(db_url)
    assert update_source(engine, us_bis_dpl.SOURCE, mirror=server.url).ok
    path = mirror / "us_bis_dpl" / "dpl.txt"
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:-30]))  # the publisher dropped the last rows
    changed = update_source(engine, us_bis_dpl.SOURCE, mirror=server.url)
    assert changed.ok and not changed.unchanged
    assert changed.delta.removed and changed.records < changed.previous
    assert server.statuses["us_bis_dpl/dpl.txt", 200] == 2


def test_one_changed_file_of_several_fetches_the_others_in_full(
    server: Server, mirror: Path, db_url: str
) -> None:
    """Three CSVs answer 304, one changed: the three are fetched again so all four parse."""
    engine = get_engine(db_url)
    cons, calls = counting(us_ofac_cons.SOURCE)
    first = update_source(engine, cons, mirror=server.url)
    assert first.ok, first.error
    comments = mirror / "us_ofac_cons" / "cons_comments.csv"
    comments.write_bytes(comments.read_bytes() + b"\n")
    again = update_source(engine, cons, mirror=server.url)
    assert again.ok and not again.unchanged and calls["parse"] == 2
    assert server.statuses["us_ofac_cons/cons_prim.csv", 304] == 1
    assert server.statuses["us_ofac_cons/cons_prim.csv", 200] == 2  # first load, then in full
    assert again.records == first.records
    direct = us_ofac_cons.parse({n: (mirror / "us_ofac_cons" / n).read_bytes() for n in CONS_CSVS})
    assert again.records == len(direct.records)
    latest = snapshots(db_url, "us_ofac_cons")[-1]
    assert {f["name"] for f in latest.files} == set(CONS_CSVS)
    sizes = {f["name"]: f["size"] for f in latest.files}
    assert sizes == {n: (mirror / "us_ofac_cons" / n).stat().st_size for n in CONS_CSVS}


def test_force_reads_and_reloads_unchanged_files(server: Server, db_url: str) -> None:
    engine = get_engine(db_url)
    dpl, calls = counting(us_bis_dpl.SOURCE)
    assert update_source(engine, dpl, mirror=server.url).ok
    forced = update_source(engine, dpl, mirror=server.url, force=True)
    assert forced.ok and not forced.unchanged and calls["parse"] == 2
    assert not server.conditional  # --force asks unconditionally
    assert forced.delta.counts() == {"added": 0, "removed": 0, "changed": 0}
    assert len(snapshots(db_url, "us_bis_dpl")) == 2


def test_another_parser_reads_unchanged_files_again(server: Server, db_url: str) -> None:
    engine = get_engine(db_url)
    assert update_source(engine, us_bis_dpl.SOURCE, mirror=server.url).ok
    dpl, calls = counting(us_bis_dpl.SOURCE)  # as after an upgrade of the program
    again = update_source(engine, dpl, mirror=server.url)
    assert again.ok and not again.unchanged and calls["parse"] == 1


def test_unchanged_clears_a_failure_recorded_since(server: Server, db_url: str) -> None:
    engine = get_engine(db_url)
    assert update_source(engine, us_bis_dpl.SOURCE, mirror=server.url).ok
    server.script["us_bis_dpl/dpl.txt"] = [(404, {})]
    assert not update_source(engine, us_bis_dpl.SOURCE, mirror=server.url).ok
    [dpl] = [s for s in source_statuses(engine) if s.source == "us_bis_dpl"]
    assert dpl.status == "stale (last update failed)"
    assert update_source(engine, us_bis_dpl.SOURCE, mirror=server.url).unchanged
    [dpl] = [s for s in source_statuses(engine) if s.source == "us_bis_dpl"]
    assert dpl.status == "ok" and dpl.last_error is None


def test_cli_says_unchanged_per_source(server: Server, db_url: str) -> None:
    args = ("update", "us_bis_dpl", "un_sc", "us_ofac_cons", "--mirror", server.url)
    first = cli(*args, "--db", db_url)
    assert first.exit_code == 0, first.output
    assert first.stdout.count("(first snapshot)") == 3
    second = cli(*args, "--quiet", "--db", db_url)
    assert second.exit_code == 0, second.output
    lines = second.stdout.splitlines()
    assert len(lines) == 3 and all(line.endswith("(unchanged)") for line in lines), lines
    assert "ok      un_sc: 1,003 records, data date 2026-02-27 (unchanged)" in lines
    assert server.count(304) == 1 + 1 + len(CONS_CSVS)
    forced = cli(*args, "--force", "--db", db_url)
    assert forced.stdout.count("(+0 added, -0 removed, ~0 changed)") == 3, forced.output


# --- data dates: stated, or the server's Last-Modified, never the fetch date -----------------


def sources_json(db: str) -> dict[str, dict[str, Any]]:
    result = cli("sources", "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    return {row["source"]: row for row in json.loads(result.stdout)}


def test_data_dates_say_where_they_come_from(server: Server, mirror: Path, db_url: str) -> None:
    keys = ["us_bis_dpl", "un_sc", "us_ofac_cons"]
    assert all(o.ok for o in update_sources(get_engine(db_url), keys, mirror=server.url))
    status = {s.source: s for s in source_statuses(get_engine(db_url))}
    # the files state a date: that one, whatever the server says
    assert (status["un_sc"].data_date, status["un_sc"].data_date_from) == ("2026-02-27", "file")
    assert (status["us_bis_dpl"].data_date, status["us_bis_dpl"].data_date_from) == (
        "2023-11-28",
        "file",
    )
    # the CSV set states none: the server's Last-Modified, recorded as such
    cons = status["us_ofac_cons"]
    assert (cons.data_date, cons.data_date_from) == ("2025-03-14", "http-last-modified")
    assert cons.fetched_at[:10] != cons.data_date  # fetched today, dated by the server
    listed = sources_json(db_url)
    assert listed["us_ofac_cons"]["data_date"] == "2025-03-14"
    assert set(listed["us_ofac_cons"]) == {
        "source", "records", "data_date", "fetched_at", "sha256", "status",
    }  # fmt: skip
    out = cli("update", "us_ofac_cons", "--force", "--mirror", server.url, "--db", db_url)
    assert "data date 2025-03-14 (HTTP Last-Modified)" in out.stdout


def test_no_stated_date_is_null_not_the_fetch_date(
    plain_server: Server, mirror: Path, tmp_path: Path
) -> None:
    for where, mirror_at in (("dir", str(mirror)), ("plain-http", plain_server.url)):
        db = f"sqlite:///{tmp_path / where}.db"
        result = cli("update", "us_ofac_cons", "--mirror", mirror_at, "--db", db)
        assert result.exit_code == 0, result.output
        assert "data date" not in result.stdout
        row = sources_json(db)["us_ofac_cons"]
        assert row["data_date"] is None and row["fetched_at"], row
        [status] = [s for s in source_statuses(get_engine(db)) if s.source == "us_ofac_cons"]
        assert status.data_date_from is None


# --- retries: urllib3 Retry through requests' HTTPAdapter ------------------------------------


def test_retry_after_is_respected(server: Server, db_url: str) -> None:
    server.script["us_bis_dpl/dpl.txt"] = [(503, {"Retry-After": "1"}), (429, {})]
    started = time.monotonic()
    outcome = update_source(get_engine(db_url), us_bis_dpl.SOURCE, mirror=server.url)
    waited = time.monotonic() - started
    assert outcome.ok, outcome.error
    assert server.statuses["us_bis_dpl/dpl.txt", 503] == 1
    assert server.statuses["us_bis_dpl/dpl.txt", 429] == 1
    assert server.statuses["us_bis_dpl/dpl.txt", 200] == 1
    assert waited >= 0.9  # the server asked for one second


def test_a_4xx_is_not_retried(server: Server, db_url: str) -> None:
    server.script["us_bis_dpl/dpl.txt"] = [(403, {})]
    outcome = update_source(get_engine(db_url), us_bis_dpl.SOURCE, mirror=server.url)
    assert not outcome.ok
    assert outcome.error.startswith("us_bis_dpl: dpl.txt: HTTP 403 from http://127.0.0.1:")
    assert sum(server.statuses.values()) == 1


def test_a_refused_connection_is_one_clear_line(db_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    outcome = update_source(
        get_engine(db_url), us_bis_dpl.SOURCE, mirror=f"http://127.0.0.1:{port}"
    )
    assert not outcome.ok and "\n" not in outcome.error
    assert "cannot reach" in outcome.error and "the connection was refused" in outcome.error
    assert "(after 4 attempts)" in outcome.error


# --- progress ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def start(self, key: str, description: str, total: float | None = None) -> None:
        self.events.append(("start", key, description))

    def advance(self, key: str, amount: float = 1) -> None:
        self.events.append(("advance", key, amount))

    def update(self, key: str, *, completed: Any = None, total: Any = None,
               description: str | None = None) -> None:  # fmt: skip
        self.events.append(("update", key, description))

    def finish(self, key: str) -> None:
        self.events.append(("finish", key, None))


def test_progress_reports_bytes_parse_and_load_per_source(
    server: Server, mirror: Path, db_url: str
) -> None:
    progress = Recorder()
    keys = ["us_bis_dpl", "us_ofac_cons"]
    update_sources(get_engine(db_url), keys, mirror=server.url, progress=progress)
    for key in keys:
        mine = [e for e in progress.events if e[1] == key]
        assert mine[0] == ("start", key, f"{key}: download") and mine[-1][0] == "finish"
        sent = sum(e[2] for e in mine if e[0] == "advance")
        assert sent == sum(f.stat().st_size for f in (mirror / key).iterdir())
        steps = [e[2] for e in mine if e[0] == "update"]
        assert steps == [f"{key}: parse", f"{key}: load"]
    progress = Recorder()
    update_sources(get_engine(db_url), keys, mirror=server.url, progress=progress)
    assert not [e for e in progress.events if e[0] == "update"]  # unchanged: no parse, no load


def test_sources_known_to_update() -> None:
    assert "us_ecfr" not in all_sources()  # a regulation text, updated after the lists
    result = cli("update", "nope", "--db", "sqlite://")
    assert result.exit_code == 2 and "unknown source(s): nope" in result.stderr


def test_a_hostile_retry_after_is_capped() -> None:
    from urllib3 import HTTPResponse

    from compliance.sources.http import FetchPolicy

    retry = FetchPolicy().retry()
    assert retry.get_retry_after(HTTPResponse(headers={"Retry-After": "86400"})) == 60.0
    assert retry.get_retry_after(HTTPResponse(headers={"Retry-After": "2"})) == 2.0
    assert (
        retry.increment("GET", "/", error=OSError()).get_retry_after(
            HTTPResponse(headers={"Retry-After": "86400"})
        )
        == 60.0
    )  # the cap survives urllib3's copy on every retry
