"""The `compliance` command: thin typer commands over the library, one module per area."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="compliance",
    help="Sanctions and export-control screening against the official lists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    import importlib

    for name in ("lists", "screen", "rules", "orders"):
        try:
            mod = importlib.import_module(f"compliance.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"compliance.cli.{name}":
                continue
            raise
        mod.register(app)


_register()


def main() -> None:
    from compliance.cli.common import database_errors

    with database_errors():  # any command: a database fault is one line, never a traceback
        app()
