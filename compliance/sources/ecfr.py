"""eCFR (versioner API v1): the regulation text the chip rules depend on, with its dates.

Files, all from https://www.ecfr.gov/api/versioner/v1/:
- `titles.json`: the date title 15 is current as of (`up_to_date_as_of`);
- `versions/title-15.json?part=P`: each section's amendment dates;
- `full/{date}/title-15.xml?part=P[&section=S]`: the text, in the eCFR's GPO-derived XML
  (DIV5 = part, DIV8 = section, DIV9 = appendix/supplement, HEAD/HD headings, P/FP paragraphs,
  GPOTABLE tables). The XML URLs depend on the date in titles.json, so they are discovered
  after titles.json is read (`discover`).

Parsed here: ECCN 3A090 and 4A090 and every `.z` paragraph that points at them (Supplement
No. 1 to part 774), the Country Group tables (Supplement No. 1 to part 740), 15 CFR
742.6(a)(6) and 15 CFR 744.23. Like every parser here, this never touches network or database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree  # annotations only: screening imports this module for its policy

from compliance.countries import to_iso2
from compliance.sources.base import ParseError, SourceFile
from compliance.sources.xmlsafe import parse_xml

KEY = "us_ecfr"
API = "https://www.ecfr.gov/api/versioner/v1"
TITLES = "titles.json"

# (file name, part, section or None): the pieces of title 15 the rules read.
PIECES: tuple[tuple[str, str, str | None], ...] = (
    ("title-15-part-774.xml", "774", None),
    ("title-15-part-740.xml", "740", None),
    ("title-15-section-742.6.xml", "742", "742.6"),
    ("title-15-section-744.23.xml", "744", "744.23"),
)
VERSION_FILES = tuple(
    SourceFile(f"versions-title-15-part-{part}.json", f"{API}/versions/title-15.json?part={part}",
               "json", max_bytes=50_000_000)
    for part in ("774", "740", "742", "744")
)  # fmt: skip
FILES: tuple[SourceFile, ...] = (
    SourceFile(TITLES, f"{API}/titles.json", "json", max_bytes=5_000_000),
    *VERSION_FILES,
)

_ECCN_HEAD = re.compile(r"^\s*(\d[A-E]\d{3})\b")
_GROUP = re.compile(r"\[?\s*([ABDE]):\s*(\d)\s*\]?")


@dataclass
class RegSection:
    key: str  # "3A090", "4A090", "3A001.z", "740 Supp. 1", "742.6(a)(6)", "744.23"
    cite: str  # "15 CFR part 774, Supp. No. 1, ECCN 3A090"
    heading: str
    text: str
    file: str
    amended_on: str | None = None  # latest amendment date the versions file states
    data: dict[str, Any] = field(default_factory=dict)  # parsed content (country groups)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass
class ParsedRegulation:
    ecfr_date: str  # the date title 15 is current as of
    sections: list[RegSection]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegulationSource:
    """Same shape as a list `Source`, but its parse yields regulation sections, not entities."""

    key: str
    title: str
    publisher: str
    files: tuple[SourceFile, ...]
    parse: Callable[[Mapping[str, bytes]], ParsedRegulation]
    discover: Callable[[Mapping[str, bytes], list[str] | None], tuple[SourceFile, ...]]
    homepage: str = ""
    mirror_key: str = ""


def _json(content: bytes, file: str) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}", source=KEY, file=file) from None


def title_date(content: bytes) -> str:
    """The date title 15 is current as of, from titles.json."""
    data = _json(content, TITLES)
    titles = data.get("titles") if isinstance(data, dict) else None
    if not isinstance(titles, list):
        raise ParseError("has no 'titles' list", source=KEY, file=TITLES)
    for t in titles:
        if isinstance(t, dict) and t.get("number") == 15:
            date = t.get("up_to_date_as_of") or t.get("latest_issue_date")
            if not isinstance(date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                raise ParseError(
                    f"title 15 has no valid 'up_to_date_as_of' date (got {date!r})",
                    source=KEY, file=TITLES,
                )  # fmt: skip
            return date
    raise ParseError("does not list title 15", source=KEY, file=TITLES)


def discover(
    files: Mapping[str, bytes], listing: list[str] | None = None
) -> tuple[SourceFile, ...]:
    """The dated XML files, once titles.json says which date is current."""
    if TITLES not in files:
        return ()
    date = title_date(files[TITLES])
    out = []
    for name, part, section in PIECES:
        query = f"part={part}" + (f"&section={section}" if section else "")
        out.append(
            SourceFile(name, f"{API}/full/{date}/title-15.xml?{query}", "xml",
                       max_bytes=100_000_000)
        )  # fmt: skip
    return tuple(out)


# ---- XML text --------------------------------------------------------------------------------


def _text(el: etree._Element) -> str:
    """An element's text, inline markup flattened, whitespace collapsed."""
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _heading(div: etree._Element) -> str:
    head = div.find("HEAD")
    return _text(head) if head is not None else ""


