"""Korean names (Hangul) in the English forms the lists use.

The Korean parties on the lists are North Korean, and the lists write them in North Korea's own
romanisation (KIM Jong Un, CHOE Ryong Hae, KOREA KWANGSON BANKING CORP), not in the South's
Revised Romanization that a general transliterator gives (gim jeongeun). So each syllable is
read by that system, from its letters (Unicode composes a syllable from an initial, a vowel and
a final): JONG for 정, not JEONG. A name of organisation words is segmented on a table of them
(data/korean_terms.csv: 은행 = bank, 무역회사 = trading company, 조선 = Korea), each becoming its
English rendering; the syllables between terms become one word (광선 = kwangson). A short name of
syllables only may be a person: the family name, then each syllable of the given name, as the
lists write them (김정은 = kim jong un), with the South's spellings of the commonest family names
(Lee, Park, Choi) as alternatives.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import unicodedata
from functools import cache, lru_cache

from compliance.datafiles import data_file
from compliance.matching.cjk import fewest_departures

MAX_FORMS = 8  # alternative renderings of one name, at most
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_FIRST = 0xAC00

# North Korea's romanisation (as the lists write it, marks dropped): initials, vowels, finals.
_INITIALS = ("k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s", "ss", "", "j", "jj", "ch",
             "kh", "th", "ph", "h")  # fmt: skip
_VOWELS = ("a", "ae", "ya", "yae", "o", "e", "yo", "ye", "o", "wa", "wae", "oe", "yo", "u",
           "wo", "we", "wi", "yu", "u", "ui", "i")  # fmt: skip
_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
           "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "")  # fmt: skip
# k, t, p are voiced after a vowel or n, m, ng, l inside a word: 영복 yongbok, 련봉 ryonbong
_VOICED = {"k": "g", "t": "d", "p": "b"}
# Family names of two syllables; every other family name is the first syllable.
_DOUBLE_FAMILY = frozenset({"남궁", "황보", "제갈", "선우", "독고", "사공", "서문"})
# Common family names as the South spells them in Latin letters; and where the South's spelling
# in Hangul drops an initial r (리 -> 이, 로 -> 노), the North's r, as the lists write it (RI, RO).
_FAMILY_SPELLINGS = {
    "이": ("lee", "yi", "ri"), "리": ("lee", "li"), "박": ("park",), "최": ("choi",),
    "정": ("jung", "chung"), "조": ("cho",), "윤": ("yoon",), "장": ("chang",),
    "임": ("lim", "rim"), "림": ("lim",), "오": ("oh",), "서": ("seo", "suh"), "신": ("shin",),
    "안": ("ahn",), "유": ("yoo", "ryu"), "류": ("ryu", "yoo"), "전": ("jeon", "chun"),
    "문": ("moon",), "배": ("bae",), "백": ("baek",), "허": ("heo", "hur"), "심": ("shim",),
    "노": ("noh", "roh", "ro"), "로": ("roh",), "성": ("sung",), "주": ("joo",), "우": ("woo",),
    "구": ("koo",), "방": ("bang",), "현": ("hyun",), "변": ("byun",), "양": ("ryang",),
    "염": ("ryom",), "용": ("ryong",),
}  # fmt: skip


def has_hangul(text: str) -> bool:
    return bool(_HANGUL.search(text))


@cache
def _terms() -> tuple[dict[str, tuple[str, ...]], int]:
    """Term -> its English renderings (first is preferred); and the longest term's length."""
    text = data_file("korean_terms.csv").read_text(encoding="utf-8")
    terms = {
        row["korean"].strip(): tuple(r.strip() for r in row["english"].split("|"))
        for row in csv.DictReader(io.StringIO(text))
    }
    return terms, max(map(len, terms))


def romanise(word: str) -> str:
    """A run of Hangul syllables as one word, by North Korea's romanisation."""
    out: list[str] = []
    previous_final: str | None = None
    for ch in word:
        code = ord(ch) - _FIRST
        if not 0 <= code < 11172:
            out.append(ch)
            previous_final = None
            continue
        initial = _INITIALS[code // 588]
        if previous_final in ("", "n", "m", "ng", "l"):
            initial = _VOICED.get(initial, initial)  # after a vowel or a voiced final
        final = _FINALS[code % 28]
        out.append(initial + _VOWELS[code % 588 // 28] + final)
        previous_final = final
    return "".join(out)


def _segment(word: str) -> list[tuple[str, ...]]:
    """A word of Hangul as terms (their renderings) and runs between them (romanised): the
    cheapest split, curated terms covering as much as they can."""
    terms, longest = _terms()
    n = len(word)
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * n
    for end in range(1, n + 1):
        for size in range(1, min(longest, end) + 1):
            cost = 0.5 if word[end - size : end] in terms else 3.0 * size
            total = best[end - size][0] + cost
            if total < best[end][0]:
                best[end] = (total, size)
    pieces: list[str] = []
    end = n
    while end > 0:
        size = best[end][1]
        pieces.append(word[end - size : end])
        end -= size
    out: list[tuple[str, ...]] = []
    run = ""
    for piece in reversed(pieces):
        if piece in terms:
            if run:
                out.append((romanise(run),))
                run = ""
            out.append(terms[piece])
        else:
            run += piece
    if run:
        out.append((romanise(run),))
    return out


@lru_cache(maxsize=20_000)
def latin_forms(name: str) -> tuple[str, ...]:
    """English renderings of a name holding Hangul, preferred first (at most MAX_FORMS);
    whatever is not Hangul passes through."""
    text = unicodedata.normalize("NFC", name)
    segments: list[tuple[str, ...]] = []
    for part in re.split(r"([\uac00-\ud7a3]+)", text):
        if _HANGUL.match(part):
            segments.extend(_segment(part))
        elif part:
            segments.append((part,))
    choices = itertools.islice(fewest_departures(segments), MAX_FORMS)  # preferred first
    forms = [" ".join(choice) for choice in choices]
    forms[:0] = _as_person(text)  # a person's reading first: the organisation one stays
    return tuple(dict.fromkeys(" ".join(f.split()) for f in forms))[:MAX_FORMS]


def _as_person(text: str) -> list[str]:
    """A name of two to four syllables (or family and given name apart: 김 정은), with no
    organisation word in it, read as a person's: family name, then each given syllable."""
    parts = text.split()
    joined = "".join(parts)
    if not 2 <= len(joined) <= 4 or not all(_HANGUL.match(c) for c in joined):
        return []
    terms, _longest = _terms()
    if any(joined[i:j] in terms for i in range(len(joined)) for j in range(i + 2, len(joined) + 1)):
        return []
    if len(parts) == 2:
        family, given = parts
    else:
        cut = 2 if joined[:2] in _DOUBLE_FAMILY and len(joined) >= 3 else 1
        family, given = joined[:cut], joined[cut:]
    # The given name's syllables are written apart but sounded together (Yong Bok, Man Gon).
    syllables = [romanise(given[0])]
    for i in range(1, len(given)):  # each syllable as it sounds after the one before
        syllables.append(romanise(given[i - 1 : i + 1])[len(romanise(given[i - 1])) :])
    spellings = (romanise(family), *_FAMILY_SPELLINGS.get(family, ()))
    return [" ".join((f, *syllables)) for f in spellings]
