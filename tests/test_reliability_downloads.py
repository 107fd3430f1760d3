"""Hostile downloads from a server on 127.0.0.1: entity bombs, XXE, a 2 GB body, a cut
connection, a slow drip, a redirect loop, wrong content types and a gutted list.

After each, `compliance sources` must show the previous snapshot untouched (same checksum and
records) with the failure recorded: status "stale (last update failed)" and the error line in
the table view. (500s, truncation with Content-Length, HTML for a text file and a gutted DPL
are in test_update_http.py.)
"""

from __future__ import annotations

import http.server
import io
import itertools
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from lxml import etree
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from compliance.cli import app
from compliance.store.db import get_engine
from compliance.store.models import Entity, SourceRow
from compliance.update import update_sources
from tests.conftest import MIRROR

FAST = {"COMPLIANCE_HTTP_BACKOFF": "0.01"}
TWO_GB = 2 * 1024**3
UN = ("un_sc", "consolidated.xml")
DPL = ("us_bis_dpl", "dpl.txt")
CONS = ("us_ofac_cons", "cons_prim.csv")
GB = ("gb_ofsi", "ConList.xlsx")
KEYS = ("un_sc", "us_bis_dpl", "us_ofac_cons", "gb_ofsi")
GB_ROWS = 400  # data rows of the real ConList.xlsx kept for the small gb_ofsi baseline

Behaviour = Callable[[http.server.BaseHTTPRequestHandler], None]


class Hostile:
    """Serves `root` as a mirror; `routes[path]` replaces one path's answer with a behaviour."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body bytes written per path
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # for chunked bodies; close-delimited ones say so

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.lstrip("/")
                owner.hits[path] += 1
                behaviour = owner.routes.get(path)
                try:
                    if behaviour is not None:
                        behaviour(self)
                    elif (owner.root / path).is_file():
                        send(self, (owner.root / path).read_bytes())
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up, as it should

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(h: http.server.BaseHTTPRequestHandler, body: bytes, ctype: str = "") -> None:
    h.send_response(200)
    h.send_header("Content-Type", ctype or "application/octet-stream")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def serving(body: bytes, ctype: str = "") -> Behaviour:
    return lambda h: send(h, body, ctype)


def streaming(owner: Hostile, path: str, chunks: Iterable[bytes], length: int | None) -> Behaviour:
    """A body produced lazily (never held whole); close-delimited when `length` is None."""

    def run(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if length is None:
            h.send_header("Connection", "close")
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(length))
        h.end_headers()
        for chunk in chunks:
            h.wfile.write(chunk)
            owner.sent[path] += len(chunk)

    return run


def cut(body: bytes, *, chunked: bool) -> Behaviour:
    """Half the body, then the connection drops: no length announced, or a chunked body
    whose closing zero-size chunk never comes."""

    def run(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header(
            "Transfer-Encoding" if chunked else "Connection", "chunked" if chunked else "close"
        )
        h.end_headers()
        half = body[: len(body) // 2]
        if chunked:
            for i in range(0, len(half), 8192):
                part = half[i : i + 8192]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        else:
            h.wfile.write(half)
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True

    return run


def drip(body: bytes, every: float = 0.05, size: int = 64) -> Behaviour:
    def run(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(0, len(body), size):
            h.wfile.write(body[i : i + size])
            h.wfile.flush()
            time.sleep(every)

    return run


def stall(h: http.server.BaseHTTPRequestHandler) -> None:
    time.sleep(3)  # well past the deadline; no status line at all
    h.close_connection = True


def redirect(to: str) -> Behaviour:
    def run(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return run


class Canary:
    """A port that must never be contacted: counts every connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


# --- baseline database: four sources loaded once, copied for each test ---------------------


def small_conlist() -> bytes:
    """The first GB_ROWS data rows of the real ConList.xlsx, as a workbook of the same shape."""
    src = openpyxl.load_workbook(MIRROR / "gb_ofsi" / "ConList.xlsx", read_only=True)
    ws = src.worksheets[0]
    out = openpyxl.Workbook()
    dst = out.active
    dst.title = ws.title
    for row in ws.iter_rows(max_row=GB_ROWS + 2, values_only=True):
        dst.append(list(row))
    src.close()
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    for key, name in (UN, DPL):
        (root / key).mkdir()
        (root / key / name).write_bytes((MIRROR / key / name).read_bytes())
    (root / "us_ofac_cons").mkdir()  # the CSV set only: with the XML there, the CSVs go unread
    for f in (MIRROR / "us_ofac_cons").glob("*.csv"):
        (root / "us_ofac_cons" / f.name).write_bytes(f.read_bytes())
    (root / "gb_ofsi").mkdir()
    (root / "gb_ofsi" / "ConList.xlsx").write_bytes(small_conlist())
    return root


