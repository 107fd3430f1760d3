"""Tables of the service: API keys (hashed) and the audit trail of screenings it answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class ApiKey(SQLModel, table=True):
    """A client's key: only the sha256 of the token is stored; the token is shown once."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    token_sha256: str = Field(index=True, unique=True)
    prefix: str = ""  # the token's first characters, to recognise it in a list
    admin: bool = False
    created_at: datetime
    revoked_at: datetime | None = None


class ScreeningAudit(SQLModel, table=True):
    """One screening answered by the service: who asked, when, against which snapshots, and
    what came back (each match's entry and score)."""

    __tablename__ = "screening_audit"
    __table_args__ = (Index("ix_screening_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    key_name: str = ""
    channel: str = ""  # api | batch | ndjson | web | mcp
    query: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    threshold: float = 0.0
    snapshots: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    match_count: int = 0
    # [{"source", "source_id", "name", "score"}, ...]
    matches: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    error: str | None = Field(default=None, sa_column=Column(Text))
