"""`compliance update`: every list source (compliance/lists_update.py), then the regulation texts
the chip rules read (compliance/rules/regulations_update.py), each on its own: one source
failing leaves its snapshot in place while the others go on updating.

This module sits above both, so neither imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from compliance.lists_update import SourceOutcome, is_local, update_source
from compliance.progress import NO_PROGRESS, Progress
from compliance.rules.regulations_update import update_regulations
from compliance.sources import all_sources, ecfr
from compliance.sources.http import FetchPolicy
from compliance.store.db import DatabaseError, explain

# Updaters of what is not a list, run after the list sources, by key.
REGULATION_UPDATERS: dict[str, Callable[..., SourceOutcome]] = {ecfr.KEY: update_regulations}


def known_keys() -> list[str]:
    return [*all_sources(), *REGULATION_UPDATERS]


def update_sources(
    engine: Engine,
    keys: list[str] | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    policy: FetchPolicy | None = None,
    on_done: Callable[[SourceOutcome], None] | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[SourceOutcome]:
    """Update `keys` (default: every source); `force` re-reads files found unchanged and
    accepts a list that shrank by over half."""
    sources = all_sources()
    unknown = [k for k in keys or [] if k not in sources and k not in REGULATION_UPDATERS]
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sources)}")
    if is_local(mirror) and not Path(str(mirror)).is_dir():
        raise ValueError(
            f"mirror folder {mirror} does not exist; give the folder that holds one folder "
            "per source (e.g. ../shared/data/mirror), or a base URL"
        )
    outcomes = []
    for key in keys or known_keys():
        folder = getattr(sources.get(key), "mirror_key", "") or key
        if not keys and is_local(mirror) and not (Path(str(mirror)) / folder).is_dir():
            # A mirror need not hold every source; naming the source makes this an error.
            outcome = SourceOutcome(key, ok=True, skipped=f"no {folder}/ folder in {mirror}")
        else:
            outcome = _update_one(engine, key, mirror, force, policy, progress)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes


def _update_one(
    engine: Engine,
    key: str,
    mirror: str | None,
    force: bool,
    policy: FetchPolicy | None,
    progress: Progress,
) -> SourceOutcome:
    try:
        if key in REGULATION_UPDATERS:
            updater = REGULATION_UPDATERS[key]
            return updater(engine, mirror=mirror, force=force, policy=policy, progress=progress)
        return update_source(
            engine, all_sources()[key], mirror=mirror, force=force, policy=policy,
            progress=progress,
        )  # fmt: skip
    except DBAPIError as exc:  # the database, not the list: the next sources would fail too
        raise DatabaseError(f"{key}: {explain(exc, engine)}") from None
