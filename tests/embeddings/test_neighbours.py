"""Nearest neighbours in the original space, against SciPy's pairwise distances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from inspector.embeddings.neighbours import NeighbourIndex, nearest


def points_with_ties() -> np.ndarray:
    """Random points plus exact duplicates, a scaled copy (cosine tie) and two zero vectors."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 12)).astype(np.float32)
    vectors[10] = vectors[20] = vectors[30] = vectors[5]  # duplicates of point 5
    vectors[40] = 3 * vectors[5]  # same direction as point 5
    vectors[50] = vectors[60] = 0  # zero vectors
    return vectors


def expected(vectors: np.ndarray, index: int, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The reference answer: SciPy's distances, sorted by distance and then index."""
    with np.errstate(divide="ignore", invalid="ignore"):
        distances = cdist(vectors[[index]].astype(np.float64), vectors.astype(np.float64), metric=metric)[0]
    distances[np.isnan(distances)] = 1.0  # SciPy's cosine with a zero vector
    distances[index] = np.inf
    order = np.lexsort((np.arange(len(vectors)), distances))[:k]
    return order, distances[order]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("index", [0, 5, 40, 50, 299])
def test_matches_scipy_including_ties_and_zero_vectors(metric, index):
    vectors = points_with_ties()
    indices, distances = NeighbourIndex(vectors).query(index, 25, metric)
    want_indices, want_distances = expected(vectors, index, 25, metric)
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_allclose(distances, want_distances, atol=1e-6)
    assert indices.dtype == np.int64 and distances.dtype == np.float32


def test_ties_sort_by_index_and_zero_vectors_are_at_cosine_distance_one():
    vectors = points_with_ties()
    indices, distances = nearest(vectors, 5, 4, "cosine")
    assert list(indices) == [10, 20, 30, 40]  # three duplicates, then the scaled copy
    np.testing.assert_allclose(distances, 0, atol=1e-6)
    indices, distances = nearest(vectors, 50, 3, "cosine")
    assert list(indices) == [0, 1, 2]  # every distance is 1: the lowest indices come first
    np.testing.assert_array_equal(distances, 1)
    indices, distances = nearest(vectors, 50, 1, "euclidean")
    assert list(indices) == [60] and distances[0] == 0


def test_excludes_the_point_itself_and_clips_k():
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    indices, distances = nearest(vectors, 1, 10, "euclidean")
    assert list(indices) == [0, 2, 3]
    np.testing.assert_allclose(distances, [np.sqrt(27), np.sqrt(27), np.sqrt(108)], rtol=1e-6)
    indices, distances = nearest(vectors[:1], 0, 5)
    assert indices.shape == distances.shape == (0,)


def test_keeps_the_array_it_indexes_and_answers_repeatedly():
    vectors = points_with_ties().astype(np.float64)
    index = NeighbourIndex(vectors)
    assert index.vectors is vectors
    for metric in ("euclidean", "cosine"):
        np.testing.assert_array_equal(index.query(7, 9, metric)[0], expected(vectors, 7, 9, metric)[0])


def test_near_duplicates_far_from_the_origin_sort_exactly():
    """Points close together but far from the origin stress the float32 shortcut."""
    rng = np.random.default_rng(5)
    vectors = (1000 + rng.normal(scale=1e-2, size=(500, 32))).astype(np.float32)
    indices, distances = nearest(vectors, 3, 10, "euclidean")
    want_indices, want_distances = expected(vectors, 3, 10, "euclidean")
    np.testing.assert_array_equal(indices, want_indices)
    np.testing.assert_allclose(distances, want_distances, rtol=1e-6)


def test_rejects_unknown_metric_and_index():
    vectors = points_with_ties()
    with pytest.raises(ValueError, match="manhattan"):
        nearest(vectors, 0, 3, "manhattan")
    with pytest.raises(IndexError, match="300"):
        nearest(vectors, 300, 3)
