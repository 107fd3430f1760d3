"""License determination: 742.6(a)(6)(iii), HQ rule, embargoes, dated rules, Entity List; CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from compliance.cli import app
from compliance.rules.catalog import UnknownModelError
from compliance.rules.country_groups import fallback_groups
from compliance.rules.license import LicenseInputError, determine_license
from compliance.sources import federal_register as fr
from compliance.store.db import get_engine
from compliance.update import update_sources
from tests.conftest import MIRROR

TODAY = date(2025, 9, 1)  # after the AI diffusion window, before the 2026 China policy


def cites(d) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["cite"] for r in d.reasons if r["license_required"]]


@pytest.mark.parametrize(
    "item,dest,required",
    [
        ("H100 SXM", "CN", True),  # D:1, D:4, D:5
        ("H100 SXM", "MO", True),  # Macau
        ("A100", "AE", True),  # D:4 only
        ("H100 SXM", "IL", False),  # D:4 but also A:6
        ("H100 SXM", "DE", False),
        ("B200", "VN", True),  # D:1
        ("DGX H100", "SA", True),  # 4A090.a to D:4
        ("H20", "CN", False),  # below 3A090
        ("RTX 4090 D", "CN", False),  # Note 2
        ("RTX 4090", "CN", True),  # consumer but TPP >= 4800
    ],
)
def test_742_6_a_6_iii_destinations(item: str, dest: str, required: bool) -> None:
    d = determine_license(item, dest, on_date=TODAY)
    assert d.license_required is required
    assert all(r["cite"] and r["text"] for r in d.reasons)
    if required:
        assert cites(d) == ["15 CFR 742.6(a)(6)(iii)"]


def test_review_policy_for_d5_is_presumption_of_denial_until_2026() -> None:
    d = determine_license("H200", "CN", on_date=TODAY)
    assert d.reasons[-1]["policy"] == "presumption of denial"
    later = determine_license("H200", "CN", on_date=date(2026, 1, 15))
    assert later.license_required
    assert later.reasons[-1]["policy"].startswith("case-by-case under 91 FR 1684")
    # B200: TPP 36000 >= 21000 and 7700 GB/s >= 6500: still presumption of denial.
    b200 = determine_license("B200", "CN", on_date=date(2026, 3, 1))
    assert b200.reasons[-1]["policy"] == "presumption of denial"
    # an HQ in D:5 keeps the presumption of denial
    hq = determine_license("H200", "CN", end_user_hq="CN", on_date=date(2026, 3, 1))
    assert hq.reasons[1]["policy"] == "presumption of denial"


def test_headquarters_in_d5_or_macau_needs_a_license_anywhere() -> None:
    d = determine_license("H100 SXM", "DE", end_user_hq="CN", on_date=TODAY)
    assert d.license_required and cites(d) == ["15 CFR 742.6(a)(6)(iii)(A)"]
    before = determine_license("H100 SXM", "DE", end_user_hq="MO", on_date=date(2024, 6, 1))
    assert cites(before) == ["15 CFR 744.23(a)(3)"]
    fine = determine_license("H100 SXM", "DE", end_user_hq="JP", on_date=TODAY)
    assert not fine.license_required


def test_ai_diffusion_rule_applies_only_inside_its_window() -> None:
    during = determine_license("H100 SXM", "BR", on_date=date(2025, 3, 1))
    assert during.license_required and "90 FR 4544" in cites(during)[0]
    assert not determine_license("H100 SXM", "JP", on_date=date(2025, 3, 1)).license_required
    assert not determine_license("H100 SXM", "BR", on_date=date(2025, 5, 13)).license_required
    # .b items were not covered by the worldwide requirement
    assert not determine_license("H100 SXM", "BR", on_date=date(2024, 12, 1)).license_required


def test_hbm_3a090c_only_from_december_2024() -> None:
    assert determine_license("HBM3E 12-high", "CN", on_date=TODAY).license_required
    old = determine_license("HBM3E 12-high", "CN", on_date=date(2024, 6, 1))
    assert not old.license_required
    assert any("did not exist" in c for c in old.checks)


def test_embargoed_destinations_need_a_license_even_for_uncontrolled_chips() -> None:
    d = determine_license("RTX 3060", "IR", on_date=TODAY)
    assert d.license_required and cites(d) == ["15 CFR 746.7"]
    assert cites(determine_license("RTX 3060", "Cuba", on_date=TODAY)) == ["15 CFR 746.2"]
    assert cites(determine_license("Jetson AGX Orin", "RU", on_date=TODAY)) == ["15 CFR 746.8(a)"]
    assert not determine_license("RTX 3060", "FR", on_date=TODAY).license_required


def test_bad_input() -> None:
    with pytest.raises(LicenseInputError, match="unknown destination"):
        determine_license("H100 SXM", "Atlantis", on_date=TODAY)
    with pytest.raises(LicenseInputError, match="no rule data before 2023-11-17"):
        determine_license("H100 SXM", "CN", on_date=date(2023, 1, 1))
    with pytest.raises(UnknownModelError):
        determine_license("Z9000", "CN", on_date=TODAY)


def test_fallback_country_groups_state_their_date() -> None:
    g = fallback_groups()
    assert g.as_of == "2025-06-01" and "2025-06-01" in g.source
    assert {"CN", "RU", "IR", "KP"} <= g.members("D:5")
    assert g.members("E:1") == {"IR", "KP", "SY"}


@pytest.fixture
def el_db(db_url: str) -> str:
    [outcome] = update_sources(get_engine(db_url), [fr.KEY], mirror=str(MIRROR))
    assert outcome.ok
    return db_url


def test_entity_list_end_user_is_screened(el_db: str) -> None:
    engine = get_engine(el_db)
    d = determine_license("RTX 3060", "LU", end_user="Spacety Luxembourg S.A.", on_date=TODAY,
                          engine=engine)  # fmt: skip
    assert d.license_required
    [reason] = [r for r in d.reasons if r["license_required"]]
    assert reason["cite"] == "15 CFR 744.11; Supp. No. 4 to part 744"
    assert reason["match"]["name"] == "Spacety Co., Ltd."
    assert "For all items subject to the EAR" in reason["text"]
    assert "88 FR 12170" in reason["text"]
    clean = determine_license("RTX 3060", "LU", end_user="Arcelor Mittal", on_date=TODAY,
                              engine=engine)  # fmt: skip
    assert not clean.license_required


def test_entity_list_through_the_csl_sub_list(db_url: str) -> None:
    """The CSL's Entity List rows count, as its policy declares the sub-list; its DPL rows (a
    denial order, not the Entity List) do not make a 744.11 reason."""
    [outcome] = update_sources(get_engine(db_url), ["us_trade_csl"], mirror=str(MIRROR))
    assert outcome.ok
    engine = get_engine(db_url)
    d = determine_license("RTX 3060", "DE", end_user="Huawei Technologies Deutschland GmbH",
                          on_date=TODAY, engine=engine)  # fmt: skip
    [reason] = [r for r in d.reasons if r["license_required"]]
    assert reason["cite"] == "15 CFR 744.11; Supp. No. 4 to part 744"
    assert "Huawei Technologies Deutschland GmbH" in reason["text"]
    assert "Entity List" in reason["match"]["sub_lists"]
    dpl = determine_license("RTX 3060", "DE", end_user="Mahan Airways", on_date=TODAY,
                            engine=engine)  # fmt: skip
    assert not any("744.11" in r["cite"] for r in dpl.reasons)
    assert any("0 Entity List match(es)" in c for c in dpl.checks), dpl.checks


# ---- CLI ---------------------------------------------------------------------------------------


def test_cli_classify_json_and_exit_codes(db_url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["classify", "h100 sxm5 80gb", "--format", "json", "--db", db_url])
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert (out["eccn"], out["tpp"], out["pd"]) == ("3A090.a", 15832.0, 19.45)
    assert any("3A090.a.1" in x for x in out["reasons"])
    r = runner.invoke(app, ["classify", "--tops", "4799", "--bits", "1", "--die-area", "500",
                            "--no-datacenter", "--format", "json", "--db", db_url])  # fmt: skip
    assert r.exit_code == 0 and json.loads(r.stdout)["eccn"] is None
    r = runner.invoke(app, ["classify", "H30", "--db", db_url])
    assert r.exit_code == 2 and "NVIDIA H20" in r.output and "--tops" in r.output
    r = runner.invoke(app, ["classify", "--tops", "-5", "--bits", "8", "--db", db_url])
    assert r.exit_code == 2


def test_cli_license(el_db: str) -> None:
    runner = CliRunner()
    args = ["license", "--item", "A100", "--destination", "CN", "--date", "2025-09-01",
            "--format", "json", "--db", el_db]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["license_required"] is True
    assert out["reasons"][0]["cite"] == "15 CFR 742.6(a)(6)(iii)"
    r = runner.invoke(app, ["license", "--item", "A100", "--destination", "DE", "--date",
                            "2025-09-01", "--db", el_db])  # fmt: skip
    assert r.exit_code == 0 and "no license required" in r.output
    r = runner.invoke(app, ["license", "--item", "A100", "--destination", "DE", "--date",
                            "2025-13-01", "--db", el_db])  # fmt: skip
    assert r.exit_code == 2
    r = runner.invoke(app, ["license", "--item", "A100", "--destination", "DE", "--end-user",
                            "AOOK Electronics", "--date", "2025-09-01", "--db", el_db])  # fmt: skip
    assert r.exit_code == 1 and "Entity List" in r.output
