"""Streaming order-file reader for CSV, XLSX and JSONL, with column mapping.

Rows are yielded one at a time, in file order, each with its line number (the physical line of
a CSV record's first line, the sheet row of an XLSX row, the line of a JSONL object). A row that
cannot be read becomes a RawRow carrying an error; it never stops the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from compliance.orders.line import FIELDS, PARTY_FIELDS

FORMATS = ("csv", "xlsx", "jsonl")
MAX_CELL = 131_072  # characters, as the csv module's own field limit
XLSX_MAX_ROWS = 1_048_576  # Excel's sheet size: no valid workbook has a row beyond it


class InputError(Exception):
    """The file cannot be checked at all (unreadable, wrong format, required columns missing)."""


@dataclass
class RawRow:
    line: int
    values: dict[str, str]  # input column -> cell text, every input column present
    error: str | None = None


@dataclass
class OrderFile:
    path: Path
    format: str
    columns: list[str]  # input columns, in file order
    mapping: dict[str, str]  # target field -> input column
    sha256: str
    approx_rows: int | None
    _rows: Iterator[RawRow] = field(repr=False)

    def rows(self) -> Iterator[RawRow]:
        return self._rows


def parse_map_options(items: Sequence[str]) -> dict[str, str]:
    """`customer=Sold-To Name` strings (from repeated --map) -> {"customer": "Sold-To Name"}."""
    out: dict[str, str] = {}
    for item in items:
        target, sep, source = item.partition("=")
        target, source = target.strip(), source.strip().strip('"').strip("'")
        if not sep or not target or not source:
            raise InputError(f'--map {item!r}: expected TARGET="Source Column"')
        _check_target(target, f"--map {item!r}")
        out[target] = source
    return out


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """A mapping file: a JSON object {"customer": "Sold-To Name"}, or lines `customer = Sold-To
    Name` (blank lines and # comments ignored)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping file {p}: cannot read it ({exc})") from exc
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"mapping file {p}: invalid JSON at line {exc.lineno}") from exc
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise InputError(f"mapping file {p}: every key and value must be a string")
        for k in data:
            _check_target(k, f"mapping file {p}")
        return {k: v.strip() for k, v in data.items()}
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out |= parse_map_options([line])
        except InputError as exc:
            raise InputError(f"mapping file {p} line {n}: {exc}") from None
    return out


def _check_target(target: str, where: str) -> None:
    if target not in FIELDS:
        raise InputError(f"{where}: unknown field {target!r}; fields are {', '.join(FIELDS)}")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_.]+", "_", name.strip().lower()).strip("_")


