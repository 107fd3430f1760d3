"""A list's meaning is its Source's policy, and nothing else: a list defined here, in the test,
loaded with the normal update path, blocks orders, ranks and is named as its policy says,
without any other file knowing it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from compliance.matching.index import cache_key
from compliance.orders.deciders import CheckOptions
from compliance.orders.reader import FIELDS
from compliance.orders.run import check_file
from compliance.policy import BLOCK, REVIEW, ListPolicy, SubList
from compliance.screening import Query, Screener
from compliance.sources import all_sources, policy_of, register_source, unregister_source
from compliance.sources.base import EntityRecord, ParsedList, ParseError, Source, SourceFile
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR

KEY = "zz_test_sanctions"
FILE = "designations.txt"
# sub-list | name | country: a list format of its own, parsed by the parser below
DESIGNATIONS = """\
BAN|Zorblax Quantum Devices Ltd|CN
WATCH|Quillfeather Photonics GmbH|DE
BAN|MAHAN AIRWAYS|IR
"""
SUB_LISTS = (
    SubList("BAN", "Banned", BLOCK, "sanctions", why="dealings prohibited"),
    SubList("WATCH", "Watch", REVIEW, "other", why="look before dealing"),
)


def parse(files: Mapping[str, bytes]) -> ParsedList:
    records = []
    for n, line in enumerate(files[FILE].decode("utf-8").splitlines(), 1):
        parts = line.split("|")
        if len(parts) != 3:
            raise ParseError("expected sub-list|name|country", file=FILE, line=n)
        code, name, country = parts
        records.append(
            EntityRecord(
                source_id=f"T{n}",
                entity_type="organization",
                name=name,
                lists=[code],
                countries=[country],
                fields={"list_codes": [code]},
            )
        )
    return ParsedList(records, data_date="2026-12-01")


def test_source(rank: int) -> Source:
    return Source(
        key=KEY,
        title="Test Sanctions List",
        publisher="the test",
        files=(SourceFile(FILE, "https://example.invalid/designations.txt", "text"),),
        parse=parse,
        policy=ListPolicy(
            display="Test Sanctions List",
            category="sanctions",
            decision=BLOCK,
            rank=rank,
            sub_lists=SUB_LISTS,
        ),
    )


test_source.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test list and the real BIS Denied Persons List, through `update_sources`."""
    tmp = tmp_path_factory.mktemp("policy")
    mirror = tmp / "mirror"
    (mirror / KEY).mkdir(parents=True)
    (mirror / KEY / FILE).write_text(DESIGNATIONS, encoding="utf-8")
    (mirror / "us_bis_dpl").symlink_to(MIRROR / "us_bis_dpl")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))
        url = f"sqlite:///{tmp / 'lists.db'}"
        register_source(test_source(rank=1))  # only while updating: each test says what it needs
        try:
            outcomes = update_sources(get_engine(url), ["us_bis_dpl", KEY], mirror=str(mirror))
        finally:
            unregister_source(KEY)
        assert [(o.source, o.ok, o.records) for o in outcomes] == [
            ("us_bis_dpl", True, 577),
            (KEY, True, 3),
        ]
        yield url


@pytest.fixture
def registered(db: str) -> Iterator[str]:
    register_source(test_source(rank=1))
    yield db
    unregister_source(KEY)


def screen(url: str, name: str) -> list:  # noqa: ANN201
    return Screener.load(get_engine(url)).screen(Query(name), threshold=85).matches


