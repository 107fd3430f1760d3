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
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import orjson

from compliance.datafiles import data_file
from compliance.matching import cedict, indexcache
from compliance.matching.indexfile import (
    KeyedLists,
    KeyedValues,
    Reader,
    id_map,
)
from compliance.matching.normalize import (
    NORMALISATION_TABLES,
    NormName,
    normalize_name,
)
from compliance.progress import NO_PROGRESS, Progress
from compliance.sources import policy_fingerprint
from compliance.store.db import read_snapshot

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

INDEX_VERSION = 12
MIN_TYPO_LEN = 3  # tokens shorter than this are matched exactly or phonetically only
KEEP_FIELDS = (
    "license_requirement", "license_policy", "federal_register_notice", "list_code", "list_codes",
    "entity_number", "start_date", "effective_date", "title", "reference_number", "un_reference",
    "standard_order", "end_date", "type_inferred",
)  # fmt: skip


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

    @property
    def compact_name(self) -> str:
        """The listed name as the matcher compares it (what a policy's merge key may read)."""
        return normalize_name(self.name or "").compact


class ShapeTable(NamedTuple):
    keys: dict[str, int]
    offsets: memoryview
    values: np.ndarray
    masks: np.ndarray  # (n, 2) uint64: letter_masks of the token at each position of values


@dataclass(slots=True)
class NameEntry:
    entity: int  # index into MatchIndex.entities
    name: str  # as listed
    kind: str
    norm: NormName


class MatchIndex:
    """The screening index, read from an index file (see indexfile.py): a memory-mapped cache
    file, or bytes just built. Opening it builds the vocabulary dicts and nothing else; posting
    lists, names and entities stay in the file until a query touches them."""

    def __init__(self, buf: Any) -> None:
        f = Reader(buf)
        self.buffer = buf
        meta = f.meta
        self.key: str = meta["key"]
        # snapshot id -> {source, id, data_date, sha256, fetched_at}
        self.snapshots: dict[int, dict[str, Any]] = {
            int(k): v for k, v in meta["snapshots"].items()
        }
        self.max_idf: float = meta["max_idf"]
        self._file = f
        self.vocabulary = f.strings("vocab")  # token (or joined token pair) by token id
        ids = id_map(self.vocabulary)
        self.token_ids = ids  # vocabulary token -> its id
        # The posting lists, for merging in bulk: token id i is held by the listed names
        # posting_values[posting_offsets[i]:posting_offsets[i + 1]].
        self.posting_offsets = f.section("postings.offsets")
        self.posting_values = np.frombuffer(f.section("postings.values"), dtype=np.int32)
        self.weights = KeyedValues(ids, f.section("weights"))  # token -> inverse frequency
        self.entities = f.records("entities", decode_entity)
        self.names = f.records("names", decode_name)
        self.groups = f.int_lists("groups")  # group -> entity indexes
        self.primary_name = f.section("primary_name")  # entity index -> its primary name
        # name index -> what its words weigh (words_weight)
        self.name_weights = np.frombuffer(f.section("name_weight"), dtype=np.float64)
        self.name_entity = f.section("name_entity")  # name index -> its entity's index
        # each entity's type, read without decoding the entity: a code into meta["entity_types"]
        self.entity_types: list[str] = meta["entity_types"]
        self._entity_type = f.section("entity_type")

    @cached_property
    def by_phonetic(self) -> KeyedLists:
        """Phonetic key -> vocabulary tokens."""
        return self._token_lists("phonetic")

    @cached_property
    def shape_table(self) -> ShapeTable:
        """The by-shape table (see shapes()) as arrays: shape key -> list number; list i holds
        the token ids values[offsets[i]:offsets[i + 1]], whose letter_masks are the same
        slices of masks (two columns)."""
        f = self._file
        return ShapeTable(
            id_map(f.strings("shape")),
            f.section("shape.offsets"),
            np.frombuffer(f.section("shape.values"), np.int32),
            np.frombuffer(f.section("shape_masks"), np.uint64).reshape(-1, 2),
        )

    @cached_property
    def by_id(self) -> KeyedLists:
        """Normalised identifier number -> entity indexes."""
        f = self._file
        return KeyedLists(id_map(f.strings("id")), f.int_lists("id"))

    def _token_lists(self, name: str) -> KeyedLists:
        token, f = self.vocabulary.__getitem__, self._file
        return KeyedLists(
            id_map(f.strings(name)), f.int_lists(name), lambda ids: list(map(token, ids))
        )

    def entity_type(self, e: int) -> str:
        """Entity `e`'s type (person, organization, vessel...), without decoding the entity."""
        return self.entity_types[self._entity_type[e]]

    def posting_size(self, token: str) -> int:
        """How many listed names hold `token` (a vocabulary token)."""
        i = self.token_ids[token]
        return self.posting_offsets[i + 1] - self.posting_offsets[i]

    def idf(self, token: str) -> float:
        """Rarity weight: log(names / names holding the token); unseen tokens weigh most."""
        return self.weights.get(token, self.max_idf)


