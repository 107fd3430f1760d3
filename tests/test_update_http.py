"""`compliance update` end to end over real HTTP: the mirror served on 127.0.0.1, plus a server
that misbehaves on purpose (500s, truncated bodies, HTML pages, a gutted list)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.server
import io
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from compliance.cli import app
from compliance.sources import all_sources, us_bis_dpl, us_trade_csl
from compliance.store.db import get_engine
from compliance.store.models import Snapshot
from compliance.store.status import source_statuses
from tests.conftest import MIRROR

KEYS = {"source", "records", "data_date", "fetched_at", "sha256", "status"}
HTML = b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head></html>"
FAST = {"COMPLIANCE_HTTP_BACKOFF": "0.01"}


class FaultServer:
    """Serves `root` like a mirror; `faults[path]` makes one path misbehave.

    A fault is "500", "truncate" (announces the full length, sends a third, hangs up), "html",
    or bytes to send in place of the file. `hits` counts requests per path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: dict[str, str | bytes] = {}
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.lstrip("/")
                owner.hits[path] += 1
                fault = owner.faults.get(path)
                if fault == "500":
                    self.send_error(500, "Internal Server Error")
                    return
                if fault == "html":
                    self._send(HTML, "text/html")
                    return
                if isinstance(fault, bytes):
                    self._send(fault)
                    return
                file = owner.root / path
                if not file.is_file():
                    self.send_error(404)
                    return
                body = file.read_bytes()
                if fault == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self._send(body)

            def _send(self, body: bytes, ctype: str = "application/octet-stream") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def faulty() -> Iterator[FaultServer]:
    server = FaultServer(MIRROR)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPLIANCE_DB", raising=False)


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={**FAST, **(env or {})})


