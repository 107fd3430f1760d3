"""Parties files in the formats data warehouses export: CSV, JSON Lines and Parquet.

Every format maps to the same columns as the CSV reader (name, type, country, dob, id; case and
spaces in column names ignored) and yields `Row`s numbered from 1 in file order. A row that cannot
be read becomes a Row carrying its error, so a batch reports it instead of losing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from compliance.screen_file import PARTY_COLUMNS, InputFileError, Row, read_parties

FORMATS = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip
PARQUET_BATCH = 8192


def parties_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise InputFileError(
            f"{path}: this is an XLSX workbook, not CSV; save the sheet as CSV (UTF-8) "
            "and screen that file"
        )
    if fmt is None:
        raise InputFileError(
            f"{path}: cannot tell the format from '{path.suffix or 'no extension'}'; "
            "use .csv, .jsonl or .parquet"
        )
    return fmt


def read_any(path: Path) -> Iterator[Row]:
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; give the file in it to read")
    fmt = parties_format(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    if fmt == "csv":
        return read_parties(path)
    if fmt == "jsonl":
        return _jsonl(path)
    return _parquet(path)


def _values(record: dict[str, Any]) -> dict[str, str]:
    """The party columns of one record, as text (missing and null as empty)."""
    by_key = {str(k).strip().lower(): v for k, v in record.items()}
    return {c: "" if by_key.get(c) is None else str(by_key[c]).strip() for c in PARTY_COLUMNS}


def _jsonl(path: Path) -> Iterator[Row]:
    number = 0
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            number += 1
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield Row(number, line_no, {}, f"line {line_no}: not a JSON object: {exc}")
                continue
            if not isinstance(record, dict):
                yield Row(number, line_no, {}, f"line {line_no}: not a JSON object")
                continue
            yield Row(number, line_no, _values(record))


def _parquet(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq  # only Parquet files need pyarrow

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = [c for c in pf.schema_arrow.names if c.strip().lower() in PARTY_COLUMNS]
    if not any(c.strip().lower() == "name" for c in columns):
        raise InputFileError(
            f"{path}: no 'name' column; found {', '.join(pf.schema_arrow.names) or 'none'} "
            f"(expected name and optionally {', '.join(PARTY_COLUMNS[1:])})"
        )
    number = 0
    for batch in pf.iter_batches(batch_size=PARQUET_BATCH, columns=columns):
        for record in batch.to_pylist():
            number += 1
            yield Row(number, number + 1, _values(record))  # "line": row position, header = 1
