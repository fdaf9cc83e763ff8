"""Extraction in a model's kernel: the outputs stay there, the window asks for what it draws.

Copying gigabytes of layer outputs to the window would cost as much as computing them. The
kernel keeps each extraction's :class:`~inspector.activations.extraction.Activations` in its
``KEPT`` dict under a number; the window gets an :class:`ExtractionSummary` (layers, inputs,
masks, statistics) and fetches one input's outputs at a time, or has the kernel write exports
and embedding points (:func:`~inspector.embeddings.embedding_data.kept_points_job`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generator

import numpy as np

from inspector.activations.extraction import (
    Activations,
    ExtractedOutputs,
    ExtractionPlan,
    export_npy,
    export_npz,
    extract_job,
    prepare_extraction_job,
)
from inspector.jobs import Progress

PREPARED_KEY = "prepared extraction"
"""Where :func:`prepare_kept_job` leaves its work in the kernel's ``KEPT`` dict."""

RESULTS_KEY = "activations"
"""Where finished extractions wait in ``KEPT``: a dict from their number to their activations."""


class ResultsGone(KeyError):
    """The kernel no longer holds an extraction (released, or the kernel restarted)."""

    def __str__(self) -> str:
        return "The outputs are gone from the model's process (it restarted); extract them again."


@dataclass
class ExtractionSummary(ExtractedOutputs):
    """What the window holds of one extraction: everything but the outputs themselves (and
    without the inputs' model arrays, which stay in the kernel).

    Attributes:
        number: Which of the kernel's kept extractions it describes.
        shapes: Per target key, the outputs' shape with the sample axis first.
    """

    number: int = 0
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def prepare_kept_job(model, kept: dict, specs: list, sources: dict, keys: list[str]) -> Generator[Progress, None, ExtractionPlan]:
    """:func:`~inspector.activations.extraction.prepare_extraction_job` in a kernel: the extractor
    and the inputs stay there.

    Args:
        model: The Keras model (:data:`~inspector.jobs.MODEL`).
        kept: The kernel's dict for work kept between jobs (:data:`~inspector.jobs.KEPT`);
            extractors are cached in it, and the prepared request waits there for
            :func:`extract_kept_job`.
        specs: The model's inputs.
        sources: Per input name, a picklable callable that reads that input's data.
        keys: The chosen targets.

    Returns:
        The plan, for the window to show (or to ask about when the results do not fit).
    """
    prepared = yield from prepare_extraction_job(model, specs, sources, keys, kept.setdefault("extractors", {}))
    kept[PREPARED_KEY] = prepared
    return prepared.plan


def extract_kept_job(kept: dict, batch_size: int = 32) -> Generator[Progress, None, ExtractionSummary]:
    """Runs the request that :func:`prepare_kept_job` left in ``kept`` and keeps its outputs there.

    Returns:
        The summary the window shows; :func:`kept_samples_job` and the export jobs reach the
        outputs by its :attr:`~ExtractionSummary.number`.
    """
    prepared = kept.pop(PREPARED_KEY)
    activations = yield from extract_job(prepared.extractor, prepared.samples, prepared.plan, batch_size)
    results = kept.setdefault(RESULTS_KEY, {})
    number = max(results, default=0) + 1
    results[number] = activations
    samples = dataclasses.replace(activations.samples, arrays={})
    shapes = {key: tuple(np.shape(values)) for key, values in activations.values.items()}
    return ExtractionSummary(
        activations.targets,
        samples,
        activations.masks,
        activations.stats,
        activations.folder,
        activations.complete,
        number=number,
        shapes=shapes,
    )


def kept_activations(kept: dict, number: int) -> Activations:
    """The activations of extraction ``number`` kept in ``kept``.

    Raises:
        ResultsGone: The kernel no longer holds them.
    """
    try:
        return kept.get(RESULTS_KEY, {})[number]
    except KeyError:
        raise ResultsGone(number) from None


def kept_samples_job(kept: dict, number: int, key: str, indices: list[int]) -> Generator[Progress, None, list[np.ndarray]]:
    """Copies some inputs' outputs of one target, for the window to draw.

    Args:
        kept: The kernel's ``KEPT`` dict.
        number: The extraction (:attr:`ExtractionSummary.number`).
        key: The target.
        indices: The inputs.

    Returns:
        One array per index.

    Raises:
        ResultsGone: The kernel no longer holds the extraction.
    """
    activations = kept_activations(kept, number)
    yield Progress(f"Reading {activations.target(key).label}…")
    return [activations.sample(key, index) for index in indices]


def export_kept_job(kept: dict, number: int, keys: list[str], path: str | Path) -> Generator[Progress, None, Path]:
    """Writes outputs from the kernel: one target as ``.npy``, several (with masks and the input
    names) as ``.npz`` (:func:`~inspector.activations.extraction.export_npz`)."""
    activations = kept_activations(kept, number)
    yield Progress(f"Saving {Path(path).name}…")
    if Path(path).suffix.lower() == ".npy":
        (key,) = keys
        return export_npy(activations, key, path)
    return export_npz(activations, keys, path)


def release_kept_job(kept: dict, number: int) -> Generator[Progress, None, None]:
    """Frees one extraction's outputs (and deletes their files, if they went to disk)."""
    activations = kept.get(RESULTS_KEY, {}).pop(number, None)
    yield Progress("Freeing the layer outputs…")
    if activations is not None:
        activations.close()
