"""Consolidated Screening List: the real trade.gov CSV (May 2022 capture) and a JSON fixture."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from compliance.lists_update import parse_files
from compliance.sources import us_trade_csl as csl
from compliance.sources.base import Address, Identifier, ParseError
from compliance.sources.http import FetchedFile
from tests.conftest import MIRROR

CSV_PATH = MIRROR / "us_trade_csl" / "consolidated.csv"
JSON_FIXTURE = Path(__file__).parent / "fixtures" / "us_trade_csl" / "consolidated.json"
EL = "Entity List (EL) - Bureau of Industry and Security"
DPL = "Denied Persons List (DPL) - Bureau of Industry and Security"
EL_CAEIT = "China Academy of Electronics and Information Technology"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"
# Rows per sub-list, as stated in MANIFEST.md.
MANIFEST_ROWS = {
    SDN: 10_026,
    EL: 2_001,
    "ITAR Debarred (DTC) - State Department": 727,
    "Denied Persons List (DPL) - Bureau of Industry and Security": 462,
    "Sectoral Sanctions Identifications List (SSI) - Treasury Department": 290,
    "Unverified List (UVL) - Bureau of Industry and Security": 201,
    "Nonproliferation Sanctions (ISN) - State Department": 163,
    "Palestinian Legislative Council List (PLC) - Treasury Department": 78,
    "Military End User (MEU) List - Bureau of Industry and Security": 71,
    "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department": 68,
    "Capta List (CAP) - Treasury Department": 53,
    "Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department": 17,
    "Foreign Sanctions Evaders (FSE) - Treasury Department": 3,
}


@pytest.fixture(scope="module")
def parsed() -> csl.ParsedList:
    return csl.parse({csl.CSV_FILE: CSV_PATH.read_bytes()})


@pytest.fixture(scope="module")
def by_id(parsed: csl.ParsedList) -> dict[str, csl.EntityRecord]:
    return {r.source_id: r for r in parsed.records}


def test_counts_match_manifest(parsed: csl.ParsedList) -> None:
    assert parsed.rows_read == 14_160
    rows = Counter(row["source"] for r in parsed.records for row in r.raw["rows"])
    assert rows == MANIFEST_ROWS
    assert sum(rows.values()) == 14_160


def test_rows_sharing_an_id_become_one_entity(parsed: csl.ParsedList) -> None:
    # 71 Treasury ids appear on 2-3 sub-lists (SDN+SSI+CAP...), one CAPTA id twice: 14,048 ids;
    # then 107 BIS rows that are 49 entries (one row per address) collapse: 13,990 entities.
    ids = [r.source_id for r in parsed.records]
    assert len(ids) == len(set(ids)) == 13_990
    entities = Counter(sub for r in parsed.records for sub in r.lists)
    expected = dict(MANIFEST_ROWS)
    expected["Capta List (CAP) - Treasury Department"] = 52  # BANK OF KUNLUN is listed twice
    expected[EL] = 2_001 - (64 - 31)  # 64 rows of 31 entries
    expected[DPL] = 462 - (43 - 18)  # 43 rows of 18 denial orders
    assert entities == expected
    merged = [r for r in parsed.records if len(r.raw["rows"]) > 1 and r.fields["entity_number"]]
    assert len(merged) == 71
    assert all(r.fields["list_codes"][0] == r.fields["list_code"] for r in merged)
    collapsed = [
        r for r in parsed.records if len(r.raw["rows"]) > 1 and not r.fields["entity_number"]
    ]
    assert Counter(r.fields["list_code"] for r in collapsed) == {"EL": 31, "DPL": 18}
    assert sum(len(r.raw["rows"]) for r in collapsed) == 64 + 43 == 14_048 - 13_990 + 49
    for r in parsed.records:  # every row's _id is kept; the entity has the smallest
        assert r.fields["row_ids"] == sorted(row["_id"] for row in r.raw["rows"]) or (
            len(set(r.fields["row_ids"])) == 1
        )
        assert r.source_id == min(r.fields["row_ids"])


def test_rows_of_one_entry_become_one_hit(parsed: csl.ParsedList) -> None:
    """Huawei's Entity List entry is three rows (addresses added by later rules): one entity with
    every address and FR citation. Rows under other license terms or another order stay apart."""
    huawei = [r for r in parsed.records if r.name == "Huawei Technologies Co., Ltd. (Huawei)"]
    assert len(huawei) == 1
    h = huawei[0]
    assert h.source_id == "1a3ccc08ecbb40155a4cce8d9c9ace917f54cc74"
    assert sorted(h.fields["row_ids"]) == [
        "1a3ccc08ecbb40155a4cce8d9c9ace917f54cc74",
        "6bcb81e3dedb7bb330d74e8784035bc96d9c9ab3",
        "d05d55fa214aff19c1eb3270d54905e4e362d445",
    ]
    assert len(h.addresses) == 7 and "Tsim Sha Tsui, Kowloon, CN" in {a.full for a in h.addresses}
    cites = h.fields["federal_register_notice"].split(", ")
    assert {"84 FR 22961", "84 FR 22963", "87 FR 8180"} <= set(cites)
    assert len(cites) == len(set(cites))
    assert h.entity_type == "organization" and h.fields["type_inferred"] is True
    assert h.fields["license_policy"] == "Presumption of denial"
    # CAEIT: the same entry, but its Beijing address is under another license policy
    caeit = [r for r in parsed.records if r.name.strip() == EL_CAEIT]
    assert len(caeit) == 2 and len({r.fields["license_policy"] for r in caeit}) == 2
    # I. ASH: two denial orders (2002 and 2003); the 2002 one has two addresses
    ash = sorted((r for r in parsed.records if r.name == "I. ASH"), key=lambda r: r.source_id)
    assert [(r.fields["start_date"], len(r.addresses)) for r in ash] == [
        ("2002-03-04", 2),
        ("2003-06-19", 1),
    ]
    assert ash[0].fields["federal_register_notice"] == "67 FR 56530, 67 FR 10890, 71 FR 38843"
    # ITAR debarred rows state no date: two FR notices are two debarments
    aero = [r for r in parsed.records if r.name == "Aero Systems Aviation Corp."]
    assert len(aero) == 2


def test_data_date_is_latest_start_date(parsed: csl.ParsedList) -> None:
    assert parsed.data_date == "2022-04-21"
    assert parsed.warnings == []


def test_types(parsed: csl.ParsedList) -> None:
    types = Counter(r.entity_type for r in parsed.records)
    assert types["vessel"] == 433 and types["aircraft"] == 283
    assert {r.entity_type for r in parsed.records if r.fields["list_code"] == "PLC"} == {"person"}
    for r in parsed.records:  # the type column where it says; untyped rows typed by their name
        column = {row["type"] for row in r.raw["rows"]} - {""}
        if column:
            assert r.entity_type == csl.VOCABULARY.entity_type(column.pop())
            assert r.fields["type_inferred"] is False
        else:
            assert r.fields["list_code"] in {"EL", "DTC", "DPL", "UVL", "ISN", "MEU"}
            assert r.entity_type in {"organization", "unknown"}
            assert r.fields["type_inferred"] is (r.entity_type == "organization")
    typed = {r.name.strip(): r.entity_type for r in parsed.records}
    assert typed["Moscow Institute of Physics and Technology"] == "organization"
    assert typed["AL NASER AIRLINES"] == "organization"
    # people on the Entity List and the DPL stay unknown: a person search must still find them
    assert typed["Brian Douglas Woodford"] == "unknown" and typed["I. ASH"] == "unknown"
    assert types["unknown"] == 1_783 and types["organization"] == 4_423 + 1_784


def test_list_codes(parsed: csl.ParsedList) -> None:
    codes = {sub: csl.list_code(sub) for sub in MANIFEST_ROWS}
    assert sorted(codes.values()) == sorted(csl.CODE_ORDER)
    assert codes["Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department"] == "MBS"
    assert codes["ITAR Debarred (DTC) - State Department"] == "DTC"
    for r in parsed.records:
        assert r.fields["list_codes"] == [csl.list_code(sub) for sub in r.lists]


def test_entity_list_row(by_id: dict[str, csl.EntityRecord]) -> None:
    r = by_id["4398d33e9e93c7477af39f1e0bfffc13ddd47bcc"]
    assert r.name == "140 Repair Plant JSC"
    assert r.lists == [EL] and r.fields["list_code"] == "EL"
    assert r.fields["license_requirement"] == (
        "For all items subject to the EAR. "
        "(See §§734.9(g),3 746.8(a)(3), and 744.21(b) of the EAR.)"
    )
    assert r.fields["license_policy"] == "Policy of denial."
    assert r.fields["federal_register_notice"] == "87 FR 20299"
    assert r.fields["start_date"] == "2022-04-07"
    # alt_names "Open Joint Stock Company 140 Repair Plant; and JSC 140 Repair Plant"
    assert [(n.name, n.kind) for n in r.names] == [
        ("140 Repair Plant JSC", "primary"),
        ("Open Joint Stock Company 140 Repair Plant", "aka"),
        ("JSC 140 Repair Plant", "aka"),
    ]
    assert r.addresses == [
        Address(
            "19 Luysi Chalovskoy St., Borisov, 222512, BY",
            "19 Luysi Chalovskoy St.",
            "Borisov",
            None,
            "222512",
            "BY",
            "BY",
        )
    ]
    assert r.countries == ["BY"]


def test_alias_quirks(parsed: csl.ParsedList) -> None:
    names = {r.name: r.names for r in parsed.records}
    gazprom = [(n.name, n.kind) for n in names["Gazprom Neft"]]  # written "Gazprom Neft " in file
    assert ("Sibirskaya Neftyanaya Kompaniya OAO", "fka") in gazprom
    cssc = [
        n.name
        for n in names[
            "China State Shipbuilding Corporation, Limited (CSSC) 12th Research Institute"
        ]
    ]
    # "...; and Thermal Processing Technology Research Institute, a.k.a., Hot Working ..."
    assert "Thermal Processing Technology Research Institute" in cssc
    assert "Hot Working Technology Research Institute." in cssc
    mexpar = [
        n.name
        for n in names[
            "Mexpar International, Inc. (a.k.a. Pasadena Aerospace; Aviation Logistics and Supply)"
        ]
    ]
    assert mexpar[1:] == [
        "Mexpar International, Inc.",
        "Pasadena Aerospace",
        "Aviation Logistics and Supply",
    ]
    caep = [n.name for n in names["Chinese Academy of Engineering Physics"]]
    assert not any(n.startswith("(all of preceding") for n in caep)
    assert len(caep) == len({n.casefold() for n in caep})  # the file repeats the whole list
    for r in parsed.records:
        for n in r.names:
            assert n.name == n.name.strip() and n.name
            assert not n.name.startswith(("and ", "-", ";"))


def test_sdn_row_keeps_ofac_ent_num(by_id: dict[str, csl.EntityRecord]) -> None:
    r = by_id["17291"]
    assert r.fields["entity_number"] == "17291" and r.fields["list_code"] == "SDN"
    assert r.entity_type == "person" and r.programs == ["SDGT"]
    assert r.dates_of_birth == ["1989-07-13"] and r.nationalities == ["JO"]
    # "QA, 28940000602, National ID No.; JO, 2014-08-30, 2009-08-31, K475336, Passport"
    assert r.identifiers == [
        Identifier("National ID No.", "28940000602", "QA", None),
        Identifier("Passport", "K475336", "JO", "issued 2009-08-31, expires 2014-08-30"),
    ]


def test_merged_treasury_entity(by_id: dict[str, csl.EntityRecord]) -> None:
    r = by_id["18291"]
    assert r.fields["list_codes"] == ["SDN", "SSI", "CAP"]
    assert r.lists[0] == SDN and len(r.raw["rows"]) == 3
    assert r.fields["source_list_url"] == "http://bit.ly/1I7ipyR"  # the SDN row's
    info = {(i["type"], i["value"]) for i in r.fields["additional_information"]}
    assert ("Organization Established Date", "23 Dec 1991") in info
    assert (
        "Secondary sanctions risk:",
        "Ukraine-/Russia-Related Sanctions Regulations, 31 CFR 589.201 and/or 589.209",
    ) in info
    assert ("SWIFT/BIC", "BELBBY2X") in {(i.type, i.number) for i in r.identifiers}
    assert "Target Type" not in {i.type for i in r.identifiers}


def test_person_details(by_id: dict[str, csl.EntityRecord]) -> None:
    seg = by_id["28027"]  # DOB "1969 to 1971", ids "Male, Gender", address just "CD"
    assert seg.dates_of_birth == ["1969", "1970", "1971"]
    assert seg.fields["gender"] == "Male" and seg.identifiers == []
    assert seg.fields["places_of_birth"] == ["Kampala District, Central Region, Uganda"]
    assert seg.addresses == [Address("CD", None, None, None, None, "CD", "CD")]
    assert seg.countries == ["CD", "UG"]
    assert by_id["7869"].dates_of_birth == ["1944"]  # "circa 1944"


def test_dpl_row_with_us_address(by_id: dict[str, csl.EntityRecord]) -> None:
    r = by_id["deb7a1d5743a85c354ca1a2c7f2664e2104b32d7"]
    assert r.name == "I. ASH"  # " I. ASH" in the file
    assert r.fields["standard_order"] is True and r.fields["end_date"] == "2056-06-29"
    a = r.addresses[0]
    assert (a.city, a.state, a.postal_code, a.country_code) == ("SEAGOVILLE", "TX", "75159", "US")
    assert (
        a.street == "UPON THE DATE OF THE ORDER INCARCERATED AT USM NO: 26265-177, "
        "FCI SEAGOVILLE, 2113 NORTH HIGHWAY 175"
    )


def test_every_row_checked_against_plain_csv_reader(parsed: csl.ParsedList) -> None:
    rows = list(csv.DictReader(io.StringIO(CSV_PATH.read_text("utf-8-sig"))))
    by = {row_id: r for r in parsed.records for row_id in r.fields["row_ids"]}
    for row in rows:
        rec = by[row["_id"]]
        assert row["source"] in rec.lists
        if row["entity_number"]:
            assert rec.fields["entity_number"] == row["entity_number"]
        for addr in filter(None, (" ".join(a.split()) for a in row["addresses"].split(";"))):
            assert addr in {a.full for a in rec.addresses}


def test_gzipped_download_is_unpacked() -> None:
    content = gzip.compress(CSV_PATH.read_bytes())
    fetched = {csl.CSV_FILE: FetchedFile(csl.CSV_FILE, "test", content, "x")}
    parsed = parse_files(csl.SOURCE, fetched)
    assert parsed.rows_read == 14_160


def test_json_fixture_matches_csv(by_id: dict[str, csl.EntityRecord]) -> None:
    parsed = csl.parse({csl.JSON_FILE: JSON_FIXTURE.read_bytes()})
    assert parsed.rows_read == 7 and len(parsed.records) == 5
    assert parsed.data_date == "2022-04-07"
    for rec in parsed.records:
        got, want = asdict(rec), asdict(by_id[rec.source_id])
        got.pop("raw"), want.pop("raw")
        assert got == want, rec.source_id


def test_csv_preferred_json_fallback() -> None:
    good_json = JSON_FIXTURE.read_bytes()
    both = csl.parse({csl.CSV_FILE: CSV_PATH.read_bytes(), csl.JSON_FILE: good_json})
    assert both.rows_read == 14_160
    damaged = b"_id,source\n1,x\n"
    fallback = csl.parse({csl.CSV_FILE: damaged, csl.JSON_FILE: good_json})
    assert fallback.rows_read == 7
    assert (
        "consolidated.csv" in fallback.warnings[0]
        and "used consolidated.json" in (fallback.warnings[0])
    )


def _head(n_rows: int) -> bytes:
    return b"".join(CSV_PATH.read_bytes().splitlines(keepends=True)[: n_rows + 1])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,source\nX,Y\n", "line 1: header is not the CSL's 29 columns"),
        (_head(3) + b'99,"Entity List (EL)",,,,"Cut off here\n', "line 5: is not valid CSV"),
        (_head(3) + b"1,2,3\n", "line 5: has 3 fields, expected 29"),
        (_head(2) + b"77," + b"," * 27 + b"\n", "line 4: has no source"),
        (_head(2) + b"77,Entity List (EL)" + b"," * 27 + b"\n", "line 4: has no name"),
        (b"\x00\x01PK", "contains NUL bytes"),
    ],
)
def test_bad_csv(content: bytes, message: str) -> None:
    with pytest.raises(ParseError) as err:
        csl.parse({csl.CSV_FILE: content})
    assert "us_trade_csl: consolidated.csv" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"results": {"a": 1}}', 'expected {"results": [...]}'),
        ('{"results": [7]}', "results[0] is not an object"),
        ('{"results": [{"id": "1", "source": "EL"}]}', "results[0] has no name"),
        (
            '{"results": [{"id": "1", "source": "EL", "name": "X", "addresses": [3]}]}',
            "results[0]: an address is a int",
        ),
        (
            '{"results": [{"id": "1", "source": "EL", "name": "X", "alt_names": {"a": 1}}]}',
            "alt_names is a dict, expected a list",
        ),
        (
            '{"results": [{"id": "1", "source": "EL", "name": ["X"]}]}',
            "name is a list, expected text",
        ),
    ],
)
def test_bad_json(doc: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        csl.parse({csl.JSON_FILE: doc.encode()})
    assert "us_trade_csl: consolidated.json" in str(err.value)
    assert message in str(err.value)


def test_no_files() -> None:
    with pytest.raises(ParseError, match="neither consolidated.csv nor consolidated.json"):
        csl.parse({})


def test_json_minimal_entry_and_bare_list() -> None:
    doc = [
        {
            "_id": "x1",
            "source": "Entity List (EL) - Bureau of Industry and Security",
            "name": "Acme",
            "alt_names": "A; and B",
            "ids": ["CN, 123, Tax ID No."],
            "addresses": ["Road 1, Shanghai, CN"],
            "standard_order": True,
        }
    ]
    rec = csl.parse({csl.JSON_FILE: json.dumps(doc).encode()}).records[0]
    assert [n.name for n in rec.names] == ["Acme", "A", "B"]
    assert rec.identifiers == [Identifier("Tax ID No.", "123", "CN", None)]
    assert rec.addresses[0].city == "Shanghai" and rec.countries == ["CN"]
    assert rec.fields["standard_order"] is True


def test_parse_csv_id_shapes() -> None:
    assert csl.parse_csv_id("RU, 2017-05-30, 515458008, Passport") == {
        "type": "Passport",
        "number": "515458008",
        "country": "RU",
        "issue_date": None,
        "expiration_date": None,
        "date": "2017-05-30",
    }
    two = csl.parse_csv_id("2004-02-05, 1999-06-23, G025057, Passport")
    assert (two["issue_date"], two["expiration_date"], two["country"]) == (
        "1999-06-23",
        "2004-02-05",
        None,
    )
    assert csl.parse_csv_id("Male, Gender")["number"] == "Male"
