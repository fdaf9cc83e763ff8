"""Nearest neighbours of a point in the original (high-dimensional) space, by brute force.

One query is one matrix-vector product with the precomputed norms, in float32, which picks the
candidates; their distances are then computed again exactly (float64, from the differences) so
that ties and near-duplicates sort by distance and then by index, as a user expects.
"""

from __future__ import annotations

import numpy as np

METRICS = ("euclidean", "cosine")
_EPSILON = float(np.finfo(np.float32).eps)
_EXACT_CHUNK = 8192  # rows per exact-distance chunk, to bound temporary memory


class NeighbourIndex:
    """The vectors with their norms, for repeated nearest-neighbour queries.

    Args:
        vectors: The points, shape ``(n, d)``. Kept as given in :attr:`vectors` (so that callers
            can tell which array an index belongs to); queried as float32.
    """

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        self._data = np.ascontiguousarray(vectors, dtype=np.float32)
        self._squared_norms = np.einsum("ij,ij->i", self._data, self._data)
        self._norms = np.sqrt(self._squared_norms)

    def query(self, index: int, k: int, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest neighbours of one point, excluding the point itself.

        Cosine distance is ``1 - cosine similarity``, and 1 for a zero vector; euclidean
        distance is the L2 norm of the difference.

        Args:
            index: The point's row.
            k: How many neighbours; clipped to the number of other points.
            metric: ``"cosine"`` or ``"euclidean"``.

        Returns:
            ``(indices, distances)``: int64 rows and float32 distances, nearest first, ties in
            increasing row order.

        Raises:
            ValueError: ``metric`` is not one of :data:`METRICS`.
            IndexError: There is no point ``index``.
        """
        if not 0 <= index < len(self._data):
            raise IndexError(f"There is no point {index}; there are {len(self._data):,}.")
        if metric not in METRICS:
            raise ValueError(f"Unknown distance metric {metric!r}; choose {' or '.join(METRICS)}.")
        k = min(k, len(self._data) - 1)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        approximate, slack = self._approximate(index, metric)
        approximate[np.isnan(approximate)] = np.inf  # vectors with NaN come last
        approximate[index] = np.inf
        if np.isnan(slack):
            slack = 0.0  # the point itself holds NaN: every distance is NaN
        kth = np.partition(approximate, k - 1)[k - 1]
        candidates = np.flatnonzero(approximate <= kth + slack)
        candidates = candidates[candidates != index]
        exact = self._exact(index, candidates, metric)
        order = np.lexsort((candidates, exact))[:k]
        return candidates[order].astype(np.int64), exact[order].astype(np.float32)

    def _approximate(self, index: int, metric: str) -> tuple[np.ndarray, float]:
        """Float32 distances (squared for euclidean) to every point, and a bound on their error."""
        query = self._data[index]
        dots = self._data @ query
        dims = self._data.shape[1]
        if metric == "euclidean":
            distances = self._squared_norms + self._squared_norms[index] - 2 * dots
            bound = float(np.nanmax(self._squared_norms) + self._squared_norms[index])
            return distances, 8 * (dims + 2) * _EPSILON * bound
        with np.errstate(divide="ignore", invalid="ignore"):
            distances = 1 - dots / (self._norms * self._norms[index])
        distances[~np.isfinite(distances)] = 1.0  # zero vectors
        return distances, 8 * (dims + 2) * _EPSILON

    def _exact(self, index: int, candidates: np.ndarray, metric: str) -> np.ndarray:
        """Float64 distances from point ``index`` to ``candidates``, computed from the values."""
        query = self._data[index].astype(np.float64)
        chunks = [candidates[i : i + _EXACT_CHUNK] for i in range(0, len(candidates), _EXACT_CHUNK)]
        return np.concatenate([self._exact_chunk(query, rows, metric) for rows in chunks])

    def _exact_chunk(self, query: np.ndarray, rows: np.ndarray, metric: str) -> np.ndarray:
        points = self._data[rows].astype(np.float64)
        if metric == "euclidean":
            return np.sqrt(((points - query) ** 2).sum(axis=1))
        norms = np.sqrt((points**2).sum(axis=1)) * np.sqrt(query @ query)
        with np.errstate(divide="ignore", invalid="ignore"):
            distances = 1 - (points @ query) / norms
        distances[norms == 0] = 1.0
        return np.clip(distances, 0.0, 2.0)


def nearest(vectors: np.ndarray, index: int, k: int, metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of point ``index`` in the original space.

    For repeated queries on the same vectors, keep a :class:`NeighbourIndex` instead.

    Args:
        vectors: The points, shape ``(n, d)``.
        index: The point's row.
        k: How many neighbours; clipped to the number of other points.
        metric: ``"cosine"`` or ``"euclidean"``.

    Returns:
        ``(indices, distances)`` as :meth:`NeighbourIndex.query` returns them.
    """
    return NeighbourIndex(vectors).query(index, k, metric)
