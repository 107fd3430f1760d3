"""BIS rules in the Federal Register, and the Entity List entries their rule XML adds.

Files (https://www.federalregister.gov/developers/documentation/api/v1):
- `documents.json`: the API's document search, limited to the Bureau of Industry and Security,
  newest first, with the fields named in `DOCUMENTS_URL` (document_number, title, type,
  publication_date, effective_on, citation, html_url, full_text_xml_url, ...);
- `<document_number>.xml`: the full-text XML (`full_text_xml_url`) of every rule whose title
  mentions the Entity List. Which ones is only known once documents.json is read, so they are
  discovered (`discover`). A mirror directory without documents.json is read by listing its
  `YYYY-NNNNN.xml` files.

A rule's Supplement No. 4 table is read by `entity_list_rule.parse_rule`. Each entry becomes part
of one entity per name (an entity listed under several
countries is one entity with several entries). A newer rule's entry replaces an older one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
from compliance.sources.entity_list_rule import RuleEntry, parse_rule
from compliance.sources.text import iso_date

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


def _citation(entry: RuleEntry, meta: dict[str, Any], doc: FrDocument | None) -> str:
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
    by_entry, rows_read = _newest_entries(files, xmls, docs, warnings)
    records: dict[str, EntityRecord] = {}
    latest = ""
    for e, meta, doc in by_entry.values():
        entry = _add_entry(records, e, meta, doc)
        latest = max(latest, entry["publication_date"] or entry["effective_date"] or "")
    return ParsedList(
        list(records.values()),
        data_date=latest or None,
        warnings=warnings,
        rows_read=rows_read,
        meta={"documents": [d.to_dict() for d in docs.values()]},  # every BIS rule listed
    )


_Rule = tuple[RuleEntry, dict[str, Any], FrDocument | None]


def _newest_entries(
    files: Mapping[str, bytes],
    xmls: list[str],
    docs: dict[str, FrDocument],
    warnings: list[str],
) -> tuple[dict[tuple[str, str], _Rule], int]:
    """Every entry of every rule, the newest rule's entry kept per name and country."""
    rows_read = 0
    parsed = []
    for name in xmls:
        entries, meta, rows = parse_rule(files[name], name, KEY)
        rows_read += rows
        doc = docs.get(meta["document_number"])
        date = (doc.publication_date if doc else None) or meta["effective_date"] or ""
        parsed.append((date, name, entries, meta, doc))
        if not entries:
            warnings.append(f"{name}: no Entity List additions table")
    parsed.sort(key=lambda p: (p[0], p[1]))  # oldest first: a newer entry replaces an older one
    by_entry: dict[tuple[str, str], _Rule] = {}
    for _, _, entries, meta, doc in parsed:
        for e in entries:
            by_entry[(e.name.lower(), e.country_code or e.country)] = (e, meta, doc)
    return by_entry, rows_read


def _add_entry(
    records: dict[str, EntityRecord],
    e: RuleEntry,
    meta: dict[str, Any],
    doc: FrDocument | None,
) -> dict[str, Any]:
    """File one rule entry under its entity (one per name), creating the entity if new."""
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
    return entry


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
