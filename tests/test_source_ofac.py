"""OFAC SDN and Consolidated sources on the real files in ../shared/data (see MANIFEST.md)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from compliance.lists_update import update_source
from compliance.sources import us_ofac_cons, us_ofac_sdn
from compliance.sources.base import EntityRecord, ParsedList, ParseError
from compliance.sources.ofac_vocab import parse_dob, split_programs
from compliance.store.db import get_engine
from compliance.store.models import Entity, EntityIdentifier, EntityName, Snapshot
from tests.conftest import DATA, MIRROR

SDN_NAMES = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
CONS_CSV = ("cons_prim.csv", "cons_add.csv", "cons_alt.csv", "cons_comments.csv")


def _files(folder: str, names: tuple[str, ...]) -> dict[str, bytes]:
    base = DATA / folder if folder == "ofac-2021" else MIRROR / folder
    return {n: (base / n).read_bytes() for n in names}


def _csv_rows(content: bytes) -> int:
    return sum(1 for r in csv.reader(io.StringIO(content.decode(), newline="")) if len(r) > 1)


def _by_id(parsed: ParsedList) -> dict[str, EntityRecord]:
    return {r.source_id: r for r in parsed.records}


@pytest.fixture(scope="module")
def sdn_files() -> dict[str, bytes]:
    return _files("us_ofac_sdn", SDN_NAMES)


PARSE_SECONDS: list[float] = []


@pytest.fixture(scope="module")
def sdn(sdn_files: dict[str, bytes]) -> ParsedList:
    start = time.perf_counter()
    parsed = us_ofac_sdn.parse(sdn_files)
    PARSE_SECONDS.append(time.perf_counter() - start)
    return parsed


@pytest.fixture(scope="module")
def sdn_by_id(sdn: ParsedList) -> dict[str, EntityRecord]:
    return _by_id(sdn)


@pytest.fixture(scope="module")
def cons_files() -> dict[str, bytes]:
    return _files("us_ofac_cons", (*CONS_CSV, "CONSOLIDATED.XML", "CONS_ENHANCED.XML"))


@pytest.fixture(scope="module")
def cons_csv(cons_files: dict[str, bytes]) -> ParsedList:
    return us_ofac_cons.parse_csv_set(cons_files)


@pytest.fixture(scope="module")
def cons_xml(cons_files: dict[str, bytes]) -> ParsedList:
    return us_ofac_cons.parse_sdn_xml(cons_files["CONSOLIDATED.XML"])


@pytest.fixture(scope="module")
def cons_enh(cons_files: dict[str, bytes]) -> ParsedList:
    return us_ofac_cons.parse_enhanced_xml(cons_files["CONS_ENHANCED.XML"])


# --- counts (MANIFEST.md) -------------------------------------------------------------------


def test_sdn_mirror_counts_and_orphans(sdn: ParsedList, sdn_files: dict[str, bytes]) -> None:
    assert sdn.rows_read == 14_965
    assert len(sdn.records) == 14_965
    assert sdn.data_date is None  # the CSVs state no date
    assert [_csv_rows(sdn_files[n]) for n in SDN_NAMES] == [14_965, 24_244, 20_107, 28]
    aliases = sum(len(r.raw.get("aliases", [])) for r in sdn.records)
    addresses = sum(len(r.raw.get("addresses", [])) for r in sdn.records)
    continued = sum("remarks_extended" in r.raw for r in sdn.records)
    assert aliases == 20_107 - 2_460
    assert addresses == 24_244 - 4_893
    assert continued == 28 - 6
    text = "\n".join(sdn.warnings)
    assert "alt.csv: 2460 alias rows for entries not in sdn.csv" in text
    assert "add.csv: 4893 address rows for entries not in sdn.csv" in text
    assert "sdn_comments.csv: 6 rows for entries not in sdn.csv" in text
    types = {
        t: sum(r.entity_type == t for r in sdn.records)
        for t in ("organization", "person", "vessel", "aircraft")
    }
    assert types == {"organization": 6_884, "person": 6_854, "vessel": 851, "aircraft": 376}


def test_ofac_2021_set_joins_without_orphans() -> None:
    files = _files("ofac-2021", SDN_NAMES)
    parsed = us_ofac_sdn.parse(files)
    assert [_csv_rows(files[n]) for n in SDN_NAMES] == [8_976, 13_837, 11_910, 5]
    assert len(parsed.records) == 8_976
    assert parsed.warnings == []
    assert sum(len(r.raw.get("aliases", [])) for r in parsed.records) == 11_910
    assert sum(len(r.raw.get("addresses", [])) for r in parsed.records) == 13_837
    continued = [r for r in parsed.records if "remarks_extended" in r.raw]
    assert len(continued) == 5
    rec = _by_id(parsed)["28263"]  # the Remarks run on into sdn_comments.csv mid-alias
    assert rec.remarks is not None and len(rec.remarks) > 1_000
    assert rec.remarks.endswith("Linked To: LAZARUS GROUP.")
    assert "snowsjohn" in [n.name for n in rec.names]
    assert rec.fields["linked_to"] == ["LAZARUS GROUP"]


def test_cons_counts(
    cons_csv: ParsedList, cons_xml: ParsedList, cons_enh: ParsedList, cons_files: dict[str, bytes]
) -> None:
    assert [_csv_rows(cons_files[n]) for n in CONS_CSV] == [442, 574, 1_073, 10]
    assert len(cons_csv.records) == 442 and cons_csv.warnings == []
    assert sum(len(r.raw.get("aliases", [])) for r in cons_csv.records) == 1_073
    assert sum(len(r.raw.get("addresses", [])) for r in cons_csv.records) == 574
    assert sum("remarks_extended" in r.raw for r in cons_csv.records) == 10
    assert cons_csv.data_date is None
    assert len(cons_xml.records) == 442 and cons_xml.warnings == []
    assert sum(r.entity_type == "organization" for r in cons_xml.records) == 363
    assert sum(r.entity_type == "person" for r in cons_xml.records) == 79
    assert cons_xml.data_date == "2026-01-08"  # Publish_Date 01/08/2026
    assert len(cons_enh.records) == 443
    assert cons_enh.data_date == "2025-01-10"


# --- the three Consolidated formats agree ----------------------------------------------------


def _names(rec: EntityRecord) -> set[tuple[str, str]]:
    # the CSV writes double quotes inside names as single quotes
    return {(n.name.replace('"', "'"), n.kind) for n in rec.names if n.kind != "original_script"}


def _ids(rec: EntityRecord) -> set[tuple[str, str]]:
    return {(i.type, i.number) for i in rec.identifiers}


def test_csv_and_classic_xml_agree(cons_csv: ParsedList, cons_xml: ParsedList) -> None:
    a, b = _by_id(cons_csv), _by_id(cons_xml)
    assert a.keys() == b.keys()
    for key, x in a.items():
        y = b[key]
        assert (x.name, x.entity_type, sorted(x.programs)) == (
            y.name,
            y.entity_type,
            sorted(y.programs),
        ), key
        assert _names(x) == _names(y), key
        assert _ids(x) == _ids(y), key
        assert x.dates_of_birth == y.dates_of_birth, key
        assert x.nationalities == y.nationalities, key
        assert x.lists == y.lists, key
        assert sorted(ad.country_code or "" for ad in x.addresses) == sorted(
            ad.country_code or "" for ad in y.addresses
        ), key
    assert sum(len(r.identifiers) for r in a.values()) >= 900  # the Remarks really were parsed
    # Remarks cut at 1,000 characters between "Government" and " Gazette" join with the space
    assert ("Government Gazette Number", "00044463") in _ids(a["17254"])


def test_enhanced_xml_agrees_modulo_its_older_date(
    cons_csv: ParsedList, cons_enh: ParsedList
) -> None:
    a, c = _by_id(cons_csv), _by_id(cons_enh)
    # Jan 2025 vs Dec 2025: one FSE entry was delisted in between, nothing added
    assert c.keys() - a.keys() == {"26182"} and a.keys() <= c.keys()
    assert c["26182"].name == "KAYAKIRAN, Evren" and c["26182"].lists[0] == "FSE List"
    renamed = [k for k in a if a[k].name != c[k].name]
    assert renamed == ["18284"]  # RN-KOMSOMOLSKY REFINERY LLC became RN KOMSOMOLSKIY...
    same_names = sum(_names(a[k]) == _names(c[k]) for k in a)
    same_ids = sum(_ids(a[k]) == _ids(c[k]) for k in a)
    assert same_names >= 430 and same_ids >= 425
    for key, x in a.items():
        assert x.entity_type == c[key].entity_type, key
        assert x.dates_of_birth == c[key].dates_of_birth, key
        assert set(x.lists) <= set(c[key].lists), key  # lists derived from programs hold


def test_parse_prefers_classic_xml_then_enhanced_then_csv(cons_files: dict[str, bytes]) -> None:
    full = us_ofac_cons.parse(cons_files)
    assert full.data_date == "2026-01-08"
    no_classic = {k: v for k, v in cons_files.items() if k != "CONSOLIDATED.XML"}
    assert us_ofac_cons.parse(no_classic).data_date == "2025-01-10"
    csv_only = {k: cons_files[k] for k in CONS_CSV}
    from_csv = us_ofac_cons.parse(csv_only)
    assert from_csv.data_date is None
    assert {r.source_id for r in from_csv.records} == {r.source_id for r in full.records}


# --- spot checks ---------------------------------------------------------------------------


def test_banco_nacional_de_cuba(sdn_by_id: dict[str, EntityRecord]) -> None:
    rec = sdn_by_id["306"]
    assert rec.name == "BANCO NACIONAL DE CUBA"
    assert rec.entity_type == "organization"  # SDN_Type -0-
    assert rec.programs == ["CUBA"]
    assert rec.lists == ["SDN List"]
    kinds = {n.name: n.kind for n in rec.names}
    assert kinds == {
        "BANCO NACIONAL DE CUBA": "primary",
        "BNC": "weak_aka",
        "NATIONAL BANK OF CUBA": "aka",
    }
    assert [a.country_code for a in rec.addresses] == ["CH", "ES", "JP", "PA"]
    assert rec.remarks == "a.k.a. 'BNC'."


def test_several_programs(sdn_by_id: dict[str, EntityRecord]) -> None:
    rec = sdn_by_id["10481"]
    assert rec.name == "SOLEIMANI, Qasem"
    assert rec.programs == ["SDGT", "SYRIA", "NPWMD", "IRGC", "IFSR"]
    assert rec.entity_type == "person"
    assert rec.dates_of_birth == ["1957-03-11"]
    assert rec.nationalities == ["IR"]
    assert rec.fields["citizenship"] == ["Iran"]
    assert rec.fields["places_of_birth"] == ["Qom, Iran"]
    ident = rec.identifiers[0]
    assert (ident.type, ident.number, ident.country, ident.note) == (
        "Diplomatic Passport",
        "008827",
        "IR",
        "issued 1999",
    )
    assert rec.fields["features"]["Additional Sanctions Information -"] == [
        "Subject to Secondary Sanctions"
    ]


def test_individual_with_dob_and_passports_from_remarks(
    sdn_by_id: dict[str, EntityRecord],
) -> None:
    rec = sdn_by_id["2676"]
    assert rec.name == "AL ZAWAHIRI, Dr. Ayman"
    assert rec.dates_of_birth == ["1951-06-19"]
    assert rec.fields["places_of_birth"] == ["Giza, Egypt"]
    assert [(i.type, i.number, i.country) for i in rec.identifiers] == [
        ("Passport", "1084010", "EG"),
        ("Passport", "19820215", None),
    ]
    assert rec.fields["titles"] == ["Operational and Military Leader of JIHAD GROUP"]
    assert rec.remarks is not None and rec.remarks.startswith("DOB 19 Jun 1951; POB Giza")
    assert {"AL-ZAWAHIRI, Ayman", "SALIM, Ahmad Fuad"} <= {n.name for n in rec.names}


def test_vessels(sdn_by_id: dict[str, EntityRecord]) -> None:
    ebano = sdn_by_id["4243"]
    assert ebano.entity_type == "vessel"
    assert ebano.fields["vessel_type"] == "General Cargo"
    assert ebano.fields["tonnage"] == "2595"
    assert ebano.fields["gross_registered_tonnage"] == "1865"
    assert ebano.fields["vessel_flag"] == "Panama" and ebano.countries == ["PA"]
    assert [(i.type, i.number) for i in ebano.identifiers] == [
        ("Vessel Registration Identification", "IMO 7406784")
    ]
    assert {n.name for n in ebano.names if n.kind == "weak_aka"} == {"ANA I", "SAND SWAN"}
    tug = sdn_by_id["4238"]
    assert (tug.fields["call_sign"], tug.fields["vessel_owner"]) == (
        "CL2192",
        "Samir de Navegacion S.A.",
    )
    assert sum(r.entity_type == "aircraft" for r in sdn_by_id.values()) == 376


def test_classic_xml_individual(cons_xml: ParsedList) -> None:
    rec = _by_id(cons_xml)["9647"]
    assert rec.name == "ZAHHAR, Mahmoud Khaled"
    assert rec.programs == ["NS-PLC", "SDGT"]
    assert rec.lists == ["Non-SDN Palestinian Legislative Council List"]
    assert rec.dates_of_birth == ["1945"]
    assert rec.nationalities == ["PS"]
    assert rec.fields["gender"] == ["Male"]
    assert rec.fields["linked_to"] == ["HAMAS"]
    weak = {n.name for n in rec.names if n.kind == "weak_aka"}
    assert weak == {"ZAHAR, Mahmoud", "AL-ZAHAR, Mahmoud"}
    assert rec.addresses[0].country == "Region: Gaza" and rec.addresses[0].country_code == "PS"


def test_enhanced_xml_scripts_and_lists(cons_enh: ParsedList) -> None:
    rec = _by_id(cons_enh)["17013"]
    assert rec.name == "VTB BANK PUBLIC JOINT STOCK COMPANY"
    original = {(n.name, n.script) for n in rec.names if n.kind == "original_script"}
    assert ("БАНК ВТБ ПАО", "Cyrillic") in original
    assert "Sectoral Sanctions Identifications List" in rec.lists
    assert ("SWIFT/BIC", "VTBRRUMM") in _ids(rec)
    assert "RU" in rec.countries


# --- file quirks and hostile input ---------------------------------------------------------


def test_ctrl_z_terminated_real_file(sdn_files: dict[str, bytes], sdn: ParsedList) -> None:
    assert sdn_files["sdn.csv"].endswith(b"\r\n\x1a")
    last = sdn.records[-1]
    assert last.source_id == "48907"
    assert last.remarks is not None and last.remarks.endswith(
        "Registration Number 9855920 (Turkey)."
    )
    assert ("Registration Number", "9855920") in _ids(last)
    assert last.identifiers[-1].country == "TR"


def test_small_file_nulls_and_ctrl_z() -> None:
    sdn_csv = (
        b'1,"ACME, S.A.",-0- ,"IRAN] [SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
        b'2,"DOE, John","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
        b'"DOB circa 1960 to 1962; nationality Yemen; National ID No. 123 (Yemen)."\r\n\x1a'
    )
    alt = (
        b'2,10,"fka","ROE, Richard",-0- \r\n9,11,"aka","GHOST",-0- \r\n'
        b'2,12,"aka","DOE, J.","weak alias"\r\n\x1a'
    )
    parsed = us_ofac_sdn.parse({"sdn.csv": sdn_csv, "alt.csv": alt})
    acme, doe = parsed.records
    assert acme.programs == ["IRAN", "SDGT"] and acme.remarks is None and acme.fields == {}
    assert acme.raw["row"]["Title"] == ""
    assert doe.dates_of_birth == ["1960", "1961", "1962"]
    assert doe.nationalities == ["YE"]
    assert [(n.name, n.kind, n.quality) for n in doe.names] == [
        ("DOE, John", "primary", None),
        ("ROE, Richard", "fka", None),
        ("DOE, J.", "weak_aka", "weak"),
    ]
    assert parsed.warnings == ["alt.csv: 1 alias rows for entries not in sdn.csv"]


def test_wrong_column_count_names_the_line(sdn_files: dict[str, bytes]) -> None:
    lines = sdn_files["sdn.csv"].split(b"\r\n")
    lines[99] = lines[99].rsplit(b",", 1)[0]  # drop the Remarks column of line 100
    with pytest.raises(ParseError) as err:
        us_ofac_sdn.parse({**sdn_files, "sdn.csv": b"\r\n".join(lines)})
    assert err.value.file == "sdn.csv" and err.value.line == 100
    assert "has 11 fields, expected 12" in str(err.value)


def test_truncated_csv_is_refused(sdn_files: dict[str, bytes]) -> None:
    content = sdn_files["add.csv"]
    cut = content[: content.index(b'"Zurich')] + b'"Zuri'  # ends inside a quoted field
    head = b"\r\n".join(sdn_files["sdn.csv"].split(b"\r\n")[:20])
    with pytest.raises(ParseError) as err:
        us_ofac_sdn.parse({"sdn.csv": head, "add.csv": cut})
    assert err.value.file == "add.csv" and err.value.line == 3
    assert "truncated or damaged" in str(err.value)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b'X1,"A",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', "is not a number"),
        (b'5,"A","robot","CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', "unknown SDN_Type"),
        (b'5,-0- ,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ', "has no SDN_Name"),
        (b"\x00\x01garbage", "NUL bytes"),
    ],
)
def test_bad_rows(row: bytes, message: str) -> None:
    good = b'4,"B",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    with pytest.raises(ParseError, match=message) as err:
        us_ofac_sdn.parse({"sdn.csv": good + row + b"\r\n"})
    assert err.value.file == "sdn.csv"
    assert err.value.line == 2  # a NUL byte is located too


def test_truncated_and_foreign_xml(cons_files: dict[str, bytes]) -> None:
    xml = cons_files["CONSOLIDATED.XML"]
    with pytest.raises(ParseError) as err:
        us_ofac_cons.parse_sdn_xml(xml[: len(xml) // 2])
    assert err.value.file == "CONSOLIDATED.XML" and err.value.line is not None
    assert err.value.line > 1_000
    with pytest.raises(ParseError, match="expected <sanctionsData>"):
        us_ofac_cons.parse_enhanced_xml(xml)
    with pytest.raises(ParseError, match="expected <sdnList>"):
        us_ofac_cons.parse_sdn_xml(cons_files["CONS_ENHANCED.XML"])
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sdnList>&a;</sdnList>'
    with pytest.raises(ParseError, match="entities"):
        us_ofac_cons.parse_sdn_xml(bomb)
    broken = xml.replace(b"<uid>9639</uid>", b"<uid>x</uid>", 1)
    with pytest.raises(ParseError, match="bad uid") as err:
        us_ofac_cons.parse_sdn_xml(broken)
    assert err.value.line == 7  # the <sdnEntry> holding it


def test_remarks_helpers() -> None:
    assert split_programs("IRAN] [SDGT] [IRGC") == ["IRAN", "SDGT", "IRGC"]
    assert parse_dob("07 Oct 1952") == ["1952-10-07"]
    assert parse_dob("circa 1979-1982") == ["1979", "1980", "1981", "1982"]
    assert parse_dob("Mar 1962 to Feb 1963") == ["1962", "1963"]
    assert parse_dob("Sep 1938") == ["1938-09"]
    assert parse_dob("sometime") == []


def test_sdn_parse_time(sdn: ParsedList) -> None:
    assert len(sdn.records) == 14_965
    assert PARSE_SECONDS and PARSE_SECONDS[0] < 5.0  # ~1.5 s on an idle laptop core


# --- the update pipeline over real HTTP ----------------------------------------------------


def test_update_both_sources_from_mirror_server(mirror_server: str, db_url: str) -> None:
    engine = get_engine(db_url)
    sdn_outcome = update_source(engine, us_ofac_sdn.SOURCE, mirror=mirror_server)
    assert sdn_outcome.ok, sdn_outcome.error
    assert sdn_outcome.records == 14_965
    # the CSVs state no date: the server's Last-Modified (the newest file's mtime), said so
    newest = max(
        (MIRROR / "us_ofac_sdn" / f.name).stat().st_mtime for f in us_ofac_sdn.SOURCE.files
    )
    assert sdn_outcome.data_date_from == "http-last-modified"
    assert sdn_outcome.data_date == datetime.fromtimestamp(newest, UTC).date().isoformat()
    assert any("2460 alias rows" in w for w in sdn_outcome.warnings)
    cons_outcome = update_source(engine, us_ofac_cons.SOURCE, mirror=mirror_server)
    assert cons_outcome.ok, cons_outcome.error
    assert cons_outcome.records == 442 and cons_outcome.data_date == "2026-01-08"
    with Session(engine) as session:
        bnc = session.exec(
            select(Entity).where(Entity.source == "us_ofac_sdn", Entity.source_id == "306")
        ).one()
        names = session.exec(select(EntityName).where(EntityName.entity_id == bnc.id)).all()
        assert {(n.name, n.kind) for n in names} == {
            ("BANCO NACIONAL DE CUBA", "primary"),
            ("BNC", "weak_aka"),
            ("NATIONAL BANK OF CUBA", "aka"),
        }
        vtb = session.exec(
            select(Entity).where(Entity.source == "us_ofac_cons", Entity.source_id == "17013")
        ).one()
        ids = session.exec(select(EntityIdentifier).where(EntityIdentifier.entity_id == vtb.id))
        assert ("SWIFT/BIC", "VTBRRUMM") in {(i.type, i.number) for i in ids}
        snap = session.exec(
            select(Snapshot).where(Snapshot.source == "us_ofac_cons", Snapshot.status == "current")
        ).one()
        files = {f["name"] for f in snap.files}
        assert files == {*CONS_CSV, "CONSOLIDATED.XML", "CONS_ENHANCED.XML"}
