"""Updating one list source: fetch its official files, parse fully, then swap its snapshot.

Each source is all or nothing: any fetch, format or validation problem, or a suspicious shrink,
leaves its current snapshot untouched and is recorded as a failed attempt.

A source whose files are the same as its current snapshot's (every file's sha256 equal, or a 304
to a conditional GET made with the stored ETag / Last-Modified) is reported unchanged and not
parsed again; `force` re-reads and reloads it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import Engine

from compliance import __version__
from compliance.progress import NO_PROGRESS, Progress
from compliance.sources.base import ParsedList, Source, SourceError, SourceFile
from compliance.sources.http import (
    FetchedFile,
    FetchPolicy,
    Validators,
    fetch_url,
    http_session,
    maybe_gunzip,
    read_mirror_file,
)
from compliance.store.snapshots import (
    Delta,
    ShrinkError,
    confirm_unchanged,
    current_files,
    now,
    record_failure,
    replace_snapshot,
)

Previous = dict[str, dict[str, Any]]  # file name -> the current snapshot's file record


@dataclass
class SourceOutcome:
    source: str
    ok: bool
    records: int = 0
    previous: int | None = None
    delta: Delta = field(default_factory=Delta)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    data_date: str | None = None  # the date the data is from, only where it is stated
    data_date_from: str | None = None  # "file" | "http-last-modified" | None
    notices: list[str] = field(default_factory=list)  # must be shown loudly (rule text changed)
    skipped: str | None = None  # why the source was not attempted (e.g. absent from the mirror)
    unchanged: bool = False  # same files as the current snapshot: not parsed again


def is_local(mirror: str | None) -> bool:
    return bool(mirror) and not str(mirror).startswith(("http://", "https://"))


def fetch_files(
    source: Source,
    mirror: str | None,
    policy: FetchPolicy,
    session: requests.Session | None = None,
    *,
    previous: Previous | None = None,
    progress: Progress = NO_PROGRESS,
) -> dict[str, FetchedFile]:
    """Official URLs by default; `mirror` is a directory or base URL laid out as <source>/<file>.

    Files a source can only name once its first files are read (`source.discover`) are fetched
    in a second round, from the same place. With `previous` (the current snapshot's files),
    HTTP fetches are conditional; unless every file turned out the same as before, each file
    that came back 304 is fetched again in full, so the result can be parsed."""
    previous = previous or {}
    folder = getattr(source, "mirror_key", "") or source.key
    discover = getattr(source, "discover", None)
    sess = session or (None if is_local(mirror) else http_session(policy))

    def fetch(specs: tuple[SourceFile, ...], conditional: bool = True) -> None:
        _fetch_specs(
            source, specs, folder, mirror, policy, sess, out, previous if conditional else {},
            progress,
        )  # fmt: skip

    out: dict[str, FetchedFile] = {}
    fetch(source.files)
    if discover is not None:
        fetch(_not_modified(source.files, out), conditional=False)  # discover reads them
        listing = None
        if is_local(mirror) and (Path(str(mirror)) / folder).is_dir():
            listing = sorted(p.name for p in (Path(str(mirror)) / folder).iterdir())
        contents = {n: maybe_gunzip(f.content, _spec(source, n, f)) for n, f in out.items()}
        try:
            more = discover(contents, listing)
        except SourceError as exc:
            exc.source = source.key
            raise
        specs = tuple(source.files) + tuple(more)
        fetch(tuple(more))
    else:
        specs = tuple(source.files)
    if not same_files(out, previous):
        fetch(_not_modified(specs, out), conditional=False)
    return out


def _not_modified(specs: tuple[SourceFile, ...], out: dict[str, FetchedFile]) -> tuple:
    return tuple(s for s in specs if s.name in out and out[s.name].not_modified)


def _spec(source: Source, name: str, fetched: FetchedFile) -> SourceFile:
    return next(
        (s for s in source.files if s.name == name), SourceFile(name, fetched.origin, "xml")
    )


def _fetch_specs(
    source: Source,
    specs: tuple[SourceFile, ...],
    folder: str,
    mirror: str | None,
    policy: FetchPolicy,
    session: requests.Session | None,
    out: dict[str, FetchedFile],
    previous: Previous,
    progress: Progress,
) -> None:
    for spec in specs:
        try:
            if is_local(mirror):
                fetched = read_mirror_file(Path(str(mirror)), folder, spec)
                progress.advance(source.key, fetched.size)
            else:
                url = f"{str(mirror).rstrip('/')}/{folder}/{spec.name}" if mirror else spec.url
                fetched = fetch_url(
                    url, spec, policy, session, previous=_validators(previous.get(spec.name)),
                    progress=progress, task=source.key,
                )  # fmt: skip
        except SourceError as exc:
            if not spec.required:
                continue
            exc.source = source.key
            exc.file = exc.file or spec.name
            raise
        out[spec.name] = fetched


def _validators(meta: dict[str, Any] | None) -> Validators | None:
    if not meta or not (meta.get("etag") or meta.get("last_modified")):
        return None
    return Validators(meta["sha256"], meta.get("etag"), meta.get("last_modified"))


def same_files(fetched: dict[str, FetchedFile], previous: Previous) -> bool:
    """The same set of files, each with the checksum the current snapshot stored."""
    return bool(previous) and set(fetched) == set(previous) and all(
        f.sha256 == previous[n].get("sha256") for n, f in fetched.items()
    )  # fmt: skip


def files_meta(fetched: dict[str, FetchedFile], previous: Previous) -> list[dict[str, Any]]:
    """What a snapshot stores of each file (a 304 keeps the size the previous download had)."""
    out = []
    for f in fetched.values():
        size = previous.get(f.name, {}).get("size", 0) if f.not_modified else f.size
        meta = {"name": f.name, "url": f.origin, "sha256": f.sha256, "size": size}
        meta.update({k: v for k, v in (("etag", f.etag), ("last_modified", f.last_modified)) if v})
        out.append(meta)
    return out


def parse_files(source: Source, fetched: dict[str, FetchedFile]) -> ParsedList:
    contents = {n: maybe_gunzip(f.content, _spec(source, n, f)) for n, f in fetched.items()}
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


def stated_date(parsed: ParsedList, files: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(data date, where it came from): the date the files state; else the newest HTTP
    Last-Modified the server sent; else none. Never the date the files were fetched."""
    if parsed.data_date:
        return parsed.data_date, "file"
    stamps = []
    for f in files:
        try:
            stamps.append(parsedate_to_datetime(f["last_modified"]).astimezone(UTC))
        except (KeyError, TypeError, ValueError, IndexError):
            continue
    if stamps:
        return max(stamps).date().isoformat(), "http-last-modified"
    return None, None


def reader_of(source: Source) -> str:
    """The program and parser that turn the files into records (stored with the snapshot)."""
    parse = source.parse
    return f"compliance {__version__}: {parse.__module__}.{parse.__qualname__}"


def update_source(
    engine: Engine,
    source: Source,
    *,
    mirror: str | None = None,
    force: bool = False,
    policy: FetchPolicy | None = None,
    progress: Progress = NO_PROGRESS,
) -> SourceOutcome:
    policy = policy or FetchPolicy()
    at = now()
    meta: list[dict[str, Any]] = []
    reader = reader_of(source)
    previous: Previous = {} if force else current_files(engine, source.key, reader)
    progress.start(source.key, f"{source.key}: download")
    try:
        fetched = fetch_files(source, mirror, policy, previous=previous, progress=progress)
        meta = files_meta(fetched, previous)
        if same_files(fetched, previous):
            return _unchanged(engine, source, meta, at)
        progress.update(source.key, description=f"{source.key}: parse")
        parsed = parse_files(source, fetched)
        progress.update(source.key, description=f"{source.key}: load")
        data_date, data_date_from = stated_date(parsed, meta)
        result = replace_snapshot(
            engine, source.key, source.title, parsed, meta, at, force=force,
            data_date=data_date, data_date_from=data_date_from, reader=reader,
        )  # fmt: skip
    except (SourceError, ShrinkError) as exc:
        return _failed(engine, source, exc, meta, at)
    finally:
        progress.finish(source.key)
    return SourceOutcome(
        source.key,
        ok=True,
        records=result.record_count,
        previous=result.previous_count,
        delta=result.delta,
        warnings=parsed.warnings,
        data_date=data_date,
        data_date_from=data_date_from,
    )


def _unchanged(
    engine: Engine, source: Source, meta: list[dict[str, Any]], at: Any
) -> SourceOutcome:
    current = confirm_unchanged(engine, source.key, source.title, meta, at)
    return SourceOutcome(
        source.key,
        ok=True,
        records=current.record_count,
        previous=current.record_count,
        data_date=current.data_date,
        data_date_from=current.data_date_from,
        unchanged=True,
    )


def _failed(
    engine: Engine, source: Source, exc: Exception, meta: list[dict[str, Any]], at: Any
) -> SourceOutcome:
    message = str(exc)
    if isinstance(exc, ShrinkError):
        names = ", ".join(f["name"] for f in meta)
        message = f"{source.key}: {names}: {message}"
    elif not message.startswith(source.key):
        message = f"{source.key}: {message}"
    record_failure(engine, source.key, source.title, message, meta, at)
    return SourceOutcome(source.key, ok=False, error=message)
