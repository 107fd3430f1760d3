"""Explainable name scoring: align the tokens of two names, weight them by rarity, describe
the alignment with named features (features.py), and score it with the fitted model.

Which tokens aligned and how (exact, typo, phonetic, initial), which were left over on each
side, what legal forms were set aside, and each feature's value, weight and contribution are
all kept, so an officer sees why two names matched. Rare tokens weigh more than common ones
("TRADING", "GROUP", "KIM" weigh little), so common words cannot make a match on their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.fuzz import ratio

from compliance.matching.features import (
    COMMON_WEIGHT,
    COMPACT_MIN,
    COMPACT_MIN_LEN,
    CONNECTORS,
    ORDINALS,
    Model,
    inversions,
    legal_agreement,
    load_model,
    numbers_of,
    sigmoid,
)
from compliance.matching.normalize import NormName, phonetic_key

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
    if _abbreviates(a, b) or _abbreviates(b, a):
        return 0.7, "abbreviation"
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


def _abbreviates(a: str, b: str) -> bool:
    """`a` is a written abbreviation of `b`: its first letters (AIR / AIRLINES, TELECOM /
    TELECOMMUNICATION, ELEC / ELECTRONICS), or, with at most one vowel, its letters in order
    (INTL / INTERNATIONAL, GRP / GROUP, MFG / MANUFACTURING; so ALI is not ALAVI). Either
    way at least two letters shorter and the same first letter."""
    if a[0] != b[0] or len(b) < len(a) + 2 or len(a) < 3:
        return False
    if b.startswith(a) and len(b) >= len(a) + 3:
        return True
    if sum(ch in _VOWELS for ch in a) > 1:
        return False
    rest = iter(b)
    return all(ch in rest for ch in a)


@dataclass
class NameScore:
    score: float  # 0..100: 100 * sigmoid(logit)
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)
    extra_query: list[str] = field(default_factory=list)
    extra_listed: list[str] = field(default_factory=list)
    method: str = "tokens"
    common_only: bool = False
    features: dict[str, float] = field(default_factory=dict)  # feature name -> value in [0, 1]
    logit: float = -math.inf
    token_weights: dict[str, float] = field(default_factory=dict)  # word -> rarity weight
    identical: bool = False  # the same words in the same order once normalised: 100

    def describe(self) -> str:
        if self.identical:
            return "same words once normalised: " + ", ".join(f"{q}={c}" for q, c, *_ in self.pairs)
        parts = [
            f"{q}={c}" if how == "exact" else f"{q}~{c} ({how})" for q, c, _s, how in self.pairs
        ]
        text = ", ".join(parts) if parts else "no tokens aligned"
        if self.extra_listed:
            text += f"; listed name also has: {' '.join(self.extra_listed)}"
        if self.extra_query:
            text += f"; query also has: {' '.join(self.extra_query)}"
        f = self.features
        if f.get("compact"):
            text += "; same letters once spaces are ignored"
        if self.common_only:
            text += "; only common words agree and something is left over"
        if f.get("legal_form_conflict"):
            text += "; the legal forms differ"
        if f.get("number_conflict"):
            text += "; the numbers differ"
        if f.get("patronymic_order"):
            text += "; the patronymic chain is in another order (another person)"
        return text

    def contributions(self, model: Model | None = None) -> list[dict[str, Any]]:
        """Each feature's value, weight and contribution to the logit, strongest first."""
        model = model or load_model()
        rows: list[dict[str, Any]] = [
            {
                "feature": feat.name,
                "value": round(self.features.get(feat.name, 0.0), 3),
                "weight": round(feat.weight, 3),
                "contribution": round(feat.weight * self.features.get(feat.name, 0.0), 3),
                "meaning": feat.meaning,
            }
            for feat in model.features
            if self.features.get(feat.name)
        ]
        rows.sort(key=lambda r: -abs(float(r["contribution"])))
        return rows


Weight = Callable[[str], float]
# A name's own evidence tops out here (100 * sigmoid(7.7) = 99.95, shown as 100), so a
# contradicting country or birth year always shows in the score.
NAME_LOGIT_MAX = 7.7
EVIDENCE_FULL = 25.0  # rarity weight of agreeing listed words that counts as full evidence
RAREST_FULL = 11.0  # a word in about one listed name in 60,000 (ln 60,000 = 11)


