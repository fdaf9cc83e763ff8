"""Projections of high-dimensional vectors to a few axes: PCA, t-SNE and UMAP.

Each projection is a job (see :mod:`inspector.jobs`). PCA runs on the job's thread: NumPy and
LAPACK release the GIL, so the window stays responsive. t-SNE and UMAP run in a child process
(:class:`inspector.embeddings.projection_worker.ProjectionWorker`), which reports the t-SNE layout as it
forms and can be ended at once when the user cancels.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from typing import Generator

import numpy as np

from inspector.errors import ProjectionError
from inspector.jobs import Progress
from inspector.memory import import_long_lived
from inspector.embeddings.projection_worker import (  # the settings are defined there for the child process
    FIRST_COMPILE_SECONDS,
    METRICS,
    ProjectionWorker,
    TsneSettings,
    UmapSettings,
    perplexity_problem,
)


@dataclass(frozen=True)
class PcaSettings:
    """Parameters of a PCA.

    Attributes:
        components: How many principal components to compute (at most the number of points and
            of dimensions).
    """

    components: int = 10


@dataclass
class Projection:
    """The result of a projection.

    Attributes:
        coords: Coordinates of each point, float32 of shape ``(n, k)``: ``k`` components for
            PCA, 2 for t-SNE and UMAP.
        method: ``"PCA"``, ``"t-SNE"`` or ``"UMAP"``.
        axis_names: One name per column of ``coords``: ``"PC1"``… or ``"t-SNE 1"``/``"UMAP 1"``….
        explained: For PCA, the fraction of the variance each component explains; else ``None``.
        seconds: Wall time of the computation itself.
        compile_seconds: Time the run spent on UMAP's one-time numba compilation before the
            computation (compiling, or waiting for a warm-up under way); 0 when it was done.
    """

    coords: np.ndarray
    method: str
    axis_names: list[str]
    explained: np.ndarray | None
    seconds: float
    compile_seconds: float = 0.0


def check(settings: PcaSettings | TsneSettings | UmapSettings, vectors: np.ndarray) -> None:
    """Refuses a projection that cannot work, before anything runs.

    Args:
        settings: The method's settings.
        vectors: The points, shape ``(n, d)``.

    Raises:
        ProjectionError: Saying what is wrong and what to change.
    """
    method = _METHOD_NAMES[type(settings)]
    vectors = np.asarray(vectors)
    problem = _shape_problem(method, vectors) or _settings_problem(settings, vectors.shape)
    problem = problem or _values_problem(method, vectors)
    if problem is not None:
        raise ProjectionError(problem)


def _settings_problem(settings, shape: tuple[int, int]) -> str | None:
    if isinstance(settings, PcaSettings):
        return _pca_problem(settings, *shape)
    if isinstance(settings, TsneSettings):
        return _tsne_problem(settings, shape[0])
    return _umap_problem(settings, shape[0])


def _shape_problem(method: str, vectors: np.ndarray) -> str | None:
    if vectors.ndim != 2:
        return f"{method} needs a table of vectors (points × dimensions); these have shape {vectors.shape}."
    if len(vectors) == 0:
        return "There are no vectors to project."
    return None


def _pca_problem(settings: PcaSettings, n_points: int, dims: int) -> str | None:
    if settings.components < 1:
        return f"PCA needs at least 1 component; it is set to {settings.components}."
    if n_points < 2:
        return "PCA needs at least 2 points; there is 1."
    if dims < 2:
        return "PCA needs vectors with at least 2 dimensions for a 2-D plot; these have 1."
    return None


def _tsne_problem(settings: TsneSettings, n_points: int) -> str | None:
    if settings.iterations <= 250:
        return (
            f"t-SNE needs more than 250 iterations, because the first 250 only pull the clusters "
            f"apart (early exaggeration); it is set to {settings.iterations}."
        )
    if settings.learning_rate is not None and settings.learning_rate <= 0:
        return f"The t-SNE learning rate must be positive; it is set to {settings.learning_rate:g}."
    return _metric_problem(settings.metric) or perplexity_problem(settings.perplexity, n_points)


def _umap_problem(settings: UmapSettings, n_points: int) -> str | None:
    if settings.n_neighbors < 2:
        return f"UMAP needs at least 2 neighbours; it is set to {settings.n_neighbors}."
    if not 0 <= settings.min_dist <= 1:
        return f"UMAP's minimum distance must be between 0 and 1; it is set to {settings.min_dist:g}."
    if n_points < 3:
        return f"UMAP needs at least 3 points; there {'is' if n_points == 1 else 'are'} {n_points}."
    if settings.n_neighbors >= n_points:
        return (
            f"UMAP with {settings.n_neighbors} neighbours needs more than {settings.n_neighbors} points; "
            f"there are {n_points:,}. Lower the neighbours to {n_points - 1} or less."
        )
    return _metric_problem(settings.metric)


def _metric_problem(metric: str) -> str | None:
    if metric in METRICS:
        return None
    return f"Unknown distance metric {metric!r}; choose {' or '.join(METRICS)}."


def _values_problem(method: str, vectors: np.ndarray) -> str | None:
    """Non-finite values or identical vectors, found with one pass over the data."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = vectors.sum()  # NaN and infinity reach the sum; so may an overflow
    if not np.isfinite(total):
        bad = int(np.count_nonzero(~np.isfinite(vectors).all(axis=1)))
        if bad:
            count = f"{bad:,} of {len(vectors):,} vectors contain"
            return f"{count} NaN or infinite values; {method} needs finite numbers."
    if _all_identical(vectors):
        return f"All {len(vectors):,} vectors are identical; there is nothing to project."
    return None


