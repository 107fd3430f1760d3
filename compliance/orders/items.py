"""An order line's item under the export rules: the license decision for the item to the
destination (and the end user's headquarters), as order-line reasons.

Decisions are cached twice: per (item as written, destination code, headquarters as written),
the reasons a line gets; per (catalog model, destination, headquarters), the rules' answer, so
that the many spellings of one model share one call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

from compliance.countries import country_name, to_iso2
from compliance.orders.reasons import ItemReason
from compliance.policy import CLEAR, LICENSE_REQUIRED, REVIEW

CACHE_SIZE = 20_000  # entries kept by each cache: memory stays bounded whatever the file's size
ItemKey = tuple[str, str, str]  # (item as written, destination code, headquarters as written)
LicenseFn = Callable[..., Any]


class ItemRules:
    """`license_fn` is compliance.rules.license.determine_license (or a stand-in); an item it
    raises `unknown_item_error` for is REVIEW, with the catalog's closest names."""

    def __init__(
        self,
        license_fn: LicenseFn,
        unknown_item_error: type[Exception] | None,
        on_date: date | None = None,
        license_kwargs: Mapping[str, Any] | None = None,
        item_key: Callable[[str], str] | None = None,
    ) -> None:
        self.license_fn = license_fn
        self.unknown_item_error = unknown_item_error
        self.on_date = on_date
        self.license_kwargs = dict(license_kwargs or {})
        self._item_key = lru_cache(maxsize=10_000)(item_key) if item_key else str.lower
        self._reasons: dict[ItemKey, list[ItemReason]] = {}
        self._rules_cache: dict[tuple[str, str, str | None], tuple[bool, Any]] = {}

    def reasons(self, key: ItemKey) -> list[ItemReason]:
        """The reasons of `key`, decided now or taken from the cache (a copy each time)."""
        if key not in self._reasons:
            self.remember(key, self.decide(key))
        return [replace(r) for r in self._reasons[key]]

    def knows(self, key: ItemKey) -> bool:
        return key in self._reasons

    def remember(self, key: ItemKey, reasons: list[ItemReason]) -> None:
        """Keep reasons decided here or elsewhere (a worker process) for the lines needing them."""
        if len(self._reasons) > CACHE_SIZE:
            self._reasons.clear()
        self._reasons[key] = reasons

    def _rules(self, item: str, dest: str, hq: str | None) -> Any:
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

    def decide(self, key: ItemKey) -> list[ItemReason]:
        """The item reasons for (item as written, destination code, headquarters as written)."""
        item, dest, raw_hq = key
        hq = to_iso2(raw_hq) if raw_hq else None
        try:
            # The end user is not passed: the party screening above already checks it against
            # the Entity List, with this run's thresholds and accepted matches.
            decision = self._rules(item, dest, hq or raw_hq or None)
        except Exception as exc:
            return [self._undecided(item, exc)]
        cls = decision.classification
        eccn = getattr(cls, "eccn", None)
        tpp = getattr(cls, "tpp", None)
        base: dict[str, Any] = {
            "item": item,
            "model": getattr(cls, "model", None),
            "eccn": eccn,
            "tpp": tpp,
            "destination": dest,
        }
        desc = f"item {item!r} ECCN {eccn or 'none (not 3A090/4A090)'}"
        if tpp is not None:
            desc += f", TPP {tpp:,.0f}"
        rule_reasons = json.loads(json.dumps(list(decision.reasons or []), default=str))
        if decision.license_required:
            return [_license_required(base, desc, rule_reasons)]
        out: list[ItemReason] = [
            ItemReason(
                **base,
                decision=CLEAR,
                rules=rule_reasons,
                cite="; ".join(r.get("cite", "") for r in rule_reasons if r.get("cite")),
                text=f"CLEAR {desc}: no license needed to {country_name(dest)}",
            )
        ]
        if eccn and not hq and not raw_hq:
            out.append(
                ItemReason(
                    **base,
                    decision=REVIEW,
                    text=f"REVIEW {desc}: end_user_hq is empty, and a license is needed for "
                    "any destination when the end user's headquarters or parent is in "
                    "Country Group D:5 or Macau (15 CFR 742.6(a)(6)(iii))",
                )
            )
        return out

    def _undecided(self, item: str, exc: Exception) -> ItemReason:
        """REVIEW: an item not in the catalog (with its closest names), or rules that failed."""
        if self.unknown_item_error and isinstance(exc, self.unknown_item_error):
            hint = getattr(exc, "suggestions", None) or []
            text = f"REVIEW item {item!r} is not in the product catalog"
            if hint:
                text += f" (closest: {', '.join(map(str, hint[:3]))})"
            return ItemReason(
                decision=REVIEW, item=item, suggestions=[str(h) for h in hint[:5]], text=text
            )
        return ItemReason(
            decision=REVIEW,
            item=item,
            text=f"REVIEW item {item!r}: the rules could not decide "
            f"({exc.__class__.__name__}: {exc})",
        )


def _license_required(
    base: dict[str, Any], desc: str, rule_reasons: list[dict[str, Any]]
) -> ItemReason:
    """LICENSE_REQUIRED with the rules that require it; the others stay in `rules`."""
    needed = [r for r in rule_reasons if r.get("license_required", True)] or rule_reasons
    return ItemReason(
        **base,
        decision=LICENSE_REQUIRED,
        cite="; ".join(dict.fromkeys(r["cite"] for r in needed if r.get("cite"))),
        rules=rule_reasons,
        text=f"LICENSE_REQUIRED {desc} to {country_name(base['destination'])}: "
        + "; ".join(
            f"{r['cite']}: {r.get('text', '')}" if r.get("cite") else r.get("text", "")
            for r in needed
        ),
    )
