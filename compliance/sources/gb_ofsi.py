"""UK OFSI Consolidated List of Financial Sanctions Targets, ConList.xlsx ("2022 format").

Sheet `Data`: row 1 is `Last Updated` and the list date, row 2 the 36-column header, then one
row per name variation. Rows sharing a Group ID are one target. Name 6 is the surname (or the
whole name of an entity or ship), Name 1..5 the given names.

The workbook is read through compliance/sources/xlsxsafe.py (streamed, never evaluated, size
and row caps checked before any row is read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from compliance.countries import to_iso2
from compliance.policy import BLOCK, Listing, ListPolicy, un_key
from compliance.sources.base import (
    Address,
    EntityRecord,
    Identifier,
    Name,
    ParsedList,
    ParseError,
    Source,
    SourceFile,
)
from compliance.sources.scripts import detect_script
from compliance.sources.text import iso_date
from compliance.sources.xlsxsafe import cell_text, data_rows, open_sheet

KEY = "gb_ofsi"
FILE = "ConList.xlsx"
SHEET = "Data"
MAX_ROWS = 1_000_000
MAX_UNPACKED = 500_000_000
LIST_NAME = "UK OFSI Consolidated List of Financial Sanctions Targets"
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
GROUP_TYPES = {"Individual": "person", "Entity": "organization", "Ship": "vessel"}
# Tagged facts inside "Other Information", e.g. "(UK Sanctions List Ref):RUS0001."
_TAGS = {
    "UK Sanctions List Ref": "uk_sanctions_list_ref",
    "UN Ref": "un_reference",
    "Gender": "gender",
    "Type of entity": "type_of_entity",
    "Parent company": "parent_company",
    "Business Reg No": "business_registration_number",
    "IMO number": "imo_number",
    "Current owners": "current_owners",
    "Flag of ship": "flag",
    "Previous flags": "previous_flags",
    "Type of ship": "type_of_ship",
    "Tonnage of ship": "tonnage",
    "Length of ship": "length",
    "Year built": "year_built",
    "UK Statement of Reasons": "statement_of_reasons",
}
_LONG_TAGS = {"statement_of_reasons", "parent_company", "current_owners", "type_of_entity"}
_TAG_RE = re.compile(r"\((" + "|".join(re.escape(t) for t in _TAGS) + r")\):")
# Spellings in the ConList that the generic country table does not know (typos included).
_COUNTRIES = {
    "congo (democratic republic)": "CD",
    "occupied palestinian territories": "PS",
    "palestinian territories": "PS",
    "belrus": "BY",
    "bosnia-herzegovina": "BA",
    "britain": "GB",
    "german": "DE",
    "guinea bissau": "GW",
    "repubic of moldova": "MD",
    "russian": "RU",
}


def _country(text: str | None) -> str | None:
    if not text:
        return None
    key = text.strip().lower()
    if key in _COUNTRIES:
        return _COUNTRIES[key]
    code = to_iso2(text)
    if code is None and "(" in text:  # "Iraq (previous address)"
        code = _country(text.split("(", 1)[0])
    return code


def _countries(text: str) -> list[str | None]:
    """One cell's countries: 'Estonia, Russia' is two when each part is a known country."""
    code = _country(text)
    if code is None and re.search(r"[,.;]", text):
        parts = [_country(p) for p in re.split(r"[,.;]\s*", text) if p.strip()]
        if parts and all(parts):
            return parts
    return [code]


@lru_cache(maxsize=8192)
def _enumerated(text: str | None) -> tuple[str, ...]:
    """'(1) Chad. (2) Sudan' -> ['Chad', 'Sudan']; plain text -> [text]."""
    if not text:
        return ()
    parts = (p.strip().rstrip(".;,").strip() for p in re.split(r"\(\d{1,2}\)\s*", text))
    return tuple(p for p in parts if p)


