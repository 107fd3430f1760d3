"""`compliance screen --file`: every row of a parties file screened, in input order, as JSONL or
CSV on stdout, or partitioned on a Dask cluster into a folder."""

from __future__ import annotations

import csv
import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from compliance.batch.parties import parties_format, read_any
from compliance.cli.common import EXIT_CLEAR, EXIT_ERROR, EXIT_MATCH, engine_for, fail
from compliance.cli.progress_bars import progress_bar, show_progress
from compliance.screen_file import InputFileError, count_rows, screen_rows
from compliance.screening import Screener


class ScreenFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


_CSV_FIELDS = (
    "row",
    "name",
    "type",
    "country",
    "dob",
    "id",
    "status",
    "matches",
    "best_score",
    "best_source",
    "best_source_id",
    "best_name",
    "error",
    "details",
)


def csv_safe(value: Any) -> str:
    """Spreadsheet-formula-looking cells are quoted so reports never execute input."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def screen_file(
    path: Path,
    screener: Screener,
    fmt: ScreenFormat,
    threshold: float,
    limit: int,
    workers: int,
    quiet: bool,
) -> int:
    try:
        rows = read_any(path)
        first = next(rows, None)
    except InputFileError as exc:
        fail(str(exc))
    if first is None:
        typer.echo(f"warning: {path} has a header but no rows", err=True)

    def all_rows() -> Any:
        if first is not None:
            yield first
        yield from rows

    out = sys.stdout
    writer = csv.writer(out) if fmt == ScreenFormat.csv else None
    if writer:
        writer.writerow(_CSV_FIELDS)
    counts = {"clear": 0, "match": 0, "error": 0}
    started = time.monotonic()
    csv_input = parties_format(path) == "csv"
    total = count_rows(path) if csv_input and show_progress(quiet) else None
    try:
        with progress_bar(quiet) as progress:
            results = screen_rows(all_rows(), screener, threshold=threshold, limit=limit,
                                  workers=workers, progress=progress, total=total)  # fmt: skip
            for res in results:
                counts[res["status"]] += 1
                if writer:
                    writer.writerow([csv_safe(v) for v in _csv_row(res)])
                else:
                    out.write(json.dumps(res, ensure_ascii=False, default=str) + "\n")
    except InputFileError as exc:
        fail(str(exc))
    n, secs = sum(counts.values()), time.monotonic() - started
    typer.echo(
        f"screened {n:,} rows in {secs:.1f} s: {counts['match']:,} with matches, "
        f"{counts['clear']:,} clear, {counts['error']:,} errors",
        err=True,
    )
    if counts["error"]:
        return EXIT_ERROR if not counts["match"] else EXIT_MATCH
    return EXIT_MATCH if counts["match"] else EXIT_CLEAR


def _csv_row(res: dict[str, Any]) -> tuple[Any, ...]:
    best = res["matches"][0] if res["matches"] else {}
    inp = res["input"]
    return (
        res["row"],
        inp.get("name"),
        inp.get("type"),
        inp.get("country"),
        inp.get("dob"),
        inp.get("id"),
        res["status"],
        len(res["matches"]),
        best.get("score"),
        best.get("source"),
        best.get("source_id"),
        best.get("name"),
        res["error"],
        "; ".join(f"{m['source']}:{m['source_id']} {m['score']:g}" for m in res["matches"]),
    )


def screen_dask(
    path: Path,
    output: Path,
    fmt: ScreenFormat | None,
    threshold: float,
    limit: int,
    lists: list[str] | None,
    workers: int,
    scheduler: str | None,
    partition_rows: int,
    quiet: bool,
    db: str | None,
) -> int:
    from compliance.batch.dask_run import BatchError, BatchOptions, run_batch
    from compliance.store.db import resolve_url

    out_fmt = (fmt or ScreenFormat.jsonl).value
    if out_fmt not in ("jsonl", "parquet"):
        fail("--engine dask writes --format jsonl or parquet")
    engine_for(db)  # the database opens, or one line says why
    try:
        opts = BatchOptions(threshold, limit, lists, partition_rows, out_fmt)
        with progress_bar(quiet) as progress:
            report = run_batch(path, output, resolve_url(db), opts=opts, scheduler=scheduler,
                               workers=max(workers, 2 if scheduler is None else 1),
                               progress=progress)  # fmt: skip
    except (BatchError, InputFileError) as exc:
        fail(str(exc))
    typer.echo(
        f"{report.rows:,} rows in {report.partitions} partitions ({report.skipped} already done) "
        f"-> {output}: {report.matched:,} matched, {report.errors:,} errors, "
        f"{report.seconds:,.1f} s; snapshot {report.snapshot['key']}",
        err=True,
    )
    return EXIT_MATCH if report.matched else EXIT_CLEAR
