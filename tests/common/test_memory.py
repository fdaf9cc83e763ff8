"""Freezing long-lived objects out of the window's collections, and collecting what a closed tab left."""

from __future__ import annotations

import gc
import sys
import weakref

from inspector.memory import collect_everything, freeze_long_lived, import_long_lived


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


def test_a_module_imported_as_long_lived_is_frozen_out_of_later_collections(tmp_path, monkeypatch):
    (tmp_path / "kmi_long_lived_probe.py").write_text("TABLE = {'a': [1, 2]}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kmi_long_lived_probe", raising=False)
    module = import_long_lived("kmi_long_lived_probe")
    try:
        assert module.TABLE == {"a": [1, 2]}
        assert all(o is not module.TABLE for o in gc.get_objects()), "what the import made is frozen"
        assert import_long_lived("kmi_long_lived_probe") is module, "imported once"
    finally:
        sys.modules.pop("kmi_long_lived_probe", None)
