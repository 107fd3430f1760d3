"""A candidate listed entry as scored for one query, and what a Match shows of it: the
aligned words, the model's working, each qualifier's effect, in one sentence and in detail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance.matching.index import EntityInfo, NameEntry
from compliance.matching.normalize import normalize_id
from compliance.matching.score import NameScore
from compliance.screening.match import NAME_KIND_MEANING, Qualifier, model_features


@dataclass(slots=True)
class Scored:
    entity: int
    name_idx: int
    name_score: float
    detail: NameScore | None
    ofac_explanation: str = ""
    qualifiers: list[Qualifier] = field(default_factory=list)
    score: float = 0.0
    id_match: str | None = None
    logit: float | None = None  # default algorithm: name evidence plus the qualifiers


def evidence(sc: Scored, entry: NameEntry) -> dict[str, Any]:
    """How the name scored (aligned words, the model's working) and what each qualifier did."""
    if sc.detail is not None:
        features: dict[str, Any] = {
            "name_score": sc.name_score,
            "aligned": [
                {"query": a, "listed": b, "similarity": round(s, 3), "how": how}
                for a, b, s, how in sc.detail.pairs
            ],
            "query_only": sc.detail.extra_query,
            "listed_only": sc.detail.extra_listed,
            "legal_forms_ignored": list(entry.norm.legal_forms),
            "model": model_features(sc.detail, sc.logit),
            "token_weights": {t: round(w, 2) for t, w in sc.detail.token_weights.items()},
            "matched_name_kind_meaning": NAME_KIND_MEANING.get(entry.kind, entry.kind),
        }
    else:
        features = {"name_score": sc.name_score, "algorithm": "ofac"}
    features["qualifiers"] = [q.to_dict() for q in sc.qualifiers]
    if sc.id_match:
        features["identifier_match"] = sc.id_match
    return features


def explanation(sc: Scored, entry: NameEntry) -> str:
    """One sentence: which listed name scored what and why, then each qualifier's effect."""
    name_expl = sc.detail.describe() if sc.detail is not None else sc.ofac_explanation
    kind = entry.kind.replace("_", " ")
    explanation = f"{kind} name {entry.name!r} scored {sc.name_score:g}: {name_expl}"
    if entry.kind not in ("primary", "aka"):
        explanation = f"{kind} ({NAME_KIND_MEANING.get(entry.kind, entry.kind)}): {explanation}"
    for qual in sc.qualifiers:
        effect = qual.effect
        tag = f" ({effect:+g})" if isinstance(effect, (int, float)) and effect else ""
        explanation += f"; {qual.detail}{tag}"
    return explanation


def identified(sc: Scored, ent: EntityInfo, ident: str) -> bool:
    """A listed identifier equal to the one given decides (score 100); one not among several
    listed says nothing (a party has many numbers). True when it decided."""
    norm = normalize_id(ident)
    for typ, number in ent.identifiers:
        if normalize_id(number) == norm and len(norm) >= 4:
            sc.id_match = f"{typ} {number}"
            detail = f"identifier {number} ({typ}) matches: the same party whatever the name says"
            sc.qualifiers.append(Qualifier("id", detail, "decisive"))
            sc.score = 100.0
            return True
    if ent.identifiers:
        detail = (
            f"identifier {ident} not among the listed ones (no effect: a party has many numbers)"
        )
        sc.qualifiers.append(Qualifier("id", detail, 0))
    return False
