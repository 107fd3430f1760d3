"""Options and helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from compliance.schema import register_tables
from compliance.store.db import DatabaseError, explain, get_engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="COMPLIANCE_DB",
        help="SQLAlchemy URL or SQLite file path (default: a SQLite file in your data folder).",
        show_default=False,
    ),
]

EXIT_CLEAR, EXIT_MATCH, EXIT_ERROR = 0, 1, 2


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def engine_for(db: str | None) -> Engine:
    register_tables()
    try:
        return get_engine(db)
    except DatabaseError as exc:
        fail(str(exc))
    except Exception as exc:  # bad URL, missing driver, unreadable file
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        fail(f"cannot open the database {db or '(default)'}: {detail}")


@contextmanager
def database_errors(engine: Engine | None = None) -> Iterator[None]:
    """A full disk, a read-only file, a lock held too long: one line saying what to do, exit 2."""
    try:
        yield
    except DatabaseError as exc:
        fail(str(exc))
    except Exception as exc:
        # SQLAlchemy's DBAPIError; a screen served from the index cache never imports it.
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError):
            raise
        fail(explain(exc, engine))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    typer.echo("  ".join("-" * w for w in widths))
    for r in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
