"""EU Financial Sanctions Files (FSF), full list XML export version 1.1.

Root `export` in namespace http://eu.europa.ec/fpi/fsd/export (europa.ec, sic), generationDate
-> data date. One sanctionEntity per listing: logicalId is the id, euReferenceNumber (EU.27.28)
the Commission's reference, subjectType code person/enterprise (classificationCode P/E).

Nearly every nameAlias says strong="true" and the file marks no primary name, so the primary is
the first strong alias with no nameLanguage (the regulation's own spelling), else the first
alias. strong="false" aliases are weak (weak_aka); aliases in a non-Latin script (Cyrillic,
Greek, Arabic...) are original_script names. Country code "00" means unknown. Birth dates in a
non-Gregorian calendar are kept in fields only, as they are not Gregorian dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree  # annotations only: screening imports this module for its policy

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
from compliance.sources.xmlsafe import local, parse_xml

KEY = "eu_fsf"
FILE = "xmlFullSanctionsList_1_1.xml"
NS = "http://eu.europa.ec/fpi/fsd/export"
LIST_NAME = "EU Consolidated Financial Sanctions List"
SUBJECT_TYPES = {"person": "person", "enterprise": "organization"}
CLASSIFICATIONS = {"P": "person", "E": "organization"}
MAX_RANGE_YEARS = 10


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _attr(el: etree._Element, name: str) -> str:
    return " ".join((el.get(name) or "").split())


def _country(el: etree._Element) -> str | None:
    code = _attr(el, "countryIso2Code").upper()
    return code if len(code) == 2 and code.isalpha() else None  # "00" is "UNKNOWN"


def _remarks(el: etree._Element) -> list[str]:
    return [t for t in (" ".join((r.text or "").split()) for r in el.findall(_q("remark"))) if t]


def _to_dict(el: etree._Element) -> dict[str, Any]:
    """Attributes and children as plain data; regulationSummary (repeated everywhere) left out."""
    out: dict[str, Any] = {k: v for k, v in el.attrib.items() if v}
    text = " ".join((el.text or "").split())
    if text:
        out["text"] = text
    for child in el:
        tag = local(child.tag)
        if not tag or tag == "regulationSummary":
            continue
        out.setdefault(tag, []).append(_to_dict(child))
    return out


def _alias_text(alias: etree._Element) -> str:
    whole = _attr(alias, "wholeName")
    if whole:
        return whole
    return " ".join(
        p for p in (_attr(alias, k) for k in ("firstName", "middleName", "lastName")) if p
    )


def _names(entity: etree._Element) -> tuple[list[Name], dict[str, list[str]]]:
    aliases = [(a, _alias_text(a)) for a in entity.findall(_q("nameAlias"))]
    aliases = [(a, t) for a, t in aliases if t]
    if not aliases:
        raise ParseError(
            f"sanctionEntity {entity.get('logicalId')} has no name in any nameAlias",
            source=KEY,
            file=FILE,
            line=entity.sourceline,
        )
    primary = next(
        (
            t
            for a, t in aliases
            if a.get("strong") != "false"
            and not _attr(a, "nameLanguage")
            and detect_script(t) in (None, "Latin")
        ),
        aliases[0][1],
    )
    names = [Name(primary, "primary")]
    seen = {primary.casefold()}
    extra: dict[str, list[str]] = {"functions": [], "titles": [], "genders": [], "languages": []}
    for alias, text in aliases:
        for key, attr in (
            ("functions", "function"),
            ("titles", "title"),
            ("genders", "gender"),
            ("languages", "nameLanguage"),
        ):
            value = _attr(alias, attr)
            if value and value not in extra[key]:
                extra[key].append(value)
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        script = detect_script(text)
        if script not in (None, "Latin"):
            kind = "original_script"
        else:
            kind = "weak_aka" if alias.get("strong") == "false" else "aka"
        quality = {"true": "strong", "false": "weak"}.get(alias.get("strong") or "")
        script = script if kind == "original_script" else None
        names.append(Name(text, kind, script=script, quality=quality))
    return names, extra


def _year(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) < 10000 else None


def _birth_dates(entity: etree._Element) -> tuple[list[str], list[dict[str, str]], list[str]]:
    dates: list[str] = []
    details: list[dict[str, str]] = []
    places: list[str] = []
    for b in entity.findall(_q("birthdate")):
        detail = {
            k: v for k, v in b.attrib.items() if v and k not in ("logicalId", "regulationLanguage")
        }
        details.append(detail)
        place = ", ".join(
            p
            for p in (
                _attr(b, "place"),
                _attr(b, "city"),
                _attr(b, "region"),
                _country(b) and _attr(b, "countryDescription"),
            )
            if p
        )
        if place and place not in places:
            places.append(place)
        if _attr(b, "calendarType") not in ("", "GREGORIAN"):
            continue
        full = iso_date(_attr(b, "birthdate"))
        year, month, day = (_year(_attr(b, k)) for k in ("year", "monthOfYear", "dayOfMonth"))
        start, end = _year(_attr(b, "yearRangeFrom")), _year(_attr(b, "yearRangeTo"))
        found: list[str] = []
        if full:
            found = [full]
        elif year and month and 1 <= month <= 12:
            ym = f"{year:04d}-{month:02d}"
            found = [iso_date(f"{ym}-{day:02d}") or ym] if day else [ym]
        elif year:
            found = [f"{year:04d}"]
        elif start and end:
            lo, hi = sorted((start, end))
            years = range(lo, hi + 1) if hi - lo <= MAX_RANGE_YEARS else (lo, hi)
            found = [f"{y:04d}" for y in years]
        for d in found:
            if d not in dates:
                dates.append(d)
    return dates, details, places


def _identifiers(entity: etree._Element) -> list[Identifier]:
    out = []
    for i in entity.findall(_q("identification")):
        number = _attr(i, "number") or _attr(i, "latinNumber")
        if not number:
            continue
        flags = [
            f
            for f in ("diplomatic", "knownExpired", "knownFalse", "reportedLost", "revokedByIssuer")
            if i.get(f) == "true"
        ]
        notes = [
            _attr(i, "identificationTypeDescription"),
            f"issued by {_attr(i, 'issuedBy')}" if _attr(i, "issuedBy") else "",
            f"issued {_attr(i, 'issueDate')}" if _attr(i, "issueDate") else "",
            f"name on document: {_attr(i, 'nameOnDocument')}" if _attr(i, "nameOnDocument") else "",
            ", ".join(flags),
            *_remarks(i),
        ]
        out.append(
            Identifier(
                type=_attr(i, "identificationTypeCode") or "id",
                number=number,
                country=_country(i),
                note="; ".join(n for n in notes if n) or None,
            )
        )
    return out


def _addresses(entity: etree._Element) -> tuple[list[Address], list[dict[str, str]]]:
    out: list[Address] = []
    contacts: list[dict[str, str]] = []
    for a in entity.findall(_q("address")):
        code = _country(a)
        country = _attr(a, "countryDescription") if code else ""
        street = ", ".join(
            p
            for p in (_attr(a, "street"), _attr(a, "poBox") and f"PO Box {_attr(a, 'poBox')}")
            if p
        )
        parts = (
            street,
            _attr(a, "place"),
            _attr(a, "city"),
            _attr(a, "region"),
            _attr(a, "zipCode"),
            country,
        )
        for c in a.findall(_q("contactInfo")):
            contacts.append({"key": _attr(c, "key"), "value": _attr(c, "value")})
        if not any(parts):
            continue
        address = Address(
            full=", ".join(p for p in parts if p),
            street=street or None,
            city=_attr(a, "city") or _attr(a, "place") or None,
            state=_attr(a, "region") or None,
            postal_code=_attr(a, "zipCode") or None,
            country=country or None,
            country_code=code,
        )
        if address not in out:
            out.append(address)
    return out, contacts


def _entity_type(
    entity: etree._Element, logical_id: str, line: int | None, warnings: list[str]
) -> str:
    subject = entity.find(_q("subjectType"))
    code = _attr(subject, "code") if subject is not None else ""
    classification = _attr(subject, "classificationCode") if subject is not None else ""
    entity_type = SUBJECT_TYPES.get(code) or CLASSIFICATIONS.get(classification, "unknown")
    if code not in SUBJECT_TYPES:
        warnings.append(
            f"{FILE} line {line}: sanctionEntity {logical_id} has subjectType "
            f"{code!r}; typed {entity_type}"
        )
    return entity_type


def _regulations(entity: etree._Element) -> list[dict[str, str]]:
    return [
        {
            k: v
            for k, v in (
                ("programme", _attr(r, "programme")),
                ("number_title", _attr(r, "numberTitle")),
                ("regulation_type", _attr(r, "regulationType")),
                ("publication_date", _attr(r, "publicationDate")),
                ("entry_into_force_date", _attr(r, "entryIntoForceDate")),
                ("publication_url", " ".join((r.findtext(_q("publicationUrl")) or "").split())),
            )
            if v
        }
        for r in entity.findall(_q("regulation"))
    ]


def _record(entity: etree._Element, warnings: list[str]) -> EntityRecord:
    line = entity.sourceline
    logical_id = _attr(entity, "logicalId")
    if not logical_id.isdigit():
        raise ParseError(
            f"sanctionEntity has no numeric logicalId (got {logical_id!r})",
            source=KEY,
            file=FILE,
            line=line,
        )
    entity_type = _entity_type(entity, logical_id, line, warnings)
    names, extra = _names(entity)
    regulations = _regulations(entity)
    programs = list(dict.fromkeys(r["programme"] for r in regulations if r.get("programme")))
    nationalities = list(
        dict.fromkeys(c for c in (_country(x) for x in entity.findall(_q("citizenship"))) if c)
    )
    dates, dob_details, places = _birth_dates(entity)
    addresses, contacts = _addresses(entity)
    countries = list(nationalities)
    for c in [a.country_code for a in addresses] + [
        _country(b) for b in entity.findall(_q("birthdate"))
    ]:
        if c and c not in countries:
            countries.append(c)
    remarks = _remarks(entity)
    return EntityRecord(
        source_id=logical_id,
        entity_type=entity_type,
        name=names[0].name,
        names=names,
        programs=programs,
        lists=[LIST_NAME],
        addresses=addresses,
        identifiers=_identifiers(entity),
        dates_of_birth=dates,
        nationalities=nationalities,
        countries=countries,
        remarks=" ".join(remarks) or None,
        fields={
            "eu_reference_number": _attr(entity, "euReferenceNumber") or None,
            "un_reference": _attr(entity, "unitedNationId") or None,
            "designation_date": iso_date(_attr(entity, "designationDate")[:10]),
            "designation_details": _attr(entity, "designationDetails") or None,
            "delisting_date": iso_date(_attr(entity, "delistingDate")[:10]),
            "regulations": regulations,
            "functions": extra["functions"],
            "titles": extra["titles"],
            "gender": "/".join(extra["genders"]) or None,
            "name_languages": extra["languages"],
            "birth_dates": dob_details,
            "places_of_birth": places,
            "contact_info": contacts,
            "additional_information": {
                _attr(a, "key"): _attr(a, "value")
                for a in entity.findall(_q("additionalInformation"))
            },
        },
        raw=_to_dict(entity),
    )


def parse(files: Mapping[str, bytes]) -> ParsedList:
    root = parse_xml(files[FILE], FILE, KEY, root="export", namespace=NS, what="FSF export")
    warnings: list[str] = []
    generated = root.get("generationDate", "")
    data_date = iso_date(generated[:10])
    if not data_date:
        warnings.append(f"{FILE}: missing or unreadable generationDate {generated!r}")
    entities = root.findall(_q("sanctionEntity"))
    records: dict[str, EntityRecord] = {}
    for entity in entities:
        rec = _record(entity, warnings)
        if rec.source_id in records:
            raise ParseError(
                f"logicalId {rec.source_id} appears twice",
                source=KEY,
                file=FILE,
                line=entity.sourceline,
            )
        records[rec.source_id] = rec
    return ParsedList(
        list(records.values()), data_date=data_date, warnings=warnings, rows_read=len(entities)
    )


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """A UN designation by the UN reference it cites (a UN designation this list implements)."""
    return un_key(entry.fields.get("un_reference"))


SOURCE = Source(
    key=KEY,
    title="EU Consolidated Financial Sanctions List (FSF)",
    publisher="European Commission, DG FISMA",
    files=(
        SourceFile(
            FILE,
            "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
            "?token=dG9rZW4tMjAxNw",
            "xml",
            max_bytes=200_000_000,
        ),
    ),
    parse=parse,
    homepage="https://data.europa.eu/data/datasets/consolidated-list-of-persons-groups-and-entities-subject-to-eu-financial-sanctions",
    policy=ListPolicy(
        display="EU Financial Sanctions List",
        category="sanctions",
        decision=BLOCK,
        rank=60,
        merge_key=merge_key,
        why="asset freeze: no funds or economic resources may be made available (EU regulations)",
    ),
)
