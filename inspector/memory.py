"""Keeps Python's cyclic garbage collector from stalling a kernel's jobs and the window.

A full collection scans every live object while holding the GIL; with TensorFlow and a large model
in memory that takes hundreds of milliseconds. So, in a kernel:

- TensorFlow's objects, which live as long as the process, are frozen (:func:`gc.freeze`) once
  imported;
- collection is paused while a model loads (it creates hundreds of thousands of objects), and the
  loaded model's objects are frozen too;
- a model read only for a comparison is taken apart (:func:`dismantle`): its reference cycles are
  cut so reference counting frees its weights at once, with no collection.

A closed model goes away with its kernel process. The window collects on its GUI thread only
and freezes what outlives a full collection (see :mod:`widgets.shell.gui_collector`), and it
freezes the big messages it receives (:data:`LONG_LIVED_BYTES`): a model's description, layout
and preview live as long as its tab, and a 10,000-layer description made each collection that
scanned it take 30–60 ms. The window's own objects are frozen once it is built. Frozen objects
are still freed when nothing refers to them, but garbage in reference cycles that a freeze caught
waits for the next :func:`collect_everything`: when a window is built, and a moment after a tab
closes.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import tempfile
import threading
from pathlib import Path
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator

_lock = threading.Lock()
_paused = 0
_was_enabled = True  # whether automatic collection ran before the first pause


LONG_LIVED_BYTES = 1 << 20
"""A message from a kernel or the helper this big (pickled) holds a model's description or
layout: frozen once read (see :func:`freeze_long_lived`)."""


def freeze_long_lived() -> None:
    """Exempts every object alive now from future collections (without collecting first: a
    collection here would scan them all)."""
    gc.freeze()


def import_long_lived(name: str) -> ModuleType:
    """Imports a module and, the first time, freezes what the import made: modules live as long
    as the process, and in the window each full collection that scanned scikit-learn's thousand
    modules took 35 ms of the GUI thread."""
    module = sys.modules.get(name)
    if module is None:
        module = importlib.import_module(name)
        freeze_long_lived()
    return module


def collect_everything() -> None:
    """Thaws every frozen object, collects once, and freezes what is still alive: in the
    window, a moment after a tab closed, this frees what the tab left in reference cycles and
    keeps the rest out of later collections. Call it on the thread that collects."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pauses cyclic collection inside the block (nested and concurrent uses are counted);
    afterwards automatic collection is on again only if it was on before (a window collects
    on its GUI thread only, and keeps it off)."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
        _paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def dismantle(model: Any) -> None:
    """Cuts the reference cycles of a model nobody will use again, so its memory is freed now.

    Clears the attributes of its layers, their graph nodes, its variables and its optimizer's
    variables. Call it on the thread that owns the model, after every other job on it.

    Args:
        model: A Keras model that is being closed.
    """
    layers = list(model._flatten_layers(include_self=True, recursive=True))
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.weights) + list(getattr(optimizer, "variables", []) or [])
    nodes = [node for layer in layers for node in getattr(layer, "_inbound_nodes", [])]
    for obj in [*nodes, *variables, optimizer, *layers]:
        if obj is not None and hasattr(obj, "__dict__"):
            obj.__dict__.clear()


SHARED_DIR_VARIABLE = "KMI_SHARED_DIR"
"""The environment variable that gives a kernel its own folder in shared memory."""


def shared_memory_dir() -> Path:
    """Where arrays shared between processes are written: the folder a kernel was given
    (:data:`SHARED_DIR_VARIABLE`), else RAM-backed ``/dev/shm`` if writable, else the temp dir."""
    given = os.environ.get(SHARED_DIR_VARIABLE)
    if given and os.path.isdir(given):
        return Path(given)
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())

