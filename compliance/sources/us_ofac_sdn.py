"""OFAC Specially Designated Nationals (SDN) list, from its legacy CSV set.

sdn.csv (entries) + add.csv (addresses) + alt.csv (aliases) + sdn_comments.csv (Remarks
overflow), all served by OFAC's Sanctions List Service. The CSVs state no publication date, so
`data_date` is None. Parsing (quirks, Remarks, orphan rows) lives in `ofac_csv`.
"""

from __future__ import annotations

from collections.abc import Mapping

from compliance.sources.base import ParsedList, Source, SourceFile
from compliance.sources.ofac_csv import SDN_FILES, parse_csv_set

KEY = "us_ofac_sdn"
EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"


def parse(files: Mapping[str, bytes]) -> ParsedList:
    return parse_csv_set(files, SDN_FILES, KEY, sdn=True)


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
)
