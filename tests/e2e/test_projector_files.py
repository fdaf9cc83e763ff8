"""Open the TensorFlow Projector's vectors.tsv + metadata.tsv from the menu or by dropping them."""

import numpy as np
from PySide6.QtWidgets import QApplication

from tests.e2e.model_steps import picture
from tests.e2e.user import DIALOG_TIMEOUT_MS, answer_file_dialog, drop_files, error_messages, use_menu
from widgets.embeddings.projector_window import ProjectorWindow

POINTS = 24
PROJECTION_TIMEOUT_MS = 120_000


def write_projector_files(folder):
    """Three clusters of eight 5-d points, with a word and a cluster name for each."""
    rng = np.random.default_rng(0)
    centres = np.eye(3, 5) * 10
    vectors = np.concatenate([centre + rng.normal(size=(POINTS // 3, 5)) for centre in centres])
    clusters = ["red", "green", "blue"]
    (folder / "vectors.tsv").write_text("".join("\t".join(f"{v:.4f}" for v in row) + "\n" for row in vectors))
    rows = [f"word{i}\t{clusters[i // (POINTS // 3)]}\n" for i in range(POINTS)]
    (folder / "metadata.tsv").write_text("word\tcluster\n" + "".join(rows))
    return folder / "vectors.tsv", folder / "metadata.tsv"


def projector_windows() -> list[ProjectorWindow]:
    """The projector windows on screen."""
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, ProjectorWindow) and w.isVisible()]


def assert_shows_the_points_and_their_metadata(qtbot, projector: ProjectorWindow) -> None:
    """What the user sees once the file is read and PCA has run."""
    panel = projector.panel
    qtbot.waitUntil(lambda: panel.message.text().startswith("PCA of"), timeout=PROJECTION_TIMEOUT_MS)
    assert projector.windowTitle() == "Embeddings — vectors.tsv + metadata.tsv"
    assert f"{POINTS} points × 5 dimensions" in panel.title.text()
    assert [panel.colour_by.itemText(i) for i in range(panel.colour_by.count())] == ["(one colour)", "word", "cluster"]
    assert [panel.label_by.itemText(i) for i in range(panel.label_by.count())] == ["word", "cluster"]
    assert panel.colour_by.currentText() == "cluster"
    assert panel.legend.isVisible() and panel.legend.title.text() == "cluster"
    entries = panel.legend.entries
    assert sorted(entries.item(i).text() for i in range(entries.count())) == ["blue  (8)", "green  (8)", "red  (8)"]
    assert projector.files.metadata_label.text().startswith("metadata.tsv")
    assert len(panel.plot.xy) == POINTS
    assert panel.sample_note.text() == f"Showing all {POINTS} points."
    assert not error_messages()


def test_open_embedding_vectors_from_the_file_menu(qtbot, launch, tmp_path):
    vectors, _ = write_projector_files(tmp_path)
    window = launch()
    answered = answer_file_dialog(qtbot, vectors)
    use_menu(window, "File", "Open Embedding Vectors…")
    qtbot.waitUntil(lambda: bool(answered), timeout=DIALOG_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(projector_windows()) == 1, timeout=DIALOG_TIMEOUT_MS)
    projector = projector_windows()[0]
    qtbot.addWidget(projector)
    assert_shows_the_points_and_their_metadata(qtbot, projector)
    picture(projector, "projector_from_menu")
    use_menu(projector, "File", "Close")
    assert not projector_windows()


def drop_and_wait_for_projectors(qtbot, window, files) -> list[ProjectorWindow]:
    """Drops ``files`` on the main window; returns the projector windows once each has read
    its file (or said why it could not)."""
    drop_files(window.start_page, files)
    qtbot.waitUntil(lambda: len(projector_windows()) >= 1, timeout=DIALOG_TIMEOUT_MS)
    shown = projector_windows()
    for projector in shown:
        qtbot.addWidget(projector)
    qtbot.waitUntil(lambda: all(p.panel.message.text() for p in shown), timeout=PROJECTION_TIMEOUT_MS)
    return shown


def test_drop_the_vectors_file_on_the_window(qtbot, launch, tmp_path):
    vectors, _ = write_projector_files(tmp_path)
    window = launch()
    shown = drop_and_wait_for_projectors(qtbot, window, [vectors])
    assert len(shown) == 1
    assert_shows_the_points_and_their_metadata(qtbot, shown[0])
    assert window.tabs.count() == 0


def test_drop_vectors_and_metadata_together_on_the_window(qtbot, launch, tmp_path):
    vectors, metadata = write_projector_files(tmp_path)
    window = launch()
    shown = drop_and_wait_for_projectors(qtbot, window, [vectors, metadata])
    assert len(shown) == 1, [f"{p.windowTitle()}: {p.panel.message.text()}" for p in shown]
    assert_shows_the_points_and_their_metadata(qtbot, shown[0])
    picture(shown[0], "projector_dropped")