@pytest.fixture(scope="module")
def baseline(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baseline") / "base.db"
    engine = get_engine(f"sqlite:///{path}")
    outcomes = update_sources(engine, list(KEYS), mirror=str(mirror_dir))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    engine.dispose()
    return path


@pytest.fixture
def db(baseline: Path, tmp_path: Path) -> str:
    target = tmp_path / "compliance.db"
    with sqlite3.connect(baseline) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


@pytest.fixture
def hostile(mirror_dir: Path) -> Iterator[Hostile]:
    server = Hostile(mirror_dir)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("COMPLIANCE_DB", "COMPLIANCE_HTTP_DEADLINE", "COMPLIANCE_HTTP_MAX_BYTES"):
        monkeypatch.delenv(var, raising=False)


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={**FAST, **(env or {})})


def sources_json(db: str) -> dict[str, dict[str, Any]]:
    result = cli("sources", "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    return {row["source"]: row for row in json.loads(result.stdout)}


def update_fails(
    db: str, server: Hostile, key: str, phrases: list[str], env: dict[str, str] | None = None
) -> str:
    """Run the update, expect exactly one FAILED line naming the source and file, keep the
    previous snapshot: returns the error line."""
    before = sources_json(db)
    assert before[key]["status"] == "ok" and before[key]["records"] > 0
    result = cli("update", key, "--mirror", server.url, "--db", db, env=env)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one line, no traceback
    error = lines[0].removeprefix("FAILED  ")
    assert lines[0].startswith(f"FAILED  {key}: "), lines[0]
    for phrase in phrases:
        assert phrase in error, error
    assert_kept(db, before, key, error)
    return error


def assert_kept(db: str, before: dict[str, dict[str, Any]], key: str, error: str) -> None:
    after = sources_json(db)
    for k in ("records", "data_date", "fetched_at", "sha256"):
        assert after[key][k] == before[key][k], k
    assert after[key]["status"] == "stale (last update failed)"
    assert {k: v for k, v in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
    table = cli("sources", "--db", db).stdout
    assert f"{key} last attempt " in table and error in table
    with get_engine(db).connect() as conn:
        current = conn.execute(
            select(SourceRow.current_snapshot_id).where(SourceRow.key == key)
        ).scalar()
        held = conn.execute(
            select(func.count()).select_from(Entity).where(Entity.snapshot_id == current)
        ).scalar()
    assert held == before[key]["records"]


# --- XML entity attacks ---------------------------------------------------------------------

LIST_OPEN = b'<CONSOLIDATED_LIST dateGenerated="2026-03-01T00:00:00.000Z"><INDIVIDUALS>'
LIST_CLOSE = b"</INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>"


def person(dataid: int, first: bytes) -> bytes:
    return (
        b"<INDIVIDUAL><DATAID>%d</DATAID><FIRST_NAME>%s</FIRST_NAME><UN_LIST_TYPE>Al-Qaida"
        b"</UN_LIST_TYPE><REFERENCE_NUMBER>QDi.%d</REFERENCE_NUMBER></INDIVIDUAL>"
        % (dataid, first, dataid)
    )


def laughs(depth: int = 10) -> bytes:
    decls = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, depth)
    )
    body = b"".join(person(i, b"&lol%d;" % (depth - 1)) for i in range(1, 2000))
    return b"<!DOCTYPE CONSOLIDATED_LIST [" + decls + b"]>\n" + LIST_OPEN + body + LIST_CLOSE


def xxe(canary: int) -> bytes:
    decls = (
        b'<!ENTITY pw SYSTEM "file:///etc/passwd">'
        b'<!ENTITY net SYSTEM "http://127.0.0.1:%d/steal">'
        b'<!ENTITY %% remote SYSTEM "http://127.0.0.1:%d/dtd"> %%remote;' % (canary, canary)
    )
    body = b"".join(person(i, b"XXEPROBE &pw; &net; XXEPROBE") for i in range(1, 2000))
    return b"<!DOCTYPE CONSOLIDATED_LIST [" + decls + b"]>\n" + LIST_OPEN + body + LIST_CLOSE


XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
PADDING = b"<!--" + b" padding " * 10_000 + b"-->\n"  # pushes the DOCTYPE past the prolog scan


@pytest.fixture
def canary() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


@pytest.mark.parametrize("padded", [False, True], ids=["prolog", "padded"])
def test_billion_laughs_is_refused_unexpanded(
    padded: bool, db: str, hostile: Hostile, canary: Canary
) -> None:
    doc = XML_DECL + (PADDING if padded else b"") + laughs()
    hostile.routes["un_sc/consolidated.xml"] = serving(doc, "application/xml")
    started = time.monotonic()
    update_fails(db, hostile, "un_sc", ["consolidated.xml: ", "declares XML entities", "unsafe"])
    assert time.monotonic() - started < 20  # refused, not expanded (10^9 "lol"s)
    assert hostile.hits["un_sc/consolidated.xml"] == 1  # not a transient fault: no retry


