"""BIS rules in the Federal Register, and the Entity List entries their rule XML adds.

Files (https://www.federalregister.gov/developers/documentation/api/v1):
- `documents.json`: the API's document search, limited to the Bureau of Industry and Security,
  newest first, with the fields named in `DOCUMENTS_URL` (document_number, title, type,
  publication_date, effective_on, citation, html_url, full_text_xml_url, ...);
- `<document_number>.xml`: the full-text XML (`full_text_xml_url`) of every rule whose title
  mentions the Entity List. Which ones is only known once documents.json is read, so they are
  discovered (`discover`). A mirror directory without documents.json is read by listing its
  `YYYY-NNNNN.xml` files.

A rule amends Supplement No. 4 to part 744 with a GPOTABLE whose rows are Country / Entity
(name, "a.k.a., the following N aliases:" and the aliases and addresses as LI lines) / License
requirement / License review policy / Federal Register citation, between blank, heading and
"* * *" rows. Each entry becomes part of one entity per name (an entity listed under several
countries is one entity with several entries). A newer rule's entry replaces an older one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from compliance.countries import to_iso2
from compliance.policy import LICENSE_REQUIRED, ListPolicy, SubList
from compliance.sources.base import (
    Address,
    EntityRecord,
    Name,
    ParsedList,
    ParseError,
    Source,
    SourceFile,
)
from compliance.sources.text import iso_date
from compliance.sources.xmlsafe import parse_xml

KEY = "us_bis_entity_list_fr"
MIRROR_KEY = "us_federal_register"
DOCUMENTS = "documents.json"
FIELDS = (
    "document_number", "title", "type", "action", "abstract", "publication_date", "effective_on",
    "citation", "start_page", "html_url", "pdf_url", "full_text_xml_url", "regulation_id_numbers",
)  # fmt: skip
DOCUMENTS_URL = (
    "https://www.federalregister.gov/api/v1/documents.json?"
    "conditions[agencies][]=industry-and-security-bureau&order=newest&per_page=100&"
    + "&".join(f"fields[]={f}" for f in FIELDS)
)
_DOC_XML = re.compile(r"^\d{4}-\d{5}\.xml$")
_STARS = re.compile(r"^[\s*]*$")


@dataclass
class FrDocument:
    document_number: str
    title: str
    type: str
    publication_date: str | None
    effective_on: str | None
    citation: str | None
    html_url: str | None
    full_text_xml_url: str | None
    action: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_entity_list_rule(self) -> bool:
        return self.type.lower() == "rule" and "entity list" in self.title.lower()

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "raw"}


def parse_documents(content: bytes, file: str = DOCUMENTS) -> list[FrDocument]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", source=KEY, file=file) from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ParseError("has no 'results' list (not a documents.json answer)", source=KEY,
                         file=file)  # fmt: skip
    out = []
    for i, r in enumerate(results):
        if not isinstance(r, dict):
            raise ParseError(f"results[{i}] is not an object", source=KEY, file=file)
        number = r.get("document_number")
        if not isinstance(number, str) or not re.fullmatch(r"[A-Z0-9-]+", number):
            raise ParseError(f"results[{i}] has no valid document_number ({number!r})",
                             source=KEY, file=file)  # fmt: skip
        out.append(
            FrDocument(
                document_number=number,
                title=str(r.get("title") or ""),
                type=str(r.get("type") or ""),
                publication_date=r.get("publication_date"),
                effective_on=r.get("effective_on"),
                citation=r.get("citation"),
                html_url=r.get("html_url"),
                full_text_xml_url=r.get("full_text_xml_url"),
                action=r.get("action"),
                raw=r,
            )
        )
    return out


def discover(
    files: Mapping[str, bytes], listing: list[str] | None = None
) -> tuple[SourceFile, ...]:
    """The rule XMLs to fetch: Entity List rules in documents.json (or, in a mirror directory
    that has no documents.json, every FR document XML it holds)."""
    if DOCUMENTS in files:
        return tuple(
            SourceFile(f"{d.document_number}.xml", d.full_text_xml_url, "xml",
                       max_bytes=20_000_000)
            for d in parse_documents(files[DOCUMENTS])
            if d.is_entity_list_rule and d.full_text_xml_url
        )  # fmt: skip
    return tuple(
        SourceFile(n, "", "xml", max_bytes=20_000_000) for n in sorted(listing or [])
        if _DOC_XML.match(n)
    )  # fmt: skip


# ---- rule XML --------------------------------------------------------------------------------


def _cell(el: etree._Element) -> str:
    """Text of an element; numeric superscripts (<SU>3</SU>, footnote marks) are dropped and
    others ("9<SU>th</SU>") kept in place."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "SU":
            sup = "".join(child.itertext())
            parts.append("" if sup.strip().isdigit() else sup)
        elif isinstance(child.tag, str):
            parts.append(" " + _cell(child) + " ")
        parts.append(child.tail or "")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _footnotes(el: etree._Element) -> list[str]:
    return [(su.text or "").strip() for su in el.iter("SU") if (su.text or "").strip().isdigit()]


