"""The curated word tables normalisation applies to both sides of a comparison.

data/abbreviations.csv: business abbreviations, plural and spelling folds and ordinals, each
mapped to one canonical token ("Intl", "Int'l" -> "international"; "Tech" -> "technology";
"2nd", "2", "II" -> "second"). Canonicalising the same way in the index and the
query means an abbreviation can only make two names agree that already say the same thing.
data/legal_form_spellings.csv: misspelt or transliterated words of legal forms ("STOK",
"OBSHCHESTOV", "DJSC"), corrected before legal forms are recognised.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache

from rigour._core import person_name_prefixes_list

from compliance.datafiles import data_file

_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th|e|er|eme)$")
# Titles dropped from the front of any name (no company starts with "Mr"); a person's name also
# loses ranks such as "Gen." and "Col." ("Gen Digital" is a company).
ANY_NAME_TITLES = frozenset(
    ["mr", "mrs", "ms", "mx", "dr", "prof", "hrh", "sheikh", "shaikh", "shaykh", "sheik"]
)
PERSON_TITLES = frozenset(
    [
        "gen",
        "col",
        "lt",
        "ltcol",
        "maj",
        "capt",
        "cpt",
        "brig",
        "adm",
        "sgt",
        "cmdr",
        "hon",
        "rev",
        "sen",
    ]
)
_NOT_TITLES = frozenset({"the", "private", "pvt"})  # in rigour's list, but legal words here


def _table(name: str, key: str, value: str) -> dict[str, str]:
    text = data_file(name).read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        k, v = (row.get(key) or "").strip().lower(), (row.get(value) or "").strip().lower()
        if not k or not v:
            raise ValueError(f"data/{name} line {line}: {key} and {value} are both needed")
        out[k] = v
    return out


@cache
def abbreviations() -> dict[str, str]:
    return _table("abbreviations.csv", "abbreviation", "expansion")


@cache
def ordinals() -> dict[str, str]:
    """The rows of abbreviations.csv that are ordinals ("2", "ii" -> "second")."""
    table = abbreviations()
    words = {v for k, v in table.items() if k.isdigit()}
    return {k: v for k, v in table.items() if v in words}


@cache
def legal_spellings() -> dict[str, str]:
    return _table("legal_form_spellings.csv", "spelling", "usual")


@cache
def person_titles() -> frozenset[str]:
    """Honorifics and ranks a person's name can start with: rigour's curated list (Doctor,
    General, Sheikh, His Excellency...) folded to single lower-case words, plus abbreviations."""
    words = set(ANY_NAME_TITLES | PERSON_TITLES)
    for title in person_name_prefixes_list():
        word = re.sub(r"[^a-z]", "", title.lower())
        if word and " " not in title:
            words.add(word)
    return frozenset(words - _NOT_TITLES)


def canonical(token: str) -> str:
    """The one form of a token both sides use: abbreviation expanded, ordinal as a word up to
    twentieth ("2nd", "2", "II" -> "second"; "54th" -> "54")."""
    m = _ORDINAL.match(token)
    if m:
        token = m.group(1)
    return abbreviations().get(token, token)
