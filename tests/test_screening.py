"""The screening engine on the real lists: variations it must catch, words it must not match on,
qualifiers, evidence, merging across sources, and the CLI contract."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from compliance.cli import app
from compliance.matching.index import cache_key
from compliance.screening import DEFAULT_THRESHOLD, Query, Screener, ScreeningError, compare
from compliance.store.models import Entity, EntityIdentifier, EntityName


@pytest.fixture(scope="module")
def screener(loaded_engine) -> Screener:
    return Screener.load(loaded_engine)


def hits(screener: Screener, name: str, **kw) -> list[tuple[str, str]]:
    result = screener.screen(
        Query(name, **{k: v for k, v in kw.items() if k != "limit"}), limit=kw.get("limit", 10)
    )
    return [(s["source"], s["source_id"]) for m in result.matches for s in m.sources]


def test_exact_listed_name_scores_100_with_evidence(screener):
    result = screener.screen(Query("BANCO NACIONAL DE CUBA"))
    top = result.matches[0]
    assert top.score == 100
    assert top.name == "BANCO NACIONAL DE CUBA"
    assert ("us_ofac_sdn", "306") in [(s["source"], s["source_id"]) for s in top.sources]
    assert top.snapshot["sha256"] and top.snapshot["id"]
    assert "banco=banco" in top.explanation
    assert top.programs == ["CUBA"]


def test_one_entity_published_by_several_sources_is_shown_once(screener):
    result = screener.screen(Query("BANCO NACIONAL DE CUBA"))
    bnc = [m for m in result.matches if any(s["source_id"] == "306" for s in m.sources)]
    assert len(bnc) == 1
    sources = {s["source"] for s in bnc[0].sources}
    assert {"us_ofac_sdn", "us_trade_csl"} <= sources


@pytest.mark.parametrize(
    "query",
    [
        "Vladimir Putin",  # word order against "PUTIN, Vladimir Vladimirovich"
        "putin vladimir",
        "Vladimir Vladimirovich PUTIN",
        "Vladimr Putin",  # one typo
        "Vladimr Putn",  # two typos
        "PUTIN, V.",  # initial
        "Путин Владимир Владимирович",  # Cyrillic query, Latin listing
        "Wladimir Putin",  # transliteration variant
    ],
)
def test_putin_variations(screener, query):
    found = hits(screener, query)
    assert (
        ("us_ofac_sdn", "35096") in found
        or ("us_trade_csl", "35096") in found
        or any(src == "gb_ofsi" for src, _ in found)
    ), found


def test_legal_form_variants_are_the_same_name(screener):
    a = screener.screen(Query("ANGLO CARIBBEAN COMPANY LIMITED")).matches
    assert a and a[0].score == 100 and a[0].name == "ANGLO-CARIBBEAN CO., LTD."
    b = screener.screen(Query("Rosoboroneksport Joint Stock Company")).matches
    assert any("ROSOBORONEKSPORT" in m.name.upper() for m in b)


def test_legal_form_alone_is_never_a_match(screener):
    for form in ("Co., Ltd.", "OOO", "Limited Liability Company", "GmbH", "S.A."):
        with pytest.raises(ScreeningError, match="legal form"):
            screener.screen(Query(form))


@pytest.mark.parametrize(
    "query",
    [
        "Trading International Group",
        "Kim Trading",
        "Global Trading Company Limited",
        "International Group Holdings",
    ],
)
def test_common_words_alone_do_not_match(screener, query):
    assert screener.screen(Query(query)).matches == []


@pytest.mark.parametrize(
    "query", ["Apple Inc.", "Siemens AG", "Toyota Motor Corporation", "John Smith", "Maria Garcia"]
)
def test_well_known_unlisted_names_are_clear(screener, query):
    assert screener.screen(Query(query)).matches == []


def test_other_script_query_finds_latin_listing_via_real_original_script_name(
    loaded_engine, screener
):
    # Take real Arabic and Cyrillic original-script names from the UN and UK lists.
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            select(EntityName.name, Entity.source, Entity.source_id)
            .join(Entity, Entity.id == EntityName.entity_id)
            .where(EntityName.kind == "original_script")
            .where(Entity.source.in_(["un_sc", "gb_ofsi"]))
        ).all()
    arabic = [r for r in rows if re.search(r"[\u0600-\u06FF]", r.name)][:15]
    cyrillic = [r for r in rows if re.search(r"[\u0400-\u04FF]", r.name)][:15]
    assert arabic and cyrillic
    for sample in (arabic, cyrillic):
        found = sum((r.source, r.source_id) in hits(screener, r.name) for r in sample)
        assert found >= 0.8 * len(sample)


def test_country_qualifier_lowers_on_contradiction_and_never_on_agreement(screener):
    plain = screener.screen(Query("BANCO NACIONAL DE CUBA")).matches[0]
    listed = plain.countries[0]  # its addresses: Panama, Spain, Switzerland, Japan
    agree = screener.screen(Query("BANCO NACIONAL DE CUBA", country=listed)).matches[0]
    other = screener.screen(Query("BANCO NACIONAL DE CUBA", country="FR"), threshold=0)
    contra = next(m for m in other.matches if m.entity_id == plain.entity_id)
    assert agree.score >= plain.score
    assert contra.score < plain.score
    assert "contradicts" in contra.explanation


def test_namibia_s_code_asked_for_is_a_country(screener):
    """In a list's column "NA" means "not available"; given with a query it is Namibia."""
    ent = next(e for e in screener.index.entities if "NA" in e.countries)
    result = screener.screen(Query(ent.name, country="NA"), threshold=0, limit=0)
    match = next(m for m in result.matches if m.entity_id == ent.id)
    assert any(
        q["field"] == "country" and "agrees" in q["detail"] for q in match.features["qualifiers"]
    )


