"""Freezing long-lived objects out of the window's collections, and collecting what a closed tab left."""

from __future__ import annotations

import gc
import weakref

from inspector.memory import collect_everything, freeze_long_lived


class _Node:
    """An object that can sit in a reference cycle and be watched with a weak reference."""

    def __init__(self):
        self.other = self


def test_garbage_caught_by_a_freeze_is_freed_by_the_next_collection_of_everything():
    kept, dropped = _Node(), _Node()
    gone = weakref.ref(dropped)
    freeze_long_lived()
    del dropped  # a cycle: only a collection frees it, and a frozen one is never scanned
    gc.collect()
    assert gone() is not None, "a frozen cycle outlives ordinary collections"
    collect_everything()
    assert gone() is None, "collecting everything frees it"
    assert all(o is not kept for o in gc.get_objects()), "what is still alive is frozen again"
    assert kept.other is kept
