"""PCA, t-SNE and UMAP with the real libraries; t-SNE and UMAP through the worker process.

UMAP's first run compiles numba code for about a minute; the worker shared by these tests keeps
numba's cache in the user's cache folder, so that later test sessions skip part of it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from contextlib import closing
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from inspector.errors import ProjectionError
from inspector.jobs import run_job
from inspector.embeddings.projection import (
    PcaSettings,
    TsneSettings,
    UmapSettings,
    check,
    pca_job,
    sample_indices,
    tsne_job,
    umap_job,
)
from inspector.embeddings.projection_worker import ProjectionWorker
from inspector.priority import NICENESS

NUMBA_CACHE = Path(platformdirs.user_cache_dir("keras-model-inspector-tests", appauthor=False)) / "numba"


def blobs(n_per: int = 70, dims: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian blobs and the blob of each point."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10, size=(3, dims))
    vectors = np.concatenate([centre + rng.normal(size=(n_per, dims)) for centre in centres])
    return vectors.astype(np.float32), np.repeat(np.arange(3), n_per)


def knn_agreement(coords: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """The fraction of each point's k nearest points in the layout that share its blob."""
    distances = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    nearest = np.argsort(distances, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def run_recording(job) -> tuple[object, list]:
    """Runs a job to the end; returns its result and its progress records."""
    records = []
    return run_job(job, records.append), records


@pytest.fixture(scope="session")
def worker():
    """One worker process for the session, as the app keeps one."""
    with closing(ProjectionWorker(numba_cache=NUMBA_CACHE)) as shared:
        yield shared


@pytest.fixture
def own_worker():
    """A worker of the test's own, for tests that end its process."""
    with closing(ProjectionWorker()) as fresh:
        yield fresh


def child_pids() -> set[int]:
    return {process.pid for process in multiprocessing.active_children()}


# PCA ------------------------------------------------------------------------------------------


def test_pca_matches_numpy_svd_of_the_centred_data():
    rng = np.random.default_rng(1)
    vectors = (rng.normal(size=(200, 6)) * [5, 4, 3, 2, 1, 0.5]).astype(np.float32)
    projection, records = run_recording(pca_job(vectors, PcaSettings(components=4)))
    centred = vectors.astype(np.float64) - vectors.mean(axis=0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    want = centred @ rows[:4].T
    signs = np.sign((projection.coords * want).sum(axis=0))  # components are defined up to sign
    np.testing.assert_allclose(projection.coords * signs, want, atol=1e-3)
    np.testing.assert_allclose(projection.explained, (singular**2 / (singular**2).sum())[:4], rtol=1e-4)
    assert projection.coords.dtype == np.float32
    assert projection.method == "PCA"
    assert projection.axis_names == ["PC1", "PC2", "PC3", "PC4"]
    assert projection.seconds >= 0
    assert records[0].message.startswith("PCA")


def test_pca_components_are_clipped_to_the_data():
    vectors = np.random.default_rng(2).normal(size=(5, 3))
    projection = run_job(pca_job(vectors, PcaSettings(components=10)))
    assert projection.coords.shape == (5, 3)
    assert projection.axis_names == ["PC1", "PC2", "PC3"]


def test_pca_job_checks_before_it_runs():
    with pytest.raises(ProjectionError, match="identical"):
        run_job(pca_job(np.ones((10, 4)), PcaSettings()))


# check() --------------------------------------------------------------------------------------


def test_check_says_how_low_the_perplexity_must_be():
    vectors = np.random.default_rng(0).normal(size=(40, 5))
    with pytest.raises(ProjectionError) as raised:
        check(TsneSettings(perplexity=30), vectors)
    assert str(raised.value) == (
        "t-SNE with perplexity 30 needs at least 91 points; there are 40. Lower the perplexity to 13 or less."
    )
    check(TsneSettings(perplexity=13), vectors)  # the suggestion works
    with pytest.raises(ProjectionError, match="perplexity 13.5 needs at least 42 points"):
        check(TsneSettings(perplexity=13.5), vectors)


def test_check_says_how_few_umap_neighbours_fit():
    vectors = np.random.default_rng(0).normal(size=(10, 5))
    with pytest.raises(ProjectionError) as raised:
        check(UmapSettings(n_neighbors=15), vectors)
    assert str(raised.value) == (
        "UMAP with 15 neighbours needs more than 15 points; there are 10. Lower the neighbours to 9 or less."
    )
    check(UmapSettings(n_neighbors=9), vectors)


@pytest.mark.parametrize("settings", [PcaSettings(), TsneSettings(perplexity=5), UmapSettings()])
def test_check_refuses_identical_vectors(settings):
    with pytest.raises(ProjectionError) as raised:
        check(settings, np.full((500, 4), 0.25, dtype=np.float32))
    assert str(raised.value) == "All 500 vectors are identical; there is nothing to project."


@pytest.mark.parametrize("settings", [TsneSettings(metric="manhattan"), UmapSettings(metric="manhattan")])
def test_check_refuses_unknown_metric(settings):
    with pytest.raises(ProjectionError, match="'manhattan'; choose euclidean or cosine"):
        check(settings, np.random.default_rng(0).normal(size=(200, 4)))


@pytest.mark.parametrize(
    ("settings", "vectors", "words"),
    [
        (TsneSettings(iterations=250), np.eye(100), "more than 250 iterations"),
        (TsneSettings(learning_rate=0.0), np.eye(100), "learning rate must be positive"),
        (TsneSettings(perplexity=0.5), np.eye(100), "perplexity must be at least 1"),
        (TsneSettings(perplexity=1), np.eye(3), "at least 4 points; there are 3"),
        (UmapSettings(n_neighbors=1), np.eye(100), "at least 2 neighbours"),
        (UmapSettings(min_dist=1.5), np.eye(100), "between 0 and 1"),
        (PcaSettings(), np.ones((1, 4)), "PCA needs at least 2 points; there is 1."),
        (PcaSettings(), np.arange(5.0)[:, None], "at least 2 dimensions for a 2-D plot"),
        (PcaSettings(), np.arange(5.0), "table of vectors"),
        (PcaSettings(), np.zeros((0, 3)), "no vectors"),
    ],
)
def test_check_explains_other_problems(settings, vectors, words):
    with pytest.raises(ProjectionError, match=words):
        check(settings, vectors)


def test_check_counts_vectors_with_nan_or_infinity():
    vectors = np.random.default_rng(0).normal(size=(100, 4))
    vectors[3, 1] = np.nan
    vectors[7, 0] = np.inf
    with pytest.raises(ProjectionError, match="2 of 100 vectors contain NaN or infinite values; UMAP"):
        check(UmapSettings(), vectors)
    huge = np.array([[3e38, 3e38], [3e38, 2e38], [2e38, 3e38]], dtype=np.float32)  # their sum overflows
    check(PcaSettings(), huge)


# sample_indices() -----------------------------------------------------------------------------


def test_sample_indices():
    assert sample_indices(100, None) is None
    assert sample_indices(100, 100) is None
    sample = sample_indices(1000, 100, seed=4)
    assert sample.shape == (100,) and sample.dtype == np.int64
    assert len(np.unique(sample)) == 100 and (np.diff(sample) > 0).all()
    assert 0 <= sample.min() and sample.max() < 1000
    np.testing.assert_array_equal(sample, sample_indices(1000, 100, seed=4))
    assert not np.array_equal(sample, sample_indices(1000, 100, seed=5))


# t-SNE and UMAP in the worker process ---------------------------------------------------------


def test_tsne_shows_the_layout_as_it_forms_and_separates_blobs(worker):
    vectors, labels = blobs()
    settings = TsneSettings(perplexity=20, iterations=400)
    projection, records = run_recording(tsne_job(worker, vectors, settings, layout_every=50))
    assert records[0].message == "t-SNE: finding neighbours…"
    layouts = [record for record in records if record.payload is not None]
    assert [record.message for record in layouts] == [f"t-SNE iteration {i}/400" for i in range(50, 401, 50)]
    assert all(record.payload.shape == (210, 2) and record.payload.dtype == np.float32 for record in layouts)
    fractions = [record.fraction for record in records if record.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1
    assert projection.coords.shape == (210, 2) and projection.coords.dtype == np.float32
    assert projection.method == "t-SNE" and projection.axis_names == ["t-SNE 1", "t-SNE 2"]
    assert projection.explained is None and projection.seconds > 0
    assert knn_agreement(projection.coords, labels) > 0.9


def test_tsne_same_seed_same_layout(worker):
    vectors, _ = blobs(n_per=40)
    settings = TsneSettings(perplexity=10, iterations=300, metric="cosine")
    first = run_job(tsne_job(worker, vectors, settings))
    again = run_job(tsne_job(worker, vectors, settings))
    other = run_job(tsne_job(worker, vectors, TsneSettings(perplexity=10, iterations=300, metric="cosine", seed=1)))
    np.testing.assert_array_equal(first.coords, again.coords)
    assert not np.allclose(first.coords, other.coords)


def test_umap_compiles_once_reports_epochs_and_separates_blobs(worker):
    vectors, labels = blobs(n_per=100)
    worker.warm_up()
    worker.warm_up()  # harmless
    projection, records = run_recording(umap_job(worker, vectors, UmapSettings()))
    if not records[0].message.startswith("UMAP: compiling numba code (first run only, about"):
        assert records[0].message == "UMAP: finding neighbours…"  # another test compiled it
    assert worker.warm
    epochs = [record for record in records if record.message.startswith("UMAP epoch")]
    assert epochs and epochs[-1].message == "UMAP epoch 500/500" and epochs[-1].fraction == 1
    assert [record.fraction for record in epochs] == sorted(record.fraction for record in epochs)
    assert projection.coords.shape == (300, 2) and projection.method == "UMAP"
    assert projection.axis_names == ["UMAP 1", "UMAP 2"]
    assert knn_agreement(projection.coords, labels) > 0.9
    # Once compiled, a run starts with the neighbour search, and the same seed gives the same layout.
    again, records = run_recording(umap_job(worker, vectors, UmapSettings()))
    assert records[0].message == "UMAP: finding neighbours…"
    np.testing.assert_array_equal(again.coords, projection.coords)


def test_error_in_the_child_comes_back_with_its_message(worker):
    vectors, _ = blobs(n_per=20)
    with pytest.raises(ProjectionError, match="UMAP failed: metric is neither callable nor a recognised") as raised:
        run_job(worker.run("UMAP", vectors, UmapSettings(metric="not-a-metric")))  # bypasses check()
    assert "Traceback" in raised.value.details
    assert run_job(tsne_job(worker, vectors, TsneSettings(perplexity=5, iterations=300))).coords.shape == (60, 2)


def test_cancelling_ends_the_child_and_the_next_run_starts_another(own_worker):
    vectors, _ = blobs(n_per=100, dims=16)
    before = child_pids()
    job = tsne_job(own_worker, vectors, TsneSettings(iterations=5000), layout_every=10)
    next(record for record in job if record.payload is not None)  # the optimisation is running
    (child,) = child_pids() - before
    job.close()
    assert child not in child_pids()
    small, labels = blobs(n_per=30)
    projection = run_job(tsne_job(own_worker, small, TsneSettings(perplexity=10, iterations=300)))
    assert knn_agreement(projection.coords, labels) > 0.9
    assert child not in child_pids()


def test_a_killed_child_is_reported_and_replaced(own_worker):
    vectors, _ = blobs(n_per=100, dims=16)
    before = child_pids()
    job = tsne_job(own_worker, vectors, TsneSettings(iterations=5000), layout_every=10)
    next(record for record in job if record.payload is not None)
    (child,) = child_pids() - before
    os.kill(child, signal.SIGKILL)
    with pytest.raises(ProjectionError, match=r"The projection process ended unexpectedly \(exit code -9\)\."):
        run_job(job)
    small, _ = blobs(n_per=30)
    assert run_job(tsne_job(own_worker, small, TsneSettings(perplexity=10, iterations=300))).coords.shape == (90, 2)


def test_tsne_does_not_wait_for_the_umap_warm_up(own_worker):
    own_worker.warm_up()
    small, labels = blobs(n_per=30)
    projection = run_job(tsne_job(own_worker, small, TsneSettings(perplexity=10, iterations=300)))
    assert knn_agreement(projection.coords, labels) > 0.9
    assert not own_worker.warm  # the compilation was interrupted, and has started again


def test_close_is_idempotent_and_run_starts_again(own_worker):
    own_worker.start()
    own_worker.start()
    own_worker.close()
    own_worker.close()
    small, _ = blobs(n_per=30)
    assert run_job(tsne_job(own_worker, small, TsneSettings(perplexity=10, iterations=300))).coords.shape == (90, 2)


def test_the_projection_process_gives_way_to_the_window(own_worker):
    before = child_pids()
    small, _ = blobs(n_per=30)
    run_job(tsne_job(own_worker, small, TsneSettings(perplexity=10, iterations=300)))
    (child,) = child_pids() - before
    assert os.getpriority(os.PRIO_PROCESS, child) == os.getpriority(os.PRIO_PROCESS, 0) + NICENESS
