"""Two names scored against each other, with the explanation (`compliance compare`)."""

from __future__ import annotations

from typing import Any

from compliance.matching.index import MatchIndex
from compliance.matching.normalize import NormName, normalize_name
from compliance.matching.ofac import ofac_score
from compliance.matching.retrieve import Retriever
from compliance.matching.score import NameScore, score_names
from compliance.screening.match import model_features
from compliance.screening.query import MAX_NAME_LENGTH, ScreeningError, check_name, check_type


def compare(
    a: str,
    b: str,
    *,
    algorithm: str = "default",
    idf: MatchIndex | None = None,
    type: str | None = None,
) -> dict[str, Any]:
    """Score two names against each other, with the explanation. With `idf` (the loaded
    lists' index) words weigh by their rarity in the lists, as in screening; without it every
    word weighs the same. `type` ("person"...) is the parties' type, as a listing's. A name
    that leaves nothing to compare (empty, only a legal form) is a ScreeningError."""
    for what, name in (("name1", a), ("name2", b)):
        if len(name) > MAX_NAME_LENGTH:
            raise ScreeningError(
                f"{what} is {len(name):,} characters long; a name has at most {MAX_NAME_LENGTH:,}"
            )
    na, nb = normalize_name(a), normalize_name(b)
    check_name(a, na, "name1")
    check_name(b, nb, "name2")
    if algorithm == "ofac":
        r = ofac_score(a, b)
        return {
            "name1": a,
            "name2": b,
            "score": round(r.score, 1),
            "explanation": r.explanation,
            "features": r.features,
            "algorithm": "ofac",
        }
    kind = check_type(type)
    if kind == "person":
        na, nb = na.as_person(), nb.as_person()
    weight = Retriever(idf, prune=False).weight if idf is not None else (lambda t: 8.0)
    # Either name may be the listed one: the better reading counts, so the order of the
    # two names does not matter (the features of a query and a listed name differ).
    there = score_names(na, nb, weight, kind == "person")
    back = score_names(nb, na, weight, kind == "person")
    forward = there.score >= back.score
    detail = there if forward else back
    why = detail.describe() + ("" if forward else " (read with name2 as the query)")
    return {
        "name1": a,
        "name2": b,
        "score": detail.score,
        "explanation": why,
        "features": _features(detail, na, nb, forward, idf is not None, kind),
        "algorithm": "default",
    }


def _features(
    detail: NameScore, na: NormName, nb: NormName, forward: bool, by_rarity: bool,
    kind: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The evidence, always as name1 against name2 whichever reading scored."""
    return {
        "aligned": [
            {"name1": x, "name2": y, "similarity": round(s, 3), "how": how}
            if forward
            else {"name1": y, "name2": x, "similarity": round(s, 3), "how": how}
            for x, y, s, how in detail.pairs
        ],
        "name1_only": detail.extra_query if forward else detail.extra_listed,
        "name2_only": detail.extra_listed if forward else detail.extra_query,
        "legal_forms_ignored": {"name1": list(na.legal_forms), "name2": list(nb.legal_forms)},
        "weights": "token rarity in the loaded lists" if by_rarity else "equal",
        "type": kind,
        "model": model_features(detail, detail.logit),
        "token_weights": {t: round(w, 2) for t, w in detail.token_weights.items()},
    }
