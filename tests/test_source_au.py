"""Australia's DFAT Consolidated List: the real regulation8_consolidated.xlsx, small workbooks
in its shape, its update over real HTTP, hostile copies of it, and screening against it."""

from __future__ import annotations

import io
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.screening import Query, screen
from compliance.sources import all_sources, au_dfat
from compliance.sources.base import EntityRecord, Name, ParsedList, ParseError
from compliance.store.db import get_engine
from tests.conftest import MIRROR, mirror_file
from tests.test_reliability_properties import (
    PARSER_SETTINGS,
    PREFIXES,
    _pick,
    mutate_bytes,
    mutate_cells,
    run_parser,
    xlsx,
)
from tests.test_source_gb import _with_dimension
from tests.test_update_http import FaultServer, cli, sources_json

PATH = f"{au_dfat.KEY}/{au_dfat.FILE}"


@pytest.fixture(scope="module")
def parsed() -> ParsedList:
    return au_dfat.parse({au_dfat.FILE: mirror_file(au_dfat.KEY, au_dfat.FILE)})


@pytest.fixture(scope="module")
def records(parsed: ParsedList) -> dict[str, EntityRecord]:
    return {r.source_id: r for r in parsed.records}


def kinds(rec: EntityRecord) -> list[tuple[str, str, str | None]]:
    return [(n.name, n.kind, n.script) for n in rec.names]


def test_manifest_counts_and_date(parsed: ParsedList) -> None:
    # The sheet has 9,560 rows below the header; the last 7 are blank, so 9,553 are read.
    assert parsed.rows_read == 9_553
    assert len(parsed.records) == 3_062
    assert Counter(r.entity_type for r in parsed.records) == {"person": 2_316, "organization": 746}
    assert Counter(r.fields["type"] for r in parsed.records) == {
        "Individual": 2_316,
        "Entity": 746,
    }
    assert parsed.data_date == "2024-11-11"  # the newest Control Date
    assert parsed.warnings == [
        f"{au_dfat.FILE}: Reference 485: citizenship 'Kuwaiti citizenship withdrawn in 2002' "
        "not read",
        f"{au_dfat.FILE}: Reference 3581: no date in Date of Birth "
        "'Approximately (30-35 years old)'",
        f"{au_dfat.FILE}: Reference 6960: no date in Date of Birth '10/061962'",
    ]
    assert au_dfat.SOURCE.policy.decision == "BLOCK" and "Australia" in au_dfat.SOURCE.title
    assert "au_dfat" in all_sources()


def test_every_record_is_complete(parsed: ParsedList) -> None:
    ids = [r.source_id for r in parsed.records]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    for rec in parsed.records:
        assert rec.names[0] == Name(rec.name, "primary") and rec.programs
        assert sum(n.kind == "primary" for n in rec.names) == 1
        assert rec.fields["control_date"] and rec.fields["control_date"] <= "2024-11-11"
        assert all(len(c) == 2 and c.isupper() for c in rec.nationalities + rec.countries)
        for d in rec.dates_of_birth:
            assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", d), d
    names = sum(len(r.names) for r in parsed.records)
    assert names == 9_504  # 9,553 rows less 49 that repeat a name of their listing


def test_taliban_listing_with_arabic_name_and_year_ranges(
    records: dict[str, EntityRecord],
) -> None:
    rec = records["2"]  # rows "2" (Primary Name) and "2a" (Original Script)
    assert kinds(rec) == [
        ("MOHAMMAD HASSAN AKHUND", "primary", None),
        ("محمد حسن أخوند", "original_script", "Arabic"),
    ]
    assert rec.fields["date_of_birth"] == ["a) Approximately 1955- 1958 b) Approximately 1945-1950"]
    assert rec.dates_of_birth == ["1955", "1956", "1957", "1958", *map(str, range(1945, 1951))]
    assert rec.nationalities == ["AF"] and rec.programs == ["1988 (Taliban)"]
    assert rec.fields["committees"] == ["1988 (Taliban)"]
    assert rec.fields["listing_information"][0].startswith("Listed by UN 1267 Committee on 25")
    assert rec.fields["places_of_birth"] == [
        "Pashmul village, Panjwai District, Kandahar Province, Afghanistan"
    ]
    assert rec.addresses == []  # "NA"
    assert rec.remarks and rec.remarks.startswith("Title: a) Mullah b) Haji.")
    assert rec.fields["control_date"] == "2014-12-15"
    assert len(rec.raw["rows"]) == 2 and rec.raw["rows"][1]["Reference"] == "2a"


