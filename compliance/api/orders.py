"""Order checks through the service: the upload is spooled to a file and checked by
compliance.orders.run.check_file, into the same audit trail as `compliance check`."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.api.errors import Problem
from compliance.api.state import Generation

SUFFIX_BY_TYPE = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/plain": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


@dataclass
class OrderCheck:
    report: Any  # compliance.orders.run.CheckReport
    decisions: Path  # JSONL, one object per input line, as `compliance check --output x.jsonl`
    workdir: Path

    def summary(self) -> dict[str, Any]:
        r = self.report
        return {
            "run_id": r.run_id,
            "input_sha256": r.input_sha256,
            "lines": r.line_count,
            "counts": r.counts,
            "thresholds": r.thresholds,
            "lists": r.snapshots,
            "top_hits": r.top_hits,
            "warnings": r.warnings,
            "snapshots": {k: v["snapshot_id"] for k, v in r.snapshots.items()},
        }

    def decision_lines(self) -> Iterator[str]:
        with self.decisions.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line.rstrip("\n")

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="compliance-orders-"))


def suffix_for(filename: str | None, content_type: str | None) -> str:
    name = (filename or "").lower()
    for ext in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".jsonl", ".ndjson"):
        if name.endswith(ext):
            return ext
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in SUFFIX_BY_TYPE:
        return SUFFIX_BY_TYPE[ctype]
    raise Problem(
        415,
        f"cannot tell the order file's format from {filename or 'the upload'!r} "
        f"({ctype or 'no content type'}); send .csv, .xlsx or .jsonl",
    )


def json_orders_to_jsonl(data: Any, path: Path) -> None:
    if not isinstance(data, list) or not data:
        raise Problem(
            422, "a JSON body must be a non-empty list of order objects", title="Invalid request"
        )
    with path.open("w", encoding="utf-8") as fh:
        for n, obj in enumerate(data):
            if not isinstance(obj, dict):
                raise Problem(
                    422,
                    f"order {n} is {type(obj).__name__}, not an object",
                    title="Invalid request",
                )
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _share_screener(db_url: str, gen: Generation, lists: list[str] | None) -> None:
    """Let check_file use this worker's warm index instead of building a second one."""
    from compliance.orders.deciders import use_screener

    use_screener(db_url, lists, gen.index_key, gen.screener_for(lists))


def check_orders(
    db_url: str,
    gen: Generation,
    path: Path,
    *,
    block: float = 90.0,
    review: float = 80.0,
    lists: list[str] | None = None,
    mapping: dict[str, str] | None = None,
    user: str = "api",
) -> OrderCheck:
    from compliance.orders.decide import ScoreThresholds
    from compliance.orders.deciders import CheckOptions
    from compliance.orders.reader import InputError
    from compliance.orders.run import NoListsError, check_file
    from compliance.screening import ScreeningError

    try:
        thresholds = ScoreThresholds(block=block, review=review)
        if lists:
            gen.screener_for(lists)  # an unknown list: a clear 422 now
    except (ValueError, ScreeningError) as exc:
        raise Problem(422, str(exc), title="Invalid request") from None
    opts = CheckOptions(
        db_url=db_url,
        mapping=dict(mapping or {}),
        thresholds=thresholds,
        lists=lists or None,
        workers=1,
    )
    _share_screener(db_url, gen, lists)
    out = path.parent / "decisions.jsonl"
    try:
        report = check_file(path, opts, output=out, record=True, user=user)
    except InputError as exc:
        raise Problem(
            422, str(exc).replace(str(path.parent) + "/", ""), title="Unreadable order file"
        ) from None
    except NoListsError as exc:
        raise Problem(503, str(exc)) from None
    return OrderCheck(report, out, path.parent)
