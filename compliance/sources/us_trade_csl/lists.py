"""What a hit on each CSL sub-list means. The lists other sources publish themselves (SDN, DPL,
the Entity List, OFAC's non-SDN lists) are declared in those sources' modules and named here."""

from __future__ import annotations

import re

from compliance.policy import LICENSE_REQUIRED, REVIEW, SubList
from compliance.sources.federal_register import ENTITY_LIST
from compliance.sources.us_bis_dpl import DPL_LIST
from compliance.sources.us_ofac_cons import NON_SDN_LISTS
from compliance.sources.us_ofac_sdn import SDN_LIST

MEU_LIST = SubList(
    "MEU",
    "MEU",
    LICENSE_REQUIRED,
    "export_control",
    publisher="BIS",
    why="a license is required for the items of Supp. No. 2 to part 744 (15 CFR 744.21)",
)
MIEU_LIST = SubList(
    "MIEU",
    "MIEU",
    LICENSE_REQUIRED,
    "export_control",
    publisher="BIS",
    why="a license is required for all items subject to the EAR (15 CFR 744.22)",
)
UVL_LIST = SubList(
    "UVL",
    "UVL",
    REVIEW,
    "export_control",
    publisher="BIS",
    why="no license by the listing itself, but no license exception and a UVL statement from "
    "the party before any export (15 CFR 744.15): an officer must look",
)
ISN_LIST = SubList(
    "ISN",
    "ISN",
    REVIEW,
    "sanctions",
    publisher="State",
    why="nonproliferation sanctions differ per entry (procurement, assistance, licenses): "
    "read its Federal Register notice",
)
DTC_LIST = SubList(
    "DTC",
    "ITAR Debarred",
    REVIEW,
    "export_control",
    publisher="State",
    why="barred from exports of defense articles (ITAR, 22 CFR 127.7), not of EAR items such "
    "as chips: an officer must look",
)
SUB_LISTS: tuple[SubList, ...] = (
    SDN_LIST,
    DPL_LIST,
    ENTITY_LIST,
    MEU_LIST,
    MIEU_LIST,
    UVL_LIST,
    *NON_SDN_LISTS,
    ISN_LIST,
    DTC_LIST,
)
KNOWN_CODES = frozenset(s.code for s in SUB_LISTS)
OFAC_CODES = frozenset(s.code for s in SUB_LISTS if s.publisher == "OFAC")

# Short codes in the order sub-lists are listed on a merged entity (trade.gov's own codes).
CODE_ORDER = (
    "EL",
    "SDN",
    "DPL",
    "UVL",
    "MEU",
    "ISN",
    "DTC",
    "SSI",
    "CMIC",
    "PLC",
    "CAP",
    "MBS",
    "FSE",
)


def list_code(sub_list: str) -> str | None:
    """'Entity List (EL) - Bureau of ...' -> 'EL'; '... (NS-MBS List) - ...' -> 'MBS'."""
    m = re.search(r"\(([A-Z][A-Z-]*)(?: List)?\)", sub_list)
    if not m:
        return None
    code = m.group(1)
    return code.removeprefix("NS-")


def code_rank(code: str | None) -> int:
    """Where a sub-list comes in CODE_ORDER (an unknown code last)."""
    return CODE_ORDER.index(code) if code in CODE_ORDER else len(CODE_ORDER)
