"""Embedding projections: the app's PCA, t-SNE and UMAP against the libraries called directly.

The data are 100,000 points in 256 dimensions drawn around 30 centres, so every method has
structure to find. Each projection runs in the Embeddings panel exactly as a user starts it
(Run), and is timed from the click to the moment its result reaches the panel (before the
points are drawn, which is timed on its own as ``first_draw_100k_ms``). The direct calls use the
same parameters: ``PCA(n_components=10).fit_transform`` in this process, openTSNE's
``TSNE(...).fit`` and ``umap.UMAP(...).fit_transform`` in a new process without TensorFlow, as
the app's projection process. openTSNE and UMAP are compiled (numba) in both places before
timing. From Run until the points are drawn, a heartbeat on the GUI thread
records the longest stall (``stall_ms_project``; t-SNE's live layouts are drawn in that time).
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import StallMonitor, app_window, record, wait_for_spare

POINTS, DIMS, CENTRES = 100_000, 256, 30
TSNE_POINTS, UMAP_POINTS = 10_000, 50_000
MILLION, MILLION_DIMS = 1_000_000, 64


def clustered_points(seed: int = 0) -> np.ndarray:
    """``POINTS`` float32 vectors scattered around ``CENTRES`` random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(CENTRES, DIMS))
    labels = rng.integers(0, CENTRES, POINTS)
    return (centres[labels] + rng.normal(size=(POINTS, DIMS))).astype(np.float32), labels


def direct_pca(x: np.ndarray) -> float:
    from sklearn.decomposition import PCA

    start = time.perf_counter()
    PCA(n_components=10).fit_transform(x)
    return time.perf_counter() - start


_DIRECT = """
import pickle, sys, time
import numpy as np
from inspector.embeddings.projection import TsneSettings, UmapSettings
from inspector.embeddings.projection_worker import tsne_estimator, umap_estimator

method, x, settings = pickle.load(sys.stdin.buffer)
warm = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
tsne_estimator(TsneSettings(iterations=300), len(warm)).fit(warm)  # numba compiles, as in the app's
umap_estimator(UmapSettings()).fit_transform(warm)  # worker before its runs
start = time.perf_counter()
if method == "t-SNE":
    tsne_estimator(settings, len(x)).fit(x)
else:
    umap_estimator(settings).fit_transform(x)
print(time.perf_counter() - start)
"""


def direct_projection(method: str, x: np.ndarray, settings) -> float:
    """Seconds of openTSNE's ``TSNE(...).fit`` or ``umap.UMAP(...).fit_transform`` in a new process
    that imports neither TensorFlow nor Qt, as the app's projection process, compiled first.

    Not in this process: the benchmarks before this one ran TensorFlow here, whose idle
    thread pools slowed openTSNE by a third (``tsne_ratio`` read 0.66-0.70 in full runs).
    """
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-c", _DIRECT],
        input=pickle.dumps((method, x, settings)),
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return float(done.stdout.decode().split()[-1])


