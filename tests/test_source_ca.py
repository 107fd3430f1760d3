"""Canada's Consolidated Autonomous Sanctions List: the real sema-lmes.xml, its update over real
HTTP, hostile copies of it, and screening against it."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from compliance.screening import Query, screen
from compliance.sources import all_sources, ca_sema
from compliance.sources.base import EntityRecord, ParsedList, ParseError
from compliance.store.db import get_engine
from tests.conftest import MIRROR, mirror_file
from tests.test_reliability_properties import PARSER_SETTINGS, PREFIXES, real_xml, run_parser
from tests.test_update_http import FaultServer, cli, sources_json

PATH = f"{ca_sema.KEY}/{ca_sema.FILE}"


@pytest.fixture(scope="module")
def parsed() -> ParsedList:
    return ca_sema.parse({ca_sema.FILE: mirror_file(ca_sema.KEY, ca_sema.FILE)})


@pytest.fixture(scope="module")
def records(parsed: ParsedList) -> dict[str, EntityRecord]:
    return {r.source_id: r for r in parsed.records}


def names(rec: EntityRecord) -> list[str]:
    return [n.name for n in rec.names]


def test_manifest_counts(parsed: ParsedList) -> None:
    assert len(parsed.records) == 1_369
    assert Counter(r.entity_type for r in parsed.records) == {"person": 985, "organization": 384}
    assert parsed.data_date is None  # the file states no date; none is invented
    assert parsed.warnings == []
    assert ca_sema.SOURCE.policy.decision == "BLOCK" and "Canada" in ca_sema.SOURCE.title
    assert "ca_sema" in all_sources()


def test_ids_are_readable_unique_and_stable(parsed: ParsedList) -> None:
    ids = [r.source_id for r in parsed.records]
    assert len(set(ids)) == len(ids) == 1_369
    assert all(re.fullmatch(r"[A-Z]{2,6}(-[0-9A-Z]+)?-\d+", i) for i in ids), ids[:5]
    again = ca_sema.parse({ca_sema.FILE: mirror_file(ca_sema.KEY, ca_sema.FILE)})
    assert [r.source_id for r in again.records] == ids
    # the 42 Venezuelan records without a Schedule continue the "N/A" items (55..97): their
    # ids carry no schedule part, so they cannot collide with "VE-NA-<item>"
    no_schedule = [r for r in parsed.records if r.fields["schedule"] is None]
    assert len(no_schedule) == 42
    assert {r.source_id.rsplit("-", 1)[0] for r in no_schedule} == {"VE"}
    prefixes = Counter(i.rsplit("-", 1)[0] for i in ids)
    assert prefixes["VE"] == 42 and prefixes["VE-NA"] == 54
    assert prefixes["RU-1P2"] == 66 and prefixes["JVCFOR-1"] == 70


def test_id_parts_and_countries(records: dict[str, EntityRecord]) -> None:
    bank = records["RU-1P2-1"]  # Russia, Schedule 1, Part 2, item 1
    assert (bank.name, bank.entity_type) == ("Aktsionerny Bank Russian Federation", "organization")
    assert bank.fields["country"] == "Russia / Russie" and bank.fields["schedule"] == "1, Part 2"
    assert bank.countries == ["RU"] and bank.programs == ["Russia"]
    assert names(bank) == ["Aktsionerny Bank Russian Federation", "Bank Rossiya"]
    assert records["MM-1-1"].countries == ["MM"]  # "Burma / Birmanie"
    assert records["MM-1-1"].raw["Country"] == "Burma / Birmanie"
    ve = records["VE-55"]
    assert ve.name == "Manuel Gregorio BERNAL MARTÍNEZ" and ve.raw["Country"] == "Venezuela "
    assert ve.countries == ["VE"] and ve.fields["schedule"] is None
    maduro = records["JVCFOR-1-1"]  # the JVCFOR regulation names no country
    assert maduro.name == "Nicolás MADURO MOROS" and maduro.countries == []
    assert maduro.programs == [
        "Justice for Victims of Corrupt Foreign Officials Regulations (JVCFOR)"
    ]
    codes = Counter(c for r in records.values() for c in r.countries)
    assert codes == {"SY": 281, "UA": 242, "IR": 202, "RU": 197, "ZW": 181, "VE": 96, "MM": 89,
                     "NI": 9, "SS": 2}  # fmt: skip


def test_persons_titles_and_one_part_names(records: dict[str, EntityRecord]) -> None:
    assert records["RU-1-43"].name == "Igor GIRKIN"
    assert names(records["RU-1-43"]) == ["Igor GIRKIN", "Igor STRELKOV"]
    nazih = records["SY-2-74"]  # only a LastName, and a bilingual Title
    assert (nazih.name, nazih.entity_type) == ("Nazih", "person")
    assert nazih.fields["title"] == "Major General/major-général"
    assert records["ZW-NA-181"].name == "Beauty Lily Zhuwao"


def test_birth_dates(records: dict[str, EntityRecord], parsed: ParsedList) -> None:
    assert records["ZW-NA-181"].dates_of_birth == ["1965-01-10"]
    both = records["JVCFOR-1-54"]
    assert both.fields["date_of_birth"] == "1972-08-10 or 1972-08-11"
    assert both.dates_of_birth == ["1972-08-10", "1972-08-11"]
    assert records["JVCFOR-1-53"].dates_of_birth == ["1964-03"]
    assert records["MM-2-22"].dates_of_birth == ["1939"]
    with_dob = [r for r in parsed.records if r.fields["date_of_birth"]]
    assert len(with_dob) == 212 and all(r.dates_of_birth for r in with_dob)
    assert ca_sema.birth_dates("circa 1960") == ["1960"]
    assert ca_sema.birth_dates("12 March 1960") == ["1960-03-12"]
    assert ca_sema.birth_dates("1960-13-01") == []


def test_aliases_keep_legal_forms_with_their_names(records: dict[str, EntityRecord]) -> None:
    assert names(records["MM-1-1"]) == [
        "Air Bagan", "Air Bagan Holdings Pte. Ltd.", "Air Bagan Limited"
    ]  # fmt: skip
    assert "Htoo Wood Products Pte. Limited" in names(records["MM-1-7"])
    assert "Iran Aircraft Mfg. In. Co." in names(records["IR-1-25"])
    assert "Tehran Gostaresh Co. PJS" in names(records["IR-1-158"])
    assert names(records["RU-2-5"]) == ["Russian Agricultural Bank", "Rosselkhozbank"]
    # Entity names of this very file, with the legal form after a comma, as an alias string
    assert ca_sema.split_aliases("Technodinamica Holding, JSC, Ruselectronics, JSC") == [
        "Technodinamica Holding, JSC", "Ruselectronics, JSC"
    ]  # fmt: skip
    assert ca_sema.split_aliases("Profaktor, TOV, Shvabe Holding, JSC") == [
        "Profaktor, TOV", "Shvabe Holding, JSC"
    ]  # fmt: skip
    assert ca_sema.split_aliases(
        "Huawei Technologies Co., Ltd., Shenzhen Huawei, Drex Technologies, S.A., X Holdings, Inc."
    ) == [
        "Huawei Technologies Co., Ltd.", "Shenzhen Huawei", "Drex Technologies, S.A.",
        "X Holdings, Inc.",
    ]  # fmt: skip
    # acronyms are aliases, not legal forms
    assert names(records["IR-1-25"])[1:5] == ["IAMI", "IAMCO", "HESA", "HASA"]


def test_every_alias_piece_is_kept_and_none_is_a_bare_legal_form(parsed: ParsedList) -> None:
    for rec in parsed.records:
        listed = " | ".join(names(rec))
        for piece in (rec.fields["aliases"] or "").split(","):
            piece = " ".join(piece.split()).strip("() ")
            assert not piece or piece in listed, (rec.source_id, piece)
        assert not any(ca_sema.is_legal_form(n) for n in names(rec)), rec.source_id


def test_bilingual_names_are_also_kept_apart(records: dict[str, EntityRecord]) -> None:
    bank = records["SY-1-39"]
    assert names(bank) == [
        "Central Bank of Syria/Banque centrale de Syrie", "Central Bank of Syria",
        "Banque centrale de Syrie",
    ]  # fmt: skip
    assert {"GORT", "ORTAS"} <= set(names(records["SY-1-42"]))
    assert names(records["MM-1-16"]) == ["MEC Steel Mills (Hmaw Bi/Pyi/Ywama)"]  # not split


def test_partial_person_aliases_are_completed(records: dict[str, EntityRecord]) -> None:
    assert names(records["RU-1-94"]) == ["Andrey Igorevich AKIMOV", "Andrei Igorevich AKIMOV"]
    assert names(records["RU-1-96"])[1:] == [
        "Alexei Gennadyevich DYUMIN", "Aleksei Gennadyevich DYUMIN"
    ]  # fmt: skip
    assert names(records["RU-1-116"])[1:] == ["Vladimir Vladimirovich ERYGIN"]  # surname variant
    assert names(records["RU-1-112"])[1:] == [
        "Aleksei Mikhailovich SALYAEV", "Oleksii SALYAYEV", "Aleksey Mikhailovich SALIAIEV"
    ]  # fmt: skip
    assert names(records["RU-1-107"])[1:] == ["Alexander Alexandrovich ZHAROV"]
    # nicknames and full other names stay as written
    assert names(records["UA-1-83"]) == ["Arseny PAVLOV", "Motorola"]
    assert names(records["IR-2-27"]) == ["Amir Ali Haji Zadeh", "Amir Ali Hajizadeh"]
    assert names(records["SY-2-121"]) == ["Asma Al Assad", "Asma Fawaz Al Akhras"]


# --- hostile variants ------------------------------------------------------------------------


def test_wrong_root_truncation_and_empty_records_are_refused() -> None:
    real = mirror_file(ca_sema.KEY, ca_sema.FILE)
    with pytest.raises(ParseError, match="not well-formed XML") as exc:
        ca_sema.parse({ca_sema.FILE: real[: len(real) // 2]})
    assert exc.value.file == ca_sema.FILE and exc.value.source == "ca_sema"
    un = mirror_file("un_sc", "consolidated.xml")
    with pytest.raises(
        ParseError, match="root element is <CONSOLIDATED_LIST>, expected <data-set>"
    ):
        ca_sema.parse({ca_sema.FILE: un})
    no_name = b"<data-set><record><Country>Iran</Country><Item>1</Item></record></data-set>"
    with pytest.raises(ParseError, match="no Entity, LastName or GivenName") as exc:
        ca_sema.parse({ca_sema.FILE: no_name})
    assert exc.value.line == 1
    with pytest.raises(ParseError, match="holds no <record>"):
        ca_sema.parse({ca_sema.FILE: b"<data-set/>"})


def test_a_repeated_country_schedule_item_stays_unique() -> None:
    rec = b"<record><Country>Iran</Country><Entity>%s</Entity><Schedule>1</Schedule><Item>7</Item></record>"  # noqa: E501
    doc = b"<data-set>" + rec % b"First Co." + rec % b"Second Co." + b"</data-set>"
    parsed = ca_sema.parse({ca_sema.FILE: doc})
    ids = [r.source_id for r in parsed.records]
    assert ids[0] == "IR-1-7" and ids[1].startswith("IR-1-7-h") and len(set(ids)) == 2
    assert ids == [r.source_id for r in ca_sema.parse({ca_sema.FILE: doc}).records]
    assert "IR-1-7 repeated" in parsed.warnings[0]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database holding the real list, loaded over HTTP from the mirror."""
    server = FaultServer(MIRROR)
    path = tmp_path_factory.mktemp("ca") / "base.db"
    try:
        result = cli("update", "ca_sema", "--mirror", server.url, "--db", f"sqlite:///{path}")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert "ok      ca_sema: 1,369 records" in result.stdout
    yield path


