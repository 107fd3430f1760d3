"""Reading an official XLSX workbook safely: the one place for the checks every XLSX list needs.

The workbook is streamed (openpyxl read-only mode) and never evaluated: a formula cell gives the
value stored with it, and text starting with "=" is just text. A package that is not a ZIP, whose
members unpack to more than `max_unpacked` bytes, or whose sheet claims more than `max_rows` rows
is refused before its rows are read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from compliance.sources.base import ParseError

MAX_ROWS = 1_000_000
MAX_UNPACKED = 500_000_000


def cell_text(value: Any) -> str:
    """A cell as text: whitespace collapsed, whole floats as integers, dates as DD/MM/YYYY."""
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return " ".join(str(value).split())


def open_sheet(
    content: bytes,
    *,
    source: str,
    file: str,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    max_unpacked: int = MAX_UNPACKED,
) -> Any:
    """The named sheet (or the first) of a workbook, ready to stream with iter_rows."""
    import openpyxl  # only list updates read workbooks: keep it off every other import path

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise ParseError(f"not an XLSX workbook: {exc}", source=source, file=file) from None
    if unpacked > max_unpacked:
        raise ParseError(
            f"unpacks to {unpacked:,} bytes, over the {max_unpacked:,}-byte cap; refused as unsafe",
            source=source,
            file=file,
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged package
        raise ParseError(
            f"not a readable XLSX workbook ({exc.__class__.__name__}: {exc})",
            source=source,
            file=file,
        ) from None
    if not wb.worksheets:
        raise ParseError("workbook has no sheet", source=source, file=file)
    if sheet is not None and sheet not in wb.sheetnames:
        raise ParseError(
            f"has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})", source=source, file=file
        )
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    claimed = ws.max_row
    if claimed is not None and claimed > max_rows:
        raise ParseError(
            f"sheet {ws.title!r} claims {claimed:,} rows, over the {max_rows:,}-row cap; refused",
            source=source,
            file=file,
        )
    # The <dimension> claim also bounds iteration: a sheet claiming fewer rows than it holds
    # would be cut short silently. Drop it and stream every row, counted against max_rows.
    ws.reset_dimensions()
    return ws


def data_rows(
    rows: Iterator[tuple[Any, ...]],
    *,
    source: str,
    file: str,
    first_line: int,
    max_rows: int = MAX_ROWS,
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(line, values) of every non-blank row, refusing a sheet past `max_rows`; a hostile sheet
    can hold a million blank rows, which are skipped without being counted as data."""
    for line, values in enumerate(rows, start=first_line):
        if line > max_rows:
            raise ParseError(
                f"has more than {max_rows:,} rows; refused", source=source, file=file, line=line
            )
        if any(v is not None and v != "" for v in values):
            yield line, values
