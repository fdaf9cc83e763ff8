"""Shared test set-up: headless Qt, quiet TensorFlow, paths to the bundled samples."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The folder of bundled sample models."""
    return SAMPLES
