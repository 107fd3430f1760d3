"""Labelled evaluation of the screening engine on the real lists in ../shared/data.

Loads every mirrored list into a scratch SQLite database, samples real listed names (persons,
organisations, vessels, from every source), varies them by kind (typos, word order, legal forms,
transliteration, other scripts ...) and screens them; real non-listed names (Forbes 2000, S&P 500,
common forenames x surnames) are the negatives. Prints recall per kind, false-positive rate,
throughput, index build time and peak memory. Seeded and deterministic.

    .venv/bin/python benchmarks/eval_screening.py [--algorithm ofac] [--threshold N] [--sweep]
        [--dump-failures FILE] [--db PATH] [--positives 3000] [--negatives 3000] [--seed 7]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import importlib
import importlib.util
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import variants as V  # noqa: E402
import variants_more as M  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
MIRROR = DATA / "mirror"
REFERENCE = DATA / "reference"

# kind -> relative share of the positives
KINDS: dict[str, float] = {
    "exact": 0.08,
    "case_punct_diacritics": 0.09,
    "typo_1": 0.11,
    "typo_2": 0.09,
    "word_order": 0.09,
    "missing_middle_initials": 0.08,
    "legal_form": 0.09,
    "legal_form_dropped": 0.05,
    "transliteration": 0.10,
    "other_script": 0.13,
    "other_script_reverse": 0.09,
    "descriptor_added": 0.05,
    "legal_form_misspelt": 0.04,
    "abbreviation": 0.04,
    "title": 0.03,
    "split_join": 0.03,
    "short_translit": 0.03,
    "nickname_ordinal": 0.03,
}
# The held-out split: a listed entity (by its normalised primary name, so one entity published
# by several sources falls on one side) or a reference name is held out when its hash says so.
# benchmarks/fit_weights.py fits on the "train" side only; the evaluation reports both.
HELD_OUT_SHARE = 0.3


def held_out(key: str) -> bool:
    import hashlib

    digest = hashlib.sha256(f"split:{key}".encode()).digest()
    return digest[0] < 256 * HELD_OUT_SHARE


def in_split(key: str, split: str) -> bool:
    return split == "all" or held_out(key) == (split == "test")


OTHER_SCRIPT = ("other_script", "other_script_reverse")


@dataclass
class Listed:
    id: int
    source: str
    source_id: str
    type: str
    primary: str
    names: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, kind, script

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.source_id)

    def native_names(self) -> list[tuple[str, str | None]]:
        return [(n, s) for n, _, s in self.names if not V.is_latin(n) and V.letters(n) >= 2]


@dataclass
class Case:
    kind: str
    query: str
    original: str = ""
    target: Listed | None = None  # None for negatives
    accepted: set[tuple[str, str]] = field(default_factory=set)
    note: str = ""


# ---------------------------------------------------------------- database


def _load_lists(url: str, mirror: str) -> list[tuple[str, bool, int, str | None]]:
    from compliance.store.db import get_engine
    from compliance.update import update_sources

    outcomes = update_sources(get_engine(url), mirror=mirror)
    return [(o.source, o.ok, o.records, o.error) for o in outcomes]


def load_database(db: str | None, mirror: Path) -> tuple[str, float]:
    """Load the mirror into a database in a child process, so this one's peak memory is the
    screening engine's alone. Reuses `db` if it already holds entities."""
    path = Path(db) if db else Path(tempfile.mkdtemp(prefix="eval-screening-")) / "eval.db"
    url = f"sqlite:///{path.resolve()}"
    if path.exists() and _entity_count(url) > 0:
        print(f"database: reusing {path} ({_entity_count(url):,} entities)")
        return url, 0.0
    start = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        outcomes = pool.submit(_load_lists, url, str(mirror)).result()
    took = time.perf_counter() - start
    print(f"database: {path} loaded in {took:.1f}s")
    for source, ok, records, error in outcomes:
        print(f"  {source:<24} {'ok' if ok else 'FAILED':<6} {records:>7,} {error or ''}")
    return url, took


