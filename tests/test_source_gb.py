"""UK OFSI Consolidated List: the real ConList.xlsx, plus small hostile workbooks."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections import Counter

import openpyxl
import pytest

from compliance.lists_update import update_source
from compliance.sources import gb_ofsi
from compliance.sources.base import EntityRecord, ParsedList, ParseError
from compliance.store.db import get_engine
from tests.conftest import mirror_file

PARSE_SECONDS: list[float] = []


@pytest.fixture(scope="module")
def parsed() -> ParsedList:
    data = mirror_file("gb_ofsi", gb_ofsi.FILE)
    start = time.perf_counter()
    result = gb_ofsi.parse({gb_ofsi.FILE: data})
    PARSE_SECONDS.append(time.perf_counter() - start)
    return result


@pytest.fixture(scope="module")
def records(parsed: ParsedList) -> dict[str, EntityRecord]:
    return {r.source_id: r for r in parsed.records}


def test_manifest_counts_and_date(parsed: ParsedList) -> None:
    assert parsed.rows_read == 18_796
    assert len(parsed.records) == 4_686
    types = Counter(r.fields["group_type"] for r in parsed.records)
    assert types == {"Individual": 3_662, "Entity": 1_009, "Ship": 15}
    assert Counter(r.entity_type for r in parsed.records) == {
        "person": 3_662,
        "organization": 1_009,
        "vessel": 15,
    }
    assert parsed.data_date == "2025-04-10"
    assert parsed.warnings == []


def test_every_record_is_complete(parsed: ParsedList) -> None:
    for rec in parsed.records:
        assert rec.source_id.isdigit()
        assert rec.name and rec.names[0].kind == "primary"
        assert rec.programs, rec.source_id
        assert rec.fields["listed_on"] and rec.fields["last_updated"]
        assert all(len(c) == 2 and c.isupper() for c in rec.nationalities + rec.countries)
        for d in rec.dates_of_birth:
            assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", d), d
    refs = {r.source_id: r.fields.get("uk_sanctions_list_ref") for r in parsed.records}
    # one target (SAMOFAL, 15878) has no "(UK Sanctions List Ref):" in its Other Information
    assert [gid for gid, ref in refs.items() if not ref] == ["15878"]
    # "RUS0251", a few joint listings "BEL0047 and GHR0051", and two UN-style "SDi.005"
    ref = r"[A-Z]{3}\d{4}|[A-Z]{2}[ie]\.\d{3}"
    assert all(re.fullmatch(f"({ref})( and ({ref}))*", x) for x in refs.values() if x)
    assert refs["14196"] == "RUS0251" and refs["13919"] == "BEL0047 and GHR0051"


def test_individual_with_arabic_names_passport_and_partial_dob(
    records: dict[str, EntityRecord],
) -> None:
    rec = records["6997"]
    assert rec.entity_type == "person"
    assert rec.name == "SALIM AHMAD SALIM HAMDAN"  # the "Primary name" row, not the first row
    names = {n.name: n for n in rec.names}
    assert names["Saqar AL JADAWI"].kind == "aka"
    assert names["Saqar AL JADAWI"].quality == "Good quality"
    assert names["سالم أحمد سالم حمدان"].kind == "original_script"
    assert names["سالم أحمد سالم حمدان"].script == "Arabic"
    assert names["صقر الجداوي"].script == "Arabic"
    assert rec.dates_of_birth == ["1965"]  # written 00/00/1965
    assert [(i.type, i.number, i.country) for i in rec.identifiers] == [
        ("Passport", "00385937", "YE")
    ]
    assert rec.nationalities == ["YE"]
    assert rec.programs == ["ISIL (Da'esh) and Al-Qaida"]
    assert rec.fields["un_reference"] == "QDi.003"
    assert rec.fields["uk_sanctions_list_ref"] == "AQD0306"
    assert rec.fields["listed_on"] == "2001-02-23"
    assert rec.fields["uk_sanctions_list_date_designated"] == "2001-01-25"
    assert rec.fields["places_of_birth"] == ["Al-Mukalla, Yemen", "AI-Mukala, Yemen"]
    assert {a.full for a in rec.addresses} == {"Yemen", "Shari Tunis, Sana'a, Yemen"}
    assert len(rec.raw["rows"]) == 10 and rec.raw["common"]["Group ID"] == "6997"


def test_russian_individual_and_entity(records: dict[str, EntityRecord]) -> None:
    putin = records["14196"]
    assert putin.name == "Vladimir Vladimirovich PUTIN"
    assert ("Владимир Владимирович Путин", "original_script", "Cyrillic") in [
        (n.name, n.kind, n.script) for n in putin.names
    ]
    assert putin.dates_of_birth == ["1952-10-07"]
    assert putin.fields["positions"] == ["President of the Russian Federation"]
    assert putin.fields["gender"] == "Male"
    sber = records["15076"]
    assert sber.entity_type == "organization"
    assert sber.name == "PJSC SBERBANK (PUBLIC JOINT-STOCK COMPANY SBERBANK)"
    assert {"SBERBANK", "SBERBANK OF RUSSIA", "ПАО Сбербанк"} <= {n.name for n in sber.names}
    assert sber.identifiers[0].number == "1027700132195"
    assert sber.addresses[0].postal_code == "117997"
    assert sber.countries == ["RU"]


def test_ship_and_partial_dates(records: dict[str, EntityRecord]) -> None:
    ship = records["13651"]
    assert (ship.entity_type, ship.name) == ("vessel", "SAM JONG 2")
    assert [(i.type, i.number) for i in ship.identifiers] == [("IMO", "7408873")]
    assert ship.fields["flag"] == "North Korea"
    assert records["13378"].dates_of_birth == ["1994", "1993", "1995", "1992"]
    assert records["12629"].dates_of_birth == ["1977-08", "1977-09", "1976"]
    assert records["7059"].nationalities == ["DE", "MA"]  # "(1) Germany. (2) Morocco"


def test_name_scripts(parsed: ParsedList) -> None:
    scripts = Counter(
        n.script for r in parsed.records for n in r.names if n.kind == "original_script"
    )
    assert scripts.most_common(2) == [("Cyrillic", 2317), ("Arabic", 682)]
    assert None not in scripts and "Latin" not in scripts


def test_parse_takes_seconds(parsed: ParsedList) -> None:
    assert PARSE_SECONDS[0] < 30  # ~3.5 s on an idle machine; CI runners may be loaded


def _row(**cells: str) -> list[str | None]:
    return [cells.get(h) for h in gb_ofsi.HEADER]


def _workbook(rows: list[list[object]], sheet: str = "Data") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["Last Updated", "10/04/2025"])
    ws.append(gb_ofsi.HEADER)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


ONE = dict(
    **{"Name 6": "EXAMPLE", "Group Type": "Entity", "Alias Type": "Primary name"},
    Regime="Russia",
    **{"Listed On": "01/02/2023", "Last Updated": "01/02/2023", "Group ID": "1"},
)


def test_formulas_are_never_evaluated() -> None:
    info = "=1+1"  # openpyxl saves a leading "=" as a formula, with no cached value
    wb = _workbook([_row(**{**ONE, "Other Information": info})])
    (rec,) = gb_ofsi.parse({gb_ofsi.FILE: wb}).records
    assert rec.name == "EXAMPLE"
    assert rec.fields["other_information"] is None  # the stored value (none), not "2"
    named_by_formula = _row(**{**ONE, "Name 6": '=HYPERLINK("http://x")'})
    with pytest.raises(ParseError, match="no name") as exc:
        gb_ofsi.parse({gb_ofsi.FILE: _workbook([named_by_formula])})
    assert exc.value.line == 3


def test_text_with_equals_sign_is_kept() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Last Updated", "10/04/2025"])
    ws.append(gb_ofsi.HEADER)
    ws.append(_row(**ONE))
    ws.append(_row(**{**ONE, "Alias Type": "AKA"}))
    ws.cell(row=4, column=1).value = "=CMD|' /C calc'!A0"
    ws.cell(row=4, column=1).data_type = "s"  # stored as plain text, as a hostile list could
    out = io.BytesIO()
    wb.save(out)
    (rec,) = gb_ofsi.parse({gb_ofsi.FILE: out.getvalue()}).records
    assert "=CMD|' /C calc'!A0" in [n.name for n in rec.names]


def _with_dimension(content: bytes, ref: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            dst.writestr(item, data)
    return out.getvalue()


def test_huge_claimed_dimension_is_refused_quickly() -> None:
    wb = _with_dimension(_workbook([_row(**ONE)]), "A1:XFD1048576")
    start = time.perf_counter()
    with pytest.raises(ParseError, match="claims 1,048,576 rows"):
        gb_ofsi.parse({gb_ofsi.FILE: wb})
    assert time.perf_counter() - start < 2


def test_row_cap_holds_when_the_dimension_lies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gb_ofsi, "MAX_ROWS", 5)
    rows = [_row(**{**ONE, "Group ID": str(i)}) for i in range(10)]
    wb = _with_dimension(_workbook(rows), "A1:AJ3")  # claims 3 rows, holds 12
    with pytest.raises(ParseError, match="more than 5 rows") as exc:
        gb_ofsi.parse({gb_ofsi.FILE: wb})
    assert exc.value.line == 6


def test_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gb_ofsi, "MAX_UNPACKED", 1_000)
    with pytest.raises(ParseError, match="unpacks to .* refused as unsafe"):
        gb_ofsi.parse({gb_ofsi.FILE: _workbook([_row(**ONE)])})


def test_damaged_and_wrong_workbooks() -> None:
    real = mirror_file("gb_ofsi", gb_ofsi.FILE)
    with pytest.raises(ParseError, match="not an XLSX workbook") as exc:
        gb_ofsi.parse({gb_ofsi.FILE: real[: len(real) // 2]})
    assert exc.value.file == gb_ofsi.FILE and exc.value.source == "gb_ofsi"
    with pytest.raises(ParseError, match="no sheet 'Data'"):
        gb_ofsi.parse({gb_ofsi.FILE: _workbook([], sheet="Sheet1")})
    with pytest.raises(ParseError, match="has no Group ID") as exc:
        gb_ofsi.parse({gb_ofsi.FILE: _workbook([_row(**{**ONE, "Group ID": None})])})
    assert exc.value.line == 3
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active.append(["Last Updated", "10/04/2025"])
    wb.active.append(["Name", "Surname"])
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(ParseError, match="not the 36-column ConList header") as exc:
        gb_ofsi.parse({gb_ofsi.FILE: out.getvalue()})
    assert exc.value.line == 2


def test_update_from_mirror_server(mirror_server: str, db_url: str) -> None:
    engine = get_engine(db_url)
    outcome = update_source(engine, gb_ofsi.SOURCE, mirror=mirror_server)
    assert outcome.ok, outcome.error
    assert outcome.records == 4_686
    assert outcome.data_date == "2025-04-10"
