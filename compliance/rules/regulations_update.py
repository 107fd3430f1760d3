"""Updating the regulation texts, which `compliance update` runs after the lists: fetch the
eCFR pieces, store them, and say loudly when a section the chip rules depend on changed, or
when the 3A090 thresholds in the text no longer match the encoded ones."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from compliance.lists_update import SourceOutcome, fetch_files
from compliance.progress import NO_PROGRESS, Progress
from compliance.rules.regstore import save_sections
from compliance.rules.thresholds import check_text
from compliance.sources import ecfr
from compliance.sources.base import SourceError
from compliance.sources.http import FetchPolicy, maybe_gunzip
from compliance.store.snapshots import Delta, now


def update_regulations(
    engine: Engine,
    *,
    mirror: str | None = None,
    force: bool = False,
    policy: FetchPolicy | None = None,
    progress: Progress = NO_PROGRESS,
) -> SourceOutcome:
    source = ecfr.SOURCE
    at = now()
    progress.start(source.key, f"{source.key}: download")
    try:
        policy = policy or FetchPolicy()
        fetched = fetch_files(source, mirror, policy, progress=progress)  # type: ignore[arg-type]
        progress.update(source.key, description=f"{source.key}: parse")
        contents = {
            n: maybe_gunzip(f.content, ecfr.SourceFile(n, f.origin, "xml"))
            for n, f in fetched.items()
        }
        parsed = source.parse(contents)
    except SourceError as exc:
        exc.source = exc.source or source.key
        message = str(exc)
        if not message.startswith(source.key):
            message = f"{source.key}: {message}"
        return SourceOutcome(source.key, ok=False, error=f"{message}; stored texts kept")
    finally:
        progress.finish(source.key)
    urls = {n: f.origin for n, f in fetched.items()}
    changes, first = save_sections(engine, parsed.sections, parsed.ecfr_date, urls, at)
    notices = [
        f"RULE TEXT CHANGED: {c.summary()}; the chip rules depend on it. "
        "Run `compliance rules` to see what changed."
        for c in changes
    ]
    text_3a090 = next(s.text for s in parsed.sections if s.key == "3A090")
    check = check_text(text_3a090)
    notices += [
        f"ERROR: 3A090 thresholds differ from the encoded rule: {m}" for m in check.mismatches
    ]
    warnings = list(parsed.warnings)
    if check.missing:
        warnings.append(f"3A090 text does not state: {', '.join(check.missing)}")
    return SourceOutcome(
        source.key,
        ok=True,
        records=len(parsed.sections),
        previous=None if first else len(parsed.sections),
        warnings=warnings,
        data_date=parsed.ecfr_date,
        data_date_from="file" if parsed.ecfr_date else None,
        notices=notices,
        delta=Delta(changed=[c.key for c in changes]),
    )
