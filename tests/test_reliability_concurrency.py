"""Concurrent use: screening keeps answering, with the same results, while another process
swaps snapshots; two `compliance update` runs at once are serialised, never interleaved."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from compliance.lists_update import fetch_files, parse_files
from compliance.matching.index import load_index
from compliance.screening import Query, Screener
from compliance.sources import all_sources
from compliance.sources.http import FetchPolicy
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR, REFERENCE

CLI = str(Path(sys.executable).parent / "compliance")
SOURCES = ("us_bis_dpl", "un_sc", "us_ofac_cons")
SWAPS = 3

UPDATER = """
import sys
from compliance.store.db import get_engine
from compliance.update import update_sources
engine = get_engine(sys.argv[1])
for i in range(int(sys.argv[3])):
    outcomes = update_sources(engine, sys.argv[4].split(","), mirror=sys.argv[2], force=True)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    print("swapped", i, flush=True)
"""


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    for key in SOURCES:
        (root / key).mkdir()
    for key in ("us_bis_dpl", "un_sc"):
        name = all_sources()[key].files[0].name
        (root / key / name).write_bytes((MIRROR / key / name).read_bytes())
    for f in (MIRROR / "us_ofac_cons").glob("*.csv"):
        (root / "us_ofac_cons" / f.name).write_bytes(f.read_bytes())
    return root


@pytest.fixture(scope="module")
def expected(mirror: Path) -> dict[str, Any]:
    """Per source: entity count and a spread of listed primary names to screen for."""
    out: dict[str, Any] = {"counts": {}, "names": []}
    for key in SOURCES:
        source = all_sources()[key]
        recs = parse_files(source, fetch_files(source, str(mirror), FetchPolicy())).records
        out["counts"][key] = len(recs)
        out["names"] += [r.name for r in recs[::40]]
    with (REFERENCE / "sp500_constituents.csv").open(encoding="utf-8") as fh:
        out["names"] += [row["Security"] for row in list(csv.DictReader(fh))[:15]]
    return out


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMPLIANCE_DB"}
    env["COMPLIANCE_CACHE"] = str(tmp / "cache")
    return env


def summary(matches: list[dict[str, Any]]) -> list[tuple[str, str, float, str]]:
    """A result without what a new snapshot legitimately renumbers (ids, fetch time)."""
    return [(m["source"], m["source_id"], m["score"], m["matched_name"]) for m in matches]


def screen_file(db: str, parties: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "screen", "--file", str(parties), "--format", "jsonl", "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def file_results(proc: subprocess.Popen[str]) -> list[tuple[int, str, list[Any]]]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1), err  # 1: something matched
    rows = [json.loads(line) for line in out.splitlines()]
    return [(r["row"], r["status"], summary(r["matches"])) for r in rows]


def test_screening_is_consistent_while_snapshots_are_replaced(
    mirror: Path, expected: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'screen.db'}"
    env = _env(tmp_path)
    monkeypatch.setenv("COMPLIANCE_CACHE", env["COMPLIANCE_CACHE"])
    engine = get_engine(db)
    assert all(o.ok for o in update_sources(engine, list(SOURCES), mirror=str(mirror)))
    names = expected["names"]
    parties = tmp_path / "parties.csv"
    with parties.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["name"], *[[n] for n in names]])

    def results(index: Any) -> list[Any]:
        screener = Screener(index)
        return [summary([m.to_dict() for m in screener.screen(Query(n)).matches]) for n in names]

    reference = results(load_index(engine, use_cache=False))
    listed = sum(1 for r in reference if r)
    assert listed >= len(names) - 15  # every listed name is found (S&P names are not listed)
    file_reference = file_results(screen_file(db, parties, env))
    assert [r[2] for r in file_reference] == reference  # the CLI agrees with the library

    updater = subprocess.Popen(
        [sys.executable, "-c", UPDATER, db, str(mirror), str(SWAPS), ",".join(SOURCES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    rounds, keys, cli_runs = 0, set(), 0
    cli = screen_file(db, parties, env)
    try:
        while updater.poll() is None:
            index = load_index(engine, use_cache=False)
            counts = {k: 0 for k in SOURCES}
            for e in index.entities:
                counts[e.source] += 1
            assert counts == expected["counts"], f"torn read: {counts}"
            assert results(index) == reference
            keys.add(index.key)
            rounds += 1
            if cli.poll() is not None:
                assert file_results(cli) == file_reference
                cli_runs += 1
                cli = screen_file(db, parties, env)
    finally:
        out, err = updater.communicate(timeout=120)
    assert updater.returncode == 0, err
    assert out.count("swapped") == SWAPS
    assert file_results(cli) == file_reference  # the last run overlapped the updates too
    cli_runs += 1
    assert len(keys) >= 2, "no snapshot was replaced while screening"
    assert rounds >= 3 and cli_runs >= 1, (rounds, cli_runs)


def _two_updates(
    db: str, mirror: Path, env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    cmd = [CLI, "update", "us_bis_dpl", "un_sc", "--force", "--mirror", str(mirror), "--db", db]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def _assert_serialised(
    runs: list[subprocess.CompletedProcess[str]], counts: dict[str, int]
) -> None:
    """Both succeed; for each source one run made the first snapshot and the other replaced
    it, seeing it whole (an interleaved pair would both report a first snapshot)."""
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stderr == "" or "FAILED" not in run.stderr
    for key in ("us_bis_dpl", "un_sc"):
        first = f"ok      {key}: {counts[key]:,} records"
        lines = [line for run in runs for line in run.stdout.splitlines() if line.startswith(first)]
        assert len(lines) == 2, lines
        assert sum("(first snapshot)" in line for line in lines) == 1, lines
        assert sum("(+0 added, -0 removed, ~0 changed)" in line for line in lines) == 1, lines


def _db_state(conn: Any) -> None:
    rows = conn.execute(
        text(
            "SELECT s.key, n.record_count, "
            "(SELECT count(*) FROM entity e WHERE e.snapshot_id = n.id), "
            "(SELECT count(*) FROM snapshot x WHERE x.source = s.key), "
            "(SELECT count(*) FROM snapshot x WHERE x.source = s.key AND x.status = 'current') "
            "FROM source s JOIN snapshot n ON n.id = s.current_snapshot_id ORDER BY s.key"
        )
    ).all()
    assert [(k, held == n, total, cur) for k, n, held, total, cur in rows] == [
        ("un_sc", True, 2, 1),
        ("us_bis_dpl", True, 2, 1),
    ]
    stray = conn.execute(
        text(
            "SELECT count(*) FROM entity WHERE snapshot_id NOT IN "
            "(SELECT current_snapshot_id FROM source)"
        )
    ).scalar()
    assert stray == 0


def test_two_updates_at_once_on_a_new_sqlite_database(
    mirror: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "twice.db"
    runs = _two_updates(str(path), mirror, _env(tmp_path))
    _assert_serialised(runs, expected["counts"])
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with get_engine(str(path)).connect() as conn:
        _db_state(conn)


def test_two_updates_at_once_on_postgresql(
    postgres_url: str,
    mirror: Path,
    expected: dict[str, Any],
    tmp_path: Path,
) -> None:
    runs = _two_updates(postgres_url, mirror, _env(tmp_path))
    _assert_serialised(runs, expected["counts"])
    engine = get_engine(postgres_url)
    with engine.connect() as conn:
        _db_state(conn)
    engine.dispose()


def test_lock_source_takes_the_write_lock_first(tmp_path: Path) -> None:
    """SQLite: once _lock_source has run, for a new source or a known one, no other writer can
    start (the lock is held from the first statement on, before anything is read)."""
    from compliance.store.snapshots import _lock_source

    path = tmp_path / "lock.db"
    engine = get_engine(f"sqlite:///{path}")
    for title in ("new source", "known source"):
        with engine.begin() as conn:
            _lock_source(conn, "un_sc", title)
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT key, title FROM source")).all() == [
            ("un_sc", "known source")
        ]
