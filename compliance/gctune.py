"""Keep the garbage collector's pauses short in a long-running worker or a batch.

A worker holds hundreds of thousands of long-lived objects (the index's decoded names, the
normalisation and scoring caches). CPython's full (generation 2) collection walks all of them:
about 100 ms on this machine once the caches are warm, during which no request is answered,
and it comes every few seconds under load. That was the tail of the service's latency.

After each full collection, every object left is reachable, so we freeze them (gc.freeze: moved
to a permanent generation the collector no longer walks; reference counting still frees them).
The next full collection then walks only what survived since: a few milliseconds. Cyclic
garbage among frozen objects would never be found, so `full_collect` (unfreeze, collect, freeze)
runs after an index reload and every `every` seconds: one long pause now and then instead of
one every few seconds. A batch (a file of parties or orders) runs `tuned()`: the same, with one
complete collection at its end.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


_users = 0  # apps in this process that installed it (tests run several)
_lock = threading.Lock()


def install() -> None:
    global _users
    with _lock:
        _users += 1
        if _freeze_after_full not in gc.callbacks:
            gc.callbacks.append(_freeze_after_full)


def uninstall(keep_frozen: bool = False) -> None:
    """Undo install() once; the last one gives the collector back its usual ways: everything
    unfrozen, or with `keep_frozen` one complete collection that frees any frozen garbage and
    freezes what is still alive (as loading the index does)."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
        if _users == 0 and _freeze_after_full in gc.callbacks:
            gc.callbacks.remove(_freeze_after_full)
            if keep_frozen:
                full_collect()
            else:
                gc.unfreeze()


@contextmanager
def tuned() -> Iterator[None]:
    """Survivors of full collections frozen while a batch runs: its caches grow by the row,
    and every full collection would otherwise walk all of them again."""
    install()
    try:
        yield
    finally:
        uninstall(keep_frozen=True)


def installed() -> bool:
    return _freeze_after_full in gc.callbacks


def full_collect() -> float:
    """Collect everything, frozen objects included, and freeze what is left; seconds taken."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started


class Maintenance:
    """A thread running full_collect every `every` seconds (0: never) until stopped."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.runs = 0
        self.last_seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if every > 0:
            self._thread = threading.Thread(target=self._run, name="gc-maintenance", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.last_seconds = full_collect()
            self.runs += 1

    def stop(self) -> None:
        self._stop.set()
