"""Soak: N screenings in this process while `compliance update` runs in a loop in other processes.

A scratch SQLite database is loaded from a copy of the mirror. Then, until N screenings are done:

* an updater thread runs `compliance update <source> --mirror COPY --db DB` as a separate process
  again and again, swapping the copy's file of that source between two real variants before each
  run (variant A: the official file; variant B: the same file without every 10th entry), so every
  update really replaces the snapshot (entries removed, then added back);
* this process screens a fixed mix of queries (real listed names as written and misspelt, real
  non-listed company names, control names) with one Screener, and reloads the index whenever the
  current snapshots change (checked every --check-every screenings, at most once every
  --reload-seconds: a rebuild takes seconds, updates here come every few seconds), as a
  long-running service would.

Errors (must be 0): any exception from screening or reloading, and any screening of a control
name (an entry present in both variants) that does not find its entry at score 100. Every
--report-every screenings the script prints screenings done, rate, resident memory (RSS), index
reloads and updates completed; at the end a summary, optionally written as Markdown (--out).

    .venv/bin/python benchmarks/soak.py                 # 1,000,000 screenings (about 10-20 min)
    .venv/bin/python benchmarks/soak.py --n 50000       # quick run (about a minute)
    .venv/bin/python benchmarks/soak.py --n 200000 --out ../notes/soak.md
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from compliance.lists_update import update_source
from compliance.matching.index import cache_key
from compliance.screening import Query, Screener
from compliance.sources import all_sources
from compliance.store.db import get_engine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
COMPLIANCE = Path(sys.executable).with_name("compliance")
CONTROLS = ("MAHAN AIRWAYS",)  # dpl.txt entries kept in both variants


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dpl_variants(src: Path, dst: Path) -> tuple[bytes, bytes]:
    """(the official dpl.txt, the same without every 10th data row but the control names)."""
    full = src.read_bytes()
    lines = full.split(b"\r\n") if b"\r\n" in full else full.split(b"\n")
    sep = b"\r\n" if b"\r\n" in full else b"\n"
    head, body = lines[:1], lines[1:]
    kept = [
        line
        for i, line in enumerate(body)
        if i % 10 != 9 or any(c.encode() in line for c in CONTROLS)
    ]
    return full, sep.join(head + kept)


@dataclass
class Updater:
    """Runs `compliance update SOURCE` in a loop in child processes, alternating the variants."""

    db: str
    mirror: Path
    source: str
    variants: tuple[bytes, bytes]
    env: dict[str, str]
    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        target = self.mirror / self.source / "dpl.txt"
        n = 0
        while not self.stop.is_set():
            n += 1
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(self.variants[n % 2])
            os.replace(tmp, target)  # the mirror never shows a half-written file
            proc = subprocess.run(
                [str(COMPLIANCE), "update", self.source, "--mirror", str(self.mirror),
                 "--db", self.db],
                capture_output=True, text=True, env=self.env, check=False,
            )  # fmt: skip
            if proc.returncode == 0:
                self.done += 1
            else:
                self.failed += 1
                self.errors.append((proc.stderr or proc.stdout).strip()[-500:])


def queries(seed: int) -> list[tuple[Query, str | None]]:
    """(query, control name it must find or None): listed names, misspellings, non-listed."""
    rng = random.Random(seed)
    out: list[tuple[Query, str | None]] = []
    sdn = [r[1] for r in csv.reader((DATA / "mirror/us_ofac_sdn/sdn.csv").open(errors="replace"))
           if len(r) > 2]  # fmt: skip
    with (DATA / "reference/forbes_global_2000_2025.csv").open(encoding="utf-8") as f:
        clean = [r["Company"] for r in csv.DictReader(f) if r.get("Company")]
    for name in rng.sample(sdn, 400):
        out.append((Query(name), None))
        i = rng.randrange(len(name))
        out.append((Query(name[:i] + name[i + 1 :]), None))
    out += [(Query(name), None) for name in rng.sample(clean, 400)]
    out += [(Query(c), c) for c in CONTROLS] * 20
    rng.shuffle(out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="screenings (quick run: 50000)")
    ap.add_argument("--report-every", type=int, default=0, help="default: n / 20")
    ap.add_argument("--check-every", type=int, default=500, help="snapshot check interval")
    ap.add_argument(
        "--reload-seconds", type=float, default=30.0, help="reload the index at most this often"
    )
    ap.add_argument("--lists", default="us_ofac_sdn,un_sc", help="lists loaded besides the DPL")
    ap.add_argument("--mirror", type=Path, default=DATA / "mirror")
    ap.add_argument("--out", type=Path, help="write the summary as Markdown here")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    every = args.report_every or max(args.n // 20, 1)

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    env = dict(os.environ, COMPLIANCE_CACHE=str(work / "cache"))
    os.environ["COMPLIANCE_CACHE"] = env["COMPLIANCE_CACHE"]
    mirror = work / "mirror"
    source = "us_bis_dpl"
    for key in [source, *[s for s in args.lists.split(",") if s]]:
        shutil.copytree(args.mirror / key, mirror / key)
    variants = dpl_variants(args.mirror / source / "dpl.txt", mirror / source / "dpl.txt")
    db = f"sqlite:///{work / 'soak.db'}"
    engine = get_engine(db)
    t0 = time.monotonic()
    for key in [*[s for s in args.lists.split(",") if s], source]:
        outcome = update_source(engine, all_sources()[key], mirror=str(mirror))
        if not outcome.ok:
            print(f"initial load of {key} failed: {outcome.error}", file=sys.stderr)
            return 2
    screener = Screener.load(engine)
    key = cache_key(engine)[0]
    print(f"loaded {args.lists},{source} and built the index in {time.monotonic() - t0:.1f} s; "
          f"{len(screener.index.entities):,} entities; RSS {rss_mb():.0f} MB")  # fmt: skip

    updater = Updater(db, mirror, source, variants, env)
    thread = threading.Thread(target=updater.run, daemon=True)
    thread.start()
    mix = queries(args.seed)
    errors: list[str] = []
    reloads = 0
    samples: list[tuple[int, float, float, int, int, int]] = []
    start = loaded_at = time.monotonic()
    print(f"{'screenings':>11} {'seconds':>8} {'per s':>7} {'RSS MB':>7} {'reloads':>8} "
          f"{'updates':>8} {'errors':>7}")  # fmt: skip
    for i in range(1, args.n + 1):
        query, control = mix[i % len(mix)]
        try:
            if i % args.check_every == 0 and time.monotonic() - loaded_at >= args.reload_seconds:
                now_key = cache_key(engine)[0]
                if now_key != key:
                    loaded_at = time.monotonic()
                    screener, key = None, now_key  # type: ignore[assignment]
                    screener = Screener.load(engine)
                    reloads += 1
            result = screener.screen(query)
            if control is not None and not any(
                m.name == control and m.score == 100.0 for m in result.matches
            ):
                errors.append(f"screening {i}: control {control!r} not found at 100")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"screening {i}: {exc.__class__.__name__}: {exc}")
        if i % every == 0 or i == args.n:
            secs = time.monotonic() - start
            samples.append((i, secs, rss_mb(), reloads, updater.done, len(errors)))
            print(f"{i:>11,} {secs:>8.1f} {i / secs:>7.0f} {samples[-1][2]:>7.0f} {reloads:>8} "
                  f"{updater.done:>8} {len(errors):>7}", flush=True)  # fmt: skip
    updater.stop.set()
    thread.join(timeout=120)
    total = time.monotonic() - start
    summary = [
        f"# Soak: {args.n:,} screenings while `compliance update` runs in a loop",
        "",
        f"Command: `.venv/bin/python benchmarks/soak.py --n {args.n}` "
        f"({os.cpu_count()} cores; lists {args.lists},{source}; "
        f"{len(screener.index.entities):,} entities).",
        "",
        f"- screenings: {args.n:,} in {total:.0f} s ({args.n / total:,.0f}/s), one process",
        f"- errors: {len(errors)} (exceptions, or a control name not found at 100)",
        f"- `compliance update {source}` runs completed: {updater.done} "
        f"(failed: {updater.failed}); each one replaced the snapshot (two variants alternate)",
        f"- index reloads after a snapshot change: {reloads} (at most one per "
        f"{args.reload_seconds:g} s)",
        f"- RSS: {samples[0][2]:.0f} MB after {samples[0][0]:,} screenings, "
        f"{max(s[2] for s in samples):.0f} MB peak, {samples[-1][2]:.0f} MB at the end",
        "",
        "| screenings | seconds | RSS MB | reloads | updates | errors |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {n:,} | {s:.0f} | {r:.0f} | {rl} | {u} | {e} |" for n, s, r, rl, u, e in samples],
    ]
    if errors or updater.errors:
        summary += ["", "First errors:", *[f"- {e}" for e in (errors + updater.errors)[:10]]]
    text = "\n".join(summary) + "\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors or updater.failed else 0


if __name__ == "__main__":
    sys.exit(main())