def test_alias_references_and_name_types(records: dict[str, EntityRecord]) -> None:
    # "34c1" and "34f1" (number, letter, digit) belong to listing 34 too
    assert ("اختر محمد ولد نور محمد", "original_script", "Arabic") in kinds(records["34"])
    assert {r["Reference"] for r in records["34"].raw["rows"]} >= {"34", "34c1", "34f1"}
    adf = records["2943"]  # "Formerly known as"
    assert kinds(adf)[2:] == [
        ("Forces Démocratiques Alliées-Armée Nationale de Libération de l’Ouganda", "fka", None),
        ("ADF/NALU", "fka", None),
        ("NALU", "fka", None),
    ]
    assert ("Qari Rahmat", "fka", None) in kinds(records["2954"])  # "Previously listed as"
    # a Latin name typed "Original Script" is an ordinary alias
    assert kinds(records["6241"])[0] == ("Jamaah Ansharut Daulah", "primary", None)
    # Cyrillic and Han names in rows typed "aka"/"Aka " are marked as original script
    assert ("АО ММЗ", "original_script", "Cyrillic") in kinds(records["7596"])
    assert ("Русское Имперское Движениe", "original_script", "Cyrillic") in kinds(records["7241"])
    assert kinds(records["3576"])[1] == ("沈忠國際海運有限公司", "original_script", "Han")


def test_original_script_counts(parsed: ParsedList) -> None:
    scripts = Counter(
        n.script for r in parsed.records for n in r.names if n.kind == "original_script"
    )
    assert scripts == {"Arabic": 418, "Cyrillic": 45, "Han": 5, "Ethiopic": 2}
    assert Counter(n.kind for r in parsed.records for n in r.names) == {
        "aka": 5_968,
        "primary": 3_062,
        "original_script": 470,
        "fka": 4,
    }


def test_citizenships_and_countries(records: dict[str, EntityRecord]) -> None:
    assert au_dfat.citizenships("Russian and Ukrainian") == (["RU", "UA"], [])
    assert au_dfat.citizenships("a) Pakistani       b) Saudi Arabian") == (["PK", "SA"], [])
    assert au_dfat.citizenships("Malian / Mauritanian") == (["ML", "MR"], [])
    assert au_dfat.citizenships("a) Russian  b) USSR (until 1991)") == (["RU", "SU"], [])
    assert au_dfat.citizenships("Mauritian") == (["MU"], [])
    assert au_dfat.citizenships("Democratic People's Republic Of Korea") == (["KP"], [])
    assert au_dfat.citizenships("na") == ([], [])
    mmz = records["7596"]
    assert mmz.addresses[0].full.startswith("15 Suvorova Street, Yoshkar-Ola")
    assert mmz.addresses[0].country_code == "RU" and mmz.countries == ["RU"]
    assert records["7241"].countries == ["RU"]  # "St. Petersburg, Russia, 197022, ..., PO Box 128"
    assert records["3576"].countries == ["CN"]  # "..., Kowloon, Hong Kong, China"
    putin = records["6678"]
    assert (putin.name, putin.dates_of_birth) == ("Vladimir Vladimirovich PUTIN", ["1952-10-07"])
    assert putin.programs == ["Autonomous (Russia)"]


def test_company_imo_numbers_become_identifiers(parsed: ParsedList) -> None:
    with_imo = {r.source_id: [(i.type, i.number) for i in r.identifiers] for r in parsed.records}
    with_imo = {k: v for k, v in with_imo.items() if v}
    assert len(with_imo) == 15  # DPRK shipping companies: "IMO Number: 5342883."
    assert with_imo["3164"] == [("IMO", "5342883")]  # CHONGCHONGANG SHIPPING COMPANY
    assert with_imo["3292"] == [("IMO", "1556069")]  # "... IMO 1556069 Registered vessel"


def test_birth_date_formats() -> None:
    cases = {
        "a) 1/01/1968 b) 23-Apr-68": ("1968-01-01", "1968-04-23"),
        "07/05/1962; alt DOB: 07/04/62": ("1962-05-07", "1962-04-07"),  # day first
        "28/03/1953; alt DOB: 28/09/1953": ("1953-03-28", "1953-09-28"),
        "a) 03/1965; b) 04/1965": ("1965-03", "1965-04"),
        "March 16, 1972": ("1972-03-16",),
        "12. Sep 1974": ("1974-09-12",),
        "29-Aprl-1967": ("1967-04-29",),
        "Nov. 1973": ("1973-11",),
        "Between 1963 to 1968": tuple(map(str, range(1963, 1969))),
        "Between 1950 and 1970": ("1950", "1970"),  # too wide: only its ends
        "c. 1946 or 1949 or 1960": ("1946", "1949", "1960"),
        "a) 19 Apr. 1982 b) 18 Apr. 1982 c) 24/06/1402 (Hijri Calendar)": (
            "1982-04-19",
            "1982-04-18",
        ),
        "31/02/1970": (),  # no such day
        "Approximately (30-35 years old)": (),
    }
    for text, expected in cases.items():
        assert au_dfat.birth_dates(text) == expected, text