def _dob(value: Any) -> str | None:
    """'dd/mm/yyyy' with 00 for unknown parts, 'mm/yyyy' or 'yyyy' -> ISO (partial)."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    parts = str(value).strip().split("/")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    day, month, year = (["00", "00"] + parts)[-3:]
    if len(year) != 4 or year == "0000":
        return None
    if int(month) == 0:
        return year
    if int(day) == 0:
        return f"{year}-{int(month):02d}" if int(month) <= 12 else None
    return iso_date(f"{int(day):02d}/{int(month):02d}/{year}", day_first=True)


@lru_cache(maxsize=8192)
def _tags(info: str) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    matches = list(_TAG_RE.finditer(info))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(info)
        value = info[m.end() : end].strip()
        key = _TAGS[m.group(1)]
        if key not in _LONG_TAGS:  # "(UN Ref):QDi.003. Driver and ..." -> "QDi.003"
            value = re.split(r"\.(?:\s|$)", value, maxsplit=1)[0]
        value = value.strip().rstrip(".").strip()
        if value:
            out.setdefault(key, value)
    return tuple(out.items())


class _Target:
    """The rows of one Group ID, folded into one EntityRecord."""

    def __init__(self, gid: str, group_type: str, line: int) -> None:
        self.gid, self.group_type, self.line = gid, group_type, line
        self.rows: list[dict[str, str]] = []

    def record(self, warnings: list[str]) -> EntityRecord:
        rows = self.rows
        by_type = {
            t: [r for r in rows if r["Alias Type"] == t]
            for t in ("Primary name", "Primary name variation")
        }
        first = (by_type["Primary name"] or by_type["Primary name variation"] or rows)[0]
        primary = _full_name(first)
        names = _names(rows, primary)
        lists, addresses, identifiers, tags = _facts(rows, warnings)
        for kind, key in (
            ("IMO", "imo_number"),
            ("Business Registration Number", "business_registration_number"),
        ):
            if key in tags:
                identifiers.append(Identifier(kind, tags[key]))
        countries = list(lists["nat"])
        for code in [a.country_code for a in addresses] + lists["countries"]:
            _add(countries, code)
        return EntityRecord(
            source_id=self.gid,
            entity_type=GROUP_TYPES.get(self.group_type, "unknown"),
            name=primary,
            names=names,
            programs=lists["programs"],
            lists=[LIST_NAME],
            addresses=addresses,
            identifiers=identifiers,
            dates_of_birth=lists["dob"],
            nationalities=lists["nat"],
            countries=countries,
            remarks=first["Other Information"] or None,
            fields={
                "group_type": self.group_type,
                "listed_on": iso_date(first["Listed On"], day_first=True),
                "uk_sanctions_list_date_designated": iso_date(
                    first["UK Sanctions List Date Designated"], day_first=True
                ),
                "last_updated": max(
                    (d for r in rows if (d := iso_date(r["Last Updated"], day_first=True))),
                    default=None,
                ),
                "other_information": first["Other Information"] or None,
                "titles": lists["titles"],
                "positions": lists["positions"],
                "places_of_birth": lists["pob"],
                **{k: v for k, v in tags.items() if k != "statement_of_reasons"},
            },
            raw=_raw(rows),
        )


def _names(rows: list[dict[str, str]], primary: str) -> list[Name]:
    """Every distinct name of the target's rows: Latin names as akas (low quality as weak akas),
    names in another script as original-script names."""
    names, seen = [Name(primary, "primary")], {primary.casefold()}
    for r in rows:
        name = _full_name(r)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            quality = r["Alias Quality"] or None
            kind = "fka" if r["Alias Type"] == "FKA" else "aka"
            if quality == "Low quality":
                kind = "weak_aka"
            names.append(Name(name, kind, quality=quality))
        script_name = r["Name Non-Latin Script"]
        if script_name and script_name.casefold() not in seen:
            seen.add(script_name.casefold())
            script = detect_script(script_name)
            # the column also holds Latin spellings with diacritics: those are plain akas
            kind = "aka" if script in (None, "Latin") else "original_script"
            names.append(Name(script_name, kind, script=script if kind != "aka" else None))
    return names


def _facts(
    rows: list[dict[str, str]], warnings: list[str]
) -> tuple[dict[str, list[str]], list[Address], list[Identifier], dict[str, str]]:
    """Birth dates, nationalities, regimes, positions, titles, places and countries of birth,
    addresses, identifiers and the tagged Other Information of the target's rows."""
    lists: dict[str, list[str]] = {
        k: [] for k in ("dob", "nat", "programs", "positions", "titles", "pob", "countries")
    }
    addresses: list[Address] = []
    identifiers: list[Identifier] = []
    tags: dict[str, str] = {}
    for r in rows:
        if r["DOB"]:
            dob = _dob(r["DOB"])
            if dob is None:
                warnings.append(f"{FILE} row {r['_row']}: unreadable DOB {r['DOB']!r}")
            _add(lists["dob"], dob)
        for nat in _enumerated(r["Nationality"]):
            for code in _countries(nat):
                if code is None:
                    warnings.append(f"{FILE} row {r['_row']}: unknown nationality {nat!r}")
                _add(lists["nat"], code)
        _add(lists["programs"], r["Regime"])
        _add(lists["positions"], r["Position"])
        _add(lists["titles"], r["Title"])
        for place in _places_of_birth(r):
            _add(lists["pob"], place)
        for country in _enumerated(r["Country of Birth"]):
            for code in _countries(country):
                _add(lists["countries"], code)
        address = _address(r)
        if address and address not in addresses:
            addresses.append(address)
        for ident in _identifiers(r):
            if ident not in identifiers:
                identifiers.append(ident)
        for k, v in _tags(r["Other Information"]):
            tags.setdefault(k, v)
    return lists, addresses, identifiers, tags


