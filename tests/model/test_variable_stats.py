"""Variable statistics against plain NumPy (no Qt)."""

import numpy as np

from inspector.model.variable_stats import as_matrix, histogram, variable_stats


def test_stats_match_numpy_and_ignore_non_finite_values():
    values = np.random.default_rng(0).normal(size=(30, 7)).astype("float32")
    stats = variable_stats(values)
    assert np.isclose(stats.min, values.min()) and np.isclose(stats.max, values.max())
    assert np.isclose(stats.mean, values.mean(dtype=np.float64))
    assert np.isclose(stats.std, values.std(dtype=np.float64))
    values[0, 0], values[1, 1] = np.nan, np.inf
    stats = variable_stats(values)
    assert stats.non_finite == 2
    assert np.isfinite([stats.min, stats.max, stats.mean, stats.std]).all()


def test_all_nan_and_empty_variables():
    assert np.isnan(variable_stats(np.full(4, np.nan)).mean)
    assert variable_stats(np.zeros((0, 3))).non_finite == 0


def test_histogram_counts_every_finite_value():
    values = np.arange(100.0)
    values[3] = np.nan
    counts, edges = histogram(values, bins=10)
    assert counts.sum() == 99 and len(edges) == 11


def test_kernels_fold_into_matrices():
    assert as_matrix(np.zeros(5)) is None
    assert as_matrix(np.zeros((3, 3, 16, 32))).shape == (144, 32)
    assert as_matrix(np.zeros((3, 3, 16, 1))).shape == (9, 16)
