"""`compliance update`: fetch each source's official files, parse fully, then swap snapshots.

Each source is all or nothing: any fetch, format or validation problem, or a suspicious shrink,
leaves its current snapshot untouched and is recorded as a failed attempt, while the other
sources go on updating.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from compliance.sources import all_sources
from compliance.sources.base import ParsedList, Source, SourceError, SourceFile
from compliance.sources.http import (
    FetchedFile,
    FetchPolicy,
    fetch_url,
    maybe_gunzip,
    read_mirror_file,
)
from compliance.store.db import DatabaseError, explain
from compliance.store.snapshots import Delta, ShrinkError, now, record_failure, replace_snapshot


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    records: int = 0
    previous: int | None = None
    delta: Delta = field(default_factory=Delta)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    data_date: str | None = None
    notices: list[str] = field(default_factory=list)  # must be shown loudly (rule text changed)
    skipped: str | None = None  # why the source was not attempted (e.g. absent from the mirror)


def fetch_files(
    source: Source,
    mirror: str | None,
    policy: FetchPolicy,
    session: requests.Session | None = None,
) -> dict[str, FetchedFile]:
    """Official URLs by default; `mirror` is a directory or base URL laid out as <source>/<file>.

    Files a source can only name once its first files are read (`source.discover`) are fetched
    in a second round, from the same place."""
    out: dict[str, FetchedFile] = {}
    folder = getattr(source, "mirror_key", "") or source.key
    local = bool(mirror) and not mirror.startswith(("http://", "https://"))
    _fetch_specs(source, source.files, folder, mirror, policy, session, out)
    discover = getattr(source, "discover", None)
    if discover is not None:
        listing = None
        if local and (Path(mirror) / folder).is_dir():
            listing = sorted(p.name for p in (Path(mirror) / folder).iterdir())
        contents = {
            n: maybe_gunzip(f.content, next(s for s in source.files if s.name == n))
            for n, f in out.items()
        }
        try:
            more = discover(contents, listing)
        except SourceError as exc:
            exc.source = source.key
            raise
        _fetch_specs(source, more, folder, mirror, policy, session, out)
    return out


def _fetch_specs(
    source: Source,
    specs: tuple[SourceFile, ...],
    folder: str,
    mirror: str | None,
    policy: FetchPolicy,
    session: requests.Session | None,
    out: dict[str, FetchedFile],
) -> None:
    for spec in specs:
        try:
            if mirror and not mirror.startswith(("http://", "https://")):
                fetched = read_mirror_file(Path(mirror), folder, spec)
            else:
                url = f"{mirror.rstrip('/')}/{folder}/{spec.name}" if mirror else spec.url
                fetched = fetch_url(url, spec, policy, session)
        except SourceError as exc:
            if not spec.required:
                continue
            exc.source = source.key
            exc.file = exc.file or spec.name
            raise
        out[spec.name] = fetched


def parse_files(source: Source, fetched: dict[str, FetchedFile]) -> ParsedList:
    contents = {}
    for name, f in fetched.items():
        spec = next((s for s in source.files if s.name == name), None)
        contents[name] = maybe_gunzip(f.content, spec or SourceFile(name, f.origin, "xml"))
    try:
        parsed = source.parse(contents)
    except SourceError as exc:
        exc.source = exc.source or source.key
        raise
    except Exception as exc:  # a parser bug or a file shape nobody foresaw: still one clear line
        raise SourceError(
            f"could not be parsed ({exc.__class__.__name__}: {exc}); previous snapshot kept",
            source=source.key,
        ) from exc
    if not parsed.records:
        raise SourceError("the files hold no records; previous snapshot kept", source=source.key)
    seen: set[str] = set()
    for rec in parsed.records:
        if rec.source_id in seen:
            raise SourceError(
                f"entry id {rec.source_id!r} appears twice; previous snapshot kept",
                source=source.key,
            )
        seen.add(rec.source_id)
    return parsed


def update_source(
    engine: Engine,
    source: Source,
    *,
    mirror: str | None = None,
    force: bool = False,
    policy: FetchPolicy | None = None,
) -> SourceOutcome:
    policy = policy or FetchPolicy()
    at = now()
    files_meta: list[dict] = []
    try:
        fetched = fetch_files(source, mirror, policy)
        files_meta = [
            {"name": f.name, "url": f.origin, "sha256": f.sha256, "size": f.size}
            for f in fetched.values()
        ]
        parsed = parse_files(source, fetched)
        result = replace_snapshot(
            engine, source.key, source.title, parsed, files_meta, at, force=force
        )
    except (SourceError, ShrinkError) as exc:
        message = str(exc)
        if isinstance(exc, ShrinkError):
            names = ", ".join(f["name"] for f in files_meta)
            message = f"{source.key}: {names}: {message}"
        elif not message.startswith(source.key):
            message = f"{source.key}: {message}"
        record_failure(engine, source.key, source.title, message, files_meta, at)
        return SourceOutcome(source.key, ok=False, error=message)
    return SourceOutcome(
        source.key,
        ok=True,
        records=result.record_count,
        previous=result.previous_count,
        delta=result.delta,
        warnings=parsed.warnings,
        data_date=parsed.data_date,
    )


def update_sources(
    engine: Engine,
    keys: list[str] | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    policy: FetchPolicy | None = None,
    on_done: Callable[[SourceOutcome], None] | None = None,
) -> list[SourceOutcome]:
    sources = all_sources()
    from compliance.rules.update import UPDATERS  # regulation texts (eCFR) for the chip rules

    unknown = [k for k in keys or [] if k not in sources and k not in UPDATERS]
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sources)}")
    outcomes = []
    for key in keys or [*sources, *UPDATERS]:
        folder = getattr(sources.get(key), "mirror_key", "") or key
        local = bool(mirror) and not str(mirror).startswith(("http://", "https://"))
        if not keys and local and not (Path(str(mirror)) / folder).is_dir():
            # A mirror need not hold every source; naming the source makes this an error.
            outcome = SourceOutcome(key, ok=True, skipped=f"no {folder}/ folder in {mirror}")
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
            continue
        try:
            if key in UPDATERS:
                outcome = UPDATERS[key](engine, mirror=mirror, force=force, policy=policy)
            else:
                outcome = update_source(
                    engine, sources[key], mirror=mirror, force=force, policy=policy
                )
        except DBAPIError as exc:  # the database, not the list: the next sources would fail too
            raise DatabaseError(f"{key}: {explain(exc, engine)}") from None
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes
