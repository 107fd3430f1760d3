"""The Entity List table of one BIS rule in Federal Register full-text XML (root `RULE`).

The rule amends Supplement No. 4 to part 744 with a GPOTABLE whose rows are Country / Entity
(name, "a.k.a., the following N aliases:" and the aliases and addresses as LI lines) / License
requirement / License review policy / Federal Register citation, between blank, heading and
"* * *" rows. `parse_rule` turns it into one `RuleEntry` per entity and country.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree  # annotations only: screening imports this module for its policy

from compliance.countries import to_iso2
from compliance.sources.base import ParseError
from compliance.sources.xmlsafe import parse_xml

_STARS = re.compile(r"^[\s*]*$")


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
class RuleEntry:
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


def parse_rule(
    content: bytes, file: str, source: str
) -> tuple[list[RuleEntry], dict[str, Any], int]:
    """The Entity List entries a rule adds, its metadata, and the table rows read; errors
    name `source`."""
    root = parse_xml(content, file, source, root="RULE", what="Federal Register rule")
    meta = _rule_meta(root, file)
    entries: list[RuleEntry] = []
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
                                         f"{texts[0]!r}", source=source, file=file)  # fmt: skip
                if len(ents) < 2 or _STARS.match(texts[1]):
                    continue
                if not country:
                    raise ParseError(f"Entity List table row {n}: entry before any country",
                                     source=source, file=file)  # fmt: skip
                if len(ents) >= 4:
                    name, aliases, addresses = _entity_cell(ents[1])
                    if not name:
                        raise ParseError(f"Entity List table row {n}: entry has no name",
                                         source=source, file=file)  # fmt: skip
                    entries.append(
                        RuleEntry(
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
                                     source=source, file=file)  # fmt: skip
    return entries, meta, rows_read
