"""One DFAT listing: the rows whose Reference starts with one number (the primary name's row
and its aliases' rows, "2", "2a", "2b") read into one EntityRecord."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from compliance.sources.au_dfat.cells import (
    EMPTY,
    birth_dates,
    cell_dates,
    citizenships,
    clean,
    enumerated,
    place_country,
)
from compliance.sources.base import Address, EntityRecord, Identifier, Name
from compliance.sources.scripts import detect_script

FILE = "regulation8_consolidated.xlsx"
LIST_NAME = "DFAT Consolidated List"
HEADER = (
    "Reference", "Name of Individual or Entity", "Type", "Name Type", "Date of Birth",
    "Place of Birth", "Citizenship", "Address", "Additional Information",
    "Listing Information", "Committees", "Control Date",
)  # fmt: skip
TYPES = {"individual": "person", "entity": "organization"}
NAME_KINDS = {
    "primary name": "primary",
    "aka": "aka",
    "original script": "original_script",
    "formerly known as": "fka",
    "previously listed as": "fka",
}
_IMO = re.compile(r"\bIMO(?:\s+(?:number|no\.?))?\s*:?\s*(\d{7})\b", re.IGNORECASE)


class Listing:
    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.primary: tuple[int, dict[str, Any]] | None = None  # the bare-number row
        self.unknown_kinds: list[tuple[int, str]] = []

    def add(self, line: int, suffix: str, row: dict[str, Any]) -> None:
        self.rows.append((line, row))
        if not suffix and self.primary is None:
            self.primary = (line, row)

    def record(self, warnings: list[str]) -> EntityRecord:
        text = {k: _distinct(self._cells(k)) for k in HEADER}
        first = self._primary_row(warnings)
        primary, names = self._names(first)
        for line, value in self.unknown_kinds:
            warnings.append(f"{FILE} line {line}: unknown Name Type {value!r}; read as aka")
        type_text = clean(first["Type"])
        kind = self._kind(type_text, warnings)
        dates = self._birth_dates(warnings)
        nationalities = self._nationalities(text["Citizenship"], warnings)
        places = [p for v in text["Place of Birth"] for p in enumerated(v)]
        addresses = [
            Address(full=a, country=a.rsplit(",", 1)[-1].strip(), country_code=place_country(a))
            for v in text["Address"]
            for a in enumerated(v)
        ]
        countries = list(nationalities)
        for code in [a.country_code for a in addresses] + [place_country(p) for p in places]:
            if code and code not in countries:
                countries.append(code)
        control = [d for _, r in self.rows if (d := control_date(r["Control Date"]))]
        return EntityRecord(
            source_id=self.ref,
            entity_type=kind,
            name=primary,
            names=names,
            programs=text["Committees"],
            lists=[LIST_NAME],
            addresses=addresses,
            identifiers=[
                Identifier("IMO", n)
                for n in dict.fromkeys(_IMO.findall(" ".join(text["Additional Information"])))
            ],
            dates_of_birth=dates,
            nationalities=nationalities,
            countries=countries,
            remarks="\n".join(text["Additional Information"]) or None,
            fields={
                "type": type_text or None,
                "committees": text["Committees"],
                "listing_information": text["Listing Information"],
                "additional_information": text["Additional Information"],
                "date_of_birth": text["Date of Birth"],
                "places_of_birth": places,
                "citizenship": text["Citizenship"],
                "control_date": max(control, default=None),
            },
            raw={"rows": [{k: clean(v) for k, v in r.items() if clean(v)} for _, r in self.rows]},
        )

    def _kind(self, type_text: str, warnings: list[str]) -> str:
        kind = TYPES.get(type_text.lower(), "unknown")
        others = {clean(r["Type"]).lower() for _, r in self.rows} - {"", type_text.lower()}
        if others or kind == "unknown":
            warnings.append(
                f"{FILE}: Reference {self.ref} has Type {type_text!r}"
                + (f" (other rows: {', '.join(sorted(others))})" if others else "")
            )
        return kind

    def _birth_dates(self, warnings: list[str]) -> list[str]:
        dates: list[str] = []
        unread: list[str] = []
        for _, r in self.rows:
            found = cell_dates(r["Date of Birth"])
            raw = clean(r["Date of Birth"])
            if not found and raw.lower() not in EMPTY and raw not in unread:
                unread.append(raw)
                warnings.append(f"{FILE}: Reference {self.ref}: no date in Date of Birth {raw!r}")
            dates.extend(d for d in found if d not in dates)
        return dates

    def _nationalities(self, values: list[str], warnings: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            codes, unknown = citizenships(value)
            out.extend(c for c in codes if c not in out)
            for part in unknown:
                warnings.append(f"{FILE}: Reference {self.ref}: citizenship {part!r} not read")
        return out

    def _cells(self, column: str) -> list[str]:
        return [clean(r[column]) for _, r in self.rows]

    def _primary_row(self, warnings: list[str]) -> dict[str, Any]:
        """The bare-number row; failing that the first row typed Primary Name, or the first."""
        typed = [r for _, r in self.rows if _name_kind(r["Name Type"]) == "primary"]
        if self.primary is not None:
            return self.primary[1]
        warnings.append(f"{FILE}: Reference {self.ref} has no row without a letter")
        return (typed or [self.rows[0][1]])[0]

    def _names(self, first: dict[str, Any]) -> tuple[str, list[Name]]:
        primary = clean(first["Name of Individual or Entity"])
        names, seen = [Name(primary, "primary")], {primary.casefold()}
        for line, r in self.rows:
            name = clean(r["Name of Individual or Entity"])
            if name.casefold() in seen:
                continue
            seen.add(name.casefold())
            kind = _name_kind(r["Name Type"])
            if kind is None:
                self.unknown_kinds.append((line, clean(r["Name Type"])))
            script = detect_script(name)
            if script not in (None, "Latin"):
                kind = "original_script"
            elif kind in ("original_script", "primary", None):
                kind = "aka"  # a Latin "original script", or a second primary name
            names.append(Name(name, kind, script=script if kind == "original_script" else None))
        return primary, names


def _name_kind(value: Any) -> str | None:
    return NAME_KINDS.get(clean(value).lower())


def _distinct(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v.lower() not in EMPTY and v not in out:
            out.append(v)
    return out


def control_date(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    found = birth_dates(clean(value)) if value is not None else ()
    return found[0] if found and len(found[0]) == 10 else None
