"""OFAC Consolidated Sanctions List (the non-SDN lists: SSI, NS-PLC, NS-CMIC, NS-MBS, CAPTA, FSE).

OFAC publishes it in three formats; all three parsers are here and tested to agree:

* `parse_csv_set`: cons_prim.csv / cons_add.csv / cons_alt.csv / cons_comments.csv, the same
  legacy layout as the SDN CSVs (shared code in `ofac_csv`). No date; facts sit in Remarks.
* `parse_sdn_xml`: CONSOLIDATED.XML, the classic SDN.XML schema. Structured ids, birth dates and
  aliases, and a Publish_Date.
* `parse_enhanced_xml`: CONS_ENHANCED.XML. Adds original-script names and the list memberships
  as stated, with publicationInfo/dataAsOf.

Choice: the CSV set is required (the one format every OFAC mirror has); the two XML files are
optional. `parse` uses CONSOLIDATED.XML when it was fetched, because it states its data date and
structures what the CSV hides in Remarks; otherwise CONS_ENHANCED.XML (also dated); otherwise the
CSV set. The CSV and classic XML give the same records for the same entry (checked by the tests),
so the choice never changes what is screened, only whether the snapshot carries a date.
"""

from __future__ import annotations

from collections.abc import Mapping

from compliance.policy import BLOCK, REVIEW, Listing, ListPolicy, SubList, ofac_key
from compliance.sources.base import ParsedList, Source, SourceFile
from compliance.sources.ofac_csv import CONS_FILES
from compliance.sources.ofac_csv import parse_csv_set as _parse_csv_set
from compliance.sources.ofac_xml import parse_enhanced_xml as _parse_enhanced_xml
from compliance.sources.ofac_xml import parse_sdn_xml as _parse_sdn_xml

KEY = "us_ofac_cons"
EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports"
CLASSIC_XML = "CONSOLIDATED.XML"
ENHANCED_XML = "CONS_ENHANCED.XML"


def parse_csv_set(files: Mapping[str, bytes]) -> ParsedList:
    return _parse_csv_set(files, CONS_FILES, KEY, sdn=False)


def parse_sdn_xml(content: bytes, file: str = CLASSIC_XML) -> ParsedList:
    return _parse_sdn_xml(content, file, KEY, sdn=False)


def parse_enhanced_xml(content: bytes, file: str = ENHANCED_XML) -> ParsedList:
    return _parse_enhanced_xml(content, file, KEY)


def parse(files: Mapping[str, bytes]) -> ParsedList:
    if CLASSIC_XML in files:
        return parse_sdn_xml(files[CLASSIC_XML])
    if ENHANCED_XML in files:
        return parse_enhanced_xml(files[ENHANCED_XML])
    return parse_csv_set(files)


# The non-SDN lists, as this source labels them (`lists`) and as the CSL codes them. Only FSE
# prohibits dealings outright; the others restrict some dealings (new debt or equity, securities,
# correspondent accounts, the sanctions chosen from a menu), not an export as such: reviewed.
_RESTRICTS = "restricts some dealings, not all: an officer must look at the program"
NON_SDN_LISTS = (
    SubList(
        "FSE",
        "FSE",
        BLOCK,
        "sanctions",
        labels=("FSE List", "Foreign Sanctions Evaders (FSE) List"),
        publisher="OFAC",
        why="transactions by US persons or in the US involving them are prohibited (EO 13608)",
    ),
    SubList(
        "SSI",
        "SSI",
        REVIEW,
        "sanctions",
        labels=("Sectoral Sanctions Identifications List",),
        publisher="OFAC",
        why=f"directives on new debt or equity (EO 13662); {_RESTRICTS}",
    ),
    SubList(
        "CMIC",
        "NS-CMIC",
        REVIEW,
        "sanctions",
        labels=("Non-SDN CMIC List", "Non-SDN Chinese Military-Industrial Complex Companies List"),
        publisher="OFAC",
        why=f"publicly traded securities may not be bought (EO 13959); {_RESTRICTS}",
    ),
    SubList(
        "MBS",
        "NS-MBS",
        REVIEW,
        "sanctions",
        labels=("Non-SDN Menu-Based Sanctions List",),
        publisher="OFAC",
        why=f"only the sanctions chosen for the entry apply; {_RESTRICTS}",
    ),
    SubList(
        "PLC",
        "NS-PLC",
        REVIEW,
        "sanctions",
        labels=("Non-SDN Palestinian Legislative Council List",),
        publisher="OFAC",
        why=f"not blocked; {_RESTRICTS}",
    ),
    SubList(
        "CAP",
        "CAPTA",
        REVIEW,
        "sanctions",
        labels=("CAPTA List",),
        publisher="OFAC",
        why=f"correspondent and payable-through accounts (31 CFR 561); {_RESTRICTS}",
    ),
)


def merge_key(entry: Listing) -> tuple[str, ...] | None:
    return ofac_key(entry.source_id)  # the ent_num, which the CSL's Treasury rows carry too


SOURCE = Source(
    key=KEY,
    title="OFAC Consolidated Sanctions List (non-SDN)",
    publisher="US Department of the Treasury, Office of Foreign Assets Control",
    files=(
        SourceFile(CONS_FILES.primary, f"{EXPORTS}/CONS_PRIM.CSV", "csv", max_bytes=20_000_000),
        SourceFile(CONS_FILES.address, f"{EXPORTS}/CONS_ADD.CSV", "csv", max_bytes=20_000_000),
        SourceFile(CONS_FILES.alias, f"{EXPORTS}/CONS_ALT.CSV", "csv", max_bytes=20_000_000),
        SourceFile(
            CONS_FILES.comments, f"{EXPORTS}/CONS_COMMENTS.CSV", "csv", max_bytes=20_000_000
        ),
        SourceFile(
            CLASSIC_XML, f"{EXPORTS}/CONSOLIDATED.XML", "xml", required=False, max_bytes=50_000_000
        ),
        SourceFile(
            ENHANCED_XML,
            f"{EXPORTS}/CONS_ENHANCED.XML",
            "xml",
            required=False,
            max_bytes=100_000_000,
        ),
    ),
    parse=parse,
    homepage="https://ofac.treasury.gov/consolidated-sanctions-list-non-sdn-lists",
    policy=ListPolicy(
        display="OFAC Non-SDN Lists",
        category="sanctions",
        decision=REVIEW,  # an entry on none of the known non-SDN lists is looked at
        rank=20,
        sub_lists=NON_SDN_LISTS,
        merge_key=merge_key,
    ),
)
