"""Wall time and peak memory of one `compliance screen NAME` process.

Prints, for a database that already holds the lists (`--db`, e.g. made by `compliance update`):
the index build (cold: the first screen with an empty index cache), then N warm calls (index
cache present): min and median wall time, CPU time and peak RSS of the subprocess. Times on a
shared machine vary with its load: the min is the closest to the code's own cost.

    .venv/bin/python benchmarks/bench_one_call.py --db /tmp/eval.db --runs 7
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def one_call(name: str, db: str, env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one `compliance screen NAME` subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "compliance.cli", "screen", name, "--db", db],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024  # ru_maxrss: the largest child so far, in KB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="database with the lists loaded")
    ap.add_argument("--name", default="Vladimir Putin")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="bench-one-call-")
    env = os.environ | {"COMPLIANCE_CACHE": cache}
    wall, cpu, _rss = one_call(args.name, args.db, env)
    print(f"cold (builds the index cache): wall {wall:.2f} s, CPU {cpu:.2f} s")
    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu, _rss = one_call(args.name, args.db, env)
        walls.append(wall)
        cpus.append(cpu)
    # ru_maxrss of children is the largest child: the cold one built the index, so measure
    # the warm peak in a fresh interpreter that runs only warm calls.
    probe = (
        "import resource, subprocess, sys; "
        f"subprocess.run([sys.executable, '-m', 'compliance.cli', 'screen', {args.name!r}, "
        f"'--db', {args.db!r}], stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    rss = float(subprocess.check_output([sys.executable, "-c", probe], env=env, text=True))
    print(
        f"warm, {args.runs} runs: wall min {min(walls):.2f} s, median "
        f"{statistics.median(walls):.2f} s; CPU min {min(cpus):.2f} s, median "
        f"{statistics.median(cpus):.2f} s; peak RSS {rss:.0f} MB"
    )
    print(f"(shared machine: load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