def _find_div(root: etree._Element, tag: str, n: str) -> etree._Element | None:
    if root.tag == tag and root.get("N") == n:
        return root
    for el in root.iter(tag):
        if el.get("N") == n:
            return el
    return None


def _find_supplement(root: etree._Element, part: str) -> etree._Element | None:
    want = f"supplement no. 1 to part {part}"
    for el in root.iter("DIV9"):
        n = (el.get("N") or "").lower()
        head = el.find("HEAD")
        if n == want or (head is not None and _text(head).lower().startswith(want)):
            return el
    return None


def _blocks(div: etree._Element) -> list[etree._Element]:
    """Paragraph-level children in document order (P, FP*, HD*, NOTE, GPOTABLE...)."""
    return [el for el in div if isinstance(el.tag, str) and el.tag != "HEAD"]


def _eccn_entries(supp: etree._Element) -> dict[str, list[etree._Element]]:
    """ECCN -> the blocks of its entry: from its bold heading to the next ECCN heading."""
    entries: dict[str, list[etree._Element]] = {}
    current: str | None = None
    for el in _blocks(supp):
        bold = el.find("B")
        head_text = _text(bold) if bold is not None else ""
        starts_bold = bold is not None and not (el.text or "").strip()
        m = _ECCN_HEAD.match(head_text) if starts_bold else None
        if m:
            current = m.group(1)
            entries.setdefault(current, [])
        if current:
            entries[current].append(el)
    return entries


def _z_paragraphs(blocks: list[etree._Element]) -> str:
    """The `.z` paragraph(s) of an ECCN entry ('z.', 'z.1.', ...)."""
    lines = [_text(b) for b in blocks]
    return "\n".join(t for t in lines if re.match(r"^z\.(\d+\.)?\s", t))


def _parse_774(content: bytes, file: str, warnings: list[str]) -> list[RegSection]:
    root = parse_xml(content, file, KEY)
    supp = _find_supplement(root, "774")
    if supp is None:
        raise ParseError("has no DIV9 'Supplement No. 1 to Part 774'", source=KEY, file=file)
    entries = _eccn_entries(supp)
    out = []
    for eccn in ("3A090", "4A090"):
        blocks = entries.get(eccn)
        if not blocks:
            raise ParseError(f"Supplement No. 1 to part 774 has no ECCN {eccn} entry",
                             source=KEY, file=file)  # fmt: skip
        out.append(
            RegSection(
                key=eccn, cite=f"15 CFR part 774, Supp. No. 1, ECCN {eccn}",
                heading=_text(blocks[0]), text="\n".join(_text(b) for b in blocks), file=file,
            )
        )  # fmt: skip
    for eccn, blocks in entries.items():
        if eccn in ("3A090", "4A090"):
            continue
        z = _z_paragraphs(blocks)
        if z and re.search(r"3A090|4A090", z):
            out.append(
                RegSection(
                    key=f"{eccn}.z", cite=f"15 CFR part 774, Supp. No. 1, ECCN {eccn}.z",
                    heading=_text(blocks[0]), text=z, file=file,
                )
            )  # fmt: skip
    if not any(s.key.endswith(".z") for s in out):
        warnings.append(f"{file}: no .z paragraph referring to 3A090/4A090 was found")
    return out


def _table_rows(table: etree._Element) -> tuple[list[str], list[list[str]]]:
    heads = [_text(c) for c in table.iter("CHED")]
    rows = [[_cell(e) for e in row.findall("ENT")] for row in table.iter("ROW")]
    return heads, rows


def _cell(ent: etree._Element) -> str:
    # Footnote markers (<SU>1</SU>) are not part of a country name or an "X".
    parts = [ent.text or ""]
    for child in ent:
        if child.tag != "SU":
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def parse_country_groups(content: bytes, file: str) -> tuple[dict[str, list[str]], str]:
    """Supplement No. 1 to part 740: group ('D:5') -> sorted ISO alpha-2 codes; and its text."""
    root = parse_xml(content, file, KEY)
    supp = _find_supplement(root, "740")
    if supp is None:
        raise ParseError("has no DIV9 'Supplement No. 1 to Part 740'", source=KEY, file=file)
    groups: dict[str, set[str]] = {}
    for table in supp.iter("GPOTABLE"):
        heads, rows = _table_rows(table)
        cols = [(_GROUP.search(h), i) for i, h in enumerate(heads)]
        codes = {i: f"{m.group(1)}:{m.group(2)}" for m, i in cols if m}
        if not codes:
            continue
        for n, row in enumerate(rows, 1):
            if not row or not row[0]:
                continue
            name = re.sub(r"[\d*†]+$", "", row[0]).strip().rstrip(",")
            iso = to_iso2(name) or to_iso2(_CG_NAMES.get(name.lower(), ""))
            if iso is None:
                raise ParseError(
                    f"country group table row {n}: unknown country {row[0]!r}",
                    source=KEY, file=file,
                )  # fmt: skip
            for i, code in codes.items():
                if i < len(row) and "x" in row[i].lower():
                    groups.setdefault(code, set()).add(iso)
    if not groups:
        raise ParseError("no Country Group table was found", source=KEY, file=file)
    out = {g: sorted(v) for g, v in sorted(groups.items())}
    # A stable, line-per-group rendering, so a change shows as a readable diff.
    return out, "\n".join(f"{g}: {', '.join(m)}" for g, m in out.items())


