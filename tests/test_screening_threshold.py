"""The threshold only filters: the matches at a threshold are exactly the matches of any lower
threshold that score at least as much (same entries, same scores), on real listed names."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compliance.screening import Query, Screener, ScreeningError

PAIRS = [(0.0, 50.0), (50.0, 80.0), (70.0, 85.0), (80.0, 90.0), (85.0, 95.0), (60.0, 100.0)]
LIMIT = 10_000  # large enough that the limit never cuts


@pytest.fixture(scope="module")
def screener(loaded_engine) -> Screener:
    return Screener.load(loaded_engine)


@pytest.fixture(scope="module")
def listed_names(screener) -> list[str]:
    names = sorted({n.name for n in screener.index.names if n.norm.tokens})
    return random.Random(11).sample(names, 3000)


def _perturb(name: str, how: int, rng: random.Random) -> str:
    words = name.split()
    if how == 1 and len(words) > 1:  # a word dropped
        del words[rng.randrange(len(words))]
    elif how == 2 and len(words) > 1:  # two words swapped
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif how == 3:  # a typo
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 2:
            j = rng.randrange(len(w))
            words[i] = w[:j] + rng.choice("aeiouxyz") + w[j + 1 :]
    elif how == 4:  # a descriptor word added
        words.insert(rng.randrange(len(words) + 1), rng.choice(["Group", "Trading", "Intl"]))
    elif how == 5:  # abbreviated
        words = [w[:4] if len(w) > 6 and rng.random() < 0.5 else w for w in words]
    return " ".join(words)


def _keyed(result) -> list[tuple[str, str, float]]:
    return [(m.source, m.source_id, m.score) for m in result.matches]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pick=st.integers(min_value=0, max_value=2999),
    how=st.integers(min_value=0, max_value=5),
    seed=st.integers(min_value=0, max_value=1000),
    pair=st.sampled_from(PAIRS),
)
def test_higher_threshold_only_filters(screener, listed_names, pick, how, seed, pair):
    query = Query(_perturb(listed_names[pick], how, random.Random(seed)))
    low, high = pair
    try:
        at_low = screener.screen(query, threshold=low, limit=LIMIT)
    except ScreeningError:
        assume(False)  # a perturbation left only a legal form: refused, not a case here
    at_high = screener.screen(query, threshold=high, limit=LIMIT)
    assert _keyed(at_high) == [m for m in _keyed(at_low) if m[2] >= high]


def test_abbreviated_group_found_at_every_threshold(screener):
    """Issue 11: "Inspur Grp Co Ltd" scored 93 at threshold 80 and vanished at 85."""
    scores = set()
    for threshold in (70, 80, 85, 90):
        hits = screener.screen(Query("Inspur Grp Co Ltd"), threshold=threshold).matches
        scores.add(next(m.score for m in hits if m.name == "INSPUR GROUP CO., LTD."))
    assert len(scores) == 1 and scores.pop() >= 85
