"""A flat file of named sections (typed arrays and byte blobs), read through memory mapping.

The screening index is cached on disk in this form, so opening it costs one checksum pass and
no object creation: a query decodes only the tokens, posting lists, names and entities it
touches. Layout:

    magic (8 bytes) | header length (uint32) | header crc32 (uint32) | header (JSON) |
    padding to 8 | section 1 | padding | section 2 | ...

The header names each section's offset, length and item type, the payload size and the
payload's crc32: a truncated, damaged or foreign file is refused (IndexFileError), never read.
Arrays are in the machine's byte order, which the header records.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

MAGIC = b"CMPIDX\x00\x02"
_PREFIX = struct.Struct("<8sII")
ALIGN = 8
SEP = "\n"  # separator of the strings in a string table (keys never contain it)

T = TypeVar("T")


class IndexFileError(ValueError):
    """The file is not a complete, undamaged index file of this format."""


class Writer:
    """Collects sections, then `getvalue()` gives the whole file."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, str, bytes]] = []

    def array(self, name: str, typecode: str, values: Any) -> None:
        self._parts.append((name, typecode, array(typecode, values).tobytes()))

    def blob(self, name: str, data: bytes) -> None:
        self._parts.append((name, "B", data))

    def strings(self, name: str, values: Sequence[str]) -> None:
        """A table of newline-free strings, read back whole (`Reader.strings`)."""
        if any(SEP in v for v in values):
            raise ValueError(f"{name}: a string holds the separator")
        self.blob(name, SEP.join(values).encode())
        self.array(f"{name}.count", "q", [len(values)])

    def int_lists(self, name: str, lists: Iterable[Sequence[int]]) -> None:
        """Lists of int32 as one flat array and offsets (`Reader.int_lists`)."""
        offsets = array("q", [0])
        flat = array("i")
        for values in lists:
            flat.extend(values)
            offsets.append(len(flat))
        self.array(f"{name}.offsets", "q", offsets)
        self.array(f"{name}.values", "i", flat)

    def records(self, name: str, encoded: Sequence[bytes]) -> None:
        """Byte records, each read back on its own (`Reader.records`)."""
        offsets = array("q", [0])
        total = 0
        for rec in encoded:
            total += len(rec)
            offsets.append(total)
        self.array(f"{name}.offsets", "q", offsets)
        self.blob(f"{name}.data", b"".join(encoded))

    def getvalue(self, meta: dict[str, Any]) -> bytes:
        sections: dict[str, list[Any]] = {}
        body = bytearray()
        for name, typecode, data in self._parts:
            body.extend(b"\0" * (-len(body) % ALIGN))
            sections[name] = [len(body), len(data), typecode]
            body.extend(data)
        header = json.dumps(
            {
                "byteorder": sys.byteorder,
                "sections": sections,
                "payload": [len(body), zlib.crc32(body)],
                "meta": meta,
            },
            separators=(",", ":"),
        ).encode()
        head = _PREFIX.pack(MAGIC, len(header), zlib.crc32(header)) + header
        return head + b"\0" * (-len(head) % ALIGN) + bytes(body)


