"""eCFR and Federal Register scrapers: real HTTP from 127.0.0.1, change detection, mismatches."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compliance.cli import app
from compliance.rules.country_groups import load_groups
from compliance.rules.regstore import current_sections, latest_changes
from compliance.rules.regulations_update import update_regulations
from compliance.sources import all_sources, ecfr
from compliance.sources import federal_register as fr
from compliance.sources.base import ParseError
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR

FIXTURES = Path(__file__).parent / "fixtures"
ECFR_DIR = FIXTURES / "ecfr" / "us_ecfr"
REAL_RULE = MIRROR / "us_federal_register" / "2023-03929.xml"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A mirror directory (eCFR fixtures + FR documents.json + the real rule XML) over HTTP."""
    root = tmp_path / "mirror"
    shutil.copytree(ECFR_DIR, root / "us_ecfr")
    (root / "us_federal_register").mkdir()
    shutil.copy(FIXTURES / "federal_register" / "documents.json", root / "us_federal_register")
    shutil.copy(REAL_RULE, root / "us_federal_register")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


# ---- eCFR parsing ------------------------------------------------------------------------------


def test_ecfr_discovers_dated_xml_urls_from_titles_json() -> None:
    specs = ecfr.discover(_files(ECFR_DIR))
    assert [s.name for s in specs] == [n for n, _, _ in ecfr.PIECES]
    assert specs[2].url == (
        "https://www.ecfr.gov/api/versioner/v1/full/2024-12-31/title-15.xml?part=742&section=742.6"
    )


def test_ecfr_parse_sections_dates_and_country_groups() -> None:
    parsed = ecfr.parse(_files(ECFR_DIR))
    keys = [s.key for s in parsed.sections]
    assert keys == ["3A090", "4A090", "3A001.z", "4A003.z", "5A992.z", "740 Supp. 1",
                    "742.6(a)(6)", "744.23"]  # fmt: skip
    by = {s.key: s for s in parsed.sections}
    assert parsed.ecfr_date == "2024-12-31"
    assert by["3A090"].amended_on == "2024-12-02"
    assert by["742.6(a)(6)"].amended_on == "2024-04-04"
    assert "3A991" not in by["3A090"].text  # the entry stops at the next ECCN heading
    assert by["742.6(a)(6)"].text.startswith("(6)") and "(7)" not in by["742.6(a)(6)"].text
    groups = by["740 Supp. 1"].data["groups"]
    assert "CN" in groups["D:5"] and "MO" in groups["D:1"] and "IL" in groups["A:6"]
    assert groups["E:2"] == ["CU"]


def test_ecfr_bad_files_name_the_file() -> None:
    files = _files(ECFR_DIR)
    files["title-15-part-774.xml"] = files["title-15-part-774.xml"].replace(b"3A090", b"3A099")
    with pytest.raises(ParseError, match="title-15-part-774.xml.*no ECCN 3A090"):
        ecfr.parse(files)
    files = _files(ECFR_DIR)
    files["titles.json"] = b'{"titles": []}'
    with pytest.raises(ParseError, match="titles.json.*does not list title 15"):
        ecfr.parse(files)
    files = _files(ECFR_DIR)
    files["title-15-part-740.xml"] = files["title-15-part-740.xml"].replace(
        b">Zimbabwe<", b">Atlantis<"
    )
    with pytest.raises(ParseError, match="unknown country 'Atlantis'"):
        ecfr.parse(files)


# ---- Federal Register ----------------------------------------------------------------------------


def test_fr_real_rule_entity_list_entries() -> None:
    parsed = fr.parse({"2023-03929.xml": REAL_RULE.read_bytes()})
    assert parsed.rows_read == 49  # GPOTABLE ROWs, incl. blank and star rows (MANIFEST)
    assert len(parsed.records) == 10  # 10 entities ...
    assert sum(len(r.fields["entries"]) for r in parsed.records) == 13  # ... under 13 entries
    assert parsed.data_date == "2023-02-24"  # the effective date the rule states
    by = {r.name: r for r in parsed.records}
    head = by["China HEAD Aerospace Technology Co."]
    assert head.countries == ["CN", "FR", "NL"]
    assert len([n for n in head.names if n.kind == "aka"]) == 7
    assert any("Noordwijk" in a.full for a in head.addresses)
    enet = by["Electronic Network Inc."]
    assert "Electronic's Network & Technology Corp." in [n.name for n in enet.names]
    assert any("145 Montee De Liesse" in a.full for a in enet.addresses)  # continuation row
    cpunto = by["CPUNTO Inc."]
    assert cpunto.fields["license_requirement"].startswith("For all items subject to the EAR")
    assert cpunto.fields["license_policy"].startswith("Policy of denial")
    assert cpunto.fields["federal_register_notice"] == "88 FR 12170, 2023-02-27"
    assert cpunto.fields["entries"][0]["footnotes"] == ["3"]


