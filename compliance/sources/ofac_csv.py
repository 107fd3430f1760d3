"""OFAC legacy CSV sets (sdn.csv / add.csv / alt.csv / sdn_comments.csv and the cons_* files).
OFAC's vocabulary shared with the XML parsers lives in `ofac_vocab`.

The CSVs have no header row, write nulls as `-0-` (often with a trailing space), end with a DOS
Ctrl-Z, join several programs as `IRAN] [SDGT`, and carry most structured facts (birth dates,
passports, nationality, weak aliases...) inside the free-text Remarks column as `; `-separated
items. Remarks longer than 1,000 characters continue in the comments file. Rows of the address
and alias files whose entry is missing from the main file are counted and reported as warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from compliance.sources.base import (
    Address,
    EntityRecord,
    Name,
    ParsedList,
    ParseError,
)
from compliance.sources.ofac_vocab import (
    ALIAS_KINDS,
    ENTITY_TYPES,
    add_country,
    add_fact,
    add_name,
    apply_remarks,
    country_code,
    non_sdn_lists,
    split_programs,
)
from compliance.sources.text import csv_rows

PRIMARY_COLUMNS = (
    "ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage",
    "GRT", "Vess_flag", "Vess_owner", "Remarks",
)  # fmt: skip
ADDRESS_COLUMNS = ("ent_num", "Add_num", "Address", "City/State/Province/Postal Code", "Country",
                   "Add_remarks")  # fmt: skip
ALIAS_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
COMMENT_COLUMNS = ("ent_num", "Remarks_Extended")
_UNSTRIPPED = ("Remarks", "Remarks_Extended")
REMARKS_MAX = 1000  # the Remarks column's width; longer remarks continue in the comments file

VESSEL_FIELDS = {"Call_Sign": "call_sign", "Vess_type": "vessel_type", "Tonnage": "tonnage",
                 "GRT": "gross_registered_tonnage", "Vess_flag": "vessel_flag",
                 "Vess_owner": "vessel_owner"}  # fmt: skip


# --- the CSV files -------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvSet:
    """The official file names of one CSV set."""

    primary: str
    address: str
    alias: str
    comments: str


SDN_FILES = CsvSet("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
CONS_FILES = CsvSet("cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv")


def read_rows(
    content: bytes, file: str, columns: tuple[str, ...], source: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; `-0-` becomes ''. Damage raises ParseError."""
    for start, row in csv_rows(content, file, source, width=len(columns)):
        # Remarks keep their edge spaces: a 1,000-character Remarks cell and its continuation
        # in the comments file can split "Government Gazette" at the space.
        cells = [
            c if k in _UNSTRIPPED and c.strip() != "-0-" else c.strip()
            for k, c in zip(columns, row, strict=True)
        ]
        if not cells[0].isdigit():
            raise ParseError(
                f"{columns[0]} {cells[0][:40]!r} is not a number",
                source=source,
                file=file,
                line=start,
            )
        yield start, {k: ("" if v == "-0-" else v) for k, v in zip(columns, cells, strict=True)}


def parse_csv_set(
    files: Mapping[str, bytes], names: CsvSet, source: str, sdn: bool = True
) -> ParsedList:
    """Join one CSV set into records. Only the primary file is needed; the others add to it."""
    if names.primary not in files:
        raise ParseError("is missing from the file set", source=source, file=names.primary)
    comments: dict[str, str] = {}
    if names.comments in files:
        for _, row in read_rows(files[names.comments], names.comments, COMMENT_COLUMNS, source):
            comments[row["ent_num"]] = comments.get(row["ent_num"], "") + row["Remarks_Extended"]
    records: dict[str, EntityRecord] = {}
    rows_read = 0
    for line, row in read_rows(files[names.primary], names.primary, PRIMARY_COLUMNS, source):
        rows_read += 1
        ent = row["ent_num"]
        if ent in records:
            raise ParseError(
                f"ent_num {ent} appears twice", source=source, file=names.primary, line=line
            )
        records[ent] = _primary_record(row, comments.pop(ent, ""), names.primary, line, source, sdn)
    warnings: list[str] = []
    cut = [
        r.source_id
        for r in records.values()
        if len(r.raw["row"]["Remarks"]) >= REMARKS_MAX and "remarks_extended" not in r.raw
    ]
    if cut:
        warnings.append(
            f"{names.primary}: {len(cut)} entries have Remarks cut at {REMARKS_MAX} characters "
            f"with no continuation in {names.comments} (ent_num {', '.join(cut[:5])})"
        )
    if comments:
        some = ", ".join(sorted(comments, key=int)[:5])
        warnings.append(
            f"{names.comments}: {len(comments)} rows for entries not in {names.primary} "
            f"(ent_num {some}{'...' if len(comments) > 5 else ''})"
        )
    if names.alias in files:
        _join(records, read_rows(files[names.alias], names.alias, ALIAS_COLUMNS, source),
              _add_alias, f"{names.alias}: {{}} alias rows for entries not in {names.primary}",
              warnings)  # fmt: skip
    if names.address in files:
        _join(records, read_rows(files[names.address], names.address, ADDRESS_COLUMNS, source),
              _add_address_row, f"{names.address}: {{}} address rows for entries not in "
              f"{names.primary}", warnings)  # fmt: skip
    return ParsedList(
        list(records.values()), data_date=None, warnings=warnings, rows_read=rows_read
    )