class Reader:
    """Sections of an index file held in `buf` (an mmap or bytes), checked when opened."""

    def __init__(self, buf: Any) -> None:
        view = memoryview(buf)
        if len(view) < _PREFIX.size:
            raise IndexFileError("shorter than an index file header")
        magic, size, crc = _PREFIX.unpack_from(view)
        if magic != MAGIC:
            raise IndexFileError("not an index file of this format")
        raw = view[_PREFIX.size : _PREFIX.size + size]
        if len(raw) != size or zlib.crc32(raw) != crc:
            raise IndexFileError("damaged header")
        header = json.loads(bytes(raw))
        if header.get("byteorder") != sys.byteorder:
            raise IndexFileError("written on a machine of the other byte order")
        start = _PREFIX.size + size
        start += -start % ALIGN
        length, payload_crc = header["payload"]
        self._body = view[start:]
        if len(self._body) != length or zlib.crc32(self._body) != payload_crc:
            raise IndexFileError("truncated or damaged contents")
        self._sections: dict[str, list[Any]] = header["sections"]
        self.meta: dict[str, Any] = header["meta"]

    def section(self, name: str) -> memoryview:
        try:
            offset, length, typecode = self._sections[name]
        except KeyError:
            raise IndexFileError(f"no section {name!r}") from None
        raw = self._body[offset : offset + length]
        return raw if typecode == "B" else raw.cast(typecode)

    def strings(self, name: str) -> list[str]:
        (count,) = self.section(f"{name}.count")
        data = bytes(self.section(name)).decode()
        values = data.split(SEP) if count else []
        if len(values) != count:
            raise IndexFileError(f"{name}: {len(values)} strings, the header says {count}")
        return values

    def int_lists(self, name: str) -> IntLists:
        return IntLists(self.section(f"{name}.offsets"), self.section(f"{name}.values"))

    def records(self, name: str, decode: Callable[[bytes], T]) -> Records[T]:
        return Records(self.section(f"{name}.offsets"), self.section(f"{name}.data"), decode)


class IntLists(Sequence[memoryview]):
    """List i is a read-only int view (len, iteration, indexing) into the mapped file."""

    def __init__(self, offsets: memoryview, values: memoryview) -> None:
        self._offsets = offsets
        self._values = values

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        o = self._offsets
        return self._values[o[i] : o[i + 1]]

    def size(self, i: int) -> int:
        return self._offsets[i + 1] - self._offsets[i]


# The views below are dicts filled on first lookup (dict.__missing__): reading a key again is a
# plain dict lookup, as fast as the in-memory index this file replaces, and a query decodes only
# what it touches. Length, membership and iteration are those of every key, not only of the
# keys read so far.


class Records(dict[int, T], Generic[T]):
    """A sequence of records (record number -> decoded record)."""

    def __init__(self, offsets: memoryview, data: memoryview, decode: Callable[[bytes], T]) -> None:
        super().__init__()
        self._offsets = offsets
        self._data = data
        self._decode = decode
        self._count = len(offsets) - 1

    def __missing__(self, i: int) -> T:
        j = i + self._count if i < 0 else i
        if not 0 <= j < self._count:
            raise IndexError("record index out of range")
        o = self._offsets
        rec = self._decode(self._data[o[j] : o[j + 1]].tobytes())
        self[i] = rec
        return rec

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        for i in range(self._count):
            yield self[i]


_ABSENT = object()


class _Keyed(dict[str, Any]):
    """key -> value, for the keys of `ids` (key -> position in the file)."""

    def __init__(self, ids: dict[str, int]) -> None:
        super().__init__()
        self._ids = ids

    def __missing__(self, key: str) -> Any:
        value = self[key] = self._load(self._ids[key])  # KeyError: no such key
        return value

    def _load(self, i: int) -> Any:
        raise NotImplementedError

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key, _ABSENT)
        if value is _ABSENT:
            i = self._ids.get(key)
            if i is None:
                return default
            value = self[key] = self._load(i)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def keys(self) -> Any:
        return self._ids.keys()

    def values(self) -> Any:
        return [self[k] for k in self._ids]

    def items(self) -> Any:
        return [(k, self[k]) for k in self._ids]


class KeyedLists(_Keyed):
    """key -> one of `lists` (an int view), or its values mapped through `convert`."""

    def __init__(
        self,
        ids: dict[str, int],
        lists: IntLists,
        convert: Callable[[memoryview], Any] | None = None,
    ) -> None:
        super().__init__(ids)
        self._lists = lists
        self._convert = convert

    def _load(self, i: int) -> Any:
        values = self._lists[i]
        return self._convert(values) if self._convert else values


class KeyedValues(_Keyed):
    """key -> values[position of key]."""

    def __init__(self, ids: dict[str, int], values: Sequence[Any]) -> None:
        super().__init__(ids)
        self._values = values

    def _load(self, i: int) -> Any:
        return self._values[i]


def id_map(keys: list[str]) -> dict[str, int]:
    return dict(zip(keys, range(len(keys)), strict=True))
