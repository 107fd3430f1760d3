"""Candidate retrieval: which listed names are worth scoring for a query, never all of them.

Each query token finds vocabulary tokens standing for it (itself, the same phonetic key, a typo
or two away: see index.shapes), each weighted by rarity; joined neighbours find names written as
one word. A name collects, per query token, its best variant's weight; names with too little of
that evidence are not scored. None of this depends on the threshold asked for, so the matches at
a threshold are exactly those of any lower threshold that score at least as much. Misspelt
legal-form words in the query are corrected first, so the legal form is set aside as in a listed
name.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from compliance.matching.given_names import variants_of
from compliance.matching.index import MIN_TYPO_LEN, MatchIndex, shapes
from compliance.matching.normalize import LEGAL_WORDS, NormName, normalize_name, phonetic_key
from compliance.matching.tokens import token_sim

MAX_POSTING = 1000  # tokens listed more often than this do not pull candidates on their own
MAX_CANDIDATES = 30  # listed names scored per query, best retrieval evidence first
# A listed name whose tokens cover less than this share of the query's weight cannot reach a
# match score, so it is not scored at all.
MIN_COVER = 0.35
# A name whose evidence share (see Retriever._promise) is below this is not scored, whatever the
# threshold: the old, threshold-dependent bound of the same shape used 0.73 at threshold 85.
PROMISE_FLOOR = 0.65
MAX_VARIANTS = 20  # look-alike spellings of one query token used to find candidates
CACHE_LIMIT = 200_000  # per-token answers kept (they repeat across a batch of names)

_LEGAL_ABBREVIATIONS = frozenset({"co", "ltd", "llc", "jsc", "ooo", "inc", "corp", "oao", "zao"})
_LEGAL_ALL = LEGAL_WORDS | _LEGAL_ABBREVIATIONS
_LEGAL_TARGETS = sorted(LEGAL_WORDS | {"corp", "gmbh", "ltda"})


class Retriever:
    """Finds candidate names in a MatchIndex; `prune` applies the default scorer's bound."""

    def __init__(self, index: MatchIndex, prune: bool = True) -> None:
        self.index = index
        self.prune = prune
        self._variant_cache: dict[tuple[str, bool], list[tuple[str, float]]] = {}
        self._unknown_weight: dict[str, float] = {}

    def variants(self, t: str, exact_only: bool = False) -> list[tuple[str, float]]:
        """Vocabulary tokens standing for query token `t`, each with its retrieval weight."""
        key = (t, exact_only)
        hit = self._variant_cache.get(key)
        if hit is not None:
            return hit
        idx = self.index
        found: dict[str, float] = {}
        if t in idx.postings:
            found[t] = 1.0
        if not exact_only:
            for v in variants_of(t):  # Vova finds Vladimir, Md finds Muhammad
                if v in idx.postings:
                    found.setdefault(v, token_sim(t, v)[0])
        if not exact_only and len(t) >= 3:
            near: dict[str, float] = {}
            for v in idx.by_phonetic.get(phonetic_key(t), ()):
                sim, _how = token_sim(t, v)  # the scorer's own test, so no junk is retrieved
                if sim and v != t:
                    near[v] = sim
            if len(t) >= MIN_TYPO_LEN and t.isalpha():
                for v, sim in self.near(t):
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
        if len(self._variant_cache) > CACHE_LIMIT:
            self._variant_cache.clear()
        self._variant_cache[key] = out
        return out

    def candidates(self, q: NormName, raw: str = "") -> list[int]:
        """The listed names worth scoring for `q`, most promising first, at most MAX_CANDIDATES.

        The set does not depend on the threshold asked for: a match shown at one threshold is
        shown at every lower one, with the same score, and the cap is filled the same way.
        """
        toks = list(dict.fromkeys(q.tokens))
        weights = self._found_by(q)
        if not weights:
            return []
        # Initials carry little; an unseen (often misspelt) token weighs as its nearest known one.
        total = sum(1.0 if len(t) == 1 else self.weight(t) for t in toks)
        floor = MIN_COVER * total
        evidence = {n: w for n, w in weights.items() if w >= floor}
        if self.prune:
            evidence = self._promise(evidence, total, any(len(t) == 1 for t in toks))
        return self._ranked(evidence, q.tokens, raw)

    def _found_by(self, q: NormName) -> dict[int, float]:
        """Listed name -> the weight of the query tokens (and joined neighbours) that find it."""
        postings = self.index.postings
        lookups = [self.variants(t) for t in dict.fromkeys(q.tokens)]
        lookups += [
            self.variants(a + b, True) for a, b in zip(q.tokens, q.tokens[1:], strict=False)
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
        return weights

    def _ranked(self, evidence: dict[int, float], qt: tuple[str, ...], raw: str) -> list[int]:
        """The listed names equal to the query (once normalised, then as written) first, then
        by evidence, then the name with the least left over: the cap must never drop an exact
        match, which scores 100. Past half the cap, one name per entity."""
        name_weight, names = self.index.name_weight, self.index.names
        ranked = sorted(
            evidence,
            key=lambda n: (
                names[n].norm.tokens != qt,
                names[n].name != raw,
                -evidence[n],
                name_weight[n],
                n,  # ties broken by list order, never by hash order: same answer every run
            ),
        )
        out: list[int] = []
        seen_entities: set[int] = set()
        for n in ranked:
            e = names[n].entity
            if e in seen_entities and len(out) >= MAX_CANDIDATES // 2:
                continue
            seen_entities.add(e)
            out.append(n)
            if len(out) >= MAX_CANDIDATES:
                break
        return out

    def _promise(
        self, weights: dict[int, float], total: float, has_initials: bool
    ) -> dict[int, float]:
        """Each name's share of the evidence if the query tokens that found it matched it
        perfectly and what is left over on either side counted half (initials find nothing
        but may cover listed given names, so then only the query's side is charged). Names
        below PROMISE_FLOOR are dropped: a fixed floor, never the asked threshold."""
        name_weight = self.index.name_weight
        listed_share = 0.0 if has_initials else 0.5
        out = {}
        for n, w in weights.items():
            bound = 2 * w + 0.5 * max(total - w, 0.0) + listed_share * max(name_weight[n] - w, 0.0)
            share = 2 * w / bound if bound > 0 else 0.0
            if share >= PROMISE_FLOOR:
                out[n] = share
        return out

    def near(self, t: str) -> list[tuple[str, float]]:
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

    def fix_legal_typos(self, q: NormName) -> NormName:
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

    def weight(self, token: str) -> float:
        """A token's rarity; an unseen token (often a typo) weighs as its nearest known one."""
        w = self.index.weights.get(token)
        if w is not None:
            return w
        w = self._unknown_weight.get(token)
        if w is None:
            near = [(sim, v) for v, sim in self.near(token)] if token.isalpha() else []
            w = self.index.idf(max(near)[1]) if near else self.index.max_idf
            if len(self._unknown_weight) > CACHE_LIMIT:
                self._unknown_weight.clear()
            self._unknown_weight[token] = w
        return w
