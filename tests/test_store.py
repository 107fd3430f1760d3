"""The snapshot store: atomic swap, failure recording and the delta, on the real DPL records."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from compliance.lists_update import update_source
from compliance.sources import us_bis_dpl
from compliance.sources.base import EntityRecord, Name, ParsedList, ParseError, Source
from compliance.store import snapshots
from compliance.store.db import get_engine
from compliance.store.models import (
    CHILD_TABLES,
    Entity,
    EntityAddress,
    EntityName,
    Snapshot,
    SourceRow,
)
from compliance.store.snapshots import (
    ShrinkError,
    combined_sha256,
    record_failure,
    record_hash,
    replace_snapshot,
)
from compliance.store.status import source_statuses
from tests.conftest import MIRROR

KEY = "us_bis_dpl"
FILES = [{"name": "dpl.txt", "url": "test", "sha256": "a" * 64, "size": 1}]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def dpl() -> ParsedList:
    return us_bis_dpl.parse({"dpl.txt": (MIRROR / KEY / "dpl.txt").read_bytes()})


@pytest.fixture
def engine(db_url: str) -> Engine:
    return get_engine(db_url)


def fresh(parsed: ParsedList) -> ParsedList:
    return copy.deepcopy(parsed)


def status(engine: Engine) -> snapshots.SourceStatus:
    return next(s for s in source_statuses(engine) if s.source == KEY)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        out = {"entity": conn.execute(select(func.count()).select_from(Entity)).scalar_one()}
        for table in CHILD_TABLES:
            out[table.__tablename__] = conn.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
        return out


def load(engine: Engine, parsed: ParsedList, at: datetime = T0, **kw: bool) -> snapshots.LoadResult:
    return replace_snapshot(engine, KEY, "BIS Denied Persons List", parsed, FILES, at, **kw)


def test_first_load_stores_every_row(engine: Engine, dpl: ParsedList) -> None:
    result = load(engine, fresh(dpl))
    assert result.previous_count is None and result.record_count == len(dpl.records) == 577
    assert result.delta.counts() == {"added": 577, "removed": 0, "changed": 0}
    c = counts(engine)
    assert c["entity"] == 577
    assert c["entity_name"] == sum(len(r.names) for r in dpl.records)
    assert c["entity_address"] == sum(len(r.addresses) for r in dpl.records)
    s = status(engine)
    assert (s.records, s.data_date, s.status) == (577, "2023-11-28", "ok")
    assert s.sha256 == combined_sha256(FILES)


def _break_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entities and children of the first half go in, then the insert fails."""
    original = snapshots._insert_entities

    def broken(conn, key, snap_id, records, hashes):  # type: ignore[no-untyped-def]
        original(conn, key, snap_id, records[: len(records) // 2], hashes)
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(snapshots, "_insert_entities", broken)


def test_exception_mid_insert_leaves_old_snapshot(
    engine: Engine, dpl: ParsedList, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(engine, fresh(dpl))
    before, counts_before = status(engine), counts(engine)
    new = fresh(dpl)
    for r in new.records[:50]:
        r.name += " X"
    _break_midway(monkeypatch)
    with pytest.raises(RuntimeError, match="disk full"):
        load(engine, new, T1)
    assert status(engine) == before
    assert counts(engine) == counts_before
    with engine.connect() as conn:
        snaps = conn.execute(select(Snapshot.status)).scalars().all()
        names = set(conn.execute(select(Entity.name)).scalars())
    assert snaps == ["current"]  # the new snapshot row was rolled back with the rest
    assert not any(n.endswith(" X") for n in names)


def test_database_error_mid_insert_leaves_old_snapshot(engine: Engine, dpl: ParsedList) -> None:
    load(engine, fresh(dpl))
    before, counts_before = status(engine), counts(engine)
    new = fresh(dpl)
    # entity rows go in first; this NULL name makes the later entity_name insert fail
    new.records[400].names.append(Name(None, "aka"))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        load(engine, new, T1)
    assert status(engine) == before
    assert counts(engine) == counts_before


def test_swap_replaces_children_and_supersedes(engine: Engine, dpl: ParsedList) -> None:
    first = load(engine, fresh(dpl))
    second = load(engine, fresh(dpl), T1)
    assert second.delta.counts() == {"added": 0, "removed": 0, "changed": 0}
    assert second.previous_count == 577
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Snapshot.id, Snapshot.status)).all())
        entity_snaps = set(conn.execute(select(Entity.snapshot_id)).scalars())
        orphans = conn.execute(
            select(func.count())
            .select_from(EntityName)
            .where(EntityName.entity_id.not_in(select(Entity.id)))
        ).scalar_one()
    assert rows == {first.snapshot_id: "superseded", second.snapshot_id: "current"}
    assert entity_snaps == {second.snapshot_id}
    assert orphans == 0
    assert counts(engine)["entity"] == 577


