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
_LEGAL_QUALIFIERS = frozenset(
    [
        "open",
        "closed",
        "public",
        "private",
        "joint",
        "stock",
        "otkrytoe",
        "zakrytoe",
        "publichnoe",
        "aktsionernoe",
        "obshchestvo",
        "limited",
        "liability",
    ]
)
# Words of spelled-out legal forms: a query's typo in one of them is corrected before the
# legal form is recognised ("JOINT STOKC COMPANY" is "JOINT STOCK COMPANY").
LEGAL_WORDS = frozenset(
    [
        "company",
        "limited",
        "liability",
        "joint",
        "stock",
        "corporation",
        "incorporated",
        "partnership",
        "public",
        "closed",
        "private",
        "aktsionernoe",
        "obshchestvo",
        "otkrytoe",
        "zakrytoe",
        "publichnoe",
        "ogranichennoy",
        "otvetstvennostyu",
        "gesellschaft",
        "haftung",
        "sociedad",
        "anonima",
    ]
)
# Legal forms common enough that a name made only of them is no name ("Co., Ltd.", "OOO").
WELL_KNOWN_FORMS = _LEGAL_LEFTOVERS | frozenset(
    ["coltd", "spa", "srl", "sarl", "kft", "sro", "as", "ab", "oy", "pte", "pvt", "bhd", "sdn"]
)
_APOSTROPHES = re.compile(r"['`´’‘ʻʼ]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Spellings of legal forms that rigour's table has in another form.
_FORM_SPELLINGS = (
    ("beschrankter", "beschraenkter"),
    ("societe anonyme", "sa"),
    ("sociedad anonima", "sa"),
    ("societa per azioni", "spa"),
)
_DOTTED = re.compile(r"(?<=\b[a-z])\.(?=[a-z]\b)")  # "s.a." -> "sa.", "u.s.a." -> "usa."


@dataclass(frozen=True, slots=True)
class NormName:
    tokens: tuple[str, ...]  # name tokens used for matching, legal forms removed
    legal_forms: tuple[str, ...]  # the legal forms set aside, canonical ("llc", "jsc"...)
    latin: bool  # False when the original was written in another script
    words: tuple[str, ...] = ()  # every token, legal forms kept: how a person's name is read

    def as_person(self) -> NormName:
        """People have no legal form: "SA'D SABAWI" keeps "sad" (S.A.D. for a company)."""
        if not self.legal_forms or not self.words:
            return self
        return NormName(self.words, (), self.latin, self.words)

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


def _to_ascii(name: str) -> str:
    """Latin letters with accents lose them (fast path); anything else goes through rigour's
    transliteration (other scripts, ß, ø, typographic apostrophes...)."""
    if name.isascii():
        return name
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return plain if plain.isascii() else ascii_text(name)


@lru_cache(maxsize=200_000)
def normalize_name(name: str) -> NormName:
    latin = is_latin(name)
    text = _to_ascii(name).lower()
    text = _DOTTED.sub("", _APOSTROPHES.sub("", text))
    text = _NON_ALNUM.sub(" ", text).strip()
    if not text:
        return NormName((), (), latin)
    for spelling, usual in _FORM_SPELLINGS:
        if spelling in text:
            text = text.replace(spelling, usual)
    # Leading single letters are initials ("B. V. OBNOSOV"), not a legal form such as B.V.
    words = text.split()
    initials: list[str] = []
    while len(words) > 1 and len(words[0]) == 1:
        initials.append(words.pop(0))
    text = " ".join(words)
    stripped = remove_org_types(text)
    tokens = initials + stripped.split()
    everything = tuple(initials + words)
    legal: list[str] = []
    if stripped.split() != words:
        kept = set(tokens)
        legal = [t for t in replace_org_types_compare(text).split() if t not in kept]
    # "Company Limited" style leftovers at either end are legal forms too, if a name remains;
    # next to a recognised legal form, so are words like "open" ("OTKRYTOE JSC NOVO-VYATKA").
    leftovers = _LEGAL_LEFTOVERS | _LEGAL_QUALIFIERS if legal else _LEGAL_LEFTOVERS
    while len(tokens) > 1 and tokens[-1] in leftovers:
        legal.append(tokens.pop())
    while len(tokens) > 1 and tokens[0] in leftovers:
        legal.append(tokens.pop(0))
    if len(tokens) == 1 and tokens[0] in _LEGAL_LEFTOVERS:
        legal.append(tokens.pop())
    legal = list(dict.fromkeys(legal))
    if not tokens and not set(legal) <= WELL_KNOWN_FORMS:
        # Nothing but rare "legal forms" (the aircraft EP-MMC): those words are the name.
        return NormName(everything, (), latin, everything)
    return NormName(tuple(tokens), tuple(legal), latin, everything)


_VOWELS = frozenset("aeiou")
_DOUBLES = re.compile(r"(.)\1+")


def _fold(token: str) -> str:
    """Transliteration variants metaphone does not see as the same sound."""
    t = token.replace("ou", "u").replace("oo", "u").replace("ee", "i")
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