def sources_json(db: str) -> dict[str, dict[str, Any]]:
    result = cli("sources", "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    return {row["source"]: row for row in json.loads(result.stdout)}


def dpl_entities() -> int:
    return len(
        us_bis_dpl.parse({"dpl.txt": (MIRROR / "us_bis_dpl" / "dpl.txt").read_bytes()}).records
    )


def test_sources_json_has_exactly_the_six_keys(mirror_server: str, db_url: str) -> None:
    result = cli("update", "us_bis_dpl", "--mirror", mirror_server, "--db", db_url)
    assert result.exit_code == 0, result.output
    rows = json.loads(cli("sources", "--format", "json", "--db", db_url).stdout)
    assert [r["source"] for r in rows] == list(all_sources())
    for row in rows:
        assert set(row) == KEYS
    by = {r["source"]: r for r in rows}
    dpl = by["us_bis_dpl"]
    assert dpl["records"] == dpl_entities() and dpl["status"] == "ok"
    assert dpl["data_date"] == "2023-11-28" and len(dpl["sha256"]) == 64
    assert by["un_sc"] == {
        "source": "un_sc",
        "records": 0,
        "data_date": None,
        "fetched_at": None,
        "sha256": None,
        "status": "never loaded",
    }
    table = cli("sources", "--db", db_url).stdout
    assert "BIS Denied Persons List" in table  # the title moved to the table view


def test_update_twice_reports_no_change(mirror_server: str, db_url: str) -> None:
    first = cli("update", "us_bis_dpl", "un_sc", "--mirror", mirror_server, "--db", db_url)
    assert first.exit_code == 0, first.output
    assert first.stdout.count("(first snapshot)") == 2
    assert "ok      un_sc: 1,003 records, data date 2026-02-27" in first.stdout
    before = sources_json(db_url)
    second = cli("update", "us_bis_dpl", "un_sc", "--mirror", mirror_server, "--db", db_url)
    assert second.exit_code == 0, second.output
    assert second.stdout.count("(unchanged)") == 2  # same files: not parsed again
    forced = cli(
        "update", "us_bis_dpl", "un_sc", "--force", "--mirror", mirror_server, "--db", db_url
    )
    assert forced.stdout.count("(+0 added, -0 removed, ~0 changed)") == 2, forced.output
    after = sources_json(db_url)
    for key in ("us_bis_dpl", "un_sc"):
        assert after[key]["sha256"] == before[key]["sha256"]
        assert after[key]["records"] == before[key]["records"]


def test_full_csl_over_http(mirror_server: str, db_url: str) -> None:
    result = cli("update", "us_trade_csl", "--mirror", mirror_server, "--db", db_url)
    assert result.exit_code == 0, result.output
    # 14,160 rows: Treasury entities on several sub-lists and BIS entries with one row per
    # address are one entity each (tests/test_source_csl.py)
    assert "ok      us_trade_csl: 13,990 records, data date 2022-04-21" in result.stdout
    row = sources_json(db_url)["us_trade_csl"]
    content = (MIRROR / "us_trade_csl" / "consolidated.csv").read_bytes()
    file_sha = hashlib.sha256(content).hexdigest()
    combined = hashlib.sha256(f"consolidated.csv:{file_sha}".encode()).hexdigest()
    assert row["sha256"] == combined  # only the CSV: the mirror has no consolidated.json


FAULTS = [
    ("500", ["HTTP 500 from", "after 4 attempts"], 4),
    ("truncate", ["truncated", "after 4 attempts"], 4),
    ("html", ["got an HTML page instead of the expected TEXT file"], 1),
]


@pytest.mark.parametrize(("fault", "phrases", "hits"), FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_keeps_previous_snapshot(
    fault: str, phrases: list[str], hits: int, mirror_server: str, faulty: FaultServer, db_url: str
) -> None:
    base = cli("update", "us_bis_dpl", "un_sc", "--mirror", mirror_server, "--db", db_url)
    assert base.exit_code == 0, base.output
    before = sources_json(db_url)
    ids_before = {s.source: s.snapshot_id for s in source_statuses(get_engine(db_url))}

    faulty.faults["us_bis_dpl/dpl.txt"] = fault
    result = cli("update", "us_bis_dpl", "un_sc", "--mirror", faulty.url, "--db", db_url)

    assert result.exit_code != 0
    failed = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(failed) == 1, result.stderr
    assert failed[0].startswith("FAILED  us_bis_dpl: dpl.txt: ")
    for phrase in phrases:
        assert phrase in failed[0]
    assert faulty.hits["us_bis_dpl/dpl.txt"] == hits
    assert "ok      un_sc: 1,003 records" in result.stdout  # the other source still updated

    after = sources_json(db_url)
    for k in ("records", "data_date", "fetched_at", "sha256"):
        assert after["us_bis_dpl"][k] == before["us_bis_dpl"][k]
    assert after["us_bis_dpl"]["status"] == "stale (last update failed)"
    assert after["un_sc"]["status"] == "ok"
    ids_after = {s.source: s.snapshot_id for s in source_statuses(get_engine(db_url))}
    assert ids_after["us_bis_dpl"] == ids_before["us_bis_dpl"]
    assert ids_after["un_sc"] == ids_before["un_sc"]  # checked again: the same files
    assert "ok      un_sc: 1,003 records, data date 2026-02-27 (unchanged)" in result.stdout
    table = cli("sources", "--db", db_url).stdout
    assert "us_bis_dpl last attempt" in table and failed[0].removeprefix("FAILED  ") in table


def test_shrunken_list_needs_force(mirror_server: str, faulty: FaultServer, db_url: str) -> None:
    base = cli("update", "us_bis_dpl", "un_sc", "--mirror", mirror_server, "--db", db_url)
    assert base.exit_code == 0, base.output
    before = sources_json(db_url)
    lines = (MIRROR / "us_bis_dpl" / "dpl.txt").read_bytes().splitlines(keepends=True)
    gutted = b"".join(lines[:101])  # header and the first 100 of 665 rows: valid, but gutted
    small = len(us_bis_dpl.parse({"dpl.txt": gutted}).records)
    assert small < before["us_bis_dpl"]["records"] / 2
    faulty.faults["us_bis_dpl/dpl.txt"] = gutted

    result = cli("update", "us_bis_dpl", "un_sc", "--mirror", faulty.url, "--db", db_url)
    assert result.exit_code != 0
    failed = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(failed) == 1
    assert failed[0].startswith("FAILED  us_bis_dpl: dpl.txt: would shrink the list from ")
    assert f"to {small:,} records" in failed[0] and "--force" in failed[0]
    assert "ok      un_sc" in result.stdout
    after = sources_json(db_url)
    assert {k: after["us_bis_dpl"][k] for k in KEYS - {"status"}} == {
        k: before["us_bis_dpl"][k] for k in KEYS - {"status"}
    }

    forced = cli("update", "us_bis_dpl", "--force", "--mirror", faulty.url, "--db", db_url)
    assert forced.exit_code == 0, forced.output
    assert f"ok      us_bis_dpl: {small:,} records" in forced.stdout
    removed = before["us_bis_dpl"]["records"] - small
    assert f"-{removed} removed" in forced.stdout
    assert sources_json(db_url)["us_bis_dpl"]["records"] == small


def _csl_rows() -> tuple[list[str], list[list[str]]]:
    with (MIRROR / "us_trade_csl" / "consolidated.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode()


def test_delta_counts_on_a_modified_copy(tmp_path: Path, db_url: str) -> None:
    header, rows = _csl_rows()
    # rows that are an entity on their own (no other row of the same entry or Treasury id)
    alone = {
        r.source_id
        for r in us_trade_csl.parse({"consolidated.csv": _csv_bytes(header, rows)}).records
        if len(r.raw["rows"]) == 1
    }
    ids = Counter(r[0] for r in rows[:400])
    subset = [r for r in rows[:400] if ids[r[0]] == 1 and r[0] in alone][:300]
    mirror = tmp_path / "mirror"
    (mirror / "us_trade_csl").mkdir(parents=True)
    target = mirror / "us_trade_csl" / "consolidated.csv"
    # served gzipped under its plain name, as the captured mirror file was
    target.write_bytes(gzip.compress(_csv_bytes(header, subset)))
    server = FaultServer(mirror)
    try:
        first = cli("update", "us_trade_csl", "--mirror", server.url, "--db", db_url)
        assert first.exit_code == 0, first.output
        assert "ok      us_trade_csl: 300 records" in first.stdout
        again = cli("update", "us_trade_csl", "--mirror", server.url, "--db", db_url)
        assert "(unchanged)" in again.stdout  # no validators from this server: same sha256

        removed = [r[0] for r in subset[10:13]]
        changed = [subset[20][0], subset[30][0]]
        modified = [list(r) for r in subset if r[0] not in removed]
        name_col = header.index("name")
        for r in modified:
            if r[0] == changed[0]:
                r[name_col] += " RENAMED"
            elif r[0] == changed[1]:
                r[header.index("remarks")] = "a new remark"
        extra = next(r for r in rows[400:] if r[0] not in ids and r[0] in alone)
        modified.append(extra)
        target.write_bytes(_csv_bytes(header, modified))

        third = cli("update", "us_trade_csl", "--mirror", server.url, "--db", db_url)
        assert third.exit_code == 0, third.output
        assert "ok      us_trade_csl: 298 records" in third.stdout
        assert "(+1 added, -3 removed, ~2 changed)" in third.stdout
    finally:
        server.close()
    with get_engine(db_url).connect() as conn:
        delta = conn.execute(
            select(Snapshot.delta)
            .where(Snapshot.source == "us_trade_csl")
            .order_by(Snapshot.id.desc())
        ).first()[0]
    assert delta == {"added": [extra[0]], "removed": sorted(removed), "changed": sorted(changed)}


def test_db_option_and_env_var(mirror_server: str, tmp_path: Path) -> None:
    env_db, opt_db = tmp_path / "env.db", tmp_path / "opt.db"
    by_env = cli(
        "update", "us_bis_dpl", "--mirror", mirror_server, env={"COMPLIANCE_DB": str(env_db)}
    )
    assert by_env.exit_code == 0, by_env.output
    assert env_db.is_file() and not opt_db.exists()
    listed = cli("sources", "--format", "json", env={"COMPLIANCE_DB": str(env_db)})
    assert {r["source"]: r for r in json.loads(listed.stdout)}["us_bis_dpl"]["status"] == "ok"

    by_opt = cli(
        "update",
        "un_sc",
        "--mirror",
        mirror_server,
        "--db",
        str(opt_db),
        env={"COMPLIANCE_DB": str(env_db)},
    )
    assert by_opt.exit_code == 0, by_opt.output
    opt = sources_json(str(opt_db))
    env = sources_json(f"sqlite:///{env_db}")
    assert opt["un_sc"]["status"] == "ok" and opt["us_bis_dpl"]["status"] == "never loaded"
    assert env["un_sc"]["status"] == "never loaded"  # --db wins over COMPLIANCE_DB


def test_unknown_source_is_refused(db_url: str) -> None:
    result = cli("update", "no_such_list", "--db", db_url)
    assert result.exit_code == 2
    assert "unknown source(s): no_such_list" in result.stderr


# --- PostgreSQL -----------------------------------------------------------------------------


def test_update_into_postgresql(postgres_url: str, mirror_server: str, faulty: FaultServer) -> None:
    first = cli("update", "us_bis_dpl", "un_sc", "--mirror", mirror_server, "--db", postgres_url)
    assert first.exit_code == 0, first.output
    before = sources_json(postgres_url)
    assert before["us_bis_dpl"]["records"] == dpl_entities()
    assert before["un_sc"]["records"] == 1003
    faulty.faults["un_sc/consolidated.xml"] = "html"
    second = cli("update", "us_bis_dpl", "un_sc", "--mirror", faulty.url, "--db", postgres_url)
    assert second.exit_code != 0
    assert "(unchanged)" in second.stdout
    assert second.stderr.strip().startswith("FAILED  un_sc: consolidated.xml: not an XML document")
    after = sources_json(postgres_url)
    assert after["un_sc"]["sha256"] == before["un_sc"]["sha256"]
    assert after["un_sc"]["status"] == "stale (last update failed)"
    get_engine(postgres_url).dispose()  # let the server stop without waiting on our pool
