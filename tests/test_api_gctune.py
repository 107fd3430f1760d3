"""The worker's collector tuning: survivors of a full collection are frozen (so the next one
walks little), new cyclic garbage is still collected, and full_collect frees frozen garbage."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from compliance import gctune


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


@pytest.fixture
def tuned() -> Iterator[None]:
    gctune.install()
    try:
        yield
    finally:
        gctune.uninstall()


def test_full_collection_freezes_survivors_and_new_garbage_still_goes(tuned: None) -> None:
    kept = [[n] for n in range(50_000)]  # long-lived objects, like a warm cache
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)  # the survivors left the collector's walk
    walked = {id(x) for x in gc.get_objects(generation=2)}
    assert id(kept) not in walked and id(kept[0]) not in walked
    assert len(walked) < 5_000  # what the next full collection walks: what came since
    a, ref = cycle()
    del a
    gc.collect()  # garbage made after the freeze is found as usual
    assert ref() is None
    del kept


def test_full_collect_frees_garbage_that_was_frozen(tuned: None) -> None:
    a, ref = cycle()
    gc.collect()  # `a` is alive, so frozen with the rest
    del a  # now garbage, but in the permanent generation
    gc.collect()
    assert ref() is not None  # the cost of freezing: a frozen cycle is not found...
    seconds = gctune.full_collect()  # ...until the periodic complete collection
    assert ref() is None and seconds > 0
    assert gc.get_freeze_count() > 0 and gctune.installed()


def test_uninstall_of_the_last_user_restores_the_collector() -> None:
    gctune.install()
    gctune.install()
    gctune.uninstall()
    assert gctune.installed()  # another app in this process still uses it
    gctune.uninstall()
    assert not gctune.installed() and gc.get_freeze_count() == 0


def test_a_batch_runs_tuned_and_ends_with_everything_alive_frozen() -> None:
    assert not gctune.installed()
    with gctune.tuned():
        assert gctune.installed()
        kept = [[n] for n in range(20_000)]  # a cache the batch grows
        a, ref = cycle()
        gc.collect()  # `a` is alive: frozen with the rest
        del a
    assert not gctune.installed()
    assert ref() is None  # the complete collection at the end freed the frozen cycle
    assert gc.get_freeze_count() >= len(kept)  # what is still alive stays out of the walk
    del kept
