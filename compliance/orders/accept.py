"""Accepted false positives: an officer records that a party is not a listed entry (who, when,
why). Later checks show the match as accepted until the entry's content changes."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from compliance.orders.decide import Acceptance, party_key
from compliance.orders.models import AcceptedMatch
from compliance.store.models import Entity, SourceRow


class AcceptError(Exception):
    pass


@dataclass
class CurrentEntry:
    source: str
    source_id: str
    name: str
    content_hash: str


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def parse_entry(entry: str) -> tuple[str, str]:
    source, sep, source_id = entry.partition(":")
    if not sep or not source.strip() or not source_id.strip():
        raise AcceptError(f"entry {entry!r}: expected SOURCE:ID, e.g. us_ofac_sdn:36")
    return source.strip(), source_id.strip()


def current_entry(engine: Engine, source: str, source_id: str) -> CurrentEntry | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(Entity.name, Entity.content_hash)
            .join(SourceRow, SourceRow.current_snapshot_id == Entity.snapshot_id)
            .where(SourceRow.key == source, Entity.source_id == source_id)
        ).first()
    return CurrentEntry(source, source_id, row[0], row[1]) if row else None


def accept(
    engine: Engine, party: str, entry: str, reason: str, *, by: str | None = None
) -> AcceptedMatch:
    if not party.strip():
        raise AcceptError("--party is empty")
    if not reason.strip():
        raise AcceptError("--reason is empty: say why this party is not the listed entry")
    source, source_id = parse_entry(entry)
    current = current_entry(engine, source, source_id)
    if current is None:
        raise AcceptError(
            f"no entry {source}:{source_id} in the current {source} list "
            "(is the source loaded? see `compliance sources`)"
        )
    row = AcceptedMatch(
        party=party.strip(),
        party_key=party_key(party),
        source=source,
        source_id=source_id,
        entry_name=current.name,
        content_hash=current.content_hash,
        reason=reason.strip(),
        accepted_by=by or current_user(),
        accepted_at=datetime.now(UTC),
    )
    with Session(engine) as s:
        s.add(row)
        s.commit()
        s.refresh(row)
    return row


def revoke(engine: Engine, accept_id: int, *, by: str | None = None) -> bool:
    with engine.begin() as conn:
        n = conn.execute(
            update(AcceptedMatch)
            .where(AcceptedMatch.id == accept_id, AcceptedMatch.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_by=by or current_user())
        ).rowcount
    return bool(n)


def list_accepted(engine: Engine, include_revoked: bool = False) -> list[AcceptedMatch]:
    with Session(engine) as s:
        q = select(AcceptedMatch).order_by(AcceptedMatch.id)
        if not include_revoked:
            q = q.where(AcceptedMatch.revoked_at.is_(None))
        return list(s.scalars(q))


def load_acceptances(engine: Engine) -> dict[tuple[str, str, str], Acceptance]:
    """Active acceptances keyed (party_key, source, source_id), each marked still valid only if
    the entry's current content hash is the one accepted (a changed entry raises again)."""
    with engine.connect() as conn:
        current = {
            (src, sid): h
            for src, sid, h in conn.execute(
                select(Entity.source, Entity.source_id, Entity.content_hash)
                .join(SourceRow, SourceRow.current_snapshot_id == Entity.snapshot_id)
                .join(
                    AcceptedMatch,
                    (AcceptedMatch.source == Entity.source)
                    & (AcceptedMatch.source_id == Entity.source_id),
                )
            )
        }
        rows = conn.execute(
            select(AcceptedMatch)
            .where(AcceptedMatch.revoked_at.is_(None))
            .order_by(AcceptedMatch.id)
        ).all()
    out: dict[tuple[str, str, str], Acceptance] = {}
    for r in rows:
        valid = current.get((r.source, r.source_id)) == r.content_hash
        key = (r.party_key, r.source, r.source_id)
        prev = out.get(key)
        if prev is not None and prev.still_valid and not valid:
            continue  # an older acceptance of the current content stands
        out[key] = Acceptance(
            id=r.id,
            party=r.party,
            source=r.source,
            source_id=r.source_id,
            by=r.accepted_by,
            at=r.accepted_at.isoformat(timespec="seconds"),
            reason=r.reason,
            still_valid=valid,
        )
    return out
