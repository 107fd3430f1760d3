"""`compliance check`, `accept`, `audit` and `rescreen`: batch order checking."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from compliance.cli.common import (
    EXIT_ERROR,
    DbOption,
    OutputFormat,
    engine_for,
    fail,
    guarded,
    print_json,
)
from compliance.cli.progress_bars import progress_bar
from compliance.cli.tables import (
    Col,
    echo_decision,
    fetched,
    list_date_cell,
    print_table,
    sha256_short,
    shorten,
)
from compliance.orders import accept as accept_mod
from compliance.orders import audit as audit_mod
from compliance.orders.decide import DECISIONS, ScoreThresholds
from compliance.orders.reader import InputError, load_mapping_file, parse_map_options
from compliance.orders.rescreen import rescreen as rescreen_fn
from compliance.orders.run import CheckOptions, CheckReport, NoListsError, check_file, make_decider
from compliance.orders.writer import merge_reasons
from compliance.store.db import resolve_url

BlockOpt = Annotated[
    float, typer.Option("--block-threshold", help="Score at or above which a match is sure.")
]
ReviewOpt = Annotated[
    float, typer.Option("--review-threshold", help="Score from which a match is worth a look.")
]


def _thresholds(block: float, review: float) -> ScoreThresholds:
    try:
        return ScoreThresholds(block=block, review=review)
    except ValueError as exc:
        fail(str(exc))


def check(
    file: Annotated[Path, typer.Argument(help="Order file: .csv, .xlsx or .jsonl")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write every line with its decision: .csv, .jsonl, .xlsx",
        ),
    ] = None,
    output_format: Annotated[
        str | None, typer.Option(help="csv, jsonl or xlsx (default: from --output's name).")
    ] = None,
    input_format: Annotated[
        str | None, typer.Option(help="csv, xlsx or jsonl (default: from the file name).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help='FIELD="Source Column" (repeatable), e.g. customer="Sold-To".'),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file: JSON object or FIELD = Column lines.")
    ] = None,
    block_threshold: BlockOpt = 90.0,
    review_threshold: ReviewOpt = 80.0,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: all cores for big files).")
    ] = None,
    on_date: Annotated[
        str | None, typer.Option("--date", help="Apply the rules in force on YYYY-MM-DD.")
    ] = None,
    lists: Annotated[
        list[str] | None, typer.Option("--list", help="Screen against these sources only.")
    ] = None,
    record: Annotated[bool, typer.Option("--audit/--no-audit", help="Record the run.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    format: Annotated[OutputFormat, typer.Option("--format", help="Summary: table or json")] = (
        OutputFormat.table
    ),
    db: DbOption = None,
) -> None:
    """Decide every order line: BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR (ERROR: unreadable).

    Exit status 0 when every line is CLEAR, 1 otherwise, 2 when the file cannot be checked."""
    thresholds = _thresholds(block_threshold, review_threshold)
    try:
        explicit = load_mapping_file(mapping) if mapping else {}
        explicit |= parse_map_options(map_ or [])
    except InputError as exc:
        fail(str(exc))
    day = None
    if on_date:
        try:
            day = date.fromisoformat(on_date)
        except ValueError:
            fail(f"--date {on_date!r}: expected YYYY-MM-DD")
    engine = engine_for(db)  # a clear error now for an unusable database
    if lists:
        _check_lists(engine, lists)
    if workers is None:
        big = file.is_file() and file.stat().st_size > 2_000_000
        workers = (os.cpu_count() or 1) if big else 1
    opts = CheckOptions(
        db_url=resolve_url(db),
        mapping=explicit,
        thresholds=thresholds,
        on_date=day,
        lists=lists or None,
        workers=max(1, workers),
    )
    try:
        with progress_bar(quiet) as progress:
            report = check_file(
                file,
                opts,
                output=output,
                output_format=output_format,
                input_format=input_format,
                record=record,
                progress=progress,
            )
    except (InputError, NoListsError, ValueError) as exc:
        fail(str(exc), EXIT_ERROR)
    if format == OutputFormat.json:
        print_json(_report_dict(report))
    else:
        _print_report(report, show_lines=output is None)
    raise typer.Exit(report.exit_code)


def _report_dict(r: CheckReport) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "input": r.input_path,
        "input_sha256": r.input_sha256,
        "output": r.output_path,
        "lines": r.line_count,
        "counts": r.counts,
        "thresholds": r.thresholds,
        "lists": r.snapshots,
        "top_hits": r.top_hits,
        "elapsed_seconds": round(r.elapsed, 2),
        "workers": r.workers,
        "warnings": r.warnings,
        "flagged": [
            {
                "line": x.line,
                "order_id": x.order_id,
                "decision": x.decision,
                "reasons": [y.text for y in x.reasons],
            }
            for x in r.flagged
        ],
    }


def _check_lists(engine: Any, lists: list[str]) -> None:
    loaded = audit_mod.snapshot_info(engine)
    if not loaded:
        fail("no sanctions list is loaded; run `compliance update` first")
    unknown = [k for k in lists if k not in loaded]
    if unknown:
        fail(f"--list {', '.join(unknown)}: not a loaded list; loaded: {', '.join(loaded)}")


def print_snapshots(snapshots: dict[str, dict[str, Any]]) -> None:
    """The list versions a run used: list date (when the source states one), fetched, sha256."""
    print_table(
        [Col("list", wrap=False), Col("snapshot", wrap=False, right=True),
         Col("list date", wrap=False), Col("fetched", wrap=False), Col("sha256", wrap=False)],
        [
            [k, v.get("snapshot_id"), list_date_cell(v.get("data_date")),
             fetched(v.get("fetched_at")), sha256_short(v.get("sha256"), 16)]
            for k, v in snapshots.items()
        ],
    )  # fmt: skip


def _print_report(r: CheckReport, show_lines: bool) -> None:
    typer.echo(
        f"Checked {r.line_count:,} line{'s' if r.line_count != 1 else ''} of {r.input_path} "
        f"in {r.elapsed:.1f} s "
        f"({r.workers} worker{'s' if r.workers > 1 else ''})"
        + (f"; audit run #{r.run_id}" if r.run_id is not None else "")
    )
    typer.echo(f"Thresholds: block {r.thresholds['block']:g}, review {r.thresholds['review']:g}")
    typer.echo("")
    print_snapshots(r.snapshots)
    typer.echo("")
    print_table(
        [Col("decision", wrap=False, decision=True), Col("lines", wrap=False, right=True)],
        [[d, f"{r.counts.get(d, 0):,}"] for d in DECISIONS],
    )
    if r.top_hits:
        typer.echo("")
        print_table(
            [Col("entry"), Col("name"), Col("list"), Col("decision", wrap=False, decision=True),
             Col("lines", wrap=False, right=True)],
            [[h["entry"], h["name"], h["list"], h["decision"], h["lines"]] for h in r.top_hits],
            title="Top hits",
        )  # fmt: skip
    if show_lines and r.flagged:
        more = len(r.flagged) < r.line_count - r.counts["CLEAR"]
        rows = []
        for x in r.flagged:
            shown = [
                m for m in merge_reasons(x.reasons)
                if m.decision != "CLEAR" or m.text.startswith("ACCEPTED")
            ]  # fmt: skip
            rows.append(
                [
                    x.line,
                    x.order_id or "?",
                    x.decision,
                    "\n".join("- " + shorten(m.text) for m in shown),
                ]
            )
        typer.echo("")
        print_table(
            [Col("line", wrap=False, right=True), Col("order"),
             Col("decision", wrap=False, decision=True), Col("reasons (shortened)")],
            rows,
            title="Lines needing action" + (f" (first {len(r.flagged)})" if more else ""),
        )  # fmt: skip
        typer.echo("Every reason in full: --output results.csv|.jsonl|.xlsx, or --format json.")
    if r.output_path:
        typer.echo(f"\nWrote {r.output_path}")
    for w in r.warnings:
        typer.echo(f"warning: {w}", err=True)


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
        data = [
            {
                "id": a.id,
                "party": a.party,
                "entry": f"{a.source}:{a.source_id}",
                "entry_name": a.entry_name,
                "by": a.accepted_by,
                "at": a.accepted_at.isoformat(timespec="seconds"),
                "reason": a.reason,
                "status": "active" if valid.get(a.id, False) else "entry changed",
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
    thresholds = _thresholds(block_threshold, review_threshold)
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
    app.command()(guarded(check))
    app.command()(guarded(accept))
    app.command()(guarded(audit))
    app.command()(guarded(rescreen))
