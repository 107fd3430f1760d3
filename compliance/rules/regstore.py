"""Storing scraped regulation sections and telling which ones changed since the last update."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from compliance.rules.models import RegulationText
from compliance.sources.ecfr import RegSection


@dataclass
class SectionChange:
    key: str
    cite: str
    old_date: str | None  # amendment date (or eCFR date) of the previous text
    new_date: str | None
    diff: list[str] = field(default_factory=list)  # unified diff lines

    def summary(self) -> str:
        dates = (
            f" (was {self.old_date}, now {self.new_date})"
            if self.old_date and self.old_date != self.new_date
            else ""
        )
        return f"{self.cite} changed{dates}"


def _date(row: RegulationText) -> str:
    return row.amended_on or row.ecfr_date


def diff_lines(old: str, new: str, limit: int = 60) -> list[str]:
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=0
        )
    )
    return lines[:limit] + (
        [f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else []
    )


def save_sections(
    engine: Engine,
    sections: list[RegSection],
    ecfr_date: str,
    urls: dict[str, str],
    at: datetime,
) -> tuple[list[SectionChange], bool]:
    """Store the sections; return the changed ones and whether this was the first load."""
    changes: list[SectionChange] = []
    with Session(engine) as s, s.begin():
        current = {
            r.key: r
            for r in s.exec(
                select(RegulationText).where(RegulationText.status == "current")
            ).scalars()
        }
        first = not current
        for sec in sections:
            old = current.get(sec.key)
            if old is not None and old.sha256 == sec.sha256:
                if old.data != sec.data or old.ecfr_date != ecfr_date:
                    s.execute(
                        update(RegulationText)
                        .where(RegulationText.id == old.id)
                        .values(ecfr_date=ecfr_date, data=sec.data, amended_on=sec.amended_on)
                    )
                continue
            row = RegulationText(
                key=sec.key, cite=sec.cite, heading=sec.heading, text=sec.text,
                sha256=sec.sha256, ecfr_date=ecfr_date, amended_on=sec.amended_on,
                fetched_at=at, source_url=urls.get(sec.file, ""),
                previous_id=old.id if old is not None else None, data=sec.data,
            )  # fmt: skip
            s.add(row)
            if old is not None:
                s.execute(
                    update(RegulationText)
                    .where(RegulationText.id == old.id)
                    .values(status="superseded")
                )
                changes.append(
                    SectionChange(sec.key, sec.cite, _date(old), sec.amended_on or ecfr_date,
                                  diff_lines(old.text, sec.text))
                )  # fmt: skip
    return changes, first


def current_sections(engine: Engine) -> dict[str, RegulationText]:
    with Session(engine) as s:
        rows = s.exec(select(RegulationText).where(RegulationText.status == "current")).scalars()
        return {r.key: r for r in rows}


def latest_changes(engine: Engine) -> list[SectionChange]:
    """For every current section that replaced an older text: what changed."""
    out = []
    with Session(engine) as s:
        rows = s.exec(
            select(RegulationText).where(
                RegulationText.status == "current", RegulationText.previous_id.is_not(None)
            )
        ).scalars()
        for row in rows:
            old = s.get(RegulationText, row.previous_id)
            if old is None:
                continue
            out.append(
                SectionChange(row.key, row.cite, _date(old), _date(row),
                              diff_lines(old.text, row.text))
            )  # fmt: skip
    return sorted(out, key=lambda c: c.key)
