"""UN Security Council Consolidated List: the real consolidated.xml from the mirror."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from compliance.lists_update import update_source
from compliance.sources import un_sc
from compliance.sources.base import EntityRecord, ParsedList, ParseError
from compliance.store.db import get_engine
from tests.conftest import mirror_file


@pytest.fixture(scope="module")
def parsed() -> ParsedList:
    return un_sc.parse({un_sc.FILE: mirror_file("un_sc", un_sc.FILE)})


def by_ref(parsed: ParsedList, ref: str) -> EntityRecord:
    (rec,) = [r for r in parsed.records if r.fields["reference_number"] == ref]
    return rec


def test_manifest_counts_and_date(parsed: ParsedList) -> None:
    types = Counter(r.entity_type for r in parsed.records)
    assert types == {"person": 730, "organization": 273}
    assert parsed.rows_read == 1003
    assert parsed.data_date == "2026-02-27"
    assert parsed.warnings == []
    assert len({r.source_id for r in parsed.records}) == 1003


def test_every_record_is_complete(parsed: ParsedList) -> None:
    for rec in parsed.records:
        assert rec.source_id.isdigit()
        assert rec.name and rec.names[0].kind == "primary"
        assert rec.fields["reference_number"][2] in "ie"  # QDi.001 / QDe.004
        assert rec.programs == [rec.fields["un_list_type"]]
        assert all(len(c) == 2 and c.isupper() for c in rec.nationalities + rec.countries)
        for d in rec.dates_of_birth:
            assert len(d) in (4, 10) and d[:4].isdigit()


def test_individual_with_arabic_name_documents_and_birth_date(parsed: ParsedList) -> None:
    rec = by_ref(parsed, "LYi.023")
    assert rec.source_id == "6908704"
    assert rec.entity_type == "person"
    assert rec.name == "Ahmad Oumar Imhamad al-Fitouri"
    original = [n for n in rec.names if n.kind == "original_script"]
    assert [(n.name, n.script) for n in original] == [("احمد عمر امحمد الفيتوري", "Arabic")]
    weak = {n.name for n in rec.names if n.kind == "weak_aka"}
    assert {"Al-Dabachi", "The Uncle", "Al Dabbashi"} <= weak
    assert all(n.quality == "Low" for n in rec.names if n.kind == "weak_aka")
    passport, national_id = rec.identifiers
    assert (passport.type, passport.number, passport.country) == ("Passport", "LY53FP76", "LY")
    assert "2015-09-29" in (passport.note or "")
    assert (national_id.type, national_id.number) == (
        "National Identification Number",
        "119880387067",
    )
    assert rec.dates_of_birth == ["1988-05-07"]
    assert rec.nationalities == ["LY"]
    assert [a.city for a in rec.addresses] == ["Garabulli", "Zawiya"]
    assert rec.fields["un_list_type"] == "Libya"


def test_saddam_hussein(parsed: ParsedList) -> None:
    rec = by_ref(parsed, "IQi.001")
    assert rec.source_id == "6908048"
    assert rec.name == "SADDAM HUSSEIN AL-TIKRITI"
    assert rec.dates_of_birth == ["1937-04-28"]
    assert rec.fields["listed_on"] == "2003-06-27"
    assert rec.fields["places_of_birth"] == ["al-Awja, near Tikrit, Iraq"]
    assert ("Abu Ali", "weak_aka") in [(n.name, n.kind) for n in rec.names]
    assert rec.raw["REFERENCE_NUMBER"] == "IQi.001"


def test_entity_with_aliases(parsed: ParsedList) -> None:
    rec = by_ref(parsed, "KPe.001")
    assert rec.source_id == "690735"
    assert rec.entity_type == "organization"
    assert rec.name == "KOREA MINING DEVELOPMENT TRADING CORPORATION"
    assert [n.name for n in rec.names if n.kind == "aka"] == [
        "CHANGGWANG SINYONG CORPORATION",
        "EXTERNAL TECHNOLOGY GENERAL CORPORATION",
        "DPRKN MINING DEVELOPMENT TRADING COOPERATION",
        '"KOMID"',
    ]
    assert rec.programs == ["DPRK"]
    assert rec.countries == ["KP"]
    assert rec.addresses[0].city == "Pyongyang"
    assert rec.remarks and rec.remarks.startswith("Primary arms dealer")


def test_al_qaida_former_name_and_arabic(parsed: ParsedList) -> None:
    rec = by_ref(parsed, "QDe.004")
    kinds = {n.name: n.kind for n in rec.names}
    assert kinds["Al Qa’ida/Islamic Army"] == "fka"  # NOTE "formerly listed as"
    assert kinds["القاعدة"] == "original_script"
    assert rec.fields["last_updated"] == ["2009-03-05", "2012-03-21", "2020-11-24"]


def test_year_range_and_cyrillic(parsed: ParsedList) -> None:
    taganda = by_ref(parsed, "CDi.030")
    assert taganda.dates_of_birth == ["1973", "1974"]
    assert taganda.fields["birth_dates"] == [
        {"type": "BETWEEN", "from_year": "1973", "to_year": "1974"}
    ]
    umarov = by_ref(parsed, "QDi.290")
    assert ("Умаров Доку Хаматович", "Cyrillic") in [(n.name, n.script) for n in umarov.names]


def test_name_kinds_and_scripts_overall(parsed: ParsedList) -> None:
    kinds = Counter(n.kind for r in parsed.records for n in r.names)
    assert kinds["primary"] == 1003
    # 615 aliases have QUALITY "Low"; one of them is a former name ("formerly listed as")
    assert kinds["weak_aka"] == 614
    former = [n for r in parsed.records for n in r.names if n.name == "Saiyid Abd al-Man"]
    assert [(n.kind, n.quality) for n in former] == [("fka", "Low")]
    scripts = Counter(n.script for r in parsed.records for n in r.names if n.script)
    assert set(scripts) == {"Arabic", "Cyrillic"}
    assert scripts["Arabic"] + scripts["Cyrillic"] == 377  # 336 + 42 minus one duplicate


def test_parse_is_fast() -> None:
    data = mirror_file("un_sc", un_sc.FILE)
    start = time.perf_counter()
    un_sc.parse({un_sc.FILE: data})
    assert time.perf_counter() - start < 3


def _doc(body: str) -> dict[str, bytes]:
    xml = f'<?xml version="1.0"?><CONSOLIDATED_LIST dateGenerated="2026-01-01T00:00:00Z">{body}'
    return {un_sc.FILE: (xml + "</CONSOLIDATED_LIST>").encode()}


def test_damaged_and_wrong_files_are_refused() -> None:
    data = mirror_file("un_sc", un_sc.FILE)
    with pytest.raises(ParseError, match="not well-formed") as exc:
        un_sc.parse({un_sc.FILE: data[: len(data) // 2]})
    assert exc.value.file == un_sc.FILE and exc.value.line
    with pytest.raises(ParseError, match="root element is <sdnList>"):
        un_sc.parse({un_sc.FILE: b"<sdnList/>"})
    with pytest.raises(ParseError, match="neither INDIVIDUALS nor ENTITIES"):
        un_sc.parse(_doc(""))
    with pytest.raises(ParseError, match="no numeric DATAID") as exc:
        un_sc.parse(_doc("<ENTITIES><ENTITY><FIRST_NAME>X</FIRST_NAME></ENTITY></ENTITIES>"))
    assert exc.value.line == 1
    with pytest.raises(ParseError, match="DATAID 7 appears twice"):
        one = "<ENTITY><DATAID>7</DATAID><FIRST_NAME>X</FIRST_NAME></ENTITY>"
        un_sc.parse(_doc(f"<ENTITIES>{one}{one}</ENTITIES>"))
    with pytest.raises(ParseError, match="has no FIRST_NAME"):
        un_sc.parse(_doc("<ENTITIES><ENTITY><DATAID>7</DATAID></ENTITY></ENTITIES>"))


def test_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<CONSOLIDATED_LIST>&b;</CONSOLIDATED_LIST>"
    )
    with pytest.raises(ParseError, match="entities"):
        un_sc.parse({un_sc.FILE: bomb})


def test_update_from_mirror_server(mirror_server: str, db_url: str) -> None:
    engine = get_engine(db_url)
    outcome = update_source(engine, un_sc.SOURCE, mirror=mirror_server)
    assert outcome.ok, outcome.error
    assert outcome.records == 1003
    assert outcome.data_date == "2026-02-27"
    assert len(outcome.delta.added) == 1003
    again = update_source(engine, un_sc.SOURCE, mirror=mirror_server)
    assert again.ok and again.previous == 1003
    assert again.delta.counts() == {"added": 0, "removed": 0, "changed": 0}
