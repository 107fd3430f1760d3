"""UK OFSI Consolidated List of Financial Sanctions Targets, ConList.xlsx ("2022 format").

Sheet `Data`: row 1 is `Last Updated` and the list date, row 2 the 36-column header, then one
row per name variation. Rows sharing a Group ID are one target. Name 6 is the surname (or the
whole name of an entity or ship), Name 1..5 the given names.

The workbook is read through compliance/sources/xlsxsafe.py (streamed, never evaluated, size
and row caps checked before any row is read).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compliance.policy import BLOCK, Listing, ListPolicy, un_key
from compliance.sources.base import ParsedList, ParseError, Source, SourceFile
from compliance.sources.gb_ofsi.cells import read_dob
from compliance.sources.gb_ofsi.target import FILE, GROUP_TYPES, LIST_NAME, Target
from compliance.sources.xlsxsafe import cell_text, data_rows, open_sheet

__all__ = ["FILE", "HEADER", "KEY", "LIST_NAME", "SHEET", "SOURCE", "merge_key", "parse"]

KEY = "gb_ofsi"
SHEET = "Data"
MAX_ROWS = 1_000_000
MAX_UNPACKED = 500_000_000
HEADER = [
    "Name 6", "Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Title", "Name Non-Latin Script",
    "Non-Latin Script Type", "Non-Latin Script Language", "DOB", "Town of Birth",
    "Country of Birth", "Nationality", "Passport Number", "Passport Details",
    "National Identification Number", "National Identification Details", "Position",
    "Address 1", "Address 2", "Address 3", "Address 4", "Address 5", "Address 6",
    "Post/Zip Code", "Country", "Other Information", "Group Type", "Alias Type",
    "Alias Quality", "Regime", "Listed On", "UK Sanctions List Date Designated", "Last Updated",
    "Group ID",
]  # fmt: skip


def parse(files: Mapping[str, bytes]) -> ParsedList:
    ws = open_sheet(
        files[FILE],
        source=KEY,
        file=FILE,
        sheet=SHEET,
        max_rows=MAX_ROWS,
        max_unpacked=MAX_UNPACKED,
    )
    rows = ws.iter_rows(values_only=True, max_col=len(HEADER))
    data_date = _read_header(rows)
    targets: dict[str, Target] = {}
    warnings: list[str] = []
    rows_read = 0
    for line, values in data_rows(rows, source=KEY, file=FILE, first_line=3, max_rows=MAX_ROWS):
        row = {h: cell_text(v) for h, v in zip(HEADER, values, strict=False)}
        if not any(row.values()):
            continue
        rows_read += 1
        row["_row"] = str(line)
        gid = row.get("Group ID", "")
        if not gid:
            raise ParseError("has no Group ID", source=KEY, file=FILE, line=line)
        if not (row["Name 6"] or row["Name 1"]):
            raise ParseError(
                f"Group ID {gid} row has no name (Name 6 and Name 1 empty)",
                source=KEY,
                file=FILE,
                line=line,
            )
        group_type = row["Group Type"]
        target = targets.get(gid)
        if target is None:
            if group_type not in GROUP_TYPES:
                warnings.append(f"{FILE} row {line}: unknown Group Type {group_type!r}")
            target = targets[gid] = Target(gid, group_type, line)
        elif group_type != target.group_type:
            warnings.append(
                f"{FILE} row {line}: Group ID {gid} is {group_type!r} here but "
                f"{target.group_type!r} on row {target.line}"
            )
        target.rows.append(row)
    records = [t.record(warnings) for t in targets.values()]
    return ParsedList(records, data_date=data_date, warnings=warnings, rows_read=rows_read)


def _read_header(rows: Iterator[tuple[Any, ...]]) -> str | None:
    """Rows 1 and 2: `Last Updated` with the list date, then the 36-column header. The date."""
    first = next(rows, None)
    if not first or cell_text(first[0]) != "Last Updated":
        raise ParseError(
            f"row 1 should be 'Last Updated' and the list date, got "
            f"{[cell_text(c) for c in (first or ())[:2]]}",
            source=KEY,
            file=FILE,
            line=1,
        )
    header = [cell_text(c) for c in next(rows, ())]
    if header != HEADER:
        raise ParseError(
            f"row 2 is not the 36-column ConList header (got {header[:4]}...)",
            source=KEY,
            file=FILE,
            line=2,
        )
    return read_dob(first[1]) if first[1] is not None else None


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """A UN designation by the UN reference it cites (a UN designation this list implements)."""
    return un_key(entry.fields.get("un_reference"))


SOURCE = Source(
    key=KEY,
    title="UK OFSI Consolidated List of Financial Sanctions Targets",
    publisher="HM Treasury, Office of Financial Sanctions Implementation (OFSI)",
    files=(
        SourceFile(
            FILE,
            "https://ofsistorage.blob.core.windows.net/publishlive/2022format/ConList.xlsx",
            "xlsx",
            max_bytes=100_000_000,
        ),
    ),
    parse=parse,
    homepage="https://www.gov.uk/government/publications/financial-sanctions-consolidated-list-of-targets",
    policy=ListPolicy(
        display="UK OFSI Consolidated List",
        category="sanctions",
        decision=BLOCK,
        rank=50,
        merge_key=merge_key,
        why="asset freeze: no funds or economic resources may be made available (UK regulations)",
    ),
)
