"""Screen a party (name plus optional type, country, birth date, identifier) against the lists.

Every match carries its evidence: which source and entry, which snapshot of the list (date,
checksum), which listed name matched, which tokens aligned, and what each qualifier did.
"""

from compliance.screening.compare import compare
from compliance.screening.match import NAME_KIND_MEANING, Match, Qualifier, ScreenResult
from compliance.screening.query import (
    ALGORITHMS,
    DEFAULT_THRESHOLD,
    MAX_NAME_LENGTH,
    Query,
    ScreeningError,
)
from compliance.screening.screener import Screener, screen

__all__ = [
    "ALGORITHMS", "DEFAULT_THRESHOLD", "MAX_NAME_LENGTH", "NAME_KIND_MEANING", "Match", "Qualifier",
    "Query", "ScreenResult", "Screener", "ScreeningError", "compare", "screen",
]  # fmt: skip
