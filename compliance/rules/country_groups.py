"""Country Groups (Supplement No. 1 to part 740): scraped from the eCFR when the database has
them, else the curated, dated fallback in data/country_groups.csv."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources.abc import Traversable

from sqlalchemy.engine import Engine

from compliance.datafiles import data_file

FALLBACK_FILE = data_file("country_groups.csv")
NEEDED = ("A:5", "A:6", "D:1", "D:4", "D:5", "E:1", "E:2")


class CountryGroupError(Exception):
    pass


@dataclass(frozen=True)
class CountryGroups:
    groups: dict[str, frozenset[str]]
    as_of: str
    source: str  # where they came from, for the reasons shown to the user

    def members(self, group: str) -> frozenset[str]:
        return self.groups.get(group, frozenset())

    def of(self, iso2: str) -> list[str]:
        return sorted(g for g, m in self.groups.items() if iso2 in m)


def parse_fallback(text: str, file: str = "country_groups.csv") -> CountryGroups:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != ["group", "iso2", "country", "as_of", "source"]:
        raise CountryGroupError(f"{file} line 1: header is not group,iso2,country,as_of,source")
    groups: dict[str, set[str]] = {}
    dates = set()
    for row in reader:
        where = f"{file} line {reader.line_num}"
        g, iso = (row.get("group") or "").strip(), (row.get("iso2") or "").strip()
        if len(g) != 3 or g[1] != ":" or g[0] not in "ABDE":
            raise CountryGroupError(f"{where}: field 'group' is not a country group: {g!r}")
        if len(iso) != 2 or not iso.isalpha() or not iso.isupper():
            raise CountryGroupError(f"{where}: field 'iso2' is not an ISO alpha-2 code: {iso!r}")
        groups.setdefault(g, set()).add(iso)
        dates.add(row["as_of"])
    missing = [g for g in NEEDED if g not in groups]
    if missing:
        raise CountryGroupError(f"{file}: no rows for group(s) {', '.join(missing)}")
    as_of = max(dates)
    return CountryGroups(
        {g: frozenset(m) for g, m in groups.items()}, as_of,
        f"curated fallback {file} (as of {as_of})",
    )  # fmt: skip


@lru_cache(maxsize=2)
def fallback_groups(path: Traversable = FALLBACK_FILE) -> CountryGroups:
    return parse_fallback(path.read_text(encoding="utf-8"), path.name)


def load_groups(engine: Engine | None = None) -> CountryGroups:
    """The scraped groups when stored (and complete for the groups the rules use)."""
    if engine is not None:
        from compliance.rules.regstore import current_sections

        row = current_sections(engine).get("740 Supp. 1")
        groups = (row.data or {}).get("groups") if row is not None else None
        if row is not None and groups and all(g in groups for g in NEEDED):
            return CountryGroups(
                {g: frozenset(m) for g, m in groups.items()}, row.ecfr_date,
                f"eCFR 15 CFR part 740 Supp. No. 1 (current as of {row.ecfr_date}"
                + (f", amended {row.amended_on}" if row.amended_on else "") + ")",
            )  # fmt: skip
    return fallback_groups()
