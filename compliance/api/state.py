"""The warm index of one worker process, swapped atomically when the lists change.

A request takes `holder.current` once and uses that Generation to the end: a reload builds
the next Generation beside it and replaces the reference in one assignment, so requests in
flight finish on the old index and every answer names the snapshot ids it used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from compliance import gctune
from compliance.screening import Screener, ScreeningError

if TYPE_CHECKING:
    from compliance.store.notify import SnapshotListener

log = logging.getLogger("compliance.api")


class NotReady(Exception):
    pass


@dataclass
class Generation:
    screener: Screener  # every list, default algorithm
    snapshot_ids: dict[str, int]  # source -> snapshot id
    loaded_at: float
    _variants: OrderedDict[tuple[Any, ...], Screener] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def screener_for(self, lists: list[str] | None, algorithm: str = "default") -> Screener:
        """The screener restricted to these lists / using this algorithm, on the same index.
        Raises ScreeningError for an unknown list or algorithm."""
        if not lists and algorithm == "default":
            return self.screener
        key = (tuple(sorted(set(lists or ()))), algorithm)
        with self._lock:
            hit = self._variants.get(key)
            if hit is not None:
                self._variants.move_to_end(key)
                return hit
        made = Screener(self.screener.index, algorithm=algorithm, lists=list(key[0]) or None)
        with self._lock:
            self._variants[key] = made
            while len(self._variants) > 32:
                self._variants.popitem(last=False)
        return made

    @property
    def index_key(self) -> str:
        return self.screener.index.key


def snapshot_ids_of(screener: Screener) -> dict[str, int]:
    return {
        str(meta.get("source")): int(sid) for sid, meta in sorted(screener.index.snapshots.items())
    }


class IndexHolder:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._current: Generation | None = None
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._listener: SnapshotListener | None = None
        self.last_error: str | None = None
        self.reloads = 0

    @property
    def current(self) -> Generation:
        gen = self._current
        if gen is None:
            raise NotReady("the screening index is still loading; try again in a few seconds")
        return gen

    @property
    def ready(self) -> bool:
        return self._current is not None

    def load(self) -> Generation:
        """Build a new Generation from the current snapshots and swap it in."""
        with self._reload_lock:
            gen = self._load()
        self._release_old()
        return gen

    def _release_old(self) -> None:
        if self.reloads > 1 and gctune.installed():
            gctune.full_collect()  # the old index's objects were frozen: let them go

    def _load(self) -> Generation:
        screener = Screener.load(self.engine).warm()  # no request waits for a table to load
        gen = Generation(screener, snapshot_ids_of(screener), time.time())
        self._current = gen  # the swap: one reference assignment
        self.reloads += 1
        self.last_error = None
        return gen

    def reload_if_changed(self) -> bool:
        from compliance.store.status import current_snapshot_ids

        # Under the lock: a notice and the poller arriving together make one reload, and a
        # notice during the first load is compared with what that load found.
        with self._reload_lock:
            ids = current_snapshot_ids(self.engine)
            gen = self._current
            if gen is not None and ids == gen.snapshot_ids:
                return False
            self._load()
        self._release_old()
        return True

    def start_listening(self) -> bool:
        """Reload on PostgreSQL's NOTIFY of a new snapshot; False where there is none (SQLite):
        polling alone then. Polling stays on as the safety net if the connection drops."""
        from compliance.store.notify import SnapshotListener

        if self._listener is not None:
            return True
        listener = SnapshotListener(self.engine, lambda: self._check("notify"))
        if not listener.start():
            return False
        self._listener = listener
        return True

    @property
    def listening(self) -> bool:
        return self._listener is not None and self._listener.listening.is_set()

    def start_polling(self, seconds: float) -> None:
        if seconds <= 0 or self._poller is not None:
            return
        self._poller = threading.Thread(
            target=self._poll, args=(seconds,), name="index-poller", daemon=True
        )
        self._poller.start()

    def _poll(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self._check("poll")

    def _check(self, by: str) -> None:
        try:
            if self.reload_if_changed():
                log.info(
                    "lists changed (%s): index reloaded %s",
                    by,
                    self._current and self._current.snapshot_ids,
                )
        except Exception as exc:  # keep serving the old index; say why on /readyz
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("index reload failed: %s", self.last_error)

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.stop()


__all__ = ["Generation", "IndexHolder", "NotReady", "ScreeningError", "snapshot_ids_of"]
