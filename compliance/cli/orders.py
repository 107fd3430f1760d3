"""`compliance check`, `accept`, `audit` and `rescreen`: batch order checking."""

from __future__ import annotations

import os
import sys
import time
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
    print_json,
    print_table,
)
from compliance.orders import accept as accept_mod
from compliance.orders import audit as audit_mod
from compliance.orders.decide import DECISIONS, Thresholds
from compliance.orders.reader import InputError, load_mapping_file, parse_map_options
from compliance.orders.rescreen import rescreen as rescreen_fn
from compliance.orders.run import CheckOptions, CheckReport, NoListsError, check_file, make_decider
from compliance.store.db import resolve_url

BlockOpt = Annotated[
    float, typer.Option("--block-threshold", help="Score at or above which a match is sure.")
]
ReviewOpt = Annotated[
    float, typer.Option("--review-threshold", help="Score from which a match is worth a look.")
]


def _thresholds(block: float, review: float) -> Thresholds:
    try:
        return Thresholds(block=block, review=review)
    except ValueError as exc:
        fail(str(exc))


class _Progress:
    """A progress line on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, min_rows: int = 1000) -> None:
        self.min_rows = min_rows
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.next_pct = 10
        self.shown = False

    def __call__(self, n: int, total: int | None) -> None:
        if not total or total < self.min_rows:
            return
        pct = min(100, n * 100 // max(total, 1))
        now = time.monotonic()
        if self.tty:
            if now - self.last < 0.2:
                return
            self.last = now
            rate = n / max(now - self.start, 1e-6)
            bar = "#" * (pct // 4)
            sys.stderr.write(f"\r[{bar:<25}] {pct:3d}% {n:,}/~{total:,} lines {rate:,.0f}/s")
            sys.stderr.flush()
            self.shown = True
        elif pct >= self.next_pct:
            sys.stderr.write(f"checked {n:,} of ~{total:,} lines ({pct}%)\n")
            self.next_pct = pct // 10 * 10 + 10

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


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
    engine_for(db)  # a clear error now for an unusable database
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
    progress = _Progress() if not quiet else None
    try:
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
    finally:
        if progress is not None:
            progress.done()
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
                "reasons": [y["text"] for y in x.reasons],
            }
            for x in r.flagged
        ],
    }


def _print_report(r: CheckReport, show_lines: bool) -> None:
    typer.echo(
        f"Checked {r.line_count:,} line{'s' if r.line_count != 1 else ''} of {r.input_path} "
        f"in {r.elapsed:.1f} s "
        f"({r.workers} worker{'s' if r.workers > 1 else ''})"
        + (f"; audit run #{r.run_id}" if r.run_id is not None else "")
    )
    typer.echo(f"Thresholds: block {r.thresholds['block']:g}, review {r.thresholds['review']:g}")
    typer.echo(
        "Lists: "
        + ", ".join(
            f"{k} ({v.get('data_date') or v.get('fetched_at')})" for k, v in r.snapshots.items()
        )
    )
    typer.echo("")
    print_table(["decision", "lines"], [[d, f"{r.counts.get(d, 0):,}"] for d in DECISIONS])
    if r.top_hits:
        typer.echo("\nTop hits")
        print_table(
            ["entry", "name", "list", "decision", "lines"],
            [
                [h["entry"], h["name"], h["list"][:50], h["decision"], h["lines"]]
                for h in r.top_hits
            ],
        )
    if show_lines and r.flagged:
        typer.echo(
            "\nLines needing action"
            + (
                f" (first {len(r.flagged)})"
                if len(r.flagged) < r.line_count - r.counts["CLEAR"]
                else ""
            )
        )
        for x in r.flagged:
            typer.echo(f"line {x.line} order {x.order_id or '?'}: {x.decision}")
            for reason in x.reasons:
                if reason["decision"] != "CLEAR" or "accepted" in reason:
                    typer.echo(f"    {reason['text'][:400]}")
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
                ["id", "party", "entry", "entry name", "by", "at", "status", "reason"],
                [
                    [
                        d["id"],
                        d["party"],
                        d["entry"],
                        d["entry_name"],
                        d["by"],
                        d["at"],
                        d["status"],
                        d["reason"][:60],
                    ]
                    for d in data
                ],
            )
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
            ["run", "started", "user", "status", "lines", "counts", "input", "sha256"],
            [
                [
                    r.id,
                    r.started_at.isoformat(timespec="seconds"),
                    r.user,
                    r.status,
                    r.line_count,
                    " ".join(f"{k}={v}" for k, v in (r.counts or {}).items() if v),
                    Path(r.input_path).name,
                    r.input_sha256[:12],
                ]
                for r in runs
            ],
        )
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
    for k in (
        "id",
        "started_at",
        "finished_at",
        "status",
        "user",
        "input_path",
        "input_sha256",
        "input_format",
        "output_path",
        "line_count",
    ):
        typer.echo(f"{k:13} {d.get(k)}")
    typer.echo(f"{'thresholds':13} {d['thresholds']}")
    typer.echo(f"{'counts':13} {d['counts']}")
    typer.echo("lists:")
    for k, v in d["snapshots"].items():
        typer.echo(
            f"  {k:22} snapshot {v['snapshot_id']} data date {v['data_date']} "
            f"fetched {v['fetched_at']} sha256 {(v['sha256'] or '')[:16]}"
        )


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
            typer.echo(h["text"][:400])
            for ln in h["lines"][:10]:
                typer.echo(
                    f"    run #{ln['run_id']} line {ln['line']} order {ln['order_id']} "
                    f"({ln['role']})"
                )
            if len(h["lines"]) > 10:
                typer.echo(f"    ... and {len(h['lines']) - 10} more lines")
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(accept)
    app.command()(audit)
    app.command()(rescreen)
