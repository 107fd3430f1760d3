"""Country names and codes as the lists write them, mapped to ISO 3166-1 alpha-2."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Names the official lists use that pycountry's fuzzy-free lookup does not know.
_OVERRIDES: dict[str, str] = {
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea, north": "KP",
    "korea north": "KP",
    "democratic people's republic of korea": "KP",
    "dprk": "KP",
    "south korea": "KR",
    "korea, south": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "burma": "MM",
    "venezuela": "VE",
    "bolivia": "BO",
    "tanzania": "TZ",
    "vietnam": "VN",
    "laos": "LA",
    "moldova": "MD",
    "taiwan": "TW",
    "palestinian": "PS",
    "palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "kosovo": "XK",
    "macau": "MO",
    "macao": "MO",
    "hong kong": "HK",
    "china": "CN",
    "people's republic of china": "CN",
    "czech republic": "CZ",
    "turkey": "TR",
    "turkiye": "TR",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo (democratic republic)": "CD",
    "congo (democratic republic of the)": "CD",
    "congo, democratic republic": "CD",
    "congo, the democratic republic of the": "CD",
    "congo (kinshasa)": "CD",
    "congo (brazzaville)": "CG",
    "drc": "CD",
    "congo": "CG",
    "republic of the congo": "CG",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "cote d ivoire": "CI",
    "côte d'ivoire": "CI",
    "isle of man": "IM",
    "brunei": "BN",
    "cape verde": "CV",
    "micronesia": "FM",
    "vatican": "VA",
    "the bahamas": "BS",
    "bahamas, the": "BS",
    "the gambia": "GM",
    "gambia, the": "GM",
    "netherlands antilles": "AN",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "united states": "US",
    "usa": "US",
    "united states of america": "US",
    "uae": "AE",
    "crimea": "UA",
    "region: crimea": "UA",
    "swaziland": "SZ",
    "macedonia": "MK",
    "british virgin islands": "VG",
    "virgin islands, british": "VG",
    "st. kitts and nevis": "KN",
    "saint kitts and nevis": "KN",
    "st. vincent and the grenadines": "VC",
    "st. lucia": "LC",
    "sao tome and principe": "ST",
    "timor-leste": "TL",
    "east timor": "TL",
    "soviet union": "SU",
    "ussr": "SU",
    "yugoslavia": "YU",
    "serbia and montenegro": "CS",
}


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(".").lower())


@lru_cache(maxsize=4096)
def to_iso2(text: str | None) -> str | None:
    """ISO alpha-2 code for a country name or code as a list writes it; None if unknown."""
    if not text:
        return None
    key = _key(text)
    if not key:
        return None
    if key in _OVERRIDES:
        return _OVERRIDES[key]
    if key == "na":
        return None  # "n/a" (not known), far more often than Namibia
    if len(key) == 2 and key.isalpha():
        c = pycountry.countries.get(alpha_2=key.upper())
        return c.alpha_2 if c else (key.upper() if key.upper() in ("XK", "SU", "YU") else None)
    if len(key) == 3 and key.isalpha():
        c = pycountry.countries.get(alpha_3=key.upper())
        if c:
            return c.alpha_2
    found = _by_name().get(key)
    if found:
        return found
    # "Iran (Islamic Republic of)", "North Macedonia, The Republic of", "Man, Isle of"
    for part in (key.split("(")[0], key.split(",")[0], " ".join(reversed(key.split(", ")))):
        part = part.strip()
        if part and part != key:
            found = _OVERRIDES.get(part) or _by_name().get(part)
            if found:
                return found
    hist = pycountry.historic_countries.get(name=text.strip())
    if hist is not None:
        return getattr(hist, "alpha_2", None)
    return None


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    table: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                table.setdefault(value.lower(), c.alpha_2)
    return table


def country_name(code: str | None) -> str | None:
    if not code:
        return None
    c = pycountry.countries.get(alpha_2=code.upper())
    return c.name if c else code.upper()