def test_birth_year_qualifier(loaded_engine, screener):
    base = screener.screen(Query("Vladimir Putin")).matches[0]
    agree = screener.screen(Query("Vladimir Putin", dob="1952-10-07")).matches[0]
    contra = screener.screen(Query("Vladimir Putin", dob="1980"), threshold=0).matches
    contra_top = next(m for m in contra if m.entity_id == agree.entity_id)
    assert agree.score >= base.score
    assert (
        contra_top.score < agree.score and "birth year 1980 contradicts" in contra_top.explanation
    )


def test_exact_identifier_is_decisive(loaded_engine, screener):
    with loaded_engine.connect() as conn:
        eid, number = conn.execute(
            select(EntityIdentifier.entity_id, EntityIdentifier.number)
            .join(Entity, Entity.id == EntityIdentifier.entity_id)
            .where(Entity.source == "us_ofac_sdn", EntityIdentifier.type.like("%assport%"))
            .limit(1)
        ).one()
    result = screener.screen(Query("Someone Else Entirely", id=number))
    assert result.matches and result.matches[0].score == 100
    assert result.matches[0].features["identifier_match"].endswith(number)


def test_type_and_list_filters(screener):
    orgs = screener.screen(Query("Vladimir Putin", type="organization")).matches
    assert all(m.type in ("organization", "unknown") for m in orgs)
    un_only = Screener(screener.index, lists=["un_sc"]).screen(Query("AL-QAIDA")).matches
    assert un_only and all("un_sc" in {s["source"] for s in m.sources} for m in un_only)
    with pytest.raises(ScreeningError, match="no loaded list"):
        Screener(screener.index, lists=["nope"])


def test_index_key_changes_when_a_snapshot_changes(loaded_engine, tmp_path):
    from compliance.lists_update import update_source
    from compliance.sources import all_sources
    from tests.conftest import MIRROR

    before, _ = cache_key(loaded_engine)
    update_source(loaded_engine, all_sources()["us_bis_dpl"], mirror=str(MIRROR), force=True)
    after, _ = cache_key(loaded_engine)
    assert before != after


