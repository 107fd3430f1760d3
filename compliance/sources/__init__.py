"""Official list sources: one module per publisher file set, each exposing `SOURCE`."""

from __future__ import annotations

import importlib

from compliance.sources.base import Source

# Order here is the order `compliance update` runs them in.
SOURCE_MODULES: tuple[str, ...] = (
    "us_ofac_sdn",
    "us_ofac_cons",
    "us_trade_csl",
    "us_bis_dpl",
    "un_sc",
    "gb_ofsi",
    "eu_fsf",
    "ca_sema",
    "au_dfat",
    "federal_register",
)


def all_sources() -> dict[str, Source]:
    out: dict[str, Source] = {}
    for name in SOURCE_MODULES:
        mod = importlib.import_module(f"compliance.sources.{name}")
        out[mod.SOURCE.key] = mod.SOURCE
    return out
