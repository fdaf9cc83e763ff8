"""The Activations view driven as a user does: inputs, layers, Extract, look, compare, export."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from inspector.jobs import KEPT
from tests.conftest import ROOT, kernel_result
from tests.e2e.user import choose_in_combo, click_tab, use_layer_menu
from tests.kernel import kernel_jobs
from tests.shell.test_main_window import wait_loaded

TIMEOUT = 60_000
DIGITS = ROOT / "resources" / "data" / "digits"


def ready_panel(qtbot, tab):
    click_tab(qtbot, tab.views, "Activations")
    panel = tab.activations
    qtbot.waitUntil(lambda: panel.ready, timeout=TIMEOUT)
    return panel


def extract(qtbot, panel):
    with qtbot.waitSignal(panel.extracted, timeout=TIMEOUT):  # emitted once the first layer is drawn
        assert panel.extract(), panel.message.text()
    return panel.activations


def drop(widget, paths):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    widget.dragEnterEvent(event)
    widget.dropEvent(event)
    return data


@pytest.fixture
def two_input_tab(qtbot, window, samples_dir):
    return wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))


def test_images_and_a_typed_vector_feed_the_two_input_model(qtbot, two_input_tab, tmp_path):
    tab = two_input_tab
    panel = ready_panel(qtbot, tab)
    assert set(panel.inputs.editors) == {"image_input", "aux_input"}
    folder = tmp_path / "images"
    for digit in ("3", "7"):
        shutil.copytree(DIGITS / digit, folder / digit, ignore=lambda d, names: sorted(names)[5:])
    (folder / "3" / "broken.png").write_bytes(b"not a png at all")
    drop(panel, [folder])
    assert panel.inputs.editors["image_input"].has_data
    assert not panel.inputs.has_data
    assert not panel.extract() and "aux_input" in panel.message.text()

    panel.inputs.editors["aux_input"].values.setText("0.1, 0.2, 0.3, 0.4")
    panel.check_layers(["conv", "merge", "main_output"])
    result = extract(qtbot, panel)
    assert len(result.samples) == 10 and result.samples.classes[0] == "3"
    assert "broken.png" in panel.notes.text()
    assert panel.layer_choice.count() == 3
    # Feature maps of the first image, with the image beside them.
    panel.layer_choice.setCurrentIndex(0)
    assert len(result.shapes["conv"]) == 4
    assert panel.stats_table.model().rowCount() == result.shapes["conv"][-1]
    assert not result.samples.arrays, "the model's inputs stay in the kernel"
    # The numbers the kernel keeps equal a hand-built sub-model on the same pixels.
    from inspector.model.loading import load
    from inspector.tfimport import keras

    arrays, values, _ = kernel_result(qtbot, tab, kernel_jobs.kept_outputs_job, KEPT, result.number)
    model = load(tab.path).model
    reference = keras.Model(model.inputs, model.get_layer("merge").output)
    expected = reference.predict([arrays["image_input"], arrays["aux_input"]], verbose=0)
    np.testing.assert_allclose(values["merge"], expected, rtol=1e-5, atol=1e-5)
    # The view draws the first input's outputs, fetched from the kernel.
    assert panel.current_key == "conv" and panel.view.current_view() is panel.view.feature_maps
    assert panel.view.feature_maps.mosaic_layout.channels == values["conv"].shape[-1]


def test_compare_two_inputs_and_export(qtbot, two_input_tab, tmp_path):
    tab = two_input_tab
    panel = ready_panel(qtbot, tab)
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "inputs.npz",
        image_input=rng.uniform(0, 16, (4, 8, 8, 1)).astype("float32"),
        aux_input=rng.normal(size=(4, 4)).astype("float32"),
    )
    drop(panel, [tmp_path / "inputs.npz"])
    assert panel.inputs.has_data
    panel.check_layers(["conv", "dense_1"])
    result = extract(qtbot, panel)
    panel.compare.setChecked(True)
    panel.compare_choice.setCurrentIndex(2)
    assert panel.compare_view.isVisibleTo(panel)
    assert panel.view.levels() == panel.compare_view.levels() or panel.normalization.currentData() == "per_map"

    _, values, _ = kernel_result(qtbot, tab, kernel_jobs.kept_outputs_job, KEPT, result.number)
    with qtbot.waitSignal(panel.exported, timeout=TIMEOUT) as saved:
        panel.export_layer(tmp_path / "conv.npy")
    np.testing.assert_array_equal(np.load(saved.args[0]), values["conv"])
    with qtbot.waitSignal(panel.exported, timeout=TIMEOUT) as saved:
        panel.export_all(tmp_path / "all.npz")
    with np.load(saved.args[0]) as archive:
        assert set(archive.files) >= {"conv", "dense_1", "sample_names"}
    png = panel.export_png(tmp_path / "view.png")
    assert png.stat().st_size > 1000


def test_wrong_array_shape_is_explained(qtbot, two_input_tab, tmp_path):
    panel = ready_panel(qtbot, two_input_tab)
    np.savez(
        tmp_path / "bad.npz",
        image_input=np.zeros((3, 8, 8, 1), "float32"),
        aux_input=np.zeros((3, 5), "float32"),
    )
    drop(panel, [tmp_path / "bad.npz"])
    panel.check_layers(["merge"])
    assert panel.extract()
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert panel.activations is None
    text = panel.message.text()
    assert "aux_input" in text and "5" in text and "4" in text
    # No job is left behind (the failed job's "finished" may arrive just after the panel stopped).
    qtbot.waitUntil(lambda: not two_input_tab.runner.busy, timeout=TIMEOUT)


def test_sequences_show_masks_and_tokens(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "topic_rnn.keras"))
    panel = ready_panel(qtbot, tab)
    editor = panel.inputs.editors["tokens"]
    message = editor.set_vocabulary_file(samples_dir / "topic_rnn_vocab.txt")
    assert "tokens" in message
    editor.text.setPlainText("the tennis match was great\nbake the cheese zzzunknownword\npiano")
    editor.pad_row.padding.setCurrentText("post")
    qtbot.waitUntil(lambda: editor.preview.rowCount() == 3, timeout=5_000)
    assert editor.preview.item(2, 1).toolTip().endswith("masked")  # "piano" then padding

    tab.select_layer("bilstm")
    use_layer_menu(qtbot, tab, "bilstm", "Add to the layers to extract")
    panel.check_layers(panel.checked_keys() + ["gru_2"], add=True)
    assert tab.current_view == "activations"
    result = extract(qtbot, panel)
    assert any("unknown" in note for note in result.samples.notes)
    mask = result.masks["bilstm"]
    np.testing.assert_array_equal(mask[2], [True] + [False] * (mask.shape[1] - 1))
    assert result.target("bilstm").halves == ("forward", "backward")
    panel.sample_choice.setCurrentIndex(2)
    extras = panel._extras("bilstm", 2)
    assert extras["tokens"][0] == "piano" and extras["mask"].sum() == 1


def test_cancel_stops_a_long_extraction(qtbot, window, samples_dir, tmp_path):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    panel = ready_panel(qtbot, tab)
    spec = panel.setup.specs[0]
    np.save(tmp_path / "many.npy", np.zeros((20_000, *spec.shape), "float32"))
    drop(panel, [tmp_path / "many.npy"])
    panel.batch_size.setValue(1)
    panel.check_layers([panel.setup.targets[0].key])
    assert panel.extract()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert panel.activations is None and "cancelled" in panel.message.text()
    # The model is free again for other work.
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)
    assert tab.set_all_trainable(False)


def test_not_enough_disk_asks_before_extracting(qtbot, two_input_tab, tmp_path, monkeypatch):
    panel = ready_panel(qtbot, two_input_tab)
    kernel_result(qtbot, two_input_tab, kernel_jobs.full_disk_job)
    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.Cancel)
    np.savez(tmp_path / "in.npz", image_input=np.zeros((2, 8, 8, 1), "f4"), aux_input=np.zeros((2, 4), "f4"))
    drop(panel, [tmp_path / "in.npz"])
    panel.check_layers(["conv"])
    assert panel.extract()
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert asked and "free" in asked[0]
    assert panel.activations is None and "not started" in panel.message.text()


def conv_of_ones(qtbot, tab, folder, count: int):
    """The two-input model's panel with ``count`` inputs of ones dropped on it and ``conv`` checked."""
    panel = ready_panel(qtbot, tab)
    np.savez(folder / "in.npz", image_input=np.ones((count, 8, 8, 1), "f4"), aux_input=np.ones((count, 4), "f4"))
    drop(panel, [folder / "in.npz"])
    panel.check_layers(["conv"])
    return panel