def _raw(rows: list[dict[str, str]]) -> dict[str, Any]:
    """The rows as stated, compactly: cells equal on every row once, then each row's others."""
    cells = [{k: v for k, v in r.items() if v and k != "_row"} for r in rows]
    common = {k: v for k, v in cells[0].items() if all(c.get(k) == v for c in cells[1:])}
    return {
        "common": common,
        "rows": [{k: v for k, v in c.items() if k not in common} for c in cells],
    }


def _places_of_birth(r: dict[str, str]) -> list[str]:
    towns, countries = _enumerated(r["Town of Birth"]), _enumerated(r["Country of Birth"])
    if len(towns) == len(countries):
        return [f"{t}, {c}" for t, c in zip(towns, countries, strict=True)]
    return [*towns, *countries]


def _add(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


def _full_name(r: dict[str, str]) -> str:
    return " ".join(
        r[k] for k in ("Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6") if r[k]
    )


def _address(r: dict[str, str]) -> Address | None:
    lines = [r[f"Address {i}"] for i in range(1, 7) if r[f"Address {i}"]]
    if not lines and not r["Post/Zip Code"] and not r["Country"]:
        return None
    return Address(
        full=", ".join(p for p in (*lines, r["Post/Zip Code"], r["Country"]) if p),
        street=", ".join(lines) or None,
        postal_code=r["Post/Zip Code"] or None,
        country=r["Country"] or None,
        country_code=_country(r["Country"]),
    )


def _identifiers(r: dict[str, str]) -> list[Identifier]:
    out = []
    for kind, number_col, details_col in (
        ("Passport", "Passport Number", "Passport Details"),
        (
            "National Identification Number",
            "National Identification Number",
            "National Identification Details",
        ),
    ):
        numbers = _enumerated(r[number_col])
        details = _enumerated(r[details_col])
        if len(details) != len(numbers):  # cannot pair them up: every number gets all details
            details = (r[details_col],) * len(numbers)
        for number, note in zip(numbers, details, strict=True):
            # details often start with the issuing country: "Tunisia number. Issued on ..."
            country = (
                _country(note) or _country(re.split(r"[.,;]| number", note)[0]) if note else None
            )
            out.append(Identifier(kind, number, country=country, note=note or None))
    return out


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
    first = next(rows, None)
    if not first or cell_text(first[0]) != "Last Updated":
        raise ParseError(
            f"row 1 should be 'Last Updated' and the list date, got "
            f"{[cell_text(c) for c in (first or ())[:2]]}",
            source=KEY,
            file=FILE,
            line=1,
        )
    data_date = _dob(first[1]) if first[1] is not None else None
    header = [cell_text(c) for c in next(rows, ())]
    if header != HEADER:
        raise ParseError(
            f"row 2 is not the 36-column ConList header (got {header[:4]}...)",
            source=KEY,
            file=FILE,
            line=2,
        )
    targets: dict[str, _Target] = {}
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
            target = targets[gid] = _Target(gid, group_type, line)
        elif group_type != target.group_type:
            warnings.append(
                f"{FILE} row {line}: Group ID {gid} is {group_type!r} here but "
                f"{target.group_type!r} on row {target.line}"
            )
        target.rows.append(row)
    records = [t.record(warnings) for t in targets.values()]
    return ParsedList(records, data_date=data_date, warnings=warnings, rows_read=rows_read)


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
