"""OFAC's two XML formats, each serving both the SDN and the Consolidated (non-SDN) list.

* Classic XML (SDN.XML, CONSOLIDATED.XML): root `sdnList`, one `sdnEntry` per entry with typed
  idList / akaList / addressList / dateOfBirthList...; `publshInformation/Publish_Date` (sic)
  gives the data date as MM/DD/YYYY.
* Enhanced XML (SDN_ENHANCED.XML, CONS_ENHANCED.XML): root `sanctionsData`, `entities/entity`
  with names in several scripts, `features` and `identityDocuments`;
  `publicationInfo/dataAsOf` gives the data date.

Elements are matched by local name, so a change of OFAC's namespace URL does not break parsing.
Facts are filed through `ofac_vocab.add_fact`, the same vocabulary the CSV Remarks parser uses, so
all three formats produce the same records for the same entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from lxml import etree

    _Element: TypeAlias = etree._Element  # annotations only: screening imports it for its policy

from compliance.sources.base import Address, EntityRecord, Name, ParsedList, ParseError
from compliance.sources.ofac_vocab import (
    ALIAS_KINDS,
    ENTITY_TYPES,
    add_fact,
    add_identifier,
    add_name,
    apply_remarks,
    country_code,
    non_sdn_lists,
    split_id,
)
from compliance.sources.text import iso_date
from compliance.sources.xmlsafe import local, parse_xml

_VESSEL_INFO = {
    "callSign": "call_sign",
    "vesselType": "vessel_type",
    "vesselFlag": "vessel_flag",
    "vesselOwner": "vessel_owner",
    "tonnage": "tonnage",
    "grossRegisteredTonnage": "gross_registered_tonnage",
}


def _children(el: _Element) -> dict[str, list[_Element]]:
    out: dict[str, list[_Element]] = {}
    for child in el:
        if isinstance(child.tag, str):
            out.setdefault(local(child.tag), []).append(child)
    return out


def _text(el: _Element | None, name: str | None = None) -> str:
    if el is not None and name is not None:
        el = next((c for c in el if isinstance(c.tag, str) and local(c.tag) == name), None)
    return (el.text or "").strip() if el is not None else ""


def _items(parent: list[_Element] | None) -> list[_Element]:
    """The children of a (single) list element such as programList."""
    return [c for p in parent or [] for c in p if isinstance(c.tag, str)]


def _add_address(rec: EntityRecord, parts: dict[str, str], country: str, code: str | None) -> None:
    street = ", ".join(
        p for p in (parts.get("address1"), parts.get("address2"), parts.get("address3")) if p
    )
    fields = (street, parts.get("city"), parts.get("state"), parts.get("postal"), country)
    if not any(fields):
        return
    code = code or country_code(country)
    rec.addresses.append(
        Address(
            full=", ".join(p for p in fields if p),
            street=street or None,
            city=parts.get("city") or None,
            state=parts.get("state") or None,
            postal_code=parts.get("postal") or None,
            country=country or None,
            country_code=code,
        )
    )
    if code and code not in rec.countries:
        rec.countries.append(code)


def _full_name(last: str, first: str) -> str:
    return f"{last}, {first}" if last and first else (last or first)


def _unique(
    records: list[EntityRecord], elements: list[_Element], file: str, source: str
) -> list[EntityRecord]:
    """An id listed twice is a damaged file (the CSV parser refuses a repeated ent_num too)."""
    seen: set[str] = set()
    for rec, el in zip(records, elements, strict=True):
        if rec.source_id in seen:
            raise ParseError(
                f"entry {rec.source_id} appears twice",
                source=source,
                file=file,
                line=el.sourceline,
            )
        seen.add(rec.source_id)
    return records


def parse_sdn_xml(content: bytes, file: str, source: str, sdn: bool = True) -> ParsedList:
    """Classic OFAC XML (SDN.XML or CONSOLIDATED.XML)."""
    root = parse_xml(content, file, source, root="sdnList")
    top = _children(root)
    info = (top.get("publshInformation") or top.get("publishInformation") or [None])[0]
    date_text = _text(info, "Publish_Date")
    data_date = iso_date(date_text)
    if date_text and not data_date:
        raise ParseError(
            f"Publish_Date {date_text!r} is not a date",
            source=source,
            file=file,
            line=info.sourceline if info is not None else None,
        )
    entries = top.get("sdnEntry", [])
    records = _unique([_sdn_entry(e, file, source, sdn) for e in entries], entries, file, source)
    warnings = []
    stated = _text(info, "Record_Count")
    if stated and stated != str(len(records)):
        warnings.append(
            f"{file}: Record_Count says {stated} but {len(records)} entries are present"
        )
    return ParsedList(records, data_date=data_date, warnings=warnings, rows_read=len(records))


def _sdn_entry(entry: _Element, file: str, source: str, sdn: bool) -> EntityRecord:
    c = _children(entry)
    uid, kind = _text(entry, "uid"), _text(entry, "sdnType").lower()
    name = _full_name(_text(entry, "lastName"), _text(entry, "firstName"))
    if not uid.isdigit() or not name or kind not in ENTITY_TYPES:
        raise ParseError(
            f"sdnEntry has a missing or bad uid/lastName/sdnType (uid {uid!r}, sdnType {kind!r})",
            source=source,
            file=file,
            line=entry.sourceline,
        )
    programs = [_text(p) for p in _items(c.get("programList")) if _text(p)]
    remarks = _text(entry, "remarks")
    rec = EntityRecord(
        source_id=uid,
        entity_type=ENTITY_TYPES[kind],
        name=name,
        programs=programs,
        lists=["SDN List"] if sdn else non_sdn_lists(programs),
        remarks=remarks or None,
        raw={"xml": _tostring(entry)},
    )
    if _text(entry, "title"):
        add_fact(rec, "Title", _text(entry, "title"))
    for aka in _items(c.get("akaList")):
        weak = _text(aka, "category").lower() == "weak"
        kind = "weak_aka" if weak else ALIAS_KINDS.get(_text(aka, "type").lower(), "aka")
        full = _full_name(_text(aka, "lastName"), _text(aka, "firstName"))
        add_name(rec, Name(full, kind, quality=_text(aka, "category") or None))
    _sdn_ids(rec, _items(c.get("idList")))
    for item in _items(c.get("dateOfBirthList")):
        add_fact(rec, "DOB", _text(item, "dateOfBirth"))
    for item in _items(c.get("placeOfBirthList")):
        add_fact(rec, "POB", _text(item, "placeOfBirth"))
    for item in _items(c.get("nationalityList")):
        add_fact(rec, "nationality", _text(item, "country"))
    for item in _items(c.get("citizenshipList")):
        add_fact(rec, "citizen", _text(item, "country"))
    for addr in _items(c.get("addressList")):
        _add_address(rec, _sdn_address_parts(addr), _text(addr, "country"), None)
    for vessel in c.get("vesselInfo", []):
        for tag, key in _VESSEL_INFO.items():
            if _text(vessel, tag):
                rec.fields[key] = _text(vessel, tag)
        code = country_code(rec.fields.get("vessel_flag"))
        if code and code not in rec.countries:
            rec.countries.append(code)
    if remarks:  # the XML keeps only the unstructured rest here, e.g. "(Linked To: HAMAS)"
        apply_remarks(rec, remarks.strip().removeprefix("(").removesuffix(")"))
    return rec


def _sdn_ids(rec: EntityRecord, items: list[_Element]) -> None:
    for item in items:
        number, country = _text(item, "idNumber"), _text(item, "idCountry") or None
        if country is None:  # OFAC sometimes writes "1026303117642 (Russia)" in idNumber
            number, country, _ = split_id(number)
        note = " ".join(
            f"{w} {_text(item, t)}"
            for w, t in (("issued", "issueDate"), ("expires", "expirationDate"))
            if _text(item, t)
        )
        add_fact(
            rec, _text(item, "idType"), number, country=country, note=note or None, default="id"
        )


def _sdn_address_parts(addr: _Element) -> dict[str, str]:
    return {
        k: _text(addr, t)
        for k, t in (
            ("address1", "address1"),
            ("address2", "address2"),
            ("address3", "address3"),
            ("city", "city"),
            ("state", "stateOrProvince"),
            ("postal", "postalCode"),
        )
    }


_ENHANCED_ADDRESS = {
    "ADDRESS1": "address1",
    "ADDRESS2": "address2",
    "ADDRESS3": "address3",
    "CITY": "city",
    "STATE/PROVINCE": "state",
    "POSTAL CODE": "postal",
    "REGION": "state",
}


def parse_enhanced_xml(content: bytes, file: str, source: str) -> ParsedList:
    """OFAC Enhanced XML (SDN_ENHANCED.XML or CONS_ENHANCED.XML)."""
    root = parse_xml(content, file, source, root="sanctionsData")
    top = _children(root)
    info = (top.get("publicationInfo") or [None])[0]
    as_of = _text(info, "dataAsOf")
    data_date = iso_date(as_of[:10]) if as_of else None
    if as_of and not data_date:
        raise ParseError(
            f"dataAsOf {as_of!r} is not a date",
            source=source,
            file=file,
            line=info.sourceline if info is not None else None,
        )
    iso: dict[str, str] = {}  # COUNTRY reference value id -> ISO alpha-2 as OFAC states it
    for ref in _items(top.get("referenceValues")):
        code = _text(ref, "isoCode")
        if _text(ref, "type") == "COUNTRY" and len(code) == 2:
            iso[ref.get("refId", "")] = code.upper()
    entities = _items(top.get("entities"))
    records = _unique([_enhanced_entity(e, iso, file, source) for e in entities], entities, file,
                      source)  # fmt: skip
    return ParsedList(records, data_date=data_date, rows_read=len(records))


def _translations(el: _Element) -> list[_Element]:
    return _items(_children(el).get("translations"))


def _primary_first(translations: list[_Element]) -> list[_Element]:
    return sorted(translations, key=lambda t: _text(t, "isPrimary") != "true")


def _enhanced_entity(entity: _Element, iso: dict[str, str], file: str, source: str) -> EntityRecord:
    c = _children(entity)
    general = (c.get("generalInfo") or [None])[0]
    ent_id, kind = entity.get("id", ""), _text(general, "entityType").lower()
    names = _items(c.get("names"))
    primary = next((n for n in names if _text(n, "isPrimary") == "true"), None)
    trans = _primary_first(_translations(primary)) if primary is not None else []
    name = _text(trans[0], "formattedFullName") if trans else ""
    if not ent_id.isdigit() or not name or kind not in ENTITY_TYPES:
        raise ParseError(
            f"entity has a missing or bad id/primary name/entityType (id "
            f"{ent_id!r}, entityType {kind!r})",
            source=source,
            file=file,
            line=entity.sourceline,
        )
    remarks = _text(general, "remarks")
    rec = EntityRecord(
        source_id=ent_id,
        entity_type=ENTITY_TYPES[kind],
        name=name,
        programs=[_text(p) for p in _items(c.get("sanctionsPrograms")) if _text(p)],
        lists=[_text(x) for x in _items(c.get("sanctionsLists")) if _text(x)],
        remarks=remarks or None,
        raw={"xml": _tostring(entity)},
    )
    _enhanced_names(rec, names, primary)
    for addr in _items(c.get("addresses")):
        _enhanced_address(rec, addr, iso)
    for feature in _items(c.get("features")):
        add_fact(rec, _text(feature, "type"), _text(feature, "value"))
    for doc in _items(c.get("identityDocuments")):
        _enhanced_document(rec, doc, iso)
    for rel in _items(c.get("relationships")):
        related = _children(rel).get("relatedEntity", [None])[0]
        rec.fields.setdefault("relationships", []).append(
            {
                "type": _text(rel, "type"),
                "entity_id": related.get("entityId") if related is not None else None,
                "name": _text(related),
            }
        )
        if _text(rel, "type").lower() == "linked to":  # what the other formats say in Remarks
            add_fact(rec, "Linked To", _text(related))
    if remarks:
        apply_remarks(rec, remarks)
    return rec


def _enhanced_names(rec: EntityRecord, names: list[_Element], primary: _Element | None) -> None:
    for n in names:
        weak = _text(n, "isLowQuality") == "true"
        kind = "weak_aka" if weak else ALIAS_KINDS.get(_text(n, "aliasType").lower(), "aka")
        for i, t in enumerate(_primary_first(_translations(n))):
            if n is primary and i == 0:
                continue  # the record's own name
            script = _text(t, "script") or None
            if script and script != "Latin":
                name_kind, quality = "original_script", None
            else:
                name_kind, quality = kind, "weak" if weak else None
            add_name(rec, Name(_text(t, "formattedFullName"), name_kind, script, quality))


def _enhanced_address(rec: EntityRecord, addr: _Element, iso: dict[str, str]) -> None:
    country_el = _children(addr).get("country", [None])[0]
    country = _text(country_el)
    code = iso.get(country_el.get("refId", "")) if country_el is not None else None
    trans = _primary_first(_translations(addr))
    parts: dict[str, str] = {}
    for part in _items(_children(trans[0]).get("addressParts")) if trans else []:
        key = _ENHANCED_ADDRESS.get(_text(part, "type").upper())
        if key and _text(part, "value"):
            parts[key] = ", ".join(p for p in (parts.get(key), _text(part, "value")) if p)
    _add_address(rec, parts, country, code)


def _enhanced_document(rec: EntityRecord, doc: _Element, iso: dict[str, str]) -> None:
    issuing = _children(doc).get("issuingCountry", [None])[0]
    country = None
    if issuing is not None:
        country = iso.get(issuing.get("refId", "")) or _text(issuing)
    note = " ".join(
        f"{w} {_text(doc, t)}"
        for w, t in (("issued", "issueDate"), ("expires", "expirationDate"))
        if _text(doc, t)
    )
    number = _text(doc, "documentNumber")
    if country is None:
        number, country, _ = split_id(number)
    add_identifier(rec, _text(doc, "type"), number, country, note or None)


def _tostring(el: _Element) -> str:
    from lxml import etree

    return str(etree.tostring(el, encoding="unicode"))
