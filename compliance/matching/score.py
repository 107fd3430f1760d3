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
from typing import Any

from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.fuzz import ratio

from compliance.matching.align import Pair, align, chain_conflict, rejoin
from compliance.matching.descriptors import descriptor_positions
from compliance.matching.features import (
    COMMON_WEIGHT,
    COMPACT_MIN,
    COMPACT_MIN_LEN,
    ORDINALS,
    Model,
    inversions,
    legal_agreement,
    load_model,
    numbers_of,
    sigmoid,
)
from compliance.matching.normalize import NormName


@dataclass(slots=True)
class NameScore:
    score: float  # 0..100: 100 * sigmoid(logit)
    pairs: list[tuple[str, str, float, str]] = field(default_factory=list)
    extra_query: list[str] = field(default_factory=list)
    extra_listed: list[str] = field(default_factory=list)
    descriptors: list[str] = field(default_factory=list)  # unmatched "Group", "Dubai Branch"
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
        if self.descriptors:
            text += f"; descriptor words on one side only: {' '.join(self.descriptors)}"
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
        order = model.position
        present = sorted(
            ((model.by_name[name], value) for name, value in self.features.items()
             if value and name in order),
            key=lambda fv: order[fv[0].name],
        )  # in the model's order, for the stable sort below  # fmt: skip
        rows: list[dict[str, Any]] = [
            {
                "feature": feat.name,
                "value": round(value, 3),
                "weight": round(feat.weight, 3),
                "contribution": round(feat.weight * value, 3),
                "meaning": feat.meaning,
            }
            for feat, value in present
        ]
        rows.sort(key=lambda r: -abs(float(r["contribution"])))
        return rows


