"""The BIS Denied Persons List parser on the real dpl.txt."""

from __future__ import annotations

import pytest

from compliance.sources import us_bis_dpl
from compliance.sources.base import ParseError
from tests.conftest import mirror_file


@pytest.fixture(scope="module")
def parsed():
    return us_bis_dpl.parse({"dpl.txt": mirror_file("us_bis_dpl", "dpl.txt")})


def test_counts_and_date(parsed):
    assert parsed.rows_read == 665  # MANIFEST: 665 rows
    # One denial order per (name, effective date, FR citation): several addresses, one entity.
    assert len(parsed.records) == 577
    assert parsed.data_date == "2023-11-28"  # latest real Last_Update
    assert any("3033-09-30" in w and "line 316" in w for w in parsed.warnings)


def test_person_with_several_addresses(parsed):
    hijazi = [r for r in parsed.records if r.name == "ALI M HIJAZI"]
    assert len(hijazi) == 1
    rec = hijazi[0]
    assert {a.country_code for a in rec.addresses} >= {"CH", "FR"}
    assert rec.fields["federal_register_notice"] == "46 F.R. 44803 9/8/81"
    assert rec.fields["effective_date"] == "1981-09-01"
    assert rec.lists == ["Denied Persons List (DPL)"]


def test_record_fields(parsed):
    villa = next(r for r in parsed.records if r.name == "AARON ABRAHAM VILLA")
    assert villa.addresses[0].city == "EL PASO" and villa.addresses[0].state == "TX"
    assert villa.fields["expiration_date"] == "2026-01-14"
    assert villa.fields["standard_order"] is True
    assert villa.raw["rows"][0]["FR_Citation"] == "87 F.R. 52741 8/29/2022"
    ids = [r.source_id for r in parsed.records]
    assert len(ids) == len(set(ids))


def test_short_row_names_its_line():
    content = mirror_file("us_bis_dpl", "dpl.txt")
    lines = content.split(b"\n")
    lines[9] = lines[9].rsplit(b"\t", 2)[0]  # drop two fields of the 9th data row
    with pytest.raises(ParseError, match=r"dpl\.txt line 10: has 10 fields, expected 12"):
        us_bis_dpl.parse({"dpl.txt": b"\n".join(lines)})


def test_wrong_header_is_refused():
    with pytest.raises(ParseError, match="header is not the DPL's 12 columns"):
        us_bis_dpl.parse({"dpl.txt": b"name,address\nX,Y\n"})
