"""The CSL's cells as values: names and aliases, addresses, identifiers, birth dates,
countries. The CSV and the JSON file both go through these."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pycountry

from compliance.countries import to_iso2
from compliance.policy import Vocabulary
from compliance.sources.base import Address, Identifier, Name
from compliance.sources.text import iso_date

VOCABULARY = Vocabulary(
    types={
        "individual": "person",
        "entity": "organization",
        "vessel": "vessel",
        "aircraft": "aircraft",
    },
    countries={"gaza strip": "PS", "west bank": "PS"},  # written as the country in addresses
)
TYPES = VOCABULARY.types
# Words that make an untyped name an organisation's (see the module docstring).
ORG_WORDS = re.compile(
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
_ALIAS_MARK = re.compile(r",?\s*\b([afn])\.k\.a\.,?\s*", re.IGNORECASE)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def clean(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def split(value: str) -> list[str]:
    return [p for p in (clean(p) for p in value.split(";")) if p]


def split_aliases(values: list[str]) -> list[Name]:
    """Alias strings as the CSL writes them -> clean names.

    Handles '; and ' before the last alias, stray leading '-', embedded 'X, a.k.a., Y' and
    'f.k.a. Y' (former name), and notes in parentheses that are not names.
    """
    out: list[Name] = []
    for value in values:
        for i, part in enumerate(split(value)):
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


def names_in_primary(name: str) -> list[Name]:
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
    full = clean(text)
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
        out["number"] = clean(entry)
        return out
    out["type"] = clean(parts.pop())
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
    out["number"] = clean(", ".join(parts))
    return out


def identifiers(ids: list[dict[str, str | None]]) -> tuple[list[Identifier], list[dict]]:
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


def birth_dates(values: list[str], where: str, warnings: list[str]) -> list[str]:
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


def country_codes(values: list[str]) -> list[str]:
    return [c for c in dict.fromkeys(to_iso2(v) for v in values) if c]
