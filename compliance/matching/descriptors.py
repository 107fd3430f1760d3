"""Descriptor words: what a company's branch, office or arm adds to its name ("Rosneft Trade
Dubai Branch", "Syriatel Trading", "Gazprom Group"). They say which part of a company, not
which company, so an unmatched one is weighed as its own feature rather than as an unmatched
name word. The words are data/descriptor_words.csv: descriptors ("Group", "Trading"), places
a company is named after where it is registered ("Zhejiang" Dahua), and anchors ("Branch",
"Office") whose one or two words before them name a place.
"""

from __future__ import annotations

import csv
import io
from functools import cache

from compliance.datafiles import data_file

PLACE_WORDS = 2  # words before an anchor taken as its place: "Hong Kong Branch"


@cache
def _words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    text = data_file("descriptor_words.csv").read_text(encoding="utf-8")
    kinds: dict[str, set[str]] = {"anchor": set(), "descriptor": set(), "place": set()}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        word, kind = (row.get("word") or "").strip().lower(), (row.get("kind") or "").strip()
        if not word or kind not in kinds:
            raise ValueError(
                f"data/descriptor_words.csv line {line}: a word and its kind (anchor, "
                "descriptor or place)"
            )
        kinds[kind].add(word)
    descriptors = frozenset(kinds["descriptor"])
    return frozenset(kinds["anchor"]), descriptors, descriptors | kinds["place"]


def descriptor_positions(
    tokens: tuple[str, ...], unmatched: list[int], places: bool = False
) -> set[int]:
    """Which of the `unmatched` positions of `tokens` are descriptor words: a descriptor, an
    anchor, or one of the PLACE_WORDS unmatched words just before an anchor; with `places`, a
    place the company is registered in too. Only the query's places count: a listed name's
    place (CHENGDU Haiwei Technology) is part of what tells it from another company."""
    if not unmatched:
        return set()
    anchors, descriptors, with_places = _words()
    if places:
        descriptors = with_places
    free = set(unmatched)
    out: set[int] = set()
    for i in unmatched:
        t = tokens[i]
        if t in descriptors:
            out.add(i)
        elif t in anchors:
            out.add(i)
            for j in range(i - 1, max(i - 1 - PLACE_WORDS, -1), -1):
                if j not in free:
                    break
                out.add(j)
    return out