def _all_identical(vectors: np.ndarray, chunk: int = 4096) -> bool:
    """Whether every vector equals the first; usually settled by the first chunk."""
    first = vectors[0]
    for start in range(0, len(vectors), chunk):
        if not (vectors[start : start + chunk] == first).all():
            return False
    return True


_METHOD_NAMES = {PcaSettings: "PCA", TsneSettings: "t-SNE", UmapSettings: "UMAP"}


def sample_indices(n: int, limit: int | None, seed: int = 0) -> np.ndarray | None:
    """A random sample of point indices, for showing at most ``limit`` points.

    Args:
        n: How many points there are.
        limit: How many may be shown; ``None`` for no limit.
        seed: Random seed; the same seed gives the same sample.

    Returns:
        ``None`` when all points fit, else ``limit`` distinct indices in increasing order.
    """
    if limit is None or n <= limit:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=limit, replace=False)).astype(np.int64)


def pca_job(vectors: np.ndarray, settings: PcaSettings) -> Generator[Progress, None, Projection]:
    """Projects the vectors on their principal components (scikit-learn's PCA, in float32).

    Args:
        vectors: The points, shape ``(n, d)``.
        settings: How many components to compute (clipped to the number of points and dimensions).

    Returns:
        The projection, with the variance each component explains.

    Raises:
        ProjectionError: The vectors or settings do not allow a PCA (see :func:`check`).
    """
    import_long_lived("sklearn.decomposition")  # in the window's process, out of its collections
    import sklearn
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float32)
    check(settings, vectors)
    components = min(settings.components, *vectors.shape)
    yield Progress(f"PCA: computing {components} components of {len(vectors):,} points…")
    model = PCA(n_components=components, random_state=0)
    start = time.perf_counter()
    with sklearn.config_context(assume_finite=True):  # check() has looked for NaN and infinity
        coords = model.fit_transform(vectors)
    seconds = time.perf_counter() - start
    names = [f"PC{i}" for i in range(1, components + 1)]
    coords = coords.astype(np.float32, copy=False)
    return Projection(coords, "PCA", names, model.explained_variance_ratio_, seconds)


def tsne_job(
    worker: ProjectionWorker, vectors: np.ndarray, settings: TsneSettings, layout_every: int = 25
) -> Generator[Progress, None, Projection]:
    """Runs t-SNE (openTSNE) in the worker process, reporting the layout as it forms.

    Args:
        worker: The process that runs it.
        vectors: The points, shape ``(n, d)``.
        settings: The t-SNE parameters.
        layout_every: How many iterations pass between live layouts.

    Yields:
        Progress records; those of iterations carry the current layout, float32 ``(n, 2)``.

    Returns:
        The final layout.

    Raises:
        ProjectionError: The settings do not suit the vectors, or the computation failed.
    """
    check(settings, vectors)
    coords, seconds, _ = yield from _relay(
        worker.run("t-SNE", vectors, settings, layout_every=layout_every), "t-SNE: finding neighbours…"
    )
    return Projection(coords, "t-SNE", ["t-SNE 1", "t-SNE 2"], None, seconds)


def umap_job(
    worker: ProjectionWorker, vectors: np.ndarray, settings: UmapSettings
) -> Generator[Progress, None, Projection]:
    """Runs UMAP (umap-learn) in the worker process, reporting its epochs.

    Args:
        worker: The process that runs it.
        vectors: The points, shape ``(n, d)``.
        settings: The UMAP parameters.

    Yields:
        Progress records; the first says so when UMAP's numba code still has to be compiled.

    Returns:
        The final layout, with the time the numba compilation took of this run.

    Raises:
        ProjectionError: The settings do not suit the vectors, or the computation failed.
    """
    check(settings, vectors)
    first = "UMAP: finding neighbours…"
    if not worker.warm:
        first = f"UMAP: compiling numba code (first run only, about {FIRST_COMPILE_SECONDS} s)…"
    coords, seconds, compile_seconds = yield from _relay(worker.run("UMAP", vectors, settings), first)
    return Projection(coords, "UMAP", ["UMAP 1", "UMAP 2"], None, seconds, compile_seconds)


def _relay(messages: Generator[tuple, None, tuple], first: str) -> Generator[Progress, None, tuple]:
    """Turns the worker's messages into progress records; returns the worker's result.

    While the worker has no news, the last record is repeated (without its layout) so that the
    job can be cancelled at once.
    """
    latest = Progress(first)
    yield latest
    with closing(messages):
        while True:
            try:
                message = next(messages)
            except StopIteration as stop:
                return stop.value
            if message[0] == "progress":
                latest = Progress(*message[1:])
                yield latest
            else:
                yield Progress(latest.message, latest.fraction)
