"""Named features of a query name against a listed name, each a number in [0, 1] saying what it
measured, and the fitted weights that turn them into a score.

The tokens of the two names are aligned one to one (exact, typo, sounds-alike, initial: see
score.token_sim), every token weighted by its rarity in the lists. The features then describe
the alignment: how much of the rarity-weighted name agreed, what was left over on each side,
how the agreeing words agreed (letter for letter, by typo, by sound, by initial), and what
contradicts (legal forms, numbers, the order of a patronymic chain). The weights come from
data/match_weights.json, fitted offline by logistic regression (benchmarks/fit_weights.py);
the score is 100 * sigmoid(intercept + sum of weight * feature).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

from compliance.datafiles import data_file

# A token in more than 1 listed name in 1,000 (weight = log inverse frequency below ln 1000) is
# generic ("TRADING", "GROUP", "KIM").
COMMON_WEIGHT = 6.9
COMPACT_MIN = 0.92  # "XI Jinping" vs "Xi Jin Ping": spacing differences compare letter by letter
COMPACT_MIN_LEN = 6  # "ELM" is not "EL M"
# Words that chain a person's name to a parent's: the order around them is the identity
# (SALMAN BIN MUHAMMAD is the son of MUHAMMAD BIN SALMAN's son, not him).
CONNECTORS = frozenset({"bin", "ibn", "bint", "binti", "ben", "bent", "ould", "walad", "abu"})
ROMAN = frozenset({"ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"})
ORDINALS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
    "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "ii": "2", "iii": "3",
    "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10",
    "1st": "1", "2nd": "2", "3rd": "3", "4th": "4", "5th": "5",
}  # fmt: skip


@dataclass(frozen=True)
class Feature:
    name: str
    weight: float
    meaning: str
    fitted: bool


@dataclass(eq=False)
class Model:
    intercept: float
    features: tuple[Feature, ...]
    fitted_on: str
    by_name: dict[str, Feature] = field(init=False)
    weights: dict[str, float] = field(init=False)  # feature name -> weight, for the hot path
    position: dict[str, int] = field(init=False)  # feature name -> its place in the table

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.features}
        self.position = {f.name: i for i, f in enumerate(self.features)}
        self.weights = {f.name: f.weight for f in self.features}

    def weight(self, name: str) -> float:
        return self.weights[name]


def parse_model(text: str) -> Model:
    raw = json.loads(text)
    feats = tuple(
        Feature(name, float(f["weight"]), str(f["meaning"]), bool(f.get("fitted", True)))
        for name, f in raw["features"].items()
    )
    return Model(float(raw["intercept"]), feats, str(raw.get("fitted_on", "")))


@lru_cache(maxsize=1)
def load_model() -> Model:
    """The weights in data/match_weights.json (one table: weight and meaning per feature)."""
    return parse_model(data_file("match_weights.json").read_text(encoding="utf-8"))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def inversions(order: list[int]) -> float:
    """Share of aligned pairs whose listed positions are in the other order (0: same order)."""
    n = len(order)
    if n < 2:
        return 0.0
    bad = sum(1 for i in range(n) for j in range(i + 1, n) if order[i] > order[j])
    return bad / (n * (n - 1) / 2)


def numbers_of(tokens: tuple[str, ...]) -> set[str]:
    """Numbers a name carries: digits, roman numerals, ordinal words (II = 2 = second)."""
    out = set()
    for t in tokens:
        if t.isdigit():
            out.add(str(int(t)))
        elif t in ORDINALS:
            out.add(ORDINALS[t])
    return out


# Legal forms that name the same thing in another language or spelling (OOO = LLC, AO = JSC,
# Co., Ltd. = Ltd); any other two forms conflict ("AG" vs "GmbH", "Ltd" vs "GmbH": different
# companies in different countries). "Co." / "Company" says nothing of the form, and the
# English words for an incorporated company (Limited, Corporation, Incorporated) are used for
# one another: Chinese 有限公司 is written "Co., Ltd." and "Corporation" alike.
_SAME_FORMS = (
    "ltd limited coltd corp corporation inc incorporated",
    "llc ooo tov",
    "jsc ao oao ojsc pao pjsc zao cjsc",
    "sa sacv",
)
LEGAL_KIND = {form: forms.split()[0] for forms in _SAME_FORMS for form in forms.split()}
_NEUTRAL_FORMS = frozenset({"co", "company", "companies"})


def legal_kinds(forms: tuple[str, ...]) -> set[str]:
    lowered = (f.lower() for f in forms)  # classes are written LTD, JSC...
    return {LEGAL_KIND.get(f, f) for f in lowered if f not in _NEUTRAL_FORMS}


def legal_agreement(qforms: tuple[str, ...], cforms: tuple[str, ...]) -> tuple[float, float]:
    """(agree, conflict): both names state a legal form, and one of them is the same form /
    none is ("AG" and "GmbH" are different companies' forms)."""
    qk, ck = legal_kinds(qforms), legal_kinds(cforms)
    if not qk or not ck:
        return 0.0, 0.0
    return (1.0, 0.0) if qk & ck else (0.0, 1.0)