def run(results: dict) -> None:
    """Times the three projections in the app and directly, and the first draw of 100,000 points."""
    from PySide6.QtWidgets import QApplication

    from inspector.embeddings.embedding_data import EmbeddingSet

    window, wait = app_window()
    wait_for_spare(wait)  # the window starts a spare kernel; its TensorFlow import is not measured
    x, labels = clustered_points()

    def points(n: int) -> EmbeddingSet:
        names = [str(i) for i in range(n)]
        return EmbeddingSet(x[:n], ["index", "centre"], {"index": names, "centre": [str(c) for c in labels[:n]]}, f"{n:,} clustered points")

    def in_app(panel, method: str, monitored: bool = True) -> tuple[float, float, float]:
        """Runs the chosen method from the panel (with the stall heartbeat, or without it: its
        2 ms beats take the GIL from the job's thread, which matters for a 0.2 s PCA).

        Returns:
            Seconds from Run to the result reaching the panel, seconds from there to the plot
            drawn, and the GUI thread's longest stall until the plot was drawn.
        """
        panel.method.method.setCurrentText(method)
        for _ in range(3):  # let pending paints finish, as they would before a user's click
            QApplication.processEvents()
        done = {}
        show = panel._projected  # the panel's handler of a result: it draws the points

        def projected(projection):
            done.setdefault("result", time.perf_counter())
            show(projection)

        def drawn():
            if "result" in done and panel.plot.cloud.current:
                done.setdefault("drawn", time.perf_counter())

        panel._projected = projected
        if monitored:
            monitor.start()
        start = time.perf_counter()
        job = panel.run()
        job.failed.connect(lambda error: done.setdefault("failed", error))
        job.cancelled.connect(lambda: done.setdefault("failed", "cancelled"))
        panel.plot.drawn.connect(drawn)
        # Not `job.done`: it is true on the job's thread before its result reaches this one.
        wait(lambda: "drawn" in done or "failed" in done, timeout_s=3600)
        panel.plot.view.viewport().repaint()
        drawn_at = time.perf_counter()
        stall = monitor.stop() if monitored else 0.0
        panel.plot.drawn.disconnect(drawn)
        del panel._projected
        if "drawn" not in done:
            raise RuntimeError(f"{method} failed in the app: {done.get('failed')} ({panel.message.text()})")
        return done["result"] - start, drawn_at - done["result"], stall

    from widgets.embeddings.projector_window import ProjectorWindow

    projector = ProjectorWindow(window.settings)
    projector.show()
    panel = projector.panel
    panel.warm_up()
    wait(lambda: panel.worker.warm, timeout_s=900)

    monitor = StallMonitor()
    stalls = []

    # PCA on 100,000 × 256: the panel projects with PCA as soon as points are set.
    panel.set_points(points(POINTS))
    wait(lambda: not panel.busy)
    panel.colour_by.setCurrentText("centre")
    app_pca, draws = [], []
    direct = []
    for _ in range(5):
        direct.append(direct_pca(x))
        seconds, draw, _ = in_app(panel, "PCA", monitored=False)
        app_pca.append(seconds)
        draws.append(draw)
    stalls.append(in_app(panel, "PCA")[2])
    record(results, "pca_ratio", float(np.median(app_pca) / np.median(direct)), 1.1, "x")
    record(results, "first_draw_100k_ms", float(np.median(draws) * 1000), 500, "ms")

    # t-SNE on 10,000 points and UMAP on 50,000, with the panel's default parameters.
    for method, n in (("t-SNE", TSNE_POINTS), ("UMAP", UMAP_POINTS)):
        panel.set_points(points(n))
        wait(lambda: not panel.busy)
        panel.method.method.setCurrentText(method)
        direct_seconds = direct_projection(method, x[:n], panel.method.projection_settings())
        app_seconds, _, stall = in_app(panel, method)
        stalls.append(stall)
        record(results, f"{method.lower().replace('-', '')}_ratio", app_seconds / direct_seconds, 1.1, "x")
    record(results, "stall_ms_project", max(stalls), 33, "ms")
    projector.close()
    million(results, window, wait, in_app)
    window.close()


