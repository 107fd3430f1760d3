"""The DFAT workbook's free-text cells as values: dates of birth (day first, as Australia
writes them), countries and citizenships (names or demonyms), and plain text."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from rigour.territories import lookup_territory

from compliance.countries import to_iso2

EMPTY = {"", "na", "n/a", "none", "-", "unknown"}
MAX_RANGE_YEARS = 10  # a wider "Between 1950 and 1970" keeps only its two ends


def clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return " ".join(str(value).split())


# --- dates of birth -----------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_MON = (
    r"\b(?P<{0}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il|l)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?<!\d)(?:18|19|20)\d{2}(?!\d)"
_NUMERIC = (
    rf"(?<!\d)(?P<nd>\d{{1,2}})\s?[/.]\s?(?P<nm>\d{{1,2}})\s?[/.]\s?(?P<ny>{_YEAR}|\d{{2}}(?!\d))"
)
_TEXTUAL = (
    rf"(?<!\d)(?P<td>\d{{1,2}})(?:\.|st|nd|rd|th)?[\s-]*{_MON.format('tm')}[\s,-]*"
    rf"(?P<ty>{_YEAR}|\d{{2}}(?!\d))"
)
_DATES = re.compile(
    "|".join(
        (
            rf"(?P<iso>{_YEAR})-(?P<im>\d{{2}})-(?P<id>\d{{2}})",
            _NUMERIC,  # day first, as Australia writes dates
            _TEXTUAL,  # "12 Apr. 1982", "23-Apr-68", "12. Jul 1960"
            rf"{_MON.format('um')}\s+(?P<ud>\d{{1,2}}),?\s+(?P<uy>{_YEAR})",  # "April 9, 1960"
            rf"{_MON.format('mm')},?\s+(?P<my>{_YEAR})",
            rf"(?<![\d/])(?P<pm>\d{{1,2}})/(?P<py>{_YEAR})",  # "03/1965"
            rf"(?P<ra>{_YEAR})\s*(?:-|–|to|and)\s*(?P<rb>{_YEAR})",
            rf"(?P<y>{_YEAR})",
        )
    ),
    re.IGNORECASE,
)


def _year(text: str) -> int:
    y = int(text)
    return y if y >= 100 else (2000 + y if y < 30 else 1900 + y)  # two digits: "07/04/62"


def _day(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _found(m: re.Match[str]) -> list[str]:
    g = m.groupdict()
    if g["iso"]:
        return [d] if (d := _day(int(g["iso"]), int(g["im"]), int(g["id"]))) else []
    if g["nd"]:
        day, month = int(g["nd"]), int(g["nm"])
        if month > 12 >= day:  # month first: only when the day cannot be a month
            day, month = month, day
        return [d] if (d := _day(_year(g["ny"]), month, day)) else []
    for d_key, m_key, y_key in (("td", "tm", "ty"), ("ud", "um", "uy")):
        if g[m_key]:
            month = _MONTHS[g[m_key][:3].lower()]
            return [d] if (d := _day(_year(g[y_key]), month, int(g[d_key]))) else []
    if g["mm"]:
        return [f"{int(g['my']):04d}-{_MONTHS[g['mm'][:3].lower()]:02d}"]
    if g["pm"]:
        return [f"{g['py']}-{int(g['pm']):02d}"] if 1 <= int(g["pm"]) <= 12 else [g["py"]]
    if g["ra"]:
        lo, hi = sorted((int(g["ra"]), int(g["rb"])))
        years = range(lo, hi + 1) if hi - lo <= MAX_RANGE_YEARS else (lo, hi)
        return [str(y) for y in years]
    return [g["y"]]


@lru_cache(maxsize=8192)
def birth_dates(text: str) -> tuple[str, ...]:
    """Every date a free-text Date of Birth states, ISO ('YYYY-MM-DD', 'YYYY-MM' or 'YYYY'):
    'a) 12/05/1961 b) 23-Apr-68', 'Between 1955 and 1958' (each year), 'Approximately 1963'.
    A Hijri date (year 1402) is no Gregorian year and is skipped."""
    text = re.sub(r"\d{1,2}/\d{1,2}/\d{4}\s*\(Hijri[^)]*\)", " ", text)
    out: list[str] = []
    for m in _DATES.finditer(text):
        out.extend(d for d in _found(m) if d not in out)
    return tuple(out)


def cell_dates(value: Any) -> tuple[str, ...]:
    if isinstance(value, datetime | date):
        return (value.strftime("%Y-%m-%d"),)
    if isinstance(value, int | float) and 1850 <= value <= 2100:
        return (str(int(value)),)
    return birth_dates(clean(value))


# --- countries ----------------------------------------------------------------------------

# Where rigour's table of names and demonyms maps a spelling elsewhere, or lacks it.
_COUNTRY_FIXES = {
    "mauritian": "MU",
    "belarussian": "BY",
    "türkiyish": "TR",
    "turkiyish": "TR",
    "united kingdom of great britain": "GB",
}
_ENUMERATOR = re.compile(r"(?:^|\s)\(?[a-z]\)\s*")
_SEPARATORS = re.compile(r"\s*(?:;|,|/|\n|\band\b)\s*")


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """ISO alpha-2 for a country name or demonym ('Iran', 'Iranian', 'USSR (until 1991)')."""
    text = re.sub(r"\([^)]*\)", " ", text)
    text = re.sub(r"^(?:possibly|formerly)\s+", "", " ".join(text.split()), flags=re.I)
    key = text.strip(" .;,").lower()
    if key in EMPTY:
        return None
    if key in _COUNTRY_FIXES:
        return _COUNTRY_FIXES[key]
    code = to_iso2(key)
    if code is None and len(key) > 3:  # demonyms; not 2-3 letters, which rigour reads as codes
        found = lookup_territory(key)
        code = found.code.upper() if found and len(found.code) == 2 else None
    return code


def enumerated(text: str) -> list[str]:
    """'a) Jordan b) United States' -> ['Jordan', 'United States']; other text -> [text]."""
    parts = [p.strip(" ;,") for p in _ENUMERATOR.split(text)]
    return [p for p in parts if p and p.lower() not in EMPTY]


def citizenships(text: str) -> tuple[list[str], list[str]]:
    """(ISO codes, parts not understood) of a Citizenship cell: 'Russian and Ukrainian',
    'a) Pakistani b) Saudi Arabian', 'Malian / Mauritanian', 'Somalia;\\nKenya'."""
    codes: list[str] = []
    unknown: list[str] = []
    for item in enumerated(text):
        code = country_code(item)
        parts = [code] if code else [country_code(p) for p in _SEPARATORS.split(item) if p]
        if parts and all(parts):
            codes.extend(c for c in parts if c and c not in codes)
        else:
            unknown.append(item)
    return codes, unknown


def place_country(text: str) -> str | None:
    """The country a place or address names, looked for from its end: 'Tehran, Iran' -> IR,
    'St. Petersburg, Russia, 197022, PO Box 128' -> RU."""
    parts = re.sub(r"\([^)]*\)", " ", text).rstrip(" .;,").split(",")
    for part in reversed(parts):
        code = country_code(part)
        if code:
            return code
    return None
