"""Advanced-computing rules that changed over time (data/dated_rules.json), by date."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib.resources.abc import Traversable
from typing import Any

from compliance.datafiles import data_file

DATED_FILE = data_file("dated_rules.json")


class DatedRulesError(Exception):
    pass


@dataclass(frozen=True)
class DatedRule:
    id: str
    title: str
    citation: str
    url: str
    start: date
    end: date | None  # exclusive
    effect: str
    cite: str = ""
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def active(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "citation": self.citation, "url": self.url,
            "from": self.start.isoformat(), "until": self.end.isoformat() if self.end else None,
            "effect": self.effect,
        }  # fmt: skip


@dataclass(frozen=True)
class DatedRules:
    as_of: str
    earliest: date
    rules: tuple[DatedRule, ...]

    def get(self, rule_id: str) -> DatedRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise DatedRulesError(f"{DATED_FILE.name}: no rule {rule_id!r}")

    def active(self, rule_id: str, on: date) -> bool:
        return self.get(rule_id).active(on)


def _date(value: Any, where: str) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise DatedRulesError(f"{where}: not a YYYY-MM-DD date: {value!r}")
    return date.fromisoformat(value)


def parse_dated(text: str, file: str = "dated_rules.json") -> DatedRules:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatedRulesError(f"{file}: not valid JSON: {exc}") from None
    rules = []
    for i, r in enumerate(data.get("rules", [])):
        where = f"{file} rules[{i}]"
        for k in ("id", "title", "citation", "from", "effect"):
            if not r.get(k):
                raise DatedRulesError(f"{where}: field {k!r} is missing")
        start = _date(r["from"], f"{where}.from")
        end = _date(r["until"], f"{where}.until") if r.get("until") else None
        if end is not None and end <= start:
            raise DatedRulesError(f"{where}: 'until' {end} is not after 'from' {start}")
        known = {"id", "title", "citation", "url", "from", "until", "effect", "cite"}
        rules.append(
            DatedRule(
                id=r["id"], title=r["title"], citation=r["citation"], url=r.get("url", ""),
                start=start, end=end, effect=r["effect"], cite=r.get("cite", ""),
                extra={k: v for k, v in r.items() if k not in known},
            )
        )  # fmt: skip
    return DatedRules(
        str(data.get("as_of", "")), _date(data.get("earliest"), f"{file}.earliest"), tuple(rules)
    )


@lru_cache(maxsize=2)
def load_dated(path: Traversable = DATED_FILE) -> DatedRules:
    return parse_dated(path.read_text(encoding="utf-8"), path.name)
