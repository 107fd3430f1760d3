"""Deciding order lines with N worker processes, in input order.

Lines go to the workers in chunks, with a bounded number of chunks in flight, and come back in
submission order: memory stays flat whatever the file's size, and the output is the same for 1
and N workers (each line's decision depends on that line and the database only).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

from compliance.orders.decide import Decider
from compliance.orders.deciders import CheckOptions, make_decider
from compliance.orders.items import CACHE_SIZE, ItemKey
from compliance.orders.reader import RawRow
from compliance.orders.reasons import ItemReason, LineResult
from compliance.screen_file import chunks
from compliance.store.db import get_engine

_WORKER: Decider | None = None


def _init_worker(opts: CheckOptions) -> None:
    global _WORKER
    get_engine.cache_clear()  # never reuse a connection pool inherited through fork
    _WORKER = make_decider(opts)


def _lookup(parties: list[tuple[str, str]], items: list[ItemKey]
            ) -> tuple[list[list[Any]], list[list[ItemReason]]]:  # fmt: skip
    """A worker's share of a window: screen these parties, decide these items' licenses."""
    assert _WORKER is not None and _WORKER.items is not None
    # each key comes here once (the parent caches the answers): skip the worker's own cache
    screen = getattr(_WORKER.screen, "__wrapped__", _WORKER.screen)
    return (
        [screen(name, country) for name, country in parties],
        [_WORKER.items.decide(key) for key in items],
    )


class _PartyCache:
    """Screening results by (name, country), bounded; a miss is screened right here."""

    def __init__(self, fallback: Callable[[str, str], list[Any]], size: int = CACHE_SIZE) -> None:
        self.fallback = fallback
        self.size = size
        self.data: OrderedDict[tuple[str, str], list[Any]] = OrderedDict()

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.data

    def put(self, key: tuple[str, str], matches: list[Any]) -> None:
        self.data[key] = matches
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def get(self, name: str, country: str) -> list[Any]:
        key = (name, country)
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        matches = self.fallback(name, country)
        self.put(key, matches)
        return matches


def _init_forked(db_url: str) -> None:
    # The decider came from the parent through fork; its connection pool must not be shared.
    get_engine(db_url).dispose(close=False)


def decide_rows(rows: Iterable[RawRow], opts: CheckOptions) -> Iterator[LineResult]:
    """Decisions in input order. With N workers, the workers screen the parties (each distinct
    name and country once, however often it recurs) and this process decides each line from
    those results: the same code and data as with one worker, so the same output."""
    global _WORKER
    decider = make_decider(opts)
    if opts.workers <= 1:
        for r in rows:
            yield decider.decide_row(r)
        return
    forked = "fork" in mp.get_all_start_methods()
    if forked:
        # The workers share this process's screening index copy-on-write (and no garbage-
        # collector pass in a worker touches the frozen objects' pages).
        _WORKER = decider
        gc.freeze()
        ctx: BaseContext = mp.get_context("fork")
        init, args = _init_forked, (opts.db_url,)
    else:
        ctx = mp.get_context("spawn")
        init, args = _init_worker, (opts,)  # type: ignore[assignment]
    try:
        with ProcessPoolExecutor(opts.workers, mp_context=ctx, initializer=init,
                                 initargs=args) as pool:  # fmt: skip
            window = _Window(decider, pool, opts.workers)
            pending: deque[_Chunk] = deque()
            for chunk in chunks(rows, max(opts.chunk * opts.workers * 2, 1)):
                pending.append(window.submit(chunk))
                if len(pending) >= 3:
                    yield from window.finish(pending.popleft())
            while pending:
                yield from window.finish(pending.popleft())
    finally:
        if forked:
            gc.unfreeze()
            _WORKER = None


_Chunk = tuple[list[tuple[RawRow, Any]], list[Any]]  # (raw and parsed lines, their lookups)


class _Window:
    """The lookups a chunk of lines needs, sent to the workers (each key once, however often it
    recurs or is already on its way), and the chunk's lines decided from the answers."""

    def __init__(self, decider: Decider, pool: ProcessPoolExecutor, workers: int) -> None:
        self.decider, self.pool, self.parts = decider, pool, workers * 2
        self.cache = _PartyCache(decider.screen)
        decider.screen = self.cache.get  # the workers keep their own cache
        self.inflight: set[Any] = set()

    def submit(self, rows: list[RawRow]) -> _Chunk:
        batch = [(r, self.decider.to_line(r)) for r in rows]
        parties: list[tuple[str, str]] = []
        items: list[ItemKey] = []
        for _, parsed in batch:
            pkeys, ikey = self.decider.lookups(parsed)
            for key in pkeys:
                if key not in self.cache and key not in self.inflight:
                    self.inflight.add(key)
                    parties.append(key)
            if ikey and self._unknown_item(ikey) and ikey not in self.inflight:
                self.inflight.add(ikey)
                items.append(ikey)
        n = self.parts
        futures = [
            (self.pool.submit(_lookup, parties[k::n], items[k::n]), parties[k::n], items[k::n])
            for k in range(n)
            if parties[k::n] or items[k::n]
        ]
        return batch, futures

    def finish(self, chunk: _Chunk) -> Iterator[LineResult]:
        batch, futures = chunk
        for future, parties, items in futures:
            screened, licensed = future.result()
            for key, matches in zip(parties, screened, strict=True):
                self.cache.put(key, matches)
                self.inflight.discard(key)
            for key, reasons in zip(items, licensed, strict=True):
                assert self.decider.items is not None  # items are only asked for then
                self.decider.items.remember(key, reasons)
                self.inflight.discard(key)
        for raw, parsed in batch:
            yield self.decider.decide_row(raw, parsed)

    def _unknown_item(self, key: ItemKey) -> bool:
        return self.decider.items is not None and not self.decider.items.knows(key)
