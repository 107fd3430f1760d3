"""OFAC Specially Designated Nationals (SDN) list, from its legacy CSV set.

sdn.csv (entries) + add.csv (addresses) + alt.csv (aliases) + sdn_comments.csv (Remarks
overflow), all served by OFAC's Sanctions List Service. The CSVs state no publication date, so
`data_date` is None. Parsing (quirks, Remarks, orphan rows) lives in `ofac_csv`.
"""

from __future__ import annotations

from collections.abc import Mapping

from compliance.policy import BLOCK, Listing, ListPolicy, SubList, ofac_key
from compliance.sources.base import ParsedList, Source, SourceFile
from compliance.sources.ofac_csv import SDN_FILES, parse_csv_set

KEY = "us_ofac_sdn"
EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"


def parse(files: Mapping[str, bytes]) -> ParsedList:
    return parse_csv_set(files, SDN_FILES, KEY, sdn=True)


# The SDN list as a sub-list of the sources that republish it (the CSL).
SDN_LIST = SubList(
    "SDN",
    "SDN",
    BLOCK,
    "sanctions",
    labels=("SDN List",),
    publisher="OFAC",
    why="property of blocked persons is blocked; US persons may not deal with them",
)


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    return ofac_key(entry.source_id)  # the ent_num, which the CSL's Treasury rows carry too


SOURCE = Source(
    key=KEY,
    title="OFAC Specially Designated Nationals (SDN) List",
    publisher="US Department of the Treasury, Office of Foreign Assets Control",
    files=(
        SourceFile(SDN_FILES.primary, f"{EXPORTS}/SDN.CSV", "csv", max_bytes=60_000_000),
        SourceFile(SDN_FILES.address, f"{EXPORTS}/ADD.CSV", "csv", max_bytes=60_000_000),
        SourceFile(SDN_FILES.alias, f"{EXPORTS}/ALT.CSV", "csv", max_bytes=60_000_000),
        SourceFile(SDN_FILES.comments, f"{EXPORTS}/SDN_COMMENTS.CSV", "csv", max_bytes=20_000_000),
    ),
    parse=parse,
    homepage="https://ofac.treasury.gov/specially-designated-nationals-and-blocked-persons-list-sdn-human-readable-lists",
    policy=ListPolicy(
        display="OFAC SDN List",
        category="sanctions",
        decision=SDN_LIST.decision,
        rank=10,
        merge_key=merge_key,
        why=SDN_LIST.why,
    ),
)
