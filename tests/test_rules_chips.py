"""3A090 / 4A090 classification: every threshold boundary, Note 2, HBM, and the catalog."""

from __future__ import annotations

import csv

import pytest

from compliance.rules.catalog import (
    CATALOG_FILE,
    CatalogError,
    UnknownModelError,
    find_product,
    load_catalog,
    parse_catalog,
)
from compliance.rules.chips import classify_hbm, classify_model, classify_spec, tpp_of
from tests.conftest import REFERENCE

# ---- TPP arithmetic -----------------------------------------------------------------------


def test_bis_example_600_int8_tops_and_300_fp16_tflops_are_both_4800() -> None:
    assert classify_spec(600, 8, None).tpp == 4800
    assert classify_spec(300, 16, None).tpp == 4800


def test_tpp_is_the_highest_precision_product() -> None:
    tpp, basis = tpp_of({"fp16": 989.4, "int8": 1979})
    assert tpp == pytest.approx(15832)
    assert basis.startswith("int8")


# ---- 3A090.a / .b boundaries --------------------------------------------------------------


def test_exactly_4800_is_a1() -> None:
    c = classify_spec(4800, 1, die_area=5000)  # PD 0.96: only a.1 can apply
    assert (c.eccn, c.paragraph) == ("3A090.a", "3A090.a.1")
    assert any("4800 or more" in r for r in c.reasons)


def test_4799_is_not_a1() -> None:
    c = classify_spec(4799, 1, die_area=5000)  # PD 0.96 is below every density floor
    assert c.eccn is None
    c = classify_spec(4799, 1, die_area=1000)  # PD 4.799: b.1 (2400 <= TPP < 4800, PD < 5.92)
    assert c.paragraph == "3A090.b.1"


def test_1600_with_pd_exactly_5_92_is_a2() -> None:
    c = classify_spec(1600, 1, die_area=1600 / 5.92)
    assert c.paragraph == "3A090.a.2"
    assert c.pd == pytest.approx(5.92)


def test_1600_with_pd_just_below_5_92_is_b2_not_a2() -> None:
    c = classify_spec(1600, 1, die_area=1600 / 5.919)
    assert c.paragraph == "3A090.b.2"


def test_1599_with_high_density_is_not_controlled() -> None:
    assert classify_spec(1599, 1, die_area=100).eccn is None  # PD 15.99 but TPP < 1600


def test_2400_boundary_of_b1() -> None:
    assert classify_spec(2400, 1, die_area=2400 / 1.6).paragraph == "3A090.b.1"  # PD 1.6
    assert classify_spec(2399, 1, die_area=2400 / 1.6).eccn is None  # PD 1.599, TPP < 2400
    assert classify_spec(2400, 1, die_area=2400 / 1.599).eccn is None  # PD < 1.6


def test_3_2_boundary_of_b2() -> None:
    assert classify_spec(2000, 1, die_area=2000 / 3.2).paragraph == "3A090.b.2"
    assert classify_spec(2000, 1, die_area=2000 / 3.199).eccn is None  # TPP < 2400 so no b.1
    assert classify_spec(1600, 1, die_area=500).paragraph == "3A090.b.2"  # PD 3.2 exactly


def test_note_2_non_datacenter_below_4800_is_not_3a090() -> None:
    c = classify_spec(4799, 1, die_area=500, datacenter=False)  # would be a.2 (PD 9.6)
    assert c.eccn is None
    assert any("Note 2" in r for r in c.reasons)
    assert classify_spec(4799, 1, die_area=500, datacenter=True).paragraph == "3A090.a.2"


def test_note_2_does_not_reach_4800_or_more() -> None:
    c = classify_spec(4800, 1, die_area=500, datacenter=False)
    assert c.paragraph == "3A090.a.1"


def test_unknown_die_area_below_4800_is_not_guessed() -> None:
    c = classify_spec(2000, 1, None)
    assert c.eccn is None and c.pd is None
    assert any("applicable die area" in r for r in c.reasons)


@pytest.mark.parametrize(
    "args", [(-1, 8, 100), (100, 0, 100), (100, 65, 100), (100, 8, 0), (float("nan"), 8, 100)]
)
def test_bad_figures_are_refused(args: tuple[float, int, float]) -> None:
    with pytest.raises(ValueError):
        classify_spec(*args)


def test_hbm_density_threshold_is_strictly_greater_than_2() -> None:
    assert classify_hbm(242, 121).eccn is None  # exactly 2.0 GB/s/mm2
    assert classify_hbm(243, 121).eccn == "3A090.c"


# ---- catalog -------------------------------------------------------------------------------

EXPECTED = {
    "NVIDIA H100 SXM": "3A090.a",
    "NVIDIA H100 PCIe": "3A090.a",
    "NVIDIA H200": "3A090.a",
    "NVIDIA H800": "3A090.a",
    "NVIDIA H20": None,
    "NVIDIA A100": "3A090.a",
    "NVIDIA A800": "3A090.a",
    "NVIDIA L40S": "3A090.a",
    "NVIDIA L4": "3A090.a",
    "NVIDIA GeForce RTX 4090": "3A090.a",
    "NVIDIA GeForce RTX 4090 D": None,
    "NVIDIA GeForce RTX 5090": "3A090.a",
    "NVIDIA B200": "3A090.a",
    "AMD Instinct MI300X": "3A090.a",
    "AMD Instinct MI325X": "3A090.a",
    "AMD Instinct MI250X": "3A090.a",
    "Intel Gaudi 2": "3A090.a",
    "Intel Gaudi 3": "3A090.a",
    "Huawei Ascend 910B": "3A090.a",
    "NVIDIA GeForce RTX 3060": None,
    "NVIDIA Jetson AGX Orin 64GB": None,
    "NVIDIA DGX H100": "4A090.a",
    "NVIDIA DGX B200": "4A090.a",
    "SK hynix HBM3E 12-high 36GB": "3A090.c",
}


