"""Re-screening past runs after an update, and identical results for 1 and N workers.

The database holds the real BIS Denied Persons List; the "before" snapshot is the same file
with a few real entries taken out, so the update adds exactly those entries back."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compliance.cli import app
from compliance.lists_update import update_source
from compliance.orders.decide import ScoreThresholds
from compliance.orders.deciders import CheckOptions, make_decider
from compliance.orders.reader import FIELDS
from compliance.orders.rescreen import rescreen
from compliance.orders.run import check_file
from compliance.sources import all_sources
from compliance.store.db import get_engine
from tests.conftest import MIRROR, REFERENCE

DPL = MIRROR / "us_bis_dpl" / "dpl.txt"
HELD_BACK = ("MAHAN AIRWAYS", "AARON ABRAHAM VILLA")  # absent from the first snapshot
LISTED = "ABDIEL PADRON MADRID"  # in both snapshots


def dpl_names() -> list[str]:
    with DPL.open(encoding="utf-8", errors="replace", newline="") as f:
        return [r["Name"].strip() for r in csv.DictReader(f, delimiter="\t")]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("rescreen")
    before = tmp / "mirror" / "us_bis_dpl"
    before.mkdir(parents=True)
    lines = DPL.read_bytes().split(b"\n")
    kept = [ln for ln in lines if not any(f'"{n}"'.encode() in ln for n in HELD_BACK)]
    assert len(lines) - len(kept) >= len(HELD_BACK)
    (before / "dpl.txt").write_bytes(b"\n".join(kept))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))
        url = f"sqlite:///{tmp / 'dpl.db'}"
        outcome = update_source(
            get_engine(url), all_sources()["us_bis_dpl"], mirror=str(tmp / "mirror")
        )
        assert outcome.ok, outcome.error
        yield url, tmp


def write_orders(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        w.writerows(rows)
    return path


def test_identical_results_for_1_and_2_workers(env: tuple[str, Path]) -> None:
    url, tmp = env
    rng = random.Random(5)
    with (REFERENCE / "forbes_global_2000_2025.csv").open(encoding="utf-8") as f:
        companies = [r["Company"] for r in csv.DictReader(f)]
    listed = dpl_names()
    rows = []
    for i in range(1200):
        name = rng.choice(listed) if rng.random() < 0.1 else rng.choice(companies)
        if rng.random() < 0.3:
            name = name.lower()
        dest = rng.choice(["DE", "US", "CN", "Iran", "JP", "Crimea", "BR", ""])
        rows.append([f"W{i}", name, "", "", "", "", dest, "", str(rng.randint(1, 9))])
    rows[17][0] = ""  # one malformed line
    src = write_orders(tmp / "many.csv", rows)
    outs = []
    for workers in (1, 2):
        out = tmp / f"out{workers}.csv"
        opts = CheckOptions(db_url=url, workers=workers, chunk=50)
        rep = check_file(src, opts, output=out, record=False)
        assert rep.line_count == 1200 and rep.counts["ERROR"] == 1
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    decided = list(csv.DictReader(outs[0].decode().splitlines()))
    assert [r["order_id"] for r in decided] == [r[0] for r in rows]
    assert {r["decision"] for r in decided} >= {"BLOCK", "CLEAR", "ERROR"}


def test_rescreen_reports_hits_on_added_entries_only(env: tuple[str, Path]) -> None:
    url, tmp = env
    engine = get_engine(url)
    orders = [
        ["R1", "Mahan Airways", "IR", "", "", "", "AE", "", "1"],
        ["R2", "Siemens AG", "DE", "Aaron Abraham Villa", "US", "", "US", "", "1"],
        ["R3", LISTED.title(), "", "", "", "", "US", "", "1"],
    ]
    rep = check_file(write_orders(tmp / "past.csv", orders), CheckOptions(db_url=url))
    assert rep.counts["BLOCK"] == 1  # R3 only: the other two are not listed yet

    outcome = update_source(engine, all_sources()["us_bis_dpl"], mirror=str(MIRROR))
    assert outcome.ok and outcome.delta.added and not outcome.delta.removed
    res = CliRunner().invoke(
        app, ["rescreen", "--db", url, "--run", str(rep.run_id), "--format", "json"]
    )
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    added = len(outcome.delta.added) + len(outcome.delta.changed)
    assert out["new_entries"] == {"us_bis_dpl": added}
    assert out["parties_checked"] == 4
    hits = {h["name"]: h for h in out["hits"]}
    assert set(hits) == set(HELD_BACK)  # LISTED was already raised by the run
    mahan = hits["MAHAN AIRWAYS"]
    assert mahan["decision"] == "BLOCK" and mahan["list"] == "BIS Denied Persons List"
    assert mahan["lines"] == [
        {"run_id": rep.run_id, "line": 2, "order_id": "R1", "role": "customer"}
    ]
    assert hits["AARON ABRAHAM VILLA"]["lines"][0]["role"] == "end_user"

    # the re-screening moved the baseline: nothing new the second time
    again = rescreen(
        engine,
        lambda: make_decider(CheckOptions(db_url=url)),
        run_ids=[rep.run_id],
        thresholds=ScoreThresholds(),
    )
    assert again.hits == [] and again.entries_checked == 0 and again.exit_code == 0