def million(results: dict, window, wait, in_app) -> None:
    """A million 64-dimensional vectors from a ``.npy`` with a metadata file: PCA, the first
    draw, pan and zoom, colouring, search and neighbours.

    The file is opened as File ▸ Open Vectors… does, with "Show at most" raised to a million.
    PCA is compared with scikit-learn's randomized PCA on the same memory-mapped array.
    ``repaint_ms_1m`` is the longest repaint while the view is panned and zoomed step by step;
    ``redraw_ms_1m`` the longest wait after a step until the points are drawn for the new view.
    ``colour_ms_1m`` runs from choosing a colour column to the points drawn in its colours,
    ``search_ms_1m`` from Enter in the search box to the matches counted and ringed on screen
    (a search that matches 111,111 points), ``neighbours_ms_1m`` from selecting a point to its
    neighbours listed (the first query builds the index); each is the slowest of three.
    """
    import tempfile
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from widgets.embeddings.projector_window import ProjectorWindow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "million.npy"
        rng = np.random.default_rng(1)
        centres = rng.normal(scale=4.0, size=(CENTRES, MILLION_DIMS)).astype(np.float32)
        vectors = centres[rng.integers(0, CENTRES, MILLION)]
        vectors += rng.normal(size=vectors.shape).astype(np.float32)
        np.save(path, vectors)
        del vectors
        lines = "".join(f"v{i}\tc{centre}\n" for i, centre in enumerate(rng.integers(0, CENTRES, MILLION).tolist()))
        (Path(folder) / "million_metadata.tsv").write_text("name\tcentre\n" + lines, encoding="utf-8")
        del lines

        projector = ProjectorWindow(window.settings)
        projector.show()
        panel = projector.panel
        panel.limit.setValue(MILLION)
        wait(lambda: panel.worker is not None and panel.worker.warm, timeout_s=900)  # nothing else on the cores
        projector.open_files(path)
        wait(lambda: panel.projection is not None and not panel.busy and panel.plot.cloud.current, timeout_s=900)
        direct, app, draws = [], [], []
        for _ in range(3):
            direct.append(direct_randomized_pca(np.load(path, mmap_mode="r")))
            seconds, draw, _ = in_app(panel, "PCA", monitored=False)
            app.append(seconds)
            draws.append(draw)
        record(results, "pca_ratio_1m", float(np.median(app) / np.median(direct)), 1.2, "x")
        record(results, "first_draw_1m_ms", float(np.median(draws) * 1000), 1000, "ms")

        view = panel.plot.view
        box = view.getPlotItem().vb
        repaints, redraws = [], []
        for step in range(40):
            (x0, x1), _ = box.viewRange()
            box.translateBy(x=(x1 - x0) * 0.03)
            if step % 4 == 0:
                box.scaleBy((0.9, 0.9) if step < 20 else (1.1, 1.1))
            moved = time.perf_counter()
            view.viewport().repaint()
            repaints.append(time.perf_counter() - moved)
            wait(lambda: panel.plot.cloud.current, timeout_s=60)
            redraws.append(time.perf_counter() - moved)
            QApplication.processEvents()
        record(results, "repaint_ms_1m", max(repaints) * 1000, 33, "ms")
        record(results, "redraw_ms_1m", max(redraws) * 1000, 100, "ms")
        record(results, "colour_ms_1m", max(colour_times(panel, wait)) * 1000, 200, "ms")
        record(results, "search_ms_1m", max(search_times(panel, wait)) * 1000, 200, "ms")
        record(results, "neighbours_ms_1m", max(neighbour_times(panel, wait)) * 1000, 200, "ms")
        projector.close()


def colour_times(panel, wait) -> list[float]:
    """Seconds from choosing a colour column to the points drawn in its colours."""
    times = []
    for column in ("name", "(one colour)", "centre"):
        start = time.perf_counter()
        panel.colour_by.setCurrentText(column)
        wait(lambda: panel.plot.cloud.current, timeout_s=60)
        times.append(time.perf_counter() - start)
    return times


def search_times(panel, wait) -> list[float]:
    """Seconds from Enter in the search box to the matches counted and ringed."""
    times = []
    for text in ("v1", "v12345", "c7"):
        panel.search_box.setText(text)
        panel._search_timer.stop()  # Enter, not the pause after typing
        start = time.perf_counter()
        panel.search_box.returnPressed.emit()
        wait(lambda: panel.search_status.text().endswith(("match", "matches")) and panel.plot.match_rings.current, timeout_s=60)
        times.append(time.perf_counter() - start)
        panel.search_box.setText("")
        wait(lambda: panel.plot.match_rings.current, timeout_s=60)
    return times


def neighbour_times(panel, wait) -> list[float]:
    """Seconds from selecting a point to its neighbours listed."""
    times = []
    for index in (0, 500_000, 999_999):
        start = time.perf_counter()
        panel.select_point(index)
        wait(lambda: panel._last_neighbours is not None and panel._last_neighbours[0] == index, timeout_s=60)
        times.append(time.perf_counter() - start)
    return times


def direct_randomized_pca(x: np.ndarray) -> float:
    from sklearn.decomposition import PCA

    start = time.perf_counter()
    PCA(n_components=10, svd_solver="randomized").fit_transform(x)
    return time.perf_counter() - start
