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

import threading

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from compliance.matching.given_names import variants_of
from compliance.matching.index import (
    MIN_TYPO_LEN,
    MatchIndex,
    letter_masks,
    listed_norms,
    shapes,
    words_weight,
)
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
NEAR_CACHE_LIMIT = 50_000  # typo neighbours kept: asked for by variants() and weight() alike
NAMES_CACHE_LIMIT = 4_000_000  # names kept for the per-token answers (16 bytes each)

_LEGAL_ABBREVIATIONS = frozenset({"co", "ltd", "llc", "jsc", "ooo", "inc", "corp", "oao", "zao"})
_LEGAL_ALL = LEGAL_WORDS | _LEGAL_ABBREVIATIONS
_LEGAL_TARGETS = sorted(LEGAL_WORDS | {"corp", "gmbh", "ltda"})


class Retriever:
    """Finds candidate names in a MatchIndex; `prune` applies the default scorer's bound."""

    def __init__(self, index: MatchIndex, prune: bool = True) -> None:
        self.index = index
        self.prune = prune
        self._variant_cache: dict[tuple[str, bool], list[tuple[str, float]]] = {}
        self._weights: dict[str, float] = {}  # known and unseen tokens alike
        self._near: dict[str, list[tuple[str, float]]] = {}
        self._names_cache: dict[tuple[str, bool, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._names_size = 0
        self._local = threading.local()

    def warm(self) -> None:
        """Work screening would do word by word, done at once (about 0.5 s): every vocabulary
        token's phonetic key, and the phonetic table read. For long-running processes."""
        for v in self.index.vocabulary:
            phonetic_key(v)
        by_phonetic = self.index.by_phonetic
        for key in by_phonetic:
            by_phonetic.get(key)

    def variants(self, t: str, exact_only: bool = False) -> list[tuple[str, float]]:
        """Vocabulary tokens standing for query token `t`, each with its retrieval weight."""
        key = (t, exact_only)
        hit = self._variant_cache.get(key)
        if hit is not None:
            return hit
        idx = self.index
        found: dict[str, float] = {}
        if t in idx.token_ids:
            found[t] = 1.0
        if not exact_only:
            for v in variants_of(t):  # Vova finds Vladimir, Md finds Muhammad
                if v in idx.token_ids:
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
            df = idx.posting_size  # names holding the token
            best = sorted(near.items(), key=lambda vs: (-vs[1], -df(vs[0]), vs[0]))[:MAX_VARIANTS]
            found.update(best)
        # A variant is no stronger evidence than the query token itself: a rarer look-alike
        # ("SOBAR" for "SABER") must not outrank the names that hold the token exactly.
        own, weights = idx.idf(t), idx.weights  # every variant is a vocabulary token
        out = sorted(
            ((v, sim * min(weights[v], own)) for v, sim in found.items()),
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
        names, weights = self._found_by(q)
        if not len(names):
            return []
        # Initials carry little; an unseen (often misspelt) token weighs as its nearest known one.
        total = sum(1.0 if len(t) == 1 else self.weight(t) for t in toks)
        keep = weights >= MIN_COVER * total
        names, weights = names[keep], weights[keep]
        if self.prune:
            names, weights = self._promise(names, weights, total, any(len(t) == 1 for t in toks))
        return self._ranked(names, weights, q.tokens, raw)

    def _found_by(self, q: NormName) -> tuple[np.ndarray, np.ndarray]:
        """Listed names, and for each the weight of the query tokens (and joined neighbours)
        that find it: one query token counts once per name, by its best variant there. A name
        may be listed more than once (always with the same weight)."""
        lookups = [(t, False) for t in dict.fromkeys(q.tokens)]
        lookups += [(a + b, True) for a, b in zip(q.tokens, q.tokens[1:], strict=False)]
        sizes = self.index.posting_size
        common_only = all(
            sizes(v) > MAX_POSTING for t, exact in lookups for v, _w in self.variants(t, exact)
        )
        found = [self._names_of(t, exact, common_only) for t, exact in lookups]
        ids = np.concatenate([f[0] for f in found])
        # Summed in a scratch array, lookup by lookup in the query's order (the same floats
        # every run); a name found by several lookups is repeated in `ids`, with its total.
        scratch = self._scratch()
        for names, ws in found:
            scratch[names] += ws  # no name twice within one lookup
        totals = scratch[ids]
        scratch[ids] = 0.0
        return ids, totals

    def _scratch(self) -> np.ndarray:
        """A zeroed array of one number per listed name, this thread's own."""
        scratch: np.ndarray | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = np.zeros(len(self.index.name_weights))
        return scratch

    def _names_of(self, t: str, exact: bool, common: bool) -> tuple[np.ndarray, np.ndarray]:
        """The names query token `t` finds (sorted) and its best variant's weight in each;
        variants listed more than MAX_POSTING times are skipped unless `common`."""
        key = (t, exact, common)
        hit = self._names_cache.get(key)
        if hit is not None:
            return hit
        idx = self.index
        offsets, token_ids, values = idx.posting_offsets, idx.token_ids, idx.posting_values
        spans = []
        for v, w in self.variants(t, exact):  # strongest first
            i = token_ids[v]
            start, end = offsets[i], offsets[i + 1]
            if end - start <= MAX_POSTING or common:
                spans.append((start, end, w))
        if not spans:
            out = (np.empty(0, dtype=np.intp), np.empty(0))
        elif len(spans) == 1:  # a posting list is sorted and holds a name once
            start, end, w = spans[0]
            out = (values[start:end].astype(np.intp), np.full(end - start, w))
        else:
            ids = np.concatenate([values[a:b] for a, b, _w in spans])
            span_of = np.repeat(np.arange(len(spans)), [b - a for a, b, _w in spans])
            # a stable sort keeps each name's first (strongest) variant first among its equals
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            first = np.empty(len(ids), dtype=bool)
            first[0] = True
            np.not_equal(ids[1:], ids[:-1], out=first[1:])
            weights = np.array([w for _a, _b, w in spans])
            out = (ids[first].astype(np.intp), weights[span_of[order[first]]])
        self._names_size += len(out[0]) + 1
        if self._names_size > NAMES_CACHE_LIMIT:
            self._names_cache.clear()
            self._names_size = len(out[0]) + 1
        self._names_cache[key] = out
        return out

    def _ranked(
        self, names: np.ndarray, evidence: np.ndarray, qt: tuple[str, ...], raw: str
    ) -> list[int]:
        """The listed names equal to the query (once normalised, then as written) first, then
        by evidence, then the name with the least left over: the cap must never drop an exact
        match, which scores 100. Past half the cap, one name per entity. Only the names that
        may equal the query are read from the index: those whose words weigh what its do."""
        idx = self.index
        listed_weight = idx.name_weights[names]
        exact = np.zeros(len(names), dtype=bool)
        for tokens in self._exact_forms(qt, raw):
            if tokens and all(t in idx.weights for t in tokens):
                exact |= listed_weight == words_weight(tokens, idx.weights.__getitem__)
        first: list[tuple[bool, bool, float, float, int]] = []
        for n, ev, nw in zip(names[exact].tolist(), evidence[exact].tolist(),
                             listed_weight[exact].tolist(), strict=True):  # fmt: skip
            entry = idx.names[n]
            first.append((entry.norm.tokens != qt, entry.name != raw, -ev, nw, n))
        first.sort()
        # ties broken by list order, never by hash order: same answer every run
        order = np.lexsort((names, listed_weight, -evidence))
        ranked = [key[-1] for key in first if not (key[0] and key[1])]  # equal in some way
        ranked += names[order].tolist()
        name_entity = idx.name_entity
        out: list[int] = []
        taken: set[int] = set()
        seen_entities: set[int] = set()
        for n in ranked:
            if n in taken:
                continue  # a name found by several lookups, or an exact one met again
            e = name_entity[n]
            if e in seen_entities and len(out) >= MAX_CANDIDATES // 2:
                continue
            seen_entities.add(e)
            taken.add(n)
            out.append(n)
            if len(out) >= MAX_CANDIDATES:
                break
        return out

    @staticmethod
    def _exact_forms(qt: tuple[str, ...], raw: str) -> dict[tuple[str, ...], None]:
        """The words a listed name has when it equals the query: once normalised, or as written
        (a listed name is indexed as index.listed_norms reads it)."""
        forms = {qt: None}
        if raw:
            for person in (False, True):
                forms.update(dict.fromkeys(n.tokens for n in listed_norms(raw, person)))
        return forms

    def _promise(
        self, names: np.ndarray, weights: np.ndarray, total: float, has_initials: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each name's share of the evidence if the query tokens that found it matched it
        perfectly and what is left over on either side counted half (initials find nothing
        but may cover listed given names, so then only the query's side is charged). Names
        below PROMISE_FLOOR are dropped: a fixed floor, never the asked threshold."""
        listed_share = 0.0 if has_initials else 0.5
        listed = self.index.name_weights[names]
        bound = (
            2 * weights
            + 0.5 * np.maximum(total - weights, 0.0)
            + listed_share * np.maximum(listed - weights, 0.0)
        )
        share = np.divide(2 * weights, bound, out=np.zeros_like(bound), where=bound > 0)
        keep = share >= PROMISE_FLOOR
        return names[keep], share[keep]

    def near(self, t: str) -> list[tuple[str, float]]:
        """Vocabulary tokens within a typo or two of `t` (see index.shapes), closest first."""
        hit = self._near.get(t)
        if hit is None:
            hit = self._near_uncached(t)
            if len(self._near) > NEAR_CACHE_LIMIT:
                self._near.clear()
            self._near[t] = hit
        return hit

    def _near_uncached(self, t: str) -> list[tuple[str, float]]:
        idx = self.index
        keys, offsets, values, masks = idx.shape_table
        allowed = 1 if len(t) <= 5 else 2 if len(t) <= 8 else 3
        # a middle edit only hides both ends of a short word: then its ends' key too
        kinds = 3 if len(t) <= 6 else 2
        spans = []
        for n in range(len(t) - allowed, len(t) + allowed + 1):
            for key in shapes(t, n)[:kinds]:
                i = keys.get(key)
                if i is not None:
                    spans.append((offsets[i], offsets[i + 1]))
        if not spans:
            return []
        ids = np.concatenate([values[a:b] for a, b in spans])
        held = np.concatenate([masks[a:b] for a, b in spans])
        # only words close enough in the letters they hold can be close enough in spelling
        once, twice = letter_masks(t)
        bits = np.bitwise_count(held[:, 0] ^ np.uint64(once))
        bits += np.bitwise_count(held[:, 1] ^ np.uint64(twice))
        vocab = idx.vocabulary
        pool = [vocab[i] for i in ids[bits <= 2 * allowed].tolist()]
        if not pool:
            return []
        # one distance per pool word, in C: rapidfuzz's cdist into an array
        distances = cdist([t], pool, scorer=OSA.distance, score_cutoff=allowed, dtype=np.int32)
        out = []
        for v in dict.fromkeys([pool[i] for i in np.flatnonzero(distances[0] <= allowed)]):
            sim, _how = token_sim(t, v)
            if sim and v != t:
                out.append((v, sim))
        out.sort(key=lambda vs: (-vs[1], vs[0]))  # never the pool's order
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
        w = self._weights.get(token)
        if w is None:
            w = self.index.weights.get(token)
            if w is None:
                near = [(sim, v) for v, sim in self.near(token)] if token.isalpha() else []
                w = self.index.idf(max(near)[1]) if near else self.index.max_idf
            if len(self._weights) > CACHE_LIMIT:
                self._weights.clear()
            self._weights[token] = w
        return w
