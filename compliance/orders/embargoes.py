"""Comprehensive embargoes an order's destination or parties' countries may fall under:
countries (Country Groups E:1 and E:2 of the chip rules) and regions no country code expresses
(Crimea, DNR, LNR; data/embargoes.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from anyascii import anyascii

from compliance.countries import country_name, to_iso2
from compliance.datafiles import data_file


@dataclass(frozen=True)
class Embargoes:
    """Comprehensive embargoes: countries (Country Groups E:1 and E:2 of the chip rules) and the
    regions of data/embargoes.json that no country code expresses (Crimea, DNR, LNR)."""

    countries: dict[str, dict[str, str]]  # iso2 -> {"name", "cite"}
    regions: tuple[dict[str, Any], ...]
    source: str = ""

    def find(self, destination: str, on_date: date | None = None) -> dict[str, str] | None:
        """The embargo covering this destination text, if any. Regions are found by name before
        the text is reduced to a country code, which would lose them."""
        if not destination.strip():
            return None
        day = (on_date or date.today()).isoformat()
        text = f" {_words(destination)} "
        for region in self.regions:
            if region["from"] <= day and any(k in text for k in region["_keys"]):
                return {"name": region["name"], "cite": region["cite"]}
        return self.countries.get(to_iso2(destination) or "")

    def country_of(self, destination: str) -> str | None:
        """ISO code of a destination, also when it is written as an embargoed region."""
        code = to_iso2(destination)
        if code is None:
            text = f" {_words(destination)} "
            for region in self.regions:
                if any(k in text for k in region["_keys"]):
                    return str(region["iso2"])
        return code


def load_embargoes(engine: Any = None) -> Embargoes:
    from compliance.rules.country_groups import load_groups
    from compliance.rules.license import EMBARGO_CITES

    groups = load_groups(engine)
    countries = {}
    for group in ("E:1", "E:2"):
        for code in sorted(groups.members(group)):
            cite = EMBARGO_CITES.get(code, "15 CFR part 746")
            countries[code] = {
                "name": country_name(code) or code,
                "cite": f"{cite}; Country Group {group} ({groups.source})",
            }
    data = json.loads(data_file("embargoes.json").read_text(encoding="utf-8"))
    regions = []
    for region in data["regions"]:
        regions.append(region | {"_keys": [f" {_words(a)} " for a in region["aliases"]]})
    return Embargoes(countries, tuple(regions), groups.source)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", anyascii(text).lower()).split())
