"""What the officer sees: tables on a terminal and piped, labels, merged reasons, the rules exit
status, close-only catalog suggestions, progress bars. Lists: the real OFAC SDN files (they state
no date), the Consolidated Screening List (Entity List entries for Huawei) and dpl.txt."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from compliance.cli import app
from compliance.cli.tables import shorten
from compliance.orders.deciders import CheckOptions
from compliance.orders.reasons import PartyReason
from compliance.orders.run import check_file
from compliance.orders.writer import merge_reasons
from compliance.rules.catalog import UnknownModelError, find_product
from compliance.rules.license import determine_license
from compliance.screen_file import count_rows, read_parties, screen_rows
from compliance.screening import Query, Screener
from compliance.sources import all_sources
from compliance.store.db import get_engine
from compliance.update import update_source
from tests.conftest import MIRROR, ROOT

SOURCES = ("us_ofac_sdn", "us_trade_csl", "us_bis_dpl")
ANSI = re.compile(r"\x1b\[")
TERMINAL = {"FORCE_COLOR": "1", "COLUMNS": "160"}  # rich draws as on a 160-column terminal
PIPED = {"FORCE_COLOR": None, "COLUMNS": None, "TTY_COMPATIBLE": None}

ORDERS = (
    "order_id,customer,customer_country,end_user,end_user_country,end_user_hq,destination,item\n"
    "A1,Huawei Technologies,CN,Huawei Technologies,CN,,CN,H100 SXM\n"
    "A2,Siemens AG,DE,Siemens AG,DE,DE,DE,RTX 3060\n"
    "A3,Mahan Airways,IR,,,,IR,Intel Core i7\n"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("cli_output")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))
        url = f"sqlite:///{tmp / 'lists.db'}"
        engine = get_engine(url)
        for key in SOURCES:
            outcome = update_source(engine, all_sources()[key], mirror=str(MIRROR))
            assert outcome.ok, outcome.error
        yield url


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    return path


def run(args: list[str], env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env or PIPED, catch_exceptions=False)


# ---- tables ------------------------------------------------------------------------------------


def test_screen_table_piped_is_plain_columns_with_labels(db: str) -> None:
    r = run(["screen", "Huawei Technologies", "--db", db])
    assert r.exit_code == 1 and not ANSI.search(r.stdout)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["score", "listed", "name", "matched", "name", "type", "entries",
                                "lists", "programs", "list", "date"]  # fmt: skip
    row = next(x for x in lines if "Huawei Technologies Co., Ltd. (Huawei)" in x)
    assert "CSL · Entity List" in row  # the sub-list named, nothing cut
    assert row.rstrip().endswith("2022-04-21")  # the CSL's own date, in its own column
    assert "fetched " in r.stdout and "sha256 " in r.stdout and "fetched at" not in r.stdout
    # the same 400-character license requirement is printed once, then referred to
    requirement = "For all items subject to the EAR, see §§ 736.2(b)(3)(vi)"
    assert r.stdout.count(requirement) == 1 and "as for match" in r.stdout
    # each Entity List hit cites the Federal Register notices that listed it
    assert "Federal Register: 84 FR 22961, 85 FR 29852, 85 FR 36720, 85 FR 51603" in r.stdout


def test_sdn_list_states_no_date_and_says_so(db: str) -> None:
    r = run(["screen", "Vladimir Putin", "--list", "us_ofac_sdn", "--db", db])
    assert r.exit_code == 1
    assert "list date: not stated by the source" in r.stdout
    row = next(x for x in r.stdout.splitlines() if "PUTIN" in x)
    assert row.rstrip().endswith("not stated")
    r = run(["sources", "--db", db])
    sdn = next(x for x in r.stdout.splitlines() if x.startswith("us_ofac_sdn "))
    assert "not stated" in sdn and " UTC " in sdn  # no data date; the fetch time, labelled
    header = r.stdout.splitlines()[0]
    assert "list date" in header and "fetched" in header and "sha256" in header
    assert "data date" not in r.stdout and "fetched at" not in header


def test_terminal_tables_are_coloured_and_wrapped(db: str, orders: Path) -> None:
    r = run(["check", str(orders), "--no-audit", "--db", db], env=TERMINAL)
    assert r.exit_code == 1 and ANSI.search(r.stdout)
    assert "\x1b[1;31mBLOCK" in r.stdout  # red
    assert "\x1b[1;33mLICENSE REQUIRED" in r.stdout  # yellow, spelled for people
    assert "\x1b[32mCLEAR" in r.stdout and "\x1b[1;35mERROR" in r.stdout
    plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", r.stdout))
    assert max(len(x) for x in plain.splitlines()) <= 160  # wrapped to the screen
    piped = run(["check", str(orders), "--no-audit", "--db", db])
    assert not ANSI.search(piped.stdout) and "LICENSE REQUIRED" in piped.stdout


def test_machine_formats_are_unchanged_by_the_terminal(db: str, tmp_path: Path) -> None:
    """--format json / jsonl / csv: the library's serialisation, byte for byte, whether or not
    stdout is a terminal (no colour, no wrapping, no table)."""
    screener = Screener.load(get_engine(db))
    expected = screener.screen(Query("Huawei Technologies"), 85, 10).to_dict()
    text = json.dumps(expected, indent=2, ensure_ascii=False, default=str) + "\n"
    for env in (PIPED, TERMINAL):
        r = run(["screen", "Huawei Technologies", "--format", "json", "--db", db], env=env)
        assert r.stdout == text
    parties = tmp_path / "parties.csv"
    parties.write_text("name,country\nVladimir Putin,RU\nHuawei Technologies,CN\nJohn Q\n")
    rows = list(screen_rows(read_parties(parties), screener, threshold=85, limit=10))
    jsonl = "".join(json.dumps(x, ensure_ascii=False, default=str) + "\n" for x in rows)
    outs = {}
    for name, env in (("piped", PIPED), ("terminal", TERMINAL)):
        for fmt in ("jsonl", "csv"):
            r = run(["screen", "--file", str(parties), "--format", fmt, "--db", db], env=env)
            outs[name, fmt] = r.stdout
    assert outs["piped", "jsonl"] == outs["terminal", "jsonl"] == jsonl
    assert outs["piped", "csv"] == outs["terminal", "csv"]
    table = list(csv.reader(io.StringIO(outs["piped", "csv"])))
    assert table[0][:3] == ["row", "name", "type"] and [x[6] for x in table[1:]] == [
        x["status"] for x in rows
    ]
    for env in (PIPED, TERMINAL):
        r = run(["sources", "--format", "json", "--db", db], env=env)
        assert not ANSI.search(r.stdout)
        assert set(json.loads(r.stdout)[0]) == {"source", "records", "data_date", "fetched_at",
                                                "sha256", "status"}  # fmt: skip


def test_check_outputs_and_json_summary_do_not_depend_on_the_terminal(
    db: str, orders: Path, tmp_path: Path
) -> None:
    files = {}
    for name, env in (("piped", PIPED), ("terminal", TERMINAL)):
        for ext in ("csv", "jsonl"):
            out = tmp_path / f"{name}.{ext}"
            r = run(["check", str(orders), "-o", str(out), "--no-audit", "--db", db], env=env)
            assert r.exit_code == 1
            files[name, ext] = out.read_bytes()
        r = run(["check", str(orders), "--format", "json", "--no-audit", "--db", db], env=env)
        assert not ANSI.search(r.stdout) and json.loads(r.stdout)["lines"] == 3
    assert files["piped", "csv"] == files["terminal", "csv"]
    assert files["piped", "jsonl"] == files["terminal", "jsonl"]


# ---- reasons -----------------------------------------------------------------------------------


def test_shorten_cuts_on_a_word_with_an_ellipsis() -> None:
    text = "license requirement: For all items subject to the EAR, see 736.2(b)(3)(vi)"
    short = shorten(text, 40)
    assert len(short) <= 40 and short.endswith("…")
    assert text.startswith(short[:-1]) and text[len(short) - 1] in " ,;:."  # a word boundary
    assert shorten("short text", 40) == "short text"


def test_license_names_every_entity_list_entry_once(db: str) -> None:
    d = determine_license("H100 SXM", "CN", end_user="Huawei Technologies", engine=get_engine(db))
    el = [r for r in d.reasons if r["cite"].startswith("15 CFR 744.11")]
    assert len(el) == 1  # one requirement and policy, however many entries share it
    [reason] = el
    names = {m["name"] for m in reason["matches"]}
    assert "Huawei Technologies Co., Ltd. (Huawei)" in names and len(reason["matches"]) >= 2
    assert reason["text"].count("For all items subject to the EAR") == 1
    for name in names:
        assert repr(name) in reason["text"]
    assert reason["match"] == reason["matches"][0]
    r = run(["license", "--item", "H100 SXM", "--destination", "CN", "--end-user",
             "Huawei Technologies", "--db", db])  # fmt: skip
    assert r.exit_code == 1 and r.stdout.count("For all items subject to the EAR") == 1
    j = run(["license", "--item", "H100 SXM", "--destination", "CN", "--end-user",
             "Huawei Technologies", "--format", "json", "--db", db])  # fmt: skip
    assert json.loads(j.stdout)["reasons"] == json.loads(json.dumps(d.reasons, default=str))


def test_check_merges_reasons_that_differ_only_in_role_and_entry(
    db: str, orders: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    report = check_file(orders, CheckOptions(db_url=db), output=out, record=False)
    [line] = [x for x in report.flagged if x.order_id == "A1"]
    party = [r for r in line.reasons if isinstance(r, PartyReason) and r.decision != "CLEAR"]
    merged = merge_reasons(line.reasons)
    assert len(merged) < len(line.reasons)
    for r in party:  # every match is still named, with its role
        m = next(x for x in merged if r.entry in x.entries)
        assert f"customer, end_user {r.party!r}" in m.text and r.entry in m.text
    texts = [m.text for m in merged]
    assert len(texts) == len(set(texts))
    el = [m for m in merged if "license requirement" in m.text]
    # the CSL rows of one Huawei entry are one hit, so one entry for both roles
    assert len(el) == 1 and el[0].count >= 2 and len(el[0].entries) >= 1
    # JSONL keeps every reason object in full; the CSV cell holds each text once, in full
    obj = json.loads(out.read_text().splitlines()[0])
    assert len(obj["reasons"]) == len(line.reasons)
    csv_out = tmp_path / "out.csv"
    check_file(orders, CheckOptions(db_url=db), output=csv_out, record=False)
    cell = next(csv.DictReader(csv_out.open(encoding="utf-8")))["reasons"]
    assert cell.count("For all items subject to the EAR") == 1
    assert cell == " | ".join(texts)
    # the screen shows them shortened on a word, never mid-word
    r = run(["check", str(orders), "--no-audit", "--db", db])
    assert r.stdout.count("For all items subject to the EAR") <= 1
    for x in r.stdout.splitlines():
        if x.rstrip().endswith("…"):
            assert re.search(r"[\w)\]'\"]…$", x.rstrip())
    assert "us_ofac_sdn" in r.stdout and "not stated" in r.stdout  # the lists table
    # lists_as_of in the report files: an undated list shows its fetch day, labelled
    assert re.search(r"us_ofac_sdn fetched \d{4}-\d{2}-\d{2}", cell + csv_out.read_text())


def test_audit_labels(db: str, orders: Path) -> None:
    r = run(["check", str(orders), "--db", db])
    run_id = re.search(r"audit run #(\d+)", r.stdout).group(1)  # type: ignore[union-attr]
    shown = run(["audit", run_id, "--db", db]).stdout
    assert "input sha256" in shown and "list date" in shown and "fetched" in shown
    sdn = next(x for x in shown.splitlines() if x.startswith("us_ofac_sdn"))
    assert "not stated" in sdn and "UTC" in sdn
    listing = run(["audit", "--db", db]).stdout
    assert "input sha256" in listing.splitlines()[0]


# ---- rules, classify ---------------------------------------------------------------------------


def test_rules_not_verified_exits_3(db: str) -> None:
    r = run(["rules", "--db", db])
    assert r.exit_code == 3 and "NOT VERIFIED" in r.stdout and "exit status 3" in r.stderr
    assert run(["rules", "--format", "json", "--db", db]).exit_code == 3
    assert "3 NOT VERIFIED" in " ".join(run(["rules", "--help"]).stdout.split())
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"`compliance rules`.*exit status 3", readme)


@pytest.mark.parametrize(
    "name",
    ["Intel Core i7", "Xeon Platinum 8480", "Apple M2", "GTX 1080", "Ryzen 9 7950X",
     "Snapdragon 8 Gen 2", "TPU v4", "Core i9-13900K"],
)  # fmt: skip
def test_unrelated_names_get_no_suggestion(name: str) -> None:
    with pytest.raises(UnknownModelError) as err:
        find_product(name)
    assert err.value.suggestions == []
    assert "no catalog entry has a similar name" in str(err.value) and "--tops" in str(err.value)


@pytest.mark.parametrize(
    ("name", "model"),
    [("H100 SXM5 80GB", "NVIDIA H100 SXM"), ("A100 40 GB", "NVIDIA A100"),
     ("MI300", "AMD Instinct MI300X"), ("rtx-4090", "NVIDIA GeForce RTX 4090")],
)  # fmt: skip
def test_near_misses_find_their_row(name: str, model: str) -> None:
    assert find_product(name).model == model


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("H30", "NVIDIA H20"), ("A10", "NVIDIA A100"), ("Gaudi", "Intel Gaudi 3"),
     ("RTX 4080", "NVIDIA GeForce RTX 4090"), ("MI350X", "AMD Instinct MI300X")],
)  # fmt: skip
def test_close_unknown_names_suggest_the_close_rows(name: str, suggested: str) -> None:
    with pytest.raises(UnknownModelError) as err:
        find_product(name)
    assert suggested in err.value.suggestions


def test_classify_unknown_model_says_what_to_give(db: str) -> None:
    r = run(["classify", "Intel Core i7", "--db", db])
    assert r.exit_code == 2 and r.stdout == ""
    [line] = r.stderr.splitlines()
    assert "NVIDIA" not in line and "--tops" in line and "--die-area" in line


# ---- progress ----------------------------------------------------------------------------------


class Recorder:
    """A Progress that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.done: dict[str, float] = {}

    def start(self, key: str, description: str, total: float | None = None) -> None:
        self.calls.append(("start", key, total))
        self.done[key] = 0

    def advance(self, key: str, amount: float = 1) -> None:
        self.done[key] += amount

    def update(self, key: str, *, completed: float | None = None, total: float | None = None,
               description: str | None = None) -> None:  # fmt: skip
        if completed is not None:
            self.done[key] = completed

    def finish(self, key: str) -> None:
        self.calls.append(("finish", key))


