"""CSL rows as entities: one row -> an EntityRecord; the rows of one entry (one per address)
collapse into one entity, and a Treasury entity listed on several sub-lists into one; the CSV
file read row by row."""

from __future__ import annotations

import re
from typing import Any

from compliance.sources.base import Address, EntityRecord, Name, ParsedList, ParseError
from compliance.sources.text import csv_rows, iso_date
from compliance.sources.us_trade_csl.cells import (
    ORG_WORDS,
    TYPES,
    birth_dates,
    clean,
    country_codes,
    identifiers,
    names_in_primary,
    parse_address,
    parse_csv_id,
    split,
    split_aliases,
)
from compliance.sources.us_trade_csl.lists import KNOWN_CODES, code_rank, list_code

KEY = "us_trade_csl"
CSV_FILE = "consolidated.csv"
JSON_FILE = "consolidated.json"
BASE_URL = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/"
COLUMNS = [
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
    "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage",
    "vessel_flag", "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships",
    "dates_of_birth", "nationalities", "places_of_birth", "source_information_url", "ids",
]  # fmt: skip
TEXT_FIELDS = (
    "entity_number", "title", "federal_register_notice", "license_requirement", "license_policy",
    "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
    "vessel_owner", "source_list_url", "source_information_url",
)  # fmt: skip
LIST_FIELDS = (
    "programs", "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth",
)  # fmt: skip
_YES_NO = {"Y": True, "YES": True, "TRUE": True, "N": False, "NO": False, "FALSE": False}


def _sub_list_code(sub_list: str, where: str, warnings: list[str]) -> str | None:
    """The sub-list's short code; a warning when it has none or no declared policy."""
    code = list_code(sub_list)
    if code is None:
        warnings.append(f"{where}: sub-list {sub_list!r} has no short code in parentheses")
    elif code not in KNOWN_CODES:
        warnings.append(
            f"{where}: sub-list {sub_list!r} ({code}) has no declared policy in "
            "us_trade_csl.SUB_LISTS; its hits are REVIEW until it is declared"
        )
    return code


def row_record(
    row: dict[str, Any], raw: dict[str, Any], where: str, warnings: list[str]
) -> EntityRecord:
    """One normalised row (text fields cleaned; list fields as lists; addresses as Address;
    ids as dicts) -> an entity."""
    sub_list = row["source"]
    code = _sub_list_code(sub_list, where, warnings)
    kind = row["type"].lower()
    if kind and kind not in TYPES:
        warnings.append(f"{where}: unknown type {row['type']!r}, kept as unknown")
    name = row["name"]
    entity_type = TYPES.get(kind, "unknown")
    inferred = not kind and bool(ORG_WORDS.search(name))
    if inferred:
        entity_type = "organization"
    names = [Name(name, "primary"), *names_in_primary(name), *split_aliases(row["alt_names"])]
    idents, info = identifiers(row["ids"])
    nationalities = country_codes(row["nationalities"] + row["citizenships"])
    addresses: list[Address] = _dedupe(row["addresses"])
    countries = list(
        dict.fromkeys([a.country_code for a in addresses if a.country_code] + nationalities)
    )
    order = row["standard_order"].upper()
    gender = next((i["value"] for i in info if (i["type"] or "").lower() == "gender"), None)
    fields: dict[str, Any] = {k: row[k] or None for k in TEXT_FIELDS}
    fields |= {
        "list_code": code,
        "list_codes": [code] if code else [],
        "start_date": iso_date(row["start_date"]),
        "end_date": iso_date(row["end_date"]),
        "standard_order": _YES_NO.get(order),
        "citizenships": country_codes(row["citizenships"]),
        "places_of_birth": row["places_of_birth"],
        "gender": gender,
        "additional_information": info,
        "type_inferred": inferred,
        "row_ids": [row["_id"]],
    }
    return EntityRecord(
        source_id=row["_id"],
        entity_type=entity_type,
        name=name,
        names=_dedupe_names(names),
        programs=row["programs"],
        lists=[sub_list],
        addresses=addresses,
        identifiers=idents,
        dates_of_birth=birth_dates(row["dates_of_birth"], where, warnings),
        nationalities=nationalities,
        countries=countries,
        remarks=row["remarks"] or None,
        fields=fields,
        raw={"rows": [raw]},
    )


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def _dedupe_names(names: list[Name]) -> list[Name]:
    seen: set[str] = set()
    out: list[Name] = []
    for n in names:
        key = n.name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


_UNION_ATTRS = (
    "programs",
    "addresses",
    "identifiers",
    "dates_of_birth",
    "nationalities",
    "countries",
)


