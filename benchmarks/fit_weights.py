"""Fit the name model's weights (data/match_weights.json) by logistic regression, offline, on the
TRAINING side of the held-out split only (eval_screening.held_out: by listed entity and by
reference name), plus the hand-labelled pairs of benchmarks/data/pairs_train.csv.

Training rows are what screening really scores: for each training query (a varied listed name of
a training entity, or a real unlisted name of the training side), every candidate the retriever
returns, best name per listed entity, labelled 1 when it is the entity the query was made from
(or the same listing published by another source) and 0 otherwise. Plain-Python Newton steps
(no numpy needed), L2-regularised; two rounds, because which of an entity's names scores best
depends on the weights.

    .venv/bin/python benchmarks/fit_weights.py [--db /tmp/eval.db] [--positives 6000]
        [--negatives 6000] [--seed 3] [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_screening as E  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "data" / "match_weights.json"
PAIRS = Path(__file__).resolve().parent / "data"
PAIR_WEIGHT = 5.0  # a hand-labelled pair counts as this many generated rows
L2 = 0.1
# Rows near the decision are the ones that matter: per unlisted name its HARDEST candidates,
# per varied listed name its true entity and its hardest other candidates (by the current model).
HARD_NEGATIVES = 5
HARD_OTHERS = 3
# The score's scale: the intercept is shifted so that, on the TRAINING queries, this share of
# the unlisted names reaches the default threshold (what "sure enough to review" means).
TARGET_FPR = 0.015


def candidate_rows(screener: Any, case: E.Case, model: Any) -> list[tuple[dict[str, float], int]]:
    """(features, label) of each listed entity the retriever offers for the case's query."""
    from compliance.matching.normalize import normalize_name
    from compliance.matching.score import logit, name_features

    retriever, idx = screener.retriever, screener.index
    q = retriever.fix_legal_typos(normalize_name(case.query))
    if not q.tokens or len(case.query) > 1000:
        return []
    best: dict[int, tuple[float, dict[str, float]]] = {}
    for n in retriever.candidates(q, case.query):
        entry = idx.names[n]
        ent = idx.entities[entry.entity]
        person = ent.type == "person"
        qq = q.as_person() if person else q
        f, detail = name_features(qq, entry.norm, retriever.weight, person)
        z = 99.0 if detail.identical else logit(f, model)
        if entry.entity not in best or z > best[entry.entity][0]:
            best[entry.entity] = (z, f)
    rows = []
    for e, (_z, f) in best.items():
        members = idx.groups[idx.entities[e].group]
        keys = {(idx.entities[m].source, str(idx.entities[m].source_id)) for m in members}
        rows.append((f, int(bool(keys & case.accepted))))
    return rows


def reversed_chain(case: E.Case) -> bool:
    """A generated variant that reversed a patronymic chain (KHALID BIN HAMAD shuffled into
    HAMAD BIN KHALID) names another person: not a positive to learn from."""
    from compliance.matching.align import chain_conflict
    from compliance.matching.normalize import normalize_name

    return chain_conflict(normalize_name(case.query).tokens, normalize_name(case.original).tokens)


def hardest(
    positive: bool, rows: list[tuple[dict[str, float], int]], model: Any
) -> list[tuple[dict[str, float], int]]:
    from compliance.matching.score import logit

    others = sorted((r for r in rows if not r[1]), key=lambda r: -logit(r[0], model))
    return [r for r in rows if r[1]] + others[: HARD_OTHERS if positive else HARD_NEGATIVES]


_CONNECT = {"BIN", "IBN", "BINT", "OULD", "BEN"}


def hard_negative(name: str) -> str | None:
    """A name made from a listed one that names another party: the patronymic chain reversed
    (SALMAN BIN MUHAMMAD -> MUHAMMAD BIN SALMAN), another number (II -> III); another legal
    form is other_legal_form's."""
    words = name.replace(",", " ").split()
    up = [w.upper() for w in words]
    for i in range(1, len(words) - 1):
        if up[i] in _CONNECT and up[i - 1] != up[i + 1]:
            return " ".join(
                [*words[: i - 1], words[i + 1], words[i], words[i - 1], *words[i + 2 :]]
            )
    for i, w in enumerate(up):
        if w.isdigit():
            return " ".join([*words[:i], str(int(w) + 1), *words[i + 1 :]])
        if w in ("II", "III", "IV"):
            return " ".join(
                [*words[:i], {"II": "III", "III": "IV", "IV": "II"}[w], *words[i + 1 :]]
            )
    return None


