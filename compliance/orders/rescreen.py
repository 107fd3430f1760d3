"""`compliance rescreen`: after `compliance update`, re-check the parties of past runs against
only the entries added or changed since those runs (or since they were last re-screened), and
report the new hits.

Each Snapshot row carries the delta (added / removed / changed source_ids) against the snapshot
it replaced, so the entries new to a run are the union of the deltas of every later snapshot of
that source. Parties are screened once each with the full engine, and only matches on those
entries count; a hit the original run already raised with the same decision is not new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from compliance.orders import audit
from compliance.orders.accept import current_user
from compliance.orders.decide import CLEAR, Decider, ScoreThresholds
from compliance.orders.models import CheckRun, RescreenRun
from compliance.orders.reasons import PartyReason, reason_from_dict
from compliance.store.models import Entity, Snapshot

ALL = "*"  # every entry of the source is new (the source was not loaded at the run's time)


@dataclass
class RescreenReport:
    id: int | None
    run_ids: list[int]
    parties_checked: int
    entries_checked: int
    new_entries: dict[str, int]  # source -> entries added/changed since the oldest baseline
    hits: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if self.hits else 0


def _runs(engine: Engine, run_ids: list[int] | None) -> list[CheckRun]:
    with engine.connect() as conn:
        q = select(CheckRun).where(CheckRun.status == "done").order_by(CheckRun.id)
        if run_ids:
            q = q.where(CheckRun.id.in_(run_ids))
        return [CheckRun.model_validate(r._mapping) for r in conn.execute(q).all()]


def _baselines(engine: Engine, runs: list[CheckRun]) -> dict[int, dict[str, int]]:
    """Per run, per source: the newest snapshot its parties have already been checked against
    (the run's own, or a later re-screening that covered the run)."""
    base = {
        r.id: {k: int(v["snapshot_id"]) for k, v in (r.snapshots or {}).items()}
        for r in runs
        if r.id is not None
    }
    with engine.connect() as conn:
        for rs in conn.execute(select(RescreenRun.run_ids, RescreenRun.snapshots)).all():
            for rid in rs.run_ids or []:
                if rid in base:
                    for k, v in (rs.snapshots or {}).items():
                        base[rid][k] = max(base[rid].get(k, 0), int(v["snapshot_id"]))
    return base


def _new_entries(engine: Engine, source: str, since: int | None) -> set[str] | str:
    """source_ids added or changed in the snapshots of `source` after snapshot `since`."""
    if since is None:
        return ALL
    out: set[str] = set()
    with engine.connect() as conn:
        for (delta,) in conn.execute(
            select(Snapshot.delta).where(
                Snapshot.source == source,
                Snapshot.id > since,
                Snapshot.status.in_(("current", "superseded")),
            )
        ):
            out.update((delta or {}).get("added", []))
            out.update((delta or {}).get("changed", []))
    return out


def _current_counts(engine: Engine, snapshots: dict[str, dict[str, Any]]) -> dict[str, int]:
    out = {}
    with engine.connect() as conn:
        for k, v in snapshots.items():
            out[k] = int(
                conn.execute(
                    select(func.count()).where(Entity.snapshot_id == v["snapshot_id"])
                ).scalar()
                or 0
            )
    return out


NewEntries = dict[str, set[str] | str]  # source -> the entry ids new since a run, or ALL


def rescreen(
    engine: Engine,
    decider_factory: Callable[[], Decider],
    *,
    run_ids: list[int] | None = None,
    thresholds: ScoreThresholds | None = None,
    record: bool = True,
    user: str | None = None,
) -> RescreenReport:
    """`decider_factory()` builds a Decider over the current lists with these thresholds and
    the current acceptances (see deciders.make_decider); only its party screening is used."""
    thresholds = thresholds or ScoreThresholds()
    runs = _runs(engine, run_ids)
    snapshots = audit.snapshot_info(engine)
    ids = [r.id for r in runs if r.id is not None]
    report = RescreenReport(None, ids, 0, 0, {}, [], snapshots, thresholds.to_dict())
    if not runs:
        return report
    new_for_run = _new_since_each_run(engine, runs, ids, snapshots)
    union: NewEntries = {}
    for per in new_for_run.values():
        for src, ents in per.items():
            if ents == ALL or union.get(src) == ALL:
                union[src] = ALL
            else:
                union.setdefault(src, set()).update(ents)
    sizes = _current_counts(engine, snapshots)
    report.new_entries = {
        s: (sizes.get(s, 0) if e == ALL else len(e)) for s, e in sorted(union.items())
    }
    report.entries_checked = sum(report.new_entries.values())
    if not union:
        return _record(engine, report, record, user)
    parties = _parties_to_check(engine, ids, new_for_run)
    report.parties_checked = len(parties)
    decider = decider_factory()
    for (name, country), refs in sorted(parties.items()):
        report.hits += _new_hits(decider, name, country, refs, new_for_run)
    return _record(engine, report, record, user)


def _new_since_each_run(
    engine: Engine, runs: list[CheckRun], ids: list[int], snapshots: dict[str, dict[str, Any]]
) -> dict[int, NewEntries]:
    """Per run: the entries of each list newer than the snapshot that run saw."""
    base = _baselines(engine, runs)
    cache: dict[tuple[str, int | None], set[str] | str] = {}
    new_for_run: dict[int, NewEntries] = {}
    for rid in ids:
        per: NewEntries = {}
        for src, snap in snapshots.items():
            since = base[rid].get(src)
            if since is not None and since >= snap["snapshot_id"]:
                continue  # nothing newer than what this run saw
            key = (src, since)
            if key not in cache:
                cache[key] = _new_entries(engine, src, since)
            if cache[key]:
                per[src] = cache[key]
        new_for_run[rid] = per
    return new_for_run


def _parties_to_check(
    engine: Engine, ids: list[int], new_for_run: dict[int, NewEntries]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The parties of the runs that have anything new to be checked against, each with the
    lines it is on and the hits those lines already raised."""
    parties: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rid in ids:
        if not new_for_run[rid]:
            continue
        for ln in audit.iter_lines(engine, rid):
            raised = {
                (r.role, r.entry, r.decision)
                for r in map(reason_from_dict, ln.reasons)
                if isinstance(r, PartyReason)
            }
            for p in ln.parties:
                parties[(p["name"], p.get("country") or "")].append(
                    {
                        "run_id": rid,
                        "line": ln.line,
                        "order_id": ln.order_id,
                        "role": p["role"],
                        "raised": raised,
                    }
                )
    return parties


def _new_hits(
    decider: Decider, name: str, country: str, refs: list[dict[str, Any]],
    new_for_run: dict[int, NewEntries],
) -> list[dict[str, Any]]:  # fmt: skip
    """The party's matches on entries new to a run that the run's lines did not raise."""

    def is_new(rid: int, reason: PartyReason) -> bool:
        per = new_for_run[rid]
        for entry in [reason.entry, *reason.sources]:
            src, _, sid = entry.partition(":")
            ents = per.get(src)
            if ents == ALL or (ents and sid in ents):
                return True
        return False

    hits = []
    for reason in decider.party_reasons("party", name, country):
        if not isinstance(reason, PartyReason) or reason.decision == CLEAR:
            continue
        lines = [
            {k: ref[k] for k in ("run_id", "line", "order_id", "role")}
            for ref in refs
            if is_new(ref["run_id"], reason)
            and (ref["role"], reason.entry, reason.decision) not in ref["raised"]
        ]
        if lines:
            hit = {k: v for k, v in reason.to_dict().items() if k not in ("role", "kind")}
            hit["country"] = country
            hit["lines"] = lines
            hit["text"] = hit["text"].replace(" party ", " ", 1)
            hits.append(hit)
    return hits


def _record(
    engine: Engine, report: RescreenReport, record: bool, user: str | None
) -> RescreenReport:
    if record and report.run_ids:
        with engine.begin() as conn:
            report.id = int(
                conn.execute(
                    insert(RescreenRun).values(
                        at=datetime.now(UTC),
                        user=user or current_user(),
                        run_ids=report.run_ids,
                        snapshots=report.snapshots,
                        thresholds=report.thresholds,
                        parties_checked=report.parties_checked,
                        entries_checked=report.entries_checked,
                        hits=report.hits,
                    )
                ).inserted_primary_key[0]
            )
    return report
