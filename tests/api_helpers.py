"""Shared by the API, MCP and web tests: an app over the session database, order files."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from compliance.orders.reader import FIELDS

ORDERS = [
    ["A-1", "Siemens AG", "DE", "", "", "", "DE", "", "1"],
    ["A-2", "Mahan Airways", "", "", "", "", "AE", "", "2"],
    ["", "Nobody", "", "", "", "", "", "", ""],
    ["A-4", "Acme Widgets", "FR", "", "", "", "Syria", "", "1"],
]
DECISIONS = ["CLEAR", "BLOCK", "ERROR", "BLOCK"]


def engine_url(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=False)


def write_orders(path: Path, rows: list[list[str]] = ORDERS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(FIELDS))
        w.writerows(rows)
    return path


def wait_ready(client: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError("the index did not load in time")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db_url: str, *extra: str, env: dict[str, str] | None = None, log: Path | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """`compliance serve` in a subprocess on a free loopback port (output to `log`, else a
    pipe); its base URL and process. Wait for it with wait_until_ready, end it with
    stop_server."""
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    cmd = [sys.executable, "-m", "compliance.cli", "serve", "--port", str(port), "--db", db_url]
    cmd += ["--log-level", "warning", *extra]
    full_env = dict(os.environ, **(env or {}))
    if log is None:
        proc = subprocess.Popen(
            cmd, cwd=root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    else:
        with log.open("wb") as out:  # the child keeps its own copy of the file
            proc = subprocess.Popen(
                cmd, cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT
            )
    return f"http://127.0.0.1:{port}", proc


def wait_until_ready(base: str, proc: subprocess.Popen[bytes], log: Path | None = None) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            said = log.read_text() if log else proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"the server at {base} stopped: {said}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server at {base} did not become ready"
        time.sleep(0.2)


@contextmanager
def running_server(db_url: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`compliance serve` (no polling unless `extra` asks), ready; stopped with SIGINT.
    Yields the base URL."""
    base, proc = start_server(db_url, "--poll", "0", *extra, env=env)
    try:
        wait_until_ready(base, proc)
        yield base
    finally:
        stop_server(proc)


def stop_server(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)
