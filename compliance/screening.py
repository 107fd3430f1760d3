"""Screen a party (name plus optional type, country, birth date, identifier) against the lists.

Every match carries its evidence: which source and entry, which snapshot of the list (date,
checksum), which listed name matched, which tokens aligned, and what each qualifier did.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract
from sqlalchemy.engine import Engine

from compliance.countries import to_iso2
from compliance.matching.index import MIN_TYPO_LEN, EntityInfo, MatchIndex, load_index, shapes
from compliance.matching.normalize import (
    LEGAL_WORDS,
    NormName,
    normalize_id,
    normalize_name,
    phonetic_key,
)
from compliance.matching.score import (
    EXTRA_TOKEN_COST,
    EXTRA_TOKEN_COST_ORG,
    NameScore,
    score_names,
    token_sim,
)

DEFAULT_THRESHOLD = 85.0
ALGORITHMS = ("default", "ofac")
COUNTRY_PENALTY = 10.0
BIRTH_PENALTY = 15.0
MAX_POSTING = 1000  # tokens listed more often than this do not pull candidates on their own
MAX_CANDIDATES = 30  # listed names scored per query, best retrieval evidence first
# A listed name whose tokens cover less than this share of the query's weight cannot reach a
# match score, so it is not scored at all.
MIN_COVER = 0.35
PRUNE_MARGIN = 12.0
MAX_VARIANTS = 20  # look-alike spellings of one query token used to find candidates


_LEGAL_ABBREVIATIONS = frozenset({"co", "ltd", "llc", "jsc", "ooo", "inc", "corp", "oao", "zao"})
_LEGAL_ALL = LEGAL_WORDS | _LEGAL_ABBREVIATIONS
_LEGAL_TARGETS = sorted(LEGAL_WORDS | {"corp", "gmbh", "ltda"})


class ScreeningError(ValueError):
    pass


@dataclass
class Query:
    name: str
    type: str | None = None
    country: str | None = None
    dob: str | None = None
    id: str | None = None


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
class _Scored:
    entity: int
    name_idx: int
    name_score: float
    detail: NameScore | None
    ofac_explanation: str = ""
    qualifiers: list[dict[str, Any]] = field(default_factory=list)
    score: float = 0.0
    id_match: str | None = None


class Screener:
    """A loaded index plus the scoring rules. Build once, screen many."""

    def __init__(
        self, index: MatchIndex, algorithm: str = "default", lists: list[str] | None = None
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ScreeningError(f"unknown algorithm {algorithm!r}; use one of {ALGORITHMS}")
        self.index = index
        self._variant_cache: dict[tuple[str, bool], list[tuple[str, float]]] = {}
        self._unknown_weight: dict[str, float] = {}
        self.algorithm = algorithm
        self.lists = set(lists) if lists else None
        if self.lists:
            known = {e.source for e in index.entities}
            unknown = self.lists - known
            if unknown:
                raise ScreeningError(
                    f"no loaded list named {', '.join(sorted(unknown))}; loaded: "
                    f"{', '.join(sorted(known)) or 'none (run compliance update)'}"
                )

    @classmethod
    def load(
        cls, engine: Engine, lists: list[str] | None = None, algorithm: str = "default"
    ) -> Screener:
        return cls(load_index(engine), algorithm=algorithm, lists=lists)

    # -- retrieval ---------------------------------------------------------------------------

    def _variants(self, t: str, exact_only: bool = False) -> list[tuple[str, float]]:
        """Vocabulary tokens standing for query token `t`, each with its retrieval weight."""
        key = (t, exact_only)
        hit = self._variant_cache.get(key)
        if hit is not None:
            return hit
        idx = self.index
        found: dict[str, float] = {}
        if t in idx.postings:
            found[t] = 1.0
        if not exact_only and len(t) >= 3:
            near: dict[str, float] = {}
            for v in idx.by_phonetic.get(phonetic_key(t), ()):
                sim, _how = token_sim(t, v)  # the scorer's own test, so no junk is retrieved
                if sim and v != t:
                    near[v] = sim
            if len(t) >= MIN_TYPO_LEN and t.isalpha():
                for v, sim in self._near(t):
                    near.setdefault(v, sim)
            # The closest spellings only: a common name has dozens of look-alikes.
            df = idx.df
            best = sorted(near.items(), key=lambda vs: (-vs[1], -df[vs[0]], vs[0]))[:MAX_VARIANTS]
            found.update(best)
        # A variant is no stronger evidence than the query token itself: a rarer look-alike
        # ("SOBAR" for "SABER") must not outrank the names that hold the token exactly.
        own = idx.idf(t)
        out = sorted(
            ((v, sim * min(idx.idf(v), own)) for v, sim in found.items()),
            key=lambda vw: (-vw[1], vw[0]),
        )  # strongest first: _candidates relies on it
        if len(self._variant_cache) > 200_000:
            self._variant_cache.clear()
        self._variant_cache[key] = out
        return out

    def _candidates(self, q: NormName, threshold: float, raw: str = "") -> list[int]:
        idx = self.index
        postings = idx.postings
        toks = list(dict.fromkeys(q.tokens))
        lookups = [self._variants(t) for t in toks]
        lookups += [
            self._variants(a + b, True) for a, b in zip(q.tokens, q.tokens[1:], strict=False)
        ]
        common_only = all(
            len(postings[v]) > MAX_POSTING for variants in lookups for v, _w in variants
        )
        weights: dict[int, float] = {}
        get = weights.get
        for variants in lookups:
            # One query token counts once per name, by its best variant in that name: the
            # variants come strongest first, so laying them down weakest first lets the
            # stronger overwrite (dict operations keep the per-name work in C).
            best: dict[int, float] = {}
            for v, w in reversed(variants):
                plist = postings[v]
                if len(plist) <= MAX_POSTING or common_only:
                    best.update(dict.fromkeys(plist, w))
            if not weights:
                weights = best
                get = weights.get
                continue
            for n, w in best.items():
                weights[n] = get(n, 0.0) + w
        if not weights:
            return []
        # Initials carry little; an unseen (often misspelt) token weighs as its nearest known one.
        total = sum(1.0 if len(t) == 1 else self._weight(t) for t in toks)
        floor = MIN_COVER * total
        keep = [n for n, w in weights.items() if w >= floor]
        if self.algorithm == "default":
            # The best score a name could reach: the query tokens that found it match it
            # perfectly, and what is left over on either side costs half its weight (see
            # score.py). Names that cannot reach the threshold, less a margin, are not scored.
            # Initials find nothing but may cover listed given names, so then only the query's
            # side is charged.
            name_weight = idx.name_weight
            listed_share = 0.0 if any(len(t) == 1 for t in toks) else 0.5
            bar = max(threshold - PRUNE_MARGIN, 0.0) / 100.0
            keep = [
                n
                for n in keep
                if 2 * weights[n]
                >= bar
                * (
                    2 * weights[n]
                    + 0.5 * max(total - weights[n], 0.0)
                    + listed_share * max(name_weight[n] - weights[n], 0.0)
                )
            ]
        # The listed names equal to the query (once normalised, then as written) first, then
        # by evidence, then the name with the least left over: the cap below must never
        # drop an exact match, which scores 100.
        name_weight, names, qt = idx.name_weight, idx.names, q.tokens
        ranked = sorted(
            keep,
            key=lambda n: (
                names[n].norm.tokens != qt,
                names[n].name != raw,
                -weights[n],
                name_weight[n],
                n,  # ties broken by list order, never by hash order: same answer every run
            ),
        )
        out: list[int] = []
        seen_entities: set[int] = set()
        names = idx.names
        for n in ranked:
            e = names[n].entity
            if e in seen_entities and len(out) >= MAX_CANDIDATES // 2:
                continue
            seen_entities.add(e)
            out.append(n)
            if len(out) >= MAX_CANDIDATES:
                break
        return out

    def _near(self, t: str) -> list[tuple[str, float]]:
        """Vocabulary tokens within a typo or two of `t` (see index.shapes)."""
        by_shape = self.index.by_shape
        allowed = 1 if len(t) <= 5 else 2 if len(t) <= 8 else 3
        pool: set[str] = set()
        for n in range(len(t) - allowed, len(t) + allowed + 1):
            first2, last2, ends = shapes(t, n)
            pool.update(by_shape.get(first2, ()))
            pool.update(by_shape.get(last2, ()))
            if len(t) <= 6:  # a middle edit only hides both ends of a short word
                pool.update(by_shape.get(ends, ()))
        pool.discard(t)
        out = []
        for v, _d, _i in extract(t, pool, scorer=OSA.distance, score_cutoff=allowed, limit=None):
            sim, _how = token_sim(t, v)
            if sim:
                out.append((v, sim))
        out.sort(key=lambda vs: (-vs[1], vs[0]))  # never the set's (hash) order
        return out

    # -- scoring -----------------------------------------------------------------------------

    def _name_score(self, query: str, q: NormName, n: int) -> tuple[float, NameScore | None, str]:
        entry = self.index.names[n]
        if self.algorithm == "ofac":
            from compliance.matching.ofac import ofac_score

            r = ofac_score(query, entry.name)
            return r.score, None, r.explanation
        ent_type = self.index.entities[entry.entity].type
        cost = EXTRA_TOKEN_COST if ent_type in ("person", "unknown") else EXTRA_TOKEN_COST_ORG
        if ent_type == "person":
            q = q.as_person()
        detail = score_names(q, entry.norm, self._weight, cost)
        return detail.score, detail, ""

    def _fix_legal_typos(self, q: NormName) -> NormName:
        """Correct a misspelt word of a legal form ("JOINT STOKC COMPANY", "ACME LIMITHED") so
        the legal form is recognised: an unknown word next to another legal-form word, or at
        the end of a name, within an edit or two of one."""
        words = list(q.words or q.tokens)
        known = self.index.weights
        changed = False
        for _ in range(3):  # a fix can make its neighbour's fix possible
            fixed_one = False
            for i, t in enumerate(words):
                if t in known or t in _LEGAL_ALL or len(t) < 4 or not t.isalpha():
                    continue
                near = [words[j] for j in (i - 1, i + 1) if 0 <= j < len(words)]
                trailing = i == len(words) - 1 and len(words) > 1
                if not trailing and not any(n in _LEGAL_ALL for n in near):
                    continue
                fix = min(_LEGAL_TARGETS, key=lambda w: OSA.distance(t, w))
                if OSA.distance(t, fix) <= (1 if len(t) <= 7 else 2):
                    words[i] = fix
                    changed = fixed_one = True
            if not fixed_one:
                break
        return normalize_name(" ".join(words)) if changed else q

    def _weight(self, token: str) -> float:
        """A token's rarity; an unseen token (often a typo) weighs as its nearest known one."""
        w = self.index.weights.get(token)
        if w is not None:
            return w
        w = self._unknown_weight.get(token)
        if w is None:
            near = [(sim, v) for v, sim in self._near(token)] if token.isalpha() else []
            w = self.index.idf(max(near)[1]) if near else self.index.max_idf
            if len(self._unknown_weight) > 200_000:
                self._unknown_weight.clear()
            self._unknown_weight[token] = w
        return w

    def screen(self, query: Query, threshold: float | None = None, limit: int = 10) -> ScreenResult:
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        qtype = _check_type(query.type)
        qcountry = _check_country(query.country)
        qyear, qdate = _check_dob(query.dob)
        q = self._fix_legal_typos(normalize_name(query.name or ""))
        if not q.tokens and not query.id:
            if q.legal_forms:
                raise ScreeningError(
                    f"{query.name!r} is only a legal form; give the name of the party"
                )
            raise ScreeningError("the name is empty; give the name of the party to screen")
        idx = self.index
        best: dict[int, _Scored] = {}
        for n in self._candidates(q, threshold, query.name) if q.tokens else []:
            e = idx.names[n].entity
            if not self._wanted(idx.entities[e], qtype):
                continue
            s, detail, expl = self._name_score(query.name, q, n)
            cur = best.get(e)
            if cur is None or s > cur.name_score:
                best[e] = _Scored(e, n, s, detail, expl)
        if query.id:
            for e in idx.by_id.get(normalize_id(query.id), ()):
                n = idx.primary_name[e]
                if e not in best and n >= 0:
                    s, detail, expl = (
                        self._name_score(query.name, q, n) if q.tokens else (0.0, None, "")
                    )
                    best[e] = _Scored(e, n, s, detail, expl)
        scored: list[_Scored] = []
        for sc in best.values():
            ent = idx.entities[sc.entity]
            if not self._wanted(ent, qtype):
                continue
            self._qualify(sc, ent, qcountry, qyear, qdate, query.id)
            if sc.score >= threshold:
                scored.append(sc)
        return ScreenResult(query, self._merge(scored, limit), threshold, self.algorithm)

    def _wanted(self, ent: EntityInfo, qtype: str | None) -> bool:
        """The entity is of the asked type (or of unknown type) and on one of the asked lists."""
        if qtype and ent.type not in ("unknown", qtype):
            return False
        return not self.lists or self._in_lists(ent)

    def _in_lists(self, ent: EntityInfo) -> bool:
        assert self.lists is not None
        return any(
            self.index.entities[m].source in self.lists for m in self.index.groups[ent.group]
        )

    def _qualify(
        self,
        sc: _Scored,
        ent: EntityInfo,
        country: str | None,
        year: int | None,
        date: str | None,
        ident: str | None,
    ) -> None:
        score = sc.name_score
        if ident:
            norm = normalize_id(ident)
            for typ, number in ent.identifiers:
                if normalize_id(number) == norm and len(norm) >= 4:
                    sc.id_match = f"{typ} {number}"
                    sc.qualifiers.append(
                        {
                            "field": "id",
                            "effect": "decisive",
                            "detail": f"identifier {number} ({typ}) matches",
                        }
                    )
                    sc.score = 100.0
                    return
            if ent.identifiers:
                sc.qualifiers.append(
                    {
                        "field": "id",
                        "effect": 0,
                        "detail": f"identifier {ident} not among the listed ones",
                    }
                )
        if country and ent.countries:
            if country in ent.countries:
                sc.qualifiers.append(
                    {
                        "field": "country",
                        "effect": 0,
                        "detail": f"country {country} agrees with the listing",
                    }
                )
            else:
                score -= COUNTRY_PENALTY
                sc.qualifiers.append(
                    {
                        "field": "country",
                        "effect": -COUNTRY_PENALTY,
                        "detail": f"country {country} contradicts listed "
                        f"{', '.join(ent.countries)}",
                    }
                )
        if year and ent.birth_years:
            if date and date in ent.births:
                sc.qualifiers.append(
                    {"field": "dob", "effect": 0, "detail": f"date of birth {date} agrees"}
                )
            elif any(abs(y - year) <= 1 for y in ent.birth_years):
                sc.qualifiers.append(
                    {"field": "dob", "effect": 0, "detail": f"birth year {year} agrees (±1)"}
                )
            else:
                score -= BIRTH_PENALTY
                sc.qualifiers.append(
                    {
                        "field": "dob",
                        "effect": -BIRTH_PENALTY,
                        "detail": f"birth year {year} contradicts listed "
                        f"{', '.join(sorted(set(ent.births)))}",
                    }
                )
        sc.score = round(max(0.0, min(100.0, score)), 1)

    def _merge(self, scored: list[_Scored], limit: int) -> list[Match]:
        idx = self.index
        by_group: dict[int, list[_Scored]] = defaultdict(list)
        for sc in scored:
            by_group[idx.entities[sc.entity].group].append(sc)
        matches = []
        for group_hits in by_group.values():
            group_hits.sort(key=lambda s: (-s.score, _source_rank(idx.entities[s.entity].source)))
            top = group_hits[0]
            members = [idx.entities[m] for m in idx.groups[idx.entities[top.entity].group]]
            members.sort(key=lambda e: _source_rank(e.source))
            matches.append(self._to_match(top, members))
        matches.sort(key=lambda m: (-m.score, m.source, m.source_id))
        return matches[: max(limit, 0)] if limit else matches

    def _to_match(self, sc: _Scored, members: list[EntityInfo]) -> Match:
        idx = self.index
        ent = idx.entities[sc.entity]
        entry = idx.names[sc.name_idx]
        lists: list[str] = []
        programs: list[str] = []
        fields: dict[str, Any] = {}
        for m in members:
            lists.extend(x for x in m.lists if x not in lists)
            programs.extend(x for x in m.programs if x not in programs)
            for k, v in m.fields.items():
                fields.setdefault(k, v)
        if not lists:
            lists = [idx.snapshots.get(ent.snapshot_id, {}).get("source", ent.source)]
        if sc.detail is not None:
            name_expl = sc.detail.describe()
            features: dict[str, Any] = {
                "name_score": sc.name_score,
                "aligned": [
                    {"query": a, "listed": b, "similarity": round(s, 3), "how": how}
                    for a, b, s, how in sc.detail.pairs
                ],
                "query_only": sc.detail.extra_query,
                "listed_only": sc.detail.extra_listed,
                "legal_forms_ignored": list(entry.norm.legal_forms),
            }
        else:
            name_expl = sc.ofac_explanation
            features = {"name_score": sc.name_score, "algorithm": "ofac"}
        features["qualifiers"] = sc.qualifiers
        if sc.id_match:
            features["identifier_match"] = sc.id_match
        kind = entry.kind.replace("_", " ")
        explanation = f"{kind} name {entry.name!r} scored {sc.name_score:g}: {name_expl}"
        for qual in sc.qualifiers:
            effect = qual["effect"]
            tag = f" ({effect:+g})" if isinstance(effect, (int, float)) and effect else ""
            explanation += f"; {qual['detail']}{tag}"
        return Match(
            source=ent.source,
            source_id=ent.source_id,
            name=ent.name,
            matched_name=entry.name,
            matched_name_kind=entry.kind,
            score=sc.score,
            type=ent.type,
            programs=programs,
            lists=lists,
            countries=ent.countries,
            fields=fields,
            explanation=explanation,
            features=features,
            snapshot=idx.snapshots.get(ent.snapshot_id, {}),
            entity_id=ent.id,
            content_hash=ent.content_hash,
            sources=[
                {
                    "source": m.source,
                    "source_id": m.source_id,
                    "snapshot": idx.snapshots.get(m.snapshot_id, {}),
                }
                for m in members
            ],
        )


