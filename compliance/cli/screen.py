"""`compliance screen`: one name as a table or JSON; a file of parties (compliance/cli/
screen_files.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from compliance.cli.common import (
    EXIT_CLEAR,
    EXIT_MATCH,
    DbOption,
    engine_for,
    fail,
    guarded,
    print_json,
)
from compliance.cli.progress_bars import progress_bar
from compliance.cli.screen_files import ScreenFormat, screen_dask, screen_file
from compliance.cli.tables import Col, display_list, list_date_cell, print_table, snapshot_line
from compliance.screening import (
    DEFAULT_THRESHOLD,
    Query,
    Screener,
    ScreeningError,
)


class Algorithm(StrEnum):
    default = "default"
    ofac = "ofac"


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


NameArg = Annotated[str | None, typer.Argument(help="The party's name.")]
TypeOpt = Annotated[
    str | None, typer.Option("--type", help="person, organization, vessel or aircraft")
]
CountryOpt = Annotated[str | None, typer.Option(help="Country (ISO code or name).")]
DobOpt = Annotated[str | None, typer.Option(help="Date of birth: YYYY or YYYY-MM-DD.")]
IdOpt = Annotated[str | None, typer.Option("--id", help="An identifier number.")]
ListOpt = Annotated[
    list[str] | None, typer.Option("--list", help="Only these sources (repeat or comma-separate).")
]
ThresholdOpt = Annotated[float, typer.Option(help="Minimum score, 0-100.")]
LimitOpt = Annotated[int, typer.Option(help="At most this many matches per name.")]
AlgorithmOpt = Annotated[Algorithm, typer.Option(help="default or ofac")]
FormatOpt = Annotated[
    ScreenFormat | None,
    typer.Option("--format", help="table or json for a name; jsonl or csv for --file"),
]
FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="CSV, JSONL or Parquet with columns name[,type,country,dob,id]"),
]
WorkersOpt = Annotated[int, typer.Option(help="Processes (or Dask workers) for --file.")]
EngineOpt = Annotated[
    Engine, typer.Option(help="--file: local processes, or a Dask cluster (--output)")
]
OutputOpt = Annotated[
    Path | None, typer.Option(help="--engine dask: results folder (partition files, resumable)")
]
SchedulerOpt = Annotated[
    str | None, typer.Option(help="--engine dask: tcp://host:8786 (default: a LocalCluster)")
]
PartitionOpt = Annotated[int, typer.Option(help="--engine dask: rows per partition")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="--file: no progress bar on stderr.")]


def screen(
    name: NameArg = None,
    type: TypeOpt = None,
    country: CountryOpt = None,
    dob: DobOpt = None,
    id: IdOpt = None,
    list_: ListOpt = None,
    threshold: ThresholdOpt = DEFAULT_THRESHOLD,
    limit: LimitOpt = 10,
    algorithm: AlgorithmOpt = Algorithm.default,
    format: FormatOpt = None,
    file: FileOpt = None,
    workers: WorkersOpt = 1,
    engine: EngineOpt = Engine.local,
    output: OutputOpt = None,
    scheduler: SchedulerOpt = None,
    partition_rows: PartitionOpt = 20_000,
    quiet: QuietOpt = False,
    db: DbOption = None,
) -> None:
    """Screen a name (or every row of --file) against the loaded lists.

    Exit status: 0 nothing matched, 1 something matched, 2 bad input or no lists loaded.
    """
    _check_screen_options(name, file, dob, threshold, limit, workers)
    lists = _split_lists(list_)
    if engine == Engine.dask or output is not None:
        if file is None or output is None or engine != Engine.dask:
            fail("--engine dask needs --file and --output DIR (partitioned results)")
        raise typer.Exit(
            screen_dask(file, output, format, threshold, limit, lists, workers, scheduler,
                        partition_rows, quiet, db)
        )  # fmt: skip
    if file is not None:
        fmt = format or ScreenFormat.jsonl
        if fmt not in (ScreenFormat.jsonl, ScreenFormat.csv):
            fail("--file writes --format jsonl or csv")
        screener = _load_screener(db, lists, algorithm.value)
        raise typer.Exit(screen_file(file, screener, fmt, threshold, limit, max(workers, 1), quiet))
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


def _check_screen_options(
    name: str | None, file: Path | None, dob: str | None, threshold: float, limit: int,
    workers: int,
) -> None:  # fmt: skip
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


def register(app: typer.Typer) -> None:
    app.command()(guarded(screen))
