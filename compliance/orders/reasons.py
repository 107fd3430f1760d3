"""Why an order line gets its decision: one typed reason per finding, and the line's result.

Every reason says what it decides and why in one sentence (`text`); its kind adds what an
auditor needs: the matched entry and its list (PartyReason), the embargo (DestinationReason),
the ECCN and the rules applied (ItemReason), a value that could not be used (DataReason), a line
that could not be read (InputReason). `to_dict()` is the JSON form written to the results, the
audit trail and the API; `reason_from_dict` reads it back from the audit trail.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypedDict


def _optional() -> Any:
    """A field left out of the JSON form when it is None (it only applies to some reasons)."""
    return field(default=None, metadata={"omit_none": True})


def _named(key: str) -> Any:
    """A field whose JSON key is `key` (a word Python keeps for itself: list, field)."""
    return field(metadata={"key": key})


class Party(TypedDict):
    role: str  # customer | end_user
    name: str
    country: str


@dataclass(kw_only=True)
class Reason:
    kind: ClassVar[str] = ""
    decision: str  # BLOCK, LICENSE_REQUIRED, REVIEW, CLEAR or ERROR
    text: str

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[f.metadata.get("key", f.name)] = value
        return out


@dataclass(kw_only=True)
class InputReason(Reason):
    """A line that could not be read or checked."""

    kind: ClassVar[str] = "input"
    line: int


@dataclass(kw_only=True)
class DataReason(Reason):
    """A value on the line that the checks cannot use (a quantity in words, no destination)."""

    kind: ClassVar[str] = "data"
    item: str | None = _optional()


@dataclass(kw_only=True)
class DestinationReason(Reason):
    """A destination or party country under a comprehensive embargo."""

    kind: ClassVar[str] = "destination"
    order_field: str = _named("field")  # destination, end_user_country, end_user_hq...
    value: str
    embargo: str
    cite: str


@dataclass(kw_only=True)
class PartyReason(Reason):
    """A customer or end user matching a listed entry, with what the list says about it."""

    kind: ClassVar[str] = "party"
    role: str
    party: str  # the name as the order gives it
    source: str
    source_id: str
    entry: str  # SOURCE:ID
    sources: list[str]  # every SOURCE:ID publishing the same listing
    name: str  # the listed name
    matched_name: str
    score: float
    list_name: str = _named("list")  # as the list's policy names it: "CSL · Entity List"
    sub_lists: list[str]
    category: str
    type: str  # the listed entry's type (person, organization, vessel, aircraft)
    programs: list[str]
    explanation: str
    data_date: str | None  # the list's own date, when it states one
    license_requirement: str | None = _optional()
    license_policy: str | None = _optional()
    federal_register_notice: str | None = _optional()
    standard_order: str | None = _optional()
    accepted: dict[str, Any] | None = _optional()  # the acceptance that clears it
    accepted_stale: dict[str, Any] | None = _optional()  # accepted once; the entry changed


@dataclass(kw_only=True)
class ItemReason(Reason):
    """The export rules for the item to the destination (or why they could not be applied)."""

    kind: ClassVar[str] = "item"
    item: str
    model: str | None = _optional()
    eccn: str | None = None
    tpp: float | None = _optional()
    destination: str | None = _optional()
    cite: str | None = _optional()
    rules: list[dict[str, Any]] | None = _optional()  # the rules' own reasons, for the record
    suggestions: list[str] | None = _optional()  # catalog names close to an unknown item


REASON_KINDS: dict[str, type[Reason]] = {
    cls.kind: cls for cls in (InputReason, DataReason, DestinationReason, PartyReason, ItemReason)
}


def reason_from_dict(data: dict[str, Any]) -> Reason:
    """A reason as `to_dict` wrote it (the audit trail); keys a newer version added are kept
    out, keys an older version lacked take their defaults."""
    cls = REASON_KINDS.get(str(data.get("kind")), DataReason)
    values: dict[str, Any] = {}
    for f in fields(cls):
        key = f.metadata.get("key", f.name)
        if key in data:
            values[f.name] = data[key]
        elif f.default is MISSING and f.default_factory is MISSING:
            values[f.name] = None  # written before the field existed
    return cls(**values)


@dataclass
class LineResult:
    """The decision of one order line: the strongest of its reasons, CLEAR when none."""

    line: int
    order_id: str
    decision: str
    reasons: list[Reason]
    values: dict[str, str] = field(default_factory=dict)  # the input columns, as read
    parties: list[Party] = field(default_factory=list)
    item: str = ""
    destination: str = ""

    def reasons_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]
