"""`compliance check` end to end: stream the order file through N worker processes, in order,
into the output file and the audit trail.

Lines go to the workers in chunks, with a bounded number of chunks in flight, and come back in
submission order: memory stays flat whatever the file's size, and the output is the same for 1
and N workers (each line's decision depends on that line and the database only).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from compliance.orders import audit
from compliance.orders.accept import current_user, load_acceptances
from compliance.orders.decide import CLEAR, DECISIONS, ERROR, Decider, ScoreThresholds
from compliance.orders.embargoes import load_embargoes
from compliance.orders.items import CACHE_SIZE, ItemKey
from compliance.orders.reader import RawRow, open_orders
from compliance.orders.reasons import ItemReason, LineResult, PartyReason
from compliance.orders.writer import open_writer
from compliance.progress import NO_PROGRESS, Progress
from compliance.store.db import get_engine, register_models

# The tables an order check writes or reads besides the store's: its own and the rules' texts.
TABLES = ("compliance.orders.models", "compliance.rules.models")
PROGRESS_STEP = 100  # lines per progress report: often enough for the eye, cheap per line


class NoListsError(Exception):
    pass


@dataclass
class CheckOptions:
    db_url: str
    mapping: dict[str, str] = field(default_factory=dict)
    thresholds: ScoreThresholds = field(default_factory=ScoreThresholds)
    on_date: date | None = None
    lists: list[str] | None = None
    workers: int = 1
    chunk: int = 200


@dataclass
class CheckReport:
    run_id: int | None
    input_path: str
    input_sha256: str
    output_path: str | None
    line_count: int
    counts: dict[str, int]
    top_hits: list[dict[str, Any]]
    thresholds: dict[str, float]
    snapshots: dict[str, dict[str, Any]]
    elapsed: float
    workers: int
    flagged: list[LineResult]  # the first non-CLEAR lines, for the screen
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.counts.get(CLEAR, 0) == self.line_count else 1


def make_decider(opts: CheckOptions) -> Decider:
    """Everything a worker needs: the screener (loaded once), the chip rules, acceptances."""
    from compliance.screening import Query

    register_models(*TABLES)  # a library entry point: the database may be new
    engine = get_engine(opts.db_url)
    screener = _screener(opts.db_url, engine, opts.lists)
    review = opts.thresholds.review

    def screen(name: str, country: str) -> list[Any]:
        return list(
            screener.screen(
                Query(name, country=country or None), threshold=review, limit=10
            ).matches
        )

    from compliance.rules.catalog import UnknownModelError
    from compliance.rules.chips import classify_model
    from compliance.rules.license import determine_license
    from compliance.rules.regstore import current_sections

    def item_key(item: str) -> str:
        try:
            return f"model:{classify_model(item).model}"
        except Exception:
            return item.lower()

    # The rules read the country groups from the database only once the eCFR text is scraped;
    # until then they use their fallback, and a query per call would be wasted.
    scraped = "740 Supp. 1" in current_sections(engine)

    return Decider(
        screen,
        determine_license,
        UnknownModelError,
        thresholds=opts.thresholds,
        accepted=load_acceptances(engine),
        on_date=opts.on_date,
        mapping=opts.mapping,
        embargoes=load_embargoes(engine),
        license_kwargs={"engine": engine if scraped else None},
        item_key=item_key,
    )


_SCREENER: tuple[tuple[Any, ...], Any] | None = None


def _screener(db_url: str, engine: Any, lists: list[str] | None) -> Any:
    """One Screener per process, reused while the lists it indexes are unchanged."""
    global _SCREENER
    from compliance.matching.index import cache_key
    from compliance.screening import Screener

    key = (db_url, tuple(lists or ()), cache_key(engine)[0])
    if _SCREENER is None or _SCREENER[0] != key:
        _SCREENER = None  # free the old index before building the next
        _SCREENER = (key, Screener.load(engine, lists=lists))
    return _SCREENER[1]


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


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for r in rows:
        buf.append(r)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _unknown_item(decider: Decider, key: ItemKey) -> bool:
    return decider.items is not None and not decider.items.knows(key)


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
        ctx = mp.get_context("fork")
        init, args = _init_forked, (opts.db_url,)
    else:
        ctx = mp.get_context("spawn")
        init, args = _init_worker, (opts,)  # type: ignore[assignment]
    try:
        with ProcessPoolExecutor(opts.workers, mp_context=ctx, initializer=init,
                                 initargs=args) as pool:  # fmt: skip
            cache = _PartyCache(decider.screen)
            decider.screen = cache.get  # type: ignore[method-assign]  # workers keep theirs
            window = max(opts.chunk * opts.workers * 2, 1)
            pending: deque[tuple[list[tuple[RawRow, Any]], list[Any]]] = deque()
            inflight: set[Any] = set()

            def finish(item: tuple[list[tuple[RawRow, Any]], list[Any]]) -> Iterator[LineResult]:
                batch, futures = item
                for future, parties, items in futures:
                    screened, licensed = future.result()
                    for key, matches in zip(parties, screened, strict=True):
                        cache.put(key, matches)
                        inflight.discard(key)
                    for key, reasons in zip(items, licensed, strict=True):
                        assert decider.items is not None  # items are only asked for then
                        decider.items.remember(key, reasons)
                        inflight.discard(key)
                for raw, parsed in batch:
                    yield decider.decide_row(raw, parsed)

            for rows_ in _chunks(rows, window):
                batch = [(r, decider.to_line(r)) for r in rows_]
                parties: list[tuple[str, str]] = []
                items: list[ItemKey] = []
                for _, parsed in batch:
                    pkeys, ikey = decider.lookups(parsed)
                    for key in pkeys:
                        if key not in cache and key not in inflight:
                            inflight.add(key)
                            parties.append(key)
                    if ikey and _unknown_item(decider, ikey) and ikey not in inflight:
                        inflight.add(ikey)
                        items.append(ikey)
                n = opts.workers * 2
                futures = [
                    (pool.submit(_lookup, parties[k::n], items[k::n]), parties[k::n], items[k::n])
                    for k in range(n)
                    if parties[k::n] or items[k::n]
                ]
                pending.append((batch, futures))
                if len(pending) >= 3:
                    yield from finish(pending.popleft())
            while pending:
                yield from finish(pending.popleft())
    finally:
        if forked:
            gc.unfreeze()
            _WORKER = None


def check_file(
    path: str | Path,
    opts: CheckOptions,
    *,
    output: str | Path | None = None,
    output_format: str | None = None,
    input_format: str | None = None,
    record: bool = True,
    user: str | None = None,
    progress: Progress = NO_PROGRESS,
    keep_flagged: int = 200,
) -> CheckReport:
    """Raises reader.InputError for a file that cannot be checked (exit 2), NoListsError when no
    list is loaded, ValueError for a bad output name. `progress` gets task "check": lines done
    of about `orders.approx_rows`."""
    started = time.monotonic()
    register_models(*TABLES)  # a library entry point: the database may be new
    engine = get_engine(opts.db_url)
    snapshots = audit.snapshot_info(engine, opts.lists)
    if not snapshots:
        raise NoListsError("no sanctions list is loaded; run `compliance update` first")
    if opts.lists:
        missing = [k for k in opts.lists if k not in snapshots]
        if missing:
            raise NoListsError(f"list(s) not loaded: {', '.join(missing)}")
    orders = open_orders(path, opts.mapping, input_format)
    opts.mapping = orders.mapping
    writer = None
    if output is not None:
        writer = open_writer(output, orders.columns, audit.lists_as_of(snapshots), output_format)
    run_id = None
    if record:
        run_id = audit.start_run(
            engine,
            user=user or current_user(),
            input_path=str(Path(path).resolve()),
            input_sha256=orders.sha256,
            input_format=orders.format,
            output_path=str(Path(output).resolve()) if output else None,
            thresholds=opts.thresholds.to_dict(),
            snapshots=snapshots,
            options={
                "mapping": orders.mapping,
                "columns": orders.columns,
                "workers": opts.workers,
                "lists": opts.lists,
                "on_date": opts.on_date.isoformat() if opts.on_date else None,
            },
        )
    sink = audit.LineSink(engine, run_id) if run_id is not None else None
    counts: Counter[str] = Counter({d: 0 for d in DECISIONS})
    hits: Counter[tuple[str, str, str, str]] = Counter()
    flagged: list[LineResult] = []
    n = 0
    progress.start("check", "checking lines", orders.approx_rows)
    try:
        for result in decide_rows(orders.rows(), opts):
            n += 1
            counts[result.decision] += 1
            for r in result.reasons:
                if isinstance(r, PartyReason) and r.decision != CLEAR:
                    hits[(r.entry, r.name, r.list_name, r.decision)] += 1
            if result.decision != CLEAR and len(flagged) < keep_flagged:
                flagged.append(result)
            if writer is not None:
                writer.write(result)
            if sink is not None:
                sink.add(result)
            if n % PROGRESS_STEP == 0:
                progress.advance("check", PROGRESS_STEP)
        progress.update("check", completed=n, total=n)
        progress.finish("check")
        if sink is not None:
            sink.flush()
    except BaseException as exc:
        if writer is not None:
            writer.close()
        if run_id is not None:
            audit.finish_run(
                engine,
                run_id,
                status="failed",
                line_count=n,
                counts=dict(counts),
                error=f"{exc.__class__.__name__}: {exc}",
            )
        raise
    if writer is not None:
        writer.close()
    warnings = []
    after = audit.snapshot_info(engine, opts.lists)
    if {k: v["snapshot_id"] for k, v in after.items()} != {
        k: v["snapshot_id"] for k, v in snapshots.items()
    }:
        warnings.append(
            "a list was updated while this check ran; re-run it for one consistent set of lists"
        )
    if run_id is not None:
        audit.finish_run(engine, run_id, status="done", line_count=n, counts=dict(counts))
    top = [
        {"entry": e, "name": nm, "list": ls, "decision": d, "lines": c}
        for (e, nm, ls, d), c in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    ]
    return CheckReport(
        run_id=run_id,
        input_path=str(path),
        input_sha256=orders.sha256,
        output_path=str(output) if output else None,
        line_count=n,
        counts=dict(counts),
        top_hits=top,
        thresholds=opts.thresholds.to_dict(),
        snapshots=snapshots,
        elapsed=time.monotonic() - started,
        workers=opts.workers,
        flagged=flagged,
        warnings=warnings,
    )


__all__ = ["CheckOptions", "CheckReport", "NoListsError", "check_file", "decide_rows", "ERROR"]
