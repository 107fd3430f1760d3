"""Faults during `compliance update`: SIGKILL at random points, a full disk, a read-only
database. The database must always open cleanly and hold, for each source, exactly the old
snapshot or exactly the new one; database faults are one clear line and exit code 2."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner, Result

from compliance.cli import app
from compliance.lists_update import fetch_files, parse_files
from compliance.sources import all_sources
from compliance.sources.http import FetchPolicy
from tests.conftest import MIRROR

CLI = str(Path(sys.executable).parent / "compliance")
SOURCES = ("us_bis_dpl", "un_sc", "us_ofac_cons")
KILLS = 12
SEED = 20260601
CHILDREN = ("entity_name", "entity_address", "entity_identifier", "entity_birth_date")


@dataclass(frozen=True)
class Expected:
    """What one mirror version of one source must load as."""

    ids: frozenset[str]
    names: int
    addresses: int
    identifiers: int


def _write_mirrors(root: Path) -> tuple[Path, Path]:
    """Version A: the real files. Version B: the same lists a little changed (fewer entries,
    so each swap changes the entity set and a mix of the two would show)."""
    a, b = root / "a", root / "b"
    for m in (a, b):
        for key in SOURCES:
            (m / key).mkdir(parents=True)
    for key in ("us_bis_dpl", "un_sc"):
        name = all_sources()[key].files[0].name
        (a / key / name).write_bytes((MIRROR / key / name).read_bytes())
    for f in (MIRROR / "us_ofac_cons").glob("*.csv"):  # the CSV set (the XML would win)
        (a / "us_ofac_cons" / f.name).write_bytes(f.read_bytes())
        (b / "us_ofac_cons" / f.name).write_bytes(f.read_bytes())
    dpl = (MIRROR / "us_bis_dpl" / "dpl.txt").read_bytes().splitlines(keepends=True)
    (b / "us_bis_dpl" / "dpl.txt").write_bytes(b"".join(dpl[:1] + dpl[80:]))
    root_el = etree.fromstring((MIRROR / "un_sc" / "consolidated.xml").read_bytes())
    people = root_el.find("INDIVIDUALS")
    for el in list(people)[::10]:
        people.remove(el)
    (b / "un_sc" / "consolidated.xml").write_bytes(etree.tostring(root_el, encoding="UTF-8"))
    prim = (MIRROR / "us_ofac_cons" / "cons_prim.csv").read_bytes().splitlines(keepends=True)
    (b / "us_ofac_cons" / "cons_prim.csv").write_bytes(b"".join(prim[:-40]))
    return a, b


def _expected(mirror: Path) -> dict[str, Expected]:
    out = {}
    for key in SOURCES:
        source = all_sources()[key]
        recs = parse_files(source, fetch_files(source, str(mirror), FetchPolicy())).records
        out[key] = Expected(
            frozenset(r.source_id for r in recs),
            sum(len(r.names) for r in recs),
            sum(len(r.addresses) for r in recs),
            sum(len(r.identifiers) for r in recs),
        )
    return out


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _write_mirrors(tmp_path_factory.mktemp("mirrors"))


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMPLIANCE_DB"}
    env["COMPLIANCE_CACHE"] = str(tmp / "cache")
    return env


def check_consistent(db: Path, allowed: dict[str, list[Expected]]) -> dict[str, Expected]:
    """The database opens cleanly and each source holds exactly one of its allowed versions,
    with every child row belonging to a current entity. Returns the version each source has."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        found = {}
        current = dict(conn.execute("SELECT key, current_snapshot_id FROM source"))
        assert set(current) == set(SOURCES)
        for key, snap in current.items():
            status, count = conn.execute(
                "SELECT status, record_count FROM snapshot WHERE id = ?", (snap,)
            ).fetchone()
            assert status == "current"
            ids = frozenset(
                r
                for (r,) in conn.execute(
                    "SELECT source_id FROM entity WHERE snapshot_id = ?", (snap,)
                )
            )
            assert len(ids) == count
            match = [v for v in allowed[key] if v.ids == ids]
            assert match, f"{key}: {len(ids)} entities, neither the old nor the new snapshot"
            counts = [
                conn.execute(
                    f"SELECT count(*) FROM {t} WHERE entity_id IN "  # noqa: S608
                    "(SELECT id FROM entity WHERE snapshot_id = ?)",
                    (snap,),
                ).fetchone()[0]
                for t in ("entity_name", "entity_address", "entity_identifier")
            ]
            assert counts == [match[0].names, match[0].addresses, match[0].identifiers], key
            found[key] = match[0]
        snaps = set(current.values())
        stray = conn.execute(
            f"SELECT count(*) FROM entity WHERE snapshot_id NOT IN ({','.join('?' * len(snaps))})",
            tuple(snaps),
        ).fetchone()[0]
        assert stray == 0  # no entity of an old or half-written snapshot survives
        for table in CHILDREN + ("entity_nationality",):
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} WHERE entity_id NOT IN (SELECT id FROM entity)"  # noqa: S608
            ).fetchone()[0]
            assert orphans == 0, table
        per_source = conn.execute(
            "SELECT source, count(*) FROM snapshot WHERE status = 'current' GROUP BY source"
        ).fetchall()
        assert sorted(per_source) == sorted((k, 1) for k in SOURCES)
        return found
    finally:
        conn.close()


