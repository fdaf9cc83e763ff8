"""Summary statistics and histograms of variable values (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HISTOGRAM_BINS = 64


@dataclass(frozen=True)
class VariableStats:
    """Statistics of one variable's values, ignoring NaN and infinite entries.

    Attributes:
        min: Smallest finite value.
        max: Largest finite value.
        mean: Mean of the finite values.
        std: Standard deviation of the finite values.
        non_finite: How many entries are NaN or infinite.
    """

    min: float
    max: float
    mean: float
    std: float
    non_finite: int


def variable_stats(values: np.ndarray) -> VariableStats:
    """Computes :class:`VariableStats` for an array (NaN for all-non-finite or empty arrays)."""
    values = np.asarray(values)
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        values = values.astype(np.float64)
    flat = values.reshape(-1)
    finite_mask = np.isfinite(flat)
    finite = flat if finite_mask.all() else flat[finite_mask]
    non_finite = int(flat.size - finite.size)
    if finite.size == 0:
        return VariableStats(np.nan, np.nan, np.nan, np.nan, non_finite)
    work = finite.astype(np.float64, copy=False)
    return VariableStats(
        min=float(work.min()),
        max=float(work.max()),
        mean=float(work.mean()),
        std=float(work.std()),
        non_finite=non_finite,
    )


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the finite values: ``(counts, edges)`` as in :func:`numpy.histogram`."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1)
    return np.histogram(flat, bins=bins)


def as_matrix(values: np.ndarray) -> np.ndarray | None:
    """A 2-D view of a kernel for a heatmap: all axes but the last folded into rows.

    Trailing axes of length 1 are dropped first, so a depthwise kernel ``(kh, kw, C, 1)`` becomes
    ``(kh * kw, C)`` rather than one column.

    Returns ``None`` for scalars and vectors, which have no useful heatmap.
    """
    values = np.asarray(values)
    while values.ndim > 2 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim < 2:
        return None
    return values.reshape(-1, values.shape[-1])
