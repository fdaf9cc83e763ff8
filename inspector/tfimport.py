"""Imports Keras and TensorFlow once, with TensorFlow's start-up log lines kept off stderr.

TensorFlow writes several lines from C++ at import time, before ``TF_CPP_MIN_LOG_LEVEL`` is
honoured, straight to file descriptor 2. They would mix with the app's own messages (and with the
one-line errors of ``--summary``), so descriptor 2 points at the null device for the import only.
Modules that need Keras import it from here: ``from inspector.tfimport import keras``.
"""

import os
import sys


def _import_quietly():
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
    return _keras


keras = _import_quietly()
