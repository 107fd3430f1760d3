"""Screen a parties file on a Dask cluster: partitions in parallel, resumable, one snapshot.

The client reads the input once, cuts it into partitions of `partition_rows` rows and submits
each partition that the output folder does not already hold. A worker loads the index once
(from the index cache the database's snapshots key) and screens its partitions with the same
code as `compliance screen --file`; each partition is written whole or not at all. A lost worker's
partitions are rescheduled by Dask; a killed client is restarted on the same folder and skips
what is done. The manifest names the list snapshot, and a worker whose index is of any other
snapshot refuses to screen, so one run never mixes list versions.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compliance.batch.output import (
    OUTPUT_FORMATS,
    done_parts,
    read_manifest,
    write_manifest,
    write_part,
)
from compliance.batch.parties import read_any
from compliance.progress import NO_PROGRESS, Progress
from compliance.screen_file import Row

DEFAULT_PARTITION_ROWS = 20_000


class BatchError(Exception):
    pass


@dataclass(frozen=True)
class BatchOptions:
    threshold: float | None = None
    limit: int = 10
    lists: list[str] | None = None
    partition_rows: int = DEFAULT_PARTITION_ROWS
    output_format: str = "jsonl"

    def __post_init__(self) -> None:
        if self.output_format not in OUTPUT_FORMATS:
            raise BatchError(f"output format {self.output_format!r}: use jsonl or parquet")
        if self.partition_rows < 1:
            raise BatchError("--partition-rows must be at least 1")


@dataclass
class BatchReport:
    output: str
    partitions: int = 0
    skipped: int = 0  # partitions already in the folder (a resumed run)
    rows: int = 0
    matched: int = 0
    errors: int = 0
    seconds: float = 0.0
    snapshot: dict[str, Any] = field(default_factory=dict)
    part_seconds: list[float] = field(default_factory=list)  # per partition screened now
    worker_peak_rss_kb: dict[int, int] = field(default_factory=dict)  # worker pid -> peak RSS


def snapshot_of(db_url: str) -> dict[str, Any]:
    """The list versions a run screens against: the index key and every current snapshot."""
    from compliance.matching.index import cache_key
    from compliance.store.db import get_engine

    key, snaps = cache_key(get_engine(db_url))
    if not snaps:
        raise BatchError("no lists are loaded in this database; run `compliance update` first")
    return {"key": key, "snapshots": {str(k): v for k, v in sorted(snaps.items())}}


# ---- on the workers ----------------------------------------------------------------------

_SCREENER: dict[tuple[str, str], Any] = {}


def _screener(db_url: str, key: str, lists: list[str] | None, cache_dir: str | None) -> Any:
    from compliance.screening import Screener
    from compliance.store.db import get_engine

    found = _SCREENER.get((db_url, key))
    if found is None:
        if cache_dir:
            os.environ["COMPLIANCE_CACHE"] = cache_dir
        found = Screener.load(get_engine(db_url), lists=lists)
        if found.index.key != key:
            raise BatchError(
                f"the lists changed during the run (index {key} at the start, "
                f"{found.index.key} now); the partitions written so far are kept: start a new "
                "output folder to screen every row against the current lists"
            )
        _SCREENER.clear()  # one index per worker process
        _SCREENER[(db_url, key)] = found
    return found


def screen_partition(
    part: int,
    rows: list[Row],
    folder: str,
    db_url: str,
    key: str,
    opts: dict[str, Any],
    cache_dir: str | None,
) -> dict[str, int]:
    """Screen one partition on a worker and write it; returns its counts."""
    import resource

    from compliance.screen_file import screen_rows

    screener = _screener(db_url, key, opts["lists"], cache_dir)
    began = time.perf_counter()
    results = list(
        screen_rows(rows, screener, threshold=opts["threshold"], limit=opts["limit"], workers=1)
    )
    write_part(Path(folder), part, opts["output_format"], results)
    return {
        "part": part,
        "rows": len(results),
        "matched": sum(r["status"] == "match" for r in results),
        "errors": sum(r["status"] == "error" for r in results),
        "seconds": time.perf_counter() - began,  # screening and writing, not the index load
        "worker": os.getpid(),
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# ---- on the client -------------------------------------------------------------------------


def _partitions(rows: Iterable[Row], size: int) -> Iterator[tuple[int, list[Row]]]:
    chunk: list[Row] = []
    part = 0
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield part, chunk
            part, chunk = part + 1, []
    if chunk:
        yield part, chunk


def _manifest(input_path: Path, opts: BatchOptions, snapshot: dict[str, Any]) -> dict[str, Any]:
    st = input_path.stat()
    return {
        "input": {"path": str(input_path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns},
        "options": asdict(opts),
        "snapshot": snapshot,
    }


def _check_resume(folder: Path, wanted: dict[str, Any]) -> bool:
    """True when the folder holds an earlier run of the same input, options and lists."""
    old = read_manifest(folder)
    if old is None:
        if any(folder.glob("part-*")):
            raise BatchError(f"{folder} holds partition files but no manifest; use a new folder")
        return False
    for what, label in (("input", "input file"), ("options", "options")):
        if old.get(what) != wanted[what]:
            raise BatchError(
                f"{folder} holds a run with another {label} ({old.get(what)}); resume with the "
                "same input and options, or use a new output folder"
            )
    if old["snapshot"]["key"] != wanted["snapshot"]["key"]:
        raise BatchError(
            f"{folder} holds results screened against other list versions (index "
            f"{old['snapshot']['key']}, now {wanted['snapshot']['key']}); results of two list "
            "versions are never mixed: use a new output folder"
        )
    return True


def _client(scheduler: str | None, workers: int) -> Any:
    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)  # a lost worker is expected, not news
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster)


def run_batch(
    input_path: Path,
    folder: Path,
    db_url: str,
    *,
    opts: BatchOptions | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Progress = NO_PROGRESS,
) -> BatchReport:
    """Screen every row of `input_path` into partition files under `folder`."""
    opts = opts or BatchOptions()
    started = time.monotonic()
    input_path = input_path.resolve()
    rows = read_any(input_path)  # checks the file and its columns before any cluster starts
    snapshot = snapshot_of(db_url)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = _manifest(input_path, opts, snapshot)
    resumed = _check_resume(folder, wanted)
    for stale in folder.glob(".part-*.tmp"):
        stale.unlink()  # a partition a killed run was writing: it is redone
    if not resumed:
        write_manifest(folder, wanted | {"started_at": datetime.now(UTC).isoformat()})
    fmt = opts.output_format
    done = done_parts(folder, fmt)
    report = BatchReport(output=str(folder), snapshot=snapshot)
    progress.start("batch", "screening partitions", None)
    client = _client(scheduler, workers)
    try:
        _screen_partitions(client, rows, folder, db_url, opts, done, report, workers, progress)
    finally:
        client.close()
        if not scheduler and getattr(client, "cluster", None) is not None:
            client.cluster.close()
        progress.finish("batch")
    missing = set(range(report.partitions)) - done_parts(folder, fmt)
    if missing:
        raise BatchError(f"partitions {sorted(missing)[:10]} were not written; run again")
    report.seconds = round(time.monotonic() - started, 2)
    write_manifest(
        folder,
        (read_manifest(folder) or wanted)
        | {
            "finished_at": datetime.now(UTC).isoformat(),
            "partitions": report.partitions,
            "rows": report.rows + _rows_of_skipped(report, folder, fmt, done),
        },
    )
    return report


def _screen_partitions(
    client: Any, rows: Iterator[Row], folder: Path, db_url: str, opts: BatchOptions,
    done: set[int], report: BatchReport, workers: int, progress: Progress,
) -> None:  # fmt: skip
    """Each partition not done yet screened on the cluster, at most two per worker in flight;
    the counts of each finished partition added to `report`."""
    from distributed import wait

    window: deque[Any] = deque()
    limit = 2 * max(1, len(client.scheduler_info().get("workers", {})) or workers)
    cache_dir = os.environ.get("COMPLIANCE_CACHE")
    task_opts = asdict(opts)

    def collect(future: Any) -> None:
        counts = future.result()
        report.rows += counts["rows"]
        report.matched += counts["matched"]
        report.errors += counts["errors"]
        report.part_seconds.append(counts["seconds"])
        pid = counts["worker"]
        report.worker_peak_rss_kb[pid] = max(report.worker_peak_rss_kb.get(pid, 0),
                                             counts["rss_kb"])  # fmt: skip
        progress.advance("batch", counts["rows"])

    for part, chunk in _partitions(rows, opts.partition_rows):
        report.partitions += 1
        if part in done:
            report.skipped += 1
            continue
        window.append(
            client.submit(
                screen_partition, part, chunk, str(folder), db_url, report.snapshot["key"],
                task_opts, cache_dir, pure=False, retries=2,
            )
        )  # fmt: skip
        while len(window) >= limit:
            wait([window[0]])
            collect(window.popleft())
    while window:
        collect(window.popleft())


def _rows_of_skipped(report: BatchReport, folder: Path, fmt: str, done: set[int]) -> int:
    """Rows in the partitions a resumed run found done (counted from their files)."""
    if not report.skipped:
        return 0
    from compliance.batch.output import part_path

    total = 0
    for part in done:
        path = part_path(folder, part, fmt)
        if fmt == "jsonl":
            with path.open("rb") as fh:
                total += sum(1 for _ in fh)
        else:
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
    return total
