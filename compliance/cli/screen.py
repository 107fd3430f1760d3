"""`compliance screen` and `compliance compare`."""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from compliance.batch.parties import parties_format, read_any
from compliance.cli.common import (
    EXIT_CLEAR,
    EXIT_ERROR,
    EXIT_MATCH,
    DbOption,
    engine_for,
    fail,
    guarded,
    print_json,
)
from compliance.cli.progress_bars import progress_bar, show_progress
from compliance.cli.tables import Col, display_list, list_date_cell, print_table, snapshot_line
from compliance.screen_file import InputFileError, count_rows, screen_rows
from compliance.screening import (
    DEFAULT_THRESHOLD,
    Query,
    Screener,
    ScreeningError,
    compare,
)


class Algorithm(StrEnum):
    default = "default"
    ofac = "ofac"


class ScreenFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


def _split_lists(values: list[str] | None) -> list[str] | None:
    out = [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
    return out or None


def check_dob(dob: str) -> None:
    """YYYY-MM-DD must be a real date (the screener checks the shape: YYYY or YYYY-MM-DD)."""
    text = dob.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            date.fromisoformat(text)
        except ValueError:
            fail(f"--dob {dob!r} is not a real date: give YYYY or YYYY-MM-DD (e.g. 1952-10-07)")


def _load_screener(db: str | None, lists: list[str] | None, algorithm: str) -> Screener:
    from compliance.cli.progress_bars import progress_bar
    from compliance.matching.index import cached_index, load_index
    from compliance.store.db import resolve_url

    index = cached_index(resolve_url(db))  # valid cache: no SQLAlchemy, no schema check
    if index is None:
        engine = engine_for(db)
        with progress_bar() as progress:  # the first screen after an update builds the index
            index = load_index(engine, progress=progress)
    try:
        screener = Screener(index, lists=lists, algorithm=algorithm)
    except ScreeningError as exc:
        fail(str(exc))
    if not screener.index.entities:
        fail("no lists are loaded in this database; run `compliance update` first")
    return screener


def screen(
    name: Annotated[str | None, typer.Argument(help="The party's name.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="person, organization, vessel or aircraft")
    ] = None,
    country: Annotated[str | None, typer.Option(help="Country (ISO code or name).")] = None,
    dob: Annotated[str | None, typer.Option(help="Date of birth: YYYY or YYYY-MM-DD.")] = None,
    id: Annotated[str | None, typer.Option("--id", help="An identifier number.")] = None,
    list_: Annotated[
        list[str] | None,
        typer.Option("--list", help="Only these sources (repeat or comma-separate)."),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Minimum score, 0-100.")] = DEFAULT_THRESHOLD,
    limit: Annotated[int, typer.Option(help="At most this many matches per name.")] = 10,
    algorithm: Annotated[Algorithm, typer.Option(help="default or ofac")] = Algorithm.default,
    format: Annotated[
        ScreenFormat | None,
        typer.Option("--format", help="table or json for a name; jsonl or csv for --file"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="CSV, JSONL or Parquet with columns name[,type,country,dob,id]"
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes (or Dask workers) for --file.")] = 1,
    engine: Annotated[
        Engine, typer.Option(help="--file: local processes, or a Dask cluster (--output)")
    ] = Engine.local,
    output: Annotated[
        Path | None,
        typer.Option(help="--engine dask: results folder (partition files, resumable)"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="--engine dask: tcp://host:8786 (default: a LocalCluster)"),
    ] = None,
    partition_rows: Annotated[int, typer.Option(help="--engine dask: rows per partition")] = 20_000,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="--file: no progress bar on stderr.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Screen a name (or every row of --file) against the loaded lists.

    Exit status: 0 nothing matched, 1 something matched, 2 bad input or no lists loaded.
    """
    if not 0 <= threshold <= 100:
        fail(f"--threshold {threshold:g}: give a score between 0 and 100 (default 85)")
    if limit < 1:
        fail(f"--limit {limit}: give at least 1")
    if workers < 1:
        fail(f"--workers {workers}: give at least 1")
    if dob is not None:
        check_dob(dob)
    if (name is None) == (file is None):
        fail("give either a NAME or --file parties.csv")
    lists = _split_lists(list_)
    if engine == Engine.dask or output is not None:
        if file is None or output is None or engine != Engine.dask:
            fail("--engine dask needs --file and --output DIR (partitioned results)")
        raise typer.Exit(
            _screen_dask(file, output, format, threshold, limit, lists, workers, scheduler,
                         partition_rows, quiet, db)
        )  # fmt: skip
    if file is not None:
        fmt = format or ScreenFormat.jsonl
        if fmt not in (ScreenFormat.jsonl, ScreenFormat.csv):
            fail("--file writes --format jsonl or csv")
        screener = _load_screener(db, lists, algorithm.value)
        raise typer.Exit(
            _screen_file(file, screener, fmt, threshold, limit, max(workers, 1), quiet)
        )
    fmt = format or ScreenFormat.table
    if fmt not in (ScreenFormat.table, ScreenFormat.json):
        fail("a single name prints --format table or json")
    screener = _load_screener(db, lists, algorithm.value)
    try:
        result = screener.screen(Query(name or "", type, country, dob, id), threshold, limit)
    except ScreeningError as exc:
        fail(str(exc))
    if fmt == ScreenFormat.json:
        print_json(result.to_dict())
    else:
        _print_result_table(result.matches, threshold)
    raise typer.Exit(EXIT_MATCH if result.matches else EXIT_CLEAR)


def _print_result_table(matches: list[Any], threshold: float) -> None:
    if not matches:
        typer.echo(f"No match at or above {threshold:g}.")
        return
    rows = [
        [
            f"{m.score:g}",
            m.name,
            m.matched_name if m.matched_name != m.name else "",
            m.type,
            ", ".join(s["source"] + ":" + s["source_id"] for s in m.sources),
            display_list(m),
            "; ".join(dict.fromkeys(m.programs)),
            list_date_cell((m.snapshot or {}).get("data_date")),
        ]
        for m in matches
    ]
    columns = [
        Col("score", wrap=False, right=True), Col("listed name"), Col("matched name"),
        Col("type", wrap=False), Col("entries"), Col("lists"), Col("programs"),
        Col("list date", wrap=False),
    ]  # fmt: skip
    print_table(columns, rows)
    typer.echo("")
    shown: dict[str, int] = {}  # a license requirement already printed -> its match number
    for i, m in enumerate(matches, 1):
        typer.echo(f"{i}. {m.explanation}")
        typer.echo(f"   lists: {display_list(m)}")
        requirement = m.fields.get("license_requirement")
        if requirement:
            policy = m.fields.get("license_policy", "")
            key = f"{requirement}\0{policy}"
            if key in shown:
                typer.echo(f"   license requirement and policy: as for match {shown[key]}")
            else:
                shown[key] = i
                typer.echo(f"   license requirement: {requirement}; policy: {policy}")
        notice = " ".join(str(m.fields.get("federal_register_notice") or "").split()).strip(", ")
        if notice:
            typer.echo(f"   Federal Register: {notice}")
        snap = m.snapshot or {}
        typer.echo(f"   snapshot: {snap.get('source')} #{snap.get('id')}: {snapshot_line(snap)}")


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


def _screen_file(
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


def compare_cmd(
    name1: Annotated[str | None, typer.Argument(help="First name.")] = None,
    name2: Annotated[str | None, typer.Argument(help="Second name.")] = None,
    type: Annotated[str | None, typer.Option("--type", help="person, organization...")] = None,
    algorithm: Annotated[Algorithm, typer.Option(help="default or ofac")] = Algorithm.default,
    format: Annotated[
        ScreenFormat | None, typer.Option("--format", help="table or json; jsonl for --file")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="CSV with name1,name2[,type] columns")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Exit 1 when a score reaches it.")] = (
        DEFAULT_THRESHOLD
    ),
    db: DbOption = None,
) -> None:
    """Score two names against each other and explain why they (do not) match.

    Words weigh by their rarity in the loaded lists when a database with lists is available
    (--db, COMPLIANCE_DB or the default one), as in screening; otherwise all weigh the same.
    """
    index = _compare_index(db)
    if file is not None:
        _compare_file(file, algorithm.value, threshold, index)
        return
    if name1 is None or name2 is None:
        fail("give two names, or --file pairs.csv")
    try:
        result = compare(name1, name2, algorithm=algorithm.value, idf=index, type=type)
    except ScreeningError as exc:
        fail(str(exc))
    result["type"] = type
    if format in (ScreenFormat.json, ScreenFormat.jsonl):
        print_json(result)
    else:
        typer.echo(f"score {result['score']:g} ({result['algorithm']})")
        typer.echo(f"why: {result['explanation']}")
        for row in result["features"].get("model", {}).get("features", []):
            typer.echo(
                f"  {row['feature']:<24} {row['value']:>6g} x {row['weight']:>+8.3f} = "
                f"{row['contribution']:>+8.3f}  {row['meaning']}"
            )
        weights = result["features"].get("token_weights") or {}
        if weights:
            typer.echo("word rarity: " + ", ".join(f"{t} {w:g}" for t, w in weights.items()))
    raise typer.Exit(EXIT_MATCH if result["score"] >= threshold else EXIT_CLEAR)


def _compare_index(db: str | None) -> Any:
    """The loaded lists' index for word rarity, or None (equal weights) when there is none.
    An explicit --db that cannot be opened is an error; the default database may be absent."""
    import os

    from compliance.matching.index import load_index

    explicit = db or os.environ.get("COMPLIANCE_DB")
    try:
        engine = engine_for(db) if explicit else _default_engine()
        if engine is None:
            return None
        index = load_index(engine)
    except typer.Exit:
        raise
    except Exception as exc:  # no tables yet, unreadable file
        if explicit:
            fail(f"cannot read the lists from {db or explicit}: {exc.__class__.__name__}")
        return None
    return index if index.entities else None


def _default_engine() -> Any:
    from compliance.store.db import default_url, get_engine

    url = default_url()
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and not Path(path).is_file():
        return None
    return get_engine(url)


def _compare_file(path: Path, algorithm: str, threshold: float, index: Any = None) -> None:
    try:
        fh = path.open(encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        fail(f"{path}: cannot open: {exc.strerror}")
    any_match = any_error = False
    with fh:
        reader = csv.DictReader(fh)
        cols = [c.strip().lower() for c in reader.fieldnames or []]
        if "name1" not in cols or "name2" not in cols:
            fail(f"{path}: needs name1 and name2 columns; found {', '.join(cols) or 'none'}")
        reader.fieldnames = cols
        for n, rec in enumerate(reader, 1):
            a, b = (rec.get("name1") or "").strip(), (rec.get("name2") or "").strip()
            out: dict[str, Any] = {
                "row": n,
                "input": {"name1": a, "name2": b, "type": rec.get("type") or None},
            }
            if not a or not b:
                any_error = True
                out |= {
                    "score": None,
                    "explanation": None,
                    "error": f"line {reader.line_num}: name1 and name2 are both required",
                }
            else:
                try:
                    r = compare(a, b, algorithm=algorithm, idf=index, type=rec.get("type"))
                except ScreeningError as exc:
                    any_error = True
                    out |= {
                        "score": None,
                        "explanation": None,
                        "error": f"line {reader.line_num}: {exc}",
                    }
                    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
                    continue
                any_match |= r["score"] >= threshold
                out |= {
                    "score": r["score"],
                    "explanation": r["explanation"],
                    "features": r["features"],
                    "error": None,
                }
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    raise typer.Exit(EXIT_MATCH if any_match else (EXIT_ERROR if any_error else EXIT_CLEAR))


def register(app: typer.Typer) -> None:
    app.command()(guarded(screen))
    app.command("compare")(guarded(compare_cmd))


def _screen_dask(
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