_FORM_OF_ANOTHER_KIND = {"LTD": "AG", "LLC": "GmbH", "JSC": "Ltd", "CORP": "GmbH", "INC": "AG",
                         "AG": "Ltd", "GMBH": "Inc", "SA": "GmbH", "PVT": "AG"}  # fmt: skip


def other_legal_form(name: str) -> str | None:
    """The listed organisation's name with its legal form replaced by one of another kind,
    wherever it stands (OOO ROSTEKH -> ROSTEKH GmbH): in another country, another company."""
    from compliance.matching.normalize import normalize_name

    norm = normalize_name(name)
    kinds = [k for k in norm.legal_forms if k in _FORM_OF_ANOTHER_KIND]
    if not kinds or not norm.tokens:
        return None
    return " ".join(norm.tokens).upper() + " " + _FORM_OF_ANOTHER_KIND[kinds[0]]


_GENERIC = ("GROUP", "TRADING", "INTERNATIONAL", "HOLDING", "INDUSTRIES", "SERVICES", "GLOBAL")


def generic_negative(name: str, weights: dict[str, float], rng: Any) -> str | None:
    """A name of common words only with one of them swapped for another common word: GLOBAL
    TRADING GROUP -> GLOBAL TRADING SERVICES (another company as far as the name can tell)."""
    from compliance.matching.features import COMMON_WEIGHT
    from compliance.matching.normalize import normalize_name

    toks = normalize_name(name).tokens
    if len(toks) < 2 or any(weights.get(t, 99.0) >= COMMON_WEIGHT for t in toks):
        return None
    words = [t.upper() for t in toks]
    i = rng.randrange(len(words))
    words[i] = rng.choice([g for g in _GENERIC if g != words[i]])
    return " ".join(words)


def hard_negatives(listed: list[Any], seed: int, weights: dict[str, float]) -> list[E.Case]:
    """Queries that look like a TRAINING listed name but name another party (all labels 0)."""
    import random

    rng = random.Random(f"{seed}:hard")
    cases = []
    for rec in listed:
        if not E.in_split(E.V.norm_key(rec.primary), "train"):
            continue
        q = hard_negative(rec.primary) or generic_negative(rec.primary, weights, rng)
        if q and E.V.norm_key(q) != E.V.norm_key(rec.primary) and rng.random() < 0.5:
            cases.append(E.Case("hard_negative", q, rec.primary, None, set(), "hard"))
        other = other_legal_form(rec.primary)
        if other and other != q and rng.random() < 0.5:
            cases.append(E.Case("hard_negative", other, rec.primary, None, set(), "hard"))
    return cases


def pair_rows(path: Path, index: Any) -> list[tuple[dict[str, float], int]]:
    """(features, label) of the hand-labelled pairs (name1, name2, type, label)."""
    from compliance.matching.normalize import normalize_name
    from compliance.matching.retrieve import Retriever
    from compliance.matching.score import name_features

    weight = Retriever(index, prune=False).weight
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            a, b = normalize_name(rec["name1"]), normalize_name(rec["name2"])
            person = rec.get("type") == "person"
            if person:
                a, b = a.as_person(), b.as_person()
            if a.tokens and b.tokens:
                f, _detail = name_features(a, b, weight, person)
                rows.append((f, int(rec["label"])))
    return rows


def fit(
    rows: list[tuple[dict[str, float], int, float]], names: list[str], start: list[float]
) -> list[float]:
    """L2-regularised logistic regression by damped Newton steps; [intercept, *weights]."""
    counted: Counter[tuple[tuple[float, ...], int]] = Counter()
    for f, y, w in rows:
        counted[(tuple(round(f.get(k, 0.0), 3) for k in names), y)] += w
    data = [((1.0, *x), y, w) for (x, y), w in counted.items()]
    d = len(names) + 1
    beta = list(start)
    loss = _loss(data, beta)
    for step in range(40):
        grad = [0.0] * d
        hess = [[0.0] * d for _ in range(d)]
        for x, y, w in data:
            z = sum(b * v for b, v in zip(beta, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(min(z, 35.0), -35.0)))
            g, h = w * (p - y), w * p * (1 - p)
            nz = [(i, v) for i, v in enumerate(x) if v]
            for i, vi in nz:
                grad[i] += g * vi
                row = hess[i]
                for j, vj in nz:
                    row[j] += h * vi * vj
        for i in range(1, d):
            grad[i] += L2 * beta[i]
            hess[i][i] += L2
        hess[0][0] += 1e-6
        delta = _solve(hess, grad)
        t = 1.0
        while t > 1e-4:  # halve the step until the loss goes down
            trial = [b - t * s for b, s in zip(beta, delta, strict=True)]
            new_loss = _loss(data, trial)
            if new_loss <= loss:
                break
            t /= 2
        else:
            break
        size = t * max(abs(s) for s in delta)
        beta, gain, loss = trial, loss - new_loss, new_loss
        print(f"  newton step {step + 1}: loss {loss:,.1f}, largest change {size:.4f}")
        if size < 1e-4 or gain < 1e-6 * loss:
            break
    return beta