def test_fr_documents_select_entity_list_rules_only() -> None:
    docs = fr.parse_documents((FIXTURES / "federal_register" / "documents.json").read_bytes())
    assert len(docs) == 3
    specs = fr.discover({fr.DOCUMENTS: (FIXTURES / "federal_register" / "documents.json")
                         .read_bytes()})  # fmt: skip
    assert [s.name for s in specs] == ["2023-03929.xml"]  # not the proposed rule, not 2026-00789


def test_fr_damaged_xml_is_a_parse_error() -> None:
    data = REAL_RULE.read_bytes()
    with pytest.raises(ParseError, match="2023-03929.xml"):
        fr.parse({"2023-03929.xml": data[: len(data) // 2]})
    bad = data.replace(b'<ENT I="01">RUSSIA</ENT>', b'<ENT I="01">NARNIA</ENT>')
    with pytest.raises(ParseError, match="unknown country 'NARNIA'"):
        fr.parse({"2023-03929.xml": bad})


def test_fr_source_is_registered_with_its_mirror_folder() -> None:
    src = all_sources()[fr.KEY]
    assert src.mirror_key == "us_federal_register" and src.discover is not None


def test_fr_update_from_the_shared_mirror_directory_without_documents_json(db_url: str) -> None:
    engine = get_engine(db_url)
    [outcome] = update_sources(engine, [fr.KEY], mirror=str(MIRROR))
    assert outcome.ok and outcome.records == 10


# ---- update over HTTP, change detection ---------------------------------------------------------


def test_update_over_http_then_a_changed_section_is_loud(
    served: tuple[Path, str], db_url: str
) -> None:
    root, base = served
    engine = get_engine(db_url)
    outcomes = update_sources(engine, [fr.KEY, ecfr.KEY], mirror=base)
    assert [o.ok for o in outcomes] == [True, True], [o.error for o in outcomes]
    assert outcomes[0].records == 10 and outcomes[0].data_date == "2023-02-27"
    assert outcomes[1].records == 8 and outcomes[1].notices == []
    assert load_groups(engine).source.startswith("eCFR 15 CFR part 740")

    again = update_regulations(engine, mirror=base)
    assert again.ok and again.notices == [] and latest_changes(engine) == []

    p = root / "us_ecfr" / "title-15-section-742.6.xml"
    p.write_text(p.read_text().replace("and Macau.</P>", "Macau, and Hong Kong.</P>"))
    changed = update_regulations(engine, mirror=base)
    assert any("RULE TEXT CHANGED: 15 CFR 742.6(a)(6)" in n for n in changed.notices)
    [change] = latest_changes(engine)
    assert change.key == "742.6(a)(6)"
    assert any(line.startswith("+") and "Hong Kong" in line for line in change.diff)
    result = CliRunner().invoke(app, ["rules", "--db", db_url])
    assert result.exit_code == 0 and "CHANGED since the previous update" in result.output
    assert "Hong Kong" in result.output


def test_threshold_mismatch_is_an_error_the_user_sees(
    served: tuple[Path, str], db_url: str
) -> None:
    root, base = served
    p = root / "us_ecfr" / "title-15-part-774.xml"
    p.write_text(p.read_text().replace("of 4800 or more; or", "of 5000 or more; or"))
    engine = get_engine(db_url)
    outcome = update_regulations(engine, mirror=base)
    assert any("ERROR: 3A090 thresholds differ" in n and "5000" in n for n in outcome.notices)
    assert current_sections(engine)["3A090"].text.count("5000") == 1
    runner = CliRunner()
    result = runner.invoke(app, ["rules", "--db", db_url])
    assert result.exit_code == 2 and "5000" in result.output
    result = runner.invoke(app, ["classify", "H100 SXM", "--db", db_url])
    assert result.exit_code == 2 and "no longer match" in result.output


def test_update_fails_cleanly_when_the_ecfr_is_unreachable(db_url: str, tmp_path: Path) -> None:
    outcome = update_regulations(get_engine(db_url), mirror=str(tmp_path))
    assert not outcome.ok and "us_ecfr" in (outcome.error or "")


def test_rules_command_lists_the_bis_documents_of_the_last_update(
    served: tuple[Path, str], db_url: str
) -> None:
    import json

    from typer.testing import CliRunner

    from compliance.cli import app

    root, base = served
    update_sources(get_engine(db_url), [fr.KEY], mirror=base)
    listed = fr.parse_documents((root / "us_federal_register" / fr.DOCUMENTS).read_bytes())
    result = CliRunner().invoke(app, ["rules", "--format", "json", "--db", db_url])
    shown = json.loads(result.stdout)["federal_register_rules"]
    assert {d["document_number"] for d in shown} == {d.document_number for d in listed}
    rule = next(d for d in shown if d["document_number"] == "2023-03929")
    assert rule["type"] == "Rule" and rule["citation"] and rule["html_url"]
    table = CliRunner().invoke(app, ["rules", "--db", db_url]).stdout
    assert "BIS documents in the Federal Register" in table and "2023-03929" in table
