"""Canada, Consolidated Canadian Autonomous Sanctions List (SEMA and JVCFOA), sema-lmes.xml.

Root `data-set`, one `record` per listing: `Country` (the regulation's country, bilingual as
"Burma / Birmanie", or the Justice for Victims of Corrupt Foreign Officials Regulations), then
`Entity` or `LastName` + `GivenName`, optional `Title`, `Aliases` (one comma-separated
string), `DateOfBirth` (free text), `Schedule` and `Item`.

The file has no identifier and no date. An entry's id is made of what identifies it in the
regulations: country code (or the regulation's acronym), schedule and item, e.g. "RU-1P2-5"
for Russia, Schedule 1 Part 2, item 5; a record with no Schedule is "VE-55". The list date
stays None.

Aliases are split at commas, except inside brackets and where what follows the comma is a
legal form ("Holding, JSC", "Co., Ltd."). For a person, an alias that is a variant of the
given names ("Andrei" for Andrey Igorevich AKIMOV) or, written in capitals, of the surname
("ERYGIN" for YERYGIN) is completed with the rest of the name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree  # annotations only: screening imports this module for its policy
from rapidfuzz import fuzz
from rigour.names.org_types import remove_org_types

from compliance.countries import to_iso2
from compliance.policy import BLOCK, ListPolicy
from compliance.sources.base import EntityRecord, Name, ParsedList, ParseError, Source, SourceFile
from compliance.sources.text import iso_date
from compliance.sources.xmlsafe import local, parse_xml

KEY = "ca_sema"
FILE = "sema-lmes.xml"
ROOT = "data-set"
LIST_NAME = "Consolidated Canadian Autonomous Sanctions List"
FIELDS = ("Country", "Entity", "LastName", "GivenName", "Title", "Aliases", "DateOfBirth")
KNOWN = frozenset((*FIELDS, "Schedule", "Item"))
# Words rigour's legal-form table leaves behind ("Co.", "Corp.", "Pvt. Ltd." -> "Pvt.").
_FORM_WORDS = frozenset({"co", "corp", "company", "corporation", "pvt", "pte", "kk"})
_ISO = re.compile(r"(?<![\d-])(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?![\d-])")
NAME_SIMILARITY = 60  # rapidfuzz ratio for "a spelling of the same name part"


def _clean(text: str | None) -> str:
    """Whitespace (no-break spaces included) collapsed, ends trimmed."""
    return " ".join((text or "").split())


def _children(rec: etree._Element) -> dict[str, str]:
    return {local(c.tag): c.text or "" for c in rec if isinstance(c.tag, str)}


def _english(country: str) -> str:
    """'Burma / Birmanie' -> 'Burma'; a single-language name is kept."""
    return country.split(" / ", 1)[0].strip()


def _prefix(english: str, code: str | None) -> str:
    """The id's first part: the ISO code, else the regulation's acronym "(JVCFOR)"."""
    if code:
        return code
    acronym = re.findall(r"\(([A-Z]{2,10})\)", english)
    if acronym:
        return acronym[0]
    return re.sub(r"[^A-Z0-9]", "", english.upper())[:12] or "XX"


def _slug(text: str) -> str:
    """'1, Part 2' -> '1P2', 'N/A' -> 'NA'."""
    return re.sub(r"[^A-Z0-9]", "", re.sub(r"PART", "P", text.upper()))


def _record_id(prefix: str, schedule: str, item: str, name: str) -> str:
    parts = [prefix, _slug(schedule)] if _slug(schedule) else [prefix]
    item_slug = re.sub(r"[^A-Za-z0-9.]", "", item)
    return "-".join([*parts, item_slug or "h" + _short_hash(name)])


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _split_top_level(text: str, sep: str) -> Iterator[str]:
    """`text` split at `sep`, never inside brackets or quotes."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "([{“":
            depth += 1
        elif ch in ")]}”" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


@lru_cache(maxsize=4096)
def is_legal_form(part: str) -> bool:
    """'Ltd.', 'JSC', 'Co., Ltd', 'S.A.', 'Inc.': a company's legal form and nothing else."""
    part = part.strip()
    if not part or not re.search(r"[A-Za-z]", part):
        return False
    rest = remove_org_types(part)
    if rest == part and part.lower().strip(".") not in _FORM_WORDS:
        return False
    words = re.findall(r"[^\W\d_]+", rest.lower())
    return all(w in _FORM_WORDS for w in words)


def split_aliases(text: str) -> list[str]:
    """One comma-separated Aliases string -> the aliases; a legal form after a comma stays
    with the name before it ("Technodinamica Holding, JSC", "Samsung Co., Ltd.")."""
    parts: list[str] = []
    for raw in _split_top_level(text, ","):
        part = _clean(raw)
        if not part:
            continue
        if parts and is_legal_form(part):
            parts[-1] = f"{parts[-1]}, {part}"
        else:
            parts.append(part)
    return [_unbracket(p) for p in parts if _unbracket(p)]


def _unbracket(alias: str) -> str:
    """'(Rosselkhozbank)' -> 'Rosselkhozbank'."""
    if alias.startswith("(") and alias.endswith(")") and alias.count("(") == 1:
        return alias[1:-1].strip()
    return alias


def language_versions(name: str) -> list[str]:
    """'Central Bank of Syria/Banque centrale de Syrie' -> both halves; a slash inside
    brackets ('Mills (Hmaw Bi/Pyi)') or one side without two letters ('A/S') is no split."""
    halves = [_clean(h) for h in _split_top_level(name, "/")]
    if len(halves) < 2 or any(len(re.findall(r"[^\W\d_]", h)) < 2 for h in halves):
        return []
    return halves


def _similar(a: str, b: str) -> bool:
    a, b = a.casefold(), b.casefold()
    return abs(len(a) - len(b)) <= 2 and fuzz.ratio(a, b) >= NAME_SIMILARITY


def _closer_to_surname(word: str, given: str, last: str) -> bool:
    """'Hajizadeh' in 'Amir Ali Hajizadeh' (surname Zadeh) spells the surname, not 'Haji'."""
    w = word.casefold()
    return any(fuzz.ratio(w, s) > fuzz.ratio(w, given.casefold()) for s in last.casefold().split())


def person_alias(alias: str, given: str, last: str) -> str:
    """A person's alias as a whole name: a given-name variant gets the remaining given names
    and the surname, a surname variant in capitals gets the given names."""
    words, given_words = alias.split(), given.split()
    if not given_words or not last:
        return alias
    if len(words) == 1 and alias.isupper() and _similar(alias, last.replace(" ", "")):
        return f"{given} {alias}"
    if (
        len(words) <= len(given_words)
        and not any(w.isupper() and len(w) > 1 for w in words)
        and all(_similar(w, g) for w, g in zip(words, given_words, strict=False))
        and not any(
            _closer_to_surname(w, g, last) for w, g in zip(words, given_words, strict=False)
        )
    ):
        return " ".join([*words, *given_words[len(words) :], last])
    return alias


def birth_dates(text: str) -> list[str]:
    """ISO dates or years in a free-text DateOfBirth ('1972-08-10 or 1972-08-11', '1964-03',
    '1939'); a whole text in another format ('12 March 1960') through the shared date reader."""
    whole = iso_date(text, day_first=True)
    if whole:
        return [whole]
    found: list[str] = []
    for m in _ISO.finditer(text):
        year, month, day = m.groups()
        value = iso_date(m.group(0)) if day else f"{year}-{month}" if month else year
        if month and not 1 <= int(month) <= 12:
            value = None
        if value and 1850 <= int(year) <= 2100 and value not in found:
            found.append(value)
    return found


def _names(kind: str, primary: str, aliases: list[str], given: str, last: str) -> list[Name]:
    names = [Name(primary, "primary")]
    seen = {primary.casefold()}

    def add(name: str) -> None:
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(Name(name, "aka"))

    for alias in aliases:
        add(person_alias(alias, given, last) if kind == "person" else alias)
    if kind == "organization":
        for name in [primary, *aliases]:
            for half in language_versions(name):
                add(half)
    return names


def _record(rec: etree._Element, warnings: list[str]) -> EntityRecord:
    raw = _children(rec)
    cell = {k: _clean(raw.get(k)) for k in (*FIELDS, "Schedule", "Item")}
    line = rec.sourceline
    for tag in sorted(set(raw) - KNOWN):
        warnings.append(f"{FILE} line {line}: unknown field <{tag}> kept in raw")
    given, last, entity = cell["GivenName"], cell["LastName"], cell["Entity"]
    if entity and (given or last):
        warnings.append(f"{FILE} line {line}: both Entity and a person's name; read as entity")
    if entity:
        kind, primary = "organization", entity
    elif given or last:
        kind, primary = "person", " ".join(p for p in (given, last) if p)
    else:
        raise ParseError(
            "record has no Entity, LastName or GivenName", source=KEY, file=FILE, line=line
        )
    country = cell["Country"]
    if not country:
        raise ParseError(f"record {primary!r} has no Country", source=KEY, file=FILE, line=line)
    english = _english(country)
    code = to_iso2(english)
    source_id = _record_id(_prefix(english, code), cell["Schedule"], cell["Item"], primary)
    if not cell["Item"]:
        warnings.append(f"{FILE} line {line}: {primary!r} has no Item; id {source_id}")
    aliases = split_aliases(cell["Aliases"]) if cell["Aliases"] else []
    dob = cell["DateOfBirth"]
    dates = birth_dates(dob) if dob else []
    if dob and not dates:
        warnings.append(f"{FILE} line {line}: unreadable DateOfBirth {dob!r}")
    return EntityRecord(
        source_id=source_id,
        entity_type=kind,
        name=primary,
        names=_names(kind, primary, aliases, given, last),
        programs=[english],
        lists=[LIST_NAME],
        dates_of_birth=dates,
        countries=[code] if code else [],
        fields={
            "country": country,
            "country_code": code,
            "schedule": cell["Schedule"] or None,
            "item": cell["Item"] or None,
            "title": cell["Title"] or None,
            "last_name": last or None,
            "given_name": given or None,
            "aliases": cell["Aliases"] or None,
            "date_of_birth": dob or None,
        },
        raw=raw,
    )


def parse(files: Mapping[str, bytes]) -> ParsedList:
    root = parse_xml(files[FILE], FILE, KEY, root=ROOT, what="Canadian sanctions list")
    records: list[EntityRecord] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for rec in root:
        if not isinstance(rec.tag, str):
            continue  # comments, processing instructions
        if local(rec.tag) != "record":
            warnings.append(f"{FILE} line {rec.sourceline}: unexpected <{local(rec.tag)}> skipped")
            continue
        entry = _record(rec, warnings)
        if entry.source_id in seen:  # the same Country, Schedule and Item twice
            unique, n = f"{entry.source_id}-h{_short_hash(entry.name)}", 1
            while unique in seen:  # the very same record again
                n += 1
                unique = f"{entry.source_id}-h{_short_hash(entry.name)}-{n}"
            warnings.append(
                f"{FILE} line {rec.sourceline}: {entry.source_id} repeated ({entry.name!r}); "
                f"id {unique}"
            )
            entry.source_id = unique
        seen.add(entry.source_id)
        records.append(entry)
    if not records:
        raise ParseError(f"<{ROOT}> holds no <record>", source=KEY, file=FILE)
    return ParsedList(records, data_date=None, warnings=warnings, rows_read=None)


SOURCE = Source(
    key=KEY,
    title="Canada Consolidated Autonomous Sanctions List (SEMA, JVCFOA)",
    publisher="Global Affairs Canada",
    files=(
        SourceFile(
            FILE,
            "https://www.international.gc.ca/world-monde/assets/office_docs/"
            "international_relations-relations_internationales/sanctions/sema-lmes.xml",
            "xml",
            max_bytes=50_000_000,
        ),
    ),
    parse=parse,
    homepage="https://www.international.gc.ca/world-monde/international_relations-relations_internationales/sanctions/consolidated-consolide.aspx",
    policy=ListPolicy(
        display="Canada SEMA",
        category="sanctions",
        decision=BLOCK,
        rank=55,
        why="dealing in property of a listed person, or providing "
        "financial or related services to them, "
        "is prohibited (Special Economic Measures Act, JVCFOA)",
    ),
)
