"""One decision per order line, with its reasons.

Precedence BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR; ERROR is a line that could not be read.

What a sure party match means (BLOCK, LICENSE_REQUIRED or REVIEW) is the listed entry's list
policy, declared by its source (compliance.policy; e.g. OFAC SDN, BIS Denied Persons, UN, UK, EU
and the CSL's SDN, DPL and FSE rows block; the Entity List, MEU and MIEU need a license; the
other lists are reviewed), and the screening puts it on each match (`Match.decision`, strongest
over every source publishing the listing, shown as `Match.list_name`).
A match between the review and block thresholds is REVIEW ("possible match") whatever its list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from anyascii import anyascii

from compliance.orders.embargoes import Embargoes
from compliance.orders.items import CACHE_SIZE, ItemRules, LicenseFn
from compliance.orders.line import PARTY_FIELDS, OrderLine
from compliance.orders.reader import RawRow
from compliance.orders.reasons import (
    DataReason,
    DestinationReason,
    InputReason,
    ItemReason,
    LineResult,
    PartyReason,
    Reason,
)
from compliance.policy import (  # noqa: F401  (DECISIONS: re-exported for the CLI)
    BLOCK,
    CLEAR,
    DECISION_RANK,
    DECISIONS,
    ERROR,
    LICENSE_REQUIRED,
    REVIEW,
)

_RANK = DECISION_RANK
DEFAULT_BLOCK = 90.0
DEFAULT_REVIEW = 80.0


@dataclass(frozen=True)
class ScoreThresholds:
    block: float = DEFAULT_BLOCK
    review: float = DEFAULT_REVIEW

    def __post_init__(self) -> None:
        if not 0 <= self.review <= self.block <= 100:
            raise ValueError(
                f"thresholds must satisfy 0 <= review ({self.review}) <= block ({self.block}) "
                "<= 100"
            )

    def to_dict(self) -> dict[str, float]:
        return {"block": self.block, "review": self.review}


@dataclass(frozen=True)
class Acceptance:
    """An accepted false positive, with whether the listed entry is unchanged since."""

    id: int
    party: str
    source: str
    source_id: str
    by: str
    at: str
    reason: str
    still_valid: bool


def party_key(name: str) -> str:
    """Accepted matches are keyed on the party name, ignoring case, accents, punctuation and
    & / and."""
    text = anyascii(name).lower().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def list_category(m: Any) -> tuple[str, str]:
    """(what a sure match on this listing means, the list's name for the report), from the
    lists' policies as the screening put them on the match."""
    return m.decision or REVIEW, m.list_name or m.source


def _hit_text(reason: PartyReason, m: Any, score: float, sure: bool) -> str:
    """What a party hit decides and why: the entry, its list and type, the score; the license
    terms and Federal Register notices when the list gives them."""
    verb = "matches" if sure else "possibly matches"
    text = (
        f"{reason.decision} {reason.role} {reason.party!r} {verb} {reason.entry} {m.name!r} "
        f"({reason.list_name}, {m.type}) score {_fmt_score(score)}"
    )
    if reason.decision == LICENSE_REQUIRED:
        text += (
            f"; license requirement: {reason.license_requirement or 'n/a'}"
            f"; review policy: {reason.license_policy or 'n/a'}"
        )
    if reason.federal_register_notice:
        text += f"; Federal Register: {reason.federal_register_notice}"
    return text


def _fmt_score(score: float) -> str:
    return f"{score:.1f}"


ScreenFn = Callable[[str, str], list[Any]]


class Decider:
    """Decides order lines. `screen(name, country)` returns matches at or above the review
    threshold (compliance.screening Match objects); `license_fn` is determine_license."""

    def __init__(
        self,
        screen: ScreenFn,
        license_fn: LicenseFn | None,
        unknown_item_error: type[Exception] | None,
        *,
        thresholds: ScoreThresholds | None = None,
        accepted: Mapping[tuple[str, str, str], Acceptance] | None = None,
        on_date: date | None = None,
        mapping: Mapping[str, str] | None = None,
        embargoes: Embargoes | None = None,
        license_kwargs: Mapping[str, Any] | None = None,
        item_key: Callable[[str], str] | None = None,
    ) -> None:
        self.screen: ScreenFn = lru_cache(maxsize=CACHE_SIZE)(screen)
        self.items = (
            ItemRules(license_fn, unknown_item_error, on_date, license_kwargs, item_key)
            if license_fn is not None
            else None
        )
        self.thresholds = thresholds or ScoreThresholds()
        self.accepted = dict(accepted or {})
        self.on_date = on_date
        self.mapping = dict(mapping or {})
        self.embargoes = embargoes or Embargoes({}, ())
        self._embargo_cache: dict[str, dict[str, str] | None] = {}
        self._country_cache: dict[str, str | None] = {}

    # --- rows -------------------------------------------------------------------------------
    def to_line(self, raw: RawRow) -> OrderLine | str:
        """The order line of a raw row, or the reason it is malformed."""
        if raw.error:
            return raw.error
        vals = {f: raw.values.get(col, "").strip() for f, col in self.mapping.items()}
        if not vals.get("order_id"):
            return "order_id is empty"
        if not any(vals.get(f) for f in (*PARTY_FIELDS, "item")):
            return "no customer, end_user or item on this line"
        return OrderLine(line=raw.line, **vals)

    def lookups(
        self, parsed: OrderLine | str
    ) -> tuple[list[tuple[str, str]], tuple[str, str, str] | None]:
        """What deciding this line will look up: the (name, country) pairs it screens, and the
        (item, destination code, headquarters) key of its license decision, if any."""
        if isinstance(parsed, str):
            return [], None
        parties = [(p["name"], p["country"]) for p in parsed.parties()]
        item_key = None
        if parsed.item and parsed.destination and self.items is not None:
            code = self._country_of(parsed.destination)
            if code is not None:
                item_key = (parsed.item, code, parsed.end_user_hq)
        return parties, item_key

    def decide_row(self, raw: RawRow, parsed: OrderLine | str | None = None) -> LineResult:
        if parsed is None:
            parsed = self.to_line(raw)
        order_id = raw.values.get(self.mapping.get("order_id", ""), "").strip()
        if isinstance(parsed, str):
            unread = InputReason(decision=ERROR, line=raw.line, text=f"line {raw.line}: {parsed}")
            return LineResult(raw.line, order_id, ERROR, [unread], raw.values)
        try:
            result = self.decide(parsed)
        except Exception as exc:  # a bug or a failing dependency must not stop the run
            failed = InputReason(
                decision=ERROR,
                line=raw.line,
                text=f"line {raw.line}: could not be checked ({exc.__class__.__name__}: {exc})",
            )
            return LineResult(raw.line, order_id, ERROR, [failed], raw.values, parsed.parties())
        result.values = raw.values
        return result

    # --- decision ---------------------------------------------------------------------------
    def decide(self, line: OrderLine) -> LineResult:
        reasons: list[Reason] = []
        reasons += self._destination_reasons(line)
        for party in line.parties():
            reasons += self.party_reasons(party["role"], party["name"], party["country"])
        if line.item:
            reasons += self._item_reasons(line)
        if line.quantity and not re.fullmatch(r"\d+(\.0+)?", line.quantity.replace(",", "")):
            reasons.append(
                DataReason(
                    decision=REVIEW,
                    text=f"REVIEW quantity {line.quantity!r} is not a whole number",
                )
            )
        decision = max((r.decision for r in reasons), key=_RANK.__getitem__, default=CLEAR)
        return LineResult(
            line.line,
            line.order_id,
            decision,
            reasons,
            {},
            line.parties(),
            line.item,
            line.destination,
        )

    def _destination_reasons(self, line: OrderLine) -> list[Reason]:
        out: list[Reason] = []
        checks = (
            ("destination", line.destination, BLOCK),
            ("end_user_country", line.end_user_country, BLOCK),  # the ultimate destination
            ("end_user_hq", line.end_user_hq, REVIEW),
            ("customer_country", line.customer_country, REVIEW),
        )
        for fieldname, value, decision in checks:
            hit = self._embargo(value) if value else None
            if hit:
                out.append(
                    DestinationReason(
                        decision=decision,
                        order_field=fieldname,
                        value=value,
                        embargo=hit["name"],
                        cite=hit["cite"],
                        text=f"{decision} {fieldname} {value!r} is under a comprehensive "
                        f"embargo ({hit['name']}; {hit['cite']})",
                    )
                )
        return out

    def party_reasons(self, role: str, name: str, country: str) -> list[Reason]:
        """The reasons one party gives: each listed entry it matches at or above the review
        threshold, with what the entry's list says (or the acceptance that clears it)."""
        pkey = party_key(name)
        return [
            self._party_reason(role, name, pkey, m)
            for m in self.screen(name, country)
            if float(m.score) >= self.thresholds.review
        ]

    def _party_reason(self, role: str, name: str, pkey: str, m: Any) -> PartyReason:
        score = float(m.score)
        category, list_name = list_category(m)
        decision = category if score >= self.thresholds.block else REVIEW
        entry = f"{m.source}:{m.source_id}"
        fields = m.fields or {}
        notice = " ".join(str(fields.get("federal_register_notice") or "").split()).strip(", ")
        reason = PartyReason(
            decision=decision,
            text="",
            role=role,
            party=name,
            source=m.source,
            source_id=str(m.source_id),
            entry=entry,
            sources=[f"{s['source']}:{s['source_id']}" for s in (m.sources or [])],
            name=m.name,
            matched_name=m.matched_name,
            score=round(score, 2),
            list_name=list_name,
            sub_lists=list(m.sub_lists),
            category=m.category,
            type=m.type,
            programs=list(m.programs or []),
            explanation=m.explanation,
            data_date=(m.snapshot or {}).get("data_date"),
            license_requirement=fields.get("license_requirement") or None,
            license_policy=fields.get("license_policy") or None,
            federal_register_notice=notice or None,
            standard_order=fields.get("standard_order") or None,
        )
        text = _hit_text(reason, m, score, score >= self.thresholds.block)
        acc = self._acceptance(pkey, m)
        if acc is not None and acc.still_valid:
            reason.accepted = {
                "id": acc.id, "by": acc.by, "at": acc.at, "reason": acc.reason, "was": decision
            }  # fmt: skip
            reason.decision = CLEAR
            text = (
                f"ACCEPTED {role} {name!r} is not {acc.source}:{acc.source_id} "
                f"({m.name!r}, score {_fmt_score(score)}): accepted by {acc.by} on "
                f"{acc.at[:10]}: {acc.reason}"
            )
        elif acc is not None:
            reason.accepted_stale = {"id": acc.id, "by": acc.by, "at": acc.at}
            text += (
                f"; accepted by {acc.by} on {acc.at[:10]} but the entry has changed "
                "since, so it is raised again"
            )
        reason.text = text + f": {m.explanation}" if m.explanation else text
        return reason

    def _acceptance(self, pkey: str, m: Any) -> Acceptance | None:
        entries = [(m.source, str(m.source_id))]
        entries += [(s["source"], str(s["source_id"])) for s in (m.sources or [])]
        found = None
        for src, sid in entries:
            acc = self.accepted.get((pkey, src, sid))
            if acc is not None:
                if acc.still_valid:
                    return acc
                found = acc
        return found

    def _item_reasons(self, line: OrderLine) -> Sequence[Reason]:
        if self.items is None:
            return [
                ItemReason(
                    decision=REVIEW,
                    item=line.item,
                    text=f"REVIEW item {line.item!r}: the chip rules are not available",
                )
            ]
        dest = line.destination
        if not dest:
            return [
                DataReason(
                    decision=REVIEW,
                    item=line.item,
                    text=f"REVIEW item {line.item!r}: no destination, which the export rules need",
                )
            ]
        dest_code = self._country_of(dest)
        if dest_code is None:
            return [
                DataReason(
                    decision=REVIEW,
                    item=line.item,
                    text=f"REVIEW destination {dest!r} is not a recognised country",
                )
            ]
        return self.items.reasons((line.item, dest_code, line.end_user_hq))

    def _embargo(self, value: str) -> dict[str, str] | None:
        if value not in self._embargo_cache:
            if len(self._embargo_cache) > CACHE_SIZE:
                self._embargo_cache.clear()
            self._embargo_cache[value] = self.embargoes.find(value, self.on_date)
        return self._embargo_cache[value]

    def _country_of(self, value: str) -> str | None:
        if value not in self._country_cache:
            if len(self._country_cache) > CACHE_SIZE:
                self._country_cache.clear()
            self._country_cache[value] = self.embargoes.country_of(value)
        return self._country_cache[value]
