"""UN Security Council Consolidated List, consolidated.xml (root CONSOLIDATED_LIST, no namespace).

INDIVIDUALS/INDIVIDUAL become people and ENTITIES/ENTITY organisations; DATAID is the id and
REFERENCE_NUMBER (e.g. "QDi.001") the committee's own reference. Alias QUALITY "Low" marks a
weak alias (kind weak_aka). A birth date given as a year range (TYPE_OF_DATE BETWEEN,
FROM_YEAR..TO_YEAR) becomes every year of the range when it spans at most 10 years, otherwise
just its two ends; the range itself is kept in fields["birth_dates"].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree  # annotations only: screening imports this module for its policy

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
from compliance.sources.xmlsafe import parse_xml

KEY = "un_sc"
FILE = "consolidated.xml"
LIST_NAME = "UN Security Council Consolidated List"
MAX_RANGE_YEARS = 10

# How the UN writes some states, which the generic table does not know; "na" means not known.
_UN_COUNTRIES: dict[str, str | None] = {
    "iran (islamic republic of)": "IR",
    "state of palestine": "PS",
    "former soviet union": "SU",
    "na": None,
    "bolivia (plurinational state of)": "BO",
    "venezuela (bolivarian republic of)": "VE",
    "republic of moldova": "MD",
    "lao people's democratic republic": "LA",
}
_DOC_TYPES = {"numéro de passeport": "Passport", "número de pasaporte": "Passport"}
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text).strip() if text else ""


def _text(el: etree._Element, tag: str) -> str:
    return _clean(el.findtext(tag))


def _values(el: etree._Element, tag: str) -> list[str]:
    """The VALUE children of every `tag` child (NATIONALITY, DESIGNATION, TITLE...)."""
    return [v for v in (_clean(x.text) for x in el.findall(f"{tag}/VALUE")) if v]


def country_code(text: str | None) -> str | None:
    key = _clean(text).lower()
    if key in _UN_COUNTRIES:
        return _UN_COUNTRIES[key]
    return to_iso2(key)


def _to_dict(el: etree._Element) -> dict[str, Any] | str:
    """An element as plain data: leaves become text, repeated children lists."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return _clean(el.text)
    out: dict[str, Any] = {}
    for c in children:
        value = _to_dict(c)
        if value in ("", {}):
            continue
        if c.tag in out:
            if not isinstance(out[c.tag], list):
                out[c.tag] = [out[c.tag]]
            out[c.tag].append(value)
        else:
            out[c.tag] = value
    return out


def _birth_dates(el: etree._Element) -> tuple[list[str], list[dict[str, str]]]:
    dates: list[str] = []
    details: list[dict[str, str]] = []
    for dob in el.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        kind = _text(dob, "TYPE_OF_DATE")
        note = _text(dob, "NOTE")
        exact, year = _text(dob, "DATE"), _text(dob, "YEAR")
        start, end = _text(dob, "FROM_YEAR"), _text(dob, "TO_YEAR")
        detail = {
            k: v
            for k, v in (
                ("type", kind),
                ("date", exact),
                ("year", year),
                ("from_year", start),
                ("to_year", end),
                ("note", note),
            )
            if v
        }
        if len(detail) > int(bool(kind)):
            details.append(detail)
        if exact and iso_date(exact[:10]):
            dates.append(iso_date(exact[:10]) or "")
        elif re.fullmatch(r"\d{4}", year) and year != "0000":
            dates.append(year)
        elif re.fullmatch(r"\d{4}", start) and re.fullmatch(r"\d{4}", end):
            lo, hi = sorted((int(start), int(end)))
            years = range(lo, hi + 1) if hi - lo <= MAX_RANGE_YEARS else (lo, hi)
            dates.extend(str(y) for y in years)
    return list(dict.fromkeys(dates)), details