@pytest.mark.parametrize("variant", ["prolog", "padded", "utf-16le"])
def test_external_entities_never_resolved(
    variant: str, db: str, hostile: Hostile, canary: Canary
) -> None:
    doc = XML_DECL + (PADDING if variant == "padded" else b"") + xxe(canary.port)
    if variant == "utf-16le":  # no BOM, no ASCII "<!ENTITY" bytes for a byte scan to find
        doc = doc.replace(b"UTF-8", b"UTF-16LE").decode().encode("utf-16-le")
        root = etree.fromstring(doc, etree.XMLParser(resolve_entities=False, no_network=True))
        assert root.tag == "CONSOLIDATED_LIST"  # well-formed: only the DTD check can refuse it
    hostile.routes["un_sc/consolidated.xml"] = serving(doc, "application/xml")
    error = update_fails(db, hostile, "un_sc", ["consolidated.xml: ", "declares XML entities"])
    assert "root:" not in error
    time.sleep(0.2)  # a stray connection attempt would have landed by now
    assert canary.connections == 0
    with get_engine(db).connect() as conn:
        names = [n for (n,) in conn.execute(select(Entity.name).where(Entity.source == "un_sc"))]
    assert not any("root:" in n or "XXEPROBE" in n for n in names)


# --- size, cuts, slowness, redirects --------------------------------------------------------


def un_filler() -> Iterator[bytes]:
    """A 2 GB UN list, produced 64 KiB at a time from one reused block."""
    record = person(1, b"FILLER")
    block = record * (65536 // len(record))
    yield XML_DECL + LIST_OPEN
    sent = len(XML_DECL + LIST_OPEN)
    for _ in itertools.count():
        if sent >= TWO_GB:
            return
        yield block
        sent += len(block)


def test_two_gigabytes_announced_is_refused_before_reading(db: str, hostile: Hostile) -> None:
    path = "un_sc/consolidated.xml"
    hostile.routes[path] = streaming(hostile, path, un_filler(), TWO_GB)
    update_fails(
        db, hostile, "un_sc", ["announces 2,147,483,648 bytes, over the 100,000,000-byte cap"]
    )
    time.sleep(0.2)  # the server writes until the closed socket stops it
    assert hostile.sent[path] < 32 << 20  # what the loopback socket buffers took: not 2 GB


_TRAMPOLINE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_two_gigabytes_unannounced_stops_at_the_cap_in_bounded_memory(
    db: str, hostile: Hostile, tmp_path: Path
) -> None:
    """The real CLI in its own process, so its peak memory can be measured (os.wait4)."""
    path, cap = "un_sc/consolidated.xml", 8_000_000
    hostile.routes[path] = streaming(hostile, path, un_filler(), None)
    before = sources_json(db)
    out, err = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, **FAST, "COMPLIANCE_HTTP_MAX_BYTES": str(cap)}
    cmd = [
        str(Path(sys.executable).parent / "compliance"),
        "update",
        "un_sc",
        "--mirror",
        hostile.url,
    ]
    with out.open("wb") as o, err.open("wb") as e:
        # Through a small trampoline: Linux carries a process's peak RSS across fork + exec, so a
        # child forked straight from this (large) test process would report this process's peak.
        proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(tmp_path / "maxrss"), *cmd, "--db", db],
            stdout=o, stderr=e, env=env,
        )  # fmt: skip
        proc.wait()
    maxrss_kb = int((tmp_path / "maxrss").read_text())
    lines = err.read_text().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith("FAILED  un_sc: consolidated.xml: ")
    assert f"sent more than the {cap:,}-byte cap; download stopped" in lines[0]
    assert hostile.hits[path] == 1  # a cap breach is not retried
    assert hostile.sent[path] < cap + (32 << 20)  # stopped reading: nowhere near 2 GB
    peak_mb = maxrss_kb / 1024
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
    print(
        f"\n2 GB body, {cap:,}-byte cap: server sent {hostile.sent[path]:,} bytes, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    assert_kept(db, before, "un_sc", lines[0].removeprefix("FAILED  "))


@pytest.mark.parametrize(
    ("key", "phrase"),
    [(UN, "not well-formed XML"), (DPL, "expected 12 (truncated or damaged file?)")],
    ids=["xml", "text"],
)
def test_cut_without_length_is_caught_by_the_parser(
    key: tuple[str, str], phrase: str, db: str, hostile: Hostile, mirror_dir: Path
) -> None:
    """No Content-Length, no chunking: only the format can tell the body is incomplete."""
    path = "/".join(key)
    hostile.routes[path] = cut((mirror_dir / path).read_bytes(), chunked=False)
    update_fails(db, hostile, key[0], [f"{key[1]} line ", phrase])
    assert hostile.hits[path] == 1


def test_cut_chunked_body_is_retried_then_refused(
    db: str, hostile: Hostile, mirror_dir: Path
) -> None:
    path = "/".join(DPL)
    hostile.routes[path] = cut((mirror_dir / path).read_bytes(), chunked=True)
    update_fails(db, hostile, "us_bis_dpl", ["dpl.txt: ", "broke off after", "after 4 attempts"])
    assert hostile.hits[path] == 4


def test_slow_drip_meets_the_whole_download_deadline(
    db: str, hostile: Hostile, mirror_dir: Path
) -> None:
    path = "/".join(DPL)
    hostile.routes[path] = drip((mirror_dir / path).read_bytes())  # ~1.3 kB/s: 2 min for DPL
    started = time.monotonic()
    env = {"COMPLIANCE_HTTP_DEADLINE": "0.5"}
    update_fails(db, hostile, "us_bis_dpl", ["took longer than 0.5 s", "after 4 attempts"], env)
    assert time.monotonic() - started < 10
    assert hostile.hits[path] == 4


def test_silent_server_times_out_within_the_deadline(db: str, hostile: Hostile) -> None:
    path = "/".join(DPL)
    hostile.routes[path] = stall
    started = time.monotonic()
    env = {"COMPLIANCE_HTTP_DEADLINE": "0.5"}
    update_fails(db, hostile, "us_bis_dpl", ["cannot reach", "Timeout", "after 4 attempts"], env)
    assert time.monotonic() - started < 10  # the 60 s read timeout is cut to the deadline


def test_redirect_loop_is_refused(db: str, hostile: Hostile) -> None:
    hostile.routes["un_sc/consolidated.xml"] = redirect("/loop/a")
    hostile.routes["loop/a"] = redirect("/loop/b")
    hostile.routes["loop/b"] = redirect("/loop/a")
    update_fails(db, hostile, "un_sc", ["consolidated.xml: ", "too many redirects"])
    assert hostile.hits["un_sc/consolidated.xml"] == 1
    assert hostile.hits["loop/a"] + hostile.hits["loop/b"] == 5  # requests' limit, then stop


# --- wrong content ------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>"
)
WRONG = [
    (GB, HTML, "text/html", ["got an HTML page instead of the expected XLSX file"]),
    (GB, b"Name 6,Group ID\nEXAMPLE,1\n", "text/csv", ["not an XLSX workbook (no ZIP signature)"]),
    (GB, b"PK\x03\x04" + b"\x00" * 200, "", ["not an XLSX workbook"]),
    (GB, _zip({"hello.txt": b"not a workbook"}), "", ["not a readable XLSX workbook"]),
    (
        CONS,
        b'{"error": "rate limit exceeded", "retry_after": 60}',
        "application/json",
        ["cons_prim.csv"],
    ),
    (UN, b'{"CONSOLIDATED_LIST": []}', "application/json", ["not an XML document"]),
]