# --- small workbooks in the list's shape -----------------------------------------------------


def workbook(header: list[Any], rows: list[list[Any]], extra_columns: int = 3) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([*header, *[None] * extra_columns])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


WHEN = datetime(2024, 1, 2)


def row(ref: Any, name: str, kind: str = "Aka", typ: str = "Entity") -> list[Any]:
    return [ref, name, typ, kind, None, None, None, None, None, None, "Autonomous (Iran)", WHEN]


def test_header_is_read_by_name_in_any_order_and_case() -> None:
    header = [" name of individual or entity", "REFERENCE ", *au_dfat.HEADER[2:]]
    rows = [[r[1], r[0], *r[2:]] for r in (row(7, "EXAMPLE CO", "Primary Name "), row("7a", "EX"))]
    (rec,) = au_dfat.parse({au_dfat.FILE: workbook(header, rows)}).records
    assert (rec.source_id, rec.name, [n.name for n in rec.names]) == (
        "7",
        "EXAMPLE CO",
        ["EXAMPLE CO", "EX"],
    )
    assert rec.fields["control_date"] == "2024-01-02"


def test_formulas_are_never_evaluated() -> None:
    first = row(7, "EXAMPLE CO", "Primary Name")
    first[8] = "=1+1"  # Additional Information; openpyxl saves it as a formula, no cached value
    (rec,) = au_dfat.parse({au_dfat.FILE: workbook(list(au_dfat.HEADER), [first])}).records
    assert rec.name == "EXAMPLE CO" and rec.remarks is None  # the stored value (none), not 2
    named_by_formula = [first, row("7a", '=HYPERLINK("http://x")')]
    with pytest.raises(ParseError, match="Reference 7a has no name") as exc:
        au_dfat.parse({au_dfat.FILE: workbook(list(au_dfat.HEADER), named_by_formula)})
    assert exc.value.line == 3


