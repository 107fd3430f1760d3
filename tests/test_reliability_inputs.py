"""Hostile and awkward input files for `compliance screen --file` and `compliance check`.

Empty file, header only, UTF-8 BOM, Latin-1, CRLF, a 10 MB single field, a spreadsheet that
claims a billion rows (in its <dimension>, and in a row number), formulas in XLSX cells and
formula-looking text in CSV cells. Each file gets either a clear error (naming the file, the
line where one applies, and what to do) and exit status 2, or a correct result in which every
input row appears exactly once, in order. Formulas are never evaluated and never come back out
of a CSV report as a live formula (CSV injection). Lists: the real BIS Denied Persons List.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from compliance.cli import app
from compliance.lists_update import update_source
from compliance.sources import all_sources
from compliance.store.db import get_engine
from tests.conftest import MIRROR

BIG = 10 * 1024 * 1024  # a 10 MB single field
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DENIED = "MAHAN AIRWAYS"  # a real entry of dpl.txt


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("inputs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))
        url = f"sqlite:///{tmp / 'lists.db'}"
        outcome = update_source(get_engine(url), all_sources()["us_bis_dpl"], mirror=str(MIRROR))
        assert outcome.ok, outcome.error
        yield url


def screen_file(db: str, path: Path, fmt: str = "csv") -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["screen", "--file", str(path), "--format", fmt, "--db", db])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stdout, res.stderr


def check(db: str, path: Path, out: Path | None = None) -> tuple[int, str, str]:
    args = ["check", str(path), "--db", db, "-q", "--workers", "1"]
    res = CliRunner().invoke(app, [*args, "-o", str(out)] if out else args)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stdout, res.stderr


def csv_out(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def report(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def assert_no_live_formula(rows: list[dict[str, str]]) -> None:
    """No cell of a CSV report starts like a spreadsheet formula (CSV injection)."""
    for row in rows:
        for key, value in row.items():
            assert not (value or "").startswith(FORMULA_START), (key, value)
            assert not (key or "").startswith(FORMULA_START), key


# ---- compliance screen --file ------------------------------------------------------------------


def test_screen_empty_file(db: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, out, err = screen_file(db, path)
    assert code == 2 and out == ""
    assert str(path) in err and "empty" in err and "'name'" in err


def test_screen_header_only(db: str, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(b"name,country\r\n")
    code, out, err = screen_file(db, path)
    assert code == 0
    assert csv_out(out) == [] and out.startswith("row,name,")
    assert f"{path} has a header but no rows" in err


def test_screen_bom_crlf_and_latin1(db: str, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(f"\ufeffName,Country\r\nMüller GmbH,DE\r\n\r\n{DENIED},IR\r\n".encode())
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(f"name,country\nSociété Générale,FR\n{DENIED},IR\n".encode("latin-1"))
    for path, first in ((bom, "Müller GmbH"), (latin, "Société Générale")):
        code, out, _err = screen_file(db, path)
        rows = csv_out(out)
        assert code == 1  # the denied party matched
        assert [r["row"] for r in rows] == ["1", "2"]  # the blank CRLF line is not a row
        assert rows[0]["name"] == first and rows[0]["status"] == "clear"
        assert rows[1]["name"] == DENIED and rows[1]["country"] == "IR"
        assert rows[1]["status"] == "match" and rows[1]["best_source"] == "us_bis_dpl"
        assert not any("\r" in v or "\ufeff" in v for r in rows for v in r.values())


def test_screen_ten_megabyte_field(db: str, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f'name,country\nfirst,DE\n"{"A" * BIG}",US\n{DENIED},IR\n')
    code, out, _err = screen_file(db, path, "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # a match and an error: the match wins the exit status
    assert [r["row"] for r in rows] == [1, 2, 3]
    assert [r["status"] for r in rows] == ["clear", "error", "match"]
    assert re.fullmatch(
        r"line 3: unreadable CSV: field larger than field limit.*", rows[1]["error"]
    )
    assert rows[2]["input"]["name"] == DENIED and rows[2]["line"] == 4


def test_screen_formula_text_never_leaves_as_a_formula(db: str, tmp_path: Path) -> None:
    hostile = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3", "@SUM(A1)", "\t=1"]
    path = tmp_path / "formula.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "country"])
        w.writerows([[h, "DE"] for h in hostile] + [[DENIED, "=IR"]])
    code, out, _err = screen_file(db, path)
    rows = csv_out(out)
    assert [r["row"] for r in rows] == [str(i) for i in range(1, len(hostile) + 2)]
    assert_no_live_formula(rows)
    # quoted, not altered: the text is still there behind the quote
    assert [r["name"] for r in rows[:4]] == ["'" + h for h in hostile[:4]]
    assert rows[-1]["country"] == "'=IR" and "unknown country" in rows[-1]["error"]


def test_screen_refuses_a_workbook_clearly(db: str, tmp_path: Path) -> None:
    path = tmp_path / "parties.xlsx"
    path.write_bytes(workbook([["name"], [DENIED]]))
    code, out, err = screen_file(db, path)
    assert code == 2 and out == ""
    assert str(path) in err and "XLSX" in err and "save the sheet as CSV" in err


# ---- compliance check --------------------------------------------------------------------------

ORDER_HEADER = "order_id,customer,destination,item"


def test_check_empty_and_header_only(db: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _out, err = check(db, empty)
    assert code == 2 and str(empty) in err and "empty" in err

    header = tmp_path / "header.csv"
    header.write_bytes(ORDER_HEADER.encode() + b"\r\n")
    out = tmp_path / "header.out.csv"
    code, summary, _err = check(db, header, out)
    assert code == 0 and "Checked 0 lines" in summary
    assert report(out) == [] and out.read_text().startswith(ORDER_HEADER + ",line,decision")


def test_check_bom_crlf_and_latin1(db: str, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(f"\ufeff{ORDER_HEADER}\r\nA1,Müller GmbH,DE,\r\nA2,{DENIED},AE,\r\n".encode())
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        f"{ORDER_HEADER}\nA1,Société Générale,FR,\nA2,{DENIED},AE,\n".encode("cp1252")
    )
    for path, first in ((bom, "Müller GmbH"), (latin, "Société Générale")):
        out = tmp_path / f"{path.stem}.out.csv"
        code, _summary, _err = check(db, path, out)
        rows = report(out)
        assert code == 1
        assert [(r["order_id"], r["line"]) for r in rows] == [("A1", "2"), ("A2", "3")]
        assert rows[0]["customer"] == first and rows[0]["decision"] == "CLEAR"
        assert rows[1]["decision"] == "BLOCK" and "us_bis_dpl" in rows[1]["reasons"]
        assert not any("\r" in v or "\ufeff" in v for r in rows for v in r.values())


def test_check_ten_megabyte_field(db: str, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f'{ORDER_HEADER}\nA1,first,DE,\nA2,"{"A" * BIG}",US,\nA3,{DENIED},AE,\n')
    out = tmp_path / "big.out.csv"
    code, _summary, _err = check(db, path, out)
    rows = report(out)
    assert code == 1
    assert [r["line"] for r in rows] == ["2", "3", "4"]
    assert [r["decision"] for r in rows] == ["CLEAR", "ERROR", "BLOCK"]
    assert "line 3: unreadable CSV row: field larger than field limit" in rows[1]["reasons"]


def test_check_formula_text_in_csv_is_quoted_in_the_report(db: str, tmp_path: Path) -> None:
    path = tmp_path / "formula.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer", "destination", "=cmd|' /C calc'!A0"])
        w.writerows(
            [["=1+1", '=HYPERLINK("http://evil.example")', "DE", "@x"], ["-2", "+3", "FR", ""]]
        )
    out = tmp_path / "formula.out.csv"
    code, _summary, _err = check(db, path, out)
    rows = report(out)
    assert code == 0 and len(rows) == 2
    assert_no_live_formula(rows)
    assert rows[0]["order_id"] == "'=1+1" and rows[0]["'=cmd|' /C calc'!A0"] == "'@x"
    assert rows[1]["customer"] == "'+3" and rows[1]["order_id"] == "'-2"


def workbook(rows: list[list[object]], text_cells: dict[str, str] | None = None) -> bytes:
    """An XLSX made by openpyxl; `text_cells` are stored as text even when they start with '='."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "orders"
    for r in rows:
        ws.append(r)
    for ref, text in (text_cells or {}).items():
        ws[ref].value = text
        ws[ref].data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def patch_sheet(blob: bytes, *subs: tuple[bytes, bytes]) -> bytes:
    """Rewrite the first worksheet's XML (regex substitutions), keeping the rest of the package."""
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                for pattern, repl in subs:
                    data, n = re.subn(pattern, repl, data)
                    assert n, pattern
            dst.writestr(info, data)
    return out.getvalue()


