"""What a list means: the decision vocabulary and the per-list policy each `Source` declares.

This module is neutral ground: sources declare their policy with it, and the index, screening
and order decisions read it, so none of them names a source key. It imports nothing of the
project.

A `ListPolicy` says, for one source: its display name, its category (sanctions, export control,
other), what a sure hit on it means (BLOCK, LICENSE_REQUIRED or REVIEW), its rank when several
sources show one listing, how a listing it shares with other sources is recognised (merge key),
and, for a source that mixes lists (the CSL: SDN, Entity List, UVL...), the same per sub-list.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol

BLOCK: Final = "BLOCK"
LICENSE_REQUIRED: Final = "LICENSE_REQUIRED"
REVIEW: Final = "REVIEW"
CLEAR: Final = "CLEAR"
ERROR: Final = "ERROR"
DECISIONS = (BLOCK, LICENSE_REQUIRED, REVIEW, CLEAR, ERROR)
DECISION_RANK = {CLEAR: 0, REVIEW: 1, LICENSE_REQUIRED: 2, BLOCK: 3}
HitDecision = Literal["BLOCK", "LICENSE_REQUIRED", "REVIEW"]
Category = Literal["sanctions", "export_control", "other"]
CATEGORIES = ("sanctions", "export_control", "other")
DEFAULT_RANK = 1000  # after every source that states a rank


class Listing(Protocol):
    """What a merge key may read of a listed entry (the index's EntityInfo has these)."""

    source_id: str
    name: str
    lists: list[str]
    fields: dict[str, Any]

    @property
    def compact_name(self) -> str:
        """The name as the matcher compares it (legal forms set aside, no spaces)."""
        ...


MergeKey = Callable[[Listing], "tuple[str, ...] | None"]


@dataclass(frozen=True)
class SubList:
    """One list published inside a source (a CSL sub-list, an OFAC non-SDN list)."""

    code: str  # the source's short code, as the parser writes it in fields["list_codes"]
    name: str  # display name: "Entity List", "UVL", "NS-CMIC"
    decision: HitDecision  # what a sure hit on it means
    category: Category
    labels: tuple[str, ...] = ()  # the sub-list's names as the source writes them in `lists`
    publisher: str = ""  # who keeps it ("OFAC", "BIS", "State"): OFAC's share OFAC's ids
    why: str = ""  # one line: the reason for the decision

    def __post_init__(self) -> None:
        _check(self.decision, self.category, self.code)


@dataclass(frozen=True)
class Vocabulary:
    """A source's own words for entity types and countries (keys compared case-insensitively)."""

    types: Mapping[str, str] = field(default_factory=dict)  # "individual" -> "person"
    countries: Mapping[str, str] = field(default_factory=dict)  # "gaza strip" -> "PS"

    def entity_type(self, word: str) -> str | None:
        return self.types.get(word.strip().casefold())

    def country(self, word: str) -> str | None:
        return self.countries.get(word.strip().casefold())


@dataclass(frozen=True)
class Hit:
    """What a sure hit on one listed entry means, and how to show its list."""

    decision: str
    category: str
    list_name: str  # "CSL · Entity List", "BIS Denied Persons List"
    sub_lists: tuple[str, ...]  # display names of the sub-lists it is on
    rank: int


@dataclass(frozen=True)
class ListPolicy:
    display: str  # how a hit names the source: "CSL", "OFAC SDN List"
    category: Category
    decision: HitDecision  # a sure hit, when no sub-list says otherwise
    rank: int = DEFAULT_RANK  # lower first when several sources are shown together
    sub_lists: tuple[SubList, ...] = ()
    merge_key: MergeKey | None = None  # None: the entry is only its own source's
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    why: str = ""

    def __post_init__(self) -> None:
        _check(self.decision, self.category, self.display)

    def sub_lists_of(self, lists: Iterable[str], codes: Iterable[str] = ()) -> list[SubList]:
        """The declared sub-lists an entry is on, by its sub-list codes or list labels."""
        codes = set(codes)
        labels = {x.strip().casefold() for x in lists}
        return [
            s
            for s in self.sub_lists
            if s.code in codes or any(lb.casefold() in labels for lb in s.labels)
        ]

    def hit(self, lists: Iterable[str], fields: Mapping[str, Any]) -> Hit:
        codes = fields.get("list_codes") or [fields.get("list_code")]
        subs = self.sub_lists_of(lists, codes)
        if not subs:
            return Hit(self.decision, self.category, self.display, (), self.rank)
        strongest = max(subs, key=lambda s: DECISION_RANK[s.decision])
        names = tuple(s.name for s in subs)
        return Hit(
            strongest.decision,
            strongest.category,
            f"{self.display} · {' / '.join(names)}",
            names,
            self.rank,
        )

    def key_of(self, source: str, entry: Listing) -> tuple[str, ...]:
        """The merge key: a shared key when the policy recognises one, else the entry's own."""
        shared = self.merge_key(entry) if self.merge_key else None
        return shared or (source, entry.source_id)

    def fingerprint(self) -> str:
        """What changes grouping or ranking, as text (the index cache key includes it): the
        rank, the sub-lists, and the merge key with the code of the module defining it."""
        fn = self.merge_key
        where = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}" if fn else ""
        subs = [(s.code, s.publisher) for s in self.sub_lists]
        return f"{self.rank}|{subs}|{where}|{_module_digest(fn) if fn else ''}"


def _module_digest(fn: Callable[..., Any]) -> str:
    module = sys.modules.get(getattr(fn, "__module__", ""))
    file = getattr(module, "__file__", None)
    try:
        return hashlib.sha256(Path(file).read_bytes()).hexdigest()[:12] if file else ""
    except OSError:
        return ""


def unknown_policy(source: str) -> ListPolicy:
    """For a source in the database that no registered Source declares (removed since): its
    hits are shown under its key and always looked at."""
    return ListPolicy(
        display=source,
        category="other",
        decision=REVIEW,
        why="no policy is registered for this source",
    )


def _check(decision: str, category: str, what: str) -> None:
    if decision not in (BLOCK, LICENSE_REQUIRED, REVIEW):
        raise ValueError(f"{what}: decision {decision!r} is not BLOCK, LICENSE_REQUIRED or REVIEW")
    if category not in CATEGORIES:
        raise ValueError(f"{what}: category {category!r} is not one of {', '.join(CATEGORIES)}")


# --- merge keys shared by several sources --------------------------------------------------


def ofac_key(ent_num: Any) -> tuple[str, ...] | None:
    """An OFAC entry by its ent_num (OFAC's own files and the CSL's Treasury rows)."""
    number = str(ent_num or "").strip()
    return ("ofac", number) if number else None


def denial_order_key(entry: Listing, effective_date: Any) -> tuple[str, ...] | None:
    """A BIS denial order by the denied party's name and the order's date (dpl.txt and the
    CSL's DPL rows). The name is the matcher's compact form, which sets legal forms aside
    ("GLOBE METALS AB" = "GLOBE METALS", which dpl.txt writes both ways)."""
    compact = entry.compact_name
    return ("dpl", compact, str(effective_date or "")) if compact else None


def un_reference(value: Any) -> str:
    """A UN Security Council reference ("QDi.003") as the UN, UK and EU lists write it."""
    text = str(value or "").strip().rstrip(".").upper()
    return text if re.fullmatch(r"[A-Z]{2,4}\.\d{1,4}", text) else ""


def un_key(value: Any) -> tuple[str, ...] | None:
    """A UN designation by its reference (the UN list, and the UK and EU lists citing it)."""
    ref = un_reference(value)
    return ("un", ref) if ref else None
