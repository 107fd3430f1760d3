"""Engine and sessions. SQLite by default (WAL, so readers keep going during an update)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from compliance.orders import models as _orders_models  # noqa: F401
from compliance.rules import models as _rules_models  # noqa: F401
from compliance.store import models  # noqa: F401  (registers the tables)

ENV_VAR = "COMPLIANCE_DB"


class DatabaseError(Exception):
    pass


def default_url() -> str:
    path = Path(platformdirs.user_data_dir("compliance")) / "compliance.db"
    return f"sqlite:///{path}"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in url:  # a bare file path
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            try:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the database folder for {db_path}: {exc}"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def session(url: str | None = None) -> Session:
    return Session(get_engine(url))