ORDERS = [
    ["order_id", "customer", "destination"],
    ["A1", DENIED, "AE"],
    ["A2", "Plain Trading Ltd", "FR"],
    ["A3", "Müller GmbH", "DE"],
]


def test_check_xlsx_claiming_a_billion_rows(db: str, tmp_path: Path) -> None:
    path = tmp_path / "billion.xlsx"
    path.write_bytes(
        patch_sheet(
            workbook(ORDERS), (rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:Z1000000000"/>')
        )
    )
    out = tmp_path / "billion.out.csv"
    started = time.monotonic()
    code, summary, _err = check(db, path, out)
    assert time.monotonic() - started < 30
    rows = report(out)
    assert code == 1 and "Checked 3 lines" in summary
    assert [(r["order_id"], r["line"]) for r in rows] == [("A1", "2"), ("A2", "3"), ("A3", "4")]
    assert [r["decision"] for r in rows] == ["BLOCK", "CLEAR", "CLEAR"]


def test_check_xlsx_with_a_row_past_excels_limit(db: str, tmp_path: Path) -> None:
    """A row numbered 999,999,999: openpyxl would walk a billion empty rows to reach it."""
    far = b"999999999"
    path = tmp_path / "farrow.xlsx"
    path.write_bytes(
        patch_sheet(
            workbook(ORDERS),
            (rb'<row r="4"', b'<row r="' + far + b'"'),
            (rb'r="([A-Z])4"', rb'r="\g<1>' + far + b'"'),
            (rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:C' + far + b'"/>'),
        )
    )
    started = time.monotonic()
    code, _summary, err = check(db, path, tmp_path / "farrow.out.csv")
    assert time.monotonic() - started < 30
    assert code == 2
    assert str(path) in err and "1,048,576" in err and "export it as CSV" in err


def test_check_xlsx_formulas_are_never_evaluated(db: str, tmp_path: Path) -> None:
    """A formula cell gives the result the spreadsheet saved with it, or nothing: never a value
    computed here. Text that merely starts with '=' is kept, and quoted in a CSV report."""
    rows = [
        ["order_id", "customer", "destination"],
        ["F1", '=HYPERLINK("http://evil.example","Evil")', "DE"],  # no saved result
        ["F2", '=UPPER("mahan airways")', "AE"],  # saved result patched in below
        ["F3", None, "DE"],  # text "=1+2", not a formula
    ]
    blob = workbook(rows, text_cells={"B4": "=1+2"})
    blob = patch_sheet(
        blob,
        (
            rb'<c r="B3"><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
            rb'<c r="B3" t="str"><f>\1</f><v>' + DENIED.encode() + b"</v></c>",
        ),
    )
    path = tmp_path / "formulas.xlsx"
    path.write_bytes(blob)
    out = tmp_path / "formulas.out.csv"
    code, _summary, _err = check(db, path, out)
    result = report(out)
    assert code == 1
    assert [r["order_id"] for r in result] == ["F1", "F2", "F3"]
    # F1: the formula has no saved result, so the customer is empty and the line says so
    assert result[0]["customer"] == "" and result[0]["decision"] == "ERROR"
    assert "no customer" in result[0]["reasons"]
    # F2: the saved result is screened (and matches), the formula itself is not run
    assert result[1]["customer"] == DENIED and result[1]["decision"] == "BLOCK"
    # F3: formula-looking text survives and is neutralised in the CSV report
    assert result[2]["customer"] == "'=1+2"
    assert_no_live_formula(result)
    # the same lines as JSONL keep the text verbatim (JSON is not a spreadsheet)
    jsonl = tmp_path / "formulas.out.jsonl"
    check(db, path, jsonl)
    lines = [json.loads(x) for x in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [x["customer"] for x in lines] == ["", DENIED, "=1+2"]
