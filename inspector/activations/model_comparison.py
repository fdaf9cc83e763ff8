"""The quantized copy of a model against the model, on the user's inputs (Model ▸ Quantize a
Copy…); runs in the original model's kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Generator

from inspector.inputs.input_data import read_samples_job
from inspector.jobs import Progress
from inspector.model.quantization import Comparison, compare


def compare_job(model, quantized_file: str | Path, specs: list, sources: dict) -> Generator[Progress, None, Comparison]:
    """Loads the quantized copy beside ``model`` and compares the two on the user's inputs.

    Args:
        model: The original model (:data:`~inspector.jobs.MODEL`).
        quantized_file: The copy :func:`quantize_copy_job` saved.
        specs: The model's inputs.
        sources: Per input name, a picklable callable that reads that input's data (as the
            Activations view sends them).
    """
    from inspector.tfimport import keras

    samples = yield from read_samples_job(specs, sources)
    yield Progress(f"Loading {Path(quantized_file).name}…")
    quantized = keras.saving.load_model(quantized_file, compile=False)
    yield Progress(f"Running both models on {len(samples)} samples…")
    return compare(model, quantized, [samples.arrays[spec.name] for spec in specs])
