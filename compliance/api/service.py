"""What the endpoints (and the MCP tools) do, over the library: each function takes the warm
Generation and plain inputs and returns the JSON the CLI would print, plus the snapshot ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from compliance.api.errors import Problem
from compliance.api.settings import Settings
from compliance.api.state import Generation
from compliance.screening import DEFAULT_THRESHOLD, Query, ScreeningError, ScreenResult


def check_query(q: Query, settings: Settings) -> None:
    if not isinstance(q.name, str):
        raise Problem(422, "name must be a string", title="Invalid request")
    if len(q.name) > settings.max_name_chars:
        raise Problem(
            422,
            f"name has {len(q.name):,} characters; at most {settings.max_name_chars:,} allowed",
            title="Invalid request",
        )
    if not q.name.strip() and not (q.id or "").strip():
        raise Problem(
            422, "the name is empty; give the name of the party to screen", title="Invalid request"
        )


def screen_result(
    gen: Generation,
    q: Query,
    settings: Settings,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    lists: list[str] | None = None,
    limit: int = 10,
    algorithm: str = "default",
) -> ScreenResult:
    """The library's ScreenResult for one party, after the service's own input limits."""
    check_query(q, settings)
    try:
        screener = gen.screener_for(lists, algorithm)
        return screener.screen(Query(q.name, q.type, q.country, q.dob, q.id), threshold, limit)
    except ScreeningError as exc:
        raise Problem(422, str(exc), title="Invalid request") from None


def screen_party(gen: Generation, q: Query, settings: Settings, **options: Any) -> dict[str, Any]:
    """The CLI's `screen --format json` answer with the snapshot ids used."""
    result = screen_result(gen, q, settings, **options)
    return {**result.to_dict(), "snapshots": gen.snapshot_ids}


def screen_many(
    gen: Generation,
    parties: Iterable[Query | Problem],
    settings: Settings,
    **options: Any,
) -> Iterator[tuple[Query | None, ScreenResult | None, Problem | None]]:
    """Each party's result, or its problem, in order; one bad party never stops the rest."""
    for party in parties:
        if isinstance(party, Problem):
            yield None, None, party
            continue
        try:
            yield party, screen_result(gen, party, settings, **options), None
        except Problem as exc:
            yield party, None, exc


def list_age_days(status: Any, now: datetime | None = None) -> float | None:
    """Days since the list's own date (else since it was fetched)."""
    now = now or datetime.now(UTC)
    stamp = status.data_date or status.fetched_at
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(str(stamp)[:19])
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(str(stamp)[:10]), datetime.min.time())
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round((now - when).total_seconds() / 86400, 1)


def sources(engine: Engine, gen: Generation | None, stale_days: int) -> dict[str, Any]:
    from compliance.api.schemas import SourceRow
    from compliance.sources import all_sources
    from compliance.store.status import source_statuses

    statuses = {s.source: s for s in source_statuses(engine)}
    known = all_sources()
    rows = []
    for key in [*known, *[k for k in statuses if k not in known]]:
        s = statuses.get(key)
        if s is None:
            row = SourceRow(
                data_date=None,
                fetched_at=None,
                sha256=None,
                last_error=None,
                source=key,
                title=known[key].title,
                records=0,
                status="never loaded",
                snapshot_id=None,
                last_attempt_at=None,
            )
        else:
            age = list_age_days(s)
            row = SourceRow(**asdict(s), age_days=age, stale=age is not None and age > stale_days)
        rows.append(asdict(row))
    return {
        "sources": rows,
        "snapshots_in_use": gen.snapshot_ids if gen else {},
        "stale_after_days": stale_days,
    }


def entity(engine: Engine, gen: Generation, source: str, source_id: str) -> dict[str, Any]:
    """One listed entry in full, from the snapshot this worker's index uses."""
    from compliance.store.models import (
        Entity,
        EntityAddress,
        EntityBirthDate,
        EntityIdentifier,
        EntityName,
        EntityNationality,
    )

    snap = gen.snapshot_ids.get(source)
    if snap is None:
        loaded = ", ".join(sorted(gen.snapshot_ids)) or "none"
        raise Problem(404, f"no loaded list named {source!r}; loaded: {loaded}")
    with engine.connect() as conn:
        row = conn.execute(
            select(Entity).where(
                col(Entity.snapshot_id) == snap, col(Entity.source_id) == source_id
            )
        ).first()
        if row is None:
            raise Problem(404, f"{source} snapshot {snap} has no entry {source_id!r}")
        ent = Entity.model_validate(row._mapping).model_dump()
        for key, table in (
            ("names", EntityName),
            ("addresses", EntityAddress),
            ("identifiers", EntityIdentifier),
            ("birth_dates", EntityBirthDate),
            ("nationalities", EntityNationality),
        ):
            found = conn.execute(select(table).where(table.entity_id == ent["id"])).all()
            ent[key] = [
                {k: v for k, v in r._mapping.items() if k not in ("id", "entity_id")} for r in found
            ]
    meta = gen.screener.index.snapshots.get(snap, {})
    return {"entity": ent, "snapshot": meta, "snapshots": gen.snapshot_ids}


def _guard_thresholds(engine: Engine) -> None:
    """As the CLI: refuse to classify when the stored 3A090 text states other thresholds."""
    from compliance.rules.regstore import current_sections
    from compliance.rules.thresholds import check_text

    row = current_sections(engine).get("3A090")
    if row is None:
        return
    check = check_text(row.text)
    if not check.ok:
        raise Problem(
            503,
            "the encoded 3A090 thresholds no longer match the regulation text of "
            f"{row.ecfr_date}: " + "; ".join(check.mismatches),
        )


def classify(
    engine: Engine,
    model: str | None = None,
    tops: float | None = None,
    bits: int | None = None,
    die_area: float | None = None,
    datacenter: bool = True,
) -> dict[str, Any]:
    from compliance.rules.catalog import UnknownModelError
    from compliance.rules.chips import classify_model, classify_spec

    if (model is None) == (tops is None):
        raise Problem(
            422, "give a model, or tops with bits (and die_area), not both", title="Invalid request"
        )
    _guard_thresholds(engine)
    try:
        if model is not None:
            c = classify_model(model)
        else:
            if tops is None or bits is None:
                raise Problem(422, "bits is required with tops", title="Invalid request")
            c = classify_spec(tops, bits, die_area, datacenter)
    except UnknownModelError as exc:
        raise Problem(404, str(exc), title="Unknown model") from None
    except ValueError as exc:
        raise Problem(422, str(exc), title="Invalid request") from None
    return c.to_dict()


def license(
    engine: Engine,
    gen: Generation | None,
    item: str,
    destination: str,
    end_user: str | None = None,
    end_user_hq: str | None = None,
    on: str | None = None,
) -> dict[str, Any]:
    from compliance.rules.catalog import UnknownModelError
    from compliance.rules.license import LicenseInputError, determine_license

    try:
        on_date = date.fromisoformat(on) if on else None
    except ValueError:
        raise Problem(422, f"date {on!r} is not YYYY-MM-DD", title="Invalid request") from None
    _guard_thresholds(engine)
    try:
        d = determine_license(
            item,
            destination,
            end_user=end_user,
            end_user_hq=end_user_hq,
            on_date=on_date,
            engine=engine,
            screener=gen.screener if gen else None,
        )
    except UnknownModelError as exc:
        raise Problem(404, str(exc), title="Unknown model") from None
    except LicenseInputError as exc:
        raise Problem(422, str(exc), title="Invalid request") from None
    out = d.to_dict()
    if gen is not None and end_user:
        out["snapshots"] = gen.snapshot_ids
    return out
