"""API keys: created with a random token shown once, stored as its sha256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from compliance.api.models import ApiKey

TOKEN_PREFIX = "cpl_"


class ApiKeyError(ValueError):
    pass


@dataclass(frozen=True)
class Caller:
    name: str
    admin: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(engine: Engine, name: str, *, admin: bool = False) -> str:
    """A new key for NAME; returns the token (the only time it exists in clear)."""
    name = name.strip()
    if not name:
        raise ApiKeyError("give the key a name (who or what uses it)")
    with engine.begin() as conn:
        active = conn.execute(
            select(ApiKey.id).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
        ).first()
        if active:
            raise ApiKeyError(f"an active key named {name!r} exists; revoke it first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        conn.execute(
            ApiKey.__table__.insert().values(
                name=name,
                token_sha256=token_hash(token),
                prefix=token[:10],
                admin=admin,
                created_at=datetime.now(UTC),
            )
        )
    return token


def revoke_key(engine: Engine, name: str) -> int:
    """Revoke NAME's active key(s); returns how many."""
    with engine.begin() as conn:
        res = conn.execute(
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return int(res.rowcount or 0)


def list_keys(engine: Engine) -> list[ApiKey]:
    with engine.connect() as conn:
        rows = conn.execute(select(ApiKey).order_by(ApiKey.name, ApiKey.id)).all()
    return [ApiKey.model_validate(r._mapping) for r in rows]


def verify(engine: Engine, token: str) -> Caller | None:
    """The caller a token belongs to, or None for an unknown or revoked token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(ApiKey.name, ApiKey.admin).where(
                ApiKey.token_sha256 == token_hash(token),
                ApiKey.revoked_at.is_(None),
            )
        ).first()
    return Caller(row.name, bool(row.admin)) if row else None
