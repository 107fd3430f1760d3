"""The `compliance` command: thin typer commands over the library, one module per area.

A command's module is imported only when that command runs (or when help lists it), so
`compliance screen` never loads the list parsers, the export rules or the order checker.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import typer
from typer.core import TyperGroup

# Every command, in the order help lists them, and the module of compliance.cli whose
# register(app) defines it (tests/test_cli_lazy.py checks the two agree).
COMMANDS: dict[str, str] = {
    "update": "lists",
    "sources": "lists",
    "screen": "screen",
    "compare": "compare",
    "classify": "rules",
    "license": "rules",
    "rules": "rules",
    "check": "orders",
    "accept": "check_records",
    "audit": "check_records",
    "rescreen": "check_records",
    "serve": "serve",
    "mcp": "serve",
    "keys": "keys",
}

_SETTINGS: dict[str, Any] = {
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
}


class LazyCommands(Mapping[str, Any]):
    """Command name -> click command, built (and its module imported) when looked up."""

    def __getitem__(self, name: str) -> Any:
        return module_commands(COMMANDS[name])[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(TyperGroup):
    """A group whose commands are looked up by name; listing the names imports nothing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands()  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)


@cache
def module_commands(module: str) -> dict[str, Any]:
    """The click commands that compliance.cli.<module> registers."""
    sub = typer.Typer(**_SETTINGS)
    importlib.import_module(f"compliance.cli.{module}").register(sub)
    return dict(typer.main.get_group(sub).commands)


app = typer.Typer(
    name="compliance",
    help="Sanctions and export-control screening against the official lists.",
    cls=LazyGroup,
    **_SETTINGS,
)


@app.callback()
def _root() -> None:
    """Sanctions and export-control screening against the official lists."""


def main() -> None:
    from compliance.cli.common import database_errors, file_errors, run_app

    # any command: a database fault or a file that cannot be read or written is one line, never
    # a traceback; a usage error is one line too
    with database_errors(), file_errors():
        run_app(app)