def _identifiers(el: etree._Element) -> list[Identifier]:
    out = []
    for doc in el.findall("INDIVIDUAL_DOCUMENT"):
        number = _text(doc, "NUMBER")
        if not number:
            continue  # documents described only in a NOTE stay in raw
        doc_type = _text(doc, "TYPE_OF_DOCUMENT")
        doc_type2 = _text(doc, "TYPE_OF_DOCUMENT2")
        doc_type = _DOC_TYPES.get(doc_type.lower(), doc_type) or doc_type2 or "Document"
        issuer = _text(doc, "ISSUING_COUNTRY") or _text(doc, "COUNTRY_OF_ISSUE")
        notes = [
            doc_type2 if doc_type2 and doc_type2 != doc_type else "",
            f"issued {_text(doc, 'DATE_OF_ISSUE')}" if _text(doc, "DATE_OF_ISSUE") else "",
            f"in {_text(doc, 'CITY_OF_ISSUE')}" if _text(doc, "CITY_OF_ISSUE") else "",
            _text(doc, "NOTE"),
        ]
        out.append(
            Identifier(
                type=doc_type,
                number=number,
                country=country_code(issuer) or (issuer or None),
                note="; ".join(n for n in notes if n) or None,
            )
        )
    return out


def _addresses(el: etree._Element, tag: str) -> list[Address]:
    out = []
    for a in el.findall(tag):
        parts = {
            k: _text(a, k)
            for k in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY", "NOTE")
        }
        if not any(v for k, v in parts.items() if k != "NOTE"):
            continue
        address = Address(
            full=", ".join(v for k, v in parts.items() if v and k != "NOTE"),
            street=parts["STREET"] or None,
            city=parts["CITY"] or None,
            state=parts["STATE_PROVINCE"] or None,
            postal_code=parts["ZIP_CODE"] or None,
            country=parts["COUNTRY"] or None,
            country_code=country_code(parts["COUNTRY"]),
        )
        if address not in out:
            out.append(address)
    return out


def _names(el: etree._Element, primary: str, alias_tag: str) -> list[Name]:
    names = [Name(primary, "primary")]
    seen = {primary.casefold()}
    for alias in el.findall(alias_tag):
        text = _text(alias, "ALIAS_NAME")
        if not text or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        quality = _text(alias, "QUALITY")
        kind = {"low": "weak_aka", "f.k.a.": "fka"}.get(quality.lower(), "aka")
        if "formerly" in _text(alias, "NOTE").lower():
            kind = "fka"
        names.append(Name(text, kind, quality=quality or None))
    for original in el.findall("NAME_ORIGINAL_SCRIPT"):
        text = _clean(original.text)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            script = detect_script(text)
            kind = "aka" if script in (None, "Latin") else "original_script"
            names.append(Name(text, kind, script=script if kind != "aka" else None))
    return names


def _nationalities(el: etree._Element, line: int | None, warnings: list[str]) -> list[str]:
    out: list[str] = []
    for value in _values(el, "NATIONALITY"):
        code = country_code(value)
        if code and code not in out:
            out.append(code)
        elif not code and value.lower() not in _UN_COUNTRIES:
            warnings.append(f"{FILE} line {line}: unknown nationality {value!r}")
    return out