@pytest.mark.parametrize(
    ("key", "body", "ctype", "phrases"),
    WRONG,
    ids=[
        "html-for-xlsx",
        "csv-for-xlsx",
        "pk-garbage",
        "zip-not-xlsx",
        "json-for-csv",
        "json-for-xml",
    ],
)
def test_wrong_content_is_refused(
    key: tuple[str, str], body: bytes, ctype: str, phrases: list[str], db: str, hostile: Hostile
) -> None:
    path = "/".join(key)
    hostile.routes[path] = serving(body, ctype)
    update_fails(db, hostile, key[0], [f"{key[1]}", *phrases])
    assert hostile.hits[path] == 1


def test_half_the_un_list_missing_needs_force(db: str, hostile: Hostile, mirror_dir: Path) -> None:
    """A well-formed UN list that lost every other entry: the shrink guard keeps the old one."""
    root = etree.fromstring((mirror_dir / "un_sc" / "consolidated.xml").read_bytes())
    for group in ("INDIVIDUALS", "ENTITIES"):
        parent = root.find(group)
        for child in list(parent)[::2]:  # drop the first, third, fifth...
            parent.remove(child)
    kept = len(root.find("INDIVIDUALS")) + len(root.find("ENTITIES"))
    assert kept == 1003 // 2  # 730 people and 273 entities: 365 + 136 remain
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    hostile.routes["un_sc/consolidated.xml"] = serving(body, "application/xml")
    update_fails(
        db, hostile, "un_sc", ["would shrink the list from 1,003 to 501 records", "--force"]
    )
    forced = cli("update", "un_sc", "--force", "--mirror", hostile.url, "--db", db)
    assert forced.exit_code == 0, forced.output
    assert "ok      un_sc: 501 records" in forced.stdout and "-502 removed" in forced.stdout
