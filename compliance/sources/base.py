"""The contract every source module fulfils: official files in, `EntityRecord`s out.

A source module exposes one `SOURCE = Source(...)` naming its official files, a `parse`
function that turns the downloaded bytes (keyed by official file name) into a `ParsedList`, and
its `policy` (compliance.policy.ListPolicy): what a hit on the list means, how it is shown and
ranked, and how a listing it shares with other sources is recognised. Parsers never touch the
network or the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from compliance.policy import ListPolicy

EntityType = Literal["person", "organization", "vessel", "aircraft", "unknown"]
ENTITY_TYPES: tuple[str, ...] = ("person", "organization", "vessel", "aircraft", "unknown")
NameKind = Literal["primary", "aka", "fka", "nka", "weak_aka", "original_script"]
FileKind = Literal["csv", "xml", "xlsx", "text", "json"]


class SourceError(Exception):
    """A problem with one source's official files: names the source, file and, if known, line."""

    def __init__(
        self, message: str, *, source: str = "", file: str = "", line: int | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.source, self.file) if p)
        if self.line is not None:
            where = f"{where} line {self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class ParseError(SourceError):
    """The file is not in the format the official publisher uses (or is damaged)."""


@dataclass
class Name:
    name: str
    kind: str = "aka"  # one of NameKind
    script: str | None = None  # e.g. "Cyrillic", "Arabic", "Han" for original-script names
    quality: str | None = None  # e.g. OFAC "weak"/"strong", UK "Good quality"


@dataclass
class Address:
    full: str = ""
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None  # as the list wrote it
    country_code: str | None = None  # ISO 3166-1 alpha-2 where it can be derived


@dataclass
class Identifier:
    type: str
    number: str
    country: str | None = None  # ISO alpha-2 where it can be derived, else as written
    note: str | None = None


@dataclass
class EntityRecord:
    source_id: str  # the list's own identifier (OFAC ent_num, CSL _id, UN DATAID, UK Group ID...)
    entity_type: str  # one of ENTITY_TYPES
    name: str  # primary name as the list writes it
    names: list[Name] = field(default_factory=list)  # every name incl. the primary
    programs: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)  # sub-list(s), e.g. "Entity List (EL)"
    addresses: list[Address] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    dates_of_birth: list[str] = field(default_factory=list)  # ISO "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    nationalities: list[str] = field(default_factory=list)  # ISO alpha-2 where derivable
    countries: list[str] = field(default_factory=list)  # every ISO alpha-2 the record ties it to
    remarks: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # list-specific (license_requirement...)
    raw: dict[str, Any] = field(default_factory=dict)  # the record as the list stated it

    def __post_init__(self) -> None:
        if not any(n.kind == "primary" for n in self.names):
            self.names.insert(0, Name(self.name, "primary"))


@dataclass
class ParsedList:
    records: list[EntityRecord]
    data_date: str | None = None  # the date the files state (ISO), None if they state none
    warnings: list[str] = field(default_factory=list)  # non-fatal oddities, reported to the user
    rows_read: int | None = None  # data rows in the main file, where rows != entities
    meta: dict[str, Any] = field(default_factory=dict)  # facts about the list as a whole


Parser = Callable[[Mapping[str, bytes]], ParsedList]
Discoverer = Callable[[Mapping[str, bytes], "list[str] | None"], "tuple[SourceFile, ...]"]


@dataclass(frozen=True)
class SourceFile:
    name: str  # official file name; also the file name inside a mirror directory
    url: str
    kind: FileKind
    required: bool = True
    max_bytes: int = 200 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    key: str  # e.g. "us_ofac_sdn"; the mirror sub-directory
    title: str
    publisher: str
    files: tuple[SourceFile, ...]
    parse: Parser
    homepage: str = ""
    # Files known only once `files` are read (e.g. the rule XMLs a Federal Register search
    # lists): called with the fetched contents, and with the mirror folder's file names when
    # reading a mirror directory (None otherwise); returns more files to fetch.
    discover: Discoverer | None = None
    mirror_key: str = ""  # mirror sub-directory when it differs from `key`
    # What the list means; required, so that no new list gets a decision by default.
    policy: ListPolicy = field(kw_only=True)
