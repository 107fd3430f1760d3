"""The on-disk screening index: the cache gives the same answers as a fresh build, is used
exactly while the lists are unchanged, is found without SQLAlchemy, and a damaged or
half-written file is rebuilt, never trusted."""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compliance.matching import indexcache
from compliance.matching.index import (
    MatchIndex,
    cache_key,
    cached_index,
    load_index,
    open_cached,
)
from compliance.matching.indexfile import IndexFileError, Reader
from compliance.screening import Query, Screener
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR

SOURCES = ["un_sc", "us_bis_dpl"]
QUERIES = [
    Query("Usama bin Laden"),
    Query("AL-QAIDA"),
    Query("Al Qaeda in the Arabian Peninsula", type="organization"),
    Query("Hamza Usama Muhammad bin Ladin", dob="1989"),
    Query("Abu Bakr al-Baghdadi", country="IQ"),
    Query("Kim Jong Un", country="KP"),
    Query("Nonexistent Trading Company"),
]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The UN list and the Denied Persons List, loaded from the mirror."""
    url = f"sqlite:///{tmp_path_factory.mktemp('small') / 'lists.db'}"
    outcomes = update_sources(get_engine(url), SOURCES, mirror=str(MIRROR))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    return url


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COMPLIANCE_CACHE", str(folder))
    return folder


def answers(index: MatchIndex) -> list[dict[str, Any]]:
    screener = Screener(index)
    return [screener.screen(q, threshold=70).to_dict() for q in QUERIES]


def index_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"index-*{indexcache.SUFFIX}"))


def test_cached_index_answers_like_a_fresh_build(small_db: str, cache: Path) -> None:
    engine = get_engine(small_db)
    fresh = load_index(engine, use_cache=False)
    assert not cache.exists()  # use_cache=False writes nothing
    first = load_index(engine)  # builds and writes the cache
    (path,) = index_files(cache)
    again = load_index(engine)  # read back from the file
    assert isinstance(again.buffer, mmap.mmap) and isinstance(fresh.buffer, bytes)
    expected = answers(fresh)
    assert any(r["matches"] for r in expected)
    assert answers(first) == expected
    assert answers(again) == expected
    assert [e.name for e in again.entities] == [e.name for e in fresh.entities]
    assert len(again.names) == len(fresh.names) and again.key == fresh.key


def test_cache_is_reused_until_a_list_changes(small_db: str, cache: Path) -> None:
    engine = get_engine(small_db)
    load_index(engine)
    (path,) = index_files(cache)
    before = path.stat()
    load_index(engine)
    assert path.stat().st_mtime_ns == before.st_mtime_ns  # used, not rewritten
    key_before = cache_key(engine)[0]
    assert all(o.ok for o in update_sources(engine, ["us_bis_dpl"], mirror=str(MIRROR), force=True))
    key_after, snaps = cache_key(engine)
    assert key_after != key_before  # a new snapshot of one list: a new index
    index = load_index(engine)
    assert index.key == key_after and set(index.snapshots) == set(snaps)
    assert {p.name for p in index_files(cache)} == {
        path.name,
        f"index-{key_after}{indexcache.SUFFIX}",
    }


def test_key_found_without_sqlalchemy_matches_the_engines(small_db: str, cache: Path) -> None:
    engine = get_engine(small_db)
    assert cached_index(small_db) is None  # nothing cached yet: the caller builds
    built = load_index(engine)
    found = cached_index(small_db)
    assert found is not None and found.key == built.key == cache_key(engine)[0]
    assert found.snapshots == cache_key(engine)[1]
    bare_path = small_db.removeprefix("sqlite:///")
    assert indexcache.sqlite_file(small_db) == bare_path
    assert indexcache.sqlite_file("postgresql+psycopg://u@h/db") is None
    assert cached_index(f"sqlite:///{bare_path}.missing") is None


@pytest.mark.parametrize(
    "damage",
    ["truncate", "flip_byte", "zero_fill", "empty", "garbage", "other_lists"],
)
def test_damaged_cache_is_rebuilt(small_db: str, cache: Path, tmp_path: Path, damage: str) -> None:
    engine = get_engine(small_db)
    expected = answers(load_index(engine))
    (path,) = index_files(cache)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip_byte":
        data[len(data) * 2 // 3] ^= 0x5A
    elif damage == "zero_fill":
        data = bytearray(len(data))
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data = bytearray(b"\x80\x04not an index" * 1000)
    else:  # a whole index file, but of other lists, under this key's name
        data = bytearray(_one_source_index(tmp_path).buffer)
    path.write_bytes(bytes(data))
    key = cache_key(engine)[0]
    assert open_cached(key) is None and cached_index(small_db) is None
    assert answers(load_index(engine)) == expected  # rebuilt...
    assert open_cached(key) is not None  # ...and the cache repaired


def test_reader_refuses_damage_with_a_reason() -> None:
    with pytest.raises(IndexFileError, match="format"):
        Reader(b"PK\x03\x04" + bytes(100))
    with pytest.raises(IndexFileError, match="shorter"):
        Reader(b"")


WRITER = """
import sys
from pathlib import Path
from compliance.matching import indexcache
target, a, b = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), Path(sys.argv[3]).read_bytes()
for i in range(int(sys.argv[4])):
    indexcache.write_atomic(target, a if i % 2 else b)
