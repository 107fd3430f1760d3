"""The in-memory screening index, built from the current snapshots in the database.

Candidate retrieval never scans every name: each query token is looked up exactly, by its
phonetic key, among vocabulary tokens of about its length that share its first two, last two,
or first and last letters (a single edit leaves one of them intact), and joined with its neighbour
("Jin Ping" -> "jinping"); identifier numbers have their own table. The built index is cached on
disk under a key made of the database URL and the current snapshot ids, so it is rebuilt
exactly when a list snapshot changes.
"""

from __future__ import annotations

import gc
import hashlib
import math
import os
import pickle
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import platformdirs
from sqlalchemy import String, select, type_coerce
from sqlalchemy.engine import Connection, Engine

from compliance.datafiles import data_file
from compliance.matching.normalize import (
    NORMALISATION_TABLES,
    NormName,
    normalize_id,
    normalize_name,
    phonetic_key,
)
from compliance.store.db import read_snapshot
from compliance.store.models import (
    Entity,
    EntityBirthDate,
    EntityIdentifier,
    EntityName,
    Snapshot,
    SourceRow,
)

INDEX_VERSION = 10
KEEP_CACHED = 4  # index files kept in the cache folder
MIN_TYPO_LEN = 3  # tokens shorter than this are matched exactly or phonetically only
KEEP_FIELDS = (
    "license_requirement", "license_policy", "federal_register_notice", "list_code", "list_codes",
    "entity_number", "start_date", "effective_date", "title", "reference_number", "un_reference",
)  # fmt: skip


# CSL sub-lists that are OFAC's own (their entity_number is OFAC's ent_num).
OFAC_CSL_CODES = frozenset({"SDN", "SSI", "FSE", "PLC", "CAP", "MBS", "CMIC", "NS-MBS", "CAPTA"})


@dataclass(slots=True)
class EntityInfo:
    id: int
    source: str
    source_id: str
    type: str
    name: str
    programs: list[str]
    lists: list[str]
    countries: list[str]
    fields: dict[str, Any]
    content_hash: str
    snapshot_id: int
    birth_years: list[int] = field(default_factory=list)
    births: list[str] = field(default_factory=list)
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (type, number)
    group: int = -1  # entities that are the same listing published by several sources


@dataclass(slots=True)
class NameEntry:
    entity: int  # index into MatchIndex.entities
    name: str  # as listed
    kind: str
    norm: NormName


@dataclass
class MatchIndex:
    entities: list[EntityInfo]
    names: list[NameEntry]
    postings: dict[str, list[int]]  # token (or joined token pair) -> name indexes
    df: dict[str, int]
    by_phonetic: dict[str, list[str]]  # phonetic key -> vocabulary tokens
    by_shape: dict[str, list[str]]  # "<ab7", ">yz7", "=az7": see shapes()
    by_id: dict[str, list[int]]  # normalised identifier number -> entity indexes
    groups: list[list[int]]
    snapshots: dict[int, dict[str, Any]]  # snapshot id -> {source, id, data_date, sha256...}
    key: str
    primary_name: list[int] = field(default_factory=list)  # entity index -> its primary name
    name_weight: list[float] = field(default_factory=list)  # name index -> sum of token weights
    max_idf: float = 0.0

    weights: dict[str, float] = field(default_factory=dict)  # token -> inverse frequency

    def idf(self, token: str) -> float:
        """Rarity weight: log(names / names holding the token); unseen tokens weigh most."""
        return self.weights.get(token, self.max_idf)


