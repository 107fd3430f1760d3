"""Explainable name scoring: align the tokens of two names, weight them by rarity, add it up.

Every feature says what it measured: which tokens aligned and how (exact, typo, phonetic,
initial), which were left over on each side, what legal forms were set aside. Rare tokens
weigh more than common ones ("TRADING", "GROUP", "KIM" weigh little), so common words cannot
make a match on their own, and a missing middle name or patronymic costs less than a wrong
surname.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.fuzz import ratio

from compliance.matching.normalize import NormName, phonetic_key

# Tokens left over (no counterpart on the other side) cost this fraction of their weight:
# a listed patronymic or a middle name the query omits is weak evidence against a match.
EXTRA_TOKEN_COST = 0.5
EXTRA_TOKEN_COST_ORG = 0.65  # an organisation's extra word is more often a different entity
COMPACT_MIN = 92.0  # "XI Jinping" vs "Xi Jin Ping": spacing differences compare letter by letter
COMPACT_MIN_LEN = 6  # "ELM" is not "EL M"
# A token in more than 1 listed name in 1,000 (weight = log inverse frequency below ln 1000) is
# generic: when only generic tokens agree and either name has anything left over, the names are
# not shown to be the same ("Global Trading Company" is not "GLOBAL TRADING GROUP").
COMMON_WEIGHT = 6.9
COMMON_ONLY_CAP = 75.0


# Arabic article transliterations: AL-ASTAL / EL-ASTAL, UL-HAQ / AL-HAQ.
_VOWELS = "aeiouy"
_ARTICLES = frozenset({"al", "el", "ul", "il"})


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
    if la == 1:
        return (0.75, "initial") if b[0] == a else (0.0, "")
    if a in _ARTICLES and b in _ARTICLES:
        return 0.95, "article"
    short, long = min(la, lb), max(la, lb)
    if short < 3 or a.isdigit() or b.isdigit():
        return 0.0, ""
    allowed = 0 if long <= 3 else 1 if long <= 5 else 2 if long <= 8 else 3
    best, how = 0.0, ""
    if allowed:
        d = OSA.distance(a, b, score_cutoff=allowed)
        if d <= allowed:
            best, how = 1.0 - 0.6 * d / max(la, lb), f"{d} edit{'s' if d > 1 else ''}"
    if best < 0.9 and short >= 3:
        ka = phonetic_key(a)
        if (
            ka
            and ka == phonetic_key(b)
            and (a[0] == b[0] or (a[0] in "aeiouy") == (b[0] in "aeiouy"))
        ):
            common = ratio(a, b)
            if common >= 60:
                sim = 0.9 if common >= 75 and short > 4 else 0.85 if short > 4 else 0.8
                if sim > best:
                    best, how = sim, "sounds alike"
    return best, how


@dataclass
class NameScore:
    score: float  # 0..100
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)
    extra_query: list[str] = field(default_factory=list)
    extra_listed: list[str] = field(default_factory=list)
    method: str = "tokens"
    common_only: bool = False

    def describe(self) -> str:
        if self.method == "compact":
            return "same letters once spaces are ignored"
        parts = [
            f"{q}={c}" if how == "exact" else f"{q}~{c} ({how})" for q, c, _s, how in self.pairs
        ]
        text = ", ".join(parts) if parts else "no tokens aligned"
        if self.extra_listed:
            text += f"; listed name also has: {' '.join(self.extra_listed)}"
        if self.extra_query:
            text += f"; query also has: {' '.join(self.extra_query)}"
        if self.common_only:
            text += (
                f"; only common words agree, and not all of them (capped at {COMMON_ONLY_CAP:g})"
            )
        return text


Weight = Callable[[str], float]


def score_names(
    q: NormName, c: NormName, weight: Weight, extra_cost: float = EXTRA_TOKEN_COST
) -> NameScore:
    """Score a query name against a listed name (both normalised).

    `extra_cost` is the share of its weight a token only one side has costs: lower for people
    (middle names, patronymics) than for organisations.
    """
    qt, ct = q.tokens, c.tokens
    if not qt or not ct:
        return NameScore(0.0)
    cand: list[tuple[float, int, int, int, str]] = []
    for i, a in enumerate(qt):
        for j, b in enumerate(ct):
            s, how = token_sim(a, b)
            if s > 0:
                cand.append((-s, abs(i - j), i, j, how))
    cand.sort()
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[str, str, float, str]] = []
    matched = possible = 0.0
    all_common = True
    for neg, _gap, i, j, how in cand:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        wc = weight(ct[j])
        if how == "initial":
            wq = wc = min(weight(qt[i]), wc) * 0.5
        else:
            # a typo-made rare token is worth no more than the listed one
            wq = min(weight(qt[i]), wc * 1.5)
        all_common = all_common and wc < COMMON_WEIGHT
        matched -= neg * (wq + wc)
        possible += wq + wc
        pairs.append((qt[i], ct[j], -neg, how))
    extra_q = [t for i, t in enumerate(qt) if i not in used_q] if len(used_q) < len(qt) else []
    extra_c = [t for j, t in enumerate(ct) if j not in used_c] if len(used_c) < len(ct) else []
    if not pairs:
        token_score = 0.0
    else:
        cost = sum(map(weight, extra_q)) + sum(map(weight, extra_c))
        token_score = 100.0 * matched / (possible + extra_cost * cost)
        if extra_q and extra_c:
            # Both sides have leftovers: likely different people sharing common name parts.
            token_score *= 0.9
    # A person's listed name may add common given names or a patronymic the query leaves out
    # ("Mohammad HABIBI" / "Mohammad Reza HABIBI"): that alone does not make the match generic.
    leftover = extra_q or (
        extra_c
        if extra_cost > EXTRA_TOKEN_COST
        else [t for t in extra_c if weight(t) >= COMMON_WEIGHT]
    )
    common_only = bool(pairs) and bool(leftover) and all_common
    if common_only:
        token_score = min(token_score, COMMON_ONLY_CAP)
    if len(qt) == 1 and len(ct) == 1 and pairs and pairs[0][3] != "exact":
        # One word against one word: nothing else corroborates, so a near miss must be close
        # letter for letter ("TESLA" is not "TESA", "SONY" is not "SONA").
        a, b = qt[0], ct[0]
        osa = OSA.distance(a, b)
        swaps = Levenshtein.distance(a, b) - osa  # adjacent letters swapped: a typing slip
        edits = osa - 0.5 * swaps
        strict = 100.0 * min(1.0 - edits / max(len(a), len(b)), (ratio(a, b) + 10 * swaps) / 100)
        if strict < token_score:
            token_score = strict
            pairs = [(a, b, strict / 100, pairs[0][3] + ", single word: letter for letter")]
    result = NameScore(round(token_score, 1), pairs, extra_q, extra_c, common_only=common_only)
    qc, cc = q.compact, c.compact
    if (
        len(qt) != len(ct)
        and token_score < 100
        and abs(len(qc) - len(cc)) <= 2
        and min(len(qc), len(cc)) >= COMPACT_MIN_LEN
    ):
        # Either side may be the reversed one ("ABDUL RAHMAN, Ali" / "Ali Abdulrahman"); trying
        # both keeps compare(a, b) == compare(b, a).
        compact = max(
            ratio(qc, cc), ratio(qc, "".join(reversed(ct))), ratio("".join(reversed(qt)), cc)
        )
        if compact >= COMPACT_MIN and compact > token_score:
            return NameScore(
                round(compact, 1), [(q.text, c.text, compact / 100, "compact")], method="compact"
            )
    return result
