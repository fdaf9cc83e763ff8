"""The window's garbage collector: on the GUI thread, and over each long-lived object once."""

from __future__ import annotations

import gc
import weakref

import pytest

from widgets.shell.gui_collector import GuiThreadCollector


class _Node:
    """An object in a reference cycle with itself, watched with a weak reference."""

    def __init__(self):
        self.other = self


@pytest.fixture
def automatic_collection_restored():
    """A collector turns Python's automatic collection off; a test's own one must not leave it off."""
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()


@pytest.mark.usefixtures("automatic_collection_restored")
def test_garbage_cycles_are_collected_from_the_timer(qtbot):
    collector = GuiThreadCollector(interval_ms=10)
    assert not gc.isenabled(), "no collection starts on another thread"
    cycles = [_Node() for _ in range(2 * gc.get_threshold()[0])]
    gone = [weakref.ref(node) for node in cycles[:10]]
    del cycles
    qtbot.waitUntil(lambda: all(ref() is None for ref in gone), timeout=5000)
    del collector


@pytest.mark.usefixtures("automatic_collection_restored")
def test_what_outlives_a_full_collection_is_frozen_so_the_next_one_does_not_scan_it_again():
    collector = GuiThreadCollector(interval_ms=3_600_000)  # checked by hand below
    kept = _Node()
    full = gc.get_stats()[2]["collections"]
    for _ in range(10_000):  # garbage comes in, the timer looks: a full collection comes at last
        cycles = [_Node() for _ in range(gc.get_threshold()[0] + 1)]
        del cycles
        collector.check()
        if gc.get_stats()[2]["collections"] > full:
            break
    assert gc.get_stats()[2]["collections"] == full + 1, "one full collection"
    assert all(o is not kept for o in gc.get_objects()), "what outlived it is frozen"
    del collector