def test_catalog_holds_every_required_product_and_each_row_cites_a_source() -> None:
    products = load_catalog()
    assert {p.model for p in products} == set(EXPECTED)
    assert all(p.perf_source for p in products)


@pytest.mark.parametrize("model,eccn", sorted(EXPECTED.items(), key=lambda kv: kv[0]))
def test_catalog_classification(model: str, eccn: str | None) -> None:
    assert classify_model(model).eccn == eccn


def test_known_tpp_figures() -> None:
    assert classify_model("H100 SXM").tpp == pytest.approx(15832)
    assert classify_model("A100").tpp == pytest.approx(4992)
    h20 = classify_model("H20")
    assert h20.tpp == pytest.approx(2368) and h20.pd == pytest.approx(2368 / 814)
    d = classify_model("RTX 4090 D")
    assert d.tpp == pytest.approx(4708) and d.pd > 5.92  # a.2 by density, freed by Note 2
    assert any("Note 2" in r for r in d.reasons)
    assert classify_model("L4").paragraph == "3A090.a.2"  # TPP 1936, PD 6.59


def _epoch_rows() -> dict[str, dict[str, str]]:
    with (REFERENCE / "epoch_ml_hardware.csv").open(encoding="utf-8") as f:
        return {r["Hardware name"]: r for r in csv.DictReader(f)}


def test_catalog_figures_match_the_epoch_rows_they_cite() -> None:
    epoch = _epoch_rows()
    assert len(epoch) == 175
    cols = {
        "fp8": ["FP8 performance (FLOP/s)"],
        "fp4": ["FP4 performance (FLOP/s)"],
        "int8": ["INT8 performance (OP/s)"],
        "int4": ["INT4 performance (OP/s)"],
        "fp16": [
            "Tensor-FP16/BF16 performance (FLOP/s)",
            "FP16 (half precision) performance (FLOP/s)",
        ],
    }
    checked = 0
    for p in load_catalog():
        if not p.perf_source.startswith("epoch_ml_hardware.csv: "):
            continue
        name = p.perf_source.removeprefix("epoch_ml_hardware.csv: ").split(" (http")[0]
        row = epoch[name]
        for precision, value in p.throughput.items():
            figures = [float(row[c]) / 1e12 for c in cols[precision] if row[c]]
            assert value == pytest.approx(max(figures)), (p.model, precision)
        # Epoch's own TPP column picks one precision; ours takes the highest: within 1 %.
        assert tpp_of(p.throughput)[0] == pytest.approx(
            float(row["Total processing performance (bit-OP/s)"]) / 1e12, rel=0.01
        ), p.model
        checked += 1
    assert checked == 16


def test_die_areas_citing_epoch_match_it() -> None:
    epoch = _epoch_rows()
    for p in load_catalog():
        if p.die_area_mm2 and p.die_area_source.startswith("epoch_ml_hardware.csv: "):
            name = p.die_area_source.removeprefix("epoch_ml_hardware.csv: ").split(" (")[0]
            die = float(epoch[name]["Die Size (mm^2)"])
            assert p.die_area_mm2 in (die, 2 * die), p.model  # MI250X: two dies


@pytest.mark.parametrize(
    "query,model",
    [
        ("h100 sxm5 80gb", "NVIDIA H100 SXM"),
        ("NVIDIA H100-SXM", "NVIDIA H100 SXM"),
        ("nvidia h100 pcie", "NVIDIA H100 PCIe"),
        ("H20", "NVIDIA H20"),
        ("h200 sxm 141GB", "NVIDIA H200"),
        ("GeForce RTX 4090D", "NVIDIA GeForce RTX 4090 D"),
        ("rtx4090", "NVIDIA GeForce RTX 4090"),
        ("AMD Instinct MI300X", "AMD Instinct MI300X"),
        ("habana gaudi3", "Intel Gaudi 3"),
        ("h100 sxm module", "NVIDIA H100 SXM"),
    ],
)
def test_fuzzy_lookup(query: str, model: str) -> None:
    assert find_product(query).model == model


def test_unknown_and_ambiguous_models_suggest_entries() -> None:
    with pytest.raises(UnknownModelError) as exc:
        find_product("H100")
    assert {"NVIDIA H100 SXM", "NVIDIA H100 PCIe"} <= set(exc.value.suggestions)
    with pytest.raises(UnknownModelError) as exc:
        find_product("H30")
    assert "NVIDIA H20" in exc.value.suggestions
    assert "--tops" in str(exc.value)


def test_damaged_catalog_names_line_and_field() -> None:
    lines = CATALOG_FILE.read_text(encoding="utf-8").splitlines()
    bad = "\n".join([lines[0], lines[1].replace(",989.4,", ",fast,")]) + "\n"
    with pytest.raises(CatalogError, match=r"line 2: field 'fp16' is not a number"):
        parse_catalog(bad)
    cols = lines[1].split(",")
    cols[4] = "maybe"
    with pytest.raises(CatalogError, match=r"line 2: field 'datacenter'"):
        parse_catalog("\n".join([lines[0], ",".join(cols)]) + "\n")
    with pytest.raises(CatalogError, match=r"line 3: name 'NVIDIA H100 SXM' also used on line 2"):
        parse_catalog("\n".join([lines[0], lines[1], lines[1]]) + "\n")
