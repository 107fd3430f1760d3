"""Classify an accelerator under ECCN 3A090 / 4A090 from its figures or its catalog entry.

TPP (3A090 Technical Note 1) is 2 x MacTOPS x bit length. Vendors quote TOPS / TFLOPS counting
each multiply-accumulate as two operations, so a vendor figure already is 2 x MacTOPS and
TPP = dense vendor TOPS x bit length: BIS's own example is 600 INT8 TOPS x 8 = 300 FP16
TFLOPS x 16 = 4800. Figures must be dense (a "with sparsity" figure is halved first); the TPP
of a chip is the highest over the precisions it supports. PD = TPP / applicable die area (mm2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance.rules.catalog import (
    PRECISION_BITS,
    Product,
    UnknownModelError,
    find_product,
    load_catalog,
)
from compliance.rules.thresholds import ENCODED, PARAGRAPHS, EccnThresholds

__all__ = [
    "Classification",
    "UnknownModelError",
    "classify_hbm",
    "classify_model",
    "classify_product",
    "classify_spec",
    "tpp_of",
]


@dataclass
class Classification:
    model: str | None
    eccn: str | None  # "3A090.a" | "3A090.b" | "3A090.c" | "4A090.a" | "4A090.b" | None
    tpp: float
    pd: float | None
    reasons: list[str] = field(default_factory=list)
    paragraph: str | None = None  # e.g. "3A090.a.2": the paragraph that applied
    datacenter: bool | None = None
    die_area_mm2: float | None = None
    tpp_basis: str | None = None  # e.g. "int8: 1979 TOPS x 8 bits"
    memory_bandwidth_gbs: float | None = None
    memory_bandwidth_density: float | None = None
    kind: str = "ic"
    sources: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def controlled(self) -> bool:
        return self.eccn is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "eccn": self.eccn,
            "paragraph": self.paragraph,
            "tpp": round(self.tpp, 2),
            "pd": round(self.pd, 3) if self.pd is not None else None,
            "reasons": self.reasons,
            "datacenter": self.datacenter,
            "die_area_mm2": self.die_area_mm2,
            "tpp_basis": self.tpp_basis,
            "memory_bandwidth_gbs": self.memory_bandwidth_gbs,
            "memory_bandwidth_density": (
                round(self.memory_bandwidth_density, 3)
                if self.memory_bandwidth_density is not None
                else None
            ),
            "kind": self.kind,
            "sources": self.sources,
        }


def _quote(paragraph: str) -> str:
    return f"{paragraph}: \u201c{PARAGRAPHS[paragraph]}\u201d"


def tpp_of(throughput: dict[str, float]) -> tuple[float, str]:
    """Highest dense throughput x bit length over the precisions given, with its basis."""
    best, basis = 0.0, ""
    for precision, value in throughput.items():
        bits = PRECISION_BITS[precision]
        tpp = value * bits
        if tpp > best:
            unit = "TOPS" if precision.startswith("int") else "TFLOPS"
            best, basis = tpp, f"{precision}: {value:g} dense {unit} x {bits} bits"
    return best, basis


def _check_inputs(tops: float, bits: int, die_area: float | None) -> None:
    if not (tops == tops) or tops < 0 or tops == float("inf"):
        raise ValueError(f"throughput must be a non-negative number of TOPS, got {tops}")
    if not 1 <= bits <= 64:
        raise ValueError(f"bit length must be between 1 and 64, got {bits}")
    if die_area is not None and (not (die_area > 0) or die_area == float("inf")):
        raise ValueError(f"die area must be a positive number of mm2, got {die_area}")


def classify_spec(
    tops: float,
    bits: int,
    die_area: float | None,
    datacenter: bool = True,
    *,
    model: str | None = None,
    basis: str | None = None,
    thresholds: EccnThresholds = ENCODED,
) -> Classification:
    """Classify an integrated circuit from its dense throughput (vendor TOPS, i.e. 2 x MacTOPS)
    at one bit length and its applicable die area in mm2 (None when unknown)."""
    _check_inputs(tops, bits, die_area)
    tpp = tops * bits
    return _classify_tpp(
        tpp, die_area, datacenter, model=model,
        basis=basis or f"{tops:g} dense TOPS x {bits} bits", thresholds=thresholds,
    )  # fmt: skip


def _classify_tpp(
    tpp: float,
    die_area: float | None,
    datacenter: bool,
    *,
    model: str | None,
    basis: str,
    thresholds: EccnThresholds,
) -> Classification:
    t = thresholds
    pd = tpp / die_area if die_area else None
    c = Classification(
        model=model, eccn=None, tpp=tpp, pd=pd, datacenter=datacenter, die_area_mm2=die_area,
        tpp_basis=basis, thresholds=t.to_dict(),
    )  # fmt: skip
    pd_text = f"PD {pd:.3f}" if pd is not None else "PD unknown (no applicable die area)"
    c.reasons.append(
        f"TPP = 2 x MacTOPS x bit length = {basis} = {tpp:g} (dense, no sparsity); {pd_text}"
    )
    paragraph = _paragraph(tpp, pd, t)
    if paragraph and not datacenter and _lt(tpp, t.note2_tpp):
        c.reasons.append(
            f"{_quote('3A090 Note 2')} Not designed or marketed for datacenters and TPP "
            f"{tpp:g} < {t.note2_tpp:g}, so {paragraph} does not apply"
        )
        return c
    if paragraph is None:
        if pd is None and _ge(tpp, min(t.a2_tpp, t.b2_tpp)):
            c.reasons.append(
                f"TPP {tpp:g} is below {t.a1_tpp:g} but at least {t.a2_tpp:g}: whether "
                "3A090.a.2 or 3A090.b applies depends on the performance density, which needs "
                "the applicable die area; not classified"
            )
        else:
            c.reasons.append(
                f"Below every 3A090 threshold: TPP {tpp:g} < {t.a1_tpp:g}, and "
                + (
                    "the TPP/PD pairs of 3A090.a.2, .b.1 and .b.2 are not met"
                    if pd is not None
                    else "too low for the density-based paragraphs"
                )
            )
        return c
    c.eccn, c.paragraph = paragraph[:7], paragraph
    c.reasons.append(f"{_quote(paragraph)} {_why(paragraph, tpp, pd, t)}")
    if not datacenter:
        c.reasons.append(
            f"Note 2 does not help: TPP {tpp:g} >= {t.note2_tpp:g}, so 3A090 applies even to "
            "items not designed or marketed for datacenters"
        )
    return c


# PD is a quotient of decimal figures: compare with a relative tolerance far below any
# published precision so that e.g. 1600 / 270.2702702... counts as exactly 5.92.
_EPS = 1e-9


def _ge(value: float, limit: float) -> bool:
    return value >= limit * (1 - _EPS)


def _lt(value: float, limit: float) -> bool:
    return not _ge(value, limit)


def _paragraph(tpp: float, pd: float | None, t: EccnThresholds) -> str | None:
    if _ge(tpp, t.a1_tpp):
        return "3A090.a.1"
    if pd is None:
        return None
    if _ge(tpp, t.a2_tpp) and _ge(pd, t.a2_pd):
        return "3A090.a.2"
    if (
        _ge(tpp, t.b1_tpp_min)
        and _lt(tpp, t.b1_tpp_max)
        and _ge(pd, t.b1_pd_min)
        and _lt(pd, t.b1_pd_max)
    ):
        return "3A090.b.1"
    if _ge(tpp, t.b2_tpp) and _ge(pd, t.b2_pd_min) and _lt(pd, t.b2_pd_max):
        return "3A090.b.2"
    return None


def _why(paragraph: str, tpp: float, pd: float | None, t: EccnThresholds) -> str:
    p = f"{pd:.3f}" if pd is not None else "?"
    return {
        "3A090.a.1": f"TPP {tpp:g} >= {t.a1_tpp:g}",
        "3A090.a.2": f"TPP {tpp:g} >= {t.a2_tpp:g} and PD {p} >= {t.a2_pd:g}",
        "3A090.b.1": f"{t.b1_tpp_min:g} <= TPP {tpp:g} < {t.b1_tpp_max:g} and "
        f"{t.b1_pd_min:g} <= PD {p} < {t.b1_pd_max:g}",
        "3A090.b.2": f"TPP {tpp:g} >= {t.b2_tpp:g} and {t.b2_pd_min:g} <= PD {p} < {t.b2_pd_max:g}",
    }[paragraph]


def classify_hbm(
    bandwidth_gbs: float,
    package_area_mm2: float,
    *,
    model: str | None = None,
    thresholds: EccnThresholds = ENCODED,
) -> Classification:
    """3A090.c: HBM whose memory bandwidth density (GB/s per mm2 of package) exceeds 2."""
    if not (bandwidth_gbs > 0) or not (package_area_mm2 > 0):
        raise ValueError("HBM bandwidth and package area must be positive numbers")
    mbd = bandwidth_gbs / package_area_mm2
    c = Classification(
        model=model, eccn=None, tpp=0.0, pd=None, kind="hbm", memory_bandwidth_gbs=bandwidth_gbs,
        memory_bandwidth_density=mbd, thresholds=thresholds.to_dict(),
    )  # fmt: skip
    detail = (
        f"memory bandwidth density {bandwidth_gbs:g} GB/s / {package_area_mm2:g} mm2 = {mbd:.3f}"
    )
    if mbd > thresholds.c_mbd:
        c.eccn, c.paragraph = "3A090.c", "3A090.c"
        c.reasons.append(f"{_quote('3A090.c')} {detail} > {thresholds.c_mbd:g} GB/s/mm2")
    else:
        c.reasons.append(f"Not 3A090.c: {detail} is not above {thresholds.c_mbd:g} GB/s/mm2")
    return c


def classify_product(product: Product, thresholds: EccnThresholds = ENCODED) -> Classification:
    if product.kind == "hbm":
        assert product.memory_bandwidth_gbs and product.package_area_mm2
        c = classify_hbm(
            product.memory_bandwidth_gbs, product.package_area_mm2, model=product.model,
            thresholds=thresholds,
        )  # fmt: skip
    elif product.kind == "system":
        c = _classify_system(product, thresholds)
    else:
        tpp, basis = tpp_of(product.throughput)
        c = _classify_tpp(
            tpp, product.die_area_mm2, product.datacenter, model=product.model, basis=basis,
            thresholds=thresholds,
        )  # fmt: skip
        c.memory_bandwidth_gbs = product.memory_bandwidth_gbs
    c.kind = product.kind
    c.sources = [s for s in (product.perf_source, product.die_area_source) if s]
    return c


def _classify_system(product: Product, thresholds: EccnThresholds) -> Classification:
    inner_product = next(p for p in load_catalog() if p.model == product.contains)
    inner = classify_product(inner_product, thresholds)
    c = Classification(
        model=product.model, eccn=None, tpp=inner.tpp, pd=inner.pd, kind="system",
        datacenter=product.datacenter, die_area_mm2=inner.die_area_mm2,
        tpp_basis=f"per IC ({inner_product.model}): {inner.tpp_basis}",
        thresholds=thresholds.to_dict(),
    )  # fmt: skip
    inner_eccn = inner.eccn or "below 3A090"
    c.reasons.append(
        f"Contains {product.contains_count} x {inner_product.model}, classified {inner_eccn}"
    )
    c.reasons.extend(inner.reasons)
    if inner.eccn in ("3A090.a", "3A090.b"):
        c.eccn = "4A090." + inner.eccn[-1]
        c.paragraph = c.eccn
        c.reasons.append(_quote(c.eccn))
    return c


def classify_model(name: str, thresholds: EccnThresholds = ENCODED) -> Classification:
    """Classify a catalog product by (fuzzy) name; raises UnknownModelError with suggestions."""
    return classify_product(find_product(name), thresholds)
