"""Shared by the API, MCP and web tests: an app over the session database, order files."""

from __future__ import annotations

import csv
import socket
import time
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
