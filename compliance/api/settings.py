"""The service's settings: limits, key policy, reload polling. Passed to worker processes
through one environment variable (uvicorn starts each worker from an import string)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

ENV = "COMPLIANCE_API_SETTINGS"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Settings:
    require_keys: bool = False  # forced on when binding anything but loopback
    max_body_bytes: int = 10 * 1024 * 1024  # JSON bodies
    max_upload_bytes: int = 1024 * 1024 * 1024  # order files and NDJSON streams
    max_batch: int = 1000  # parties per JSON batch
    max_name_chars: int = 1000
    rate_per_second: float = 50.0  # per API key, over all the worker processes
    rate_burst: int = 200
    rate_dir: str | None = None  # the buckets shared by several workers (set by serve)
    poll_seconds: float = 3.0  # how often the snapshot ids are compared; 0 = never
    listen: bool = True  # PostgreSQL: reload on NOTIFY of a new snapshot, besides polling
    stale_days: int = 30  # a list older than this is flagged on /sources
    gc_tune: bool = True  # freeze survivors of full collections (compliance.api.gctune)
    gc_full_seconds: float = 600.0  # a complete collection this often (0: only on reload)
    audit: bool = True
    audit_queue: int = 100_000  # screenings waiting to be written; when full, requests wait
    audit_spill_dir: str | None = None  # unwritable records at shutdown (default: data folder)
    preload: bool = True  # build the index when the app starts (else on first use)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV)
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")
