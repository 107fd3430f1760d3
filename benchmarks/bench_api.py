"""Benchmark `compliance serve`: single screens and batches over loopback, 1, 2 and 4 workers.

    python benchmarks/bench_api.py [--db URL | --load] [--workers 1 2 4] [--clients 16]
        [--seconds 10] [--rate 400] [--batch 100] [--client raw|httpx] [--pin] [--json F]

For each worker count: starts the real server (`compliance serve --workers N`) on a free
loopback port, waits until every worker is ready, warms up, then runs three phases, each
bounded in time (and so in count), over --names distinct names (20,000: as in production, most
names are new to the server's caches), half real listed names and half unlisted names:

1. closed loop: --clients concurrent clients each send the next POST /v1/screen as soon as the
   last one is answered (the most the server answers; latency is mostly queueing);
2. paced: the same clients together send --rate screens per second on a fixed schedule;
   latency is counted from the scheduled send time, so a stall delays every request behind it
   (no coordinated omission);
3. batch: 2 x workers clients post JSON batches of --batch parties to /v1/screen/batch.

Prints, never asserts: requests/s (parties/s), p50/p99 latency as the client saw it, p50/p99
inside the server (its /metrics histogram, interpolated within buckets), the CPU time per request
of the server (all its processes) and of the client, and the load average of the machine (other
work shares it). `--client raw` (default) is a minimal HTTP/1.1 keep-alive client on asyncio
streams; `--client httpx` uses httpx.AsyncClient, which costs several milliseconds of CPU per
request on the same cores. `--pin` runs the server on all cores but the last and the client on
the last. --root DIR runs the server from another checkout (to compare two versions). --load
builds a fresh SQLite database from every mirrored list first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apiload import HttpxConnection, RawConnection, server_cpu, server_quantiles  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "data" / "mirror"
Body = Callable[[int], tuple[dict[str, Any], int]]


def free_port() -> int:
    import socket

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


def start_server(
    db_url: str, workers: int, cache: str, cpus: set[int] | None, root: Path = ROOT
) -> tuple[subprocess.Popen[bytes], str, int]:
    port = free_port()
    env = dict(os.environ, COMPLIANCE_CACHE=cache)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "compliance.cli", "serve", "--port", str(port), "--db", db_url]
    cmd += ["--workers", str(workers), "--poll", "0", "--log-level", "warning", "--rate", "0"]

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.Popen(
        cmd,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pin,  # noqa: PLW1509  # no threads in this process yet
    )
    base = f"http://127.0.0.1:{port}"
    deadline, ok = time.monotonic() + 180, 0
    while time.monotonic() < deadline and ok < 10 * workers:  # every worker answers ready
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode}): run {' '.join(cmd)}")
        try:
            ok = ok + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            ok = 0
            time.sleep(0.3)
    if ok < 10 * workers:
        proc.kill()
        raise SystemExit(f"the server with {workers} worker(s) did not become ready")
    return proc, base, port


async def run_clients(
    kind: str, port: int, clients: int, seconds: float, make_body: Body, path: str, rate: float
) -> dict[str, Any]:
    """Each client on its own keep-alive connection; paced when rate > 0."""
    latencies: list[float] = []
    errors = 0
    items = 0
    conns = [
        await (RawConnection if kind == "raw" else HttpxConnection).open(port)
        for _ in range(clients)
    ]
    started = time.perf_counter()
    stop_at = started + seconds

    async def one(k: int) -> None:
        nonlocal errors, items
        conn, n = conns[k], 0
        while True:
            if rate > 0:
                due = started + (n * clients + k) / rate
                if due > stop_at:
                    return
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
            else:
                due = time.perf_counter()
                if due > stop_at:
                    return
            body, count = make_body(n * clients + k)
            n += 1
            try:
                ok = await conn.post(path, json.dumps(body).encode()) == 200
            except (OSError, asyncio.IncompleteReadError, httpx.HTTPError):
                ok = False
                conn = conns[k] = await type(conn).open(port)
            latencies.append(time.perf_counter() - due)
            if ok:
                items += count
            else:
                errors += 1

    await asyncio.gather(*(one(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else 0.0

    return {
        "requests": len(lat),
        "items": items,
        "errors": errors,
        "requests_per_s": round(len(lat) / elapsed, 1),
        "items_per_s": round(items / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    }


def phase(
    base: str, proc: subprocess.Popen[bytes], route: str, load: dict[str, Any]
) -> dict[str, Any]:
    """Run one phase (run_clients(**load)), adding the server's own view: CPU per request and
    latency quantiles."""
    before_q = httpx.get(f"{base}/metrics", timeout=30).text
    cpu0, own0, load0 = server_cpu(proc.pid), _own_cpu(), os.getloadavg()[0]
    out: dict[str, Any] = asyncio.run(run_clients(path=route, **load))
    cpu1, own1, load1 = server_cpu(proc.pid), _own_cpu(), os.getloadavg()[0]
    after_q = httpx.get(f"{base}/metrics", timeout=30).text
    n = max(1, out["requests"])
    out["server_cpu_ms_per_request"] = round((cpu1 - cpu0) / n * 1000, 2)
    out["client_cpu_ms_per_request"] = round((own1 - own0) / n * 1000, 2)
    out["load_average"] = [round(load0, 1), round(load1, 1)]
    q = server_quantiles(before_q, after_q, route, (0.5, 0.99))
    out["server_p50_ms"], out["server_p99_ms"] = (round(x * 1000, 1) for x in q)
    return out


def _own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def bench(args: argparse.Namespace, db_url: str) -> list[dict[str, Any]]:
    names = sample_names(db_url, args.names)
    cache = os.environ.get("COMPLIANCE_CACHE") or tempfile.mkdtemp(prefix="bench-api-cache-")
    ncpu = os.cpu_count() or 1
    server_cpus = set(range(max(1, ncpu - 1))) if args.pin and ncpu > 1 else None
    if server_cpus:
        os.sched_setaffinity(0, {ncpu - 1})

    def single(i: int) -> tuple[dict[str, Any], int]:
        return {"name": names[i % len(names)]}, 1

    def batch_body(i: int) -> tuple[dict[str, Any], int]:
        start = (i * args.batch) % len(names)
        return {
            "parties": [{"name": names[(start + k) % len(names)]} for k in range(args.batch)]
        }, (args.batch)

    results = []
    for n in args.workers:
        proc, base, port = start_server(db_url, n, cache, server_cpus, Path(args.root))
        c, kind, s = args.clients, args.client, args.seconds
        common = {"kind": kind, "port": port, "seconds": s}
        try:
            for _ in range(2):  # warm-up, not counted: caches, every worker
                asyncio.run(run_clients(kind, port, c, 2.0, single, "/v1/screen", 0))
            one = {**common, "clients": c, "make_body": single}
            closed = phase(base, proc, "/v1/screen", {**one, "rate": 0})
            paced = phase(base, proc, "/v1/screen", {**one, "rate": args.rate})
            many = {**common, "clients": max(2, 2 * n), "make_body": batch_body, "rate": 0}
            batched = phase(base, proc, "/v1/screen/batch", many)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        row = {"workers": n, "clients": c, "client": kind, "pinned": bool(server_cpus)}
        row |= {"closed": closed, "paced": paced, "batch": batched, "batch_size": args.batch}
        row["rate"] = args.rate
        results.append(row)
        print(_line(row), flush=True)
    return results


def _line(r: dict[str, Any]) -> str:
    c, p, b = r["closed"], r["paced"], r["batch"]
    return (
        f"workers {r['workers']}: closed {c['requests_per_s']:,.0f} req/s p50 {c['p50_ms']} "
        f"p99 {c['p99_ms']} ms (server p50 {c['server_p50_ms']} p99 {c['server_p99_ms']}, "
        f"{c['server_cpu_ms_per_request']} ms CPU/req, client {c['client_cpu_ms_per_request']}) "
        f"| paced {p['requests_per_s']:,.0f} req/s p50 {p['p50_ms']} p99 {p['p99_ms']} max "
        f"{p['max_ms']} ms (server p99 {p['server_p99_ms']}) | batch {b['items_per_s']:,.0f} "
        f"parties/s p50 {b['p50_ms']} p99 {b['p99_ms']} ms per {r['batch_size']} | errors "
        f"{c['errors'] + p['errors'] + b['errors']} | load {c['load_average'][0]}-"
        f"{b['load_average'][1]}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--db", help="SQLAlchemy URL of a database with the lists loaded")
    ap.add_argument("--load", action="store_true", help="load every mirrored list first")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=400.0, help="screens/s of the paced phase")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--names", type=int, default=20_000, help="distinct names (half listed)")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw")
    ap.add_argument("--pin", action="store_true", help="server and client on separate cores")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--root", default=str(ROOT), help="run the server of another checkout")
    args = ap.parse_args()
    db_url = args.db or os.environ.get("COMPLIANCE_DB")
    if args.load or not db_url:
        from compliance.store.db import get_engine
        from compliance.update import update_sources

        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-api-')}/lists.db"
        update_sources(get_engine(db_url), mirror=str(MIRROR))
    print(
        f"compliance serve on 127.0.0.1, {args.clients} clients ({args.client}), "
        f"{args.seconds:g} s per phase, paced at {args.rate:g}/s; {os.cpu_count()} cores "
        f"shared by the clients, the server and other work{' (pinned)' if args.pin else ''}",
        flush=True,
    )
    results = bench(args, db_url)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
