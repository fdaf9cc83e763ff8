"""The Embeddings view and window driven like a user would: project, colour, search, select."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from inspector.embeddings.embedding_data import EmbeddingSet, read_projector_tsv
from inspector.jobs import MODEL
from tests.conftest import SAMPLES, kernel_result
from tests.e2e.user import choose_from_popup, click, click_tab
from tests.kernel import kernel_jobs

TIMEOUT_MS = 60_000


def blobs(n_per: int = 100, dims: int = 8, seed: int = 0) -> EmbeddingSet:
    """Three well separated Gaussian blobs with a name, a class and a numeric score per point."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10, size=(3, dims))
    vectors = np.concatenate([centre + rng.normal(size=(n_per, dims)) for centre in centres]).astype(np.float32)
    classes = [f"blob{i}" for i in range(3) for _ in range(n_per)]
    names = [f"point{i}" for i in range(3 * n_per)]
    scores = [f"{v:.3f}" for v in np.linspace(0, 1, 3 * n_per)]
    metadata = {"name": names, "class": classes, "score": scores}
    return EmbeddingSet(vectors, ["name", "class", "score"], metadata, "three blobs")


@pytest.fixture
def panel(qtbot, tmp_path):
    from widgets.embeddings.embedding_panel import EmbeddingPanel

    widget = EmbeddingPanel(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    yield widget
    widget.shutdown()


def show(qtbot, panel, points):
    with qtbot.waitSignal(panel.projected, timeout=TIMEOUT_MS):
        panel.set_points(points)


def test_points_are_projected_with_pca_at_once(qtbot, panel):
    show(qtbot, panel, blobs())
    assert len(panel.plot.xy) == 300
    assert panel.projection.method == "PCA"
    assert "Explained variance" in panel.method.variance.text()
    assert panel.method.x_axis.count() >= 2
    first = panel.plot.xy.copy()
    panel.method.y_axis.setCurrentIndex(2)  # PC3 on the y axis
    np.testing.assert_allclose(panel.plot.xy[:, 1], panel.projection.coords[:, 2], rtol=1e-6)
    np.testing.assert_allclose(panel.plot.xy[:, 0], first[:, 0])
    assert "300 points" in panel.title.text()


def drawn_colours(qtbot, plot, indices) -> list[tuple[int, int, int]]:
    """The colours on screen at the centres of the given points, once the plot has drawn them."""
    qtbot.waitUntil(lambda: plot.cloud.current, timeout=10_000)
    plot.view.viewport().repaint()
    image = plot.view.viewport().grab().toImage()
    box = plot.view.getPlotItem().vb
    colours = []
    for index in indices:
        at = plot.view.mapFromScene(box.mapViewToScene(pg_point(plot.xy[index])))
        colour = image.pixelColor(at)
        colours.append((colour.red(), colour.green(), colour.blue()))
    return colours


def majority(colours):
    values, counts = np.unique(np.array(colours), axis=0, return_counts=True)
    return tuple(values[np.argmax(counts)].tolist())


def test_colour_by_category_and_number(qtbot, panel):
    from widgets.embeddings.embedding_panel import CATEGORY_COLOURS
    from PySide6.QtGui import QColor

    show(qtbot, panel, blobs())
    panel.colour_by.setCurrentText("class")
    entries = [panel.legend.entries.item(i).text() for i in range(panel.legend.entries.count())]
    assert entries == ["blob0  (100)", "blob1  (100)", "blob2  (100)"]
    for blob in range(3):
        expected = QColor(CATEGORY_COLOURS[blob])
        seen = majority(drawn_colours(qtbot, panel.plot, range(100 * blob, 100 * blob + 100)))
        assert seen == (expected.red(), expected.green(), expected.blue())
    panel.colour_by.setCurrentText("score")
    assert [panel.legend.high.text(), panel.legend.low.text()] == ["1", "0"]
    low = drawn_colours(qtbot, panel.plot, range(0, 100))  # scores 0 to 0.33: viridis purple
    high = drawn_colours(qtbot, panel.plot, range(200, 300))  # scores 0.67 to 1: viridis green to yellow
    assert np.mean([b > g for _, g, b in low]) > 0.9
    assert np.mean([g > b for _, g, b in high]) > 0.9


def test_search_selects_matching_labels(qtbot, panel):
    show(qtbot, panel, blobs())
    panel.search_box.setText("point1")
    qtbot.waitUntil(lambda: panel.search_status.text() != "", timeout=5000)
    expected = [i for i in range(300) if "point1" in f"point{i}"]
    assert panel.matches.tolist() == expected
    assert panel.search_status.text() == f"{len(expected)} matches"
    panel.regex.setChecked(True)
    panel.search_box.setText(r"^point(1|2)$")
    qtbot.waitUntil(lambda: panel.matches.tolist() == [1, 2], timeout=5000)
    assert panel.search_status.text() == "2 matches"
    panel.search_box.setText("(")
    qtbot.waitUntil(lambda: "regular expression" in panel.search_status.text(), timeout=5000)
    assert panel.matches.tolist() == []


def test_click_selects_point_and_lists_neighbours(qtbot, panel):
    from scipy.spatial.distance import cdist

    points = blobs()
    show(qtbot, panel, points)
    panel.k.setValue(5)
    panel.distance.setCurrentText("euclidean")
    # Click exactly on point 7 as drawn.
    box = panel.plot.view.getPlotItem().vb
    scene = box.mapViewToScene(pg_point(panel.plot.xy[7]))
    assert panel.plot.point_at(scene) in (7, *np.flatnonzero(np.all(panel.plot.xy == panel.plot.xy[7], axis=1)))
    panel.select_point(7)
    qtbot.waitUntil(lambda: panel.neighbour_table.rowCount() == 5, timeout=10_000)
    distances = cdist(points.vectors[7:8], points.vectors)[0]
    distances[7] = np.inf
    assert sorted(panel.neighbours.tolist()) == sorted(np.argsort(distances)[:5].tolist())
    assert float(panel.neighbour_table.item(0, 1).text()) == pytest.approx(np.sort(distances)[0], rel=1e-3)
    assert "point7" in panel.selected_label.text()
    assert len(panel.plot.highlights.data) == 6  # the point and its neighbours are ringed
    panel.select_point(-1)
    assert panel.neighbour_table.rowCount() == 0


def pg_point(xy):
    from PySide6.QtCore import QPointF

    return QPointF(float(xy[0]), float(xy[1]))


def test_hover_shows_the_label(qtbot, panel):
    show(qtbot, panel, blobs())
    box = panel.plot.view.getPlotItem().vb
    index = 42
    panel.plot._mouse_moved(box.mapViewToScene(pg_point(panel.plot.xy[index])))
    qtbot.waitUntil(lambda: panel.hover_line.text() != "", timeout=5000)
    assert panel.plot.tip.isVisible()
    label = panel.plot.tip.textItem.toPlainText()
    assert label.startswith("point")
    assert "class: blob0" in panel.hover_line.text()


def test_sample_above_the_limit(qtbot, panel):
    panel.limit.setValue(1000)
    show(qtbot, panel, blobs(n_per=500))
    assert len(panel.plot.xy) == 1000
    assert "1,000 of 1,500" in panel.sample_note.text()
    assert panel.shown is not None and len(np.unique(panel.shown)) == 1000


def test_tsne_layout_updates_live_and_can_be_cancelled(qtbot, panel):
    show(qtbot, panel, blobs(n_per=50))
    panel.method.method.setCurrentText("t-SNE")
    panel.method.perplexity.setValue(10)
    panel.method.iterations.setValue(500)
    layouts = []
    job = panel.run()
    job.progress.connect(lambda progress: progress.payload is not None and layouts.append(progress.payload))
    with qtbot.waitSignal(panel.projected, timeout=120_000):
        pass
    assert layouts and layouts[0].shape == (150, 2)
    assert panel.projection.method == "t-SNE"
    assert panel.plot.view.getPlotItem().getAxis("bottom").labelText == "t-SNE 1"
    # A second run, cancelled while it runs, leaves the last layout in place.
    job = panel.run()
    qtbot.waitUntil(lambda: panel.progress.maximum() > 0 or job.done, timeout=60_000)
    panel.cancel()
    qtbot.waitUntil(lambda: "cancelled" in panel.message.text(), timeout=30_000)
    assert panel.run_button.isEnabled()


def test_too_few_points_for_perplexity_says_so(qtbot, panel):
    show(qtbot, panel, blobs(n_per=10))
    panel.method.method.setCurrentText("t-SNE")
    panel.method.perplexity.setValue(30)
    panel.run()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert "perplexity" in panel.message.text()
    assert "30" in panel.message.text()


def test_exports(qtbot, panel, tmp_path):
    points = blobs()
    show(qtbot, panel, points)
    panel.export_tsv(tmp_path)
    qtbot.waitUntil(lambda: (tmp_path / "metadata.tsv").exists() and not panel.queries.busy, timeout=10_000)
    again = read_projector_tsv(tmp_path / "vectors.tsv", tmp_path / "metadata.tsv")
    np.testing.assert_array_equal(again.vectors, points.vectors)
    assert again.metadata == points.metadata
    csv_path = panel.export_csv(tmp_path / "coords.csv")
    qtbot.waitUntil(lambda: csv_path.exists() and not panel.queries.busy, timeout=10_000)
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("PC1,PC2")
    assert len(lines) == 301
    png = panel.export_png(tmp_path / "plot.png")
    assert png.stat().st_size > 1000


def test_model_embeddings_view_plots_embedding_weights_with_vocabulary(qtbot, window):
    tab = window.open_file(SAMPLES / "topic_rnn.keras")
    qtbot.waitUntil(lambda: tab.is_loaded, timeout=TIMEOUT_MS)
    panel = tab.embeddings
    with qtbot.waitSignal(panel.projected, timeout=TIMEOUT_MS):
        click_tab(qtbot, tab.views, "Embeddings")
    embedding = kernel_result(qtbot, tab, kernel_jobs.layer_weights_job, MODEL, "embedding")[0]
    assert len(panel.plot.xy) == embedding.shape[0]
    np.testing.assert_array_equal(panel.points.vectors, embedding)
    assert panel.points.columns[0] == "token"
    vocabulary = (SAMPLES / "topic_rnn_vocab.txt").read_text(encoding="utf-8").split("\n")
    word = next(token for token in vocabulary if token)
    assert word in panel.labels


def test_activations_are_sent_to_the_embeddings_view(qtbot, window):
    tab = window.open_file(SAMPLES / "topic_rnn.keras")
    qtbot.waitUntil(lambda: tab.is_loaded, timeout=TIMEOUT_MS)
    click_tab(qtbot, tab.views, "Activations")
    activations = tab.activations
    qtbot.waitUntil(lambda: activations.ready, timeout=TIMEOUT_MS)
    editor = activations.inputs.editors["tokens"]
    editor.set_vocabulary_file(SAMPLES / "topic_rnn_vocab.txt")
    editor.text.setPlainText("\n".join(["rockets and orbit", "bake the cheese", "jazz guitar music"] * 4))
    activations.check_layers(activations.keys_of_layer("bilstm"))
    with qtbot.waitSignal(activations.extracted, timeout=TIMEOUT_MS):
        assert activations.extract(), activations.message.text()
    chosen = choose_from_popup(qtbot, "Plot this layer in Embeddings, average-pooled")
    with qtbot.waitSignal(tab.embeddings.projected, timeout=TIMEOUT_MS):
        click(qtbot, activations.export_button)
    assert chosen
    assert tab.current_view == "embeddings"
    assert len(tab.embeddings.points) == 12
    assert "Activations: bilstm" in tab.embedding_sources.choice.currentText()
    assert tab.embeddings.labels[0].startswith("rockets")


def test_vectors_file_opens_in_a_projector_window(qtbot, window, tmp_path):
    (tmp_path / "vectors.tsv").write_text("1\t2\t3\n4\t5\t6\nnan\t1\t1\n7\t8\t9.5\n", encoding="utf-8")
    (tmp_path / "metadata.tsv").write_text("word\tcount\na\t1\nb\t2\nc\t3\nd\t4\n", encoding="utf-8")
    projector = window.open_vectors(tmp_path / "vectors.tsv")
    qtbot.addWidget(projector)
    with qtbot.waitSignal(projector.panel.projected, timeout=TIMEOUT_MS):
        pass
    panel = projector.panel
    assert len(panel.points) == 3
    assert panel.labels == ["a", "b", "d"]
    assert "NaN" in panel.notes.text() or "nan" in panel.notes.text().lower()
    projector.close()
    assert projector not in window.projectors


def test_bad_vectors_file_shows_why_and_keeps_running(qtbot, window, tmp_path):
    (tmp_path / "vectors.tsv").write_text("1\t2\t3\n4\t5\n", encoding="utf-8")
    projector = window.open_vectors(tmp_path / "vectors.tsv")
    qtbot.addWidget(projector)
    qtbot.waitUntil(lambda: "line 2" in projector.panel.message.text(), timeout=10_000)
    assert projector.panel.points is None
    projector.close()


def test_every_view_runs_t_sne_in_the_one_projection_process(qtbot, window, tmp_path):
    """The model's Embeddings view and a projector window share one process, which outlives a
    closed window, and both views' runs go through it."""
    tab = window.open_file(SAMPLES / "topic_rnn.keras")
    qtbot.waitUntil(lambda: tab.is_loaded, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(tab.embeddings.projected, timeout=TIMEOUT_MS):
        click_tab(qtbot, tab.views, "Embeddings")  # shows the Embedding layer with PCA
    vectors = tmp_path / "vectors.npy"
    np.save(vectors, np.random.default_rng(0).normal(size=(300, 5)).astype("float32"))
    projector = window.open_vectors(vectors).panel
    qtbot.waitUntil(lambda: projector.points is not None and not projector.busy, timeout=TIMEOUT_MS)

    for panel in (projector, tab.embeddings):
        with qtbot.waitSignal(panel.projected, timeout=TIMEOUT_MS):
            panel.run("t-SNE")
    assert projector.worker is tab.embeddings.worker is not None
    projector.window().close()
    assert tab.embeddings.worker is not None and tab.embeddings.worker._process.is_alive()


def test_points_taken_away_while_being_drawn_do_not_come_back(qtbot):
    from widgets.embeddings.embedding_plot import EmbeddingPlot
    from tests.conftest import shown
    from PySide6.QtGui import QBrush, QColor

    plot = shown(qtbot, EmbeddingPlot(), 600, 400)
    xy = np.random.default_rng(0).normal(size=(200_000, 2)).astype(np.float32)
    plot.set_points(xy, np.zeros(len(xy), dtype=np.int64), [QBrush(QColor("red"))])
    plot.set_highlights(matches=np.arange(len(xy)))  # rings on every point, on their way
    plot.set_highlights(matches=np.zeros(0, dtype=np.int64))  # and a cleared search
    qtbot.waitUntil(lambda: plot.cloud.current, timeout=10_000)
    qtbot.wait(300)  # longer than the rings' image takes
    assert plot.cloud.raster is not None
    assert plot.match_rings.raster is None and plot.match_rings.current


def test_live_layouts_keep_the_axis_titles_as_they_grow(qtbot):
    from PySide6.QtGui import QBrush, QColor

    from tests.conftest import shown
    from widgets.embeddings.embedding_plot import EmbeddingPlot

    plot = shown(qtbot, EmbeddingPlot(), 600, 400)
    xy = np.random.default_rng(0).normal(scale=1e-4, size=(500, 2)).astype(np.float32)  # t-SNE's start
    plot.set_points(xy, np.zeros(len(xy), dtype=np.int64), [QBrush(QColor("red"))], axes=("t-SNE 1", "t-SNE 2"))
    titles = [plot.view.getAxis(side).label.toPlainText().strip() for side in ("bottom", "left")]
    assert titles == ["t-SNE 1", "t-SNE 2"], "no scale factor in the titles, however small the values"
    height = plot.view.getAxis("bottom").height()
    plot.move_points(xy * 1e5)  # the layout spreads out
    assert plot.view.getAxis("bottom").label.toPlainText().strip() == "t-SNE 1"
    assert plot.view.getAxis("bottom").height() == height, "the axis keeps its size: no new layout"
