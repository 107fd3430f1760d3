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
from dataclasses import dataclass, replace
from functools import lru_cache

import jellyfish
from anyascii import anyascii
from rigour.names.org_types import remove_org_types, replace_org_types_compare
from rigour.text import ascii_text

from compliance.matching.abbreviations import (
    ANY_NAME_TITLES,
    abbreviations,
    canonical,
    legal_spellings,
    ordinals,
    person_titles,
)
from compliance.matching.cjk import has_han, latin_forms
from compliance.matching.korean import has_hangul
from compliance.matching.korean import latin_forms as korean_forms

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
        "pvt",
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
_STOCK_CO = re.compile(r"\bstock co\b")  # "Joint Stock Co." is "Joint Stock Company"
_DOTTED = re.compile(r"(?<=\b[a-z])\.(?=[a-z]\b)")  # "s.a." -> "sa.", "u.s.a." -> "usa."
_SURNAME_FIRST = re.compile(r"^\W*[a-z]+\s*,")
_HIS_EXCELLENCY = re.compile(r"^\W*h\s?\.\s?e\s?\.\s*")  # "H.E." (not the surname He)
# Legal-form words set aside wherever they stand ("XYZ Company Limited Shanghai Branch").
_LEGAL_ANYWHERE = frozenset(
    ["co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc"]
)
# Canonical class of each legal form found, so "AG" and "GmbH" can be told apart and
# "Co., Ltd." agrees with "Company Limited"; qualifiers ("open", "joint") have none.
_LEGAL_CLASS: dict[str, tuple[str, ...]] = {
    "co": ("CO",), "company": ("CO",), "coltd": ("CO", "LTD"), "ltd": ("LTD",),
    "limited": ("LTD",), "corp": ("CORP",), "corporation": ("CORP",), "inc": ("INC",),
    "incorporated": ("INC",), "llc": ("LLC",), "ooo": ("LLC",), "jsc": ("JSC",),
    "ojsc": ("JSC",), "cjsc": ("JSC",), "pjsc": ("JSC",), "oao": ("JSC",), "zao": ("JSC",),
    "pao": ("JSC",), "ao": ("JSC",), "pvt": ("PVT",), "private": ("PVT",),
}  # fmt: skip
NORMALISATION_TABLES = (
    "abbreviations.csv",
    "legal_form_spellings.csv",
    "chinese_terms.csv",
    "korean_terms.csv",
)
MAX_NAME_CHARS = 1_000  # longer input is cut: the cost of a name stays bounded
MAX_TOKENS = 24  # words of a name considered, at most


