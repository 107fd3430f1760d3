"""Where index files are cached, under which key, and how they are written and mapped.

The key names the database, its current snapshot ids and the index code version, so a cached
index is used exactly until a list changes. Files are written whole beside their final name and
renamed into place: a reader maps the old file or the complete new one, never half of one.

`current_snapshots_sqlite` reads the key's inputs from a SQLite file with the standard library
alone: a screen served from the cache never imports SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

KEEP_CACHED = 4  # index files kept in the cache folder (several databases may share it)
SUFFIX = ".idx"
STALE_TMP_SECONDS = 3600  # a temporary file this old belongs to no running writer

# The current snapshot of every source (tables of compliance/store/models.py), in plain SQL:
# no ORM models, and none of the snapshots' JSON columns decoded.
CURRENT_SNAPSHOTS = (
    "SELECT s.id, s.source, s.data_date, s.sha256, s.fetched_at FROM snapshot s "
    "JOIN source r ON r.current_snapshot_id = s.id ORDER BY s.id"
)


def cache_dir() -> Path:
    if os.environ.get("COMPLIANCE_CACHE"):
        return Path(os.environ["COMPLIANCE_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("compliance"))


def cache_path(key: str) -> Path:
    return cache_dir() / f"index-{key}{SUFFIX}"


def snapshot_key(
    database: str, rows: Sequence[Any], version: str
) -> tuple[str, dict[int, dict[str, Any]]]:
    """The cache key and the snapshot facts from CURRENT_SNAPSHOTS rows of `database`."""
    snaps: dict[int, dict[str, Any]] = {}
    for sid, source, data_date, sha256, fetched_at in rows:
        snaps[sid] = {
            "source": source,
            "id": sid,
            "data_date": data_date,
            "sha256": sha256,
            "fetched_at": _utc_iso(fetched_at),
        }
    raw = f"{version}|{database}|{sorted(snaps)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24], snaps


def _utc_iso(value: datetime | str | None) -> str | None:
    """A stored timestamp as the models read it: UTC (SQLite keeps it as naive text)."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    when = when.replace(tzinfo=UTC) if when.utcoffset() is None else when.astimezone(UTC)
    return when.isoformat(timespec="seconds")


def database_identity(drivername: str, database: str | None, rendered: str) -> str:
    """The database an index comes from, named alike however it was opened: a SQLite file by
    its absolute path, anything else by its URL (password hidden)."""
    if drivername.split("+")[0] == "sqlite" and database and database != ":memory:":
        return "sqlite:" + os.path.abspath(database)
    return rendered


def sqlite_file(url: str) -> str | None:
    """The file of a plain `sqlite:///PATH` URL (no query options), else None."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite" or "?" in rest:
        return None
    path = unquote(rest)
    return None if not path or path == ":memory:" else path


def current_snapshots_sqlite(path: str) -> list[Any] | None:
    """CURRENT_SNAPSHOTS of a SQLite file, opened read-only; None if it cannot be read
    (missing, locked for a minute, not yet created by `compliance update`...)."""
    if not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error:
        return None
    try:
        return conn.execute(CURRENT_SNAPSHOTS).fetchall()  # one statement: one consistent read
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def map_file(path: Path) -> mmap.mmap | None:
    """The file mapped read-only (pages are read as they are touched), or None."""
    try:
        with path.open("rb") as fh:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # missing, unreadable, or empty
        return None


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to a temporary file beside `path`, flush it to disk, rename it over
    `path`; drop the oldest index files past KEEP_CACHED. False if the folder is not writable
    (caching is an optimisation: the index is then rebuilt when needed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        olds = sorted(
            (p for p in path.parent.glob("index-*") if p != path and p.suffix != ".tmp"),
            key=_mtime,
        )
        for old in olds[: max(len(olds) - KEEP_CACHED + 1, 0)]:
            old.unlink(missing_ok=True)
        for stale in path.parent.glob("index-*.tmp"):  # left by a writer that was killed
            if _mtime(stale) < time.time() - STALE_TMP_SECONDS:
                stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="index-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