def test_outputs_stay_in_the_kernel_and_a_new_extraction_frees_the_last(qtbot, two_input_tab, tmp_path):
    tab = two_input_tab
    panel = conv_of_ones(qtbot, tab, tmp_path, 3)
    first = extract(qtbot, panel)
    second = extract(qtbot, panel)
    assert second.number != first.number
    _, _, kept = kernel_result(qtbot, tab, kernel_jobs.kept_outputs_job, KEPT, second.number)
    assert kept == [second.number], "the first extraction's outputs were freed in the kernel"
    # Another input is fetched from the kernel when the user picks it.
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        choose_in_combo(qtbot, panel.sample_choice, "3: ")
    assert "3: " in panel.view.title_label.text()


def test_after_a_restart_the_view_says_the_outputs_are_gone(qtbot, two_input_tab, tmp_path):
    tab = two_input_tab
    panel = conv_of_ones(qtbot, tab, tmp_path, 2)
    extract(qtbot, panel)
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)  # no read of the outputs on its way
    os.kill(tab.runner.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: tab.banner.restart.isVisible(), timeout=TIMEOUT)
    qtbot.mouseClick(tab.banner.restart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.banner.isVisible() and not tab.runner.busy, timeout=TIMEOUT)
    click_tab(qtbot, tab.views, "Activations")
    choose_in_combo(qtbot, panel.sample_choice, "2: ")
    qtbot.waitUntil(lambda: panel.activations is None, timeout=TIMEOUT)
    assert "extract them again" in panel.message.text()
    assert panel.extract_button.isEnabled()