def _align(
    qt: tuple[str, ...], ct: tuple[str, ...]
) -> tuple[list[tuple[int, int, float, str]], list[int], list[int]]:
    """Greedy one-to-one alignment, most similar first (ties: nearest position)."""
    cand: list[tuple[float, int, int, int, str]] = []
    for i, a in enumerate(qt):
        for j, b in enumerate(ct):
            s, how = token_sim(a, b)
            if s > 0:
                cand.append((-s, abs(i - j), i, j, how))
    cand.sort()
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int, float, str]] = []
    for neg, _gap, i, j, how in cand:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append((i, j, -neg, how))
    extra_q = [i for i in range(len(qt)) if i not in used_q]
    extra_c = [j for j in range(len(ct)) if j not in used_c]
    return pairs, extra_q, extra_c


def _single_word_gap(a: str, b: str) -> float:
    """One word against one word: 1 - letter-for-letter closeness (a swap is half an edit)."""
    osa = OSA.distance(a, b)
    swaps = Levenshtein.distance(a, b) - osa
    edits = osa - 0.5 * swaps
    close = min(1.0 - edits / max(len(a), len(b)), (ratio(a, b) + 10 * swaps) / 100)
    return min(max(1.0 - close, 0.0), 1.0)


def name_features(
    q: NormName, c: NormName, weight: Weight, person: bool = False
) -> tuple[dict[str, float], NameScore]:
    """The feature values of query `q` against listed `c`, and the alignment they describe."""
    qt, ct = q.tokens, c.tokens
    pairs, xq, xc = _align(qt, ct)
    tw = {t: weight(t) for t in (*qt, *ct)}
    w, out_pairs = _weigh(pairs, qt, ct, tw)
    left_q = sum(tw[qt[i]] for i in xq)
    left_c = sum(tw[ct[j]] for j in xc)
    compact = _compact(q, c)
    f = _overlap_features(w, left_q, left_c, len(pairs), compact)
    if left_q:
        f["query_unmatched"] = left_q / (w.w_q + left_q)
    if left_c:
        f["listed_unmatched_person" if person else "listed_unmatched"] = left_c / (w.w_c + left_c)
    leftover_c = [ct[j] for j in xc if person is False or tw[ct[j]] >= COMMON_WEIGHT]
    common_only = bool(pairs) and bool(xq or leftover_c) and w.all_common
    if common_only:
        f["generic_only"] = 1.0
    if xq and xc and pairs:
        f["both_leftover"] = 1.0
    conflict = _form_features(q, c, pairs, f)
    if compact:
        f["compact"] = compact
    detail = NameScore(
        0.0,
        out_pairs,
        [qt[i] for i in xq],
        [ct[j] for j in xc],
        common_only=common_only,
        features=f,
        token_weights=tw,
        # the same words (in any order, but a patronymic chain in its own), legal forms alike
        identical=sorted(qt) == sorted(ct)
        and not conflict
        and bool(qt)
        and "patronymic_order" not in f,
    )
    return f, detail


@dataclass
class _Weights:
    """What the aligned words weigh: on each side, matched (times their similarity), and by how
    they were matched."""

    w_q: float = 0.0
    w_c: float = 0.0
    matched: float = 0.0
    typo: float = 0.0
    sound: float = 0.0
    abbreviation: float = 0.0
    evidence: float = 0.0
    rarest: float = 0.0
    initials: int = 0
    all_common: bool = True


def _weigh(
    pairs: list[tuple[int, int, float, str]], qt: tuple[str, ...], ct: tuple[str, ...],
    tw: dict[str, float],
) -> tuple[_Weights, list[tuple[str, str, float, str]]]:  # fmt: skip
    w = _Weights()
    out_pairs = []
    for i, j, s, how in pairs:
        wc = tw[ct[j]]
        if how == "initial":
            wq = wc = min(tw[qt[i]], wc) * 0.5
            w.initials += 1
        else:
            wq = min(tw[qt[i]], wc * 1.5)  # a typo-made rare token is worth no more
        w.all_common = w.all_common and wc < COMMON_WEIGHT
        w.w_q += wq
        w.w_c += wc
        w.matched += s * (wq + wc)
        w.evidence += s * wc
        w.rarest = max(w.rarest, s * wc)
        if "edit" in how:
            w.typo += wq + wc
        elif how == "sounds alike":
            w.sound += wq + wc
        elif how == "abbreviation":
            w.abbreviation += wq + wc
        out_pairs.append((qt[i], ct[j], s, how))
    return w, out_pairs


