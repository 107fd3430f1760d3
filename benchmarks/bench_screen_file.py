"""Time `compliance screen --file parties.csv --format jsonl --workers 2` on a generated file.

The parties file holds N rows of real names: companies from Forbes 2000 / S&P 500, persons from
common forenames x surnames by country (some with type and country columns), and about 2% names
taken from the lists themselves, a few of them with a typo. Prints rows/s, wall time, peak
memory, and checks that every row came back, in order.

    .venv/bin/python benchmarks/bench_screen_file.py [--rows 100000] [--workers 2] [--db PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_screening as E  # noqa: E402
import variants as V  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def name_pool(url: str, seed: int) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(name, type, country) of real non-listed parties, and (name, type) of listed ones."""
    from compliance.store.db import get_engine

    rng = random.Random(seed)
    clear: list[tuple[str, str, str]] = []
    for row in E._read_csv(E.REFERENCE / "forbes_global_2000_2025.csv"):
        clear.append((row["Company"], "organization", row["Headquarters"]))
    for row in E._read_csv(E.REFERENCE / "sp500_constituents.csv"):
        clear.append((row["Security"], "organization", "US"))
    forenames: dict[str, list[str]] = {}
    surnames: dict[str, list[str]] = {}
    for file, table in (("forenames", forenames), ("surnames", surnames)):
        for row in E._read_csv(E.REFERENCE / f"names_common_{file}_by_country.csv"):
            name = row["Romanized Name"] or row["Localized Name"]
            if name:
                table.setdefault(row["Country"], []).append(name)
    for cc in sorted(set(forenames) & set(surnames)):
        for first in forenames[cc]:
            for last in rng.sample(surnames[cc], min(len(surnames[cc]), 12)):
                clear.append((f"{first} {last}", "person", cc))
    listed = [
        (rec.primary, rec.type)
        for rec in E.read_listed(get_engine(url))
        if V.is_latin(rec.primary) and V.letters(rec.primary) >= 4
    ]
    return clear, listed


def write_parties(path: Path, rows: int, seed: int, url: str) -> None:
    rng = random.Random(seed)
    clear, listed = name_pool(url, seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "type", "country"])
        for _ in range(rows):
            if rng.random() < 0.02:
                name, typ = rng.choice(listed)
                if rng.random() < 0.3:
                    name = V.typos(name, rng, 1) or name
                w.writerow([name, typ if typ != "unknown" else "", ""])
            else:
                name, typ, country = rng.choice(clear)
                keep = rng.random() < 0.5
                w.writerow([name, typ if keep else "", country if keep else ""])


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """(sum, max) of VmRSS over `root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total = biggest = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
                        total += kb
                        biggest = max(biggest, kb)
        except OSError:
            continue
    return total, biggest


def run_screen(parties: Path, out: Path, url: str, workers: int) -> tuple[float, int, int, int]:
    cmd = [
        str(ROOT / ".venv" / "bin" / "compliance"),
        "screen",
        "--file",
        str(parties),
        "--format",
        "jsonl",
        "--workers",
        str(workers),
        "--db",
        url,
    ]
    peak = [0, 0]
    with out.open("w", encoding="utf-8") as fh, open(out.with_suffix(".err"), "w") as err:
        start = time.perf_counter()
        env = os.environ | {"COMPLIANCE_CACHE": tempfile.mkdtemp(prefix="bench-index-cache-")}
        proc = subprocess.Popen(cmd, stdout=fh, stderr=err, env=env)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.25):
                total, biggest = _tree_rss_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], total), max(peak[1], biggest)

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        code = proc.wait()
        wall = time.perf_counter() - start
        done.set()
        t.join()
    return wall, code, peak[0], peak[1]


def check_output(out: Path, rows: int) -> Counter[str]:
    statuses: Counter[str] = Counter()
    expected = 1
    with out.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            if obj["row"] != expected:
                raise SystemExit(f"output out of order: row {obj['row']}, expected {expected}")
            statuses[obj["status"]] += 1
            expected += 1
    if expected - 1 != rows:
        raise SystemExit(f"{expected - 1} output rows for {rows} input rows")
    return statuses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", help="database file to load into / reuse (default: a temp file)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", type=Path, help="directory to keep parties.csv and the output in")
    args = ap.parse_args(argv)

    url, _ = E.load_database(args.db, E.MIRROR)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-screen-"))
    work.mkdir(parents=True, exist_ok=True)
    parties, out = work / "parties.csv", work / "screened.jsonl"
    start = time.perf_counter()
    write_parties(parties, args.rows, args.seed, url)
    print(f"wrote {args.rows:,} rows to {parties} in {time.perf_counter() - start:.1f}s")

    wall, code, tree_kb, proc_kb = run_screen(parties, out, url, args.workers)
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if code not in (0, 1):
        print(out.with_suffix(".err").read_text()[-2000:], file=sys.stderr)
        raise SystemExit(f"compliance screen exited with {code}")
    statuses = check_output(out, args.rows)
    print(f"compliance screen --file ... --format jsonl --workers {args.workers} (exit {code})")
    print(f"  rows             {args.rows:,} ({dict(statuses)})")
    print(f"  wall time        {wall:.1f}s (includes loading the index)")
    print(f"  throughput       {args.rows / wall:,.0f} rows/s")
    print(
        f"  peak RSS         {tree_kb / 1024:.0f} MB summed over the process tree "
        f"(shared pages counted per process); largest process {proc_kb / 1024:.0f} MB; "
        f"getrusage(children) max {children_kb / 1024:.0f} MB"
    )
    if not args.keep:
        parties.unlink()
        out.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