@contextmanager
def _connected(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with read_snapshot(bind) as conn:
            yield conn


def _code_version() -> str:
    """The index's shape and normalisation come from this code: a changed file, a new index."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("index.py", "normalize.py", "abbreviations.py", "cjk.py"):
        digest.update((here / name).read_bytes())
    for table in NORMALISATION_TABLES:  # a changed table changes the normalised names too
        digest.update(data_file(table).read_bytes())
    return digest.hexdigest()[:12]


_CODE_VERSION = _code_version()


def cache_key(bind: Engine | Connection) -> tuple[str, dict[int, dict[str, Any]]]:
    snaps: dict[int, dict[str, Any]] = {}
    with _connected(bind) as conn:
        rows = conn.execute(
            select(Snapshot)
            .join(SourceRow, SourceRow.current_snapshot_id == Snapshot.id)
            .order_by(Snapshot.id)
        ).all()
    for s in rows:
        snaps[s.id] = {
            "source": s.source,
            "id": s.id,
            "data_date": s.data_date,
            "sha256": s.sha256,
            "fetched_at": s.fetched_at.isoformat(timespec="seconds") if s.fetched_at else None,
        }
    url = bind.engine.url.render_as_string(hide_password=True)
    raw = f"{INDEX_VERSION}|{_CODE_VERSION}|{url}|{sorted(snaps)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24], snaps


def _cache_dir() -> Path:
    return Path(os.environ.get("COMPLIANCE_CACHE") or platformdirs.user_cache_dir("compliance"))


def load_index(engine: Engine, *, use_cache: bool = True) -> MatchIndex:
    """The index for the current snapshots: from the disk cache if valid, else built (and cached).

    The garbage collector is paused while the index's million small objects are created and
    then told to leave them alone (gc.freeze): both loading and screening run much faster.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        index = _load_index(engine, use_cache)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return index


def _load_index(engine: Engine, use_cache: bool) -> MatchIndex:
    # One read snapshot for the key and every row: an update committing meanwhile in another
    # process must not leave the index with one snapshot's entities and none of its names.
    with read_snapshot(engine) as conn:
        return _load_index_from(conn, use_cache)


def _load_index_from(conn: Connection, use_cache: bool) -> MatchIndex:
    key, snaps = cache_key(conn)
    path = _cache_dir() / f"index-{key}.pickle"
    if use_cache and path.is_file():
        try:
            with path.open("rb") as fh:
                index = pickle.load(fh)
            if isinstance(index, MatchIndex) and index.key == key:
                return index
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    index = build_index(conn, key, snaps)
    if use_cache:
        _write_cache(path, index)
    return index


def _write_cache(path: Path, index: MatchIndex) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Keep the few newest indexes (several databases may share the cache folder).
        olds = sorted(path.parent.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in [p for p in olds if p != path][:-KEEP_CACHED]:
            old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # caching is an optimisation; a read-only cache folder just means rebuilding


def build_index(
    bind: Engine | Connection, key: str, snaps: dict[int, dict[str, Any]]
) -> MatchIndex:
    entities: list[EntityInfo] = []
    pos: dict[int, int] = {}
    names: list[NameEntry] = []
    snap_ids = list(snaps)
    with _connected(bind) as conn:
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
            pos[r.id] = len(entities)
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
        current = select(Entity.id).where(Entity.snapshot_id.in_(snap_ids))
        for eid, name, kind in conn.execute(
            select(EntityName.entity_id, EntityName.name, EntityName.kind)
            .where(EntityName.entity_id.in_(current))
            .order_by(EntityName.id)
        ):
            if eid in pos and name:
                person = entities[pos[eid]].type == "person"
                for variant in name_variants(name):
                    norm = normalize_name(variant)
                    names.append(
                        NameEntry(pos[eid], name, kind, norm.as_person() if person else norm)
                    )
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
    return _assemble(entities, names, dict(by_id), snaps, key)


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
    df = {t: len(v) for t, v in postings.items()}
    by_phonetic: dict[str, list[str]] = defaultdict(list)
    by_shape: dict[str, list[str]] = defaultdict(list)
    for t in postings:
        k = phonetic_key(t)
        if len(k) >= 3:
            by_phonetic[k].append(t)
        if len(t) >= MIN_TYPO_LEN and t.isalpha():
            for shape in shapes(t):
                by_shape[shape].append(t)
    index = MatchIndex(
        entities=entities,
        names=names,
        postings=dict(postings),
        df=df,
        by_phonetic=dict(by_phonetic),
        by_shape=dict(by_shape),
        by_id=by_id,
        groups=_group(entities),
        snapshots=snaps,
        key=key,
    )
    index.max_idf = math.log(max(len(names), 2))
    index.weights = {t: max(math.log(len(names) / n), 0.3) for t, n in df.items()}
    w = index.weights
    index.name_weight = [sum(w[t] for t in n.norm.tokens) for n in names]
    index.primary_name = [-1] * len(entities)
    for i, n in enumerate(names):
        if index.primary_name[n.entity] == -1 or n.kind == "primary":
            index.primary_name[n.entity] = i
    return index


_TRAILING_BRACKETS = re.compile(r"\s*[(\[][^()\[\]]*[)\]][\s.,;]*$")


def name_variants(name: str) -> list[str]:
    """The listed name, and the name without what it adds in brackets at the end ("Huawei
    Technologies Co., Ltd. (Huawei)", "... (IRGC)"): an abbreviation or a note. Brackets inside
    the name ("Huawei Technologies (Vietnam) Company Limited") name another entity: kept."""
    bare = _TRAILING_BRACKETS.sub("", name).strip(" ,;")
    return [name, bare] if bare and bare != name and normalize_name(bare).tokens else [name]


def shapes(token: str, length: int | None = None) -> tuple[str, str, str]:
    """Keys a single edit leaves at least one of: first two letters, last two, or first and
    last letter (a middle edit in a short word: "feul" / "fuel"), each with the length."""
    n = len(token) if length is None else length
    return f"<{token[:2]}{n}", f">{token[-2:]}{n}", f"={token[0]}{token[-1]}{n}"


def merge_key(e: EntityInfo) -> tuple[str, ...]:
    """Listings that several sources publish: OFAC entries (ent_num) appear in OFAC's own files
    and in the CSL; a BIS denial order appears in dpl.txt and in the CSL; a UN designation
    appears in the UN list and, citing its UN reference, in the UK and EU lists."""
    if e.source in ("us_ofac_sdn", "us_ofac_cons"):
        return ("ofac", e.source_id)
    if e.source == "us_trade_csl":
        number = str(e.fields.get("entity_number") or "")
        codes = set(e.fields.get("list_codes") or [e.fields.get("list_code")])
        if number and codes & OFAC_CSL_CODES:
            return ("ofac", number)
        if "DPL" in codes:
            start = str(e.fields.get("start_date") or "")
            return ("dpl", normalize_name(e.name).compact, start)
    if e.source == "un_sc" and e.fields.get("reference_number"):
        return ("un", _un_ref(e.fields["reference_number"]))
    if e.source in ("gb_ofsi", "eu_fsf") and _un_ref(e.fields.get("un_reference")):
        return ("un", _un_ref(e.fields["un_reference"]))
    if e.source == "us_bis_dpl":
        start = str(e.fields.get("effective_date") or "")
        return ("dpl", normalize_name(e.name).compact, start)
    return (e.source, e.source_id)


def _un_ref(value: Any) -> str:
    """A UN Security Council reference ("QDi.003") as the UK and EU lists cite it."""
    text = str(value or "").strip().rstrip(".").upper()
    return text if re.fullmatch(r"[A-Z]{2,4}\.\d{1,4}", text) else ""


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