# Country names as Supplement No. 1 to part 740 writes them, where they differ from ISO names.
_CG_NAMES = {
    "korea, north": "north korea",
    "korea, south": "south korea",
    "congo (democratic republic of the)": "democratic republic of the congo",
    "congo (republic of the)": "republic of the congo",
    "macau": "macao",
}


def _section_paragraph(div: etree._Element, para: str, stop: tuple[str, ...]) -> str:
    """Paragraphs from the one starting `para` (e.g. '(6)') up to one starting a `stop` label,
    within paragraph (a) of the section."""
    out: list[str] = []
    inside, seen_a = False, False
    for el in _blocks(div):
        t = _text(el)
        if t.startswith("(a)"):
            seen_a = True
        if not seen_a:
            continue
        if inside and t.startswith(stop):
            break
        if not inside and t.startswith(para):
            inside = True
        if inside:
            out.append(t)
    return "\n".join(out)


def _parse_section(content: bytes, file: str, number: str) -> etree._Element:
    root = parse_xml(content, file, KEY)
    div = _find_div(root, "DIV8", number)
    if div is None:
        raise ParseError(f"has no DIV8 section {number}", source=KEY, file=file)
    return div


def _versions(files: Mapping[str, bytes]) -> dict[str, str]:
    """identifier ('742.6', 'Supplement No. 1 to Part 774') -> its latest amendment date."""
    latest: dict[str, str] = {}
    for spec in VERSION_FILES:
        if spec.name not in files:
            continue
        data = _json(files[spec.name], spec.name)
        versions = data.get("content_versions") if isinstance(data, dict) else None
        if not isinstance(versions, list):
            raise ParseError("has no 'content_versions' list", source=KEY, file=spec.name)
        for i, v in enumerate(versions):
            if not isinstance(v, dict) or not isinstance(v.get("identifier"), str):
                raise ParseError(f"content_versions[{i}] has no identifier",
                                 source=KEY, file=spec.name)  # fmt: skip
            date = v.get("amendment_date") or v.get("date")
            if isinstance(date, str) and date > latest.get(v["identifier"], ""):
                latest[v["identifier"]] = date
    return latest


def parse(files: Mapping[str, bytes]) -> ParsedRegulation:
    if TITLES not in files:
        raise ParseError("missing", source=KEY, file=TITLES)
    date = title_date(files[TITLES])
    missing = [name for name, _, _ in PIECES if name not in files]
    if missing:
        raise ParseError(f"missing: {', '.join(missing)}", source=KEY)
    warnings: list[str] = []
    versions = _versions(files)
    sections = _parse_774(files["title-15-part-774.xml"], "title-15-part-774.xml", warnings)
    for s in sections:
        s.amended_on = versions.get("Supplement No. 1 to Part 774")
    groups, text = parse_country_groups(files["title-15-part-740.xml"], "title-15-part-740.xml")
    sections.append(
        RegSection(
            key="740 Supp. 1", cite="15 CFR part 740, Supp. No. 1 (Country Groups)",
            heading="Supplement No. 1 to Part 740—Country Groups", text=text,
            file="title-15-part-740.xml", amended_on=versions.get("Supplement No. 1 to Part 740"),
            data={"groups": groups},
        )
    )  # fmt: skip
    f = "title-15-section-742.6.xml"
    div = _parse_section(files[f], f, "742.6")
    para = _section_paragraph(div, "(6)", ("(7)", "(b)"))
    if not para or "(iii)" not in para:
        raise ParseError("section 742.6 has no paragraph (a)(6)(iii)", source=KEY, file=f)
    sections.append(
        RegSection(
            key="742.6(a)(6)", cite="15 CFR 742.6(a)(6)", heading=_heading(div),
            text=para, file=f, amended_on=versions.get("742.6"),
        )
    )  # fmt: skip
    f = "title-15-section-744.23.xml"
    div = _parse_section(files[f], f, "744.23")
    text = "\n".join(t for t in (_text(b) for b in _blocks(div)) if t)
    if not text:
        raise ParseError("section 744.23 has no text", source=KEY, file=f, line=div.sourceline)
    sections.append(
        RegSection(
            key="744.23", cite="15 CFR 744.23", heading=_heading(div), text=text, file=f,
            amended_on=versions.get("744.23"),
        )
    )  # fmt: skip
    return ParsedRegulation(date, sections, warnings)


SOURCE = RegulationSource(
    key=KEY,
    title="eCFR title 15 (EAR): 3A090/4A090, Country Groups, 742.6(a)(6), 744.23",
    publisher="Office of the Federal Register / GPO (eCFR)",
    files=FILES,
    parse=parse,
    discover=discover,
    homepage="https://www.ecfr.gov/current/title-15/subtitle-B/chapter-VII/subchapter-C",
)
