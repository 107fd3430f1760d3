"""Order-file reading: CSV / XLSX / JSONL, column mapping, line numbers, malformed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from compliance.orders.reader import (
    FIELDS,
    InputError,
    load_mapping_file,
    open_orders,
    parse_map_options,
)

HEADER = ",".join(FIELDS)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_csv_rows_in_order_with_physical_line_numbers(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "o.csv",
        f"{HEADER}\n"
        "A1,Acme GmbH,DE,,,,DE,H100 SXM,2\n"
        '"A2","Multi\nLine Corp",US,,,,US,RTX 4090,1\n'
        "\n"
        "A3,Solo,FR,,,,FR,,\n",
    )
    f = open_orders(p)
    rows = list(f.rows())
    assert f.format == "csv" and f.columns == list(FIELDS)
    assert [r.line for r in rows] == [2, 3, 6]  # the quoted newline spans lines 3-4; 5 blank
    assert rows[1].values["customer"] == "Multi\nLine Corp"
    assert [r.values["order_id"] for r in rows] == ["A1", "A2", "A3"]
    assert all(r.error is None for r in rows)
    assert len(f.sha256) == 64


def test_semicolon_bom_and_cp1252(tmp_path: Path) -> None:
    text = "\ufefforder_id;customer;item\n1;Société Générale;L4\n"
    p = write(tmp_path, "semi.csv", text)
    rows = list(open_orders(p).rows())
    assert rows[0].values == {"order_id": "1", "customer": "Société Générale", "item": "L4"}
    p2 = write(tmp_path, "latin.csv", "order_id,customer\n1,Müller Café\n", "cp1252")
    assert next(open_orders(p2).rows()).values["customer"] == "Müller Café"


def test_ragged_rows_become_errors_not_crashes(tmp_path: Path) -> None:
    p = write(tmp_path, "r.csv", "order_id,customer,item\n1,A\n2,B,L4,EXTRA\n3,C,L4,\n")
    rows = list(open_orders(p).rows())
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].error is None and rows[0].values["item"] == ""  # short: padded
    assert rows[1].error == "row has 4 fields, the header has 3"
    assert rows[2].error is None  # a trailing empty field is harmless


def test_missing_columns_error_lists_found_and_expected(tmp_path: Path) -> None:
    p = write(tmp_path, "bad.csv", "Order No,Sold-To Name,Material\n1,Acme,H100\n")
    with pytest.raises(InputError) as exc:
        open_orders(p)
    msg = str(exc.value)
    assert "order_id" in msg and "at least one of customer, end_user, item" in msg
    assert "'Order No', 'Sold-To Name', 'Material'" in msg
    assert "Columns expected: order_id, customer, customer_country" in msg
    f = open_orders(
        p, parse_map_options(['order_id="Order No"', "customer=Sold-To Name", "item='Material'"])
    )
    assert f.mapping == {"order_id": "Order No", "customer": "Sold-To Name", "item": "Material"}


def test_mapping_names_unknown_column_or_field(tmp_path: Path) -> None:
    p = write(tmp_path, "m.csv", "Order,Customer Name\n1,Acme\n")
    with pytest.raises(InputError, match="no such column"):
        open_orders(p, {"order_id": "Order", "customer": "Client"})
    with pytest.raises(InputError, match="unknown field 'buyer'"):
        parse_map_options(["buyer=Customer Name"])
    with pytest.raises(InputError, match="expected TARGET"):
        parse_map_options(["customer"])


def test_headers_match_loosely(tmp_path: Path) -> None:
    p = write(tmp_path, "h.csv", "Order ID,Customer,End-User,End User Country\n1,A,B,CN\n")
    f = open_orders(p)
    assert f.mapping == {
        "order_id": "Order ID",
        "customer": "Customer",
        "end_user": "End-User",
        "end_user_country": "End User Country",
    }


def test_mapping_files(tmp_path: Path) -> None:
    js = write(tmp_path, "m.json", json.dumps({"customer": "Sold-To Name", "item": "Material"}))
    assert load_mapping_file(js) == {"customer": "Sold-To Name", "item": "Material"}
    txt = write(tmp_path, "m.txt", "# SAP export\ncustomer = Sold-To Name\n\norder_id=Doc\n")
    assert load_mapping_file(txt) == {"customer": "Sold-To Name", "order_id": "Doc"}
    bad = write(tmp_path, "bad.txt", "customer = A\nnonsense\n")
    with pytest.raises(InputError, match="line 2"):
        load_mapping_file(bad)


def test_jsonl_with_bad_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "o.jsonl",
        '{"order_id": 1, "customer": "Acme", "quantity": 2.0}\n'
        "{not json}\n"
        "\n"
        "[1, 2]\n"
        '{"order_id": "4", "end_user": "Beta", "note": {"a": 1}}\n',
    )
    f = open_orders(p)
    assert f.columns == ["order_id", "customer", "quantity", "end_user", "note"]
    rows = list(f.rows())
    assert [r.line for r in rows] == [1, 2, 4, 5]
    assert rows[0].values["order_id"] == "1" and rows[0].values["quantity"] == "2"
    assert rows[1].error.startswith("invalid JSON")
    assert rows[2].error == "expected a JSON object, got list"
    assert rows[3].values["note"] == '{"a": 1}' and rows[3].values["customer"] == ""


def test_xlsx_with_header_below_title_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append([])
    ws.append(["Order", "Client", "Product", "Qty"])
    ws.append([1001, "Acme", "H100 SXM", 4.0])
    ws.append([None, None, None, None])
    ws.append([1002, "Beta", "L4", 1, "stray"])
    p = tmp_path / "o.xlsx"
    wb.save(p)
    f = open_orders(
        p, {"order_id": "Order", "customer": "Client", "item": "Product", "quantity": "Qty"}
    )
    rows = list(f.rows())
    assert [r.line for r in rows] == [3, 5]
    assert rows[0].values == {"Order": "1001", "Client": "Acme", "Product": "H100 SXM", "Qty": "4"}
    assert rows[1].error == "row has values beyond the 4 header columns"


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_orders(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="empty"):
        open_orders(write(tmp_path, "e.csv", ""))
    with pytest.raises(InputError, match="not a readable XLSX"):
        open_orders(write(tmp_path, "x.xlsx", "order_id,customer\n"))
    with pytest.raises(InputError, match="cannot tell the format"):
        open_orders(write(tmp_path, "x.pdf", "x"))
