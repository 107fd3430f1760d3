"""Pieces of bench_api.py: two HTTP clients, the server's CPU time, its latency quantiles.

RawConnection is a minimal HTTP/1.1 keep-alive client on asyncio streams (a few tens of
microseconds of CPU per request), so that on a 2-core machine the load generator takes little
of the CPU the server needs; HttpxConnection is the same over httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        headers = raw.lower()
        if b"content-length:" in headers:
            size = int(headers.split(b"content-length:")[1].split(b"\r\n")[0])
            await self.reader.readexactly(size)
        elif b"transfer-encoding: chunked" in headers:
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        if b"connection: close" in headers:
            raise ConnectionResetError("the server closed the connection")
        return status

    async def close(self) -> None:
        self.writer.close()


class HttpxConnection:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    async def open(cls, port: int) -> HttpxConnection:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return cls(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60)
        )

    async def post(self, path: str, body: bytes) -> int:
        r = await self.client.post(path, content=body, headers={"content-type": "application/json"})
        return r.status_code

    async def close(self) -> None:
        await self.client.aclose()


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in tree)


BUCKET = re.compile(r"^compliance_http_request_seconds_bucket\{(?P<labels>[^}]*)\} (?P<n>\S+)$")


def _buckets(text: str, route: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for line in text.splitlines():
        m = BUCKET.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels")))
        if labels.get("route") == route:
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            out[le] = out.get(le, 0.0) + float(m.group("n"))
    return out


def server_quantiles(
    before: str, after: str, route: str, quantiles: tuple[float, ...]
) -> list[float]:
    """Quantiles (seconds) of the server's own request time between two /metrics scrapes,
    interpolated linearly within the histogram's buckets."""
    old, new = _buckets(before, route), _buckets(after, route)
    bounds = sorted(new)
    cum = [new[b] - old.get(b, 0.0) for b in bounds]
    total = cum[-1] if cum else 0.0
    out = []
    for q in quantiles:
        if not total:
            out.append(0.0)
            continue
        target, lower, below = q * total, 0.0, 0.0
        for bound, count in zip(bounds, cum, strict=True):
            if count >= target:
                if bound == float("inf"):
                    out.append(lower)
                else:
                    share = (target - below) / (count - below) if count > below else 1.0
                    out.append(lower + (bound - lower) * share)
                break
            lower, below = bound, count
    return out


__all__ = ["HttpxConnection", "RawConnection", "server_cpu", "server_quantiles"]
