"""Request and response shapes. The party, match and result are the library's own dataclasses
(compliance.screening.Query, Match, ScreenResult): the API adds only its envelope fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from pydantic import Field

from compliance.rules.license import LicenseDecision
from compliance.screening import DEFAULT_THRESHOLD, Query, ScreenResult
from compliance.store.status import SourceStatus

_STRICT = pydantic.ConfigDict(extra="forbid")
Threshold = Annotated[float, Field(ge=0, le=100)]
Limit = Annotated[int, Field(ge=1, le=100)]


@pydantic.dataclasses.dataclass(config=_STRICT)
class ScreenRequest(Query):
    """One party (the library's Query: name, type, country, dob, id) and how to screen it."""

    threshold: Threshold = DEFAULT_THRESHOLD
    lists: list[str] | None = None
    limit: Limit = 10
    algorithm: str = "default"


@dataclass
class ScreenResponse(ScreenResult):
    """The CLI's `screen --format json` result, plus the snapshot ids the answer used."""

    snapshots: dict[str, int] = field(default_factory=dict)


@pydantic.dataclasses.dataclass(config=_STRICT)
class BatchRequest:
    parties: list[Query]
    threshold: Threshold = DEFAULT_THRESHOLD
    lists: list[str] | None = None
    limit: Limit = 10
    algorithm: str = "default"


@dataclass
class BatchItem:
    index: int
    result: ScreenResult | None = None
    error: dict[str, Any] | None = None  # a problem document for this party


@dataclass
class BatchResponse:
    results: list[BatchItem]
    snapshots: dict[str, int]


@pydantic.dataclasses.dataclass(config=_STRICT)
class ClassifyRequest:
    """A catalog model name, or the chip's figures."""

    model: str | None = None
    tops: float | None = None
    bits: int | None = None
    die_area: float | None = None
    datacenter: bool = True


@pydantic.dataclasses.dataclass(config=_STRICT)
class LicenseRequest:
    item: str
    destination: str
    end_user: str | None = None
    end_user_hq: str | None = None
    date: str | None = None  # YYYY-MM-DD, default today


@dataclass
class SourceRow(SourceStatus):
    """The library's SourceStatus of one list, plus its age and whether it is too old."""

    age_days: float | None = None  # days since its own date (else since it was fetched)
    stale: bool = False  # older than the service's stale_days


@dataclass
class SourcesResponse:
    sources: list[SourceRow]
    snapshots_in_use: dict[str, int]
    stale_after_days: int


__all__ = [
    "BatchItem",
    "BatchRequest",
    "BatchResponse",
    "ClassifyRequest",
    "LicenseDecision",
    "LicenseRequest",
    "ScreenRequest",
    "ScreenResponse",
    "SourceRow",
    "SourcesResponse",
]
