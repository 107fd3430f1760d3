"""Options and helpers shared by the CLI command modules."""

from __future__ import annotations

import errno
import functools
import json
import sys
from collections.abc import Callable, Iterator
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


_FILE_HINTS = {
    errno.ENOENT: "no such file or folder; check the path (an output's folder must exist)",
    errno.EACCES: "permission denied; choose a file you may read or a folder you may write",
    errno.EPERM: "permission denied; choose a file you may read or a folder you may write",
    errno.EISDIR: "that is a folder; give a file name",
    errno.ENOTDIR: "a part of that path is a file, not a folder; check the path",
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
}


@contextmanager
def file_errors() -> Iterator[None]:
    """A file the user named that cannot be read or written (a missing folder, no permission, a
    folder given as a file, a full disk): one line naming it and what to do, exit 2."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise
        hint = _FILE_HINTS.get(exc.errno or 0, exc.strerror or str(exc))
        fail(f"cannot use {exc.filename}: {hint}")


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` with database faults (a lock held too long, a full disk, a read-only file) and
    files that cannot be read or written turned into one line and exit 2, also when it is called
    without `main()` (tests, embedding)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        with database_errors(), file_errors():
            return command(*args, **kwargs)

    return run


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Kept for callers outside the CLI modules; the commands use compliance.cli.tables."""
    from compliance.cli.tables import print_table as table

    table(headers, rows)


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a usage error (unknown option, a value of the wrong kind, a missing
    argument) is one line on stderr with the command's --help, exit 2, like every other error."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # typer's own click: UsageError, BadParameter...
        if exc.__class__.__name__ == "NoArgsIsHelpError":  # `compliance` alone: the help
            exc.show()  # type: ignore[attr-defined]
            raise SystemExit(0) from None
        ctx = getattr(exc, "ctx", None)
        where = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        message = " ".join(exc.format_message().split()).rstrip(".")
        typer.echo(f"error: {message}{where}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
