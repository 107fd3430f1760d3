"""How alike two words of names are, and how: exact, a typo (edits allowed by length), sounds
alike (metaphone after a transliteration fold), an initial, a written abbreviation (INTL /
INTERNATIONAL), a given name and its familiar form (Vova / Vladimir), a one-letter Roman
numeral and its number. The scorer aligns names word by word with this, and retrieval uses the
same test so that it never offers what the scorer would not pair.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.fuzz import ratio

from compliance.matching.given_names import given_name_variants
from compliance.matching.normalize import phonetic_key

_VOWELS = "aeiouy"
_DOUBLED = re.compile(r"(.)\1+")
# Arabic article transliterations: AL-ASTAL / EL-ASTAL, UL-HAQ / AL-HAQ.
_ARTICLES = frozenset({"al", "el", "ul", "il"})
# One-letter Roman numerals, which normalisation keeps as letters (they are initials too).
_ROMAN_LETTERS = {"i": "first", "v": "fifth", "x": "tenth"}
_EDITS = ("", "1 edit", "2 edits", "3 edits")


@lru_cache(maxsize=500_000)
def token_sim(a: str, b: str) -> tuple[float, str]:
    """Similarity of query token `a` to listed token `b` in 0..1, and how it was established.

    Typos count edits with transpositions as one (OSA distance), allowed by token length;
    "sounds alike" needs the same metaphone key after a transliteration fold, the same first
    sound, and enough letters in common, since metaphone alone maps "Teradyne" to "Triton".
    A one-letter query token is an initial of the listed token.
    """
    if a == b:
        return 1.0, "exact"
    la, lb = len(a), len(b)
    if la == 1 or lb == 1:
        if _ROMAN_LETTERS.get(a) == b or _ROMAN_LETTERS.get(b) == a:
            return 0.9, "same number"  # ARCTICA I / ARCTICA 1 (normalised to "first")
        if la == 1:
            return (0.75, "initial") if b[0] == a else (0.0, "")
    if b in given_name_variants().get(a, ()):
        return 0.85, "given-name variant"
    if a in _ARTICLES and b in _ARTICLES:
        return 0.95, "article"
    short, long = (la, lb) if la < lb else (lb, la)
    if short < 3 or a.isdigit() or b.isdigit():
        return 0.0, ""
    if long <= 5 and _short_fold(a) == _short_fold(b):
        return 0.85, "sounds alike"  # REX / REKS, LAV / LAW: too short for an edit allowance
    if a[0] == b[0] and long - short >= 2 and (_abbreviates(a, b) or _abbreviates(b, a)):
        return 0.7, "abbreviation"
    allowed = 0 if long <= 3 else 1 if long <= 5 else 2 if long <= 8 else 3
    best, how = 0.0, ""
    if allowed and long - short <= allowed:  # the distance is at least the length gap
        d = OSA.distance(a, b, score_cutoff=allowed)
        if d <= allowed:
            best, how = 1.0 - 0.6 * d / long, _EDITS[d]
    # Sounds alike: the cheap tests first, the phonetic keys (computed per word) last.
    # (ratio is at most 200 * short / (la + lb): no call when that is under 60)
    if (
        best < 0.9
        and (a[0] == b[0] or (a[0] in _VOWELS) == (b[0] in _VOWELS))
        and 200 * short >= 60 * (la + lb)
    ):
        common = ratio(a, b)
        if common >= 60 and (ka := phonetic_key(a)) and ka == phonetic_key(b):
            sim = 0.9 if common >= 75 and short > 4 else 0.85 if short > 4 else 0.8
            if sim > best:
                best, how = sim, "sounds alike"
    return best, how


_SHORT_FOLDS = (("cks", "x"), ("ks", "x"), ("ph", "f"), ("w", "v"), ("q", "k"), ("ck", "k"),
                ("c", "k"), ("z", "s"), ("y", "i"), ("j", "i"))  # fmt: skip


@lru_cache(maxsize=100_000)
def _short_fold(token: str) -> str:
    """A short word's spelling folded: letters transliteration writes either way."""
    for old, new in _SHORT_FOLDS:
        token = token.replace(old, new)
    return _DOUBLED.sub(r"\1", token)


def _abbreviates(a: str, b: str) -> bool:
    """`a` is a written abbreviation of `b`: its first letters (AIR / AIRLINES, TELECOM /
    TELECOMMUNICATION, ELEC / ELECTRONICS), or, with at most one vowel, its letters in order
    (INTL / INTERNATIONAL, GRP / GROUP, MFG / MANUFACTURING; so ALI is not ALAVI). Either
    way at least two letters shorter and the same first letter."""
    if a[0] != b[0] or len(b) < len(a) + 2 or len(a) < 3:
        return False
    if b.startswith(a) and len(b) >= len(a) + 3:
        return True
    if sum(ch in _VOWELS for ch in a) > 1:
        return False
    rest = iter(b)
    return all(ch in rest for ch in a)
