"""Name normalisation shared by the index and the scorer.

Any script is transliterated to ASCII (rigour's ICU-style `ascii_text`: Cyrillic, Arabic, Han with
syllables spaced...), legal forms in many languages are recognised with rigour's org-type tables
(OpenSanctions' curated list: OOO, Obshchestvo s Ogranichennoy Otvetstvennostyu, Co., Ltd., GmbH...)
and set aside, so two names that differ only in legal form compare equal. Phonetic keys are
jellyfish's metaphone over a small transliteration fold (kh/h, w/v, leading ye/e...).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rigour.names.org_types import remove_org_types, replace_org_types_compare
from rigour.text import ascii_text

# Words rigour leaves behind when a legal form is spelled out ("Company Limited").
_LEGAL_LEFTOVERS = frozenset(
    [
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "plc",
        "lp",
        "llp",
        "jsc",
        "pjsc",
        "ojsc",
        "cjsc",
        "ojsc",
        "sa",
        "ag",
        "gmbh",
        "bv",
        "nv",
        "oao",
        "zao",
        "ooo",
        "pao",
        "ao",
    ]
)
_APOSTROPHES = re.compile(r"['`´’‘ʻʼ]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_DOTTED = re.compile(r"(?<=\b[a-z])\.(?=[a-z]\b)")  # "s.a." -> "sa.", "u.s.a." -> "usa."


@dataclass(frozen=True, slots=True)
class NormName:
    tokens: tuple[str, ...]  # name tokens used for matching, legal forms removed
    legal_forms: tuple[str, ...]  # the legal forms set aside, canonical ("llc", "jsc"...)
    latin: bool  # False when the original was written in another script

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def compact(self) -> str:
        return "".join(self.tokens)


def is_latin(text: str) -> bool:
    if text.isascii():
        return True
    for ch in text:
        if ch.isalpha() and not ("LATIN" in unicodedata.name(ch, "") or ch.isascii()):
            return False
    return True


@lru_cache(maxsize=200_000)
def normalize_name(name: str) -> NormName:
    latin = is_latin(name)
    text = (name if name.isascii() else ascii_text(name)).lower()
    text = _DOTTED.sub("", _APOSTROPHES.sub("", text))
    text = _NON_ALNUM.sub(" ", text).strip()
    if not text:
        return NormName((), (), latin)
    stripped = remove_org_types(text)
    tokens = stripped.split()
    legal: list[str] = []
    if stripped.split() != text.split():
        kept = set(tokens)
        legal = [t for t in replace_org_types_compare(text).split() if t not in kept]
    # "Company Limited" style leftovers at either end are legal forms too, if a name remains.
    while len(tokens) > 1 and tokens[-1] in _LEGAL_LEFTOVERS:
        legal.append(tokens.pop())
    while len(tokens) > 1 and tokens[0] in _LEGAL_LEFTOVERS:
        legal.append(tokens.pop(0))
    if len(tokens) == 1 and tokens[0] in _LEGAL_LEFTOVERS:
        legal.append(tokens.pop())
    return NormName(tuple(tokens), tuple(dict.fromkeys(legal)), latin)


_VOWELS = frozenset("aeiou")
_DOUBLES = re.compile(r"(.)\1+")


def _fold(token: str) -> str:
    """Transliteration variants metaphone does not see as the same sound."""
    t = token
    if t[0] == "y" and len(t) > 1 and t[1] in _VOWELS:
        t = t[1:]  # Yevgeniy / Evgeny, Yusuf / Usuf
    elif t[0] == "w":
        t = "v" + t[1:]  # Wladimir / Vladimir
    t = t.replace("kh", "h").replace("dh", "d").replace("dzh", "j").replace("dj", "j")
    t = t.replace("q", "k")
    if t.endswith(("iy", "ii", "yi")):
        t = t[:-2] + "i"  # Evgeniy / Evgenii / Evgeni
    return _DOUBLES.sub(r"\1", t)


@lru_cache(maxsize=300_000)
def phonetic_key(token: str) -> str:
    """Metaphone of the token after a transliteration fold; '' for digits and very short keys."""
    if not token.isalpha() or not token.isascii():
        return ""
    key = jellyfish.metaphone(_fold(token))
    return key if len(key) >= 2 else ""


def normalize_id(number: str) -> str:
    """Identifier numbers compare on letters and digits only: 'A-123 456' == 'a123456'."""
    return re.sub(r"[^0-9A-Z]", "", ascii_text(number).upper())