_ENTITY_FIELDS = tuple(f.name for f in dataclass_fields(EntityInfo))


def encode_entity(e: EntityInfo) -> bytes:
    return orjson.dumps([getattr(e, name) for name in _ENTITY_FIELDS])


def decode_entity(raw: bytes) -> EntityInfo:
    e = EntityInfo(*orjson.loads(raw))
    e.identifiers = [(t, n) for t, n in e.identifiers]
    return e


def encode_name(n: NameEntry) -> bytes:
    norm = n.norm
    return orjson.dumps(
        [n.entity, n.name, n.kind, norm.tokens, norm.legal_forms, norm.latin, norm.words]
    )


def decode_name(raw: bytes) -> NameEntry:
    entity, name, kind, tokens, legal, latin, words = orjson.loads(raw)
    return NameEntry(entity, name, kind, NormName(tuple(tokens), tuple(legal), latin, tuple(words)))


@contextmanager
def connected(bind: Engine | Connection) -> Iterator[Connection]:
    from sqlalchemy.engine import Connection

    if isinstance(bind, Connection):
        yield bind
    else:
        with read_snapshot(bind) as conn:
            yield conn


def _code_version() -> str:
    """The index's shape and normalisation come from this code: a changed file, a new index."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in (
        "index.py", "index_build.py", "indexfile.py", "normalize.py", "abbreviations.py", "cjk.py",
        "cedict.py",
    ):  # fmt: skip
        digest.update((here / name).read_bytes())
    digest.update(cedict.release().encode())  # its dictionary renders listed Chinese names
    for table in NORMALISATION_TABLES:  # a changed table changes the normalised names too
        digest.update(data_file(table).read_bytes())
    # How listings are grouped comes from the sources' policies: a changed policy, a new index.
    package = here.parent
    for path in [package / "policy.py", *sorted((package / "sources").rglob("*.py"))]:
        digest.update(path.read_bytes())
    return f"{INDEX_VERSION}|{digest.hexdigest()[:12]}"


_CODE_VERSION = _code_version()


def cache_key(bind: Engine | Connection) -> tuple[str, dict[int, dict[str, Any]]]:
    """The cache key of the current snapshots, and their facts (source, id, date, sha256)."""
    with connected(bind) as conn:
        rows = conn.exec_driver_sql(indexcache.CURRENT_SNAPSHOTS).all()
    url = bind.engine.url
    database = indexcache.database_identity(
        url.drivername, url.database, url.render_as_string(hide_password=True)
    )
    return indexcache.snapshot_key(database, rows, _code_and_policies())


def _code_and_policies() -> str:
    """This code's version and every registered source's policy (a list registered at run time
    groups and ranks its entries too)."""
    return f"{_CODE_VERSION}|{policy_fingerprint()}"


def cached_index(url: str) -> MatchIndex | None:
    """The cached index of a SQLite database's current snapshots, found with the standard
    library alone (a screen from the cache never imports SQLAlchemy); None when the database
    is not a SQLite file or has no valid cache yet: then use load_index(engine)."""
    path = indexcache.sqlite_file(url)
    rows = indexcache.current_snapshots_sqlite(path) if path else None
    if path is None or rows is None:
        return None
    database = indexcache.database_identity("sqlite", path, url)
    key, _snaps = indexcache.snapshot_key(database, rows, _code_and_policies())
    return open_cached(key)


def load_index(
    engine: Engine, *, use_cache: bool = True, progress: Progress = NO_PROGRESS
) -> MatchIndex:
    """The index for the current snapshots: from the disk cache if valid, else built (and
    cached). The garbage collector is paused while a build creates its million small objects.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        index = _load_index(engine, use_cache, progress)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return index