def _overlap_features(
    w: _Weights, left_q: float, left_c: float, n_pairs: int, compact: float
) -> dict[str, float]:
    """How much of both names' weight the aligned words cover, and how they were matched."""
    f: dict[str, float] = {}
    total = w.w_q + w.w_c + left_q + left_c
    if total > 0 and n_pairs:
        overlap = w.matched / total
        lenient = w.matched / (w.w_q + w.w_c + 0.5 * (left_q + left_c))
        if compact:  # the same letters once spaces are ignored: the words agree as spelt
            overlap, lenient = max(overlap, compact), max(lenient, compact)
        f["overlap"] = overlap
        f["overlap_lenient"] = lenient
        if lenient > 0.8:
            f["lenient_above_80"] = min((lenient - 0.8) / 0.2, 1.0)
            if lenient > 0.9:
                f["lenient_above_90"] = min((lenient - 0.9) / 0.1, 1.0)
                if lenient > 0.95:
                    f["lenient_above_95"] = min((lenient - 0.95) / 0.05, 1.0)
        if overlap > 0.8:
            f["overlap_above_80"] = min((overlap - 0.8) / 0.2, 1.0)
        f["evidence"] = min(w.evidence / EVIDENCE_FULL, 1.0)
        f["rarest_word"] = min(w.rarest / RAREST_FULL, 1.0)
        if w.typo:
            f["typo_share"] = w.typo / total
        if w.sound:
            f["phonetic_share"] = w.sound / total
        if w.abbreviation:
            f["abbreviation_share"] = w.abbreviation / total
        if w.initials:
            f["initials_share"] = w.initials / n_pairs
    elif compact:
        f["overlap"] = f["overlap_lenient"] = compact
    return f


def _form_features(
    q: NormName, c: NormName, pairs: list[tuple[int, int, float, str]], f: dict[str, float]
) -> float:
    """The names' shapes (one word, legal forms, numbers, script, word order) into `f`; the
    legal forms' conflict, 0.0 when they agree or one name has none."""
    qt, ct = q.tokens, c.tokens
    if len(qt) == 1:
        f["one_word_query"] = 1.0
        if len(ct) == 1 and pairs and qt[0] != ct[0]:
            f["single_word_gap"] = _single_word_gap(qt[0], ct[0])
    conflict = 0.0
    if q.legal_forms and c.legal_forms:
        agree, conflict = legal_agreement(q.legal_forms, c.legal_forms)
        f["legal_form_agree" if agree else "legal_form_conflict"] = 1.0
    if _has_number(qt) and _has_number(ct) and numbers_of(qt) != numbers_of(ct):
        f["number_conflict"] = 1.0
    if not q.latin:
        f["other_script"] = 1.0
    if len(pairs) > 1:
        disorder = inversions([j for _i, j, _s, _h in sorted(pairs)])
        if disorder:
            f["word_order"] = disorder
            if CONNECTORS.intersection(qt) and CONNECTORS.intersection(ct):
                f["patronymic_order"] = 1.0
    return conflict


def _has_number(tokens: tuple[str, ...]) -> bool:
    return any(t[0].isdigit() or t in ORDINALS for t in tokens)


def _compact(q: NormName, c: NormName) -> float:
    """Letter-for-letter closeness of the names with spaces removed, when spacing differs
    ("Abdul Rahman" / "Abdulrahman"); either side may be in reversed order."""
    qt, ct = q.tokens, c.tokens
    qc, cc = q.compact, c.compact
    if len(qt) == len(ct) or abs(len(qc) - len(cc)) > 2 or min(len(qc), len(cc)) < COMPACT_MIN_LEN:
        return 0.0
    best = max(ratio(qc, cc), ratio(qc, "".join(reversed(ct))), ratio("".join(reversed(qt)), cc))
    return best / 100 if best >= 100 * COMPACT_MIN else 0.0


def logit(features: dict[str, float], model: Model) -> float:
    weights = model.weights
    z = model.intercept
    for k, v in features.items():
        z += weights.get(k, 0.0) * v
    return z


def to_score(z: float) -> float:
    """The 0-100 score: 100 * sigmoid(logit), rounded to one decimal (monotone in the logit)."""
    return round(100.0 * sigmoid(z), 1)


def score_names(
    q: NormName, c: NormName, weight: Weight, person: bool = False, model: Model | None = None
) -> NameScore:
    """Score a query name against a listed name (both normalised). `person`: the listed party
    is a person (a listed middle name or patronymic the query leaves out is weak evidence)."""
    if not q.tokens or not c.tokens:
        return NameScore(0.0)
    model = model or load_model()
    f, detail = name_features(q, c, weight, person)
    z = logit(f, model) if detail.pairs or f.get("compact") else -math.inf
    detail.logit = NAME_LOGIT_MAX if detail.identical else min(z, NAME_LOGIT_MAX)
    detail.score = to_score(detail.logit)
    if f.get("compact") and not detail.pairs:
        detail.method = "compact"
    return detail