def test_compare_explains():
    r = compare("Anglo-Caribbean Co., Ltd.", "ANGLO CARIBBEAN COMPANY LIMITED")
    assert r["score"] == 100 and "anglo=anglo" in r["explanation"]
    assert compare("PUTIN, Vladimir", "Vladimir Putin")["score"] == 100
    assert compare("Vladimir Putin", "Vladimir Ivanov")["score"] < DEFAULT_THRESHOLD
    # Nothing to compare is the same error as in screening, not a score of 0.
    for a, b, says in (("OOO", "Co., Ltd.", "only a legal form"), ("", "Acme", "name1 is empty"),
                       ("Acme", "😀", "name2 '😀' has no letters")):  # fmt: skip
        for algorithm in ("default", "ofac"):
            with pytest.raises(ScreeningError, match=says):
                compare(a, b, algorithm=algorithm)


# -- CLI ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def db_arg(loaded_engine) -> list[str]:
    return ["--db", loaded_engine.url.render_as_string(hide_password=False)]


def test_cli_screen_exit_codes_and_json(db_arg):
    runner = CliRunner()
    r = runner.invoke(app, ["screen", "Vladimir Putin", "--format", "json", *db_arg])
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    m = data["matches"][0]
    for key in (
        "source",
        "source_id",
        "name",
        "matched_name",
        "score",
        "type",
        "programs",
        "lists",
        "explanation",
        "snapshot",
    ):
        assert key in m
    assert runner.invoke(app, ["screen", "Zzyzx Qwerty Blorfing", *db_arg]).exit_code == 0
    assert runner.invoke(app, ["screen", "OOO", *db_arg]).exit_code == 2
    assert runner.invoke(app, ["screen", "X", "--dob", "nineteen", *db_arg]).exit_code == 2
    r = runner.invoke(app, ["screen", "Vladimir Putin", "--db", "sqlite:////nonexistent/x/y.db"])
    assert r.exit_code == 2


