"""The text model's word embedding in the Embeddings view: PCA at once, then t-SNE and UMAP,
a clicked point and its nearest neighbours, a search with its match count, and the
TensorFlow Projector export written to a chosen folder."""

from __future__ import annotations

import numpy as np

from inspector.jobs import MODEL
from tests.conftest import SAMPLES, kernel_result
from tests.kernel import kernel_jobs
from tests.e2e.features import open_sample, picture
from tests.e2e.user import (
    answer_file_dialog,
    choose_from_popup,
    choose_in_combo,
    click,
    click_plot,
    on_screen,
    press,
    scroll_to,
    type_into,
    type_number,
)

PROJECTION_TIMEOUT_MS = 120_000
UMAP_TIMEOUT_MS = 600_000  # the first UMAP of a session waits for numba's compilation
VOCABULARY = SAMPLES.joinpath("topic_rnn_vocab.txt").read_text().split()
TOKENS = 2 + len(VOCABULARY)  # padding and [UNK] come first


def run_projection(qtbot, panel, method: str, timeout: int) -> None:
    """Clicks Run for the chosen ``method`` and waits until its layout is drawn."""
    assert panel.method.method_name == method
    with qtbot.waitSignal(panel.projected, timeout=timeout):
        click(qtbot, panel.run_button)
    assert panel.message.text().startswith(f"{method} of {TOKENS:,} points in "), panel.message.text()
    assert len(panel.plot.xy) == TOKENS


def test_project_a_word_embedding_find_neighbours_and_export(qtbot, launch, tmp_path):
    window, tab = open_sample(qtbot, launch, "topic_rnn.keras")
    panel = tab.embeddings
    with qtbot.waitSignal(panel.projected, timeout=PROJECTION_TIMEOUT_MS):  # PCA runs at once
        press(qtbot, window, "Ctrl+5")
    assert panel.title.text().endswith(f"{TOKENS} points × 16 dimensions")
    assert tab.embedding_sources.vocabulary_label.text() == f"topic_rnn_vocab.txt ({TOKENS:,} tokens)"
    assert panel.message.text().startswith(f"PCA of {TOKENS} points in ")
    assert panel.method.variance.text().startswith("Explained variance: PC1 ")
    on_screen(qtbot, panel.plot.view)
    picture(window, "embeddings_pca")

    choose_in_combo(qtbot, panel.method.method, "t-SNE")
    type_number(qtbot, panel.method.iterations, "300")
    run_projection(qtbot, panel, "t-SNE", PROJECTION_TIMEOUT_MS)
    picture(window, "embeddings_tsne")
    choose_in_combo(qtbot, panel.method.method, "UMAP")
    type_number(qtbot, panel.method.neighbours, "10")
    run_projection(qtbot, panel, "UMAP", UMAP_TIMEOUT_MS)

    guitar = panel.labels.index("guitar")
    x, y = panel.plot.xy[guitar]
    click_plot(qtbot, panel.plot.view, float(x), float(y))
    qtbot.waitUntil(lambda: panel.neighbour_table.rowCount() == panel.k.value(), timeout=PROJECTION_TIMEOUT_MS)
    chosen = panel.selected
    pixel = np.asarray(panel.plot.view.getPlotItem().getViewBox().viewPixelSize())
    assert np.all(np.abs((panel.plot.xy[chosen] - panel.plot.xy[guitar]) / pixel) < 1), "the click picked a point elsewhere"
    assert panel.selected_label.text().startswith(f"Selected: {panel.labels[chosen]} (point ")
    neighbours = [panel.neighbour_table.item(row, 0).text() for row in range(panel.neighbour_table.rowCount())]
    assert panel.labels[chosen] not in neighbours
    distances = [float(panel.neighbour_table.item(row, 1).text()) for row in range(panel.neighbour_table.rowCount())]
    assert distances == sorted(distances) and distances[0] > 0
    scroll_to(qtbot, panel.neighbour_table)  # below the fold of the controls at the default size

    type_into(qtbot, panel.search_box, "guitar")
    qtbot.waitUntil(lambda: panel.search_status.text() == "1 match", timeout=5000)
    click(qtbot, panel.regex)
    type_into(qtbot, panel.search_box, "^(piano|guitar|jazz)$")
    qtbot.waitUntil(lambda: panel.search_status.text() == "3 matches", timeout=5000)
    picture(window, "embeddings_umap_neighbours")

    folder = tmp_path / "projector"
    folder.mkdir()
    answered = answer_file_dialog(qtbot, folder)
    chosen_item = choose_from_popup(qtbot, "Vectors and metadata for the TensorFlow Projector")
    click(qtbot, panel.export_button)
    qtbot.waitUntil(lambda: bool(chosen_item) and bool(answered), timeout=20_000)
    vectors, metadata = folder / "vectors.tsv", folder / "metadata.tsv"
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Wrote {vectors} and metadata.tsv", timeout=20_000)
    rows = [line.split("\t") for line in vectors.read_text().splitlines()]
    assert len(rows) == TOKENS and {len(row) for row in rows} == {16}
    np.testing.assert_allclose(np.array(rows, dtype=np.float32)[2], kernel_result(qtbot, tab, kernel_jobs.layer_weights_job, MODEL, "embedding")[0][2], rtol=1e-5)
    header, *lines = [line.split("\t") for line in metadata.read_text().splitlines()]
    assert header == ["token", "id"] and len(lines) == TOKENS
    assert [token for token, _ in lines[2:]] == VOCABULARY
    assert [int(i) for _, i in lines] == list(range(TOKENS))