@dataclass(frozen=True, slots=True)
class NormName:
    tokens: tuple[str, ...]  # name tokens used for matching, legal forms removed
    legal_forms: tuple[str, ...]  # canonical classes of the legal forms set aside: LLC, JSC...
    latin: bool  # False when the original was written in another script
    words: tuple[str, ...] = ()  # every token, legal forms kept: how a person's name is read
    titles: tuple[str, ...] = ()  # honorifics dropped from the front ("dr", "sheikh")
    alternatives: tuple[NormName, ...] = ()  # other renderings (Chinese: China / Chinese)
    truncated: bool = False  # only the first MAX_TOKENS words (MAX_NAME_CHARS) were read

    def as_person(self) -> NormName:
        """People have no legal form: "SA'D SABAWI" keeps "sad" (S.A.D. for a company), and
        their names are not business abbreviations ("Dev", "Tech")."""
        if not self.words or self.words == self.tokens:
            return self
        return NormName(self.words, (), self.latin, self.words, self.titles, (), self.truncated)

    @property
    def forms(self) -> tuple[NormName, ...]:
        """This rendering and its alternatives."""
        return (self, *self.alternatives)

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
    transliteration (other scripts, ß, ø, typographic apostrophes...), and scripts rigour
    does not know (Khmer, Lao, Ethiopic) through anyascii. Emoji and symbols are dropped."""
    if name.isascii():
        return name
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    if plain.isascii():
        return plain
    text = ascii_text(name)
    if "?" in text and "?" not in name:
        text = anyascii("".join(c for c in name if unicodedata.category(c)[0] != "S"))
    return text


@lru_cache(maxsize=200_000)
def normalize_name(name: str) -> NormName:
    """The one normalisation of a name, used for listed names and queries alike."""
    truncated = len(name) > MAX_NAME_CHARS
    if truncated:
        name = name[:MAX_NAME_CHARS]
    # Chinese in the English forms the lists use, Korean in North Korea's spellings as listed:
    # each reading of the name is a form, the first preferred.
    if not name.isascii():
        for has_script, readings in ((has_han, latin_forms), (has_hangul, korean_forms)):
            if has_script(name):
                forms = [_normalize(r, False, truncated) for r in readings(name)]
                forms = [f for f in dict.fromkeys(forms) if f.tokens]
                if forms:
                    return replace(forms[0], alternatives=tuple(forms[1:]))
    return _normalize(_to_ascii(name), is_latin(name), truncated)


def _normalize(text: str, latin: bool, truncated: bool) -> NormName:
    text = text.lower().replace("&", " and ")
    titles: list[str] = []
    if _HIS_EXCELLENCY.match(text):
        titles.append("he")
        text = _HIS_EXCELLENCY.sub("", text)
    text = _DOTTED.sub("", _APOSTROPHES.sub("", text))
    surname_first = bool(_SURNAME_FIRST.match(text))  # "SHEIKH, Umair": a surname, no title
    text = _NON_ALNUM.sub(" ", text).strip()
    if not text:
        return NormName((), (), latin, titles=tuple(titles), truncated=truncated)
    words = text.split()
    if len(words) > MAX_TOKENS:
        words, truncated = words[:MAX_TOKENS], True
    spellings = legal_spellings()
    if not spellings.keys().isdisjoint(words):
        words = [spellings.get(w, w) for w in words]
    if words[0] in ANY_NAME_TITLES and not surname_first:
        words = _drop_titles(words, ANY_NAME_TITLES, titles)
    dropped = list(titles)
    kept = words
    if words[0] in person_titles() and not surname_first:
        kept = _drop_titles(words, person_titles(), dropped)
    person = tuple([canonical(w) if w[0].isdigit() else w for w in kept])
    numbers = ordinals()  # before legal forms: rigour reads "II" as one
    if not numbers.keys().isdisjoint(words):
        words = [numbers.get(w, w) for w in words]
    tokens, legal = _set_aside_legal_forms(_join_spaced_letters(words))
    if tokens is None:
        # Nothing but rare "legal forms" (the aircraft EP-MMC): those words are the name.
        return NormName(person, (), latin, person, tuple(titles), (), truncated)
    abbr = abbreviations()
    canon = tuple([canonical(t) if t[0].isdigit() else abbr.get(t, t) for t in tokens])
    return NormName(canon, _legal_classes(legal), latin, person, tuple(dropped), (), truncated)


def _drop_titles(words: list[str], titles: frozenset[str], dropped: list[str]) -> list[str]:
    """Leading honorifics, while a name remains after them."""
    i = 0
    while i < len(words) - 1 and words[i] in titles:
        if words[i] not in dropped:
            dropped.append(words[i])
        i += 1
    return words[i:]


def _join_spaced_letters(words: list[str]) -> list[str]:
    """Letters of a legal form typed apart ("S A DE C V", "T E G LIMITED") are one word: a run
    of single letters is joined next to "de" or in a name that has another legal-form word.
    Otherwise single letters are initials ("B V OBNOSOV")."""
    if sum(len(w) == 1 for w in words) < 2:
        return words
    legal = "de" in words or any(w in _LEGAL_LEFTOVERS or w in LEGAL_WORDS for w in words)
    if not legal:
        return words
    out: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1:
            run.append(w)
            continue
        if run:
            out.extend(["".join(run)] if len(run) > 1 else run)
            run = []
        if w:
            out.append(w)
    return out


def _set_aside_legal_forms(words: list[str]) -> tuple[list[str] | None, list[str]]:
    """The name's tokens without legal forms, and the legal forms (rigour's compare forms);
    None when the name is nothing but rare legal-form words."""
    text = " ".join(words)
    for spelling, usual in _FORM_SPELLINGS:
        if spelling in text:
            text = text.replace(spelling, usual)
    text = _STOCK_CO.sub("stock company", text)
    # Leading single letters are initials ("B. V. OBNOSOV"), not a legal form such as B.V.
    words = text.split()
    initials: list[str] = []
    while len(words) > 1 and len(words[0]) == 1:
        initials.append(words.pop(0))
    text = " ".join(words)
    stripped = remove_org_types(text)
    tokens = initials + stripped.split()
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
    if len(tokens) > 2 and any(t in _LEGAL_ANYWHERE for t in tokens[1:-1]):
        legal.extend(t for t in tokens if t in _LEGAL_ANYWHERE)
        tokens = [t for t in tokens if t not in _LEGAL_ANYWHERE]
    if len(tokens) == 1 and tokens[0] in _LEGAL_LEFTOVERS:
        legal.append(tokens.pop())
    legal = list(dict.fromkeys(legal))
    if not tokens and not set(legal) <= WELL_KNOWN_FORMS:
        return None, legal
    return tokens, legal


def _legal_classes(forms: list[str]) -> tuple[str, ...]:
    classes: list[str] = []
    for form in forms:
        if form in _LEGAL_QUALIFIERS and form not in _LEGAL_CLASS:
            continue
        classes.extend(_LEGAL_CLASS.get(form, (form.upper(),)))
    return tuple(dict.fromkeys(classes))


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