def _load_index(engine: Engine, use_cache: bool, progress: Progress) -> MatchIndex:
    # One read snapshot for the key and every row: an update committing meanwhile in another
    # process must not leave the index with one snapshot's entities and none of its names.
    with read_snapshot(engine) as conn:
        return _load_index_from(conn, use_cache, progress)


def _load_index_from(conn: Connection, use_cache: bool, progress: Progress) -> MatchIndex:
    key, snaps = cache_key(conn)
    if use_cache:
        cached = open_cached(key)
        if cached is not None:
            return cached
    from compliance.matching.index_build import build_index  # not needed to screen from cache

    index = build_index(conn, key, snaps, progress)
    if use_cache and indexcache.write_atomic(indexcache.cache_path(key), index.buffer):
        # Served from the page cache from now on, shared by every process that screens.
        return open_cached(key) or index
    return index


def open_cached(key: str) -> MatchIndex | None:
    """The cached index under `key`, or None when it is missing, damaged or not for `key`."""
    mapped = indexcache.map_file(indexcache.cache_path(key))
    if mapped is None:
        return None
    try:
        index = MatchIndex(mapped)
    except (ValueError, KeyError, TypeError):  # IndexFileError is a ValueError
        return None
    return index if index.key == key else None


_TRAILING_BRACKETS = re.compile(r"\s*[(\[][^()\[\]]*[)\]][\s.,;]*$")


def name_variants(name: str) -> list[str]:
    """The listed name, and the name without what it adds in brackets at the end ("Huawei
    Technologies Co., Ltd. (Huawei)", "... (IRGC)"): an abbreviation or a note. Brackets inside
    the name ("Huawei Technologies (Vietnam) Company Limited") name another entity: kept."""
    bare = _TRAILING_BRACKETS.sub("", name).strip(" ,;")
    return [name, bare] if bare and bare != name and normalize_name(bare).tokens else [name]


def listed_norms(name: str, person: bool) -> list[NormName]:
    """How a listed name is indexed: one normalised form per name_variants, read as a
    person's name (legal-form words kept) for a person."""
    norms = [normalize_name(variant) for variant in name_variants(name)]
    return [n.as_person() for n in norms] if person else norms


def words_weight(tokens: tuple[str, ...], weight: Callable[[str], float]) -> float:
    """What a name's words weigh together, summed in their order. The index stores it per
    listed name, and retrieval compares it with the query's for equality: one function, so
    the same words always give the same float."""
    return sum(weight(t) for t in tokens)


def letter_masks(token: str) -> tuple[int, int]:
    """The characters a token holds (a bit each: code point mod 64) and those it holds twice or
    more. One edit changes at most two of these bits, so tokens k edits apart differ in at most
    2k of them: a cheap filter before the edit distance."""
    once = twice = 0
    for ch in token:
        bit = 1 << (ord(ch) & 63)
        if once & bit:
            twice |= bit
        once |= bit
    return once, twice


def shapes(token: str, length: int | None = None) -> tuple[str, str, str]:
    """Keys a single edit leaves at least one of: first two letters, last two, or first and
    last letter (a middle edit in a short word: "feul" / "fuel"), each with the length."""
    n = len(token) if length is None else length
    return f"<{token[:2]}{n}", f">{token[-2:]}{n}", f"={token[0]}{token[-1]}{n}"
