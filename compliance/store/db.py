"""Engine and sessions. SQLite by default (WAL, so readers keep going during an update).

Opening a database is cheap: the table models (and sqlmodel) are imported only when the schema
must be checked, and a SQLite database records (PRAGMA user_version) which models and which
schema version it was last checked against, so the check runs again only after the models or
the file's schema changed, not on every command.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

ENV_VAR = "COMPLIANCE_DB"
# The modules whose SQLModel classes are the tables of the database: the store's own, and those
# a program registers (`register_models`, see compliance/schema.py) before opening it. They are
# imported only when the schema must be checked, so a screen on a checked database never loads
# SQLModel; the store names no layer built on it.
_MODEL_MODULES: list[str] = ["compliance.store.models"]


def register_models(*modules: str) -> None:
    """Add modules declaring tables (by module name; imported when the schema is checked)."""
    for module in modules:
        if module not in _MODEL_MODULES:
            _MODEL_MODULES.append(module)


def model_modules() -> tuple[str, ...]:
    """The registered table modules, in a stable order."""
    return tuple(sorted(_MODEL_MODULES))


class DatabaseError(Exception):
    pass


def default_url() -> str:
    import platformdirs

    path = Path(platformdirs.user_data_dir("compliance")) / "compliance.db"
    return f"sqlite:///{path}"


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in url:  # a bare file path
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import DBAPIError

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
    try:
        _create_tables(engine)
    except DBAPIError as exc:
        raise DatabaseError(explain(exc, engine)) from None
    return engine


def _create_tables(engine: Engine) -> None:
    """Create missing tables, and add columns a newer version introduced, under a write lock
    so two first runs at once cannot collide."""
    modules = model_modules()
    models = _models_digest(modules) if engine.dialect.name == "sqlite" else None
    if models is not None:
        with engine.connect() as conn:
            if conn.exec_driver_sql("PRAGMA user_version").scalar() == _stamp(conn, models):
                return  # checked against exactly these models, and no schema change since
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    for module in modules:
        importlib.import_module(module)  # registers the tables
    with engine.connect() as conn:
        if not _missing_columns(conn) and set(SQLModel.metadata.tables) <= set(
            inspect(conn).get_table_names()
        ):
            _set_stamp(conn, models)
            conn.commit()
            return
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7223301)")
        SQLModel.metadata.create_all(conn)  # checks again, under the lock
        for table, column in _missing_columns(conn):
            # New columns are always nullable, so older rows simply hold NULL.
            kind = column.type.compile(dialect=engine.dialect)
            conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {kind}')
        _set_stamp(conn, models)
        conn.commit()


def _stamp(conn: Connection, models: bytes) -> int:
    """A positive 31-bit number naming these models and the file's schema as it is now
    (SQLite counts every schema change in PRAGMA schema_version)."""
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    digest = hashlib.sha256(models + str(version).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _set_stamp(conn: Connection, models: bytes | None) -> None:
    """Record that the schema matches these models (SQLite); a read-only file just keeps
    being checked."""
    from sqlalchemy.exc import DBAPIError

    if models is None:
        return
    try:
        conn.exec_driver_sql(f"PRAGMA user_version = {_stamp(conn, models):d}")
    except DBAPIError:
        conn.rollback()


@lru_cache(maxsize=8)
def _models_digest(modules: tuple[str, ...]) -> bytes | None:
    """The table models' source files, hashed: a changed or newly registered model, a new
    schema check."""
    digest = hashlib.sha256()
    try:
        for module in modules:
            digest.update(module.encode())
            spec = importlib.util.find_spec(module)
            digest.update(Path(spec.origin).read_bytes())  # type: ignore[union-attr, arg-type]
    except (OSError, AttributeError, TypeError, ImportError):
        return None  # no source to read (a frozen build): check the schema every time
    return digest.digest()


def _missing_columns(conn: Connection) -> list[tuple[str, Any]]:
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    insp = inspect(conn)
    existing = set(insp.get_table_names())
    missing: list[tuple[str, Any]] = []
    for name, table in SQLModel.metadata.tables.items():
        if name not in existing:
            continue
        have = {c["name"] for c in insp.get_columns(name)}
        missing.extend((name, c) for c in table.columns if c.name not in have)
    return missing


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state, even while an update swaps a
    snapshot in another process (SQLite WAL read transaction; PostgreSQL REPEATABLE READ)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")  # pysqlite would run each SELECT on its own
            try:
                yield conn
            finally:
                conn.rollback()
    else:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn


def explain(exc: BaseException, engine: Engine | None = None) -> str:
    """One line: what is wrong with the database and what to do about it."""
    orig = getattr(exc, "orig", None) or exc
    msg = " ".join(str(orig).split()) or exc.__class__.__name__
    low = msg.lower()
    where, folder, name = "", "", ""
    if engine is not None:
        db = engine.url.database or ""
        if engine.dialect.name == "sqlite" and db and db != ":memory:":
            path = Path(db.removeprefix("file:").split("?", 1)[0])
            where, folder, name = f" {path}", str(path.parent), path.name
        else:
            where = f" {engine.url.render_as_string(hide_password=True)}"
    beside = f" (SQLite also writes {name}-wal and {name}-shm beside it)" if name else ""
    if "full" in low or "no space left" in low or "could not extend" in low:
        return (
            f"the disk holding the database{where} is full: free some space or move the "
            "database (--db or COMPLIANCE_DB), then run the command again; the failed write "
            "changed nothing"
        )
    if "readonly" in low or "read-only" in low or (folder and not os.access(folder, os.W_OK)):
        return (
            f"the database{where} is read-only: make the file and its folder writable{beside}, "
            "or choose a writable database with --db or COMPLIANCE_DB"
        )
    if "unable to open" in low:
        return (
            f"cannot open the database{where}: check that it and its folder exist and are "
            f"writable{beside}, or choose another with --db or COMPLIANCE_DB"
        )
    if "locked" in low or "busy" in low:
        return (
            f"the database{where} stayed locked for 60 s (another update still running?); "
            "run the command again when it has finished"
        )
    if "not a database" in low or "malformed" in low:
        return (
            f"the database{where} is damaged or not a database ({msg}); restore a backup, or "
            "start a new one with --db and run compliance update"
        )
    return f"database error on{where or ' the database'}: {msg}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def session(url: str | None = None) -> Session:
    from sqlmodel import Session

    return Session(get_engine(url))