def test_library_reports_progress(db: str, orders: Path, tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("name\n" + "".join(f"Person {i}\n" for i in range(600)))
    assert count_rows(parties) == 600
    rec = Recorder()
    screener = Screener.load(get_engine(db))
    n = sum(1 for _ in screen_rows(read_parties(parties), screener, progress=rec, total=600))
    assert n == 600 and rec.calls == [("start", "screen", 600), ("finish", "screen")]
    assert rec.done["screen"] == 600
    rec = Recorder()
    check_file(orders, CheckOptions(db_url=db), record=False, progress=rec)
    assert rec.calls[0][:2] == ("start", "check") and rec.done["check"] == 3


def _on_a_terminal(args: list[str], db: str) -> tuple[str, str]:
    """Run the real CLI with stderr on a pseudo-terminal, stdout on a pipe."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "compliance.cli", *args, "--db", db],
        stdout=subprocess.PIPE, stderr=slave, cwd=ROOT, env=env,
    )  # fmt: skip
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read() if proc.stdout else b""  # type: ignore[union-attr]
    proc.wait(timeout=120)
    os.close(master)
    return out.decode(), err.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only(db: str, tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("name\n" + "".join(f"Person {i}\n" for i in range(300)))
    out, err = _on_a_terminal(["screen", "--file", str(parties)], db)
    assert len(out.splitlines()) == 300
    assert "screening rows" in err and "300/300" in err and "/s" in err
    assert "screened 300 rows" in err  # the one-line summary stays
    out, err = _on_a_terminal(["screen", "--file", str(parties), "--quiet"], db)
    assert "screening rows" not in err and "screened 300 rows" in err
    # piped stderr: no bar, just the summary line
    r = run(["screen", "--file", str(parties), "--db", db])
    [summary] = r.stderr.splitlines()
    assert summary.startswith("screened 300 rows in ")


def test_one_license_requirement_for_two_entries_is_quoted_once(db: str, tmp_path: Path) -> None:
    """Two Entity List entries with the same 400-character requirement: the cell quotes it for
    the first and refers to it for the second; JSON keeps it on every reason."""
    path = tmp_path / "uk.csv"
    path.write_text("order_id,end_user,destination,item\nU1,Huawei Technologies (UK) Co Ltd,GB,\n")
    out, csv_out = tmp_path / "uk.jsonl", tmp_path / "uk_out.csv"
    report = check_file(path, CheckOptions(db_url=db), output=out, record=False)
    [line] = report.flagged
    el = [
        r
        for r in line.reasons
        if isinstance(r, PartyReason) and r.license_requirement and r.decision == "LICENSE_REQUIRED"
    ]
    assert len({r.entry for r in el}) >= 2 and len({r.license_requirement for r in el}) == 1
    first = el[0].entry
    check_file(path, CheckOptions(db_url=db), output=csv_out, record=False)
    cell = next(csv.DictReader(csv_out.open(encoding="utf-8")))["reasons"]
    assert cell.count(el[0].license_requirement or "?") == 1
    assert cell.count(f"license requirement and policy as for {first}") == len(el) - 1
    obj = json.loads(out.read_text().splitlines()[0])
    quoted = [
        r
        for r in obj["reasons"]
        if r.get("license_requirement") and r["decision"] == "LICENSE_REQUIRED"
    ]
    assert len(quoted) == len(el)  # the record keeps each in full
