"""The Activations view as a user drives it, for the problems of issue 11: inputs that fit their
column, the first feature-map mosaic's colours, the vocabulary beside the model, where the file
dialogs start, token ids an Embedding cannot look up, and the Bidirectional halves."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QPlainTextEdit, QScrollArea, QSplitter

from inspector.jobs import KEPT
from tests.conftest import ROOT, SAMPLES, kernel_result
from tests.kernel import kernel_jobs
from tests.e2e.user import check_item, click, click_button, drop_files, reachable, type_into, use_menu
from tests.shell.test_main_window import wait_loaded
from widgets.common.panes import CONTROLS_SPLITTER

TIMEOUT = 60_000
DIGITS = ROOT / "resources" / "data" / "digits"


def open_activations(qtbot, window, path: Path):
    """Opens a model and shows its Activations view (View ▸ Activations) with its inputs listed."""
    tab = wait_loaded(qtbot, window.open_file(path))
    use_menu(window, "View", "Activations")
    panel = tab.activations
    qtbot.waitUntil(lambda: panel.inputs is not None and panel.inputs.isVisible(), timeout=TIMEOUT)
    return tab, panel


def type_lines(qtbot, editor, text: str) -> None:
    """Types into a sequence input's text box, then waits for its padded preview."""
    box = editor.findChild(QPlainTextEdit, "sequenceText")
    click(qtbot, box)
    qtbot.keyClicks(box, text)
    qtbot.waitUntil(lambda: bool(editor.preview.rowCount() or editor.preview_text.text()), timeout=5_000)


def extract(qtbot, panel, layer: str) -> None:
    """Checks one layer in the list and clicks Extract; waits until its output is drawn."""
    item = check_item(qtbot, panel.layer_list, layer)
    assert item.checkState().name == "Checked"
    with qtbot.waitSignal(panel.extracted, timeout=TIMEOUT):
        click(qtbot, panel.extract_button)