def resolve_mapping(columns: Sequence[str], explicit: Mapping[str, str]) -> dict[str, str]:
    """Target field -> input column. Explicit mappings must name a real column; other fields
    map to a column of the same name (case, spaces and dashes ignored)."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    out: dict[str, str] = {}
    for target, source in explicit.items():
        if source in columns:
            out[target] = source
        elif _norm(source) in by_norm:
            out[target] = by_norm[_norm(source)]
        else:
            raise InputError(
                f"mapping {target}={source!r}: no such column. Columns found: "
                f"{', '.join(map(repr, columns)) or '(none)'}"
            )
    taken = set(out.values())
    for target in FIELDS:
        if target in out:
            continue
        col = by_norm.get(target)
        if col is not None and col not in taken:
            out[target] = col
    missing = []
    if "order_id" not in out:
        missing.append("order_id")
    if not any(f in out for f in (*PARTY_FIELDS, "item")):
        missing.append("at least one of customer, end_user, item")
    if missing:
        raise InputError(
            f"missing required column(s): {'; '.join(missing)}. "
            f"Columns found: {', '.join(map(repr, columns)) or '(none)'}. "
            f"Columns expected: {', '.join(FIELDS)} "
            '(map other names with --map FIELD="Source Column" or --mapping FILE)'
        )
    return out


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise InputError(f"{path}: cannot tell the format from {suffix!r}; use --input-format")


def _scan(path: Path) -> tuple[str, int]:
    """sha256 of the file and its number of newlines, in one streaming pass."""
    h = hashlib.sha256()
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            lines += chunk.count(b"\n")
    return h.hexdigest(), lines


def _encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            return "cp1252"
    return "utf-8-sig"


def open_orders(
    path: str | Path, mapping: Mapping[str, str] | None = None, fmt: str | None = None
) -> OrderFile:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a folder; give the file in it to read")
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    kind = detect_format(p, fmt)
    try:
        sha, newlines = _scan(p)
    except OSError as exc:
        raise InputError(f"{p}: cannot read it ({exc})") from exc
    if kind == "csv":
        columns, rows, approx = _open_csv(p)
        approx = approx if approx is not None else newlines
    elif kind == "jsonl":
        columns, rows = _open_jsonl(p)
        approx = newlines
    else:
        columns, rows, approx = _open_xlsx(p)
    resolved = resolve_mapping(columns, mapping or {})
    return OrderFile(p, kind, columns, resolved, sha, approx, rows)


def _dedupe(header: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(header):
        name = name.strip() or f"column_{i + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def _open_csv(p: Path) -> tuple[list[str], Iterator[RawRow], int | None]:
    enc = _encoding(p)
    f = p.open("r", encoding=enc, errors="replace", newline="")
    sample = f.read(1 << 16)
    f.seek(0)
    first = sample.splitlines()[0] if sample else ""
    delimiter = max(",;\t|", key=first.count) if first else ","
    reader = csv.reader(f, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        f.close()
        raise InputError(f"{p}: the file is empty (no header row)") from None
    except csv.Error as exc:
        f.close()
        raise InputError(f"{p}: the header row cannot be read ({exc})") from exc
    columns = _dedupe(header)
    return columns, _csv_rows(f, reader, columns), None


def _csv_rows(f: IO[str], reader: Any, columns: list[str]) -> Iterator[RawRow]:
    with f:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(start, dict.fromkeys(columns, ""), f"unreadable CSV row: {exc}")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank line: not an order line
            values = dict(zip(columns, cells, strict=False))
            error = None
            if len(cells) != len(columns):
                for c in columns[len(cells) :]:
                    values[c] = ""
                if len(cells) > len(columns):
                    extra = [c for c in cells[len(columns) :] if c.strip()]
                    if extra:
                        error = f"row has {len(cells)} fields, the header has {len(columns)}"
            yield RawRow(line, values, error)


def _open_jsonl(p: Path) -> tuple[list[str], Iterator[RawRow]]:
    # One pass for the keys (output columns must be known up front), one for the rows.
    columns: dict[str, None] = {}
    with p.open("r", encoding=_encoding(p), errors="replace") as f:
        for raw in f:
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    for k in obj:
                        columns.setdefault(str(k), None)
    cols = list(columns)
    if not cols:
        raise InputError(f"{p}: no JSON object found (one object per line expected)")
    return cols, _jsonl_rows(p, cols)


def _jsonl_rows(p: Path, columns: list[str]) -> Iterator[RawRow]:
    with p.open("r", encoding=_encoding(p), errors="replace") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            empty = dict.fromkeys(columns, "")
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield RawRow(n, empty, f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(obj, dict):
                yield RawRow(n, empty, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield RawRow(n, {c: cell_text(obj.get(c)) for c in columns})


def _open_xlsx(p: Path) -> tuple[list[str], Iterator[RawRow], int | None]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{p}: not a readable XLSX workbook ({exc})") from exc
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header_line = 0
    header: list[str] = []
    for row in it:
        header_line += 1
        cells = [cell_text(c) for c in row]
        if any(cells):
            while cells and not cells[-1]:
                cells.pop()
            header = cells
            break
    if not header:
        wb.close()
        raise InputError(f"{p}: the first sheet is empty (no header row)")
    columns = _dedupe(header)
    approx = (ws.max_row - header_line) if ws.max_row else None
    return columns, _xlsx_rows(wb, it, header_line, columns, p), approx


def _xlsx_rows(
    wb: Any, it: Iterator[tuple[Any, ...]], header_line: int, columns: list[str], path: Path
) -> Iterator[RawRow]:
    try:
        for n, row in enumerate(it, header_line + 1):
            if n > XLSX_MAX_ROWS:
                # openpyxl yields an empty row for every missing row number: a sheet claiming
                # row 999,999,999 would otherwise be walked a billion times
                raise InputError(
                    f"{path}: sheet row numbers go past Excel's limit of "
                    f"{XLSX_MAX_ROWS:,} rows (damaged or hostile workbook); re-save it in a "
                    "spreadsheet program or export it as CSV"
                )
            cells = [cell_text(c) for c in row]
            if not any(c.strip() for c in cells):
                continue
            values = dict(zip(columns, cells, strict=False))
            for c in columns[len(cells) :]:
                values[c] = ""
            extra = [c for c in cells[len(columns) :] if c.strip()]
            error = f"row has values beyond the {len(columns)} header columns" if extra else None
            yield RawRow(n, values, error)
    finally:
        wb.close()


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious .0, dates ISO, nested JSON as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL]
