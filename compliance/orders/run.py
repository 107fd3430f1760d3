"""`compliance check` end to end: stream the order file through the deciders (compliance/orders/
workers.py), in order, into the output file and the audit trail, and report."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compliance import gctune
from compliance.orders import audit
from compliance.orders.accept import current_user
from compliance.orders.decide import CLEAR, DECISIONS, ERROR
from compliance.orders.deciders import TABLES, CheckOptions
from compliance.orders.reader import OrderFile, open_orders
from compliance.orders.reasons import LineResult, PartyReason
from compliance.orders.workers import decide_rows
from compliance.orders.writer import ResultWriter, open_writer
from compliance.progress import NO_PROGRESS, Progress
from compliance.store.db import get_engine, register_models

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PROGRESS_STEP = 100  # lines per progress report: often enough for the eye, cheap per line


class NoListsError(Exception):
    pass


@dataclass
class CheckReport:
    run_id: int | None
    input_path: str
    input_sha256: str
    output_path: str | None
    line_count: int
    counts: dict[str, int]
    top_hits: list[dict[str, Any]]
    thresholds: dict[str, float]
    snapshots: dict[str, dict[str, Any]]
    elapsed: float
    workers: int
    flagged: list[LineResult]  # the first non-CLEAR lines, for the screen
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.counts.get(CLEAR, 0) == self.line_count else 1


def check_file(
    path: str | Path,
    opts: CheckOptions,
    *,
    output: str | Path | None = None,
    output_format: str | None = None,
    input_format: str | None = None,
    record: bool = True,
    user: str | None = None,
    progress: Progress = NO_PROGRESS,
    keep_flagged: int = 200,
) -> CheckReport:
    """Raises reader.InputError for a file that cannot be checked (exit 2), NoListsError when no
    list is loaded, ValueError for a bad output name. `progress` gets task "check": lines done
    of about `orders.approx_rows`."""
    started = time.monotonic()
    register_models(*TABLES)  # a library entry point: the database may be new
    engine = get_engine(opts.db_url)
    snapshots = _loaded_lists(engine, opts.lists)
    orders = open_orders(path, opts.mapping, input_format)
    opts.mapping = orders.mapping
    writer = None
    if output is not None:
        writer = open_writer(output, orders.columns, audit.lists_as_of(snapshots), output_format)
    run_id = _start_run(engine, path, output, orders, opts, snapshots, user) if record else None
    tally = _Tally(keep_flagged)
    progress.start("check", "checking lines", orders.approx_rows)
    try:
        _decide_into(orders, opts, tally, writer, engine, run_id, progress)
    except BaseException as exc:
        if writer is not None:
            writer.close()
        if run_id is not None:
            error = f"{exc.__class__.__name__}: {exc}"
            audit.finish_run(engine, run_id, status="failed", line_count=tally.lines,
                             counts=dict(tally.counts), error=error)  # fmt: skip
        raise
    if writer is not None:
        writer.close()
    warnings = _changed_meanwhile(engine, opts.lists, snapshots)
    if run_id is not None:
        audit.finish_run(engine, run_id, status="done", line_count=tally.lines,
                         counts=dict(tally.counts))  # fmt: skip
    return CheckReport(
        run_id=run_id,
        input_path=str(path),
        input_sha256=orders.sha256,
        output_path=str(output) if output else None,
        line_count=tally.lines,
        counts=dict(tally.counts),
        top_hits=tally.top_hits(),
        thresholds=opts.thresholds.to_dict(),
        snapshots=snapshots,
        elapsed=time.monotonic() - started,
        workers=opts.workers,
        flagged=tally.flagged,
        warnings=warnings,
    )


class _Tally:
    """What the report says of the lines decided so far: counts, top hits, the first flagged."""

    def __init__(self, keep_flagged: int) -> None:
        self.keep_flagged = keep_flagged
        self.lines = 0
        self.counts: Counter[str] = Counter({d: 0 for d in DECISIONS})
        self.hits: Counter[tuple[str, str, str, str]] = Counter()
        self.flagged: list[LineResult] = []

    def add(self, result: LineResult) -> None:
        self.lines += 1
        self.counts[result.decision] += 1
        for r in result.reasons:
            if isinstance(r, PartyReason) and r.decision != CLEAR:
                self.hits[(r.entry, r.name, r.list_name, r.decision)] += 1
        if result.decision != CLEAR and len(self.flagged) < self.keep_flagged:
            self.flagged.append(result)

    def top_hits(self, n: int = 10) -> list[dict[str, Any]]:
        ranked = sorted(self.hits.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [
            {"entry": e, "name": nm, "list": ls, "decision": d, "lines": c}
            for (e, nm, ls, d), c in ranked
        ]


def _decide_into(orders: OrderFile, opts: CheckOptions, tally: _Tally, writer: ResultWriter | None,
                 engine: Engine, run_id: int | None, progress: Progress) -> None:  # fmt: skip
    """Every line decided, counted, written to the output and recorded in the audit trail."""
    sink = audit.LineSink(engine, run_id) if run_id is not None else None
    with gctune.tuned():  # forked workers, if any, inherit the tuning
        for result in decide_rows(orders.rows(), opts):
            tally.add(result)
            if writer is not None:
                writer.write(result)
            if sink is not None:
                sink.add(result)
            if tally.lines % PROGRESS_STEP == 0:
                progress.advance("check", PROGRESS_STEP)
    progress.update("check", completed=tally.lines, total=tally.lines)
    progress.finish("check")
    if sink is not None:
        sink.flush()


def _loaded_lists(engine: Engine, lists: list[str] | None) -> dict[str, dict[str, Any]]:
    """The current snapshots the check uses; NoListsError when none (or a named one) is loaded."""
    snapshots = audit.snapshot_info(engine, lists)
    if not snapshots:
        raise NoListsError("no sanctions list is loaded; run `compliance update` first")
    missing = [k for k in lists or [] if k not in snapshots]
    if missing:
        raise NoListsError(f"list(s) not loaded: {', '.join(missing)}")
    return snapshots


def _changed_meanwhile(
    engine: Engine, lists: list[str] | None, snapshots: dict[str, dict[str, Any]]
) -> list[str]:
    """A warning when a list was updated while the check ran (its lines saw two versions)."""
    now = audit.snapshot_info(engine, lists)
    if {k: v["snapshot_id"] for k, v in now.items()} == {
        k: v["snapshot_id"] for k, v in snapshots.items()
    }:
        return []
    return ["a list was updated while this check ran; re-run it for one consistent set of lists"]


def _start_run(engine: Engine, path: str | Path, output: str | Path | None, orders: OrderFile,
               opts: CheckOptions, snapshots: dict[str, dict[str, Any]], user: str | None
               ) -> int:  # fmt: skip
    return audit.start_run(
        engine,
        user=user or current_user(),
        input_path=str(Path(path).resolve()),
        input_sha256=orders.sha256,
        input_format=orders.format,
        output_path=str(Path(output).resolve()) if output else None,
        thresholds=opts.thresholds.to_dict(),
        snapshots=snapshots,
        options={
            "mapping": orders.mapping,
            "columns": orders.columns,
            "workers": opts.workers,
            "lists": opts.lists,
            "on_date": opts.on_date.isoformat() if opts.on_date else None,
        },
    )


__all__ = ["CheckReport", "NoListsError", "check_file", "ERROR"]
