"""Result writers: every input column kept, decision columns added, formulas neutralised."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from compliance.orders.reasons import LineResult, reason_from_dict
from compliance.orders.writer import escape_formula, open_writer, output_columns

HOSTILE = ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "\tx", "\rx", "ok", "a=b"]


def results() -> list[LineResult]:
    reason = reason_from_dict({"kind": "party", "decision": "BLOCK", "text": "=cmd|' /C calc'!A0"})
    return [
        LineResult(2, "A1", "BLOCK", [reason], {"order_id": "A1", "customer": h}) for h in HOSTILE
    ] + [LineResult(10, "A2", "CLEAR", [], {"order_id": "A2", "customer": "Acme\x01 Ltd"})]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_writers(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    w = open_writer(path, ["order_id", "customer"], {"us_bis_dpl": "2023-11-28", "x": None})
    for r in results():
        w.write(r)
    w.close()
    if fmt == "csv":
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    elif fmt == "xlsx":
        rows = [list(r) for r in load_workbook(path).active.iter_rows(values_only=True)]
    else:
        objs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        assert [o["customer"] for o in objs[:-1]] == HOSTILE  # JSON keeps values verbatim
        assert objs[0]["decision"] == "BLOCK" and objs[0]["reasons"][0]["kind"] == "party"
        assert objs[0]["lists_as_of"] == {"us_bis_dpl": "2023-11-28", "x": None}
        assert objs[-1]["line"] == 10
        return
    assert rows[0] == ["order_id", "customer", "line", "decision", "reasons", "lists_as_of"]
    body = rows[1:]
    assert len(body) == len(HOSTILE) + 1
    for row, raw in zip(body, HOSTILE, strict=False):
        assert row[1] == ("'" + raw if raw[0] in "=+-@\t\r" else raw)
        assert row[4] == "'=cmd|' /C calc'!A0"
        assert row[5] == "us_bis_dpl 2023-11-28; x undated"
    if fmt == "xlsx":
        assert body[-1][1] == "Acme\ufffd Ltd"  # a control character XLSX cannot hold
        wb = load_workbook(path)
        assert all(c.data_type == "s" for row in wb.active.iter_rows() for c in row if c.value)


def test_escape_and_column_collisions() -> None:
    assert escape_formula("=1") == "'=1" and escape_formula("1=1") == "1=1"
    assert output_columns(["decision", "x"]) == [
        "decision",
        "x",
        "line",
        "check_decision",
        "reasons",
        "lists_as_of",
    ]