"""

READER = """
import json, sys
from pathlib import Path
from compliance.matching import indexcache
from compliance.matching.index import MatchIndex
seen, opens, failures = set(), 0, 0
path, running = Path(sys.argv[1]), Path(sys.argv[2])
print("ready", flush=True)
while running.exists():
    mapped = indexcache.map_file(path)
    opens += 1
    try:
        seen.add(len(MatchIndex(mapped).entities))
    except Exception:
        failures += 1
print(json.dumps({"seen": sorted(seen), "opens": opens, "failures": failures}))
"""


def test_a_reader_never_sees_a_half_written_cache(small_db: str, tmp_path: Path) -> None:
    """One process rewrites the cache file over and over, alternating two different
    indexes, while another keeps opening it: every open sees one whole index."""
    engine = get_engine(small_db)
    both = load_index(engine, use_cache=False)
    (tmp_path / "a").write_bytes(both.buffer)
    dpl_only = _one_source_index(tmp_path)
    (tmp_path / "b").write_bytes(dpl_only.buffer)
    target = tmp_path / "cache" / "index-x.idx"
    indexcache.write_atomic(target, both.buffer)
    running = tmp_path / "running"
    running.touch()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target), str(running)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
    writer = [sys.executable, "-c", WRITER, str(target), str(tmp_path / "a"), str(tmp_path / "b")]
    subprocess.run([*writer, "200"], check=True, env=env, timeout=120)
    running.unlink()
    out, _ = reader.communicate(timeout=60)
    result = json.loads(out)
    assert result["opens"] >= 10 and result["failures"] == 0
    assert set(result["seen"]) <= {len(both.entities), len(dpl_only.entities)}
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def _one_source_index(tmp_path: Path) -> MatchIndex:
    one = f"sqlite:///{tmp_path / 'dpl.db'}"
    assert all(o.ok for o in update_sources(get_engine(one), ["us_bis_dpl"], mirror=str(MIRROR)))
    return load_index(get_engine(one), use_cache=False)


class RecordedProgress:
    """A Progress that keeps what it was told, to check what a build reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def start(self, key: str, description: str, total: float | None = None) -> None:
        self.events.append(("start", (key, description, total)))

    def advance(self, key: str, amount: float = 1) -> None:
        self.events.append(("advance", amount))

    def update(self, key: str, **kwargs: Any) -> None:
        self.events.append(("update", kwargs))

    def finish(self, key: str) -> None:
        self.events.append(("finish", key))


def test_build_reports_names_indexed(small_db: str, cache: Path) -> None:
    import sqlite3

    progress = RecordedProgress()
    load_index(get_engine(small_db), progress=progress)
    db = sqlite3.connect(small_db.removeprefix("sqlite:///"))
    (listed,) = db.execute(
        "SELECT count(*) FROM entity_name WHERE entity_id IN (SELECT e.id FROM entity e "
        "JOIN source s ON s.current_snapshot_id = e.snapshot_id)"
    ).fetchone()
    kind, (key, description, total) = progress.events[0]
    assert (kind, key, total) == ("start", "index", listed) and "names" in description
    done = [e[1]["completed"] for e in progress.events if e[0] == "update"]
    assert done == sorted(done) and done[-1] <= listed
    assert progress.events[-1] == ("finish", "index")
    progress = RecordedProgress()
    load_index(get_engine(small_db), progress=progress)
    assert progress.events == []  # served from the cache: nothing to report
