"""Screen every row of a parties file, in order, on one or more cores.

Rows stream through: the file is read lazily, screened in chunks by worker processes that
inherit the loaded index (fork), and results come back in input order. A row that cannot be
screened gets status "error" with the reason; no row is ever dropped.
"""

from __future__ import annotations

import csv
import io
import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from compliance import gctune
from compliance.progress import NO_PROGRESS, Progress
from compliance.screening import Query, Screener, ScreeningError

T = TypeVar("T")

PARTY_COLUMNS = ("name", "type", "country", "dob", "id")
CHUNK = 256


class InputFileError(ValueError):
    pass


@dataclass
class Row:
    number: int  # 1-based data row number (the header is row 0)
    line: int  # line in the file where the row starts
    values: dict[str, str]
    error: str | None = None


def read_parties(path: Path) -> Iterator[Row]:
    """CSV rows with a header holding `name` (and optionally type, country, dob, id)."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot open: {exc.strerror}") from None
    with fh:
        raw = fh.read(65536)
        if raw.startswith(b"PK\x03\x04"):
            raise InputFileError(
                f"{path}: this is a ZIP/XLSX workbook, not CSV; save the sheet as CSV (UTF-8) "
                "and screen that file"
            )
        encoding = "utf-8-sig"
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < len(raw) - 4:  # not just a multi-byte char cut at the buffer edge
                encoding = "cp1252"
        fh.seek(0)
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise InputFileError(
                f"{path}: the file is empty; expected a header with 'name'"
            ) from None
        except csv.Error as exc:
            raise InputFileError(f"{path} line 1: {exc}") from None
        cols = [h.strip().lower() for h in header]
        if "name" not in cols:
            raise InputFileError(
                f"{path}: no 'name' column; found {', '.join(repr(c) for c in header) or 'none'}"
                f" (expected name and optionally {', '.join(PARTY_COLUMNS[1:])})"
            )
        number = 0
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield Row(number, line, {}, f"line {line}: unreadable CSV: {exc}")
                continue
            if not values:
                continue  # a blank line is not a row
            number += 1
            row = {c: (values[i].strip() if i < len(values) else "") for i, c in enumerate(cols)}
            err = None
            if len(values) > len(cols):
                err = f"line {line}: {len(values)} fields but the header has {len(cols)}"
            yield Row(number, line, row, err)


_SCREENER: Screener | None = None
_OPTS: dict[str, Any] = {}


def _screen_row(row: Row) -> dict[str, Any]:
    assert _SCREENER is not None
    inp = {k: row.values.get(k, "") for k in PARTY_COLUMNS if k in row.values}
    out: dict[str, Any] = {"row": row.number, "line": row.line, "input": inp}
    if row.error:
        return out | {"status": "error", "matches": [], "error": row.error}
    if not row.values.get("name", "").strip() and not row.values.get("id", "").strip():
        return out | {
            "status": "error",
            "matches": [],
            "error": f"line {row.line}: the name is empty",
        }
    query = Query(
        name=row.values.get("name", ""),
        type=row.values.get("type") or None,
        country=row.values.get("country") or None,
        dob=row.values.get("dob") or None,
        id=row.values.get("id") or None,
    )
    try:
        result = _SCREENER.screen(query, threshold=_OPTS["threshold"], limit=_OPTS["limit"])
    except ScreeningError as exc:
        return out | {"status": "error", "matches": [], "error": f"line {row.line}: {exc}"}
    matches = [m.to_dict() for m in result.matches]
    return out | {"status": "match" if matches else "clear", "matches": matches, "error": None}


def _screen_chunk(rows: list[Row]) -> list[dict[str, Any]]:
    return [_screen_row(r) for r in rows]


def chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """`rows` in lists of `size` (the last may be shorter), read as they are needed."""
    chunk: list[T] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def screen_rows(
    rows: Iterable[Row],
    screener: Screener,
    *,
    threshold: float | None = None,
    limit: int = 10,
    workers: int = 1,
    progress: Progress = NO_PROGRESS,
    total: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Results in input order, one per row. `progress` gets task "screen": rows done of about
    `total` (None: unknown)."""
    progress.start("screen", "screening rows", total)
    done = 0
    for result in _screen_rows(rows, screener, threshold, limit, workers):
        yield result
        done += 1
        if done % CHUNK == 0:
            progress.advance("screen", CHUNK)
    progress.update("screen", completed=done, total=done)
    progress.finish("screen")


def count_rows(path: Path) -> int | None:
    """About how many data rows `path` holds (its lines less the header), for a progress bar's
    total and time left; None when it cannot be read."""
    lines, last = 0, b""
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                lines += block.count(b"\n")
                last = block
    except OSError:
        return None
    if last and not last.endswith(b"\n"):
        lines += 1  # a last line without its newline
    return max(lines - 1, 0)


def _screen_rows(
    rows: Iterable[Row], screener: Screener, threshold: float | None, limit: int, workers: int
) -> Iterator[dict[str, Any]]:
    global _SCREENER, _OPTS
    _SCREENER = screener
    _OPTS = {"threshold": threshold, "limit": limit}
    if workers <= 1:
        with gctune.tuned():
            for r in rows:
                yield _screen_row(r)
        return
    ctx = mp.get_context("fork")  # workers share the loaded index copy-on-write
    window: deque[Any] = deque()  # bounded, so a huge file never sits in memory at once
    with gctune.tuned(), ctx.Pool(workers) as pool:  # forked workers inherit the tuning
        for chunk in chunks(rows, CHUNK):
            window.append(pool.apply_async(_screen_chunk, (chunk,)))
            if len(window) >= workers * 4:
                yield from window.popleft().get()
        while window:
            yield from window.popleft().get()
