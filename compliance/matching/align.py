"""Which words of two names stand for each other: a greedy one-to-one alignment (identical
words first, then the most alike), words one name splits that the other joins (ABDEL KARIM /
ABDELKARIM), and patronymic chains that make a parent of the other name's child.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from compliance.matching.features import CONNECTORS
from compliance.matching.tokens import token_sim

Pair = tuple[int, int, float, str]  # query position, listed position, similarity, how


def align(
    qt: tuple[str, ...], ct: tuple[str, ...], person: bool = False
) -> tuple[list[Pair], list[int], list[int]]:
    """Greedy one-to-one alignment, most similar first (ties: nearest position). A person's
    names are not written abbreviations: REZA is not short for REZAEI."""
    # Identical words first (only they are similar 1.0), then the others among what is left:
    # the same pairs as one greedy pass over every pair, without comparing the words paired.
    if qt == ct:
        return [(i, i, 1.0, "exact") for i in range(len(qt))], [], []
    pairs: list[Pair] = []
    used_q: set[int] = set()
    used_c: set[int] = set()
    if not set(qt).isdisjoint(ct):
        where: dict[str, list[int]] = {}
        for j, b in enumerate(ct):
            where.setdefault(b, []).append(j)
        exact = sorted((abs(i - j), i, j) for i, a in enumerate(qt) if a in where for j in where[a])
        for _gap, i, j in exact:
            if i not in used_q and j not in used_c:
                used_q.add(i)
                used_c.add(j)
                pairs.append((i, j, 1.0, "exact"))
    rest_q = [i for i in range(len(qt)) if i not in used_q]
    rest_c = [j for j in range(len(ct)) if j not in used_c]
    if not rest_q or not rest_c:
        return pairs, rest_q, rest_c
    cand: list[tuple[float, int, int, int, str]] = []
    for i in rest_q:
        a = qt[i]
        for j in rest_c:
            s, how = token_sim(a, ct[j])
            if s > 0 and not (person and how == "abbreviation"):
                cand.append((-s, abs(i - j), i, j, how))
    if not cand:
        return pairs, rest_q, rest_c
    cand.sort()
    for neg, _gap, i, j, how in cand:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append((i, j, -neg, how))
    return pairs, [i for i in rest_q if i not in used_q], [j for j in rest_c if j not in used_c]


JOIN_MIN = 0.85  # a run of words joined must be this close to the other name's one word


def rejoin(tokens: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    """Runs of two or three words of `tokens` that the `other` name writes as one word
    (ABDEL KARIM / ABDELKARIM, ABD AL RAHMAN / ABDULRAHMAN) joined into that word's spelling,
    when no word of the run is in the other name as it stands."""
    mine = set(tokens)
    long_words = [o for o in other if len(o) >= 6 and o not in mine]
    if not long_words:
        return tokens  # every long word of the other name is here as it stands
    present = set(other)
    firsts = {o[0] for o in long_words}
    out = list(tokens)
    i = 0
    while i < len(out) - 1:
        for size in (3, 2):
            run = out[i : i + size]
            if len(run) < size or run[0][0] not in firsts or present.intersection(run):
                continue
            joined = "".join(run)
            n = len(joined)
            best = max(((token_sim(joined, o)[0], o) for o in long_words
                        if o[0] == joined[0] and abs(len(o) - n) <= 3
                        and Levenshtein.distance(joined, o, score_cutoff=3) <= 3),
                       default=(0.0, ""))  # fmt: skip
            if best[0] >= JOIN_MIN and best[1] not in out:
                out[i : i + size] = [joined]
                break
        i += 1
    return tuple(out)


def _fathers(tokens: tuple[str, ...]) -> set[str]:
    """The names a chain says are a parent's: the word after each BIN / IBN / OULD."""
    return {tokens[i + 1] for i in range(len(tokens) - 1) if tokens[i] in CONNECTORS}


def chain_conflict(qt: tuple[str, ...], ct: tuple[str, ...]) -> bool:
    """A name that is the parent's in one chain and not in the other: KHALID BIN HAMAD is not
    HAMAD BIN KHALID (BIN SALMAN, MUHAMMAD is MUHAMMAD BIN SALMAN)."""
    fq, fc = _fathers(qt), _fathers(ct)
    if not fq or not fc or fq == fc:
        return False
    return bool((fq - fc) & set(ct)) or bool((fc - fq) & set(qt))
