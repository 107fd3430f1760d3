"""Trade.gov Consolidated Screening List (CSL): thirteen US export and sanctions lists in one file.

consolidated.csv has 29 columns and a header row; several values hold lists joined by "; ".
consolidated.json (optional) has the same fields as {"results": [...]}, with addresses and ids as
objects. The CSV, whose format is checked against a real file, is preferred; the JSON is used when
the CSV is absent or cannot be parsed (a warning says so).

One entry's `_id` is the OFAC ent_num for Treasury lists and a hash for the others. Treasury
entries listed on several sub-lists (SDN and SSI and CAPTA...) appear once per sub-list with the
same `_id`; those rows become one entity carrying every sub-list in `lists` and `list_codes`,
so `rows_read` counts rows and the records count entities.

BIS and State rows have hash ids and one row per address: rows of one sub-list with the same
name, the same start date (the FR citation when there is none) and the same license terms are one
entry, so they become one entity with every name, address and FR citation. Its id is the smallest
`_id` of its rows (independent of row order; every row's `_id` is kept in fields["row_ids"]).
Rows whose license terms differ (one address under another license policy) stay apart, so each
hit states the terms that apply. `rows_read` counts rows; the records count entries.

Types: the `type` column (Individual / Entity / Vessel / Aircraft). The BIS and State sub-lists
leave it empty; such a row is typed organization when its name says so (a legal form or a word
such as Institute, University, Trading; fields["type_inferred"] is then true) and stays unknown
otherwise: the Entity List, the DPL and the ITAR debarred list name people too, and typing a
person "organization" would hide them from a screening that asks for a person.

What a hit means, per sub-list (SUB_LISTS; the lists other sources publish are declared there):
SDN, DPL, FSE -> BLOCK (dealings prohibited); Entity List, MEU, MIEU -> LICENSE_REQUIRED; UVL,
ISN, ITAR debarred, SSI, NS-CMIC, NS-MBS, NS-PLC, CAPTA -> REVIEW (each restricts some dealings,
not an export of EAR items as such; an officer must read the entry). A sub-list nobody declared
is REVIEW, and the update warns about it.

data_date is the latest start_date in the file (the file states no publication date; start_date is
the date an entry took effect, so the newest one is the closest thing to "as of").
"""

from __future__ import annotations

from collections.abc import Mapping

from compliance.policy import REVIEW, Listing, ListPolicy, denial_order_key, ofac_key
from compliance.sources.base import EntityRecord, ParsedList, ParseError, Source, SourceFile
from compliance.sources.us_bis_dpl import DPL_LIST
from compliance.sources.us_trade_csl.cells import (
    VOCABULARY,
    parse_address,
    parse_csv_id,
    split_aliases,
)
from compliance.sources.us_trade_csl.json_file import parse_json
from compliance.sources.us_trade_csl.lists import (
    CODE_ORDER,
    DTC_LIST,
    ISN_LIST,
    MEU_LIST,
    MIEU_LIST,
    OFAC_CODES,
    SUB_LISTS,
    UVL_LIST,
    list_code,
)
from compliance.sources.us_trade_csl.rows import (
    BASE_URL,
    COLUMNS,
    CSV_FILE,
    JSON_FILE,
    KEY,
    parse_csv,
)

__all__ = [
    "BASE_URL", "CODE_ORDER", "COLUMNS", "CSV_FILE", "DTC_LIST", "ISN_LIST", "JSON_FILE", "KEY",
    "MEU_LIST", "MIEU_LIST", "SOURCE", "SUB_LISTS", "UVL_LIST", "VOCABULARY", "EntityRecord",
    "ParsedList", "list_code", "merge_key", "parse", "parse_address", "parse_csv",
    "parse_csv_id", "parse_json", "split_aliases",
]  # fmt: skip


def parse(files: Mapping[str, bytes]) -> ParsedList:
    if CSV_FILE in files:
        try:
            return parse_csv(files[CSV_FILE])
        except ParseError as exc:
            if JSON_FILE not in files:
                raise
            parsed = parse_json(files[JSON_FILE])
            parsed.warnings.insert(0, f"{exc}; used {JSON_FILE} instead")
            return parsed
    if JSON_FILE in files:
        return parse_json(files[JSON_FILE])
    raise ParseError(f"neither {CSV_FILE} nor {JSON_FILE} was supplied", source=KEY)


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    """Treasury rows carry OFAC's ent_num (`entity_number`); DPL rows are BIS denial orders."""
    codes = set(entry.fields.get("list_codes") or [entry.fields.get("list_code")])
    if codes & OFAC_CODES:
        return ofac_key(entry.fields.get("entity_number"))
    if DPL_LIST.code in codes:
        return denial_order_key(entry, entry.fields.get("start_date"))
    return None


SOURCE = Source(
    key=KEY,
    title="Consolidated Screening List (trade.gov)",
    publisher="US Department of Commerce, International Trade Administration",
    files=(
        SourceFile(CSV_FILE, BASE_URL + CSV_FILE, "csv", max_bytes=100_000_000),
        SourceFile(JSON_FILE, BASE_URL + JSON_FILE, "json", required=False, max_bytes=300_000_000),
    ),
    parse=parse,
    homepage="https://www.trade.gov/consolidated-screening-list",
    policy=ListPolicy(
        display="CSL",
        category="export_control",
        decision=REVIEW,  # a sub-list nobody declared (the update warns)
        rank=80,
        sub_lists=SUB_LISTS,
        merge_key=merge_key,
        vocabulary=VOCABULARY,
    ),
)