def test_cli_screen_file_keeps_every_row_in_order(db_arg, tmp_path):
    parties = tmp_path / "parties.csv"
    parties.write_text(
        "name,type,country,dob,id\n"
        "Vladimir Putin,person,RU,1952,\n"
        "Apple Inc.,organization,US,,\n"
        ",,,,\n"
        "BANCO NACIONAL DE CUBA,,,,\n"
        "Somebody,person,,not-a-date,\n"
        "Co. Ltd.,,,,\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    outs = []
    for workers in ("1", "2"):
        r = runner.invoke(app, ["screen", "--file", str(parties), "--workers", workers, *db_arg])
        assert r.exit_code == 1
        outs.append([json.loads(line) for line in r.stdout.splitlines()])
    rows = outs[0]
    assert [x["row"] for x in rows] == [1, 2, 3, 4, 5, 6]
    assert [x["status"] for x in rows] == ["match", "clear", "error", "match", "error", "error"]
    assert "line 6" in rows[4]["error"] and "legal form" in rows[5]["error"]
    assert rows[0]["matches"][0]["snapshot"]["sha256"]
    strip = [[{k: v for k, v in x.items()} for x in o] for o in outs]
    assert strip[0] == strip[1]  # identical with 1 and 2 workers


def test_cli_screen_file_csv_output_neutralises_formulas(db_arg, tmp_path):
    parties = tmp_path / "p.csv"
    parties.write_text('name\n"=HYPERLINK(""http://x"")"\n', encoding="utf-8")
    r = CliRunner().invoke(app, ["screen", "--file", str(parties), "--format", "csv", *db_arg])
    assert "'=HYPERLINK" in r.stdout


def test_cli_screen_file_without_name_column(db_arg, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,country\nX,RU\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["screen", "--file", str(bad), *db_arg])
    assert r.exit_code == 2 and "no 'name' column" in r.output


def test_cli_compare_single_and_file(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["compare", "PUTIN, Vladimir", "Vladimir Putin", "--format", "json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["score"] == 100
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("name1,name2\nAcme LLC,Acme Limited Liability Company\nA,\nFoo,Bar\n")
    r = runner.invoke(app, ["compare", "--file", str(pairs), "--format", "jsonl"])
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["row"] for x in rows] == [1, 2, 3]
    assert rows[0]["score"] == 100 and rows[1]["error"] and rows[2]["score"] < 50


def test_results_do_not_depend_on_hash_seed(db_arg, tmp_path):
    """Two processes with different string-hash seeds (and no shared index cache) agree."""
    import csv
    import os
    import subprocess
    import sys

    from tests.conftest import REFERENCE

    parties = tmp_path / "parties.csv"
    with (REFERENCE / "forbes_global_2000_2025.csv").open(encoding="utf-8") as fh:
        companies = [r["Company"] for r in csv.DictReader(fh)][:300]
    parties.write_text("name\n" + "\n".join(f'"{c}"' for c in companies) + "\n")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, COMPLIANCE_CACHE=str(tmp_path / seed))
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "compliance.cli",
                "screen",
                "--file",
                str(parties),
                "--threshold",
                "70",
                *db_arg,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert r.returncode in (0, 1), r.stderr
        outputs.append(r.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == 300


def test_un_designation_repeated_by_the_uk_is_one_match(screener):
    """The UK list cites the UN reference of UN designations (QDi.003): one match, two sources."""
    result = screener.screen(Query("SALIM AHMAD SALIM HAMDAN"))
    un = [m for m in result.matches if any(s["source"] == "un_sc" for s in m.sources)]
    assert len(un) == 1
    assert {s["source"] for s in un[0].sources} == {"un_sc", "gb_ofsi"}
    assert any("UK" in lst for lst in un[0].lists) and any("UN" in lst for lst in un[0].lists)


def test_a_bracketed_abbreviation_at_the_end_is_not_part_of_the_name(screener):
    """The Entity List writes "Huawei Technologies Co., Ltd. (Huawei)"."""
    result = screener.screen(Query("Huawei Technologies Co., Ltd."), limit=20)
    entity_list = [
        m for m in result.matches if any(lst.startswith("Entity List") for lst in m.lists)
    ]
    assert entity_list and entity_list[0].score == 100
    assert entity_list[0].matched_name.endswith("(Huawei)")
    # brackets inside a name name another company: not the same name
    vietnam = [m for m in result.matches if "(Vietnam)" in m.name]
    assert all(m.score < 100 for m in vietnam)


def test_csl_hit_names_its_sub_list_type_citation_and_license(screener):
    """Issue 10: Huawei's Entity List entry is three CSL rows; it is one hit, shown as
    "CSL · Entity List", typed organization, with every FR citation and the license terms."""
    result = screener.screen(Query("Huawei Technologies"), limit=20)
    el = [m for m in result.matches if m.name == "Huawei Technologies Co., Ltd. (Huawei)"]
    assert len(el) == 1
    m = el[0]
    assert m.list_name == "CSL · Entity List" and m.sub_lists == ["Entity List"]
    assert m.decision == "LICENSE_REQUIRED" and m.category == "export_control"
    assert m.type == "organization" and m.fields["type_inferred"] is True
    assert {"84 FR 22961", "84 FR 22963", "87 FR 8180"} <= set(
        m.fields["federal_register_notice"].split(", ")
    )
    assert m.fields["license_policy"] == "Presumption of denial"
    assert m.fields["license_requirement"].startswith("For all items subject to the EAR")
    assert m.sources[0]["list_name"] == "CSL · Entity List"
    # OFAC's CMIC entry is republished by the CSL: one hit, named by OFAC's own list first
    cmic = next(m for m in result.matches if m.name == "HUAWEI TECHNOLOGIES CO., LTD.")
    assert [s["source"] for s in cmic.sources] == ["us_ofac_cons", "us_trade_csl"]
    assert cmic.list_name == "OFAC Non-SDN Lists · NS-CMIC" and cmic.decision == "REVIEW"
    assert cmic.sources[1]["list_name"] == "CSL · NS-CMIC"


def test_a_type_in_a_lists_own_words(screener):
    """--type takes the CSL's words (Individual / Entity) too."""
    assert hits(screener, "Huawei Technologies Co., Ltd.", type="Entity")
    assert not hits(screener, "Huawei Technologies Co., Ltd.", type="Individual")