@pytest.fixture
def db(baseline: Path, tmp_path: Path) -> str:
    target = tmp_path / "compliance.db"
    with sqlite3.connect(baseline) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


@pytest.fixture
def faulty() -> Iterator[FaultServer]:
    server = FaultServer(MIRROR)
    yield server
    server.close()


def half_the_records() -> bytes:
    root = etree.fromstring(mirror_file(ca_sema.KEY, ca_sema.FILE))
    for rec in list(root)[::2]:
        root.remove(rec)
    assert len(root) == 684
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


HOSTILE = [
    ("truncate", ["truncated", "after 4 attempts"]),
    ("html", ["not an XML document"]),
    ("half-file", ["not well-formed XML"]),
    ("un-list", ["root element is <CONSOLIDATED_LIST>, expected <data-set>"]),
    ("half-records", ["would shrink the list from 1,369 to 684 records", "--force"]),
]


@pytest.mark.parametrize(("variant", "phrases"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_update_keeps_the_previous_snapshot(
    variant: str, phrases: list[str], db: str, faulty: FaultServer
) -> None:
    real = mirror_file(ca_sema.KEY, ca_sema.FILE)
    faulty.faults[PATH] = {
        "half-file": real[: len(real) // 2],
        "un-list": mirror_file("un_sc", "consolidated.xml"),
        "half-records": half_the_records() if variant == "half-records" else b"",
    }.get(variant, variant)
    before = sources_json(db)
    result = cli("update", "ca_sema", "--mirror", faulty.url, "--db", db)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("FAILED  ca_sema: sema-lmes.xml"), lines
    for phrase in phrases:
        assert phrase in lines[0]
    after = sources_json(db)
    for k in ("records", "data_date", "fetched_at", "sha256"):
        assert after["ca_sema"][k] == before["ca_sema"][k], k
    assert after["ca_sema"]["records"] == 1_369
    assert after["ca_sema"]["status"] == "stale (last update failed)"
    if variant == "half-records":
        forced = cli("update", "ca_sema", "--force", "--mirror", faulty.url, "--db", db)
        assert forced.exit_code == 0, forced.output
        assert "ok      ca_sema: 684 records" in forced.stdout and "-685 removed" in forced.stdout


def test_second_update_reports_no_change(db: str, faulty: FaultServer) -> None:
    result = cli("update", "ca_sema", "--mirror", faulty.url, "--db", db)
    assert result.exit_code == 0, result.output
    assert "ca_sema" in result.stdout and "(unchanged)" in result.stdout  # same files: no re-parse
    assert sources_json(db)["ca_sema"]["records"] == 1_369


# --- screening -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind", "entry"),
    [
        ("Igor Strelkov", "person", "RU-1-43"),  # an alias
        ("Andrei Akimov", "person", "RU-1-94"),  # a completed given-name variant
        ("Air Bagan Holdings Pte Ltd", "organization", "MM-1-1"),
        ("Central Bank of Syria", "organization", "SY-1-39"),  # the English half
        ("Manuel Gregorio Bernal Martinez", "person", "VE-55"),  # no Schedule
    ],
)
def test_listed_names_are_found(
    db: str, query: str, kind: str, entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLIANCE_CACHE", str(tmp_path / "cache"))
    result = screen(get_engine(db), Query(query, type=kind), lists=["ca_sema"])
    assert result.matches, query
    top = result.matches[0]
    assert (top.source, top.source_id) == ("ca_sema", entry)
    assert top.score >= 85 and top.snapshot["sha256"]
    assert top.lists == [ca_sema.LIST_NAME]


# --- property tests (the same checks test_reliability_properties.py applies to every parser) --


@PARSER_SETTINGS
@given(data=st.data())
def test_parser_survives_mutated_real_records(data: st.DataObject) -> None:
    path = str(MIRROR / ca_sema.KEY / ca_sema.FILE)
    run_parser(ca_sema.parse, {ca_sema.FILE: real_xml(data, path, (("", "record"),), most=4)})


@PARSER_SETTINGS
@given(data=st.data())
def test_parser_survives_arbitrary_bytes(data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from(PREFIXES), label="prefix")
    run_parser(ca_sema.parse, {ca_sema.FILE: prefix + data.draw(st.binary(max_size=3000))})
