"""The record of order checks: `accept` (a false positive, until the entry changes), `audit`
(past runs, their inputs, lists and decisions) and `rescreen` (past orders against new list
entries)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from compliance.cli.common import (
    DbOption,
    OutputFormat,
    engine_for,
    fail,
    guarded,
    print_json,
)
from compliance.cli.orders import BlockOpt, ReviewOpt, print_snapshots, score_thresholds
from compliance.cli.tables import Col, echo_decision, fetched, print_table, sha256_short, shorten
from compliance.orders import accept as accept_mod
from compliance.orders import audit as audit_mod
from compliance.orders.deciders import CheckOptions, make_decider
from compliance.orders.rescreen import rescreen as rescreen_fn
from compliance.store.db import resolve_url


def accept(
    party: Annotated[
        str | None, typer.Option(help="The party name as it appears in orders.")
    ] = None,
    entry: Annotated[str | None, typer.Option(help="The listed entry, SOURCE:ID.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why the party is not that entry.")] = None,
    by: Annotated[str | None, typer.Option(help="Who accepts (default: your login).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List accepted matches.")] = False,
    revoke: Annotated[int | None, typer.Option(help="Revoke the acceptance with this id.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Record that a party is not a listed entry (a false positive), or list / revoke them."""
    engine = engine_for(db)
    if revoke is not None:
        if not accept_mod.revoke(engine, revoke, by=by):
            fail(f"no active acceptance with id {revoke}")
        typer.echo(f"revoked acceptance #{revoke}")
        return
    if list_:
        rows = accept_mod.list_accepted(engine)
        current = accept_mod.load_acceptances(engine)
        valid = {a.id: a.still_valid for a in current.values()}
        data: list[dict[str, Any]] = [
            {
                "id": a.id,
                "party": a.party,
                "entry": f"{a.source}:{a.source_id}",
                "entry_name": a.entry_name,
                "by": a.accepted_by,
                "at": a.accepted_at.isoformat(timespec="seconds"),
                "reason": a.reason,
                "status": "active" if a.id in valid and valid[a.id] else "entry changed",
            }
            for a in rows
        ]
        if format == OutputFormat.json:
            print_json(data)
        else:
            print_table(
                [Col("id", wrap=False, right=True), Col("party"), Col("entry"),
                 Col("entry name"), Col("by"), Col("at", wrap=False), Col("status"),
                 Col("reason")],
                [
                    [d["id"], d["party"], d["entry"], d["entry_name"], d["by"],
                     d["at"].replace("T", " "), d["status"], shorten(d["reason"], 120)]
                    for d in data
                ],
            )  # fmt: skip
        return
    if not (party and entry and reason):
        fail("give --party, --entry SOURCE:ID and --reason (or --list / --revoke ID)")
    try:
        row = accept_mod.accept(engine, party, entry, reason, by=by)
    except accept_mod.AcceptError as exc:
        fail(str(exc))
    typer.echo(
        f"accepted #{row.id}: {row.party!r} is not {row.source}:{row.source_id} "
        f"({row.entry_name}); by {row.accepted_by}. Raised again if the entry changes."
    )


def audit(
    run_id: Annotated[
        int | None, typer.Argument(help="Show this run (default: list runs).")
    ] = None,
    export: Annotated[
        Path | None, typer.Option(help="Write the run's per-line decisions (.csv or .jsonl).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many recent runs to list.")] = 50,
    format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """List check runs, show one (input checksum, list snapshots, thresholds, counts), export
    its per-line decisions."""
    engine = engine_for(db)
    if run_id is None:
        if export is not None:
            fail("--export needs a RUN_ID")
        runs = audit_mod.list_runs(engine, limit)
        if format == OutputFormat.json:
            print_json([audit_mod.run_to_dict(r) for r in runs])
            return
        print_table(
            [Col("run", wrap=False, right=True), Col("started", wrap=False), Col("user"),
             Col("status"), Col("lines", wrap=False, right=True), Col("counts"), Col("input"),
             Col("input sha256", wrap=False)],
            [
                [r.id, fetched(r.started_at), r.user, r.status, f"{r.line_count or 0:,}",
                 " ".join(f"{k}={v}" for k, v in (r.counts or {}).items() if v),
                 Path(r.input_path).name, sha256_short(r.input_sha256)]
                for r in runs
            ],
        )  # fmt: skip
        return
    run = audit_mod.get_run(engine, run_id)
    if run is None:
        fail(f"no check run #{run_id}")
    if export is not None:
        n = audit_mod.export_run(engine, run_id, export)
        typer.echo(f"wrote {n:,} lines of run #{run_id} to {export}")
        return
    d = audit_mod.run_to_dict(run)
    if format == OutputFormat.json:
        print_json(d)
        return
    labels = {
        "id": "run", "started_at": "started", "finished_at": "finished", "status": "status",
        "user": "user", "input_path": "input", "input_sha256": "input sha256",
        "input_format": "input format", "output_path": "output", "line_count": "lines",
    }  # fmt: skip
    for k, label in labels.items():
        value = d.get(k)
        if k.endswith("_at"):
            value = fetched(value) or value
        typer.echo(f"{label:13} {'' if value is None else value}")
    typer.echo(f"{'thresholds':13} {d['thresholds']}")
    typer.echo(f"{'counts':13} {d['counts']}")
    typer.echo("lists used:")
    print_snapshots(d["snapshots"])


def rescreen(
    run: Annotated[
        list[int] | None, typer.Option("--run", help="Re-check these runs (default: all).")
    ] = None,
    block_threshold: BlockOpt = 90.0,
    review_threshold: ReviewOpt = 80.0,
    record: Annotated[bool, typer.Option("--audit/--no-audit", help="Record it.")] = True,
    format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Re-check the parties of past runs against only the entries added or changed since.

    Exit status 1 when there are new hits."""
    thresholds = score_thresholds(block_threshold, review_threshold)
    engine = engine_for(db)
    for run_id in run or []:
        if audit_mod.get_run(engine, run_id) is None:
            fail(f"--run {run_id}: no check run #{run_id}; `compliance audit` lists the runs")
    opts = CheckOptions(db_url=resolve_url(db), thresholds=thresholds)
    report = rescreen_fn(
        engine,
        lambda: make_decider(opts),
        run_ids=run or None,
        thresholds=thresholds,
        record=record,
    )
    if format == OutputFormat.json:
        print_json(
            {
                "id": report.id,
                "runs": report.run_ids,
                "parties_checked": report.parties_checked,
                "new_entries": report.new_entries,
                "thresholds": report.thresholds,
                "hits": report.hits,
            }
        )
    else:
        typer.echo(
            f"Re-screened {report.parties_checked:,} parties of {len(report.run_ids)} "
            f"run(s) against {report.entries_checked:,} added/changed entries "
            f"({', '.join(f'{k} {v:,}' for k, v in report.new_entries.items()) or 'none'})"
            f"; thresholds block {thresholds.block:g}, review {thresholds.review:g}"
        )
        if not report.hits:
            typer.echo("No new hits.")
        for h in report.hits:
            echo_decision(h.get("decision", ""), shorten(h["text"], 400))
            for ln in h["lines"][:10]:
                typer.echo(
                    f"    run #{ln['run_id']} line {ln['line']} order {ln['order_id']} "
                    f"({ln['role']})"
                )
            if len(h["lines"]) > 10:
                typer.echo(f"    ... and {len(h['lines']) - 10} more lines")
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(guarded(accept))
    app.command()(guarded(audit))
    app.command()(guarded(rescreen))