def copied_sample(tmp_path: Path, *names: str) -> Path:
    """Copies sample files into a folder of their own; returns the first one's new path."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    return folder / names[0]


@pytest.mark.parametrize("sample", ["two_input_two_output.keras", "topic_rnn.keras"])
def test_the_input_editors_fit_their_column_on_a_small_screen(qtbot, window, sample):
    window.resize(1366, 768)
    _, panel = open_activations(qtbot, window, SAMPLES / sample)
    scroll = panel.inputs_scroll
    viewport = scroll.viewport()
    qtbot.waitUntil(lambda: panel.inputs.width() <= viewport.width(), timeout=5_000)
    assert scroll.horizontalScrollBar().maximum() == 0, "the inputs scroll sideways"
    buttons = [b for b in panel.inputs.findChildren(QAbstractButton) if b.isVisible()]
    assert len(buttons) >= 3
    for button in buttons:  # every button shown whole, inside the column
        right = button.mapTo(viewport, button.rect().topRight()).x()
        assert 0 <= button.mapTo(viewport, button.rect().topLeft()).x() and right < viewport.width(), button.text()


RESULTS_WIDTH = 300
"""Pixels of a narrow results column (the splitter dragged far right on a small screen)."""


def test_the_results_fit_a_narrow_column_without_scrolling_sideways(qtbot, window):
    window.resize(1366, 768)
    _, panel = open_activations(qtbot, window, SAMPLES / "topic_rnn.keras")
    type_lines(qtbot, panel.inputs.editors["tokens"], "5 6 7 8")
    extract(qtbot, panel, "bilstm")
    splitter = panel.findChild(QSplitter, CONTROLS_SPLITTER)
    total = sum(splitter.sizes())
    splitter.setSizes([total - RESULTS_WIDTH, RESULTS_WIDTH])
    area = splitter.widget(1)
    assert isinstance(area, QScrollArea)
    qtbot.waitUntil(lambda: area.viewport().width() <= RESULTS_WIDTH, timeout=5_000)
    assert area.horizontalScrollBar().maximum() == 0, f"the results need {panel.results.minimumSizeHint().width()} px"
    for shown in (panel.export_button, panel.normalization, panel.layer_choice):  # inside the column
        right = shown.mapTo(area.viewport(), shown.rect().topRight()).x()
        assert shown.isVisible() and right < area.viewport().width()


def test_the_first_mosaic_with_each_map_to_its_own_range_uses_every_colour(qtbot, window, tmp_path):
    tab, panel = open_activations(qtbot, window, SAMPLES / "two_input_two_output.keras")
    assert panel.normalization.currentText() == "Each map to its own range"
    folder = tmp_path / "threes"
    folder.mkdir()
    for png in sorted((DIGITS / "3").glob("*.png"))[:3]:
        shutil.copy(png, folder / png.name)
    drop_files(panel, [folder])
    type_into(qtbot, panel.inputs.editors["aux_input"].values, "0.5, 0.5, 0.3, 0.3")
    extract(qtbot, panel, "conv")

    grid = panel.view.feature_maps
    assert grid.isVisible()
    _, outputs, _ = kernel_result(qtbot, tab, kernel_jobs.kept_outputs_job, KEPT, panel.activations.number)
    values = outputs["conv"][0]  # (8, 8, 16), the first image
    low, high = (float(level) for level in grid.grid_image.levels)
    drawn = np.clip((grid.grid_image.image.astype(np.float64) - low) / (high - low), 0, 1)
    layout = grid.mosaic_layout
    for channel in range(values.shape[-1]):
        maps = values[..., channel]
        span = maps.max() - maps.min()
        if span == 0:
            continue
        x, y = (round(v) for v in grid.tile_center(channel))
        x0, y0 = x - layout.width // 2, y - layout.height // 2
        tile = drawn[y0 : y0 + layout.height, x0 : x0 + layout.width]
        np.testing.assert_allclose(tile, (maps - maps.min()) / span, atol=1.5 / 255, err_msg=f"channel {channel}")


def test_text_is_tokenized_with_the_vocabulary_beside_the_model(qtbot, window, tmp_path):
    model = copied_sample(tmp_path, "topic_rnn.keras", "topic_rnn_vocab.txt")
    _, panel = open_activations(qtbot, window, model)
    editor = panel.inputs.editors["tokens"]
    assert "202 tokens from topic_rnn_vocab.txt" in editor.vocabulary_label.text()
    type_lines(qtbot, editor, "The rocket reached orbit")
    row = [editor.preview.item(0, column).text() for column in range(editor.preview.columnCount())]
    assert row[:2] == ["the", "rocket"]
    extract(qtbot, panel, "embedding")
    assert panel.activations.samples.tokens["tokens"][0][:2] == ["the", "rocket"]
    assert "unknown" not in panel.message.text()


def test_file_dialogs_start_in_the_model_folder_then_the_last_folder_used(qtbot, window, tmp_path, monkeypatch):
    model = copied_sample(tmp_path, "two_input_two_output.keras")
    data = tmp_path / "data"
    data.mkdir()
    image = shutil.copy(sorted((DIGITS / "7").glob("*.png"))[0], data / "seven.png")
    starts = []

    def open_images(parent, caption, start, *args):
        starts.append(start)
        return [str(image)], ""

    def open_array(parent, caption, start, *args):
        starts.append(start)
        return "", ""

    def save_file(parent, caption, start, *args):
        starts.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", open_images)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_array)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_file)
    _, panel = open_activations(qtbot, window, model)
    image_editor, aux_editor = panel.inputs.editors["image_input"], panel.inputs.editors["aux_input"]
    click_button(qtbot, image_editor, "Add images")
    assert Path(starts[-1]) == model.parent
    qtbot.waitUntil(lambda: image_editor.has_data, timeout=5_000)
    click_button(qtbot, aux_editor, "Load .npy")
    assert Path(starts[-1]) == data

    type_into(qtbot, aux_editor.values, "0.5, 0.5, 0.3, 0.3")
    extract(qtbot, panel, "dense_1")
    reachable(panel.export_button)  # its menu opens on a press; the action is chosen in it
    action = next(a for a in panel.export_button.menu().actions() if a.text().startswith("This layer's outputs"))
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    assert Path(starts[-1]).parent == model.parent and Path(starts[-1]).name == "dense_1.npy"


def test_a_token_id_the_embedding_cannot_look_up_is_named_before_extraction(qtbot, window):
    _, panel = open_activations(qtbot, window, SAMPLES / "topic_rnn.keras")
    editor = panel.inputs.editors["tokens"]
    type_lines(qtbot, editor, "5 600 7")
    sentence = "Token id 600 (input 1) is out of range for Embedding 'embedding' (input_dim 202)"
    assert sentence in editor.preview_text.text()
    assert "out of range" in editor.preview.item(0, 1).toolTip()
    assert "out of range" not in editor.preview.item(0, 0).toolTip()

    check_item(qtbot, panel.layer_list, "gru_2")
    click(qtbot, panel.extract_button)
    qtbot.waitUntil(lambda: not panel.running and panel.message.text() != "Reading the inputs…", timeout=TIMEOUT)
    assert sentence in panel.message.text()
    assert "Graph execution" not in panel.message.text()
    assert panel.activations is None


def test_the_bidirectional_view_says_which_half_reads_backward(qtbot, window):
    _, panel = open_activations(qtbot, window, SAMPLES / "topic_rnn.keras")
    type_lines(qtbot, panel.inputs.editors["tokens"], "5 6 7 8")
    extract(qtbot, panel, "bilstm")
    note = panel.view.findChild(type(panel.message), "halvesNote")
    assert note.isVisible()
    text = note.text()
    assert "units 0–15 run forward" in text
    assert "units 16–31 run backward (read the sequence from the end" in text
    assert [label for _, label in panel.view.sequence.half_labels()] == ["forward", "backward"]
