"""Every error a user can cause is one line on stderr saying what to do, a non-zero exit status,
and never a traceback: fed through the real CLI (CliRunner without catching exceptions, and the
`python -m compliance.cli` entry point for usage errors)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import compliance.store.db as dbmod
from compliance.cli import app
from compliance.sources import all_sources
from compliance.store.db import get_engine
from compliance.store.models import Entity
from compliance.update import update_source
from tests.conftest import MIRROR, ROOT

ORDERS = "order_id,customer,destination,item\nA1,Siemens AG,DE,RTX 3060\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("cli_errors")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))
        url = f"sqlite:///{tmp / 'lists.db'}"
        outcome = update_source(get_engine(url), all_sources()["us_bis_dpl"], mirror=str(MIRROR))
        assert outcome.ok, outcome.error
        (tmp / "orders.csv").write_text(ORDERS)
        (tmp / "nocolumn.csv").write_text("foo,bar\n1,2\n")
        (tmp / "broken.xlsx").write_bytes(b"PK\x03\x04 this is no workbook")
        (tmp / "text.xlsx").write_text("order_id,customer\nA1,Siemens AG\n")
        (tmp / "folder.csv").mkdir()
        (tmp / "plainfolder").mkdir()
        run = CliRunner().invoke(app, ["check", str(tmp / "orders.csv"), "--db", url])
        assert run.exit_code == 0 and "audit run #1" in run.stdout, run.output
        yield {
            "db": url,
            "empty": f"sqlite:///{tmp / 'empty.db'}",
            "orders": str(tmp / "orders.csv"),
            "nocolumn": str(tmp / "nocolumn.csv"),
            "missing": str(tmp / "no-such-file.csv"),
            "broken": str(tmp / "broken.xlsx"),
            "text": str(tmp / "text.xlsx"),
            "folder": str(tmp / "folder.csv"),
            "plainfolder": str(tmp / "plainfolder"),
            "nodir": str(tmp / "no-such-folder"),
        }


CASES = {
    "missing parties file": ["screen", "--file", "{missing}"],
    "missing order file": ["check", "{missing}"],
    "missing pairs file": ["compare", "--file", "{missing}"],
    "missing mapping file": ["check", "{orders}", "--mapping", "{missing}"],
    "parties without a name column": ["screen", "--file", "{nocolumn}"],
    "orders without the needed columns": ["check", "{nocolumn}"],
    "pairs without name1/name2": ["compare", "--file", "{nocolumn}"],
    "compare an empty name": ["compare", "", "Acme Trading"],
    "compare a bare legal form": ["compare", "Acme Trading", "Co., Ltd."],
    "unknown destination": ["license", "--item", "H100 SXM", "--destination", "Atlantis"],
    "unknown headquarters": ["license", "--item", "H100 SXM", "--destination", "DE",
                             "--end-user-hq", "Narnia"],
    "unknown screening country": ["screen", "Mahan Airways", "--country", "Atlantis"],
    "no lists loaded (screen)": ["screen", "Mahan Airways", "--db", "{empty}"],
    "no lists loaded (check)": ["check", "{orders}", "--db", "{empty}"],
    "unreadable xlsx": ["check", "{broken}"],
    "csv saved as .xlsx": ["check", "{text}"],
    "threshold above 100": ["screen", "Mahan Airways", "--threshold", "150"],
    "negative threshold": ["screen", "Mahan Airways", "--threshold", "-1"],
    "block threshold above 100": ["check", "{orders}", "--block-threshold", "150"],
    "review above block": ["check", "{orders}", "--review-threshold", "95",
                           "--block-threshold", "90"],
    "unknown list (screen)": ["screen", "Mahan Airways", "--list", "no_such_list"],
    "unknown list (check)": ["check", "{orders}", "--list", "no_such_list"],
    "bad license date": ["license", "--item", "A100", "--destination", "DE",
                         "--date", "2025-13-01"],
    "license date before the rules": ["license", "--item", "A100", "--destination", "DE",
                                      "--date", "2020-01-01"],
    "bad check date": ["check", "{orders}", "--date", "2025-02-30"],
    "impossible date of birth": ["screen", "Mahan Airways", "--dob", "1952-13-45"],
    "date of birth in words": ["screen", "Mahan Airways", "--dob", "nineteen"],
    "unknown model": ["classify", "Intel Core i7"],
    "classify without model or figures": ["classify"],
    "negative figures": ["classify", "--tops", "-5", "--bits", "8", "--die-area", "100"],
    "unknown output format": ["check", "{orders}", "--output", "{orders}.pdf"],
    "bad --map": ["check", "{orders}", "--map", "customer"],
    "limit of zero": ["screen", "Mahan Airways", "--limit", "0"],
    "unknown audit run": ["audit", "999"],
    "unknown rescreen run": ["rescreen", "--run", "999"],
    "accept an unknown entry": ["accept", "--party", "X", "--entry", "nosuch:1",
                                "--reason", "not them"],
    "unknown source to update": ["update", "no_such_source"],
    "mirror folder that does not exist": ["update", "--mirror", "{nodir}"],
    "a folder given as the order file": ["check", "{folder}"],
    "a folder given as the parties file": ["screen", "--file", "{folder}"],
    "a folder with no extension as the parties file": ["screen", "--file", "{plainfolder}"],
    "results into a missing folder": ["check", "{orders}", "--output", "{nodir}/results.csv"],
    "results onto a folder": ["check", "{orders}", "--output", "{folder}"],
    "audit export into a missing folder": ["audit", "1", "--export", "{nodir}/run.csv"],
}  # fmt: skip


# What the line must say, where the case is about the path a user gave.
SAYS = {
    "mirror folder that does not exist": "does not exist",
    "a folder given as the order file": "is a folder",
    "a folder given as the parties file": "is a folder",
    "a folder with no extension as the parties file": "is a folder",
    "results into a missing folder": "folder must exist",
    "results onto a folder": "is a folder",
    "audit export into a missing folder": "folder must exist",
}


def assert_one_line_error(result: object, name: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    stdout = result.stdout  # type: ignore[attr-defined]
    assert "Traceback" not in stderr + stdout, name
    assert result.exit_code != 0, (name, stdout)  # type: ignore[attr-defined]
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (name, stderr)
    assert len(lines[0]) > len("error: ") + 15  # says what is wrong, not just "error"


@pytest.mark.parametrize("name", list(CASES))
def test_user_error_is_one_line(name: str, files: dict[str, str]) -> None:
    args = [a.format(**files) for a in CASES[name]]
    if "--db" not in args and args[0] != "compare":  # compare reads no database
        args += ["--db", files["db"]]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert_one_line_error(result, name)
    assert result.exit_code == 2, name
    assert result.stdout == "", name
    assert SAYS.get(name, "") in result.stderr, (name, result.stderr)


def test_a_locked_database_is_one_line(files: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Another process holds the write lock (an update running): the write gives up with one
    line. The busy wait is cut from 60 s to 0.3 s so the test does not sleep a minute."""
    original = dbmod._sqlite_pragmas

    def short_wait(dbapi_conn, record):  # type: ignore[no-untyped-def]
        original(dbapi_conn, record)
        dbapi_conn.execute("PRAGMA busy_timeout=300")

    monkeypatch.setattr(dbmod, "_sqlite_pragmas", short_wait)
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    engine = get_engine(url)
    outcome = update_source(engine, all_sources()["us_bis_dpl"], mirror=str(MIRROR))
    assert outcome.ok
    with engine.connect() as conn:
        sid = conn.execute(select(Entity.source_id).limit(1)).scalar_one()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a running update holds it
    try:
        result = CliRunner().invoke(
            app,
            ["accept", "--party", "X", "--entry", f"us_bis_dpl:{sid}", "--reason", "not them",
             "--db", url],
            catch_exceptions=False,
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line_error(result, "locked")
    assert result.exit_code == 2 and "locked" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["screen", "X", "--threshold", "abc"], ["screen", "X", "--format", "xml"],
     ["no-such-command"], ["check"], ["screen", "X", "--no-such-option"]],
)  # fmt: skip
def test_usage_errors_are_one_line_from_the_entry_point(
    args: list[str], files: dict[str, str]
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "compliance.cli", *args, "--db", files["db"]],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr and proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: ") and "--help" in line


def test_a_mirror_without_source_folders_skips_each_and_indexes_nothing(
    files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLIANCE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    args = ["update", "--mirror", str(tmp_path / "mirror"), "--db", files["db"]]  # a list loaded
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("skipped ") for line in lines), lines
    assert len(lines) == len(all_sources()) + 1  # every list and the regulation texts
