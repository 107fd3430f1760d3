"""Batch screening on Dask: one process against a LocalCluster, and a projection to 100M rows.

Generates N synthetic parties (real unlisted names, ~2% real listed names, some perturbed; the
generator of bench_screen_file.py), screens a prefix in one process for the single-core rate,
then the whole file with `run_batch` on a LocalCluster. Prints wall times, rows/s, per-partition
throughput, peak memory per worker, and the projected time for 100M rows on N workers.

    .venv/bin/python benchmarks/bench_dask.py --db PATH [--rows 1000000] [--workers 2]
        [--partition-rows 50000] [--single-rows 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_screen_file as B  # noqa: E402


def single_rate(path: Path, url: str, rows: int) -> tuple[float, float]:
    """(index load seconds, rows/s) of one process screening the first `rows` rows."""
    from itertools import islice

    from compliance.batch.parties import read_any
    from compliance.schema import register_tables
    from compliance.screen_file import screen_rows
    from compliance.screening import Screener
    from compliance.store.db import get_engine

    register_tables()
    t0 = time.perf_counter()
    screener = Screener.load(get_engine(url))
    loaded = time.perf_counter() - t0
    t1 = time.perf_counter()
    n = sum(1 for _ in screen_rows(islice(read_any(path), rows), screener, workers=1))
    return loaded, n / (time.perf_counter() - t1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", required=True, help="database with the lists loaded (path or URL)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partition-rows", type=int, default=50_000)
    ap.add_argument("--single-rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    from compliance.batch.dask_run import BatchOptions, run_batch
    from compliance.store.db import resolve_url

    url = resolve_url(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        parties = Path(tmp) / "parties.csv"
        B.write_parties(parties, args.rows, 1, url)
        load_s, rate1 = single_rate(parties, url, min(args.single_rows, args.rows))
        print(f"single process: index load {load_s:.1f} s, {rate1:,.0f} rows/s "
              f"(first {min(args.single_rows, args.rows):,} rows); the whole file would take "
              f"{args.rows / rate1:,.0f} s")  # fmt: skip
        t0 = time.perf_counter()
        report = run_batch(
            parties,
            Path(tmp) / "results",
            url,
            opts=BatchOptions(partition_rows=args.partition_rows),
            workers=args.workers,
        )
        wall = time.perf_counter() - t0
    per_part = [args.partition_rows / s for s in report.part_seconds[:-1]] or [
        report.rows / sum(report.part_seconds)
    ]
    worker_rate = statistics.median(per_part)
    print(f"LocalCluster, {args.workers} workers: {report.rows:,} rows in {wall:,.1f} s "
          f"({report.rows / wall:,.0f} rows/s, cluster start and index loads included); "
          f"{report.partitions} partitions of {args.partition_rows:,}")  # fmt: skip
    print(f"per partition: median {worker_rate:,.0f} rows/s per worker "
          f"(min {min(per_part):,.0f}, max {max(per_part):,.0f})")  # fmt: skip
    peaks = sorted(report.worker_peak_rss_kb.values())
    print(f"peak memory per worker: {', '.join(f'{kb / 1024:,.0f} MB' for kb in peaks)}")
    overhead = max(0.0, wall - report.rows / (worker_rate * args.workers))
    print("projection for 100,000,000 rows (one core per worker, the same lists, index loaded "
          f"once per worker, fixed start-up {overhead:,.0f} s as measured here, the client "
          "reading the input no slower than the workers screen it):")  # fmt: skip
    for n in (2, 8, 32, 128):
        seconds = 100_000_000 / (worker_rate * n) + overhead
        print(f"  {n:>4} workers: {seconds / 3600:,.2f} h")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
