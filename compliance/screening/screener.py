"""The Screener: one loaded index, the scoring rules, and the merging of one listing published
by several sources into one Match."""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compliance.matching import cjk
from compliance.matching.features import load_model
from compliance.matching.index import EntityInfo, MatchIndex, load_index
from compliance.matching.normalize import MAX_TOKENS, NormName, normalize_id, normalize_name
from compliance.matching.ofac import ofac_score
from compliance.matching.retrieve import Retriever
from compliance.matching.score import NameScore, score_names, to_score
from compliance.policy import DECISION_RANK, Hit
from compliance.screening.match import Match, Qualifier, ScreenResult
from compliance.screening.query import (
    ALGORITHMS,
    DEFAULT_THRESHOLD,
    MAX_NAME_LENGTH,
    Query,
    ScreeningError,
    check_country,
    check_dob,
    check_name,
    check_type,
)
from compliance.screening.scored import Scored, evidence, explanation, identified
from compliance.sources import policy_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

COUNTRY_PENALTY = 10.0  # --algorithm ofac only: points off for a contradicting country
BIRTH_PENALTY = 15.0  # --algorithm ofac only: points off for a contradicting birth year


@dataclass
class _Seen:
    """What one query has scored so far: by its rendering (id), the listed words and legal
    forms and whether the party is a person (all that scoring reads of a listed name); and the
    query read as a person's name, made once."""

    scores: dict[tuple[Any, ...], NameScore] = field(default_factory=dict)
    people: dict[int, NormName] = field(default_factory=dict)

    def as_person(self, q: NormName) -> NormName:
        person = self.people.get(id(q))
        if person is None:
            person = self.people[id(q)] = q.as_person()
        return person


