"""Australia, DFAT Consolidated List (autonomous and UN sanctions), regulation8_consolidated.xlsx.

One sheet; row 1 is the header (`Reference, Name of Individual or Entity, Type, Name Type,
Date of Birth, Place of Birth, Citizenship, Address, Additional Information, Listing
Information, Committees, Control Date`, then empty columns), read by name. One row per name:
`Reference` is a number for the primary name and the number plus a letter ("2a", "2b", even
"34c1") for each alias, so every row whose Reference starts with the same number is one
listing, whose id is that number. `Name Type` is "Primary Name", "aka", "Original Script",
"Formerly known as"..., in any case and with stray spaces.

Dates of birth, citizenships and addresses are free text ("a) 12/05/1961 b) Approximately
1958", "Russian and Ukrainian"); what can be read is read (numbers are day first, as
Australia writes them), the text is kept in `fields`. The list date is the newest Control
Date. The workbook is streamed and never evaluated, with the same size limits as ConList.xlsx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from compliance.policy import BLOCK, ListPolicy
from compliance.sources.au_dfat.cells import birth_dates, citizenships, clean
from compliance.sources.au_dfat.listing import FILE, HEADER, LIST_NAME, Listing
from compliance.sources.base import ParsedList, ParseError, Source, SourceFile
from compliance.sources.xlsxsafe import data_rows, open_sheet

__all__ = ["FILE", "HEADER", "KEY", "LIST_NAME", "SOURCE", "birth_dates", "citizenships", "parse"]

KEY = "au_dfat"
MAX_ROWS = 1_000_000
MAX_UNPACKED = 500_000_000
REQUIRED = HEADER[:4]
_REFERENCE = re.compile(r"(\d{1,12})(\S*)")


def _columns(header: tuple[Any, ...], warnings: list[str]) -> dict[str, int]:
    """Column index of each known header name (matched ignoring case and spaces)."""
    found = {clean(h).lower(): i for i, h in reversed(list(enumerate(header))) if clean(h)}
    columns = {name: found[name.lower()] for name in HEADER if name.lower() in found}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        got = [clean(h) for h in header[:4]]
        raise ParseError(
            f"row 1 is not the DFAT Consolidated List header: no {', '.join(missing)} column "
            f"(got {got}...)",
            source=KEY,
            file=FILE,
            line=1,
        )
    for name in HEADER:
        if name not in columns:
            warnings.append(f"{FILE}: no {name!r} column; left empty")
    return columns


def _rows(ws: Any, warnings: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    columns = _columns(tuple(header), warnings)
    width = max(columns.values()) + 1
    for line, values in data_rows(rows, source=KEY, file=FILE, first_line=2, max_rows=MAX_ROWS):
        values = values[:width]
        if not any(clean(v) for v in values):
            continue  # blank rows (the real file ends with some)
        yield line, {name: _at(values, columns.get(name)) for name in HEADER}


def _at(values: tuple[Any, ...], i: int | None) -> Any:
    return values[i] if i is not None and i < len(values) else None


def parse(files: Mapping[str, bytes]) -> ParsedList:
    ws = open_sheet(
        files[FILE], source=KEY, file=FILE, max_rows=MAX_ROWS, max_unpacked=MAX_UNPACKED
    )
    warnings: list[str] = []
    listings: dict[str, Listing] = {}
    rows_read = 0
    for line, row in _rows(ws, warnings):
        rows_read += 1
        m = _REFERENCE.fullmatch(clean(row["Reference"]))
        if not m:
            raise ParseError(
                f"Reference {clean(row['Reference'])!r} is not a number (or number and letter)",
                source=KEY,
                file=FILE,
                line=line,
            )
        if not clean(row["Name of Individual or Entity"]):
            raise ParseError(
                f"Reference {m.group(0)} has no name", source=KEY, file=FILE, line=line
            )
        ref = str(int(m.group(1)))
        listings.setdefault(ref, Listing(ref)).add(line, m.group(2), row)
    records = [listing.record(warnings) for listing in listings.values()]
    dates = [d for r in records if (d := r.fields["control_date"])]
    return ParsedList(
        records, data_date=max(dates, default=None), warnings=warnings, rows_read=rows_read
    )


SOURCE = Source(
    key=KEY,
    title="Australia DFAT Consolidated List (autonomous and UN sanctions)",
    publisher="Australian Government, Department of Foreign Affairs and Trade (DFAT)",
    files=(
        SourceFile(
            FILE,
            "https://www.dfat.gov.au/sites/default/files/regulation8_consolidated.xlsx",
            "xlsx",
            max_bytes=100_000_000,
        ),
    ),
    parse=parse,
    homepage="https://www.dfat.gov.au/international-relations/security/sanctions/consolidated-list",
    policy=ListPolicy(
        display="Australia DFAT Consolidated List",
        category="sanctions",
        decision=BLOCK,
        rank=65,
        why="using or dealing with a listed person's assets, or making assets "
        "available to them, is "
        "a criminal offence (Autonomous Sanctions Regulations 2011, UN Charter regulations)",
    ),
)