_SOURCE_ORDER = (
    "us_ofac_sdn",
    "us_ofac_cons",
    "us_bis_dpl",
    "un_sc",
    "gb_ofsi",
    "eu_fsf",
    "us_bis_entity_list_fr",
    "us_trade_csl",
)


def _source_rank(source: str) -> int:
    return _SOURCE_ORDER.index(source) if source in _SOURCE_ORDER else len(_SOURCE_ORDER)


def _check_type(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().lower()
    aliases = {
        "individual": "person",
        "entity": "organization",
        "org": "organization",
        "company": "organization",
        "ship": "vessel",
    }
    v = aliases.get(v, v)
    if v not in ("person", "organization", "vessel", "aircraft"):
        raise ScreeningError(
            f"unknown type {value!r}; use person, organization, vessel or aircraft"
        )
    return v


def _check_country(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    code = to_iso2(value)
    if code is None:
        raise ScreeningError(f"unknown country {value!r}; use an ISO code such as RU or a name")
    return code


def _check_dob(value: str | None) -> tuple[int | None, str | None]:
    if not value or not value.strip():
        return None, None
    v = value.strip()
    import re

    m = re.fullmatch(r"(\d{4})(?:-(\d{2})-(\d{2}))?", v)
    if not m or not 1850 <= int(m.group(1)) <= 2100:
        raise ScreeningError(f"date of birth {value!r} is not YYYY or YYYY-MM-DD")
    return int(m.group(1)), (v if m.group(2) else None)


def screen(
    engine: Engine,
    query: Query,
    *,
    threshold: float | None = None,
    limit: int = 10,
    lists: list[str] | None = None,
    algorithm: str = "default",
) -> ScreenResult:
    return Screener.load(engine, lists=lists, algorithm=algorithm).screen(
        query, threshold=threshold, limit=limit
    )


def compare(
    a: str, b: str, *, algorithm: str = "default", idf: MatchIndex | None = None
) -> dict[str, Any]:
    """Score two names against each other, with the explanation (no lists needed)."""
    if algorithm == "ofac":
        from compliance.matching.ofac import ofac_score

        r = ofac_score(a, b)
        return {
            "name1": a,
            "name2": b,
            "score": round(r.score, 1),
            "explanation": r.explanation,
            "features": r.features,
            "algorithm": "ofac",
        }
    na, nb = normalize_name(a), normalize_name(b)
    weight = idf.idf if idf is not None else (lambda t: 8.0)  # every token distinctive
    if not na.tokens or not nb.tokens:
        detail = NameScore(0.0)
        why = "a name with nothing but a legal form (or nothing at all) never matches"
    else:
        detail = score_names(na, nb, weight)
        why = detail.describe()
    return {
        "name1": a,
        "name2": b,
        "score": detail.score,
        "explanation": why,
        "features": {
            "aligned": [
                {"name1": x, "name2": y, "similarity": round(s, 3), "how": how}
                for x, y, s, how in detail.pairs
            ],
            "name1_only": detail.extra_query,
            "name2_only": detail.extra_listed,
            "legal_forms_ignored": {"name1": list(na.legal_forms), "name2": list(nb.legal_forms)},
            "weights": "token rarity in the loaded lists" if idf is not None else "equal",
        },
        "algorithm": "default",
    }
