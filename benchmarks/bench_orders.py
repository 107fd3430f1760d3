"""Benchmark `compliance check`: throughput with 1 and N workers, identical results, flat memory.

    python benchmarks/bench_orders.py [--db URL | --load] [--lines 100000] [--workers 2]

--load builds a fresh SQLite database from every mirrored list (../shared/data/mirror). Prints,
never asserts: wall time and lines/s per configuration, peak memory (PSS of the process and
its workers, sampled from /proc) for a small and the full file, the decision counts, and
whether the 1-worker and N-worker outputs are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_orders import generate  # noqa: E402

from compliance.orders.deciders import CheckOptions  # noqa: E402
from compliance.orders.run import check_file  # noqa: E402
from compliance.store.db import get_engine  # noqa: E402

MIRROR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mirror"


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared between the workers are counted once in total."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out + [g for c in out for g in _children(c)]


class PeakRss:
    """Peak of (this process + its worker processes) PSS, sampled every 100 ms."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            total = _pss_kb(me) + sum(_pss_kb(c) for c in _children(me))
            self.peak_kb = max(self.peak_kb, total)
            time.sleep(0.1)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def load_all(url: str) -> None:
    from compliance.lists_update import update_source
    from compliance.sources import all_sources

    engine = get_engine(url)
    for key, source in all_sources().items():
        t = time.monotonic()
        o = update_source(engine, source, mirror=str(MIRROR))
        status = f"{o.records:,} records" if o.ok else f"FAILED {o.error}"
        print(f"  loaded {key}: {status} ({time.monotonic() - t:.1f} s)")


def run(url: str, src: Path, out: Path, workers: int) -> tuple[float, dict[str, int], int]:
    with PeakRss() as mem:
        t = time.monotonic()
        rep = check_file(src, CheckOptions(db_url=url, workers=workers), output=out, record=True)
        elapsed = time.monotonic() - t
    return elapsed, rep.counts, mem.peak_kb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="a database with the lists loaded")
    ap.add_argument("--load", action="store_true", help="load every mirrored list first")
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=10_000, help="size for the memory comparison")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--big", type=int, default=0, help="also run N lines with N workers only")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_orders_"))
    os.environ.setdefault("COMPLIANCE_CACHE", str(tmp / "cache"))
    url = a.db or f"sqlite:///{tmp / 'bench.db'}"
    if a.load or not a.db:
        print(f"loading every mirrored list into {url}")
        load_all(url)
    # warm the index cache so every configuration starts from the same state
    from compliance.orders.deciders import make_decider

    t = time.monotonic()
    make_decider(CheckOptions(db_url=url))
    print(f"screening index built/loaded in {time.monotonic() - t:.1f} s")

    files = {}
    for n in (a.small, a.lines, *([a.big] if a.big else [])):
        files[n] = tmp / f"orders_{n}.csv"
        stats = generate(n, files[n], a.seed)
        print(f"generated {files[n]} ({stats['lines']:,} lines, {stats['listed_parties']} with a "
              f"listed party, {files[n].stat().st_size / 1e6:.1f} MB)")  # fmt: skip

    print(f"\n{'lines':>8} {'workers':>7} {'seconds':>8} {'lines/s':>8} {'peak PSS MB':>11}")
    digests: dict[tuple[int, int], str] = {}
    counts: dict[str, int] = {}
    configs = [(a.small, 1), (a.small, a.workers), (a.lines, a.workers), (a.lines, 1)]
    if a.big:
        configs.append((a.big, a.workers))
    for n, workers in configs:
        out = tmp / f"out_{n}_{workers}.csv"
        elapsed, counts_, peak = run(url, files[n], out, workers)
        digests[(n, workers)] = hashlib.sha256(out.read_bytes()).hexdigest()
        if n == a.lines:
            counts = counts_
        print(f"{n:>8,} {workers:>7} {elapsed:>8.1f} {n / elapsed:>8,.0f} {peak / 1024:>11,.0f}")
    print("\ndecisions on the full file: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))  # fmt: skip
    for n in (a.small, a.lines):
        same = digests[(n, 1)] == digests[(n, a.workers)]
        print(f"{n:,} lines: 1 worker and {a.workers} workers give "
              f"{'byte-identical' if same else 'DIFFERENT'} output")  # fmt: skip
    print(f"(files in {tmp})")


if __name__ == "__main__":
    main()