def test_delta(engine: Engine, dpl: ParsedList) -> None:
    load(engine, fresh(dpl))
    new = fresh(dpl)
    removed = [r.source_id for r in new.records[:4]]
    del new.records[:4]
    renamed, moved = new.records[10], new.records[20]
    renamed.names[0].name += " JR"
    moved.addresses[0].city = "ELSEWHERE"
    new.records[30].raw["note"] = "raw is not part of the content hash"
    added = EntityRecord("new-entry-1", "person", "NEW PERSON", lists=["Denied Persons List (DPL)"])
    new.records.append(added)
    result = load(engine, new, T1)
    assert result.delta.added == ["new-entry-1"]
    assert result.delta.removed == sorted(removed)
    assert result.delta.changed == sorted([renamed.source_id, moved.source_id])
    with engine.connect() as conn:
        stored = conn.execute(select(Snapshot.delta).where(Snapshot.id == result.snapshot_id))
        assert stored.scalar_one() == {
            "added": ["new-entry-1"],
            "removed": sorted(removed),
            "changed": sorted([renamed.source_id, moved.source_id]),
        }
        city = conn.execute(
            select(EntityAddress.city)
            .join(Entity, Entity.id == EntityAddress.entity_id)
            .where(Entity.source_id == moved.source_id)
        ).scalars()
        assert "ELSEWHERE" in set(city)


def test_record_hash_ignores_raw_only(dpl: ParsedList) -> None:
    a = fresh(dpl).records[0]
    b = copy.deepcopy(a)
    b.raw = {"anything": 1}
    assert record_hash(a) == record_hash(b)
    b.fields["federal_register_notice"] = "changed"
    assert record_hash(a) != record_hash(b)


def test_shrink_guard(engine: Engine, dpl: ParsedList) -> None:
    load(engine, fresh(dpl))
    before = status(engine)
    half = fresh(dpl)
    half.records = half.records[:200]
    with pytest.raises(ShrinkError, match="from 577 to 200 records"):
        load(engine, half, T1)
    assert status(engine) == before
    result = load(engine, half, T1, force=True)
    assert result.record_count == 200 and len(result.delta.removed) == 377


def test_failure_recording(engine: Engine, dpl: ParsedList) -> None:
    record_failure(engine, KEY, "BIS Denied Persons List", "us_bis_dpl: dpl.txt: HTTP 500", [], T0)
    s = status(engine)
    assert (s.status, s.records, s.snapshot_id, s.last_error) == (
        "failed",
        0,
        None,
        "us_bis_dpl: dpl.txt: HTTP 500",
    )
    load(engine, fresh(dpl), T1)
    assert status(engine).status == "ok" and status(engine).last_error is None
    good = status(engine)
    at = datetime(2026, 1, 3, tzinfo=UTC)
    record_failure(engine, KEY, "BIS Denied Persons List", "us_bis_dpl: boom", FILES, at)
    s = status(engine)
    assert s.status == "stale (last update failed)" and s.last_error == "us_bis_dpl: boom"
    assert (s.records, s.sha256, s.fetched_at, s.snapshot_id) == (
        good.records,
        good.sha256,
        good.fetched_at,
        good.snapshot_id,
    )
    assert s.last_attempt_at == "2026-01-03T00:00:00+00:00"
    with engine.connect() as conn:
        failed = conn.execute(
            select(Snapshot.error, Snapshot.sha256).where(Snapshot.status == "failed")
        ).all()
        assert conn.execute(select(SourceRow.last_status)).scalar_one() == "failed"
    assert [f.error for f in failed] == ["us_bis_dpl: dpl.txt: HTTP 500", "us_bis_dpl: boom"]
    assert failed[1].sha256 == combined_sha256(FILES)


def _source(parse: object) -> Source:
    files, policy = us_bis_dpl.SOURCE.files, us_bis_dpl.SOURCE.policy
    return Source(KEY, "BIS Denied Persons List", "BIS", files, parse, policy=policy)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("parser", "message"),
    [
        (
            lambda files: (_ for _ in ()).throw(ParseError("bad header", file="dpl.txt", line=1)),
            "us_bis_dpl: dpl.txt line 1: bad header",
        ),
        (lambda files: 1 / 0, "us_bis_dpl: could not be parsed (ZeroDivisionError"),
        (lambda files: ParsedList([]), "us_bis_dpl: the files hold no records"),
        (
            lambda files: ParsedList([EntityRecord("1", "person", "A")] * 2),
            "us_bis_dpl: entry id '1' appears twice",
        ),
    ],
    ids=["parse-error", "parser-bug", "empty", "duplicate-id"],
)
def test_update_failures_are_recorded(
    engine: Engine, dpl: ParsedList, parser: object, message: str
) -> None:
    ok = update_source(engine, us_bis_dpl.SOURCE, mirror=str(MIRROR))
    assert ok.ok and ok.records == 577
    good = status(engine)

    def parse(files: Mapping[str, bytes]) -> ParsedList:
        return parser(files)  # type: ignore[operator,no-any-return]

    outcome = update_source(engine, _source(parse), mirror=str(MIRROR))
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.startswith(message)
    s = status(engine)
    assert s.last_error == outcome.error and s.status == "stale (last update failed)"
    assert (s.snapshot_id, s.records, s.sha256) == (good.snapshot_id, 577, good.sha256)


def test_a_database_from_an_older_version_gains_new_columns(tmp_path) -> None:
    """Columns added by a newer version (snapshot.meta) are added to an existing database."""
    import sqlite3

    from compliance.store.db import get_engine

    path = tmp_path / "old.db"
    get_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("ALTER TABLE snapshot DROP COLUMN meta")
    get_engine.cache_clear()
    engine = get_engine(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:
        assert "meta" in {row[1] for row in raw.execute("PRAGMA table_info(snapshot)")}
    assert source_statuses(engine) == []
