"""BIS Denied Persons List, dpl.txt: tab-delimited, every field quoted, one row per order.

A person with several addresses has one row per address; rows with the same name, effective date
and Federal Register citation are one denial order and become one entity with every address.
The file has no identifier column, so an entry's id is a short hash of that name, date and
citation: stable across downloads while the order stands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from compliance.countries import to_iso2
from compliance.policy import BLOCK, Listing, ListPolicy, SubList, denial_order_key
from compliance.sources.base import (
    Address,
    EntityRecord,
    ParsedList,
    ParseError,
    Source,
    SourceFile,
)
from compliance.sources.text import csv_rows, iso_date

KEY = "us_bis_dpl"
FILE = "dpl.txt"
HEADER = [
    "Name", "Street_Address", "City", "State", "Country", "Postal_Code", "Effective_Date",
    "Expiration_Date", "Standard_Order", "Last_Update", "Action", "FR_Citation",
]  # fmt: skip


def parse(files: Mapping[str, bytes]) -> ParsedList:
    # Not strict: a cut file then ends in a short row, reported with the fields it lacks.
    rows = csv_rows(
        files[FILE],
        FILE,
        KEY,
        delimiter="\t",
        what="tab-delimited text",
        strict=False,
        width=len(HEADER),
        header=True,
    )
    _, header = next(rows, (1, None))
    if header is None or [h.strip() for h in header] != HEADER:
        raise ParseError(
            f"header is not the DPL's 12 columns (got {header[:4] if header else 'nothing'}...)",
            source=KEY,
            file=FILE,
            line=1,
        )
    records: dict[str, EntityRecord] = {}
    rows_read = 0
    warnings: list[str] = []
    latest = ""
    for line, row in rows:
        rows_read += 1
        raw = dict(zip(HEADER, (c.strip() for c in row), strict=True))
        name = raw["Name"]
        if not name:
            raise ParseError("has no Name", source=KEY, file=FILE, line=line)
        updated = iso_date(raw["Last_Update"])
        if updated and updated > "2100":
            warnings.append(f"{FILE} line {line}: implausible Last_Update {raw['Last_Update']}")
        elif updated and updated > latest:
            latest = updated
        address = _address(raw)
        country = address.country_code
        key = "|".join(raw[k] for k in ("Name", "Effective_Date", "FR_Citation"))
        source_id = hashlib.sha1(key.encode()).hexdigest()[:16]
        if source_id in records:
            rec = records[source_id]
            if address not in rec.addresses:
                rec.addresses.append(address)
                rec.raw["rows"].append(raw)
            if country and country not in rec.countries:
                rec.countries.append(country)
            continue
        records[source_id] = _record(source_id, raw, address, updated)
    return ParsedList(
        list(records.values()), data_date=latest or None, warnings=warnings, rows_read=rows_read
    )


def _record(
    source_id: str, raw: dict[str, str], address: Address, updated: str | None
) -> EntityRecord:
    return EntityRecord(
        source_id=source_id,
        entity_type="unknown",  # the DPL mixes people and companies without saying which
        name=raw["Name"],
        lists=["Denied Persons List (DPL)"],
        addresses=[address],
        countries=[address.country_code] if address.country_code else [],
        fields={
            "effective_date": iso_date(raw["Effective_Date"]),
            "expiration_date": iso_date(raw["Expiration_Date"]),
            "standard_order": raw["Standard_Order"] == "Y",
            "last_update": updated,
            "action": raw["Action"] or None,
            "federal_register_notice": raw["FR_Citation"] or None,
        },
        raw={"rows": [raw]},
    )


def _address(raw: dict[str, str]) -> Address:
    parts = ("Street_Address", "City", "State", "Postal_Code", "Country")
    return Address(
        full=", ".join(raw[p] for p in parts if raw[p]),
        street=raw["Street_Address"] or None,
        city=raw["City"] or None,
        state=raw["State"] or None,
        postal_code=raw["Postal_Code"] or None,
        country=raw["Country"] or None,
        country_code=to_iso2(raw["Country"]),
    )


# The DPL as a sub-list of the sources that republish it (the CSL).
DPL_LIST = SubList(
    "DPL",
    "DPL",
    BLOCK,
    "export_control",
    labels=("Denied Persons List (DPL)",),
    publisher="BIS",
    why="a denial order forbids any transaction in items subject to the EAR with the party "
    "(15 CFR 764.3, 766.25)",
)


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """A denial order is the denied party's name and the order's date; the CSL republishes it."""
    return denial_order_key(entry, entry.fields.get("effective_date"))


SOURCE = Source(
    key=KEY,
    title="BIS Denied Persons List",
    publisher="US Department of Commerce, Bureau of Industry and Security",
    files=(SourceFile(FILE, "https://www.bis.doc.gov/dpl/dpl.txt", "text", max_bytes=20_000_000),),
    parse=parse,
    homepage="https://www.bis.gov/licensing/guidance-on-end-user-and-end-use-controls-including-us-entity-lists/denied-persons-list",
    policy=ListPolicy(
        display="BIS Denied Persons List",
        category=DPL_LIST.category,
        decision=DPL_LIST.decision,
        rank=30,
        merge_key=merge_key,
        why=DPL_LIST.why,
    ),
)
