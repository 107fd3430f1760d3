"""Country names and codes as the lists write them, mapped to ISO 3166-1 alpha-2.

pycountry supplies the codes and the names (name, official name, common name); the few ways the
lists write countries that pycountry does not know ("Burma", "Korea, North", "DRC", "Kosovo" ->
XK...) are in the curated table data/country_aliases.csv. Rules, in order: an alias; "NA" is
"not known", not Namibia; an alpha-2 or alpha-3 code; a pycountry name; the part before a
parenthesis or comma, or the inverted name ("Iran (Islamic Republic of)", "Man, Isle of"); a
historic country's name.
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache

import pycountry

from compliance.datafiles import data_file

ALIAS_FILE = "country_aliases.csv"


class CountryTableError(Exception):
    pass


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(".").lower())


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    """data/country_aliases.csv as {normalised alias: alpha-2}."""
    text = data_file(ALIAS_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or reader.fieldnames[:2] != ["alias", "iso2"]:
        raise CountryTableError(f"{ALIAS_FILE} line 1: header must start with alias,iso2")
    table: dict[str, str] = {}
    for row in reader:
        alias, iso2 = (row.get("alias") or "").strip(), (row.get("iso2") or "").strip()
        if not alias or len(iso2) != 2 or not iso2.isalpha() or not iso2.isupper():
            raise CountryTableError(
                f"{ALIAS_FILE} line {reader.line_num}: needs an alias and a two-letter "
                f"upper-case iso2 code, got {alias!r}, {iso2!r}"
            )
        table[_key(alias)] = iso2
    return table


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    table: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                table.setdefault(_key(value), c.alpha_2)
    return table


def _by_code(key: str) -> str | None:
    if len(key) == 2:
        c = pycountry.countries.get(alpha_2=key.upper())
        return c.alpha_2 if c else None
    c = pycountry.countries.get(alpha_3=key.upper())
    return c.alpha_2 if c else None


def _by_part(key: str) -> str | None:
    """ "Iran (Islamic Republic of)", "North Macedonia, The Republic of", "Man, Isle of"."""
    for part in (key.split("(")[0], key.split(",")[0], " ".join(reversed(key.split(", ")))):
        part = part.strip()
        if part and part != key:
            found = aliases().get(part) or _by_name().get(part)
            if found:
                return found
    return None


@lru_cache(maxsize=4096)
def to_iso2(text: str | None) -> str | None:
    """ISO alpha-2 code for a country name or code as a list writes it; None if unknown."""
    if not text:
        return None
    key = _key(text)
    if not key:
        return None
    if key in aliases():
        return aliases()[key]
    if key == "na":
        return None  # "n/a" (not known), far more often than Namibia
    if len(key) in (2, 3) and key.isalpha():
        found = _by_code(key)
        if found or len(key) == 2:
            return found
    found = _by_name().get(key) or _by_part(key)
    if found:
        return found
    hist = pycountry.historic_countries.get(name=text.strip())
    return getattr(hist, "alpha_2", None) if hist is not None else None


def country_name(code: str | None) -> str | None:
    """pycountry's name for an alpha-2 code; the code itself when ISO 3166-1 has none (XK)."""
    if not code:
        return None
    c = pycountry.countries.get(alpha_2=code.upper())
    return c.name if c else code.upper()
