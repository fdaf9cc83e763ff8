"""Issue 11 in the Embeddings view and window, clicked through as a user would."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QToolButton

from inspector.embeddings.embedding_data import EmbeddingSet
from inspector.embeddings.point_metadata import colouring

TIMEOUT_MS = 120_000
UMAP_TIMEOUT_MS = 900_000  # the first UMAP run of a process compiles numba code


def blobs(n_per: int = 100, dims: int = 8) -> EmbeddingSet:
    """Three separated blobs, each point with a name, a class and a unique numeric id."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10, size=(3, dims))
    vectors = np.concatenate([centre + rng.normal(size=(n_per, dims)) for centre in centres]).astype(np.float32)
    n = 3 * n_per
    metadata = {
        "name": [f"point{i}" for i in range(n)],
        "class": [f"blob{i // n_per}" for i in range(n)],
        "id": [str(i) for i in range(n)],
    }
    return EmbeddingSet(vectors, ["name", "class", "id"], metadata, "three blobs")


def write_vectors(folder: Path, n_per: int = 20) -> Path:
    """A ``.npy`` of blobs and, under a name nobody guesses, its metadata TSV."""
    folder.mkdir(parents=True, exist_ok=True)
    points = blobs(n_per)
    np.save(folder / "words.npy", points.vectors)
    rows = ["word\tclass"] + [f"{name}\t{cls}" for name, cls in zip(points.metadata["name"], points.metadata["class"])]
    (folder / "words_meta.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder / "words.npy"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def panel(qtbot, settings):
    from widgets.embeddings.embedding_panel import EmbeddingPanel

    widget = EmbeddingPanel(settings)
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    yield widget
    widget.shutdown()


def show(qtbot, panel, points):
    with qtbot.waitSignal(panel.projected, timeout=TIMEOUT_MS):
        panel.set_points(points)


def click(qtbot, widget, pos: QPoint | None = None) -> None:
    assert widget.isVisible() and widget.isEnabled()
    if pos is None:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def choose(qtbot, combo, text: str) -> None:
    """Picks an entry of a combo box with the keyboard: Home, then Down until it shows."""
    assert combo.isVisible() and combo.isEnabled() and combo.findText(text) >= 0
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    while combo.currentText() != text:
        qtbot.keyClick(combo, Qt.Key.Key_Down)


def trigger(action) -> None:
    assert action.isVisible() and action.isEnabled()
    action.trigger()


def plot_position(panel, index: int) -> QPoint:
    """Where point ``index`` is drawn, in the plot's viewport."""
    view = panel.plot.view
    box = view.getPlotItem().vb
    x, y = panel.plot.xy[index]
    return view.mapFromScene(box.mapViewToScene(QPointF(float(x), float(y))))


def dark_pixels(panel) -> int:
    """How many near-black pixels (search rings) the screen shows inside the plotting area."""
    view = panel.plot.view
    image = panel.screen().grabWindow(panel.winId()).toImage()
    area = view.mapFromScene(view.getPlotItem().vb.sceneBoundingRect()).boundingRect().adjusted(3, 3, -3, -3)
    origin = view.viewport().mapTo(panel, area.topLeft())
    pixels = np.array(
        [
            [image.pixelColor(origin.x() + dx, origin.y() + dy).getRgb()[:3] for dx in range(0, area.width(), 2)]
            for dy in range(0, area.height(), 2)
        ]
    )
    return int((pixels.max(axis=2) < 70).sum())


def open_vectors_from_menu(qtbot, window, monkeypatch, path: Path):
    """File ▸ Open Embedding Vectors… with the dialog answering ``path``; returns the new window."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text().startswith("Open &Embedding"))
    trigger(action)
    projector = window.projectors[-1]
    qtbot.addWidget(projector)
    qtbot.waitUntil(lambda: projector.panel.projection is not None, timeout=TIMEOUT_MS)
    return projector


def test_user_chooses_the_metadata_when_none_is_found_beside_the_vectors(qtbot, window, tmp_path, monkeypatch):
    vectors = write_vectors(tmp_path / "vectors")
    projector = open_vectors_from_menu(qtbot, window, monkeypatch, vectors)
    files = projector.files
    assert files.metadata_label.text().startswith("None found beside words.npy")
    assert "words_metadata.tsv" in files.metadata_label.text()
    assert projector.panel.label_by.currentText() == "index"
    started_in = []

    def answer(parent, title, folder, pattern):
        started_in.append(folder)
        return str(vectors.parent / "words_meta.tsv"), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    click(qtbot, files.choose)
    qtbot.waitUntil(lambda: files.metadata_label.text() == "words_meta.tsv", timeout=TIMEOUT_MS)
    assert started_in == [str(vectors.parent)]
    panel = projector.panel
    assert [panel.label_by.itemText(i) for i in range(panel.label_by.count())] == ["word", "class"]
    qtbot.waitUntil(lambda: panel.colour_by.currentText() == "class", timeout=TIMEOUT_MS)
    assert panel.labels[0] == "point0"
    assert panel.projection is not None and panel.projection.method == "PCA"  # the layout is kept
    projector.close()


def test_metadata_that_does_not_fit_is_refused_and_the_labels_stay(qtbot, window, tmp_path, monkeypatch):
    vectors = write_vectors(tmp_path)
    (tmp_path / "short.tsv").write_text("a\nb\n", encoding="utf-8")
    projector = open_vectors_from_menu(qtbot, window, monkeypatch, vectors)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(tmp_path / "short.tsv"), ""))
    trigger(projector.metadata_action)
    qtbot.waitUntil(lambda: projector.files.error.isVisible(), timeout=TIMEOUT_MS)
    assert projector.files.error.text().startswith("short.tsv has 2 rows of metadata for 60 vectors.")
    assert projector.files.metadata_label.text().startswith("None found")
    assert len(projector.panel.plot.xy) == 60
    projector.close()


def test_method_box_names_the_projection_drawn(qtbot, settings):
    settings.setValue("embeddings/method", "UMAP")  # what an earlier version remembered
    settings.sync()
    from widgets.embeddings.embedding_panel import EmbeddingPanel

    fresh = EmbeddingPanel(settings)
    qtbot.addWidget(fresh)
    fresh.show()
    try:
        show(qtbot, fresh, blobs(n_per=3))
        assert fresh.projection.method == "PCA"
        assert fresh.method.method.currentText() == "PCA"
        choose(qtbot, fresh.method.method, "t-SNE")  # 9 points are too few for perplexity 30
        click(qtbot, fresh.run_button)
        qtbot.waitUntil(lambda: "perplexity" in fresh.message.text(), timeout=TIMEOUT_MS)
        assert fresh.method.method.currentText() == "PCA"
        assert fresh.plot.view.getPlotItem().getAxis("bottom").labelText.startswith("PC")
    finally:
        fresh.shutdown()


def test_clearing_the_search_removes_its_rings_from_the_screen(qtbot, panel):
    show(qtbot, panel, blobs())
    qtbot.waitUntil(lambda: dark_pixels(panel) == 0, timeout=5000)
    panel.search_box.setFocus()
    qtbot.keyClicks(panel.search_box, "point1")
    qtbot.waitUntil(lambda: panel.search_status.text() == "111 matches", timeout=5000)
    qtbot.waitUntil(lambda: dark_pixels(panel) > 50, timeout=5000)
    clear = next(button for button in panel.search_box.findChildren(QToolButton) if button.isVisible())
    click(qtbot, clear)
    qtbot.waitUntil(lambda: panel.search_status.text() == "", timeout=5000)
    qtbot.waitUntil(lambda: dark_pixels(panel) == 0, timeout=5000)


def test_fit_view_button_keeps_the_selection(qtbot, panel):
    show(qtbot, panel, blobs())
    view = panel.plot.view
    click(qtbot, view.viewport(), plot_position(panel, 7))
    qtbot.waitUntil(lambda: panel.selected_label.text().startswith("Selected: point"), timeout=TIMEOUT_MS)
    selected, text = panel.selected, panel.selected_label.text()
    box = view.getPlotItem().vb
    box.scaleBy((0.25, 0.25))  # zoomed in, as with the mouse wheel
    qtbot.mouseMove(view.viewport(), plot_position(panel, selected) + QPoint(4, 4))
    button = view.getPlotItem().autoBtn
    qtbot.waitUntil(button.isVisible, timeout=5000)
    at = view.mapFromScene(button.mapToScene(button.boundingRect().center()))
    qtbot.mouseMove(view.viewport(), at)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert panel.selected == selected
    assert panel.selected_label.text() == text
    assert panel.neighbour_table.rowCount() == panel.k.value()
    (x0, x1), (y0, y1) = box.viewRange()
    xy = panel.plot.xy
    assert x0 <= xy[:, 0].min() and xy[:, 0].max() <= x1 and y0 <= xy[:, 1].min() and xy[:, 1].max() <= y1


def test_colouring_by_a_numeric_id_shows_a_compact_colour_scale(qtbot, panel):
    show(qtbot, panel, blobs())
    choose(qtbot, panel.colour_by, "id")
    legend = panel.legend
    assert legend.scale.isVisible() and not legend.entries.isVisible()
    assert (legend.title.text(), legend.high.text(), legend.low.text()) == ("id (colour scale)", "299", "0")
    assert legend.scale.height() < panel.plot.height() / 3
    choose(qtbot, panel.colour_by, "class")
    assert legend.entries.isVisible() and legend.entries.count() == 3
    assert legend.entries.height() < panel.plot.height() / 3


def test_a_few_unique_numeric_ids_are_a_scale():
    assert colouring([str(i) for i in range(12)]).kind == "numeric"
    assert colouring(["3", "1", "3", "2"]).kind == "categorical"  # repeated numbers are classes
    assert colouring(["nan", "inf", "-inf"]).kind == "categorical"  # no finite number to scale


def test_dialogs_start_beside_the_vectors_then_where_the_user_saved(qtbot, window, tmp_path, monkeypatch):
    vectors = write_vectors(tmp_path / "project")
    projector = open_vectors_from_menu(qtbot, window, monkeypatch, vectors)
    asked = []
    out = tmp_path / "out"
    out.mkdir()

    def save_as(parent, title, start, pattern):
        asked.append(Path(start).parent)
        return str(out / "plot.png"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    menu = projector.panel.export_button.menu()
    png = next(action for action in menu.actions() if action.text().startswith("Plot as PNG"))
    trigger(png)
    qtbot.waitUntil(lambda: (out / "plot.png").exists(), timeout=10_000)
    trigger(png)
    assert asked == [vectors.parent, out]
    projector.close()
    again = open_vectors_from_menu(qtbot, window, monkeypatch, vectors)  # the folder is remembered
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    trigger(next(a for a in again.panel.export_button.menu().actions() if a.text().startswith("Plot as PNG")))
    assert asked[-1] == out
    again.close()


def test_umap_time_is_the_wait_from_run_with_the_compile_part(qtbot, panel):
    show(qtbot, panel, blobs(n_per=20))
    panel.warm_up()  # as the window does: the run below waits for this compilation
    choose(qtbot, panel.method.method, "UMAP")
    started = time.perf_counter()
    with qtbot.waitSignal(panel.projected, timeout=UMAP_TIMEOUT_MS):
        click(qtbot, panel.run_button)
    waited = time.perf_counter() - started
    assert panel.method.method.currentText() == "UMAP"
    found = re.fullmatch(
        r"UMAP of 60 points in ([\d.]+) s, ([\d.]+) s of it compiling UMAP's numba code \(needed once\)\.",
        panel.message.text(),
    )
    assert found, panel.message.text()
    shown, compiling = float(found[1]), float(found[2])
    assert 0.8 * waited - 0.2 <= shown <= waited + 0.1
    assert 0 < compiling <= shown


def drag(qtbot, widget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """Presses the left button at ``start``, moves to ``end`` in steps and lets go."""
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, steps + 1):
        qtbot.mouseMove(widget, start + (end - start) * (step / steps))
        qtbot.wait(10)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def test_points_follow_a_drag_and_a_click_picks_the_point_under_the_mouse(qtbot, panel):
    show(qtbot, panel, blobs())
    view = panel.plot.view
    qtbot.waitUntil(lambda: panel.plot.cloud.current, timeout=10_000)
    before = view.getPlotItem().vb.viewRange()
    centre = view.viewport().rect().center()
    drag(qtbot, view.viewport(), centre, centre + QPoint(-200, 60))
    after = view.getPlotItem().vb.viewRange()
    assert after[0][0] > before[0][0] and after[1][0] > before[1][0]  # the view moved right and down
    qtbot.waitUntil(lambda: panel.plot.cloud.current, timeout=10_000)
    area = view.viewport().rect().adjusted(20, 20, -20, -20)
    index = next(i for i in range(len(panel.plot.xy)) if area.contains(plot_position(panel, i)))
    at = plot_position(panel, index)
    view.viewport().repaint()
    pixel = view.viewport().grab().toImage().pixelColor(at)
    assert pixel.getRgb()[:3] != (255, 255, 255), "no point is drawn where the point now is"
    click(qtbot, view.viewport(), at)
    qtbot.waitUntil(lambda: panel.selected_label.text().startswith("Selected: point"), timeout=TIMEOUT_MS)
    distance = plot_position(panel, panel.selected) - at
    assert abs(distance.x()) <= 8 and abs(distance.y()) <= 8


def test_a_long_run_shows_its_progress_as_it_goes(qtbot, panel):
    show(qtbot, panel, blobs(n_per=300))
    assert re.fullmatch(r"PCA of 900 points in [\d.]+ s\.", panel.message.text())
    choose(qtbot, panel.method.method, "t-SNE")
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.message.text().startswith("t-SNE iteration"), timeout=TIMEOUT_MS)
    assert panel.progress.maximum() == 1000 and panel.progress.value() > 0
    assert len(panel.plot.xy) == 900  # live layouts are drawn
    qtbot.waitUntil(lambda: panel.plot.view.getAxis("bottom").labelText == "t-SNE 1", timeout=TIMEOUT_MS)
    assert panel.plot.view.getAxis("left").labelText == "t-SNE 2", "not the PCA axes the layout replaced"
    qtbot.waitUntil(lambda: panel.message.text().startswith("t-SNE of 900 points"), timeout=TIMEOUT_MS)


def test_a_long_t_sne_run_says_how_long_it_has_left_and_can_be_cancelled(qtbot, panel):
    show(qtbot, panel, blobs(n_per=400))
    choose(qtbot, panel.method.method, "t-SNE")
    iterations = panel.method.iterations
    iterations.setFocus()
    qtbot.keyClick(iterations, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(iterations, "20000")
    qtbot.keyClick(iterations, Qt.Key.Key_Tab)
    click(qtbot, panel.run_button)
    shown = []
    qtbot.waitUntil(
        lambda: bool(shown.append(panel.message.text()) or re.search(r" · about [\d.]+ (s|min|h) left$", shown[-1])),
        timeout=TIMEOUT_MS,
    )
    assert re.match(r"t-SNE iteration \d+/20000 · ", shown[-1])
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: panel.message.text() == "t-SNE cancelled.", timeout=TIMEOUT_MS)
    assert panel.run_button.isEnabled()
