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

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from anyascii import anyascii

from compliance.countries import country_name, to_iso2
from compliance.datafiles import data_file
from compliance.orders.reader import PARTY_FIELDS, RawRow
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
# Entries kept by each lookup cache: memory stays bounded whatever the file's size.
CACHE_SIZE = 20_000
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


@dataclass
class OrderLine:
    line: int
    order_id: str
    customer: str = ""
    customer_country: str = ""
    end_user: str = ""
    end_user_country: str = ""
    end_user_hq: str = ""
    destination: str = ""
    item: str = ""
    quantity: str = ""

    def parties(self) -> list[dict[str, str]]:
        out = []
        for role in PARTY_FIELDS:
            name = getattr(self, role).strip()
            if name:
                country = getattr(self, f"{role}_country")
                out.append({"role": role, "name": name, "country": country})
        return out


@dataclass
class LineResult:
    line: int
    order_id: str
    decision: str
    reasons: list[dict[str, Any]]
    values: dict[str, str] = field(default_factory=dict)
    parties: list[dict[str, str]] = field(default_factory=list)
    item: str = ""
    destination: str = ""


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


@dataclass(frozen=True)
class Embargoes:
    """Comprehensive embargoes: countries (Country Groups E:1 and E:2 of the chip rules) and the
    regions of data/embargoes.json that no country code expresses (Crimea, DNR, LNR)."""

    countries: dict[str, dict[str, str]]  # iso2 -> {"name", "cite"}
    regions: tuple[dict[str, Any], ...]
    source: str = ""

    def find(self, destination: str, on_date: date | None = None) -> dict[str, str] | None:
        """The embargo covering this destination text, if any. Regions are found by name before
        the text is reduced to a country code, which would lose them."""
        if not destination.strip():
            return None
        day = (on_date or date.today()).isoformat()
        text = f" {_words(destination)} "
        for region in self.regions:
            if region["from"] <= day and any(k in text for k in region["_keys"]):
                return {"name": region["name"], "cite": region["cite"]}
        return self.countries.get(to_iso2(destination) or "")

    def country_of(self, destination: str) -> str | None:
        """ISO code of a destination, also when it is written as an embargoed region."""
        code = to_iso2(destination)
        if code is None:
            text = f" {_words(destination)} "
            for region in self.regions:
                if any(k in text for k in region["_keys"]):
                    return str(region["iso2"])
        return code


def load_embargoes(engine: Any = None) -> Embargoes:
    from compliance.rules.country_groups import load_groups
    from compliance.rules.license import EMBARGO_CITES

    groups = load_groups(engine)
    countries = {}
    for group in ("E:1", "E:2"):
        for code in sorted(groups.members(group)):
            cite = EMBARGO_CITES.get(code, "15 CFR part 746")
            countries[code] = {
                "name": country_name(code) or code,
                "cite": f"{cite}; Country Group {group} ({groups.source})",
            }
    data = json.loads(data_file("embargoes.json").read_text(encoding="utf-8"))
    regions = []
    for region in data["regions"]:
        regions.append(region | {"_keys": [f" {_words(a)} " for a in region["aliases"]]})
    return Embargoes(countries, tuple(regions), groups.source)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", anyascii(text).lower()).split())


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    return " | ".join(r["text"] for r in reasons)


def _fmt_score(score: float) -> str:
    return f"{score:.1f}"