def _absorb(lead: EntityRecord, other: EntityRecord) -> None:
    """Everything `other` says about the entry, added to `lead`."""
    lead.lists = _dedupe(lead.lists + other.lists)
    lead.names = _dedupe_names(lead.names + other.names)
    for attr in _UNION_ATTRS:
        setattr(lead, attr, _dedupe(getattr(lead, attr) + getattr(other, attr)))
    for key in ("list_codes", "additional_information", "row_ids"):
        lead.fields[key] = _dedupe(lead.fields[key] + other.fields[key])
    citations = _citations(lead.fields["federal_register_notice"])
    citations += _citations(other.fields["federal_register_notice"])
    lead.fields["federal_register_notice"] = ", ".join(_dedupe(citations)) or None
    remarks = _dedupe([r for r in (lead.remarks, other.remarks) if r])
    lead.remarks = "; ".join(remarks) or None
    lead.raw["rows"] += other.raw["rows"]


_FR_CITE = re.compile(r"\b(\d{1,3})\s*F\.?\s*R\.?\s*(\d{1,6})\b")


def _citations(text: str | None) -> list[str]:
    """'67 F.R. 56530 9/4/02 67 F.R. 10890 3/11/02' -> ['67 FR 56530', '67 FR 10890']; text
    holding no such citation is kept as written, piece by piece."""
    found = [f"{vol} FR {page}" for vol, page in _FR_CITE.findall(text or "")]
    return found or [c for c in (clean(p) for p in re.split(r"[,;]", text or "")) if c]


def _fold(text: str | None) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", (text or "").casefold()).split())


def _entry_key(rec: EntityRecord) -> tuple[str, ...] | None:
    """Rows that are one entry of a BIS or State sub-list (see the module docstring); None
    for Treasury rows, whose ent_num already is the entry."""
    f = rec.fields
    if f["entity_number"]:
        return None
    when = f["start_date"] or _fold(f["federal_register_notice"])
    terms = (_fold(f["license_requirement"]), _fold(f["license_policy"]))
    return (f["list_code"] or rec.lists[0], _fold(rec.name), when or "", *terms)


def _collapse(records: list[EntityRecord]) -> list[EntityRecord]:
    """Rows of one entry (one per address) -> one entity, with the smallest `_id` of its rows."""
    groups: dict[tuple[str, ...] | int, list[EntityRecord]] = {}
    for n, rec in enumerate(records):  # Treasury rows pass through, to be merged by `_id`
        groups.setdefault(_entry_key(rec) or n, []).append(rec)
    out = []
    for group in groups.values():
        group.sort(key=lambda r: r.source_id)
        lead = group[0]
        for other in group[1:]:
            _absorb(lead, other)
        out.append(lead)
    return out


def _merge(records: list[EntityRecord]) -> list[EntityRecord]:
    """Rows sharing an `_id` (one Treasury entity on several sub-lists) -> one entity, led by
    the row of the first sub-list in CODE_ORDER."""
    groups: dict[str, list[EntityRecord]] = {}
    for rec in records:
        groups.setdefault(rec.source_id, []).append(rec)
    out = []
    for group in groups.values():
        group.sort(key=lambda r: code_rank(r.fields["list_code"]))
        lead = group[0]
        for other in group[1:]:
            _absorb(lead, other)
        out.append(lead)
    return out


def finish(records: list[EntityRecord], rows: int, warnings: list[str]) -> ParsedList:
    starts = [
        d
        for r in records
        for row in r.raw["rows"]
        if (d := iso_date(row.get("start_date"))) and d < "2100"
    ]
    return ParsedList(
        _merge(_collapse(records)),
        data_date=max(starts, default=None),
        warnings=warnings,
        rows_read=rows,
    )


def parse_csv(content: bytes) -> ParsedList:
    reader = csv_rows(content, CSV_FILE, KEY, width=len(COLUMNS), header=True)
    _, header = next(reader, (1, None))
    if header is None or [h.strip() for h in header] != COLUMNS:
        got = header[:4] if header else "nothing"
        raise ParseError(
            f"header is not the CSL's 29 columns (_id, source, entity_number, ...; got {got})",
            source=KEY,
            file=CSV_FILE,
            line=1,
        )
    records: list[EntityRecord] = []
    warnings: list[str] = []
    rows = 0
    for line, cells in reader:
        rows += 1
        raw = dict(zip(COLUMNS, cells, strict=True))
        row: dict[str, Any] = {k: clean(v) for k, v in raw.items()}
        for k in LIST_FIELDS:
            row[k] = split(raw[k]) if k != "alt_names" else [raw[k]] if raw[k].strip() else []
        row["addresses"] = [parse_address(a) for a in split(raw["addresses"])]
        row["ids"] = [parse_csv_id(e) for e in split(raw["ids"])]
        for k in ("_id", "source", "name"):
            if not row[k]:
                raise ParseError(f"has no {k}", source=KEY, file=CSV_FILE, line=line)
        records.append(row_record(row, raw, f"{CSV_FILE} line {line}", warnings))
    return finish(records, rows, warnings)
