"""`compliance update` and `compliance sources`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from compliance.cli.common import (
    DbOption,
    OutputFormat,
    database_errors,
    engine_for,
    fail,
    guarded,
    print_json,
)
from compliance.cli.progress_bars import progress_bar
from compliance.cli.tables import Col, fetched, list_date_cell, print_table, sha256_short
from compliance.lists_update import SourceOutcome
from compliance.sources import all_sources
from compliance.store.status import source_statuses
from compliance.update import update_sources

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def update(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Source keys (default: every source).")
    ] = None,
    mirror: Annotated[
        str | None,
        typer.Option(help="Read files from DIR/<source>/<file> (or a base URL) instead."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Re-read and reload files found unchanged, and accept a new snapshot even if "
            "it shrinks a list by over half."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    db: DbOption = None,
) -> None:
    """Fetch the official lists and replace each source's snapshot, all or nothing per source.

    A source whose files are the same as its current snapshot's is reported unchanged and not
    read again (over HTTP, a conditional GET answered 304 Not Modified)."""
    engine = engine_for(db)

    try:
        with database_errors(engine), progress_bar(quiet) as progress:
            outcomes = update_sources(
                engine, sources or None, mirror=mirror, force=force, on_done=_report,
                progress=progress,
            )  # fmt: skip
    except ValueError as exc:
        fail(str(exc))
    if any(o.ok and not o.unchanged and not o.skipped for o in outcomes):  # new lists: index
        _index_for_screening(engine)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _report(o: SourceOutcome) -> None:
    """One line per source as it is done: ok (records, data date, what changed), skipped or
    FAILED, then its notices and first warnings."""
    if o.skipped:
        typer.echo(f"skipped {o.source}: {o.skipped}")
        return
    if not o.ok:
        typer.echo(f"FAILED  {o.error}", err=True)
        return
    d = o.delta.counts()
    if o.unchanged:
        since = "unchanged"
    elif o.previous is not None:
        since = f"+{d['added']} added, -{d['removed']} removed, ~{d['changed']} changed"
    else:
        since = "first snapshot"
    date = f", data date {o.data_date}" if o.data_date else ""
    if o.data_date and o.data_date_from == "http-last-modified":
        date += " (HTTP Last-Modified)"
    typer.echo(f"ok      {o.source}: {o.records:,} records{date} ({since})")
    for n in o.notices:
        typer.secho(f"  !!!   {n}", err=True, bold=True, fg=typer.colors.RED)
    for w in o.warnings[:5]:
        typer.echo(f"        warning: {w}")
    if len(o.warnings) > 5:
        typer.echo(f"        ... and {len(o.warnings) - 5} more warnings")


def _index_for_screening(engine: Engine) -> None:
    """Build (and cache) the screening index of the lists now current, so that the next
    `compliance screen` starts at once."""
    from compliance.cli.progress_bars import progress_bar
    from compliance.matching.index import load_index

    start = time.monotonic()
    with database_errors(engine), progress_bar() as progress:
        index = load_index(engine, progress=progress)
    if len(index.entities):
        typer.echo(
            f"index   {len(index.names):,} names of {len(index.entities):,} entries ready "
            f"for screening ({time.monotonic() - start:.1f} s)"
        )


def sources(
    format: Annotated[OutputFormat, typer.Option("--format", help="table or json")] = (
        OutputFormat.table
    ),
    db: DbOption = None,
) -> None:
    """Each source: records, list date (the date its files state), when fetched, sha256, status."""
    engine = engine_for(db)
    with database_errors(engine):
        statuses = {s.source: s for s in source_statuses(engine)}
    known = all_sources()
    if format == OutputFormat.json:
        out = []
        for key in [*known, *[k for k in statuses if k not in known]]:
            s = statuses.get(key)
            row = {
                "source": key,
                "records": s.records if s else 0,
                "data_date": s.data_date if s else None,
                "fetched_at": s.fetched_at if s else None,
                "sha256": s.sha256 if s else None,
                "status": s.status if s else "never loaded",
            }
            out.append(row)  # exactly these six keys; title and last error are in the table
        print_json(out)
        return
    rows = []
    for key in [*known, *[k for k in statuses if k not in known]]:
        s = statuses.get(key)
        if s is None:
            rows.append([key, "0", "", "", "", "never loaded", known[key].title])
            continue
        rows.append([key, f"{s.records:,}", list_date_cell(s.data_date), fetched(s.fetched_at),
                     sha256_short(s.sha256), s.status, s.title])  # fmt: skip
    columns = [
        Col("source", wrap=False), Col("records", wrap=False, right=True),
        Col("list date", wrap=False), Col("fetched", wrap=False), Col("sha256", wrap=False),
        Col("status"), Col("title"),
    ]  # fmt: skip
    print_table(columns, rows)
    typer.echo("\nlist date: the date the source's own files state; fetched: when downloaded here.")
    for s in statuses.values():
        if s.last_error and s.status != "ok":
            typer.echo(f"\n{s.source} last attempt {fetched(s.last_attempt_at)}: {s.last_error}")


def register(app: typer.Typer) -> None:
    app.command()(guarded(update))
    app.command()(guarded(sources))
