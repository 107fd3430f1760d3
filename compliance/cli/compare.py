"""`compliance compare`: two names (or a file of pairs) scored against each other, explained."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

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
from compliance.cli.screen import Algorithm
from compliance.cli.screen_files import ScreenFormat
from compliance.screening import DEFAULT_THRESHOLD, ScreeningError, compare


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
    app.command("compare")(guarded(compare_cmd))
