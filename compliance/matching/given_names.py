"""Given names and their familiar forms: Bill / William, Joe / Joseph, Vova / Vladimir, Md /
Muhammad. Two words are variants when one is a familiar form of the other (or both are
spellings of one formal name in a row of the table); two familiar forms of one name are not
variants of each other (Alex and Sasha are different people's choices).

English comes from the `nicknames` package (Carlton Northern's hand-curated table of English
given names); Russian and Ukrainian diminutives and the written short forms of Muhammad, which
it lacks and which the sanctions lists are full of, from data/given_name_variants.csv.
Loaded on first use: most screenings never reach a pair of different given names.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from functools import cache
from importlib.resources import files

from compliance.datafiles import data_file


@cache
def given_name_variants() -> dict[str, frozenset[str]]:
    """Word -> the given names it is a familiar form or formal spelling of (the whole table)."""
    pairs: dict[str, set[str]] = defaultdict(set)

    def link(a: str, b: str) -> None:
        if a != b and a.isalpha() and b.isalpha():
            pairs[a].add(b)
            pairs[b].add(a)

    english = (files("nicknames") / "names.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(english)):
        if row.get("relationship") == "has_nickname":
            link(row["name1"].strip().lower(), row["name2"].strip().lower())
    text = data_file("given_name_variants.csv").read_text(encoding="utf-8")
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        formal = [w.strip() for w in (row.get("formal") or "").lower().split("|") if w.strip()]
        short = [w.strip() for w in (row.get("variants") or "").lower().split("|") if w.strip()]
        if not formal or not short:
            raise ValueError(f"data/given_name_variants.csv line {line}: formal and variants")
        for f in formal:
            for other in formal:
                link(f, other)  # spellings of one formal name
            for s in short:
                link(f, s)
    return {word: frozenset(others) for word, others in pairs.items()}


def variants_of(word: str) -> frozenset[str]:
    """The given names `word` is a familiar form or formal spelling of (empty: none known)."""
    return given_name_variants().get(word, frozenset())