def fit_signed(
    rows: list[tuple[dict[str, float], int, float]],
    names: list[str],
    signs: dict[str, str],
    raw: dict[str, Any],
) -> tuple[float, dict[str, float]]:
    """The fit with each feature's declared sign kept ("-": evidence against a match can only
    lower the score; "+": evidence for it only raise it), by an active set: a weight that comes
    out with the wrong sign is held at 0 and the others are fitted again, until none does."""
    held: set[str] = set()
    while True:
        free = [k for k in names if k not in held]
        start = [raw["intercept"], *(raw["features"][k]["weight"] for k in free)]
        beta = fit(rows, free, [0.0 if i and (free[i - 1] in held) else b
                               for i, b in enumerate(start)])  # fmt: skip
        weights = dict(zip(free, beta[1:], strict=True))
        wrong = [
            k for k, b in weights.items()
            if (signs.get(k) == "-" and b > 0) or (signs.get(k) == "+" and b < 0)
        ]  # fmt: skip
        if not wrong:
            print(f"  held at 0 for their sign: {', '.join(sorted(held)) or 'none'}")
            return beta[0], {k: weights.get(k, 0.0) for k in names}
        worst = max(wrong, key=lambda k: abs(weights[k]))  # one at a time: the others may settle
        held.add(worst)
        print(f"  {worst} came out {weights[worst]:+.3f} against its sign: held at 0, fit again")


def _loss(data: list[tuple[tuple[float, ...], int, float]], beta: list[float]) -> float:
    total = 0.5 * L2 * sum(b * b for b in beta[1:])
    for x, y, w in data:
        z = sum(b * v for b, v in zip(beta, x, strict=True))
        # log(1 + e^-z) for a match, log(1 + e^z) otherwise, without overflow
        m = -z if y else z
        total += w * (m + math.log1p(math.exp(-m)) if m > 0 else math.log1p(math.exp(m)))
    return total


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the Hessian is small)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            k = m[r][c] / m[c][c]
            for j in range(c, n + 1):
                m[r][j] -= k * m[c][j]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][j] * x[j] for j in range(r + 1, n))) / m[r][r]
    return x


def best_logits(
    per_query: list[tuple[bool, list[tuple[dict[str, float], int]]]], model: Any
) -> tuple[list[float], list[float]]:
    """Per training query: the true entity's logit (positives) / the best logit (negatives)."""
    from compliance.matching.score import logit

    pos, neg = [], []
    for positive, rows in per_query:
        if positive:
            pos.append(max((logit(f, model) for f, y in rows if y), default=-math.inf))
        else:
            neg.append(max((logit(f, model) for f, _y in rows), default=-math.inf))
    return pos, neg


def scale_shift(neg: list[float], threshold: float) -> float:
    """The intercept shift that puts TARGET_FPR of the training negatives at the threshold."""
    ranked = sorted(neg, reverse=True)
    k = max(int(TARGET_FPR * len(ranked)), 1)
    cut = (ranked[k - 1] + ranked[k]) / 2 if len(ranked) > k else ranked[-1]
    p = threshold / 100
    return math.log(p / (1 - p)) - cut


