"""Full `compliance update` of every mirrored source over local HTTP into a fresh SQLite db.

Serves ../shared/data/mirror on 127.0.0.1, runs the same code path as `compliance update --mirror
URL`, and prints seconds per source, the total and the peak RSS of this process. Target: < 60 s.
With --again, the same update runs a second time: every file is unchanged (304 Not Modified to
the conditional GETs), so nothing is parsed or loaded again.

    .venv/bin/python benchmarks/bench_update.py [--mirror DIR] [--db PATH] [--runs 1] [--again]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

from compliance.lists_update import update_source
from compliance.sources import all_sources
from compliance.store.db import get_engine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MIRROR = ROOT.parent / "shared" / "data" / "mirror"
TARGET_SECONDS = 60.0


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 if sys.platform != "darwin" else kib / (1024 * 1024)


def run(mirror: Path, db: Path, again: bool = False) -> float:
    server, url = serve(mirror)
    try:
        total = _timed(mirror, db, url)
        if again:
            print("again, with every file unchanged:")
            total = _timed(mirror, db, url)
    finally:
        server.shutdown()
    print(f"peak RSS {peak_rss_mib():.0f} MiB; database {db.stat().st_size / 2**20:.1f} MiB")
    return total


def _timed(mirror: Path, db: Path, url: str) -> float:
    engine = get_engine(f"sqlite:///{db}")
    sources = {
        k: s
        for k, s in all_sources().items()
        if (mirror / (getattr(s, "mirror_key", "") or k)).is_dir()
    }
    skipped = sorted(set(all_sources()) - set(sources))
    print(f"mirror {mirror} served at {url}; database {db}")
    if skipped:
        print(f"not mirrored, skipped: {', '.join(skipped)}")
    print(f"{'source':<24} {'records':>9} {'seconds':>8}  status")
    total_start = time.perf_counter()
    failures = 0
    for key, source in sources.items():
        start = time.perf_counter()
        outcome = update_source(engine, source, mirror=url)
        took = time.perf_counter() - start
        state = "ok" if outcome.ok else f"FAILED {outcome.error}"
        state += " (unchanged)" if outcome.unchanged else ""
        failures += not outcome.ok
        print(f"{key:<24} {outcome.records:>9,} {took:>8.2f}  {state}")
    total = time.perf_counter() - total_start
    verdict = "within" if total < TARGET_SECONDS else "OVER"
    print(f"{'total':<24} {'':>9} {total:>8.2f}  ({verdict} the {TARGET_SECONDS:.0f} s target)")
    if failures:
        print(f"{failures} source(s) failed", file=sys.stderr)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    ap.add_argument("--db", type=Path, help="SQLite file to create (default: a temporary one)")
    ap.add_argument("--runs", type=int, default=1, help="repeat into fresh databases")
    ap.add_argument("--again", action="store_true", help="then update again, files unchanged")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        for n in range(args.runs):
            db = args.db or Path(tmp) / f"run{n}.db"
            if db.exists():
                sys.exit(f"{db} exists; the benchmark loads into a fresh database")
            run(args.mirror, db, args.again)


if __name__ == "__main__":
    main()
