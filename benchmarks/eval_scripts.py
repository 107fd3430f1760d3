"""Chinese- and Korean-script names of listed parties, screened against the real lists.

Chinese: four files in benchmarks/data: chinese_names.csv (the names the normalisation was developed
on), chinese_names_holdout.csv (a second set: 9/20 translations found on its first run, the
table was then widened with general vocabulary), chinese_names_fresh.csv (a third set, run
once with the table frozen; CC-CEDICT and the brand rows were added after it had been seen),
chinese_names_fresh2.csv (a fourth set, written after those were added and run once) and
chinese_names_unlisted.csv (large Chinese companies on no list: must stay clear). Each listed
row says whether its English listed name translates the Chinese one ("translation") or is a
coined brand ("brand": Hikvision for 海康威视), which no normalisation can reach.

Korean: korean_names.csv (listed North Korean people and organisations, developed on),
korean_names_holdout.csv (written with it, before the Korean normalisation, and not looked at
while it was built) and korean_names_unlisted.csv (South Korean companies and people on no list).

    .venv/bin/python benchmarks/eval_scripts.py [--db PATH] [--threshold N] [--script chinese]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "data" / "mirror"
HERE = Path(__file__).resolve().parent / "data"


# script -> (listed sets: label and file), file of unlisted names
SETS = {
    "chinese": (
        [
            ("developed on", "chinese_names.csv"),
            ("holdout", "chinese_names_holdout.csv"),
            ("fresh", "chinese_names_fresh.csv"),
            ("fresh 2", "chinese_names_fresh2.csv"),
        ],
        "chinese_names_unlisted.csv",
    ),
    "korean": (
        [("developed on", "korean_names.csv"), ("holdout", "korean_names_holdout.csv")],
        "korean_names_unlisted.csv",
    ),
}


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database file to load into / reuse (default: a temp file)")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--script", choices=sorted(SETS), action="append", help="default: all")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from compliance.matching.index import load_index
    from compliance.matching.normalize import normalize_name
    from compliance.screening import Query, Screener
    from compliance.store.db import get_engine
    from compliance.update import update_sources

    db = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "lists.db"
    os.environ.setdefault("COMPLIANCE_CACHE", str(db.parent / "cache"))
    engine = get_engine(f"sqlite:///{db}")
    if not args.db or not db.exists() or db.stat().st_size < 1_000_000:
        update_sources(engine, mirror=str(MIRROR))
    index = load_index(engine)
    screener = Screener(index)
    by_id = {e.id: i for i, e in enumerate(index.entities)}
    listed_tokens: dict[int, set[tuple[str, ...]]] = {}
    for n in index.names:
        listed_tokens.setdefault(n.entity, set()).add(n.norm.tokens)

    def found(written: str, listed: str) -> tuple[bool, str]:
        want = normalize_name(listed).tokens
        result = screener.screen(Query(written), threshold=args.threshold)
        for m in result.matches:
            group = index.groups[index.entities[by_id[m.entity_id]].group]
            if any(want in listed_tokens.get(e, ()) for e in group):
                return True, f"{m.score:g} {m.matched_name}"
        top = result.matches[0] if result.matches else None
        return False, f"top: {top.score:g} {top.matched_name}" if top else "no match"

    print("Figures from a shared 2-core machine; quality only, no timings.\n")
    for script in args.script or sorted(SETS):
        listed_sets, unlisted_file = SETS[script]
        for label, file in listed_sets:
            tally: Counter[tuple[str, bool]] = Counter()
            print(f"== {script}, {label} ({file})")
            for row in _rows(file):
                ok, why = found(row[script], row["listed_name"])
                tally[(row["kind"], ok)] += 1
                mark = "FOUND" if ok else "miss "
                print(f"  {mark} [{row['kind']}] {row[script]} -> {row['listed_name']}: {why}")
            for kind in dict.fromkeys(k for k, _ok in tally):
                hit, total = tally[(kind, True)], tally[(kind, True)] + tally[(kind, False)]
                print(f"  {kind}: {hit}/{total}")
            all_hit = sum(v for (k, ok), v in tally.items() if ok)
            print(f"  all: {all_hit}/{sum(tally.values())}\n")
        clear = 0
        unlisted = _rows(unlisted_file)
        print(f"== {script}, unlisted ({unlisted_file})")
        for row in unlisted:
            result = screener.screen(Query(row[script]), threshold=args.threshold)
            top = result.matches[0] if result.matches else None
            clear += top is None
            english = row.get("english") or row["company"]
            print(
                f"  {'clear' if top is None else 'MATCH'} {row[script]} ({english})"
                + (f": {top.score:g} {top.matched_name}" if top else "")
            )
        print(f"  clear: {clear}/{len(unlisted)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
