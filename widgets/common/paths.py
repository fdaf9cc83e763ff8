"""Where the app finds its bundled samples and keeps its own files."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "keras-inspector"
ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "resources" / "samples"
MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5);;All files (*)"
"""The file dialogs' filter for model files."""


SAMPLE_DESCRIPTIONS = {
    "two_input_two_output.keras": "Functional model: image + auxiliary vector in, two named outputs",
    "two_input_two_output.h5": "The same model in the legacy HDF5 format",
    "digits_cnn.keras": "Small CNN digit classifier (Conv2D, BatchNormalization, Dropout)",
    "topic_rnn.keras": "Text topics: masked Embedding, Bidirectional LSTM, stacked GRU",
    "transfer_digits.keras": "Transfer learning: frozen pretrained base nested under a new head",
}


def log_dir() -> Path:
    """The folder for the log file, in the user's data area."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def sample_models() -> list[Path]:
    """The bundled sample models, if they have been built."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix in (".keras", ".h5"))


def cache_folder() -> Path:
    """The folder for caches the app can rebuild (compiled numba code), in the user's cache area."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