ScreenFn = Callable[[str, str], list[Any]]
LicenseFn = Callable[..., Any]


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
        self.screen = lru_cache(maxsize=CACHE_SIZE)(screen)
        self.license_fn = license_fn
        self.unknown_item_error = unknown_item_error
        self.thresholds = thresholds or ScoreThresholds()
        self.accepted = dict(accepted or {})
        self.on_date = on_date
        self.mapping = dict(mapping or {})
        self.embargoes = embargoes or Embargoes({}, ())
        self.license_kwargs = dict(license_kwargs or {})
        self._license_cache: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._embargo_cache: dict[str, dict[str, str] | None] = {}
        self._country_cache: dict[str, str | None] = {}
        # the rules' answers per (model, destination, headquarters): aliases share one call
        self._rules_cache: dict[tuple[str, str, str | None], tuple[bool, Any]] = {}
        self._item_key = lru_cache(maxsize=10_000)(item_key) if item_key else str.lower

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
        if parsed.item and parsed.destination and self.license_fn is not None:
            code = self._country_of(parsed.destination)
            if code is not None:
                item_key = (parsed.item, code, parsed.end_user_hq)
        return parties, item_key

    def decide_row(self, raw: RawRow, parsed: OrderLine | str | None = None) -> LineResult:
        if parsed is None:
            parsed = self.to_line(raw)
        order_id = raw.values.get(self.mapping.get("order_id", ""), "").strip()
        if isinstance(parsed, str):
            reason = {
                "kind": "input",
                "decision": ERROR,
                "line": raw.line,
                "text": f"line {raw.line}: {parsed}",
            }
            return LineResult(raw.line, order_id, ERROR, [reason], raw.values)
        try:
            result = self.decide(parsed)
        except Exception as exc:  # a bug or a failing dependency must not stop the run
            reason = {
                "kind": "input",
                "decision": ERROR,
                "line": raw.line,
                "text": f"line {raw.line}: could not be checked ({exc.__class__.__name__}: {exc})",
            }
            return LineResult(raw.line, order_id, ERROR, [reason], raw.values, parsed.parties())
        result.values = raw.values
        return result

    # --- decision ---------------------------------------------------------------------------
    def decide(self, line: OrderLine) -> LineResult:
        reasons: list[dict[str, Any]] = []
        reasons += self._destination_reasons(line)
        for party in line.parties():
            reasons += self._party_reasons(party["role"], party["name"], party["country"])
        if line.item:
            reasons += self._item_reasons(line)
        if line.quantity and not re.fullmatch(r"\d+(\.0+)?", line.quantity.replace(",", "")):
            reasons.append(
                {
                    "kind": "data",
                    "decision": REVIEW,
                    "text": f"REVIEW quantity {line.quantity!r} is not a whole number",
                }
            )
        decision = max((r["decision"] for r in reasons), key=_RANK.__getitem__, default=CLEAR)
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

    def _destination_reasons(self, line: OrderLine) -> list[dict[str, Any]]:
        out = []
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
                    {
                        "kind": "destination",
                        "decision": decision,
                        "field": fieldname,
                        "value": value,
                        "embargo": hit["name"],
                        "cite": hit["cite"],
                        "text": f"{decision} {fieldname} {value!r} is under a comprehensive "
                        f"embargo ({hit['name']}; {hit['cite']})",
                    }
                )
        return out

    def _party_reasons(self, role: str, name: str, country: str) -> list[dict[str, Any]]:
        out = []
        pkey = party_key(name)
        for m in self.screen(name, country):
            score = float(m.score)
            if score < self.thresholds.review:
                continue
            category, list_name = list_category(m)
            decision = category if score >= self.thresholds.block else REVIEW
            entry = f"{m.source}:{m.source_id}"
            reason: dict[str, Any] = {
                "kind": "party",
                "decision": decision,
                "role": role,
                "party": name,
                "source": m.source,
                "source_id": str(m.source_id),
                "entry": entry,
                "sources": [f"{s['source']}:{s['source_id']}" for s in (m.sources or [])],
                "name": m.name,
                "matched_name": m.matched_name,
                "score": round(score, 2),
                "list": list_name,
                "sub_lists": list(m.sub_lists),
                "category": m.category,
                "programs": list(m.programs or []),
                "explanation": m.explanation,
                "data_date": (m.snapshot or {}).get("data_date"),
            }
            fields = m.fields or {}
            for key in (
                "license_requirement",
                "license_policy",
                "federal_register_notice",
                "standard_order",
            ):
                if fields.get(key):
                    reason[key] = fields[key]
            acc = self._acceptance(pkey, m)
            verb = "matches" if score >= self.thresholds.block else "possibly matches"
            text = (
                f"{decision} {role} {name!r} {verb} {entry} {m.name!r} ({list_name}) "
                f"score {_fmt_score(score)}"
            )
            if decision == LICENSE_REQUIRED:
                text += (
                    f"; license requirement: {fields.get('license_requirement') or 'n/a'}"
                    f"; review policy: {fields.get('license_policy') or 'n/a'}"
                )
            if acc is not None and acc.still_valid:
                reason["accepted"] = {
                    "id": acc.id,
                    "by": acc.by,
                    "at": acc.at,
                    "reason": acc.reason,
                    "was": decision,
                }
                reason["decision"] = CLEAR
                text = (
                    f"ACCEPTED {role} {name!r} is not {acc.source}:{acc.source_id} "
                    f"({m.name!r}, score {_fmt_score(score)}): accepted by {acc.by} on "
                    f"{acc.at[:10]}: {acc.reason}"
                )
            elif acc is not None:
                reason["accepted_stale"] = {"id": acc.id, "by": acc.by, "at": acc.at}
                text += (
                    f"; accepted by {acc.by} on {acc.at[:10]} but the entry has changed "
                    "since, so it is raised again"
                )
            reason["text"] = text + f": {m.explanation}" if m.explanation else text
            out.append(reason)
        return out

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

    def _item_reasons(self, line: OrderLine) -> list[dict[str, Any]]:
        if self.license_fn is None:
            return [
                {
                    "kind": "item",
                    "decision": REVIEW,
                    "item": line.item,
                    "text": f"REVIEW item {line.item!r}: the chip rules are not available",
                }
            ]
        dest = line.destination
        if not dest:
            return [
                {
                    "kind": "data",
                    "decision": REVIEW,
                    "item": line.item,
                    "text": f"REVIEW item {line.item!r}: no destination, which the export "
                    "rules need",
                }
            ]
        dest_code = self._country_of(dest)
        if dest_code is None:
            return [
                {
                    "kind": "data",
                    "decision": REVIEW,
                    "item": line.item,
                    "text": f"REVIEW destination {dest!r} is not a recognised country",
                }
            ]
        key = (line.item, dest_code, line.end_user_hq)
        if key not in self._license_cache:
            if len(self._license_cache) > CACHE_SIZE:
                self._license_cache.clear()
            self._license_cache[key] = self.license_reasons(key)
        return [dict(r) for r in self._license_cache[key]]

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

    def _rules(self, item: str, dest: str, hq: str | None) -> Any:
        assert self.license_fn is not None
        key = (self._item_key(item), dest, hq)
        if key not in self._rules_cache:
            if len(self._rules_cache) > CACHE_SIZE:
                self._rules_cache.clear()
            try:
                answer = (True, self.license_fn(item, dest, end_user_hq=hq, on_date=self.on_date,
                                                **self.license_kwargs))  # fmt: skip
            except Exception as exc:
                answer = (False, exc)
            self._rules_cache[key] = answer
        ok, value = self._rules_cache[key]
        if not ok:
            raise value
        return value

    def license_reasons(self, key: tuple[str, str, str]) -> list[dict[str, Any]]:
        """The item reasons for (item as written, destination code, headquarters as written)."""
        assert self.license_fn is not None
        item, dest, raw_hq = key
        hq = to_iso2(raw_hq) if raw_hq else None
        try:
            # The end user is not passed: the party screening above already checks it against
            # the Entity List, with this run's thresholds and accepted matches.
            decision = self._rules(item, dest, hq or raw_hq or None)
        except Exception as exc:
            if self.unknown_item_error and isinstance(exc, self.unknown_item_error):
                hint = getattr(exc, "suggestions", None) or []
                text = f"REVIEW item {item!r} is not in the product catalog"
                if hint:
                    text += f" (closest: {', '.join(map(str, hint[:3]))})"
                return [
                    {
                        "kind": "item",
                        "decision": REVIEW,
                        "item": item,
                        "suggestions": [str(h) for h in hint[:5]],
                        "text": text,
                    }
                ]
            return [
                {
                    "kind": "item",
                    "decision": REVIEW,
                    "item": item,
                    "text": f"REVIEW item {item!r}: the rules could not decide "
                    f"({exc.__class__.__name__}: {exc})",
                }
            ]
        cls = decision.classification
        eccn = getattr(cls, "eccn", None)
        tpp = getattr(cls, "tpp", None)
        base: dict[str, Any] = {
            "kind": "item",
            "item": item,
            "model": getattr(cls, "model", None),
            "eccn": eccn,
            "tpp": tpp,
            "destination": dest,
        }
        desc = f"item {item!r} ECCN {eccn or 'none (not 3A090/4A090)'}"
        if tpp is not None:
            desc += f", TPP {tpp:,.0f}"
        dest_name = country_name(dest)
        rule_reasons = json.loads(json.dumps(list(decision.reasons or []), default=str))
        if decision.license_required:
            # the reasons that require the license; the others stay in "rules" for the record
            needed = [r for r in rule_reasons if r.get("license_required", True)] or rule_reasons
            out = {
                **base,
                "decision": LICENSE_REQUIRED,
                "cite": "; ".join(dict.fromkeys(r["cite"] for r in needed if r.get("cite"))),
                "rules": rule_reasons,
                "text": f"LICENSE_REQUIRED {desc} to {dest_name}: "
                + "; ".join(
                    f"{r['cite']}: {r.get('text', '')}" if r.get("cite") else r.get("text", "")
                    for r in needed
                ),
            }
            return [out]
        out_reasons = [
            {
                **base,
                "decision": CLEAR,
                "rules": rule_reasons,
                "cite": "; ".join(r.get("cite", "") for r in rule_reasons if r.get("cite")),
                "text": f"CLEAR {desc}: no license needed to {dest_name}",
            }
        ]
        if eccn and not hq and not raw_hq:
            out_reasons.append(
                {
                    **base,
                    "decision": REVIEW,
                    "text": f"REVIEW {desc}: end_user_hq is empty, and a license is needed for "
                    "any destination when the end user's headquarters or parent is in "
                    "Country Group D:5 or Macau (15 CFR 742.6(a)(6)(iii))",
                }
            )
        return out_reasons
