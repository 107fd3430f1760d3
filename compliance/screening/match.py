"""What a screening answers: each Match with its evidence (source and entry, the snapshot of
the list, the listed name that matched, the aligned words, what each qualifier did) and what
the entry's list policy says a sure match means."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from compliance.matching.features import load_model
from compliance.matching.score import NameScore
from compliance.screening.query import Query

# What each kind of listed name means, for the officer reading a match.
NAME_KIND_MEANING = {
    "primary": "the listed name",
    "aka": "a name the party is also known by, as the list gives it",
    "fka": "a name the party was formerly known by",
    "nka": "the name the party is now known by",
    "weak_aka": "a weak alias: the list itself says it is a low-quality name (too broad or too "
    "common to identify the party alone); check the other details",
    "original_script": "the name in its original script (Cyrillic, Arabic, Chinese...)",
    "variant": "the listed name without its bracketed note or abbreviation",
}


@dataclass
class Match:
    source: str
    source_id: str
    name: str
    matched_name: str
    matched_name_kind: str
    score: float
    type: str
    programs: list[str]
    lists: list[str]
    countries: list[str]
    fields: dict[str, Any]
    explanation: str
    features: dict[str, Any]
    snapshot: dict[str, Any]
    entity_id: int
    content_hash: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    # From the lists' policies (compliance.policy), over every source publishing the listing:
    list_name: str = ""  # the list that decides, as shown: "CSL · Entity List"
    sub_lists: list[str] = field(default_factory=list)  # "Entity List", "SDN", "NS-CMIC"...
    decision: str = ""  # what a sure match means: BLOCK, LICENSE_REQUIRED or REVIEW
    category: str = ""  # sanctions, export_control or other

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScreenResult:
    query: Query
    matches: list[Match]
    threshold: float
    algorithm: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": asdict(self.query),
            "threshold": self.threshold,
            "algorithm": self.algorithm,
            "matches": [m.to_dict() for m in self.matches],
        }


@dataclass
class Qualifier:
    """What an identifier, country or birth date said about a candidate, and what it did to the
    score: `effect` in points, or "decisive" (a matching identifier). `feature` and `weight`
    name the fitted model's feature (default algorithm only)."""

    field: str  # id, country, dob, type
    detail: str
    effect: float | str
    feature: str | None = None
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def model_features(detail: NameScore, logit: float | None) -> dict[str, Any]:
    """The name model's working: each feature's value, weight and contribution to the logit,
    and how the logit (qualifiers included) became the score."""
    model = load_model()
    return {
        "intercept": model.intercept,
        "name_logit": round(detail.logit, 3) if math.isfinite(detail.logit) else None,
        "logit": round(logit, 3) if logit is not None and math.isfinite(logit) else None,
        "score_is": "100 * sigmoid(logit), rounded to one decimal",
        "features": detail.contributions(model),
    }
