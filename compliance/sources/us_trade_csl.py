"""Trade.gov Consolidated Screening List (CSL): thirteen US export and sanctions lists in one file.

consolidated.csv has 29 columns and a header row; several values hold lists joined by "; ".
consolidated.json (optional) has the same fields as {"results": [...]}, with addresses and ids as
objects. The CSV, whose format is checked against a real file, is preferred; the JSON is used when
the CSV is absent or cannot be parsed (a warning says so).

One entry's `_id` is the OFAC ent_num for Treasury lists and a hash for the others. Treasury
entries listed on several sub-lists (SDN and SSI and CAPTA...) appear once per sub-list with the
same `_id`; those rows become one entity carrying every sub-list in `lists` and `list_codes`,
so `rows_read` counts rows and the records count entities.

BIS and State rows have hash ids and one row per address: rows of one sub-list with the same
name, the same start date (the FR citation when there is none) and the same license terms are one
entry, so they become one entity with every name, address and FR citation. Its id is the smallest
`_id` of its rows (independent of row order; every row's `_id` is kept in fields["row_ids"]).
Rows whose license terms differ (one address under another license policy) stay apart, so each
hit states the terms that apply. `rows_read` counts rows; the records count entries.

Types: the `type` column (Individual / Entity / Vessel / Aircraft). The BIS and State sub-lists
leave it empty; such a row is typed organization when its name says so (a legal form or a word
such as Institute, University, Trading; fields["type_inferred"] is then true) and stays unknown
otherwise: the Entity List, the DPL and the ITAR debarred list name people too, and typing a
person "organization" would hide them from a screening that asks for a person.

What a hit means, per sub-list (SUB_LISTS; the lists other sources publish are declared there):
SDN, DPL, FSE -> BLOCK (dealings prohibited); Entity List, MEU, MIEU -> LICENSE_REQUIRED; UVL,
ISN, ITAR debarred, SSI, NS-CMIC, NS-MBS, NS-PLC, CAPTA -> REVIEW (each restricts some dealings,
not an export of EAR items as such; an officer must read the entry). A sub-list nobody declared
is REVIEW, and the update warns about it.

data_date is the latest start_date in the file (the file states no publication date; start_date is
the date an entry took effect, so the newest one is the closest thing to "as of").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import pycountry

from compliance.countries import to_iso2
from compliance.policy import (
    LICENSE_REQUIRED,
    REVIEW,
    Listing,
    ListPolicy,
    SubList,
    Vocabulary,
    denial_order_key,
    ofac_key,
)
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
from compliance.sources.federal_register import ENTITY_LIST
from compliance.sources.text import csv_rows, decode_text, iso_date
from compliance.sources.us_bis_dpl import DPL_LIST
from compliance.sources.us_ofac_cons import NON_SDN_LISTS
from compliance.sources.us_ofac_sdn import SDN_LIST

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
_TEXT_FIELDS = (
    "entity_number", "title", "federal_register_notice", "license_requirement", "license_policy",
    "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
    "vessel_owner", "source_list_url", "source_information_url",
)  # fmt: skip
_LIST_FIELDS = (
    "programs", "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth",
)  # fmt: skip
# Short codes in the order sub-lists are listed on a merged entity (trade.gov's own codes).
CODE_ORDER = (
    "EL",
    "SDN",
    "DPL",
    "UVL",
    "MEU",
    "ISN",
    "DTC",
    "SSI",
    "CMIC",
    "PLC",
    "CAP",
    "MBS",
    "FSE",
)
VOCABULARY = Vocabulary(
    types={
        "individual": "person",
        "entity": "organization",
        "vessel": "vessel",
        "aircraft": "aircraft",
    },
    countries={"gaza strip": "PS", "west bank": "PS"},  # written as the country in addresses
)
_TYPES = VOCABULARY.types
# Words that make an untyped name an organisation's (see the module docstring).
_ORG_WORDS = re.compile(
    r"\b(co|corp|corporation|company|companies|ltd|limited|llc|inc|incorporated|gmbh|ag|sa|"
    r"s\.a|sarl|srl|spa|bv|nv|ab|as|oy|jsc|ojsc|cjsc|pjsc|ooo|zao|oao|pao|ao|plc|llp|pte|pvt|"
    r"fze|fzco|fzc|fzllc|lda|kg|ug|sdn|bhd|tic|sti|group|holdings?|industry|industries|"
    r"industrial|institute|university|academy|college|school|center|centre|laborator(y|ies)|"
    r"bureau|ministry|department|agency|organi[sz]ation|enterprises?|trading|technolog(y|ies)|"
    r"electronics?|international|systems|services|airlines?|airways|aviation|shipping|bank|"
    r"factory|plant|works|research|association|foundation|committee|council|authority|army|"
    r"navy|regiment|brigade|battalion|hospital|network|communications?|engineering|logistics|"
    r"import|export|semiconductors?|manufactur\w*|establishment|office|firm|partners)\b",
    re.IGNORECASE,
)

# What a hit on each sub-list means (see the module docstring); the lists that other sources
# publish themselves are declared in those sources' modules.
MEU_LIST = SubList(
    "MEU",
    "MEU",
    LICENSE_REQUIRED,
    "export_control",
    publisher="BIS",
    why="a license is required for the items of Supp. No. 2 to part 744 (15 CFR 744.21)",
)
MIEU_LIST = SubList(
    "MIEU",
    "MIEU",
    LICENSE_REQUIRED,
    "export_control",
    publisher="BIS",
    why="a license is required for all items subject to the EAR (15 CFR 744.22)",
)
UVL_LIST = SubList(
    "UVL",
    "UVL",
    REVIEW,
    "export_control",
    publisher="BIS",
    why="no license by the listing itself, but no license exception and a UVL statement from "
    "the party before any export (15 CFR 744.15): an officer must look",
)
ISN_LIST = SubList(
    "ISN",
    "ISN",
    REVIEW,
    "sanctions",
    publisher="State",
    why="nonproliferation sanctions differ per entry (procurement, assistance, licenses): "
    "read its Federal Register notice",
)
DTC_LIST = SubList(
    "DTC",
    "ITAR Debarred",
    REVIEW,
    "export_control",
    publisher="State",
    why="barred from exports of defense articles (ITAR, 22 CFR 127.7), not of EAR items such "
    "as chips: an officer must look",
)
SUB_LISTS: tuple[SubList, ...] = (
    SDN_LIST,
    DPL_LIST,
    ENTITY_LIST,
    MEU_LIST,
    MIEU_LIST,
    UVL_LIST,
    *NON_SDN_LISTS,
    ISN_LIST,
    DTC_LIST,
)
_KNOWN_CODES = frozenset(s.code for s in SUB_LISTS)
_OFAC_CODES = frozenset(s.code for s in SUB_LISTS if s.publisher == "OFAC")
# Entries in `ids` that describe the entity rather than identify it.
_INFO_TYPES = {
    "gender",
    "target type",
    "aircraft model",
    "aircraft operator",
    "former vessel flag",
    "other vessel flag",
    "other vessel type",
    "nationality of registration",
    "registration country",
    "issuer name",
    "executive order 14024 directive information",
}
_YES_NO = {"Y": True, "YES": True, "TRUE": True, "N": False, "NO": False, "FALSE": False}
_ALIAS_MARK = re.compile(r",?\s*\b([afn])\.k\.a\.,?\s*", re.IGNORECASE)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def list_code(sub_list: str) -> str | None:
    """'Entity List (EL) - Bureau of ...' -> 'EL'; '... (NS-MBS List) - ...' -> 'MBS'."""
    m = re.search(r"\(([A-Z][A-Z-]*)(?: List)?\)", sub_list)
    if not m:
        return None
    code = m.group(1)
    return code.removeprefix("NS-")


def _clean(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _split(value: str) -> list[str]:
    return [p for p in (_clean(p) for p in value.split(";")) if p]


def split_aliases(values: list[str]) -> list[Name]:
    """Alias strings as the CSL writes them -> clean names.

    Handles '; and ' before the last alias, stray leading '-', embedded 'X, a.k.a., Y' and
    'f.k.a. Y' (former name), and notes in parentheses that are not names.
    """
    out: list[Name] = []
    for value in values:
        for i, part in enumerate(_split(value)):
            if i and part.startswith("and "):
                part = part[4:]
            part = part.lstrip("-– ").strip()
            if not part or (part.startswith("(") and part.endswith(")")):
                continue
            out.extend(_split_marks(part))
    return out


def _split_marks(text: str) -> list[Name]:
    """'A a.k.a. B' -> A, B; 'f.k.a. B' -> B (fka). Marks inside parentheses are left alone."""
    names: list[Name] = []
    kind, start, depth = "aka", 0, 0
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            m = _ALIAS_MARK.match(text, pos)
            if m and (pos == 0 or text[pos] in ", " or text[pos - 1] == " "):
                piece = text[start:pos].strip(" ,")
                if piece:
                    names.append(Name(piece, kind))
                kind = {"a": "aka", "f": "fka", "n": "nka"}[m.group(1).lower()]
                start = pos = m.end()
                continue
        pos += 1
    piece = text[start:].strip(" ,")
    if piece:
        names.append(Name(piece, kind))
    return names


def _names_in_primary(name: str) -> list[Name]:
    """'Mexpar International, Inc. (a.k.a. Pasadena Aerospace; Aviation Logistics and Supply)',
    'Chitron Electronics Company Ltd., a.k.a. Chi-Chung Electronics Company Ltd.'."""
    m = re.fullmatch(r"(.+?)\s*\(([afn])\.k\.a\.,?\s*(.+)\)", name, re.IGNORECASE)
    if not m:
        names = _split_marks(name)
        return names if len(names) > 1 else []
    kind = {"a": "aka", "f": "fka", "n": "nka"}[m.group(2).lower()]
    names = [Name(m.group(1), "aka")]
    names += [Name(n.name, kind) for n in split_aliases([m.group(3)])]
    return names


def _country(text: str) -> str | None:
    return VOCABULARY.country(text) or to_iso2(text)


@lru_cache(maxsize=128)
def _is_us_state(code: str) -> bool:
    return pycountry.subdivisions.get(code=f"US-{code}") is not None


def parse_address(text: str) -> Address:
    """'street, city, state, postal, CC' with empty parts left out, so the split is a best guess:
    country code last, then a postal code (has digits), a US state code, the city, the street."""
    full = _clean(text)
    parts = [p.strip() for p in full.split(", ") if p.strip()]
    country = code = None
    if parts and (
        (re.fullmatch(r"[A-Z]{2}", parts[-1]) and _country(parts[-1]))
        or (len(parts) > 1 and _country(parts[-1]))
    ):
        country = parts.pop()
        code = _country(country)
    while parts and code and _country(parts[-1]) == code and len(parts) > 1:
        parts.pop()  # "..., China, CN": the country written out as well
    postal = state = city = None
    if len(parts) > 1 and re.fullmatch(r"(?=(?:\D*\d){2})[A-Z0-9][A-Z0-9 -]{1,9}", parts[-1]):
        postal = parts.pop()
    if (
        len(parts) > 1
        and code in ("US", None)
        and re.fullmatch(r"[A-Z]{2}", parts[-1])
        and _is_us_state(parts[-1])
    ):
        state = parts.pop()
    if parts:
        city = parts.pop()
    street = ", ".join(parts) or None
    return Address(
        full=full,
        street=street,
        city=city,
        state=state,
        postal_code=postal,
        country=country,
        country_code=code,
    )


def parse_csv_id(entry: str) -> dict[str, str | None]:
    """'[CC, ][expiry, ][issue, ]number, type' (the CSV writes the JSON fields in reverse and
    drops empty ones, so a lone date may be either the issue or the expiry date)."""
    parts = entry.split(", ")
    out: dict[str, str | None] = dict.fromkeys(
        ("type", "number", "country", "issue_date", "expiration_date", "date")
    )
    if len(parts) == 1:
        out["number"] = _clean(entry)
        return out
    out["type"] = _clean(parts.pop())
    if len(parts) > 1 and re.fullmatch(r"[A-Z]{2}", parts[0].strip()):
        out["country"] = parts.pop(0).strip()
    dates: list[str] = []
    while len(parts) > 1 and _ISO_DAY.fullmatch(parts[0].strip()):
        dates.append(parts.pop(0).strip())
    if len(dates) == 2:
        out["expiration_date"], out["issue_date"] = dates
    elif len(dates) == 1:
        out["date"] = dates[0]
    elif dates:
        parts = dates + parts
    out["number"] = _clean(", ".join(parts))
    return out


def _identifiers(ids: list[dict[str, str | None]]) -> tuple[list[Identifier], list[dict]]:
    idents: list[Identifier] = []
    info: list[dict[str, str | None]] = []
    for i in ids:
        kind, number = i.get("type"), i.get("number") or ""
        low = (kind or "").lower()
        if (
            not kind
            or low in _INFO_TYPES
            or low.endswith((":", "-"))
            or "date" in low
            or "information" in low
        ):
            info.append({"type": kind, "value": number})
            continue
        notes = []
        if i.get("issue_date"):
            notes.append(f"issued {i['issue_date']}")
        if i.get("expiration_date"):
            notes.append(f"expires {i['expiration_date']}")
        if i.get("date"):
            notes.append(f"dated {i['date']} (issue or expiry date)")
        country = i.get("country")
        ident = Identifier(kind, number, to_iso2(country) or country, ", ".join(notes) or None)
        if ident not in idents:
            idents.append(ident)
    return idents, info


def _birth_dates(values: list[str], where: str, warnings: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = re.sub(r"^(circa|approximately|about)\s+", "", v, flags=re.IGNORECASE)
        m = re.fullmatch(r"(\d{4}) to (\d{4})", v)
        if m and 0 <= int(m.group(2)) - int(m.group(1)) <= 10:
            out += [str(y) for y in range(int(m.group(1)), int(m.group(2)) + 1)]
            continue
        d = iso_date(v)
        if d:
            out.append(d)
        else:
            warnings.append(f"{where}: date of birth {v!r} not understood")
    return list(dict.fromkeys(out))


def _codes(values: list[str]) -> list[str]:
    return [c for c in dict.fromkeys(to_iso2(v) for v in values) if c]


def _record(
    row: dict[str, Any], raw: dict[str, Any], where: str, warnings: list[str]
) -> EntityRecord:
    """One normalised row (text fields cleaned; list fields as lists; addresses as Address;
    ids as dicts) -> an entity."""
    sub_list = row["source"]
    code = list_code(sub_list)
    if code is None:
        warnings.append(f"{where}: sub-list {sub_list!r} has no short code in parentheses")
    elif code not in _KNOWN_CODES:
        warnings.append(
            f"{where}: sub-list {sub_list!r} ({code}) has no declared policy in "
            "us_trade_csl.SUB_LISTS; its hits are REVIEW until it is declared"
        )
    kind = row["type"].lower()
    if kind and kind not in _TYPES:
        warnings.append(f"{where}: unknown type {row['type']!r}, kept as unknown")
    name = row["name"]
    entity_type = _TYPES.get(kind, "unknown")
    inferred = not kind and bool(_ORG_WORDS.search(name))
    if inferred:
        entity_type = "organization"
    names = [Name(name, "primary"), *_names_in_primary(name), *split_aliases(row["alt_names"])]
    idents, info = _identifiers(row["ids"])
    nationalities = _codes(row["nationalities"] + row["citizenships"])
    addresses: list[Address] = _dedupe(row["addresses"])
    countries = list(
        dict.fromkeys([a.country_code for a in addresses if a.country_code] + nationalities)
    )
    order = row["standard_order"].upper()
    gender = next((i["value"] for i in info if (i["type"] or "").lower() == "gender"), None)
    fields: dict[str, Any] = {k: row[k] or None for k in _TEXT_FIELDS}
    fields |= {
        "list_code": code,
        "list_codes": [code] if code else [],
        "start_date": iso_date(row["start_date"]),
        "end_date": iso_date(row["end_date"]),
        "standard_order": _YES_NO.get(order),
        "citizenships": _codes(row["citizenships"]),
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
        dates_of_birth=_birth_dates(row["dates_of_birth"], where, warnings),
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


def _order(code: str | None) -> int:
    return CODE_ORDER.index(code) if code in CODE_ORDER else len(CODE_ORDER)


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
    return found or [c for c in (_clean(p) for p in re.split(r"[,;]", text or "")) if c]


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
        group.sort(key=lambda r: _order(r.fields["list_code"]))
        lead = group[0]
        for other in group[1:]:
            _absorb(lead, other)
        out.append(lead)
    return out


def _finish(records: list[EntityRecord], rows: int, warnings: list[str]) -> ParsedList:
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
        row: dict[str, Any] = {k: _clean(v) for k, v in raw.items()}
        for k in _LIST_FIELDS:
            row[k] = _split(raw[k]) if k != "alt_names" else [raw[k]] if raw[k].strip() else []
        row["addresses"] = [parse_address(a) for a in _split(raw["addresses"])]
        row["ids"] = [parse_csv_id(e) for e in _split(raw["ids"])]
        for k in ("_id", "source", "name"):
            if not row[k]:
                raise ParseError(f"has no {k}", source=KEY, file=CSV_FILE, line=line)
        records.append(_record(row, raw, f"{CSV_FILE} line {line}", warnings))
    return _finish(records, rows, warnings)


def _json_text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if value is None or isinstance(value, str | int | float):
        return _clean(value)
    raise ParseError(
        f"{where}: {key} is a {type(value).__name__}, expected text", source=KEY, file=JSON_FILE
    )


def _json_list(item: dict[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return _split(value)
    if isinstance(value, list):
        return value
    raise ParseError(
        f"{where}: {key} is a {type(value).__name__}, expected a list", source=KEY, file=JSON_FILE
    )


def _json_address(a: Any, where: str) -> Address:
    if isinstance(a, str):
        return parse_address(a)
    if not isinstance(a, dict):
        raise ParseError(f"{where}: an address is a {type(a).__name__}", source=KEY, file=JSON_FILE)
    part = {
        k: _json_text(a, k, where) or None
        for k in ("address", "city", "state", "postal_code", "country")
    }
    country = part["country"]
    return Address(
        full=", ".join(p for p in part.values() if p),
        street=part["address"],
        city=part["city"],
        state=part["state"],
        postal_code=part["postal_code"],
        country=country,
        country_code=to_iso2(country),
    )


def _json_id(i: Any, where: str) -> dict[str, str | None]:
    if isinstance(i, str):
        return parse_csv_id(i)
    if not isinstance(i, dict):
        raise ParseError(f"{where}: an id is a {type(i).__name__}", source=KEY, file=JSON_FILE)
    out: dict[str, str | None] = {
        k: _json_text(i, k, where) or None for k in ("type", "number", "country")
    }
    out["issue_date"] = iso_date(_json_text(i, "issue_date", where))
    out["expiration_date"] = iso_date(_json_text(i, "expiration_date", where))
    out["date"] = None
    return out


def parse_json(content: bytes) -> ParsedList:
    text = decode_text(content, JSON_FILE, KEY)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON: {exc.msg}", source=KEY, file=JSON_FILE, line=exc.lineno
        ) from None
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list):
        raise ParseError(
            'expected {"results": [...]} or a list of entries', source=KEY, file=JSON_FILE
        )
    records: list[EntityRecord] = []
    warnings: list[str] = []
    for n, item in enumerate(results):
        where = f"results[{n}]"
        if not isinstance(item, dict):
            raise ParseError(f"{where} is not an object", source=KEY, file=JSON_FILE)
        row: dict[str, Any] = {
            k: _json_text(item, k, where)
            for k in COLUMNS
            if k not in _LIST_FIELDS and k not in ("addresses", "ids")
        }
        row["_id"] = row["_id"] or _json_text(item, "id", where)
        for k in _LIST_FIELDS:
            values = _json_list(item, k, where)
            if any(not isinstance(v, str) for v in values):
                raise ParseError(f"{where}: {k} holds a non-text value", source=KEY, file=JSON_FILE)
            # aliases are re-joined so the CSV's clean-up ("; and ", "a.k.a.") applies alike
            row[k] = (
                ["; ".join(values)] if k == "alt_names" else [c for v in values for c in _split(v)]
            )
        row["addresses"] = [_json_address(a, where) for a in _json_list(item, "addresses", where)]
        row["ids"] = [_json_id(i, where) for i in _json_list(item, "ids", where)]
        for k in ("_id", "source", "name"):
            if not row[k]:
                raise ParseError(
                    f"{where} has no {k if k != '_id' else 'id'}", source=KEY, file=JSON_FILE
                )
        raw = {k: v for k, v in item.items()}
        raw.setdefault("start_date", row["start_date"])
        records.append(_record(row, raw, f"{JSON_FILE} {where}", warnings))
    return _finish(records, len(results), warnings)


def parse(files: Mapping[str, bytes]) -> ParsedList:
    if CSV_FILE in files:
        try:
            return parse_csv(files[CSV_FILE])
        except ParseError as exc:
            if JSON_FILE not in files:
                raise
            parsed = parse_json(files[JSON_FILE])
            parsed.warnings.insert(0, f"{exc}; used {JSON_FILE} instead")
            return parsed
    if JSON_FILE in files:
        return parse_json(files[JSON_FILE])
    raise ParseError(f"neither {CSV_FILE} nor {JSON_FILE} was supplied", source=KEY)


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """Treasury rows carry OFAC's ent_num (`entity_number`); DPL rows are BIS denial orders."""
    codes = set(entry.fields.get("list_codes") or [entry.fields.get("list_code")])
    if codes & _OFAC_CODES:
        return ofac_key(entry.fields.get("entity_number"))
    if DPL_LIST.code in codes:
        return denial_order_key(entry, entry.fields.get("start_date"))
    return None


SOURCE = Source(
    key=KEY,
    title="Consolidated Screening List (trade.gov)",
    publisher="US Department of Commerce, International Trade Administration",
    files=(
        SourceFile(CSV_FILE, BASE_URL + CSV_FILE, "csv", max_bytes=100_000_000),
        SourceFile(JSON_FILE, BASE_URL + JSON_FILE, "json", required=False, max_bytes=300_000_000),
    ),
    parse=parse,
    homepage="https://www.trade.gov/consolidated-screening-list",
    policy=ListPolicy(
        display="CSL",
        category="export_control",
        decision=REVIEW,  # a sub-list nobody declared (the update warns)
        rank=80,
        sub_lists=SUB_LISTS,
        merge_key=merge_key,
        vocabulary=VOCABULARY,
    ),
)