def test_wrong_and_damaged_workbooks_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = mirror_file(au_dfat.KEY, au_dfat.FILE)
    with pytest.raises(ParseError, match="not an XLSX workbook") as exc:
        au_dfat.parse({au_dfat.FILE: real[: len(real) // 2]})
    assert exc.value.file == au_dfat.FILE and exc.value.source == "au_dfat"
    with pytest.raises(ParseError, match="not the DFAT Consolidated List header") as exc:
        au_dfat.parse({au_dfat.FILE: mirror_file("gb_ofsi", "ConList.xlsx")})
    assert exc.value.line == 1 and "Reference, Name of Individual or Entity" in str(exc.value)
    with pytest.raises(ParseError, match="is not a number") as exc:
        au_dfat.parse({au_dfat.FILE: workbook(list(au_dfat.HEADER), [row("x1", "A")])})
    assert exc.value.line == 2
    monkeypatch.setattr(au_dfat, "MAX_UNPACKED", 1_000)
    with pytest.raises(ParseError, match="refused as unsafe"):
        au_dfat.parse({au_dfat.FILE: workbook(list(au_dfat.HEADER), [row(1, "A")])})


def test_row_caps_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(au_dfat, "MAX_ROWS", 5)
    rows = [row(i, f"NAME {i}", "Primary Name") for i in range(1, 10)]
    wb = workbook(list(au_dfat.HEADER), rows)
    with pytest.raises(ParseError, match="claims 10 rows, over the 5-row cap"):
        au_dfat.parse({au_dfat.FILE: wb})
    with pytest.raises(ParseError, match="more than 5 rows") as exc:  # a sheet that lies
        au_dfat.parse({au_dfat.FILE: _with_dimension(wb, "A1:L3")})
    assert exc.value.line == 6


# --- updates over HTTP -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database holding the real list, loaded over HTTP from the mirror."""
    server = FaultServer(MIRROR)
    path = tmp_path_factory.mktemp("au") / "base.db"
    try:
        result = cli("update", "au_dfat", "--mirror", server.url, "--db", f"sqlite:///{path}")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert "ok      au_dfat: 3,062 records, data date 2024-11-11" in result.stdout
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


def half_the_references() -> tuple[bytes, int]:
    """The real rows of every other listing (odd reference numbers), as the list's workbook."""
    src = openpyxl.load_workbook(MIRROR / au_dfat.KEY / au_dfat.FILE, read_only=True)
    rows = src.worksheets[0].iter_rows(values_only=True, max_col=len(au_dfat.HEADER))
    header = list(next(rows))
    kept = [list(r) for r in rows if r[0] is not None and int(re.match(r"\d+", str(r[0]))[0]) % 2]
    src.close()
    refs = {re.match(r"\d+", str(r[0]))[0] for r in kept}
    return workbook(header, kept, extra_columns=0), len(refs)


def test_half_the_listings_missing_needs_force(db: str, faulty: FaultServer) -> None:
    body, kept = half_the_references()
    assert 1_000 < kept < 3_062 / 2 + 100
    faulty.faults[PATH] = body
    failed = update_fails(db, faulty, [f"would shrink the list from 3,062 to {kept:,} records"])
    assert "--force" in failed
    forced = cli("update", "au_dfat", "--force", "--mirror", faulty.url, "--db", db)
    assert forced.exit_code == 0, forced.output
    assert f"ok      au_dfat: {kept:,} records" in forced.stdout
    assert f"-{3_062 - kept} removed" in forced.stdout


HOSTILE = [
    ("truncate", ["truncated", "after 4 attempts"]),
    ("html", ["got an HTML page instead of the expected XLSX file"]),
    ("half-file", ["not an XLSX workbook"]),
    ("uk-workbook", ["not the DFAT Consolidated List header", "no Reference"]),
]


@pytest.mark.parametrize(("variant", "phrases"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_update_keeps_the_previous_snapshot(
    variant: str, phrases: list[str], db: str, faulty: FaultServer
) -> None:
    real = mirror_file(au_dfat.KEY, au_dfat.FILE)
    faulty.faults[PATH] = {
        "half-file": real[: len(real) // 2],
        "uk-workbook": mirror_file("gb_ofsi", "ConList.xlsx"),
    }.get(variant, variant)
    update_fails(db, faulty, phrases)


def update_fails(db: str, server: FaultServer, phrases: list[str]) -> str:
    before = sources_json(db)
    result = cli("update", "au_dfat", "--mirror", server.url, "--db", db)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"FAILED  au_dfat: {au_dfat.FILE}"), lines
    for phrase in phrases:
        assert phrase in lines[0]
    after = sources_json(db)
    for k in ("records", "data_date", "fetched_at", "sha256"):
        assert after["au_dfat"][k] == before["au_dfat"][k], k
    assert after["au_dfat"]["records"] == 3_062
    assert after["au_dfat"]["status"] == "stale (last update failed)"
    return lines[0]


# --- screening -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind", "entry"),
    [
        ("Vladimir Putin", "person", "6678"),
        ("محمد حسن أخوند", "person", "2"),  # the Arabic original-script name
        ("Russian Imperial Movement", "organization", "7241"),
        ("Shen Zhong International Shipping Co., Ltd.", "organization", "3576"),
        ("Allied Democratic Forces", "organization", "2943"),  # an alias row (2943a)
    ],
)
def test_listed_names_are_found(
    db: str, query: str, kind: str, entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLIANCE_CACHE", str(tmp_path / "cache"))
    result = screen(get_engine(db), Query(query, type=kind), lists=["au_dfat"])
    assert result.matches, query
    top = result.matches[0]
    assert (top.source, top.source_id) == ("au_dfat", entry)
    assert top.score >= 85 and top.snapshot["sha256"]
    assert top.lists == [au_dfat.LIST_NAME]


# --- property tests (the same checks test_reliability_properties.py applies to every parser) --


@cache
def real_rows() -> tuple[tuple[Any, ...], ...]:
    src = openpyxl.load_workbook(MIRROR / au_dfat.KEY / au_dfat.FILE, read_only=True)
    rows = tuple(src.worksheets[0].iter_rows(values_only=True, max_row=300, max_col=14))
    src.close()
    return rows


@PARSER_SETTINGS
@given(data=st.data())
def test_parser_survives_mutated_real_records(data: st.DataObject) -> None:
    rows = real_rows()
    head = ["" if c is None else str(c) for c in rows[0]]
    body = [
        ["" if c is None else str(c) for c in r] for r in _pick(data, list(rows[1:]), 6, "rows")
    ]
    i = data.draw(st.integers(0, len(body) - 1), label="damaged row")
    body[i] = mutate_cells(data, body[i])
    if data.draw(st.integers(0, 4), label="damage header") == 0:
        head = mutate_cells(data, head)
    blob = xlsx([head, *body], "Sheet1")
    if data.draw(st.integers(0, 3), label="zip damage") == 0:
        blob = mutate_bytes(data, blob)
    run_parser(au_dfat.parse, {au_dfat.FILE: blob})


@PARSER_SETTINGS
@given(data=st.data())
def test_parser_survives_arbitrary_bytes(data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from(PREFIXES), label="prefix")
    run_parser(au_dfat.parse, {au_dfat.FILE: prefix + data.draw(st.binary(max_size=3000))})
