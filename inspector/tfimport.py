"""Imports Keras and TensorFlow once, with TensorFlow's start-up log lines kept off stderr.

TensorFlow writes several lines from C++ at import time, before ``TF_CPP_MIN_LOG_LEVEL`` is
honoured, straight to file descriptor 2. They would mix with the app's own messages (and with the
one-line errors of ``--summary``), so descriptor 2 points at the null device for the import only.
Modules that need Keras import it from here: ``from inspector.tfimport import keras``.
"""

import gc
import os
import sys

from inspector.memory import freeze_long_lived


def _import_quietly():
    # The import creates a million objects; collecting during it only stalls other threads.
    was_enabled = gc.isenabled()
    gc.disable()
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401  (imported for its side effect: one quiet start-up)
        import keras as _keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
        if was_enabled:
            gc.enable()
    return _keras


keras = _import_quietly()
freeze_long_lived()  # TensorFlow's objects live as long as the process