class Screener:
    """A loaded index plus the scoring rules. Build once, screen many."""

    def __init__(
        self, index: MatchIndex, algorithm: str = "default", lists: list[str] | None = None
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ScreeningError(f"unknown algorithm {algorithm!r}; use one of {ALGORITHMS}")
        self.index = index
        self.retriever = Retriever(index, prune=algorithm == "default")
        self.algorithm = algorithm
        self.lists = set(lists) if lists else None
        self._hits: dict[int, Hit] = {}
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

    def warm(self) -> Screener:
        """Load every table screening may need (the Chinese ones take about 1 s) now, so that
        no later query pays for it: for servers and benchmarks; a one-off screen need not."""
        cjk.warm()
        self.retriever.warm()
        for name in ("warm up", "Vova Petrov", "Acme Trading Co., Ltd."):
            self.screen(Query(name=name))
        gc.freeze()  # as loading the index does: these tables live as long as the process
        return self

    def _name_score(
        self, query: str, q: NormName, n: int, seen: _Seen | None = None
    ) -> tuple[float, NameScore | None, str]:
        """Query name `q` against listed name `n`. `seen`: what this query has scored so far
        (the same person or company is often listed alike by several sources)."""
        entry = self.index.names[n]
        if self.algorithm == "ofac":
            r = ofac_score(query, entry.name)
            return r.score, None, r.explanation
        person = self.index.entity_type(entry.entity) == "person"
        c = entry.norm
        key = (id(q), person, c.tokens, c.legal_forms)  # all of `c` that scoring reads
        detail = seen.scores.get(key) if seen is not None else None
        if detail is None:
            if person:
                q = seen.as_person(q) if seen is not None else q.as_person()
            detail = score_names(q, c, self.retriever.weight, person)
            if seen is not None:
                seen.scores[key] = detail
        return detail.score, detail, ""

    def screen(self, query: Query, threshold: float | None = None, limit: int = 10) -> ScreenResult:
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        qtype = check_type(query.type)
        qcountry = check_country(query.country)
        qyear, qdate = check_dob(query.dob)
        if len(query.name or "") > MAX_NAME_LENGTH:
            raise ScreeningError(
                f"the name is {len(query.name):,} characters long; a name has at most "
                f"{MAX_NAME_LENGTH:,}: check the column holds names"
            )
        read = normalize_name(query.name or "")
        q = self.retriever.fix_legal_typos(read)
        if not query.id:
            check_name(query.name, q)
        idx = self.index
        best: dict[int, Scored] = {}
        seen = _Seen()
        for form in q.forms if q.tokens else ():  # a Chinese name has several renderings
            for n in self.retriever.candidates(form, query.name):
                e = idx.names[n].entity
                if not self._wanted(e, qtype):
                    continue
                s, detail, expl = self._name_score(query.name, form, n, seen)
                cur = best.get(e)
                if cur is None or s > cur.name_score:
                    best[e] = Scored(e, n, s, detail, expl)
        if query.id:
            for e in idx.by_id.get(normalize_id(query.id), ()):
                n = idx.primary_name[e]
                if e not in best and n >= 0:
                    s, detail, expl = (
                        self._name_score(query.name, q, n) if q.tokens else (0.0, None, "")
                    )
                    best[e] = Scored(e, n, s, detail, expl)
        scored: list[Scored] = []
        for sc in best.values():
            if not self._wanted(sc.entity, qtype):
                continue
            self._qualify(sc, qcountry, qyear, qdate, query.id)
            if qtype and idx.entity_type(sc.entity) == qtype and sc.logit is not None:
                self._add_qualifier(sc, "type", "type_agree", f"type {qtype} agrees")
            if sc.score >= threshold:
                scored.append(sc)
        matches = self._merge(scored, limit)
        if read.truncated:
            for m in matches:
                m.explanation += f"; only the first {MAX_TOKENS} words of the name were compared"
        return ScreenResult(query, matches, threshold, self.algorithm)

    def _hit(self, e: EntityInfo) -> Hit:
        """What a sure hit on the entry means, by its list's policy (kept per entry)."""
        hit = self._hits.get(e.id)
        if hit is None:
            hit = self._hits[e.id] = policy_of(e.source).hit(e.lists, e.fields)
        return hit

    def _wanted(self, e: int, qtype: str | None) -> bool:
        """Entity `e` is of the asked type (or of unknown type) and on one of the asked lists."""
        if qtype and self.index.entity_type(e) not in ("unknown", qtype):
            return False
        return not self.lists or self._in_lists(self.index.entities[e])

    def _in_lists(self, ent: EntityInfo) -> bool:
        assert self.lists is not None
        return any(
            self.index.entities[m].source in self.lists for m in self.index.groups[ent.group]
        )

    def _qualify(
        self,
        sc: Scored,
        country: str | None,
        year: int | None,
        date: str | None,
        ident: str | None,
    ) -> None:
        """Identifier, country and birth date against the listing. Default algorithm: each adds
        its model weight to the name's logit; ofac: points off the name score."""
        if sc.detail is not None:
            sc.logit = sc.detail.logit
        sc.score = sc.name_score
        if ident or country or year:  # only then is the listed entry read
            ent = self.index.entities[sc.entity]
            if ident and identified(sc, ent, ident):
                return
            self._compare_facts(sc, ent, country, year, date)
        sc.score = round(max(0.0, min(100.0, sc.score)), 1)

    def _compare_facts(
        self, sc: Scored, ent: EntityInfo, country: str | None, year: int | None, date: str | None
    ) -> None:
        """The country and the birth date asked about against the listing's, each a qualifier."""
        if country and ent.countries:
            if country in ent.countries:
                self._add_qualifier(
                    sc, "country", "country_agree", f"country {country} agrees with the listing"
                )
            else:
                self._add_qualifier(
                    sc,
                    "country",
                    "country_conflict",
                    f"country {country} contradicts listed {', '.join(ent.countries)}",
                    COUNTRY_PENALTY,
                )
        if year and ent.birth_years:
            if date and date in ent.births:
                self._add_qualifier(sc, "dob", "dob_agree", f"date of birth {date} agrees")
            elif any(abs(y - year) <= 1 for y in ent.birth_years):
                self._add_qualifier(sc, "dob", "dob_agree", f"birth year {year} agrees (±1)")
            else:
                self._add_qualifier(
                    sc,
                    "dob",
                    "dob_conflict",
                    f"birth year {year} contradicts listed {', '.join(sorted(set(ent.births)))}",
                    BIRTH_PENALTY,
                )

    def _add_qualifier(
        self, sc: Scored, field: str, feature: str, detail: str, ofac_points: float = 0.0
    ) -> None:
        """One qualifier: its model weight added to the logit (default algorithm) or, for the
        ofac algorithm, `ofac_points` off a contradiction; the effect is said in points."""
        before = sc.score
        qualifier = Qualifier(field, detail, 0.0)
        if sc.logit is not None:
            weight = load_model().weight(feature)
            sc.logit += weight
            sc.score = to_score(sc.logit)
            qualifier.feature, qualifier.weight = feature, weight
        else:
            sc.score -= ofac_points
        qualifier.effect = round(sc.score - before, 1)
        sc.qualifiers.append(qualifier)

    def _merge(self, scored: list[Scored], limit: int) -> list[Match]:
        idx = self.index
        by_group: dict[int, list[Scored]] = defaultdict(list)
        for sc in scored:
            by_group[idx.entities[sc.entity].group].append(sc)
        matches = []
        for group_hits in by_group.values():
            group_hits.sort(key=lambda s: (-s.score, _source_rank(idx.entities[s.entity].source)))
            top = group_hits[0]
            members = [idx.entities[m] for m in idx.groups[idx.entities[top.entity].group]]
            members.sort(key=lambda e: _source_rank(e.source))
            matches.append(self._to_match(top, members))
        matches.sort(key=lambda m: (-m.score, _source_rank(m.source), m.source_id))
        return matches[: max(limit, 0)] if limit else matches

    def _to_match(self, sc: Scored, members: list[EntityInfo]) -> Match:
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
        hits = [self._hit(m) for m in members]
        deciding = max(hits, key=lambda h: DECISION_RANK[h.decision])  # members are ranked
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
            explanation=explanation(sc, entry),
            features=evidence(sc, entry),
            snapshot=idx.snapshots.get(ent.snapshot_id, {}),
            entity_id=ent.id,
            content_hash=ent.content_hash,
            sources=[
                {
                    "source": m.source,
                    "source_id": m.source_id,
                    "snapshot": idx.snapshots.get(m.snapshot_id, {}),
                    "list_name": h.list_name,
                    "decision": h.decision,
                }
                for m, h in zip(members, hits, strict=True)
            ],
            list_name=deciding.list_name,
            sub_lists=list(dict.fromkeys(name for h in hits for name in h.sub_lists)),
            decision=deciding.decision,
            category=deciding.category,
        )


def _source_rank(source: str) -> tuple[int, str]:
    """Where a source's entries come when several are shown: its policy's rank."""
    return policy_of(source).rank, source


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
