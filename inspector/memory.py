"""Keeps Python's cyclic garbage collector from freezing the window.

A full collection scans every live object while holding the GIL; with TensorFlow and a large model
in memory that takes hundreds of milliseconds, during which no other thread (the GUI's included)
can run. So:

- TensorFlow's objects, which live as long as the process, are frozen (:func:`gc.freeze`) once
  imported;
- collection is paused while a model loads (it creates hundreds of thousands of objects), and the
  loaded model's objects are frozen too;
- closing a model calls :func:`release_and_collect`, which makes everything collectable again,
  collects the closed model, and freezes the rest. That one pause (about 0.5 s after closing
  EfficientNetB7) happens when the user closes a tab, not while they work.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_paused = 0


def freeze_long_lived() -> None:
    """Exempts every object alive now from future collections (without collecting first: a
    collection here would scan them all)."""
    gc.freeze()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pauses cyclic collection inside the block (nested and concurrent uses are counted)."""
    global _paused
    with _lock:
        _paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0:
                gc.enable()


def release_and_collect() -> None:
    """Makes frozen objects collectable again, collects garbage, and re-freezes the rest.

    Call it after a model was closed, so its memory is given back.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
