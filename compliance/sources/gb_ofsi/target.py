"""One UK target: the rows of one Group ID folded into one EntityRecord."""

from __future__ import annotations

from typing import Any

from compliance.sources.base import Address, EntityRecord, Identifier, Name
from compliance.sources.gb_ofsi.cells import (
    add_new,
    address_of,
    countries_in,
    enumerated,
    full_name,
    identifiers_of,
    places_of_birth,
    read_dob,
    tags_in,
)
from compliance.sources.scripts import detect_script
from compliance.sources.text import iso_date

FILE = "ConList.xlsx"
LIST_NAME = "UK OFSI Consolidated List of Financial Sanctions Targets"
GROUP_TYPES = {"Individual": "person", "Entity": "organization", "Ship": "vessel"}


class Target:
    """The rows of one Group ID, folded into one EntityRecord."""

    def __init__(self, gid: str, group_type: str, line: int) -> None:
        self.gid, self.group_type, self.line = gid, group_type, line
        self.rows: list[dict[str, str]] = []

    def record(self, warnings: list[str]) -> EntityRecord:
        rows = self.rows
        by_type = {
            t: [r for r in rows if r["Alias Type"] == t]
            for t in ("Primary name", "Primary name variation")
        }
        first = (by_type["Primary name"] or by_type["Primary name variation"] or rows)[0]
        primary = full_name(first)
        names = _names(rows, primary)
        lists, addresses, identifiers, tags = _facts(rows, warnings)
        for kind, key in (
            ("IMO", "imo_number"),
            ("Business Registration Number", "business_registration_number"),
        ):
            if key in tags:
                identifiers.append(Identifier(kind, tags[key]))
        countries = list(lists["nat"])
        for code in [a.country_code for a in addresses] + lists["countries"]:
            add_new(countries, code)
        return EntityRecord(
            source_id=self.gid,
            entity_type=GROUP_TYPES.get(self.group_type, "unknown"),
            name=primary,
            names=names,
            programs=lists["programs"],
            lists=[LIST_NAME],
            addresses=addresses,
            identifiers=identifiers,
            dates_of_birth=lists["dob"],
            nationalities=lists["nat"],
            countries=countries,
            remarks=first["Other Information"] or None,
            fields={
                "group_type": self.group_type,
                "listed_on": iso_date(first["Listed On"], day_first=True),
                "uk_sanctions_list_date_designated": iso_date(
                    first["UK Sanctions List Date Designated"], day_first=True
                ),
                "last_updated": max(
                    (d for r in rows if (d := iso_date(r["Last Updated"], day_first=True))),
                    default=None,
                ),
                "other_information": first["Other Information"] or None,
                "titles": lists["titles"],
                "positions": lists["positions"],
                "places_of_birth": lists["pob"],
                **{k: v for k, v in tags.items() if k != "statement_of_reasons"},
            },
            raw=_raw(rows),
        )


def _names(rows: list[dict[str, str]], primary: str) -> list[Name]:
    """Every distinct name of the target's rows: Latin names as akas (low quality as weak akas),
    names in another script as original-script names."""
    names, seen = [Name(primary, "primary")], {primary.casefold()}
    for r in rows:
        name = full_name(r)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            quality = r["Alias Quality"] or None
            kind = "fka" if r["Alias Type"] == "FKA" else "aka"
            if quality == "Low quality":
                kind = "weak_aka"
            names.append(Name(name, kind, quality=quality))
        script_name = r["Name Non-Latin Script"]
        if script_name and script_name.casefold() not in seen:
            seen.add(script_name.casefold())
            script = detect_script(script_name)
            # the column also holds Latin spellings with diacritics: those are plain akas
            kind = "aka" if script in (None, "Latin") else "original_script"
            names.append(Name(script_name, kind, script=script if kind != "aka" else None))
    return names


def _facts(
    rows: list[dict[str, str]], warnings: list[str]
) -> tuple[dict[str, list[str]], list[Address], list[Identifier], dict[str, str]]:
    """Birth dates, nationalities, regimes, positions, titles, places and countries of birth,
    addresses, identifiers and the tagged Other Information of the target's rows."""
    lists: dict[str, list[str]] = {
        k: [] for k in ("dob", "nat", "programs", "positions", "titles", "pob", "countries")
    }
    addresses: list[Address] = []
    identifiers: list[Identifier] = []
    tags: dict[str, str] = {}
    for r in rows:
        if r["DOB"]:
            dob = read_dob(r["DOB"])
            if dob is None:
                warnings.append(f"{FILE} row {r['_row']}: unreadable DOB {r['DOB']!r}")
            add_new(lists["dob"], dob)
        for nat in enumerated(r["Nationality"]):
            for code in countries_in(nat):
                if code is None:
                    warnings.append(f"{FILE} row {r['_row']}: unknown nationality {nat!r}")
                add_new(lists["nat"], code)
        add_new(lists["programs"], r["Regime"])
        add_new(lists["positions"], r["Position"])
        add_new(lists["titles"], r["Title"])
        for place in places_of_birth(r):
            add_new(lists["pob"], place)
        for country in enumerated(r["Country of Birth"]):
            for code in countries_in(country):
                add_new(lists["countries"], code)
        address = address_of(r)
        if address and address not in addresses:
            addresses.append(address)
        for ident in identifiers_of(r):
            if ident not in identifiers:
                identifiers.append(ident)
        for k, v in tags_in(r["Other Information"]):
            tags.setdefault(k, v)
    return lists, addresses, identifiers, tags


def _raw(rows: list[dict[str, str]]) -> dict[str, Any]:
    """The rows as stated, compactly: cells equal on every row once, then each row's others."""
    cells = [{k: v for k, v in r.items() if v and k != "_row"} for r in rows]
    common = {k: v for k, v in cells[0].items() if all(c.get(k) == v for c in cells[1:])}
    return {
        "common": common,
        "rows": [{k: v for k, v in c.items() if k not in common} for c in cells],
    }