Weight = Callable[[str], float]
# A name's own evidence tops out here (100 * sigmoid(7.7) = 99.95, shown as 100), so a
# contradicting country or birth year always shows in the score.
NAME_LOGIT_MAX = 7.7
EVIDENCE_FULL = 25.0  # rarity weight of agreeing listed words that counts as full evidence
RAREST_FULL = 11.0  # a word in about one listed name in 60,000 (ln 60,000 = 11)


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
    if len(qt) != len(ct) and len(qt) > 1 and len(ct) > 1:
        qt, ct = rejoin(qt, ct), rejoin(ct, qt)
    pairs, xq, xc = align(qt, ct, person)
    tw = {t: weight(t) for t in (*qt, *ct)}
    w, out_pairs = _weigh(pairs, qt, ct, tw)
    lo = _leftovers(qt, ct, xq, xc, tw)
    compact = _compact(q, c)
    f = _overlap_features(w, lo, len(pairs), compact)
    _leftover_features(f, w, lo, person)
    # generic-only agreement counts descriptor words as left over too
    leftover_c = [ct[j] for j in xc if person is False or tw[ct[j]] >= COMMON_WEIGHT]
    common_only = bool(pairs) and bool(xq or leftover_c) and w.all_common
    if common_only:
        f["generic_only"] = 1.0
    if lo.xq and lo.xc and pairs:
        f["both_leftover"] = 1.0
    conflict = _form_features(q, c, qt, ct, pairs, f)
    if compact:
        f["compact"] = compact
    detail = NameScore(
        0.0,
        out_pairs,
        [qt[i] for i in lo.xq],
        [ct[j] for j in lo.xc],
        descriptors=[qt[i] for i in sorted(lo.dq)] + [ct[j] for j in sorted(lo.dc)],
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


@dataclass(slots=True)
class _Weights:
    """What the aligned words weigh: on each side, matched (times their similarity), and by how
    they were matched."""

    w_q: float = 0.0
    w_c: float = 0.0
    matched: float = 0.0
    typo: float = 0.0
    sound: float = 0.0
    abbreviation: float = 0.0
    nickname: float = 0.0
    evidence: float = 0.0
    rarest: float = 0.0
    initials: int = 0
    all_common: bool = True


def _weigh(
    pairs: list[Pair], qt: tuple[str, ...], ct: tuple[str, ...], tw: dict[str, float]
) -> tuple[_Weights, list[tuple[str, str, float, str]]]:
    w_q = w_c = matched = evidence = rarest = typo = sound = abbreviation = nickname = 0.0
    initials = 0
    all_common = True
    out_pairs = []
    for i, j, s, how in pairs:
        wc = tw[ct[j]]
        if how == "initial":
            wq = wc = min(tw[qt[i]], wc) * 0.5
            initials += 1
        else:
            wq = min(tw[qt[i]], wc * 1.5)  # a typo-made rare token is worth no more
        all_common = all_common and wc < COMMON_WEIGHT
        w_q += wq
        w_c += wc
        matched += s * (wq + wc)
        evidence += s * wc
        rarest = max(rarest, s * wc)
        if "edit" in how:
            typo += wq + wc
        elif how == "sounds alike":  # (share + wq) + wc: the fitted weights' arithmetic
            sound = sound + wq + wc
        elif how == "abbreviation":
            abbreviation = abbreviation + wq + wc
        elif how == "given-name variant":
            nickname = nickname + wq + wc
        out_pairs.append((qt[i], ct[j], s, how))
    weights = _Weights(
        w_q, w_c, matched, typo, sound, abbreviation, nickname, evidence, rarest, initials,
        all_common,
    )  # fmt: skip
    return weights, out_pairs


@dataclass(slots=True)
class _Leftovers:
    """The words each name has that the other lacks, descriptor words ("Group", "Trading",
    "Dubai Branch": which part of a company, not which company) set apart from the rest, and
    what each kind weighs."""

    xq: list[int]
    xc: list[int]
    dq: set[int]
    dc: set[int]
    left_q: float = 0.0
    left_c: float = 0.0
    described: float = 0.0


def _leftovers(
    qt: tuple[str, ...], ct: tuple[str, ...], xq: list[int], xc: list[int], tw: dict[str, float]
) -> _Leftovers:
    dq, dc = descriptor_positions(qt, xq, places=True), descriptor_positions(ct, xc)
    if dq or dc:
        xq, xc = [i for i in xq if i not in dq], [j for j in xc if j not in dc]
    lo = _Leftovers(xq, xc, dq, dc)
    lo.left_q = sum(tw[qt[i]] for i in xq) if xq else 0.0
    lo.left_c = sum(tw[ct[j]] for j in xc) if xc else 0.0
    if dq or dc:
        lo.described = sum(tw[qt[i]] for i in dq) + sum(tw[ct[j]] for j in dc)
    return lo


def _overlap_features(
    w: _Weights, lo: _Leftovers, n_pairs: int, compact: float
) -> dict[str, float]:
    """How much of both names' weight the aligned words cover, and how they were matched."""
    f: dict[str, float] = {}
    total = w.w_q + w.w_c + lo.left_q + lo.left_c
    if total > 0 and n_pairs:
        overlap = w.matched / total
        lenient = w.matched / (w.w_q + w.w_c + 0.5 * (lo.left_q + lo.left_c))
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
        if w.nickname:
            f["nickname_share"] = w.nickname / total
        if w.initials:
            f["initials_share"] = w.initials / n_pairs
    elif compact:
        f["overlap"] = f["overlap_lenient"] = compact
    return f


def _leftover_features(f: dict[str, float], w: _Weights, lo: _Leftovers, person: bool) -> None:
    total = w.w_q + w.w_c + lo.left_q + lo.left_c
    if lo.described:
        f["descriptor_words"] = lo.described / (total + lo.described)
    if lo.left_q:
        f["query_unmatched"] = lo.left_q / (w.w_q + lo.left_q)
    if lo.left_c:
        key = "listed_unmatched_person" if person else "listed_unmatched"
        f[key] = lo.left_c / (w.w_c + lo.left_c)


def _form_features(
    q: NormName, c: NormName, qt: tuple[str, ...], ct: tuple[str, ...], pairs: list[Pair],
    f: dict[str, float],
) -> float:  # fmt: skip
    """The names' shapes (one word, legal forms, numbers, script, word order, patronymic chain)
    into `f`; the legal forms' conflict, 0.0 when they agree or either says nothing."""
    if len(qt) == 1:
        f["one_word_query"] = 1.0
        if len(ct) == 1 and pairs and qt[0] != ct[0]:
            f["single_word_gap"] = _single_word_gap(qt[0], ct[0])
    conflict = 0.0
    if q.legal_forms and c.legal_forms:
        agree, conflict = legal_agreement(q.legal_forms, c.legal_forms)
        if agree or conflict:  # "Co." alone says nothing of the form
            f["legal_form_agree" if agree else "legal_form_conflict"] = 1.0
    if _has_number(qt) and _has_number(ct) and numbers_of(qt) != numbers_of(ct):
        f["number_conflict"] = 1.0
    if not q.latin:
        f["other_script"] = 1.0
    if len(pairs) > 1:
        disorder = inversions([j for _i, j, _s, _h in sorted(pairs)])
        if disorder:
            f["word_order"] = disorder
            if chain_conflict(qt, ct):
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
