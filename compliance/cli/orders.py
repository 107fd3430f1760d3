"""`compliance check`: a decision for every line of an order file, with the report; the record
of checks (`accept`, `audit`, `rescreen`) is compliance/cli/check_records.py."""

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
    fetched,
    list_date_cell,
    print_table,
    sha256_short,
    shorten,
)
from compliance.orders import audit as audit_mod
from compliance.orders.decide import DECISIONS, ScoreThresholds
from compliance.orders.deciders import CheckOptions
from compliance.orders.reader import InputError, load_mapping_file, parse_map_options
from compliance.orders.run import CheckReport, NoListsError, check_file
from compliance.orders.writer import merge_reasons
from compliance.store.db import resolve_url

BlockOpt = Annotated[
    float, typer.Option("--block-threshold", help="Score at or above which a match is sure.")
]
ReviewOpt = Annotated[
    float, typer.Option("--review-threshold", help="Score from which a match is worth a look.")
]


def score_thresholds(block: float, review: float) -> ScoreThresholds:
    try:
        return ScoreThresholds(block=block, review=review)
    except ValueError as exc:
        fail(str(exc))


OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write every line with its decision: .csv, .jsonl, .xlsx"),
]
OutputFormatOpt = Annotated[
    str | None, typer.Option(help="csv, jsonl or xlsx (default: from --output's name).")
]
InputFormatOpt = Annotated[
    str | None, typer.Option(help="csv, xlsx or jsonl (default: from the file name).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help='FIELD="Source Column" (repeatable), e.g. customer="Sold-To".'),
]
MappingOpt = Annotated[
    Path | None, typer.Option(help="Mapping file: JSON object or FIELD = Column lines.")
]
WorkersOpt = Annotated[
    int | None, typer.Option(help="Worker processes (default: all cores for big files).")
]
DateOpt = Annotated[
    str | None, typer.Option("--date", help="Apply the rules in force on YYYY-MM-DD.")
]
ListsOpt = Annotated[
    list[str] | None, typer.Option("--list", help="Screen against these sources only.")
]
AuditOpt = Annotated[bool, typer.Option("--audit/--no-audit", help="Record the run.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
SummaryOpt = Annotated[OutputFormat, typer.Option("--format", help="Summary: table or json")]


def check(
    file: Annotated[Path, typer.Argument(help="Order file: .csv, .xlsx or .jsonl")],
    output: OutputOpt = None,
    output_format: OutputFormatOpt = None,
    input_format: InputFormatOpt = None,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    block_threshold: BlockOpt = 90.0,
    review_threshold: ReviewOpt = 80.0,
    workers: WorkersOpt = None,
    on_date: DateOpt = None,
    lists: ListsOpt = None,
    record: AuditOpt = True,
    quiet: QuietOpt = False,
    format: SummaryOpt = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Decide every order line: BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR (ERROR: unreadable).

    Exit status 0 when every line is CLEAR, 1 otherwise, 2 when the file cannot be checked."""
    thresholds = score_thresholds(block_threshold, review_threshold)
    opts = _check_options(file, map_, mapping, thresholds, workers, on_date, lists, db)
    try:
        with progress_bar(quiet) as progress:
            report = check_file(
                file, opts, output=output, output_format=output_format,
                input_format=input_format, record=record, progress=progress,
            )  # fmt: skip
    except (InputError, NoListsError, ValueError) as exc:
        fail(str(exc), EXIT_ERROR)
    if format == OutputFormat.json:
        print_json(_report_dict(report))
    else:
        _print_report(report, show_lines=output is None)
    raise typer.Exit(report.exit_code)


def _check_options(
    file: Path, map_: list[str] | None, mapping: Path | None, thresholds: ScoreThresholds,
    workers: int | None, on_date: str | None, lists: list[str] | None, db: str | None,
) -> CheckOptions:  # fmt: skip
    """The options of a check, each checked now: one line and exit 2 for a bad one."""
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
    return CheckOptions(
        db_url=resolve_url(db),
        mapping=explicit,
        thresholds=thresholds,
        on_date=day,
        lists=lists or None,
        workers=max(1, workers),
    )


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


def register(app: typer.Typer) -> None:
    app.command()(guarded(check))
