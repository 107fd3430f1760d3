"""Tables of the orders area: check runs with their per-line decisions, accepted false
positives, and re-screenings of past runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class CheckRun(SQLModel, table=True):
    """One `compliance check`: what went in, against which list snapshots, and what came out."""

    __tablename__ = "check_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # running | done | failed
    user: str = ""
    input_path: str = Field(default="", sa_column=Column(Text))
    input_sha256: str = ""
    input_format: str = ""
    output_path: str | None = Field(default=None, sa_column=Column(Text))
    line_count: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    thresholds: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    # source -> {snapshot_id, data_date, sha256, fetched_at}
    snapshots: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    error: str | None = Field(default=None, sa_column=Column(Text))


class CheckLine(SQLModel, table=True):
    __tablename__ = "check_line"
    __table_args__ = (Index("ix_check_line_run_line", "run_id", "line"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="check_run.id", index=True)
    line: int
    order_id: str = ""
    decision: str
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    # [{"role": "customer", "name": ..., "country": ...}, ...]: what a re-screening re-checks
    parties: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    item: str | None = None
    destination: str | None = None


class AcceptedMatch(SQLModel, table=True):
    """A party an officer judged not to be a listed entry, valid while the entry is unchanged."""

    __tablename__ = "accepted_match"
    __table_args__ = (Index("ix_accepted_match_key", "party_key", "source", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    party: str
    party_key: str
    source: str
    source_id: str
    entry_name: str = ""
    content_hash: str
    reason: str = Field(sa_column=Column(Text))
    accepted_by: str
    accepted_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class RescreenRun(SQLModel, table=True):
    """Past runs' parties re-checked against the entries added or changed since."""

    __tablename__ = "rescreen_run"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    user: str = ""
    run_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    snapshots: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    thresholds: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON))
    parties_checked: int = 0
    entries_checked: int = 0
    hits: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