def _join(
    records: dict[str, EntityRecord],
    rows: Iterator[tuple[int, dict[str, str]]],
    add: Callable[[EntityRecord, dict[str, str]], None],
    orphan_warning: str,
    warnings: list[str],
) -> None:
    """Add each row of an alias or address file to its entry; rows whose entry is missing from
    the main file (files of different days) are counted and reported."""
    orphans = 0
    for _, row in rows:
        rec = records.get(row["ent_num"])
        if rec is None:
            orphans += 1
        else:
            add(rec, row)
    if orphans:
        warnings.append(orphan_warning.format(orphans))


def _add_alias(rec: EntityRecord, row: dict[str, str]) -> None:
    weak = "weak" in f"{row['alt_type']} {row['alt_remarks']}".lower()
    kind = "weak_aka" if weak else ALIAS_KINDS.get(row["alt_type"].lower(), "aka")
    add_name(rec, Name(row["alt_name"], kind, quality="weak" if weak else None))
    rec.raw.setdefault("aliases", []).append(row)


def _add_address_row(rec: EntityRecord, row: dict[str, str]) -> None:
    rec.raw.setdefault("addresses", []).append(row)
    _add_address(rec, row)


def _primary_record(
    row: dict[str, str], extra: str, file: str, line: int, source: str, sdn: bool
) -> EntityRecord:
    kind = row["SDN_Type"].lower()
    if kind not in ENTITY_TYPES:
        raise ParseError(
            f"unknown SDN_Type {row['SDN_Type']!r}", source=source, file=file, line=line
        )
    if not row["SDN_Name"]:
        raise ParseError("has no SDN_Name", source=source, file=file, line=line)
    programs = split_programs(row["Program"])
    rec = EntityRecord(
        source_id=row["ent_num"],
        entity_type=ENTITY_TYPES[kind],
        name=row["SDN_Name"],
        programs=programs,
        lists=["SDN List"] if sdn else non_sdn_lists(programs),
        raw={"row": row},
    )
    if extra:
        rec.raw["remarks_extended"] = extra
    remarks = (row["Remarks"] + extra).strip()
    rec.remarks = remarks or None
    if row["Title"]:
        add_fact(rec, "Title", row["Title"])
    for col, key in VESSEL_FIELDS.items():
        if row[col]:
            rec.fields[key] = row[col]
    add_country(rec, country_code(row["Vess_flag"]))
    if remarks:
        apply_remarks(rec, remarks)
    return rec


def _add_address(rec: EntityRecord, row: dict[str, str]) -> None:
    parts = (row["Address"], row["City/State/Province/Postal Code"], row["Country"])
    if not any(parts):
        return  # OFAC keeps an all-null placeholder row for many entries
    code = country_code(row["Country"])
    rec.addresses.append(
        Address(
            full=", ".join(p for p in parts if p),
            street=row["Address"] or None,
            city=row["City/State/Province/Postal Code"] or None,  # OFAC's one combined column
            country=row["Country"] or None,
            country_code=code,
        )
    )
    add_country(rec, code)