def _places_of_birth(el: etree._Element) -> list[str]:
    places = []
    for pob in el.findall("INDIVIDUAL_PLACE_OF_BIRTH"):
        parts = [_text(pob, k) for k in ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY")]
        if any(parts):
            places.append(", ".join(p for p in parts if p))
    return places


def _record(el: etree._Element, person: bool, warnings: list[str]) -> EntityRecord:
    line = el.sourceline
    data_id = _text(el, "DATAID")
    if not data_id.isdigit():
        raise ParseError(
            f"{el.tag} has no numeric DATAID (got {data_id!r})", source=KEY, file=FILE, line=line
        )
    primary = " ".join(p for p in (_text(el, t) for t in _NAME_PARTS) if p)
    if not primary:
        raise ParseError(
            f"{el.tag} {data_id} has no FIRST_NAME..FOURTH_NAME", source=KEY, file=FILE, line=line
        )
    nationalities = _nationalities(el, line, warnings)
    dates, dob_details = _birth_dates(el) if person else ([], [])
    for alias in el.findall("INDIVIDUAL_ALIAS"):
        alias_dob = iso_date(_text(alias, "DATE_OF_BIRTH")[:10])
        if alias_dob and alias_dob not in dates:
            dates.append(alias_dob)
    places = _places_of_birth(el)
    addresses = _addresses(el, "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS")
    countries = list(nationalities)
    for code in [a.country_code for a in addresses] + [
        country_code(_text(p, "COUNTRY")) for p in el.findall("INDIVIDUAL_PLACE_OF_BIRTH")
    ]:
        if code and code not in countries:
            countries.append(code)
    program = _text(el, "UN_LIST_TYPE")
    comments = _text(el, "COMMENTS1")
    listed = _text(el, "LISTED_ON")
    return EntityRecord(
        source_id=data_id,
        entity_type="person" if person else "organization",
        name=primary,
        names=_names(el, primary, "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"),
        programs=[program] if program else [],
        lists=[LIST_NAME],
        addresses=addresses,
        identifiers=_identifiers(el) if person else [],
        dates_of_birth=dates,
        nationalities=nationalities,
        countries=countries,
        remarks=comments or None,
        fields={
            "reference_number": _text(el, "REFERENCE_NUMBER") or None,
            "un_list_type": program or None,
            "listed_on": iso_date(listed[:10]) if listed else None,
            "comments": comments or None,
            "designation": _values(el, "DESIGNATION"),
            "title": _values(el, "TITLE"),
            "gender": _text(el, "GENDER") or None,
            "last_updated": [iso_date(v[:10]) or v for v in _values(el, "LAST_DAY_UPDATED")],
            "birth_dates": dob_details,
            "places_of_birth": places,
        },
        raw=_to_dict(el),  # type: ignore[arg-type]
    )


def parse(files: Mapping[str, bytes]) -> ParsedList:
    root = parse_xml(files[FILE], FILE, KEY, root="CONSOLIDATED_LIST")
    people = root.findall("INDIVIDUALS/INDIVIDUAL")
    entities = root.findall("ENTITIES/ENTITY")
    if root.find("INDIVIDUALS") is None and root.find("ENTITIES") is None:
        raise ParseError("has neither INDIVIDUALS nor ENTITIES", source=KEY, file=FILE)
    warnings: list[str] = []
    records: dict[str, EntityRecord] = {}
    for el, person in [(p, True) for p in people] + [(e, False) for e in entities]:
        rec = _record(el, person, warnings)
        if rec.source_id in records:
            raise ParseError(
                f"DATAID {rec.source_id} appears twice", source=KEY, file=FILE, line=el.sourceline
            )
        records[rec.source_id] = rec
    generated = root.get("dateGenerated", "")
    data_date = iso_date(generated[:10])
    if generated and not data_date:
        warnings.append(f"{FILE}: unreadable dateGenerated {generated!r}")
    return ParsedList(
        list(records.values()),
        data_date=data_date,
        warnings=warnings,
        rows_read=len(people) + len(entities),
    )


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """A UN designation by its UN reference."""
    return un_key(entry.fields.get("reference_number"))


SOURCE = Source(
    key=KEY,
    title="UN Security Council Consolidated List",
    publisher="United Nations Security Council",
    files=(
        SourceFile(
            FILE,
            "https://scsanctions.un.org/resources/xml/en/consolidated.xml",
            "xml",
            max_bytes=100_000_000,
        ),
    ),
    parse=parse,
    homepage="https://www.un.org/securitycouncil/content/un-sc-consolidated-list",
    policy=ListPolicy(
        display="UN Security Council Consolidated List",
        category="sanctions",
        decision=BLOCK,
        rank=40,
        merge_key=merge_key,
        why="a UN designation binds every member state; the US, UK and EU implement it",
    ),
)