_ABBREV_END = re.compile(
    r"\b(Inc|Ltd|Co|Corp|Jr|Sr|S\.A|L\.L\.C|Bhd|Pte|Pvt|No|St|Ste|S\.A\.R\.L|B\.V|N\.V|A\.G)\.$",
    re.IGNORECASE,
)
_AKA = re.compile(r",?\s*a\.k\.a\.?,?.*$", re.IGNORECASE | re.DOTALL)
_SEE_ALSO = re.compile(r"\(\s*See alternate address[^)]*\)\.?", re.IGNORECASE)


def _clean_alias(text: str) -> str:
    t = text.strip().lstrip("—-–").strip()
    t = re.sub(r"(;\s*and|;|,\s*and|\s+and)\s*$", "", t).strip()
    if t.endswith(".") and not _ABBREV_END.search(t):
        t = t[:-1]
    return t.strip()


def _split_addresses(text: str) -> list[str]:
    t = _SEE_ALSO.sub("", text).strip()
    parts = re.split(r";\s*and\s+", t)
    return [p.strip().rstrip(";").strip() for p in parts if p.strip().rstrip(".;")]


def _entity_cell(ent: etree._Element) -> tuple[str, list[str], list[str]]:
    """(name, aliases, addresses) from the Entity column."""
    head = re.sub(r"\s+", " ", ent.text or "").strip()
    aliases, addresses = [], []
    for li in ent.findall("LI"):
        t = _cell(li)
        if t.startswith(("—", "-", "–")):
            aliases.append(_clean_alias(t))
        elif t:
            addresses.extend(_split_addresses(t))
    if re.search(r"a\.k\.a", head, re.IGNORECASE) or ent.find("LI") is not None:
        name = _AKA.sub("", head).strip().rstrip(",;:")
    else:  # "Name, street, city, country." with no aliases
        name, _, rest = _split_name_address(head)
        if rest:
            addresses.extend(_split_addresses(rest))
    return name, [a for a in aliases if a], addresses


_SUFFIX = re.compile(r"^(Ltd|Inc|LLC|Co|Limited|S\.A|JSC|GmbH|Corp|Company|PJSC|OOO|AO|LLP)\b",
                     re.IGNORECASE)  # fmt: skip


def _split_name_address(text: str) -> tuple[str, str, str]:
    pieces = text.split(", ")
    for i in range(1, len(pieces)):
        if not _SUFFIX.match(pieces[i]):
            return ", ".join(pieces[:i]).rstrip("."), ", ", ", ".join(pieces[i:])
    return text.rstrip("."), "", ""


@dataclass
class _Entry:
    country: str
    country_code: str | None
    name: str
    aliases: list[str]
    addresses: list[str]
    license_requirement: str
    license_policy: str
    citation: str
    footnotes: list[str]
    document_number: str
    row: int


_COUNTRY_FIX = {"china, people's republic of": "China", "korea, north": "North Korea"}


def _country(name: str) -> str | None:
    key = name.strip().lower()
    return to_iso2(_COUNTRY_FIX.get(key, name.title())) or to_iso2(name)


def _long_date(text: str) -> str | None:
    try:
        return datetime.strptime(text, "%B %d, %Y").date().isoformat()
    except ValueError:
        return None


