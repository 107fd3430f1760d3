"""Candidate retrieval's shortcuts never change what it finds: the letter-mask filter in front
of the edit distance drops no true typo neighbour (a proof by property, and a check against the
brute-force pool on the real vocabulary), and a warmed screener answers as a cold one does."""

from __future__ import annotations

import random
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from compliance.matching.index import letter_masks, shapes
from compliance.matching.tokens import token_sim
from compliance.screening import Query, Screener

word = st.text(alphabet="abcdehiklmnorsuyz019", min_size=1, max_size=14)


def mask_gap(a: str, b: str) -> int:
    (once_a, twice_a), (once_b, twice_b) = letter_masks(a), letter_masks(b)
    return (once_a ^ once_b).bit_count() + (twice_a ^ twice_b).bit_count()


@given(word, word)
def test_an_edit_changes_at_most_two_mask_bits(a: str, b: str) -> None:
    assert mask_gap(a, b) <= 2 * OSA.distance(a, b)


@given(word, st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.sampled_from("aeqxz"))))
def test_words_a_few_edits_apart_pass_the_filter(a: str, edits: list[tuple[int, int, str]]) -> None:
    b = a
    for kind, at, ch in edits[:3]:
        at = at % (len(b) + 1)
        if kind == 0:
            b = b[:at] + ch + b[at:]  # insert
        elif kind == 1 and b:
            b = b[: at % len(b)] + b[at % len(b) + 1 :]  # delete
        elif kind == 2 and b:
            b = b[: at % len(b)] + ch + b[at % len(b) + 1 :]  # substitute
        elif len(b) > 1:
            i = at % (len(b) - 1)
            b = b[:i] + b[i + 1] + b[i] + b[i + 2 :]  # swap neighbours
    assert mask_gap(a, b) <= 2 * min(len(edits), 3)


@pytest.fixture(scope="module")
def screener(loaded_engine) -> Screener:
    return Screener.load(loaded_engine)


def brute_force_near(screener: Screener, t: str) -> list[tuple[str, float]]:
    """near() without the mask filter: every word of the shape lists, by edit distance."""
    table = screener.index.shape_table
    vocab = screener.index.vocabulary
    allowed = 1 if len(t) <= 5 else 2 if len(t) <= 8 else 3
    pool: set[str] = set()
    for n in range(len(t) - allowed, len(t) + allowed + 1):
        for key in shapes(t, n)[: 3 if len(t) <= 6 else 2]:
            i = table.keys.get(key)
            if i is not None:
                ids = table.values[table.offsets[i] : table.offsets[i + 1]]
                pool.update(vocab[j] for j in ids.tolist())
    out = [(v, token_sim(t, v)[0]) for v in pool if v != t and OSA.distance(t, v) <= allowed]
    return sorted(((v, s) for v, s in out if s), key=lambda vs: (-vs[1], vs[0]))


def test_typo_neighbours_are_those_of_the_whole_pool(screener: Screener) -> None:
    rng = random.Random(11)
    words = [v for v in screener.index.vocabulary if v.isalpha() and len(v) >= 3]
    sample = rng.sample(words, 150)
    typos = [w[:i] + w[i + 1 :] for w in sample[:50] for i in (len(w) // 2,)]
    found = 0
    for t in [*sample, *typos]:
        expected = brute_force_near(screener, t)
        assert screener.retriever.near(t) == expected, t
        found += bool(expected)
    assert found > 100  # most words have look-alikes: the comparison is not of empty lists


def test_a_warmed_screener_answers_as_a_cold_one(loaded_engine) -> None:
    names = ["Vladimir Putin", "华为技术有限公司", "Semiconductor Manufacturing Intl Corp", "Acme"]
    cold = [Screener.load(loaded_engine).screen(Query(n)).to_dict() for n in names]
    warm = Screener.load(loaded_engine).warm()
    assert "pypinyin" in sys.modules  # the Chinese tables are loaded before the first query
    assert [warm.screen(Query(n)).to_dict() for n in names] == cold
