"""`compliance check` on the real lists: decisions per line, output, audit, accepted matches,
CLI exit codes. Lists: BIS Denied Persons (dpl.txt) and the Consolidated Screening List."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from compliance.cli import app
from compliance.lists_update import update_source
from compliance.orders import audit
from compliance.orders.accept import AcceptError, accept, load_acceptances
from compliance.orders.decide import ScoreThresholds
from compliance.orders.deciders import CheckOptions, make_decider
from compliance.orders.models import AcceptedMatch, CheckLine
from compliance.orders.reader import FIELDS, RawRow
from compliance.orders.reasons import reason_from_dict
from compliance.orders.run import check_file
from compliance.rules.chips import classify_model
from compliance.sources import all_sources
from compliance.store.db import get_engine
from compliance.store.models import Entity, SourceRow
from tests.conftest import MIRROR

SOURCES = ("us_bis_dpl", "us_trade_csl")
IDENTITY = {f: f for f in FIELDS}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("orders")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COMPLIANCE_CACHE", str(tmp / "cache"))  # also seen by worker processes
        url = f"sqlite:///{tmp / 'lists.db'}"
        engine = get_engine(url)
        for key in SOURCES:
            outcome = update_source(engine, all_sources()[key], mirror=str(MIRROR))
            assert outcome.ok, outcome.error
        yield url


def entity(url: str, source: str, name: str) -> Entity:
    with get_engine(url).connect() as conn:
        row = conn.execute(
            select(Entity)
            .join(SourceRow, SourceRow.current_snapshot_id == Entity.snapshot_id)
            .where(Entity.source == source, Entity.name == name)
        ).first()
    assert row is not None, (source, name)
    return Entity.model_validate(row._mapping)


def decide(url: str, block: float = 90, **values: str):  # noqa: ANN201
    decider = make_decider(
        CheckOptions(
            db_url=url, mapping=IDENTITY, thresholds=ScoreThresholds(block=block, review=80)
        )
    )
    row = dict.fromkeys(FIELDS, "") | {"order_id": "T1"} | values
    return decider.decide_row(RawRow(7, row))


def dicts(result) -> list[dict]:  # noqa: ANN001
    """A line's reasons in their JSON form (the results file, the audit trail, the API), which
    reads back into the same typed reasons."""
    out = [r.to_dict() for r in result.reasons]
    assert [reason_from_dict(d) for d in out] == result.reasons
    return out


def party_reasons(result) -> list[dict]:  # noqa: ANN001
    return [r for r in dicts(result) if r["kind"] == "party"]


def test_denied_person_blocks(db: str) -> None:
    dpl = entity(db, "us_bis_dpl", "MAHAN AIRWAYS")
    r = decide(db, customer="Mahan Airways", customer_country="IR")
    assert r.decision == "BLOCK"
    hit = next(x for x in party_reasons(r) if x["source"] == "us_bis_dpl")
    assert hit["entry"] == f"us_bis_dpl:{dpl.source_id}" and hit["decision"] == "BLOCK"
    assert hit["list"] == "BIS Denied Persons List" and hit["score"] >= 90
    assert hit["role"] == "customer" and "MAHAN AIRWAYS" in hit["text"]
    # customer_country Iran is itself a reason to look (not the ultimate destination)
    assert any(x["kind"] == "destination" and x["decision"] == "REVIEW" for x in dicts(r))


def test_sdn_row_of_the_csl_blocks_and_thresholds_move_it(db: str) -> None:
    sdn = entity(db, "us_trade_csl", "BANCO NACIONAL DE CUBA")
    r = decide(db, end_user="Banco Nacional Cuba")  # a variation of the listed name
    hit = next(x for x in party_reasons(r) if x["source_id"] == sdn.source_id)
    assert r.decision == "BLOCK" and hit["decision"] == "BLOCK"
    assert hit["list"] == "CSL · SDN" and hit["sub_lists"] == ["SDN"] and 90 <= hit["score"] < 100
    # the same match under a stricter block threshold is only a possible match
    strict = decide(db, block=hit["score"] + 0.5, end_user="Banco Nacional Cuba")
    assert strict.decision == "REVIEW"
    again = next(x for x in party_reasons(strict) if x["source_id"] == sdn.source_id)
    assert again["decision"] == "REVIEW" and "possibly matches" in again["text"]


def test_entity_list_needs_license_with_requirement_and_policy(db: str) -> None:
    el = entity(db, "us_trade_csl", "Moscow Institute of Physics and Technology")
    r = decide(db, end_user="Moscow Institute of Physics and Technology", destination="RU")
    hit = next(x for x in party_reasons(r) if x["source_id"] == el.source_id)
    assert hit["decision"] == "LICENSE_REQUIRED" and r.decision in ("LICENSE_REQUIRED", "BLOCK")
    assert hit["license_requirement"] == el.fields["license_requirement"]
    assert hit["license_policy"] == el.fields["license_policy"]
    assert hit["list"] == "CSL · Entity List" and hit["category"] == "export_control"
    assert el.fields["license_policy"][:30] in hit["text"]
    # the entry's real type and the Federal Register notices that listed it, as the CSL gives
    assert hit["type"] == el.entity_type == "organization"
    notices = " ".join(el.fields["federal_register_notice"].split())
    assert hit["federal_register_notice"] == notices
    assert f"Federal Register: {notices}" in hit["text"]


def test_non_sdn_treasury_list_is_review(db: str) -> None:
    cmic = entity(db, "us_trade_csl", "CHINA MOBILE LIMITED")
    r = decide(db, customer="China Mobile Limited")
    hit = next(x for x in party_reasons(r) if x["source_id"] == cmic.source_id)
    assert hit["decision"] == "REVIEW" and hit["list"] == "CSL · NS-CMIC"
    assert r.decision == "REVIEW"


def test_unverified_list_is_review_not_license(db: str) -> None:
    """Issue 12: the UVL requires no license by itself (15 CFR 744.15): a sure match is REVIEW."""
    uvl = entity(db, "us_trade_csl", "Able Supply Chain Limited")
    r = decide(db, end_user="Able Supply Chain Limited")
    hit = next(x for x in party_reasons(r) if x["source_id"] == uvl.source_id)
    assert hit["score"] == 100 and hit["decision"] == "REVIEW" and r.decision == "REVIEW"
    assert hit["list"] == "CSL · UVL" and hit["sub_lists"] == ["UVL"]


@pytest.mark.parametrize(
    ("destination", "cite"),
    [
        ("Iran", "15 CFR 746.7; Country Group E:1"),
        ("CU", "15 CFR 746.2; Country Group E:2"),
        ("North Korea", "15 CFR 746.4; Country Group E:1"),
        ("Sevastopol, Crimea", "15 CFR 746.6(a)(1)(i)"),
        ("Ukraine - Donetsk region", "15 CFR 746.6(a)(1)(ii)"),
    ],
)
def test_embargoed_destination_blocks(db: str, destination: str, cite: str) -> None:
    r = decide(db, customer="Siemens AG", destination=destination)
    assert r.decision == "BLOCK"
    reason = next(x for x in dicts(r) if x["kind"] == "destination")
    assert reason["cite"].startswith(cite) and reason["field"] == "destination"


def test_items_classified_and_licensed(db: str) -> None:
    h100 = classify_model("H100 SXM")
    r = decide(db, customer="Siemens AG", destination="CN", item="H100 SXM")
    item = next(x for x in dicts(r) if x["kind"] == "item")
    assert r.decision == "LICENSE_REQUIRED" and item["decision"] == "LICENSE_REQUIRED"
    assert item["eccn"] == h100.eccn and item["tpp"] == h100.tpp
    assert item["cite"] == "15 CFR 742.6(a)(6)(iii)" and item["model"] == h100.model
    assert f"ECCN {h100.eccn}, TPP {h100.tpp:,.0f}" in item["text"]
    # Germany: no license, unless the end user is headquartered in D:5
    r = decide(db, customer="Siemens AG", destination="DE", item="H100 SXM", end_user_hq="DE")
    assert r.decision == "CLEAR" and dicts(r)[0]["eccn"] == h100.eccn
    r = decide(db, customer="Siemens AG", destination="DE", item="H100 SXM", end_user_hq="China")
    item = next(x for x in dicts(r) if x["decision"] == "LICENSE_REQUIRED")
    assert "742.6(a)(6)(iii)(A)" in item["cite"] and "headquartered" in item["text"]
    # data the rules need is missing: review
    r = decide(db, customer="Siemens AG", destination="DE", item="H100 SXM")
    assert r.decision == "REVIEW" and "end_user_hq is empty" in dicts(r)[-1]["text"]
    r = decide(db, customer="Siemens AG", item="H100 SXM")
    assert r.decision == "REVIEW" and "no destination" in dicts(r)[0]["text"]
    # uncontrolled and unknown items
    r = decide(db, customer="Siemens AG", destination="CN", item="RTX 3060")
    assert r.decision == "CLEAR" and dicts(r)[0]["eccn"] is None
    r = decide(db, customer="Siemens AG", destination="DE", item="Banana 9000")
    assert r.decision == "REVIEW" and "not in the product catalog" in dicts(r)[0]["text"]
    assert dicts(r)[0]["suggestions"] == []  # nothing in the catalog is named like it
    r = decide(db, customer="Siemens AG", destination="DE", item="H30")
    assert r.decision == "REVIEW" and dicts(r)[0]["suggestions"] == ["NVIDIA H20"]


def test_clear_and_error_lines(db: str) -> None:
    r = decide(db, customer="Siemens AG", customer_country="DE", destination="Kyiv, Ukraine")
    assert (r.decision, dicts(r)) == ("CLEAR", [])
    bad = decide(db, order_id="", customer="Siemens AG")
    assert bad.decision == "ERROR" and dicts(bad)[0]["text"] == "line 7: order_id is empty"
    empty = decide(db, destination="DE")
    assert dicts(empty)[0]["text"] == "line 7: no customer, end_user or item on this line"
    qty = decide(db, customer="Siemens AG", quantity="ten")
    assert qty.decision == "REVIEW" and "quantity 'ten'" in dicts(qty)[0]["text"]


def test_accepted_match_until_the_entry_changes(db: str) -> None:
    engine = get_engine(db)
    el = entity(db, "us_trade_csl", "Moscow Institute of Physics and Technology")
    with pytest.raises(AcceptError, match="no entry us_trade_csl:nope"):
        accept(engine, "x", "us_trade_csl:nope", "because")
    with pytest.raises(AcceptError, match="expected SOURCE:ID"):
        accept(engine, "x", "nocolon", "because")
    row = accept(
        engine,
        "MOSCOW institute of physics & technology",
        f"us_trade_csl:{el.source_id}",
        "our customer is the MIPT alumni club",
        by="ann",
    )
    try:
        assert row.content_hash == el.content_hash
        r = decide(db, end_user="Moscow Institute of Physics and Technology")
        hit = next(x for x in party_reasons(r) if x["source_id"] == el.source_id)
        assert hit["decision"] == "CLEAR" and hit["accepted"]["by"] == "ann"
        assert hit["accepted"]["was"] == "LICENSE_REQUIRED" and hit["text"].startswith("ACCEPTED")
        # the listed entry changes: the acceptance no longer holds and the match is raised again
        with engine.begin() as conn:
            conn.execute(AcceptedMatch.__table__.update().values(content_hash="0" * 64))
        assert not next(iter(load_acceptances(engine).values())).still_valid
        r = decide(db, end_user="Moscow Institute of Physics and Technology")
        hit = next(x for x in party_reasons(r) if x["source_id"] == el.source_id)
        assert hit["decision"] == "LICENSE_REQUIRED" and "entry has changed" in hit["text"]
    finally:
        with engine.begin() as conn:
            conn.execute(AcceptedMatch.__table__.delete())


ORDERS = [
    ["A-1", "Siemens AG", "DE", "", "", "", "DE", "", "1"],
    ["A-2", "Mahan Airways", "", "", "", "", "AE", "", "2"],
    ["", "Nobody", "", "", "", "", "", "", ""],
    ["A-4", '=HYPERLINK("http://evil")', "US", "", "", "", "US", "", "1"],
    ["A-5", "Acme Widgets", "FR", "", "", "", "Syria", "", "1"],
]


def write_orders(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header or list(FIELDS))
        w.writerows(rows)
    return path


def test_check_file_output_and_audit(db: str, tmp_path: Path) -> None:
    src = write_orders(tmp_path / "orders.csv", ORDERS)
    out = tmp_path / "out.jsonl"
    rep = check_file(src, CheckOptions(db_url=db), output=out, user="qa")
    objs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [o["order_id"] for o in objs] == [r[0] for r in ORDERS]  # every row, in order
    assert [o["decision"] for o in objs] == ["CLEAR", "BLOCK", "ERROR", "CLEAR", "BLOCK"]
    assert objs[2]["reasons"][0]["text"] == "line 4: order_id is empty"
    assert objs[3]["customer"] == ORDERS[3][1]  # JSON keeps the value as given
    assert set(objs[0]["lists_as_of"]) == set(SOURCES)
    assert rep.counts["BLOCK"] == 2 and rep.counts["ERROR"] == 1 and rep.exit_code == 1
    assert rep.top_hits[0]["name"] == "MAHAN AIRWAYS"

    engine = get_engine(db)
    run = audit.get_run(engine, rep.run_id)
    assert run is not None and run.status == "done" and run.user == "qa"
    assert run.input_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert run.counts == rep.counts and run.line_count == 5
    assert run.thresholds == {"block": 90.0, "review": 80.0}
    assert set(run.snapshots) == set(SOURCES)
    assert (
        run.snapshots["us_bis_dpl"]["data_date"]
        == audit.snapshot_info(engine)["us_bis_dpl"]["data_date"]
    )
    with engine.connect() as conn:
        lines = conn.execute(
            select(CheckLine.line, CheckLine.decision)
            .where(CheckLine.run_id == rep.run_id)
            .order_by(CheckLine.line)
        ).all()
    assert [tuple(x) for x in lines] == [
        (2, "CLEAR"),
        (3, "BLOCK"),
        (4, "ERROR"),
        (5, "CLEAR"),
        (6, "BLOCK"),
    ]
    exported = tmp_path / "audit.csv"
    assert audit.export_run(engine, rep.run_id, exported) == 5
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert rows[1]["decision"] == "BLOCK" and "MAHAN AIRWAYS" in rows[1]["reasons"]
    assert rows[3]["parties"] == 'customer==HYPERLINK("http://evil")'
    assert rows[4]["reasons"].startswith("BLOCK destination 'Syria'")


def test_cli_exit_codes_and_csv_output(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    clear = write_orders(tmp_path / "clear.csv", [ORDERS[0]])
    res = runner.invoke(app, ["check", str(clear), "--db", db, "-q"])
    assert res.exit_code == 0, res.output
    assert "Thresholds: block 90, review 80" in res.output
    assert re.search(r"^CLEAR +1$", res.output, re.M) and "Checked 1 line of" in res.output

    mixed = write_orders(tmp_path / "mixed.csv", ORDERS)
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        [
            "check",
            str(mixed),
            "--db",
            db,
            "-o",
            str(out),
            "--block-threshold",
            "95",
            "--review-threshold",
            "85",
        ],
    )
    assert res.exit_code == 1, res.output
    assert "Thresholds: block 95, review 85" in res.output and "MAHAN AIRWAYS" in res.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == [*FIELDS, "line", "decision", "reasons", "lists_as_of"]
    assert [r[0] for r in rows[1:]] == [r[0] for r in ORDERS]
    assert rows[4][1] == "'" + ORDERS[3][1]  # formula neutralised in CSV

    renamed = write_orders(
        tmp_path / "sap.csv",
        [["9", "Siemens AG", "DE"]],
        ["Doc No", "Sold-To Name", "Ship-To Country"],
    )
    res = runner.invoke(app, ["check", str(renamed), "--db", db])
    assert res.exit_code == 2
    assert "missing required column(s): order_id" in res.output
    assert "Columns found: 'Doc No', 'Sold-To Name', 'Ship-To Country'" in res.output
    res = runner.invoke(
        app,
        [
            "check",
            str(renamed),
            "--db",
            db,
            "--map",
            "order_id=Doc No",
            "--map",
            "customer=Sold-To Name",
            "--map",
            "destination=Ship-To Country",
        ],
    )
    assert res.exit_code == 0, res.output

    res = runner.invoke(app, ["audit", "--db", db, "--format", "json"])
    runs = json.loads(res.output)
    assert (
        runs[0]["input_path"].endswith("sap.csv")
        and runs[0]["options"]["mapping"]["customer"] == "Sold-To Name"
    )
    res = runner.invoke(app, ["check", str(clear), "--db", db, "--review-threshold", "95"])
    assert res.exit_code == 2 and "review (95.0) <= block (90.0)" in res.output


def test_cli_accept_audit_and_xlsx(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    el = entity(db, "us_trade_csl", "Moscow Institute of Physics and Technology")
    entry = f"us_trade_csl:{el.source_id}"
    res = runner.invoke(app, ["accept", "--db", db, "--party", "MIPT Club", "--entry", entry])
    assert res.exit_code == 2 and "give --party, --entry SOURCE:ID and --reason" in res.output
    res = runner.invoke(
        app,
        [
            "accept",
            "--db",
            db,
            "--party",
            "MIPT Club",
            "--entry",
            entry,
            "--reason",
            "alumni club in Boston",
            "--by",
            "bob",
        ],
    )
    assert res.exit_code == 0 and f"is not {entry}" in res.output
    res = runner.invoke(app, ["accept", "--db", db, "--list", "--format", "json"])
    listed = json.loads(res.output)
    assert [(a["party"], a["entry"], a["by"], a["status"]) for a in listed] == [
        ("MIPT Club", entry, "bob", "active")
    ]
    res = runner.invoke(app, ["accept", "--db", db, "--revoke", str(listed[0]["id"])])
    assert res.exit_code == 0
    assert (
        json.loads(runner.invoke(app, ["accept", "--db", db, "--list", "--format", "json"]).output)
        == []
    )

    src = write_orders(tmp_path / "o.csv", ORDERS[:2])
    out = tmp_path / "o.xlsx"
    res = runner.invoke(app, ["check", str(src), "--db", db, "-o", str(out), "--format", "json"])
    assert res.exit_code == 1
    summary = json.loads(res.output)
    wb = load_workbook(out)
    rows = list(wb.active.iter_rows(values_only=True))
    assert [r[0] for r in rows] == ["order_id", "A-1", "A-2"] and rows[2][10] == "BLOCK"
    res = runner.invoke(app, ["audit", str(summary["run_id"]), "--db", db])
    assert res.exit_code == 0 and summary["input_sha256"] in res.output
    assert "us_bis_dpl" in res.output and "'BLOCK': 1" in res.output
    export = tmp_path / "run.jsonl"
    res = runner.invoke(app, ["audit", str(summary["run_id"]), "--db", db, "--export", str(export)])
    lines = [json.loads(x) for x in export.read_text(encoding="utf-8").splitlines()]
    assert [(x["line"], x["decision"]) for x in lines] == [(2, "CLEAR"), (3, "BLOCK")]
    assert runner.invoke(app, ["audit", "999999", "--db", db]).exit_code == 2
