"""Small helpers shared by the text-format parsers: decoding and dates."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime

from compliance.sources.base import ParseError


def decode_text(content: bytes, file: str, source: str = "") -> str:
    """UTF-8 (with or without BOM), falling back to Windows-1252 as US government files use.

    A NUL byte anywhere means a binary or damaged file (no official text file has one, and
    PostgreSQL text cannot hold one) and is refused, naming its line; a trailing Ctrl-Z (old DOS
    end of file mark) is dropped.
    """
    nul = content.find(b"\x00")
    if nul >= 0:
        raise ParseError(
            "contains NUL bytes: damaged download or not a text file",
            source=source,
            file=file,
            line=content.count(b"\n", 0, nul) + 1,
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    return text.rstrip("\x1a").rstrip("\r\n\x1a ") + "\n"


_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%d.%m.%Y",
    "%Y%m%d",
)


def iso_date(value: str | None, *, day_first: bool = False) -> str | None:
    """A date as ISO 'YYYY-MM-DD' (or 'YYYY' / 'YYYY-MM' when that is all it says)."""
    if not value:
        return None
    v = value.strip()
    if not v or v == "-0-":
        return None
    fmts: tuple[str, ...] = _FORMATS
    if day_first:
        fmts = ("%d/%m/%Y", *[f for f in _FORMATS if f != "%d/%m/%Y"])
    for fmt in fmts:
        try:
            return datetime.strptime(v, fmt).date().isoformat()
        except ValueError:
            continue
    m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", v)
    if m:
        return v
    m = re.fullmatch(r"(\w{3}) (\d{4})", v)  # "Mar 1960"
    if m:
        try:
            return datetime.strptime(v, "%b %Y").strftime("%Y-%m")
        except ValueError:
            return None
    return None


def csv_rows(
    content: bytes,
    file: str,
    source: str = "",
    *,
    delimiter: str = ",",
    what: str = "CSV",
    strict: bool = True,
    width: int | None = None,
    header: bool = False,
) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields) for each record of a delimited text file.

    A CSV-level error (a stray quote, a field over the csv module's size limit: signs of a
    truncated or damaged download) becomes a ParseError naming that line. With `width`, blank
    records are skipped and a record with another number of fields is such an error too (a
    `header` record is yielded unchecked: its caller says what it should have been).
    """
    text = decode_text(content, file, source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    unchecked = header
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(
                f"is not valid {what} ({exc}; truncated or damaged file?)",
                source=source,
                file=file,
                line=start,
            ) from None
        if unchecked:
            unchecked = False
        elif width is not None:
            if not any(c.strip() for c in row):
                continue
            if len(row) != width:
                raise ParseError(
                    f"has {len(row)} fields, expected {width} (truncated or damaged file?)",
                    source=source,
                    file=file,
                    line=start,
                )
        yield start, row