def _rule_meta(root: etree._Element, file: str) -> dict[str, Any]:
    frdoc = root.findtext(".//FRDOC") or ""
    m = re.search(r"FR Doc\.\s*([0-9]{4}-[0-9]{5})", frdoc)
    number = m.group(1) if m else file.removesuffix(".xml")
    eff = _cell(root.find(".//EFFDATE")) if root.find(".//EFFDATE") is not None else ""
    dm = re.search(r"effective\s+(?:on\s+)?([A-Z][a-z]+ \d{1,2}, \d{4})", eff)
    pages = [int(p.get("P")) for p in root.iter("PRTPAGE") if (p.get("P") or "").isdigit()]
    return {
        "document_number": number,
        "subject": (root.findtext(".//SUBJECT") or "").strip(),
        "effective_date": _long_date(dm.group(1)) if dm else None,
        "start_page": min(pages) - 1 if pages else None,
        "rin": (root.findtext(".//RIN") or "").replace("RIN", "").strip() or None,
    }


def parse_rule(content: bytes, file: str) -> tuple[list[_Entry], dict[str, Any], int]:
    """The Entity List entries a rule adds, its metadata, and the table rows read."""
    root = parse_xml(content, file, KEY, root="RULE", what="Federal Register rule")
    meta = _rule_meta(root, file)
    entries: list[_Entry] = []
    rows_read = 0
    for regtext in root.iter("REGTEXT"):
        if regtext.get("PART") != "744":
            continue
        for table in regtext.iter("GPOTABLE"):
            country, code = "", None
            for n, row in enumerate(table.iter("ROW"), 1):
                rows_read += 1
                ents = row.findall("ENT")
                texts = [_cell(e) for e in ents]
                if not texts or all(_STARS.match(t) for t in texts):
                    continue
                if texts[0] == "Country":
                    continue  # the heading row
                if texts[0] and not _STARS.match(texts[0]):
                    country, code = texts[0], _country(texts[0])
                    if code is None:
                        raise ParseError(f"Entity List table row {n}: unknown country "
                                         f"{texts[0]!r}", source=KEY, file=file)  # fmt: skip
                if len(ents) < 2 or _STARS.match(texts[1]):
                    continue
                if not country:
                    raise ParseError(f"Entity List table row {n}: entry before any country",
                                     source=KEY, file=file)  # fmt: skip
                if len(ents) >= 4:
                    name, aliases, addresses = _entity_cell(ents[1])
                    if not name:
                        raise ParseError(f"Entity List table row {n}: entry has no name",
                                         source=KEY, file=file)  # fmt: skip
                    entries.append(
                        _Entry(
                            country=country, country_code=code, name=name, aliases=aliases,
                            addresses=addresses, license_requirement=texts[2],
                            license_policy=texts[3], citation=texts[4] if len(texts) > 4 else "",
                            footnotes=_footnotes(ents[2]), document_number=meta["document_number"],
                            row=n,
                        )
                    )  # fmt: skip
                elif entries and entries[-1].country == country:  # address continuation row
                    entries[-1].addresses.extend(_split_addresses(texts[1]))
                else:
                    raise ParseError(f"Entity List table row {n}: address row without an entry",
                                     source=KEY, file=file)  # fmt: skip
    return entries, meta, rows_read


def _citation(entry: _Entry, meta: dict[str, Any], doc: FrDocument | None) -> str:
    if "INSERT" not in entry.citation.upper():
        return entry.citation.rstrip(".")
    if doc and doc.citation:
        return f"{doc.citation}, {doc.publication_date}" if doc.publication_date else doc.citation
    volume = re.match(r"\s*(\d+)\s+FR", entry.citation)
    date = re.search(r"(\d{1,2}/\d{1,2}/\d{4})", entry.citation)
    if volume and meta.get("start_page"):
        when = iso_date(date.group(1)) if date else None
        return f"{volume.group(1)} FR {meta['start_page']}" + (f", {when}" if when else "")
    return entry.citation.rstrip(".")


