"""ConList.xlsx cells as values: countries (with the list's own spellings), enumerated cells
("(1) Chad. (2) Sudan"), dates of birth with 00 for unknown parts, the tagged facts of Other
Information, names, addresses and identifiers."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from compliance.countries import to_iso2
from compliance.sources.base import Address, Identifier
from compliance.sources.text import iso_date

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


def country_code(text: str | None) -> str | None:
    if not text:
        return None
    key = text.strip().lower()
    if key in _COUNTRIES:
        return _COUNTRIES[key]
    code = to_iso2(text)
    if code is None and "(" in text:  # "Iraq (previous address)"
        code = country_code(text.split("(", 1)[0])
    return code


def countries_in(text: str) -> list[str | None]:
    """One cell's countries: 'Estonia, Russia' is two when each part is a known country."""
    code = country_code(text)
    if code is None and re.search(r"[,.;]", text):
        parts = [country_code(p) for p in re.split(r"[,.;]\s*", text) if p.strip()]
        if parts and all(parts):
            return parts
    return [code]


@lru_cache(maxsize=8192)
def enumerated(text: str | None) -> tuple[str, ...]:
    """'(1) Chad. (2) Sudan' -> ['Chad', 'Sudan']; plain text -> [text]."""
    if not text:
        return ()
    parts = (p.strip().rstrip(".;,").strip() for p in re.split(r"\(\d{1,2}\)\s*", text))
    return tuple(p for p in parts if p)


def read_dob(value: Any) -> str | None:
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
def tags_in(info: str) -> tuple[tuple[str, str], ...]:
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


def places_of_birth(r: dict[str, str]) -> list[str]:
    towns, countries = enumerated(r["Town of Birth"]), enumerated(r["Country of Birth"])
    if len(towns) == len(countries):
        return [f"{t}, {c}" for t, c in zip(towns, countries, strict=True)]
    return [*towns, *countries]


def add_new(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


def full_name(r: dict[str, str]) -> str:
    return " ".join(
        r[k] for k in ("Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6") if r[k]
    )


def address_of(r: dict[str, str]) -> Address | None:
    lines = [r[f"Address {i}"] for i in range(1, 7) if r[f"Address {i}"]]
    if not lines and not r["Post/Zip Code"] and not r["Country"]:
        return None
    return Address(
        full=", ".join(p for p in (*lines, r["Post/Zip Code"], r["Country"]) if p),
        street=", ".join(lines) or None,
        postal_code=r["Post/Zip Code"] or None,
        country=r["Country"] or None,
        country_code=country_code(r["Country"]),
    )


def identifiers_of(r: dict[str, str]) -> list[Identifier]:
    out = []
    for kind, number_col, details_col in (
        ("Passport", "Passport Number", "Passport Details"),
        (
            "National Identification Number",
            "National Identification Number",
            "National Identification Details",
        ),
    ):
        numbers = enumerated(r[number_col])
        details = enumerated(r[details_col])
        if len(details) != len(numbers):  # cannot pair them up: every number gets all details
            details = (r[details_col],) * len(numbers)
        for number, note in zip(numbers, details, strict=True):
            # details often start with the issuing country: "Tunisia number. Issued on ..."
            issuer = re.split(r"[.,;]| number", note)[0] if note else ""
            country = (country_code(note) or country_code(issuer)) if note else None
            out.append(Identifier(kind, number, country=country, note=note or None))
    return out
