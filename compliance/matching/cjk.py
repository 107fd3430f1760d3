"""Chinese names in the English forms the lists use.

Traditional characters become simplified (OpenCC), the name is segmented greedily on a table of
common organisation words, legal forms and place names (data/chinese_terms.csv), each term
becomes its English rendering, and each run of characters between terms (the distinctive part:
华为, 商汤, 飞腾) becomes one word of toneless pinyin ("huawei"). A term with two renderings
(中国: China / Chinese, 研究院: academy / institute) gives alternative forms of the name.

OpenCC and pypinyin are imported, and their dictionaries loaded, only when a name holds Han
characters; most names never pay for them.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any

from compliance.datafiles import data_file
from compliance.matching import cedict

MAX_FORMS = 16  # alternative renderings of one name, at most
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_NUMERALS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"两": 2}


def has_han(text: str) -> bool:
    """Chinese characters, and no Japanese kana (Japanese reads Han characters otherwise)."""
    return bool(_HAN.search(text)) and not _KANA.search(text)


@cache
def _terms() -> tuple[dict[str, tuple[str, ...]], int]:
    """Term -> its English renderings (first is preferred); and the longest term's length."""
    text = data_file("chinese_terms.csv").read_text(encoding="utf-8")
    terms: dict[str, tuple[str, ...]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        chinese = row["chinese"].strip()
        renderings = tuple(r.strip() for r in (row["english"] or "").split("|"))
        if (row.get("note") or "").startswith("brand"):  # the lists write some in pinyin
            renderings = tuple(dict.fromkeys((*renderings, "".join(_pinyin()(chinese)))))
        terms[chinese] = renderings
    return terms, max(map(len, terms))


@cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _pinyin() -> Any:
    from pypinyin import lazy_pinyin

    return lazy_pinyin


def warm() -> None:
    """Load OpenCC, pypinyin and the term tables now (about 1 s) rather than on the first
    Chinese name a long-running process is asked about."""
    latin_forms("华为技术有限公司")


def _number(run: str) -> int | None:
    """一 .. 九十九 as written after 第 (第十四研究所: the 14th Research Institute)."""
    if not run:
        return None
    if "十" not in run:
        return int("".join(str(_NUMERALS[c]) for c in run)) if len(run) <= 3 else None
    tens, _, units = run.partition("十")
    t = _NUMERALS.get(tens, 0) if tens else 1
    u = _NUMERALS.get(units, 0) if units else 0
    return t * 10 + u


def _segments(text: str) -> list[tuple[str, ...]]:
    """The name as a list of segments, each the tuple of its alternative English renderings."""
    terms, longest = _terms()
    out: list[tuple[str, ...]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            word = "".join(_pinyin()("".join(run)))
            out.append((word,))
            run.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if not _HAN.match(ch):
            flush()
            out.append((ch,))
            i += 1
            continue
        if ch == "第":
            j = i + 1
            while j < len(text) and (text[j] in _NUMERALS or text[j] == "十"):
                j += 1
            number = _number(text[i + 1 : j])
            if number is not None:
                flush()
                out.append((f" {number} ",))
                i = j
                continue
        j = i
        while j < len(text) and _HAN.match(text[j]) and not (j > i and text[j] == "第"):
            j += 1
        for word, renderings in _segment_run(text[i:j], terms, longest):
            if renderings:
                flush()
                out.append(tuple(f" {r} " for r in renderings))
            else:
                run.append(word)
        i = j
    flush()
    return out


# Costs of a segmentation: curated terms are cheapest (three of them cost one dictionary word),
# then dictionary words; a character
# known to neither costs most (it becomes pinyin), so known words cover as much as they can.
_COST_TERM, _COST_WORD, _COST_CHAR = 0.5, 1.5, 3.0


def _segment_run(
    run: str, terms: dict[str, tuple[str, ...]], longest: int
) -> list[tuple[str, tuple[str, ...]]]:
    """The cheapest split of a run of Han characters into curated terms, CC-CEDICT words and
    single characters (研究与发展中心: 研究 与 发展 中心, not 发展中 心), each with its renderings
    (none for a single character known to neither)."""
    n = len(run)
    none: tuple[str, ...] = ()
    best: list[tuple[float, int, tuple[str, ...]]] = [(0.0, 0, none)] + [(math.inf, 0, none)] * n
    reach = max(longest, cedict.longest_word())
    for end in range(1, n + 1):
        for size in range(1, min(reach, end) + 1):
            word = run[end - size : end]
            options = []
            if word in terms:
                options.append((_COST_TERM, terms[word]))
            elif size > 1 and (hit := cedict.lookup(word)):
                options.append((_COST_WORD, hit))
            elif size == 1:
                options.append((_COST_CHAR, ()))
            for cost, renderings in options:
                total = best[end - size][0] + cost
                if total < best[end][0]:
                    best[end] = (total, size, renderings)
    out: list[tuple[str, tuple[str, ...]]] = []
    end = n
    while end > 0:
        _cost, size, renderings = best[end]
        out.append((run[end - size : end], renderings))
        end -= size
    return out[::-1]


@lru_cache(maxsize=20_000)
def latin_forms(name: str) -> tuple[str, ...]:
    """English renderings of a name holding Chinese characters, preferred first (at most
    MAX_FORMS); characters that are not Han pass through unchanged."""
    text = _converter().convert(unicodedata.normalize("NFKC", name))
    segments = _segments(text)
    forms = ["".join(p) for p in itertools.islice(fewest_departures(segments), MAX_FORMS)]
    person = _as_person(text)
    if person:
        forms.append(person)
    return tuple(dict.fromkeys(" ".join(f.split()) for f in forms))


def fewest_departures(segments: list[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """Renderings of the segments, fewest departures from the preferred ones first."""
    ambiguous = [i for i, seg in enumerate(segments) if len(seg) > 1]
    base = tuple(seg[0] for seg in segments)
    for changes in range(len(ambiguous) + 1):
        for which in itertools.combinations(ambiguous, changes):
            for picks in itertools.product(*(segments[i][1:] for i in which)):
                form = list(base)
                for i, pick in zip(which, picks, strict=True):
                    form[i] = pick
                yield tuple(form)


def _as_person(text: str) -> str:
    """A short name of characters only (赵光宗) may be a person: family name first, then the
    given name as one word ("zhao guangzong"), as the lists romanise Chinese people."""
    if not 2 <= len(text) <= 4 or not all(_HAN.match(c) for c in text):
        return ""
    syllables = _pinyin()(text)
    return f"{syllables[0]} {''.join(syllables[1:])}"