def query_figures(
    per_query: list[tuple[bool, list[tuple[dict[str, float], int]]]], model: Any, threshold: float
) -> tuple[float, float]:
    """(recall, false-positive rate) at `threshold` over the training queries."""
    from compliance.matching.score import NAME_LOGIT_MAX, logit, to_score

    def score(f: dict[str, float]) -> float:
        return to_score(min(logit(f, model), NAME_LOGIT_MAX))

    pos = [rows for positive, rows in per_query if positive]
    neg = [rows for positive, rows in per_query if not positive]
    hits = sum(any(y and score(f) >= threshold for f, y in rows) for rows in pos)
    fps = sum(any(score(f) >= threshold for f, _y in rows) for rows in neg)
    return hits / max(len(pos), 1), fps / max(len(neg), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database file to load into / reuse (default: a temp file)")
    ap.add_argument("--positives", type=int, default=6000)
    ap.add_argument("--negatives", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dry-run", action="store_true", help="print the weights, do not write them")
    args = ap.parse_args(argv)

    url, _ = E.load_database(args.db, E.MIRROR)
    os.environ.setdefault("COMPLIANCE_CACHE", tempfile.mkdtemp(prefix="fit-index-cache-"))
    from compliance.matching.features import parse_model
    from compliance.screening import DEFAULT_THRESHOLD, Screener
    from compliance.store.db import get_engine

    engine = get_engine(url)
    screener = Screener.load(engine)
    listed = E.read_listed(engine)
    links = E.link_duplicates(listed)
    positives = E.build_positives(listed, links, args.positives, args.seed, "train")
    positives = [c for c in positives if not reversed_chain(c)]
    negatives, excluded = E.build_negatives(listed, args.negatives, args.seed, "train")
    hard_cases = hard_negatives(listed, args.seed, screener.index.weights)
    print(
        f"training queries: {len(positives)} positives, {len(negatives)} negatives, "
        f"{len(hard_cases)} hard negatives (train side)"
    )
    raw = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    fitted = [k for k, v in raw["features"].items() if v.get("fitted", True)]
    pairs_path = PAIRS / "pairs_train.csv"
    for round_no in range(1, args.rounds + 1):
        model = parse_model(json.dumps(raw))
        start = time.perf_counter()
        per_query = [(True, candidate_rows(screener, c, model)) for c in positives]
        per_query += [(False, candidate_rows(screener, c, model)) for c in negatives]
        hard = [(False, candidate_rows(screener, c, model)) for c in hard_cases]
        rows = [(f, y, 1.0) for p, qrows in per_query + hard for f, y in hardest(p, qrows, model)]
        # balanced classes: the shape of the model is learnt as much from matches as from the
        # (far more numerous) non-matching candidates
        n_pos = sum(y for _f, y, _w in rows)
        balance = (len(rows) - n_pos) / max(n_pos, 1)
        rows = [(f, y, balance if y else 1.0) for f, y, _w in rows]
        pairs = pair_rows(pairs_path, screener.index) if pairs_path.exists() else []
        rows += [(f, y, PAIR_WEIGHT) for f, y in pairs]
        print(
            f"round {round_no}: {len(rows):,} rows ({n_pos:,} matches, {len(pairs)} labelled "
            f"pairs) in {time.perf_counter() - start:.1f}s"
        )
        signs = {k: raw["features"][k].get("sign", "") for k in fitted}
        intercept, weights = fit_signed(rows, fitted, signs, raw)
        raw["intercept"] = intercept
        for k in fitted:
            raw["features"][k]["weight"] = round(weights[k], 4)
        beta = [intercept]
        _pos, neg = best_logits(per_query, parse_model(json.dumps(raw)))
        shift = scale_shift(neg, DEFAULT_THRESHOLD)
        raw["intercept"] = round(beta[0] + shift, 4)
        print(f"  intercept {beta[0]:+.3f} shifted by {shift:+.3f} (scale: FPR {TARGET_FPR})")
        recall, fpr = query_figures(per_query, parse_model(json.dumps(raw)), DEFAULT_THRESHOLD)
        print(f"  training queries at {DEFAULT_THRESHOLD:g}: recall {recall:.3f}, FPR {fpr:.3f}")
        ceiling = sum(any(y for _f, y in r) for p, r in per_query if p) / max(len(positives), 1)
        print(f"  retrieval ceiling (true entity among the candidates): {ceiling:.3f}")
        final = parse_model(json.dumps(raw))
        pos_logits, _neg = best_logits(per_query, final)
        by_kind: dict[str, list[bool]] = {}
        p85 = math.log(DEFAULT_THRESHOLD / (100 - DEFAULT_THRESHOLD))
        for case, z in zip(positives, pos_logits, strict=True):
            by_kind.setdefault(case.kind, []).append(z >= p85)
        print("  " + ", ".join(f"{k} {sum(v) / len(v):.3f}" for k, v in by_kind.items()))
    raw["fitted_on"] = (
        f"benchmarks/fit_weights.py --positives {args.positives} --negatives {args.negatives} "
        f"--seed {args.seed}: {len(rows):,} candidate rows of {len(positives):,} varied listed "
        f"names and {len(negatives):,} unlisted names of the TRAINING split, plus "
        f"{len(hard_cases):,} hard negatives (patronymic chain reversed, another number, another "
        f"legal form, another common word), {len(pairs)} labelled pairs (pairs_train.csv); "
        f"{len(excluded)} negatives excluded as listed; balanced classes, L2 {L2}; intercept "
        f"shifted so that {TARGET_FPR:.1%} of the training negatives reach the default threshold"
    )
    for k in fitted:
        print(f"  {k:<26} {raw['features'][k]['weight']:+8.3f}  {raw['features'][k]['meaning']}")
    print(f"  {'intercept':<26} {raw['intercept']:+8.3f}")
    if not args.dry_run:
        WEIGHTS.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