def _entity_count(url: str) -> int:
    from sqlalchemy import create_engine, text

    try:
        with create_engine(url).connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM entity")).scalar() or 0)
    except Exception:
        return 0


def read_listed(engine: Any) -> list[Listed]:
    from sqlalchemy import text

    sql = text(
        "SELECT e.id, e.source, e.source_id, e.entity_type, e.name, n.name, n.kind, n.script "
        "FROM entity e JOIN source s ON s.current_snapshot_id = e.snapshot_id "
        "LEFT JOIN entity_name n ON n.entity_id = e.id ORDER BY e.source, e.source_id, n.id"
    )
    out: dict[int, Listed] = {}
    with engine.connect() as conn:
        for eid, src, sid, etype, primary, name, kind, script in conn.execute(sql):
            rec = out.setdefault(eid, Listed(eid, src, str(sid), etype, primary))
            if name:
                rec.names.append((name, kind, script))
    return list(out.values())


def link_duplicates(listed: list[Listed]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Entries of *other* sources that publish the same entity: same type and an identical
    (order-insensitive, normalised) name of at least two words."""
    by_name: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    keys: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for rec in listed:
        ks = set()
        for name, kind, _ in rec.names:
            if kind == "weak_aka" or not V.is_latin(name):
                continue
            k = V.norm_key(name, strip_legal=False)
            if len(k.split()) >= 2 and len(k) >= 8:
                ks.add((rec.type, k))
        keys[rec.key] = ks
        for k in ks:
            by_name[k].add(rec.key)
    links: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for rec in listed:
        same = {other for k in keys[rec.key] for other in by_name[k] if other[0] != rec.source}
        links[rec.key] = same | {rec.key}
    return links


# ---------------------------------------------------------------- positives


def _apply(kind: str, rec: Listed, rng: random.Random) -> tuple[str, str, str] | None:
    """(query, original name, note) for `rec` varied by `kind`, or None if it does not apply."""
    name = rec.primary
    if kind not in OTHER_SCRIPT and (not V.is_latin(name) or V.letters(name) < 4):
        return None
    person = rec.type == "person"
    # the DPL and part of the CSL do not state a type: treat those with a legal form as companies
    org = rec.type == "organization" or (
        rec.type == "unknown" and V.legal_form_drop(name, rng) is not None
    )
    if kind == "exact":
        return name, name, ""
    if kind == "case_punct_diacritics":
        q = V.case_punct(name, rng)
    elif kind == "typo_1":
        q = V.typos(name, rng, 1)
    elif kind == "typo_2":
        q = V.typos(name, rng, 2)
    elif kind == "word_order":
        q = V.word_order(name, rng) if person else None
    elif kind == "missing_middle_initials":
        q = V.missing_middle(name, rng) if person else None
    elif kind == "legal_form":
        q = V.legal_form(name, rng) if org else None
    elif kind == "legal_form_dropped":
        q = V.legal_form_drop(name, rng) if org else None
    elif kind == "transliteration":
        q = V.translit(name, rng, rules=person) if (person or org) else None
    elif kind in _MORE:
        fn, applies = _MORE[kind]
        q = fn(name, rng) if applies(person, org, rec.type) else None
    elif kind == "other_script":
        native = rec.native_names()
        if not native:
            return None
        q, script = rng.choice(native)
        return q, q, f"script={script}"
    else:  # other_script_reverse: a person's Latin name typed in Cyrillic
        if not person or not any(s == "Cyrillic" or _is_cyrillic(n) for n, s in rec.native_names()):
            return None
        latin = [n for n, k, _ in rec.names if V.is_latin(n) and k in ("primary", "aka")]
        if not latin:
            return None
        base = " ".join(V.natural_order(latin[0])) if person else latin[0]
        return V.to_cyrillic(base), latin[0], "Latin name written in Cyrillic by rule table"
    return (q, name, "") if q else None


_MORE: dict[str, tuple[Callable[[str, random.Random], str | None], Callable[..., bool]]] = {
    "descriptor_added": (M.descriptor, lambda person, org, t: org),
    "legal_form_misspelt": (M.legal_form_misspelt, lambda person, org, t: org),
    "abbreviation": (M.abbreviation, lambda person, org, t: not person),
    "title": (M.title, lambda person, org, t: person),
    "split_join": (M.split_join, lambda person, org, t: person or org),
    "short_translit": (M.short_translit, lambda person, org, t: True),
    "nickname_ordinal": (M.nickname_ordinal, lambda person, org, t: True),
}


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def build_positives(
    listed: list[Listed],
    links: dict[tuple[str, str], set[tuple[str, str]]],
    total: int,
    seed: int,
    split: str = "all",
) -> list[Case]:
    """Positives of every kind from the listed entities of `split` (train, test or all)."""
    strata: dict[tuple[str, str], list[Listed]] = defaultdict(list)
    share_sum = sum(KINDS.values())
    for rec in listed:
        if not in_split(V.norm_key(rec.primary), split):
            continue
        if rec.type in ("person", "organization", "vessel", "unknown"):
            strata[(rec.source, rec.type)].append(rec)
    cases = []
    for kind, share in KINDS.items():
        rng = random.Random(f"{seed}:{kind}")
        pools = {k: rng.sample(v, len(v)) for k, v in sorted(strata.items())}
        quota = round(total * share / share_sum)
        got = 0
        # round-robin over (source, type) so every list and entity type is represented
        while got < quota and pools:
            for key in list(pools):
                pool = pools[key]
                made = None
                while pool and made is None:
                    rec = pool.pop()
                    made = _apply(kind, rec, rng)
                if not pool:
                    del pools[key]
                if made is None:
                    continue
                q, original, note = made
                cases.append(Case(kind, q, original, rec, links[rec.key], note))
                got += 1
                if got >= quota:
                    break
    return cases


# ---------------------------------------------------------------- negatives


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def negative_names(total: int, seed: int, split: str = "all") -> list[tuple[str, str]]:
    """(name, origin) of real names that are not meant to be listed: two thirds companies
    (Forbes 2000 and S&P 500, de-duplicated), one third common forename + surname pairs of the
    same country. Shuffled, so any prefix keeps the mix. `split`: companies, forenames and
    surnames each on their side of the held-out split."""
    rng = random.Random(f"{seed}:negatives")
    seen: set[str] = set()

    def fresh(name: str) -> bool:
        key = V.norm_key(name)
        if not name.strip() or key in seen:
            return False
        seen.add(key)
        return True

    companies = [
        (row["Company"].strip(), "forbes_2000")
        for row in _read_csv(REFERENCE / "forbes_global_2000_2025.csv")
    ] + [
        (row["Security"].strip(), "sp500")
        for row in _read_csv(REFERENCE / "sp500_constituents.csv")
    ]
    companies = [c for c in companies if in_split(V.norm_key(c[0]), split) and fresh(c[0])]
    companies = rng.sample(companies, min(len(companies), total * 2 // 3))
    forenames: dict[str, list[str]] = defaultdict(list)
    surnames: dict[str, list[str]] = defaultdict(list)
    for file, table in (("forenames", forenames), ("surnames", surnames)):
        for row in _read_csv(REFERENCE / f"names_common_{file}_by_country.csv"):
            name = row["Romanized Name"] or row["Localized Name"]
            if name and V.is_latin(name) and in_split(name.lower(), split):
                table[row["Country"]].append(name)
    countries = sorted(set(forenames) & set(surnames))
    persons: list[tuple[str, str]] = []
    attempts = 0
    while len(companies) + len(persons) < total and attempts < total * 50:
        attempts += 1
        cc = rng.choice(countries)
        name = f"{rng.choice(forenames[cc])} {rng.choice(surnames[cc])}"
        if fresh(name):
            persons.append((name, f"names_{cc}"))
    out = companies + persons
    rng.shuffle(out)
    return out


def build_negatives(
    listed: list[Listed], total: int, seed: int, split: str = "all"
) -> tuple[list[Case], list[str]]:
    """Negatives minus those genuinely listed: same normalised name (legal forms ignored,
    order-insensitive) as any listed name."""
    listed_keys = {V.norm_key(n) for rec in listed for n, _, _ in rec.names if V.is_latin(n)}
    cases, excluded = [], []
    for name, origin in negative_names(total + 200, seed, split):
        if V.norm_key(name) in listed_keys:
            excluded.append(f"{name} ({origin})")
            continue
        if len(cases) < total:
            cases.append(Case("negative", name, name, None, set(), origin))
    return cases, excluded


# ---------------------------------------------------------------- screening


@dataclass
class Outcome:
    case: Case
    hit_rank: int | None  # rank of the right entity among the matches (0-based)
    hit_score: float | None
    top: list[dict[str, Any]]
    seconds: float
    error: str | None = None


def _keys(match: Any) -> set[tuple[str, str]]:
    keys = {(match.source, str(match.source_id))}
    for s in getattr(match, "sources", None) or []:
        keys.add((s["source"], str(s["source_id"])))
    return keys


def _brief(match: Any) -> dict[str, Any]:
    return {
        "source": match.source,
        "source_id": match.source_id,
        "name": match.name,
        "matched_name": match.matched_name,
        "score": round(float(match.score), 2),
        "type": match.type,
        "explanation": match.explanation,
    }


def run(
    screener: Any,
    query_cls: Callable[..., Any],
    cases: Iterable[Case],
    threshold: float | None,
    with_type: bool,
) -> list[Outcome]:
    outcomes = []
    for case in cases:
        qtype = case.target.type if (with_type and case.target) else None
        if with_type and case.target is None:
            qtype = "person" if case.note.startswith("names_") else "organization"
        query = query_cls(name=case.query, type=qtype)
        start = time.perf_counter()
        try:
            matches = screener.screen(query, threshold=threshold, limit=50).matches
            error = None
        except Exception as exc:  # a refused query (e.g. only a legal form) is a miss, not a crash
            matches, error = [], f"{exc.__class__.__name__}: {exc}"
        took = time.perf_counter() - start
        rank = score = None
        for i, m in enumerate(matches):
            if _keys(m) & case.accepted:
                rank, score = i, float(m.score)
                break
        top = [_brief(m) for m in matches[:3]]
        outcomes.append(Outcome(case, rank, score, top, took, error))
    return outcomes


# ---------------------------------------------------------------- reporting


def _rate(n: int, d: int) -> str:
    return f"{n / d:.3f}" if d else "  -  "


def report(
    pos: list[Outcome], neg: list[Outcome], excluded: list[str], examples: int
) -> dict[str, Any]:
    print("\nrecall by kind of variation (right entity among the matches)")
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in pos:
        by_kind[o.case.kind].append(o)
    summary: dict[str, Any] = {"recall_by_kind": {}}
    for kind in KINDS:
        rows = by_kind.get(kind, [])
        hits = sum(o.hit_rank is not None for o in rows)
        top1 = sum(o.hit_rank == 0 for o in rows)
        print(f"  {kind:<26} {_rate(hits, len(rows))}  ({hits}/{len(rows)}, top-1 {top1})")
        summary["recall_by_kind"][kind] = {"n": len(rows), "hits": hits, "top1": top1}
    latin = [o for o in pos if o.case.kind not in OTHER_SCRIPT]
    other = [o for o in pos if o.case.kind in OTHER_SCRIPT]
    lat_hits = sum(o.hit_rank is not None for o in latin)
    oth_hits = sum(o.hit_rank is not None for o in other)
    all_hits = lat_hits + oth_hits
    fp = [o for o in neg if o.top]
    print("\nrecall by entity type / source (all kinds)")
    for label, keyf in (
        ("type", lambda o: o.case.target.type),
        ("source", lambda o: o.case.target.source),
    ):
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in pos:
            groups[keyf(o)].append(o)
        for g, rows in sorted(groups.items()):
            hits = sum(o.hit_rank is not None for o in rows)
            print(f"  {label} {g:<22} {_rate(hits, len(rows))}  ({hits}/{len(rows)})")
    print("\nfalse positives by negative origin")
    origins = Counter("names" if o.case.note.startswith("names_") else o.case.note for o in neg)
    fps = Counter("names" if o.case.note.startswith("names_") else o.case.note for o in fp)
    for origin, n in sorted(origins.items()):
        print(f"  {origin:<14} {_rate(fps[origin], n)}  ({fps[origin]}/{n})")
    print("\nSUMMARY")
    print(
        f"  recall, Latin-script kinds     {_rate(lat_hits, len(latin))}  ({lat_hits}/{len(latin)})"
    )
    print(
        f"  recall, other-script queries   {_rate(oth_hits, len(other))}  ({oth_hits}/{len(other)})"
    )
    print(f"  recall, all positives          {_rate(all_hits, len(pos))}  ({all_hits}/{len(pos)})")
    print(f"  false-positive rate            {_rate(len(fp), len(neg))}  ({len(fp)}/{len(neg)})")
    print(f"  negatives excluded as listed   {len(excluded)}")
    summary |= {
        "recall_latin": lat_hits / len(latin) if latin else None,
        "recall_other_script": oth_hits / len(other) if other else None,
        "recall_all": all_hits / len(pos) if pos else None,
        "fpr": len(fp) / len(neg) if neg else None,
        "positives": len(pos),
        "negatives": len(neg),
        "excluded_negatives": len(excluded),
    }
    if examples:
        misses = [o for o in pos if o.hit_rank is None]
        rng = random.Random(0)
        print(f"\nexamples of misses ({len(misses)} in all)")
        for o in rng.sample(misses, min(examples, len(misses))):
            t = o.case.target
            got = o.top[0] if o.top else None
            print(
                f"  [{o.case.kind}] {o.case.query!r} <- {o.case.original!r} "
                f"({t.source}:{t.source_id} {t.type})"
            )
            if got:
                print(f"      top: {got['matched_name']!r} {got['score']} ({got['source']})")
        print(f"\nexamples of false positives ({len(fp)} in all)")
        for o in rng.sample(fp, min(examples, len(fp))):
            got = o.top[0]
            print(
                f"  {o.case.query!r} ({o.case.note}) -> {got['matched_name']!r} "
                f"{got['score']} ({got['source']}:{got['source_id']}): {got['explanation']}"
            )
    return summary


def pair_figures(index: Any, threshold: float) -> dict[str, Any]:
    """Precision, recall and F1 of `compare` (with the lists' word rarity and the pair's type)
    on the hand-labelled pairs: pairs_test.csv is held out, pairs_train.csv is fitted on."""
    from compliance.screening import compare

    out: dict[str, Any] = {}
    print("\nlabelled name pairs (compare with the loaded lists' word rarity)")
    for split in ("test", "train"):
        path = Path(__file__).resolve().parent / "data" / f"pairs_{split}.csv"
        tp = fp = fn = tn = 0
        wrong = []
        for rec in _read_csv(path):
            r = compare(rec["name1"], rec["name2"], idf=index, type=rec.get("type") or None)
            said, truth = r["score"] >= threshold, rec["label"] == "1"
            tp, fp = tp + (said and truth), fp + (said and not truth)
            fn, tn = fn + (truth and not said), tn + (not truth and not said)
            if said != truth:
                wrong.append(f"{rec['name1']!r} / {rec['name2']!r} {r['score']:g} ({rec['note']})")
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec_ = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        label = "held out" if split == "test" else "fitted on"
        print(
            f"  pairs_{split}.csv ({label}): F1 {f1:.3f}, precision {prec:.3f}, recall "
            f"{rec_:.3f} ({tp} tp, {fp} fp, {fn} fn, {tn} tn)"
        )
        for w in wrong:
            print(f"    wrong: {w}")
        out[split] = {"f1": f1, "precision": prec, "recall": rec_}
    return out


def sweep(pos: list[Outcome], neg: list[Outcome], thresholds: list[float]) -> None:
    print("\nthreshold sweep (from one run at the lowest threshold)")
    print("  threshold  recall_latin  recall_other  fpr")
    latin = [o for o in pos if o.case.kind not in OTHER_SCRIPT]
    other = [o for o in pos if o.case.kind in OTHER_SCRIPT]
    best_neg = [max((m["score"] for m in o.top), default=None) for o in neg]
    for t in thresholds:
        rl = sum(o.hit_score is not None and o.hit_score >= t for o in latin)
        ro = sum(o.hit_score is not None and o.hit_score >= t for o in other)
        fp = sum(s is not None and s >= t for s in best_neg)
        print(
            f"  {t:9.1f}  {_rate(rl, len(latin)):>12}  {_rate(ro, len(other)):>12}"
            f"  {_rate(fp, len(neg))}"
        )


def dump(path: Path, pos: list[Outcome], neg: list[Outcome]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for o in pos:
            if o.hit_rank is None:
                t = o.case.target
                row = {
                    "what": "miss",
                    "kind": o.case.kind,
                    "query": o.case.query,
                    "varied_from": o.case.original,
                    "note": o.case.note,
                    "expected": {
                        "source": t.source,
                        "source_id": t.source_id,
                        "name": t.primary,
                        "type": t.type,
                        "accepted": sorted(o.case.accepted),
                    },
                    "got": o.top,
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        for o in neg:
            if o.top:
                row = {"what": "false_positive", "query": o.case.query, "origin": o.case.note}
                fh.write(json.dumps(row | {"got": o.top}, ensure_ascii=False) + "\n")
                n += 1
    return n


# ---------------------------------------------------------------- main


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def served_first(listed: list[Any], links: Any, args: argparse.Namespace) -> list[str]:
    """--serve-first names: positives and negatives of the other split (of another seed for
    --split all), so that none is a name the timed run screens."""
    if not args.serve_first:
        return []
    other = {"test": "train", "train": "test"}.get(args.split, args.split)
    seed = args.seed if other != args.split else args.seed + 1
    half = args.serve_first // 2
    pos = build_positives(listed, links, half, seed, other)
    neg, _excluded = build_negatives(listed, args.serve_first - half, seed, other)
    return [c.query for c in pos + neg]


def _has_gctune() -> bool:
    return importlib.util.find_spec("compliance.gctune") is not None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--algorithm", default="default", help="default | ofac")
    ap.add_argument("--threshold", type=float, default=None, help="default: DEFAULT_THRESHOLD")
    ap.add_argument("--sweep", action="store_true", help="recall/FPR over thresholds")
    ap.add_argument("--sweep-from", type=float, default=50.0)
    ap.add_argument("--dump-failures", type=Path, help="write misses and false positives (JSONL)")
    ap.add_argument("--db", help="database file to load into / reuse (default: a temp file)")
    ap.add_argument("--mirror", type=Path, default=MIRROR)
    ap.add_argument("--positives", type=int, default=3000)
    ap.add_argument("--negatives", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--with-type", action="store_true", help="pass the entity type in queries")
    ap.add_argument(
        "--split",
        default="test",
        choices=["test", "train", "all"],
        help="held-out entities and reference names (default), the fit's training side, or all",
    )
    ap.add_argument("--no-pairs", action="store_true", help="skip the labelled pairs")
    ap.add_argument("--examples", type=int, default=10, help="misses / FPs to print")
    ap.add_argument(
        "--serve-first",
        type=int,
        default=0,
        help="screen this many names of the other split first, untimed: the throughput of a "
        "process that has been screening (its per-word caches filled), not of a fresh one",
    )
    ap.add_argument("--json", type=Path, help="write the summary figures as JSON")
    ap.add_argument("--index-cache", type=Path, help="COMPLIANCE_CACHE (default: a fresh one)")
    ap.add_argument("--module", default="compliance.screening", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    url, load_seconds = load_database(args.db, args.mirror)
    # a fresh index cache, so the first load is a cold build (and no stale cache is trusted)
    cache = args.index_cache or Path(tempfile.mkdtemp(prefix="eval-index-cache-"))
    os.environ["COMPLIANCE_CACHE"] = str(cache)
    screening = importlib.import_module(args.module)
    from compliance.store.db import get_engine

    engine = get_engine(url)
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    screener = screening.Screener.load(engine, algorithm=args.algorithm)
    build = time.perf_counter() - start
    start = time.perf_counter()
    screening.Screener.load(engine, algorithm=args.algorithm)
    reload = time.perf_counter() - start
    threshold = args.threshold if args.threshold is not None else screening.DEFAULT_THRESHOLD
    print(f"\nindex: built in {build:.2f}s, second load {reload:.2f}s (algorithm={args.algorithm})")

    listed = read_listed(engine)
    links = link_duplicates(listed)
    counts = Counter((r.source, r.type) for r in listed)
    print(
        f"listed entities: {len(listed):,}; by source/type: "
        + ", ".join(f"{s}/{t} {n}" for (s, t), n in sorted(counts.items()))
    )
    positives = build_positives(listed, links, args.positives, args.seed, args.split)
    negatives, excluded = build_negatives(listed, args.negatives, args.seed, args.split)
    print(f"split: {args.split} (held-out share {HELD_OUT_SHARE:.0%})")
    print(
        f"cases: {len(positives)} positives, {len(negatives)} negatives "
        f"({len(excluded)} candidate negatives excluded as genuinely listed)"
    )
    for name in excluded[:15]:
        print(f"  excluded: {name}")
    served = served_first(listed, links, args)
    del listed

    screener.screen(screening.Query(name="warm up query"), threshold=threshold)
    if hasattr(screener, "warm"):  # the tables a long-running process has loaded already
        screener.warm()
    for name in served:  # as a process that has been screening other names (not timed)
        with contextlib.suppress(Exception):
            screener.screen(screening.Query(name=name), threshold=threshold)
    # The collector tuned as `compliance screen --file`, `compliance check` and the server
    # run it (compliance/gctune.py), where the package has it.
    tuning = importlib.import_module("compliance.gctune").tuned() if _has_gctune() else None
    start = time.perf_counter()
    with tuning or contextlib.nullcontext():
        pos = run(screener, screening.Query, positives, threshold, args.with_type)
        neg = run(screener, screening.Query, negatives, threshold, args.with_type)
    wall = time.perf_counter() - start
    lat = sorted(o.seconds for o in pos + neg)
    qps = len(lat) / wall
    print(f"\nthreshold {threshold}")
    summary = report(pos, neg, excluded, args.examples)
    warm = "index warm" + (f", after {len(served):,} other names" if served else "")
    print(f"  throughput                     {qps:,.0f} screenings/s (one process, {warm})")
    print(
        f"  latency p50 / p95 / max        {statistics.median(lat) * 1000:.2f} / "
        f"{lat[int(len(lat) * 0.95)] * 1000:.2f} / {lat[-1] * 1000:.1f} ms"
    )
    print(f"  index build                    {build:.2f}s (second load {reload:.2f}s)")
    print(
        f"  peak RSS                       {peak_rss_mb():.0f} MB "
        f"(before the index: {rss_before:.0f} MB)"
    )
    summary |= {
        "algorithm": args.algorithm,
        "threshold": threshold,
        "screenings_per_s": qps,
        "served_first": len(served),
        "index_build_s": build,
        "index_reload_s": reload,
        "peak_rss_mb": peak_rss_mb(),
        "db_load_s": load_seconds,
    }
    if args.algorithm == "default" and not args.no_pairs:
        summary["pairs"] = pair_figures(screener.index, threshold)
    if args.dump_failures:
        n = dump(args.dump_failures, pos, neg)
        print(f"\nwrote {n} misses and false positives to {args.dump_failures}")
    if args.sweep:
        low = min(args.sweep_from, threshold)
        pos_low = run(screener, screening.Query, positives, low, args.with_type)
        neg_low = run(screener, screening.Query, negatives, low, args.with_type)
        steps = sorted({low, *range(int(low) + 5 - int(low) % 5, 101, 5), threshold})
        sweep(pos_low, neg_low, [float(s) for s in steps])
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
