"""EU Financial Sanctions Files XML 1.1: self-written instance files checked against the official
XSD (no real EU list file is available; see MANIFEST.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from compliance.lists_update import update_source
from compliance.sources import eu_fsf
from compliance.sources.base import EntityRecord, ParsedList, ParseError
from compliance.store.db import get_engine
from tests.conftest import REFERENCE

FIXTURES = Path(__file__).parent / "fixtures" / "eu"
XSD = REFERENCE / "eu_fsf_export_schema_1_1.xsd"


def _offline_parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    doc = etree.parse(str(XSD), _offline_parser())
    xs = "{http://www.w3.org/2001/XMLSchema}"
    # nothing to fetch: the schema imports and includes no other document
    assert doc.findall(f"{xs}import") == [] and doc.findall(f"{xs}include") == []
    return etree.XMLSchema(doc)


def _parse(name: str) -> ParsedList:
    return eu_fsf.parse({eu_fsf.FILE: (FIXTURES / name).read_bytes()})


def _by_id(parsed: ParsedList, source_id: str) -> EntityRecord:
    (rec,) = [r for r in parsed.records if r.source_id == source_id]
    return rec


@pytest.mark.parametrize("name", ["persons.xml", "enterprise.xml"])
def test_fixtures_validate_against_official_xsd(schema: etree.XMLSchema, name: str) -> None:
    doc = etree.parse(str(FIXTURES / name), _offline_parser())
    assert schema.validate(doc), schema.error_log


def test_schema_rejects_a_wrong_instance(schema: etree.XMLSchema) -> None:
    # guards the test above: the schema really checks (regulation must precede subjectType)
    text = (FIXTURES / "enterprise.xml").read_text(encoding="utf-8")
    broken = text.replace('<subjectType code="enterprise" classificationCode="E"/>', "", 1)
    assert not schema.validate(etree.fromstring(broken.encode(), _offline_parser()))


def test_person_with_aliases_in_several_languages() -> None:
    parsed = _parse("persons.xml")
    assert parsed.data_date == "2025-11-21"
    assert parsed.rows_read == 3 and len(parsed.records) == 3
    assert parsed.warnings == []
    rec = _by_id(parsed, "135909")
    assert rec.entity_type == "person"
    # the first alias is the Swedish spelling; the primary is the one without nameLanguage
    assert rec.name == "Vladimir Vladimirovich PUTIN"
    kinds = {n.name: (n.kind, n.script) for n in rec.names}
    assert kinds["Vladimir Vladimirovitj PUTIN"] == ("aka", None)
    assert kinds["Wladimir Wladimirowitsch PUTIN"] == ("aka", None)
    assert kinds["Vladimir Vladimirovitch POUTINE"] == ("aka", None)
    assert kinds["Владимир Владимирович ПУТИН"] == ("original_script", "Cyrillic")
    assert kinds["Βλαντιμίρ Βλαντιμίροβιτς ΠΟΥΤΙΝ"] == ("original_script", "Greek")
    assert len(rec.names) == 6  # the EN alias repeats the primary and is not added twice
    assert rec.programs == ["UKR"]
    assert rec.nationalities == ["RU"]
    assert rec.dates_of_birth == ["1952-10-07"]
    assert rec.fields["places_of_birth"] == ["Leningrad (now Saint-Petersburg), RUSSIAN FEDERATION"]
    assert rec.fields["functions"] == ["President of the Russian Federation"]
    assert rec.fields["name_languages"] == ["SV", "BG", "DE", "FR", "EN", "EL"]
    assert rec.fields["designation_date"] == "2022-02-25"
    assert rec.fields["regulations"][0]["number_title"] == "2022/332 (OJ L53)"
    assert rec.raw["logicalId"] == "135909" and len(rec.raw["nameAlias"]) == 7


def test_person_identifiers_partial_dates_and_weak_alias() -> None:
    rec = _by_id(_parse("persons.xml"), "900001")
    assert rec.fields["eu_reference_number"] == "EU.9101.55"
    names = {n.name: n for n in rec.names}
    # no wholeName: built from firstName, middleName, lastName
    assert names["Иван Сергеевич ОБРАЗЦОВ"].kind == "original_script"
    assert (names["Ivan OBRAZCOV"].kind, names["Ivan OBRAZCOV"].quality) == ("weak_aka", "weak")
    assert rec.nationalities == ["RU"]  # the second citizenship is "00" (UNKNOWN)
    assert rec.dates_of_birth == ["1971", "1972-03"]
    assert rec.fields["birth_dates"][0]["circa"] == "true"
    passport, tin = rec.identifiers
    assert (passport.type, passport.number, passport.country) == ("passport", "751234567", "RU")
    assert passport.note == "National passport; issued by FMS 77001; issued 2015-04-02"
    assert (tin.type, tin.number) == ("tin", "770412345678")
    assert tin.note and "knownExpired" in tin.note and "(INN)" in tin.note
    (address,) = rec.addresses
    assert (address.city, address.postal_code, address.country_code) == ("Moscow", "101000", "RU")
    assert rec.remarks == "Fictional test entry. Deputy director of a sanctioned defence supplier."


def test_year_range_and_non_gregorian_birth_dates() -> None:
    rec = _by_id(_parse("persons.xml"), "900020")
    assert rec.dates_of_birth == ["1958", "1959", "1960", "1961"]  # ISLAMIC 1378 left out
    assert {d["calendarType"] for d in rec.fields["birth_dates"]} == {"GREGORIAN", "ISLAMIC"}
    assert rec.fields["un_reference"] == "TAi.999"
    assert rec.fields["titles"] == ["Mullah"]
    assert [(n.name, n.script) for n in rec.names if n.kind == "original_script"] == [
        ("عبد القادر المثالي", "Arabic")
    ]
    assert [(i.type, i.number, i.country) for i in rec.identifiers] == [("id", "57341", "AF")]


def test_enterprises() -> None:
    parsed = _parse("enterprise.xml")
    assert parsed.data_date == "2018-12-21"
    group = _by_id(parsed, "207")
    assert group.entity_type == "organization"
    assert group.name == "İslami Büyük Doğu Akıncılar Cephesi"
    assert group.fields["eu_reference_number"] == "EU.3523.13"
    assert group.programs == ["TERR"]
    assert {"IBDA-C", "Great Islamic Eastern Warriors Front"} <= {
        n.name for n in group.names if n.kind == "aka"
    }
    assert {n.script for n in group.names if n.kind == "original_script"} == {"Cyrillic", "Greek"}
    company = _by_id(parsed, "900100")
    assert company.name == "Limited Liability Company OBRAZETS TRADING"
    assert [(n.name, n.kind) for n in company.names[1:]] == [
        ("ООО Образец Трейдинг", "original_script"),
        ("OBRAZETS LLC", "weak_aka"),
    ]
    assert [a.full for a in company.addresses] == [
        "Nevsky prospekt 100, lit. A, Saint Petersburg, 191025, RUSSIAN FEDERATION",
        "PO Box 1234, Dubai, UNITED ARAB EMIRATES",
    ]
    assert company.countries == ["RU", "AE"]
    assert company.fields["contact_info"][0] == {"key": "PHONE", "value": "+7 812 000 00 00"}
    assert company.fields["additional_information"] == {"typeOfEntity": "Limited liability company"}
    assert [(i.type, i.number) for i in company.identifiers] == [("regnumber", "1187847000000")]


def test_damaged_file_is_refused() -> None:
    with pytest.raises(ParseError, match="not well-formed") as exc:
        _parse("damaged.xml")
    assert exc.value.source == "eu_fsf" and exc.value.file == eu_fsf.FILE
    assert exc.value.line and exc.value.line > 1


def _export(body: str, ns: str = eu_fsf.NS, date: str = "2025-01-01T00:00:00+01:00") -> bytes:
    return (
        f'<export xmlns="{ns}" generationDate="{date}" globalFileId="1">{body}</export>'
    ).encode()


ENTITY = (
    '<sanctionEntity logicalId="{id}"><regulation programme="RUS"/>'
    '<subjectType code="{code}" classificationCode="{cls}"/>'
    '<nameAlias wholeName="{name}" strong="true"/></sanctionEntity>'
)


def _entity(id: str = "1", code: str = "person", cls: str = "P", name: str = "A B") -> str:  # noqa: A002
    return ENTITY.format(id=id, code=code, cls=cls, name=name)


def test_wrong_or_inconsistent_files() -> None:
    parse = eu_fsf.parse
    with pytest.raises(ParseError, match="not the FSF export"):
        parse({eu_fsf.FILE: _export(_entity(), ns="http://eu.europa.eu/fpi/fsd/export")})
    with pytest.raises(ParseError, match="not the FSF export"):
        parse({eu_fsf.FILE: b"<CONSOLIDATED_LIST/>"})
    with pytest.raises(ParseError, match="logicalId 1 appears twice"):
        parse({eu_fsf.FILE: _export(_entity() + _entity())})
    with pytest.raises(ParseError, match="no name in any nameAlias") as exc:
        parse({eu_fsf.FILE: _export(_entity(name=""))})
    assert exc.value.line == 1
    with pytest.raises(ParseError, match="no numeric logicalId"):
        parse({eu_fsf.FILE: _export(_entity(id="x"))})


def test_unknown_subject_type_and_missing_date_are_warnings() -> None:
    parsed = eu_fsf.parse({eu_fsf.FILE: _export(_entity(code="vessel", cls="E"), date="")})
    assert parsed.records[0].entity_type == "organization"  # from classificationCode E
    assert parsed.data_date is None
    assert len(parsed.warnings) == 2 and "subjectType 'vessel'" in parsed.warnings[1]


def test_source_definition() -> None:
    (spec,) = eu_fsf.SOURCE.files
    assert spec.name == "xmlFullSanctionsList_1_1.xml"
    assert spec.url.endswith("/xmlFullSanctionsList_1_1/content?token=dG9rZW4tMjAxNw")
    assert spec.kind == "xml"


def test_update_from_a_mirror_directory(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "eu_fsf").mkdir()
    shutil.copy(FIXTURES / "persons.xml", tmp_path / "eu_fsf" / eu_fsf.FILE)
    outcome = update_source(get_engine(db_url), eu_fsf.SOURCE, mirror=str(tmp_path))
    assert outcome.ok, outcome.error
    assert (outcome.records, outcome.data_date) == (3, "2025-11-21")
