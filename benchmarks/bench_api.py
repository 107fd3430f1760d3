"""Benchmark `compliance serve`: single screens and batches over loopback, 1, 2 and 4 workers.

    python benchmarks/bench_api.py [--db URL | --load] [--workers 1 2 4] [--clients 16]
                                   [--seconds 8] [--batch 100]

For each worker count: starts the real server (uvicorn, `compliance serve --workers N`) on a
free loopback port, waits until it is ready, then runs N concurrent clients (httpx, asyncio,
bounded in count and time) against POST /v1/screen, then against POST /v1/screen/batch (JSON,
--batch parties each), half real listed names and half unlisted names. Prints, never asserts:
requests/s or parties/s, p50/p99 latency, errors. The clients share the machine with the
server, so on a 2-core machine the figures are a floor. --load builds a fresh SQLite database
from every mirrored list (../shared/data/mirror) first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "data" / "mirror"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_names(db_url: str, n: int = 2000, seed: int = 7) -> list[str]:
    from sqlalchemy import select

    from compliance.store.db import get_engine
    from compliance.store.models import Entity, SourceRow

    with get_engine(db_url).connect() as conn:
        current = select(SourceRow.current_snapshot_id)
        listed = (
            conn.execute(
                select(Entity.name).where(Entity.snapshot_id.in_(current))  # type: ignore[attr-defined]
            )
            .scalars()
            .all()
        )
    rng = random.Random(seed)
    picked = rng.sample(list(listed), min(n // 2, len(listed)))
    firsts = ["Anna", "Lukas", "Maria", "Chen", "Olivia", "Rahul", "Sofia", "Mateo", "Yuki"]
    lasts = ["Keller", "Moreau", "Rossi", "Novak", "Larsen", "Tanaka", "Silva", "Weber"]
    unlisted = [
        f"{rng.choice(firsts)} {rng.choice(lasts)} {rng.randint(1, 999)}"
        for _ in range(n - len(picked))
    ]
    names = picked + unlisted
    rng.shuffle(names)
    return names


def start_server(db_url: str, workers: int, cache: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, COMPLIANCE_CACHE=cache)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compliance.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            db_url,
            "--workers",
            str(workers),
            "--poll",
            "0",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline, ok = time.monotonic() + 180, 0
    while time.monotonic() < deadline and ok < 10 * workers:  # every worker answers ready
        try:
            ok = ok + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            ok = 0
            time.sleep(0.3)
    if ok < 10 * workers:
        proc.kill()
        raise SystemExit(f"the server with {workers} worker(s) did not become ready")
    return proc, base


async def run_clients(
    base: str, clients: int, seconds: float, make_body: Any, path: str
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    items = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def one(k: int) -> None:
            nonlocal errors, items
            i = k
            while time.monotonic() < stop_at:
                body, count = make_body(i)
                i += clients
                t = time.perf_counter()
                try:
                    r = await http.post(path, json=body)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                if ok:
                    items += count
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(one(k) for k in range(clients)))
        elapsed = time.monotonic() - started
    lat = sorted(latencies)
    pct = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: 0)
    return {
        "requests": len(lat),
        "items": items,
        "errors": errors,
        "requests_per_s": round(len(lat) / elapsed, 1),
        "items_per_s": round(items / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else 0,
    }


def bench(db_url: str, workers: list[int], clients: int, seconds: float, batch: int) -> list[Any]:
    names = sample_names(db_url)
    cache = os.environ.get("COMPLIANCE_CACHE") or tempfile.mkdtemp(prefix="bench-api-cache-")
    results = []
    for n in workers:
        proc, base = start_server(db_url, n, cache)
        try:
            asyncio.run(
                run_clients(
                    base, clients, 1.5, lambda i: ({"name": names[i % len(names)]}, 1), "/v1/screen"
                )
            )  # warm-up, not counted
            single = asyncio.run(
                run_clients(
                    base,
                    clients,
                    seconds,
                    lambda i: ({"name": names[i % len(names)]}, 1),
                    "/v1/screen",
                )
            )

            def batch_body(i: int) -> tuple[dict[str, Any], int]:
                start = (i * batch) % len(names)
                parties = [{"name": names[(start + k) % len(names)]} for k in range(batch)]
                return {"parties": parties}, batch

            batched = asyncio.run(
                run_clients(base, max(2, n * 2), seconds, batch_body, "/v1/screen/batch")
            )
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        row = {
            "workers": n,
            "clients": clients,
            "single": single,
            "batch": batched,
            "batch_size": batch,
        }
        results.append(row)
        print(
            f"workers {n}: /v1/screen {single['requests_per_s']:,.0f} req/s "
            f"p50 {single['p50_ms']} ms p99 {single['p99_ms']} ms errors {single['errors']} | "
            f"/v1/screen/batch {batched['items_per_s']:,.0f} parties/s "
            f"(p50 {batched['p50_ms']} ms per {batch}) errors {batched['errors']}",
            flush=True,
        )
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="SQLAlchemy URL of a database with the lists loaded")
    ap.add_argument("--load", action="store_true", help="load every mirrored list first")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    db_url = args.db or os.environ.get("COMPLIANCE_DB")
    if args.load or not db_url:
        from compliance.store.db import get_engine
        from compliance.update import update_sources

        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-api-')}/lists.db"
        update_sources(get_engine(db_url), mirror=str(MIRROR))
    print(
        f"compliance serve on 127.0.0.1, {args.clients} clients, {args.seconds:g} s per phase; "
        f"{os.cpu_count()} cores shared by the clients, the server and other work",
        flush=True,
    )
    results = bench(db_url, args.workers, args.clients, args.seconds, args.batch)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
