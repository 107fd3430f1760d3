"""Building the screening index from the current snapshots: every entity and name read once,
normalised, and written as one index file (see indexfile.py); listings that several sources
publish are grouped by their policies' merge keys."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import orjson

from compliance.matching.index import (
    KEEP_FIELDS,
    MIN_TYPO_LEN,
    EntityInfo,
    MatchIndex,
    NameEntry,
    connected,
    encode_entity,
    encode_name,
    letter_masks,
    listed_norms,
    shapes,
    words_weight,
)
from compliance.matching.indexfile import Writer
from compliance.matching.normalize import normalize_id, phonetic_key
from compliance.progress import NO_PROGRESS, Progress
from compliance.sources import policy_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
REFERENCE_NAMES = 104_000  # names in every mirrored list together (the fit's database)


def build_index(
    bind: Engine | Connection,
    key: str,
    snaps: dict[int, dict[str, Any]],
    progress: Progress = NO_PROGRESS,
) -> MatchIndex:
    # The ORM models (and sqlmodel) are needed only here, not to screen from the cache.
    from sqlalchemy import select

    from compliance.store.models import Entity

    with connected(bind) as conn:
        entities = _read_entities(conn, list(snaps))
        pos = {e.id: i for i, e in enumerate(entities)}
        current = select(Entity.id).where(Entity.snapshot_id.in_(list(snaps)))
        names = _read_names(conn, current, entities, pos, progress)
        _read_births(conn, current, entities, pos)
        by_id = _read_identifiers(conn, current, entities, pos)
    index = _assemble(entities, names, by_id, snaps, key)
    progress.finish("index")
    return index


def _read_entities(conn: Connection, snap_ids: list[int]) -> list[EntityInfo]:
    from sqlalchemy import String, select, type_coerce

    from compliance.store.models import Entity

    entities: list[EntityInfo] = []
    # JSON columns come back as text and are decoded with orjson: much faster at this size.
    for r in conn.execute(
        select(
            Entity.id,
            Entity.source,
            Entity.source_id,
            Entity.entity_type,
            Entity.name,
            type_coerce(Entity.programs, String).label("programs"),
            type_coerce(Entity.lists, String).label("lists"),
            type_coerce(Entity.countries, String).label("countries"),
            type_coerce(Entity.fields, String).label("fields"),
            Entity.content_hash,
            Entity.snapshot_id,
        )
        .where(Entity.snapshot_id.in_(snap_ids))
        .order_by(Entity.id)
    ):
        fields = {k: v for k, v in (_json(r.fields) or {}).items() if k in KEEP_FIELDS and v}
        entities.append(
            EntityInfo(
                r.id,
                r.source,
                r.source_id,
                r.entity_type,
                r.name,
                _json(r.programs) or [],
                _json(r.lists) or [],
                _json(r.countries) or [],
                fields,
                r.content_hash,
                r.snapshot_id,
            )
        )
    return entities


def _read_names(
    conn: Connection, current: Any, entities: list[EntityInfo], pos: dict[int, int],
    progress: Progress,
) -> list[NameEntry]:  # fmt: skip
    """Every listed name, normalised (a person's as a person's), with its bracket-less variant."""
    from sqlalchemy import func, select

    from compliance.store.models import EntityName

    total = conn.execute(
        select(func.count()).select_from(EntityName).where(EntityName.entity_id.in_(current))
    ).scalar_one()
    progress.start("index", "indexing names", total=total)
    names: list[NameEntry] = []
    rows = conn.execute(
        select(EntityName.entity_id, EntityName.name, EntityName.kind)
        .where(EntityName.entity_id.in_(current))
        .order_by(EntityName.id)
    )
    for done, (eid, name, kind) in enumerate(rows, 1):
        if done % 2000 == 0:
            progress.update("index", completed=done)
        if eid in pos and name:
            person = entities[pos[eid]].type == "person"
            for norm in listed_norms(name, person):
                names.append(NameEntry(pos[eid], name, kind, norm))
    return names


def _read_births(
    conn: Connection, current: Any, entities: list[EntityInfo], pos: dict[int, int]
) -> None:
    from sqlalchemy import select

    from compliance.store.models import EntityBirthDate

    for eid, date in conn.execute(
        select(EntityBirthDate.entity_id, EntityBirthDate.date)
        .where(EntityBirthDate.entity_id.in_(current))
        .order_by(EntityBirthDate.id)
    ):
        if eid in pos and date:
            e = entities[pos[eid]]
            e.births.append(date)
            if date[:4].isdigit():
                e.birth_years.append(int(date[:4]))


def _read_identifiers(
    conn: Connection, current: Any, entities: list[EntityInfo], pos: dict[int, int]
) -> dict[str, list[int]]:
    """Each entity's identifiers; and the entities by normalised number (4 characters or more)."""
    from sqlalchemy import select

    from compliance.store.models import EntityIdentifier

    by_id: dict[str, list[int]] = defaultdict(list)
    for eid, typ, number in conn.execute(
        select(EntityIdentifier.entity_id, EntityIdentifier.type, EntityIdentifier.number)
        .where(EntityIdentifier.entity_id.in_(current))
        .order_by(EntityIdentifier.id)
    ):
        if eid in pos and number:
            entities[pos[eid]].identifiers.append((typ, number))
            norm = normalize_id(number)
            if len(norm) >= 4:
                by_id[norm].append(pos[eid])
    return dict(by_id)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _assemble(
    entities: list[EntityInfo],
    names: list[NameEntry],
    by_id: dict[str, list[int]],
    snaps: dict[int, dict[str, Any]],
    key: str,
) -> MatchIndex:
    postings: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        toks = n.norm.tokens
        joined = (a + b for a, b in zip(toks, toks[1:], strict=False))
        for t in dict.fromkeys([*toks, *joined]):
            postings[t].append(i)
    vocab = list(postings)
    by_phonetic: dict[str, list[int]] = defaultdict(list)  # values: token ids
    by_shape: dict[str, list[int]] = defaultdict(list)
    for tid, t in enumerate(vocab):
        k = phonetic_key(t)
        if len(k) >= 3:
            by_phonetic[k].append(tid)
        if len(t) >= MIN_TYPO_LEN and t.isalpha():
            for shape in shapes(t):
                by_shape[shape].append(tid)
    groups = _group(entities)
    # Rarity on the scale of every list loaded (REFERENCE_NAMES names), at which the weights of
    # data/match_weights.json were fitted: a word in one name of a smaller database weighs as
    # one in the whole of the lists, so loading fewer lists does not lower every score.
    scale = math.log(REFERENCE_NAMES) / math.log(max(len(names), 2))
    weights = {t: max(math.log(len(names) / len(v)) * scale, 0.3) for t, v in postings.items()}
    primary_name = [-1] * len(entities)
    for i, n in enumerate(names):
        if primary_name[n.entity] == -1 or n.kind == "primary":
            primary_name[n.entity] = i
    out = Writer()
    out.strings("vocab", vocab)
    out.int_lists("postings", postings.values())
    out.array("weights", "d", weights.values())
    for name, table in (("phonetic", by_phonetic), ("shape", by_shape), ("id", by_id)):
        out.strings(name, list(table))
        out.int_lists(name, list(table.values()))
    masks = [letter_masks(t) for t in vocab]
    out.array("shape_masks", "Q", (m for ids in by_shape.values() for i in ids for m in masks[i]))
    out.records("entities", [encode_entity(e) for e in entities])
    types = sorted({e.type for e in entities})
    code = {t: i for i, t in enumerate(types)}
    out.array("entity_type", "B", (code[e.type] for e in entities))
    out.records("names", [encode_name(n) for n in names])
    out.array("name_entity", "i", (n.entity for n in names))
    out.int_lists("groups", groups)
    out.array("primary_name", "i", primary_name)
    out.array("name_weight", "d", (words_weight(n.norm.tokens, weights.__getitem__) for n in names))
    meta = {
        "key": key,
        "snapshots": snaps,
        "max_idf": math.log(max(len(names), 2)) * scale,
        "entity_types": types,
    }
    return MatchIndex(out.getvalue(meta))


def merge_key(e: EntityInfo) -> tuple[str, ...]:
    """One listing published by several sources gets one key: each source's policy says how it
    recognises a listing it shares (OFAC ent_num, BIS denial order, UN reference); otherwise
    the entry is only its own source's."""
    return policy_of(e.source).key_of(e.source, e)


def _group(entities: list[EntityInfo]) -> list[list[int]]:
    by_key: dict[tuple[str, ...], int] = {}
    groups: list[list[int]] = []
    for i, e in enumerate(entities):
        k = merge_key(e)
        g = by_key.get(k)
        if g is None:
            g = by_key[k] = len(groups)
            groups.append([])
        groups[g].append(i)
        e.group = g
    return groups