def parse(files: Mapping[str, bytes]) -> ParsedList:
    docs = {d.document_number: d for d in parse_documents(files[DOCUMENTS])} if (
        DOCUMENTS in files
    ) else {}  # fmt: skip
    xmls = sorted(n for n in files if n.endswith(".xml"))
    if not xmls:
        if DOCUMENTS not in files:
            raise ParseError(
                f"neither {DOCUMENTS} (the Federal Register's list of BIS documents) nor any "
                "rule XML could be read; a mirror must hold documents.json, or, in a local "
                "folder, the rule XMLs (<document number>.xml)",
                source=KEY,
            )
        raise ParseError(f"{DOCUMENTS} lists no Entity List rule to read", source=KEY)
    warnings: list[str] = []
    rows_read = 0
    # Oldest rule first so a newer rule's entry for the same name and country replaces it.
    parsed = []
    for name in xmls:
        entries, meta, rows = parse_rule(files[name], name)
        rows_read += rows
        doc = docs.get(meta["document_number"])
        date = (doc.publication_date if doc else None) or meta["effective_date"] or ""
        parsed.append((date, name, entries, meta, doc))
        if not entries:
            warnings.append(f"{name}: no Entity List additions table")
    parsed.sort(key=lambda p: (p[0], p[1]))
    by_entry: dict[tuple[str, str], tuple[_Entry, dict[str, Any], FrDocument | None]] = {}
    for _, _, entries, meta, doc in parsed:
        for e in entries:
            by_entry[(e.name.lower(), e.country_code or e.country)] = (e, meta, doc)
    records: dict[str, EntityRecord] = {}
    latest = ""
    for e, meta, doc in by_entry.values():
        cite = _citation(e, meta, doc)
        entry = {
            "country": e.country, "country_code": e.country_code,
            "license_requirement": e.license_requirement, "license_policy": e.license_policy,
            "federal_register_notice": cite, "footnotes": e.footnotes,
            "document_number": e.document_number, "effective_date": meta["effective_date"],
            "publication_date": doc.publication_date if doc else None,
            "rule_title": (doc.title if doc else None) or meta["subject"],
            "html_url": doc.html_url if doc else None,
        }  # fmt: skip
        latest = max(latest, entry["publication_date"] or entry["effective_date"] or "")
        sid = hashlib.sha1(e.name.lower().encode()).hexdigest()[:16]
        addresses = [Address(full=a, country=e.country, country_code=e.country_code)
                     for a in e.addresses]  # fmt: skip
        rec = records.get(sid)
        if rec is None:
            rec = EntityRecord(
                source_id=sid, entity_type="unknown", name=e.name,
                names=[Name(e.name, "primary")], lists=["Entity List (EL)"],
                fields={k: entry[k] for k in ("license_requirement", "license_policy",
                                              "federal_register_notice", "effective_date")}
                | {"entries": []},
                raw={"rows": []},
            )  # fmt: skip
            records[sid] = rec
        rec.fields["entries"].append(entry)
        rec.raw["rows"].append({"file": f"{e.document_number}.xml", "row": e.row})
        for a in e.aliases:
            if all(n.name != a for n in rec.names):
                rec.names.append(Name(a, "aka"))
        rec.addresses.extend(a for a in addresses if a not in rec.addresses)
        if e.country_code and e.country_code not in rec.countries:
            rec.countries.append(e.country_code)
    return ParsedList(
        list(records.values()),
        data_date=latest or None,
        warnings=warnings,
        rows_read=rows_read,
        meta={"documents": [d.to_dict() for d in docs.values()]},  # every BIS rule listed
    )


# The Entity List as a sub-list of the sources that republish it (the CSL).
ENTITY_LIST = SubList(
    "EL",
    "Entity List",
    LICENSE_REQUIRED,
    "export_control",
    labels=("Entity List (EL)",),
    publisher="BIS",
    why="a license is required for the items the entry names, reviewed under its license "
    "policy (15 CFR 744.11, Supp. No. 4 to part 744)",
)


SOURCE = Source(
    key=KEY,
    title="BIS Entity List additions (Federal Register rules)",
    publisher="US Department of Commerce, Bureau of Industry and Security (Federal Register)",
    files=(SourceFile(DOCUMENTS, DOCUMENTS_URL, "json", required=False, max_bytes=20_000_000),),
    parse=parse,
    homepage="https://www.federalregister.gov/agencies/industry-and-security-bureau",
    discover=discover,
    mirror_key=MIRROR_KEY,
    policy=ListPolicy(
        display="BIS Entity List",
        category=ENTITY_LIST.category,
        decision=ENTITY_LIST.decision,
        rank=70,
        why=ENTITY_LIST.why,
    ),
)
