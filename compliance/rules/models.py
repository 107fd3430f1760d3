"""Table for the scraped regulation texts the chip rules depend on (one row per version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


class RegulationText(SQLModel, table=True):
    """One version of one regulation section as scraped; a changed text gets a new row and the
    old one becomes 'superseded', so `compliance rules` can show what changed."""

    __tablename__ = "regulation_text"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)  # "3A090", "742.6(a)(6)", "740 Supp. 1", ...
    cite: str
    heading: str = Field(default="", sa_column=Column(Text))
    text: str = Field(default="", sa_column=Column(Text))
    sha256: str
    ecfr_date: str  # the date the eCFR title was current as of
    amended_on: str | None = None  # the latest amendment date the eCFR versions list states
    fetched_at: datetime
    source_url: str = ""
    status: str = "current"  # current | superseded
    previous_id: int | None = Field(default=None, foreign_key="regulation_text.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