def writing(db: Path) -> bool:
    """Whether some process holds the database's write lock (a snapshot swap is under way)."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def lock_spans(
    proc: subprocess.Popen[bytes], db: Path, started: float
) -> list[tuple[float, float]]:
    """Until `proc` exits, when (seconds after `started`) some process held the write lock."""
    spans: list[tuple[float, float]] = []
    since: float | None = None
    while proc.poll() is None:
        held = db.exists() and writing(db)
        now = time.monotonic() - started
        if held and since is None:
            since = now
        elif not held and since is not None:
            spans.append((since, now))
            since = None
        time.sleep(0.003)
    return spans


def test_sigkill_at_random_points_leaves_old_or_new(
    mirrors: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = mirrors
    want = {"a": _expected(a), "b": _expected(b)}
    for key in SOURCES:
        assert want["a"][key].ids != want["b"][key].ids
    db, env = tmp_path / "kill.db", _env(tmp_path)
    cmd = [CLI, "update", *SOURCES, "--db", str(db), "--mirror"]

    # An undisturbed run first: the old snapshot, and when and how long the write lock is held.
    started = time.monotonic()
    proc = subprocess.Popen(
        [*cmd, str(a)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    spans = lock_spans(proc, db, started)
    assert proc.stdout is not None and proc.wait() == 0
    assert sum(line.startswith(b"ok") for line in proc.stdout) == len(SOURCES)
    assert spans, "the update never held the write lock"
    state = check_consistent(db, {k: [want["a"][k]] for k in SOURCES})

    rng = random.Random(SEED)
    window = (max(0.3, spans[0][0] - 1.0), spans[-1][1] + 0.2)  # fetching, parsing, writing
    # A kill inside a swap lands within the first half of a typical lock span, so that it
    # hits an open transaction on a fast machine as on a slow one.
    typical = sorted(end - start for start, end in spans)[len(spans) // 2]
    outcomes = {"killed": 0, "finished": 0, "mid_write": 0, "swapped": 0, "kept": 0}
    for i in range(KILLS):
        version = "b" if i % 2 == 0 else "a"
        proc = subprocess.Popen(
            [*cmd, str(b if version == "b" else a)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        if i % 2:  # any point of the run
            time.sleep(rng.uniform(*window))
        else:  # inside the n-th snapshot swap: wait for its write lock, then a little more
            target, seen, held = rng.randint(1, len(SOURCES)), 0, False
            deadline = time.monotonic() + window[1] + 5
            while seen < target and proc.poll() is None and time.monotonic() < deadline:
                now_held = writing(db)
                seen += now_held and not held
                held = now_held
                time.sleep(0.003)
            time.sleep(rng.uniform(0, typical / 2))
        outcomes["mid_write"] += writing(db)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait()
        outcomes["killed" if rc == -signal.SIGKILL else "finished"] += 1
        assert rc in (0, -signal.SIGKILL)
        allowed = {k: [state[k], want[version][k]] for k in SOURCES}
        new_state = check_consistent(db, allowed)
        for k in SOURCES:
            changed = new_state[k] != state[k]
            outcomes["swapped" if changed else "kept"] += 1
        state = new_state

    # Kills landed both before and after swaps, and the database still updates normally.
    assert outcomes["killed"] >= KILLS // 2 and outcomes["swapped"] and outcomes["kept"], outcomes
    assert outcomes["mid_write"] >= KILLS // 4, outcomes  # many kills hit an open transaction
    final = subprocess.run([*cmd, str(a)], capture_output=True, env=env, timeout=120)
    assert final.returncode == 0, final.stderr
    check_consistent(db, {k: [want["a"][k]] for k in SOURCES})
    print(f"\nSIGKILL drill: {outcomes}")


# --- disk full and read-only -------------------------------------------------------------


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COMPLIANCE_HTTP_BACKOFF": "0.01"})


@pytest.fixture(scope="module")
def loaded(mirrors: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding us_bis_dpl and un_sc (version B), in one file (no -wal)."""
    path = tmp_path_factory.mktemp("loaded") / "base.db"
    result = cli("update", "us_bis_dpl", "un_sc", "--mirror", str(mirrors[1]), "--db", str(path))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    from compliance.store.db import get_engine

    get_engine(str(path)).dispose()
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {exc}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def sources_json(db: str) -> dict[str, dict[str, object]]:
    result = cli("sources", "--format", "json", "--db", db)
    assert result.exit_code == 0, result.output
    return {r["source"]: r for r in json.loads(result.stdout)}


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def _remount(mount: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)


