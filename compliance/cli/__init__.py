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
    from compliance.cli import keys, lists, orders, rules, screen, serve

    for module in (lists, screen, rules, orders, serve, keys):
        module.register(app)


_register()


def main() -> None:
    from compliance.cli.common import database_errors

    with database_errors():  # any command: a database fault is one line, never a traceback
        app()