def test_a_sure_hit_blocks_the_order(registered: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    with orders.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, FIELDS, restval="")
        w.writeheader()
        w.writerow({"order_id": "P-1", "customer": "Zorblax Quantum Devices Ltd."})
        w.writerow({"order_id": "P-2", "end_user": "Quillfeather Photonics GmbH"})
        w.writerow({"order_id": "P-3", "customer": "Siemens AG"})
    out = tmp_path / "out.jsonl"
    rep = check_file(orders, CheckOptions(db_url=registered), output=out, record=False)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["decision"] for x in lines] == ["BLOCK", "REVIEW", "CLEAR"]
    assert rep.counts["BLOCK"] == 1 and rep.counts["REVIEW"] == 1
    ban = next(r for r in lines[0]["reasons"] if r["kind"] == "party")
    assert ban["entry"] == f"{KEY}:T1" and ban["decision"] == "BLOCK"
    assert ban["list"] == "Test Sanctions List · Banned" and ban["sub_lists"] == ["Banned"]
    assert ban["category"] == "sanctions"
    assert "(Test Sanctions List · Banned, organization)" in ban["text"]  # list and type
    # a sure match on its watch sub-list is looked at, not blocked: the sub-list's policy
    watch = next(r for r in lines[1]["reasons"] if r["kind"] == "party")
    assert watch["score"] == 100 and watch["decision"] == "REVIEW"
    assert watch["list"] == "Test Sanctions List · Watch" and watch["category"] == "other"


def test_match_carries_the_display_name_and_decision(registered: str) -> None:
    (m,) = screen(registered, "Zorblax Quantum Devices")
    assert (m.source, m.source_id, m.score) == (KEY, "T1", 100)
    assert m.list_name == "Test Sanctions List · Banned" and m.sub_lists == ["Banned"]
    assert m.decision == "BLOCK" and m.category == "sanctions"
    assert m.sources[0]["list_name"] == m.list_name and m.snapshot["data_date"] == "2026-12-01"


@pytest.mark.parametrize(("rank", "first"), [(1, KEY), (999, "us_bis_dpl")])
def test_rank_orders_equal_hits(db: str, rank: int, first: str) -> None:
    """MAHAN AIRWAYS is on both lists (not one listing: no shared merge key), both at 100: the
    policy's rank says which comes first (the DPL's rank is 30)."""
    register_source(test_source(rank=rank))  # a changed rank is a new index (cache key)
    try:
        matches = [m for m in screen(db, "Mahan Airways") if m.score == 100]
    finally:
        unregister_source(KEY)
    assert {m.source for m in matches} == {KEY, "us_bis_dpl"}
    assert matches[0].source == first
    dpl = next(m for m in matches if m.source == "us_bis_dpl")
    assert dpl.list_name == "BIS Denied Persons List" and dpl.decision == "BLOCK"


def test_the_index_key_follows_the_registered_policies(db: str) -> None:
    """The cached index groups and orders listings by the policies registered when it was
    built: registering a list, or changing its rank, gives another cache key."""
    engine = get_engine(db)
    keys = [cache_key(engine)[0]]
    for rank in (1, 999):
        register_source(test_source(rank=rank))
        try:
            keys.append(cache_key(engine)[0])
        finally:
            unregister_source(KEY)
    keys.append(cache_key(engine)[0])
    assert len(set(keys[:3])) == 3 and keys[3] == keys[0]


def test_a_list_no_source_declares_is_reviewed(db: str) -> None:
    """Loaded, then no longer registered (the module fixture's registration is gone here): its
    hits are shown under the key and reviewed, never blocked or cleared by a default."""
    assert KEY not in all_sources()
    (m,) = screen(db, "Zorblax Quantum Devices")
    assert (m.decision, m.list_name, m.category) == (REVIEW, KEY, "other")


def test_registry_guards() -> None:
    assert policy_of("us_trade_csl").rank > policy_of("us_ofac_sdn").rank
    with pytest.raises(ValueError, match="built-in source"):
        register_source(all_sources()["us_bis_dpl"])
    with pytest.raises(TypeError, match="policy"):
        Source(KEY, "t", "p", (), parse)  # type: ignore[call-arg]  # a list must say what it means
    with pytest.raises(ValueError, match="decision 'DENY'"):
        ListPolicy(display="x", category="sanctions", decision="DENY")  # type: ignore[arg-type]
