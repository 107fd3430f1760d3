"""`compliance` imports a command's module only when that command runs: `screen` from a valid
index cache loads no parser, rule, order module, SQLAlchemy or sqlmodel; help lists them all."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import typer

from compliance.cli import COMMANDS
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR

ROOT = Path(__file__).resolve().parent.parent
# Screening reads each source module for its policy (declared beside the parser), so the
# source modules load; what their parsers need (lxml, openpyxl, requests) must not.
NOT_FOR_SCREEN = ("sqlalchemy", "sqlmodel", "lxml", "openpyxl", "requests")


def test_command_table_matches_what_the_modules_register() -> None:
    registered = {}
    for module in dict.fromkeys(COMMANDS.values()):
        sub = typer.Typer()
        importlib.import_module(f"compliance.cli.{module}").register(sub)
        for info in sub.registered_commands:
            name = info.name or info.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
            registered[name] = module
        for group in sub.registered_groups:  # a command with subcommands (keys create ...)
            registered[str(group.name)] = module
    assert registered == COMMANDS


def test_screen_from_the_cache_imports_only_what_it_needs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lists.db'}"
    assert all(o.ok for o in update_sources(get_engine(db), ["un_sc"], mirror=str(MIRROR)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCE_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-X", "importtime", "-m", "compliance.cli", "screen", "AL-QAIDA"]
    cold = subprocess.run([*cmd, "--db", db], env=env, capture_output=True, text=True)
    assert cold.returncode == 1 and "AL-QAIDA" in cold.stdout  # built the cache
    warm = subprocess.run([*cmd, "--db", db], env=env, capture_output=True, text=True)
    assert warm.returncode == 1 and warm.stdout == cold.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines()}
    heavy = {m for m in imported if m.split(".")[0] in NOT_FOR_SCREEN}
    ours = {
        m
        for m in imported
        if m.startswith(("compliance.rules.", "compliance.orders.", "compliance.sources.http"))
    }
    assert heavy == set() and ours == set(), (heavy, ours)
    assert "compliance.matching.index" in imported


def test_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "compliance.cli", "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        capture_output=True,
        text=True,
    ).stdout
    for name in COMMANDS:
        assert f" {name} " in out, name