def test_disk_full_is_one_clear_line_and_changes_nothing(
    small_disk: Path, loaded: Path, mirrors: tuple[Path, Path]
) -> None:
    db = small_disk / "compliance.db"
    db.write_bytes(loaded.read_bytes())
    size = db.stat().st_size
    _remount(small_disk, f"size={size + 1_200_000}")  # room to open, not for a new UN list
    before = sources_json(str(db))
    result = cli("update", "un_sc", "--mirror", str(mirrors[0]), "--db", str(db))
    error = one_error_line(result)
    assert error.startswith(f"error: un_sc: the disk holding the database {db} is full: ")
    assert "free some space" in error and "changed nothing" in error
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert sources_json(str(db)) == before  # same snapshot, checksum, records, status

    _remount(small_disk, "size=64m")  # space freed: the same command now works
    again = cli("update", "un_sc", "--mirror", str(mirrors[0]), "--db", str(db))
    assert again.exit_code == 0, again.output
    assert sources_json(str(db))["un_sc"]["records"] == 1003


def test_read_only_filesystem(small_disk: Path, loaded: Path, mirrors: tuple[Path, Path]) -> None:
    db = small_disk / "compliance.db"
    db.write_bytes(loaded.read_bytes())
    _remount(small_disk, "ro")
    for args in (["update", "un_sc", "--mirror", str(mirrors[0])], ["sources"]):
        error = one_error_line(cli(*args, "--db", str(db)))
        assert error.startswith(f"error: the database {db} is read-only: ")
        assert "compliance.db-wal" in error and "--db" in error
    # the real process as a user runs it: same line, same exit code, no traceback
    proc = subprocess.run(
        [CLI, "update", "un_sc", "--mirror", str(mirrors[0]), "--db", str(db)],
        capture_output=True,
        text=True,
        env=_env(small_disk.parent),
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"error: the database {db} is read-only: ")


def test_read_only_connection_still_reads(loaded: Path, mirrors: tuple[Path, Path]) -> None:
    url = f"sqlite:///file:{loaded}?mode=ro&uri=true"
    before = sources_json(url)
    assert before["un_sc"]["status"] == "ok"
    error = one_error_line(cli("update", "un_sc", "--mirror", str(mirrors[0]), "--db", url))
    assert error.startswith(f"error: un_sc: the database {loaded} is read-only: ")
    assert sources_json(url) == before
