"""Database tables. Entities belong to a snapshot; a source points at its current snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class SourceRow(SQLModel, table=True):
    __tablename__ = "source"

    key: str = Field(primary_key=True)
    title: str = ""
    current_snapshot_id: int | None = Field(default=None, foreign_key="snapshot.id")
    last_attempt_at: datetime | None = None
    last_status: str | None = None  # "ok" | "failed"
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class Snapshot(SQLModel, table=True):
    """One attempt to load a source: a loaded snapshot, or a recorded failure."""

    __tablename__ = "snapshot"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    fetched_at: datetime
    # the date the data is from, only where stated (never the fetch date), and where it was
    # stated: "file" (the files say so) or "http-last-modified" (the server's header)
    data_date: str | None = None
    data_date_from: str | None = None
    # last time the publisher's files were found the same as this snapshot's (update unchanged)
    checked_at: datetime | None = None
    # the program and parser that read the files: other ones read unchanged files again
    reader: str | None = None
    sha256: str | None = None  # over every file, in file order (see snapshots.combined_sha256)
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    record_count: int = 0
    status: str = "loading"  # loading | current | superseded | failed
    error: str | None = Field(default=None, sa_column=Column(Text))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # source_ids added / removed / changed relative to the snapshot it replaced
    delta: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON))
    # facts about the list as a whole (e.g. the Federal Register rules a source read)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Entity(SQLModel, table=True):
    __tablename__ = "entity"
    __table_args__ = (Index("ix_entity_snapshot_source_id", "snapshot_id", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    source: str = Field(index=True)
    source_id: str
    entity_type: str
    name: str
    programs: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    lists: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    remarks: str | None = Field(default=None, sa_column=Column(Text))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    content_hash: str  # detects a changed entry between snapshots


class EntityName(SQLModel, table=True):
    __tablename__ = "entity_name"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    name: str
    kind: str  # primary | aka | fka | nka | weak_aka | original_script
    script: str | None = None
    quality: str | None = None


class EntityAddress(SQLModel, table=True):
    __tablename__ = "entity_address"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    full: str = Field(default="", sa_column=Column(Text))
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None


class EntityIdentifier(SQLModel, table=True):
    __tablename__ = "entity_identifier"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    type: str
    number: str = Field(index=True)
    country: str | None = None
    note: str | None = None


class EntityBirthDate(SQLModel, table=True):
    __tablename__ = "entity_birth_date"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    date: str


class EntityNationality(SQLModel, table=True):
    __tablename__ = "entity_nationality"

    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    country: str


CHILD_TABLES = (EntityName, EntityAddress, EntityIdentifier, EntityBirthDate, EntityNationality)
