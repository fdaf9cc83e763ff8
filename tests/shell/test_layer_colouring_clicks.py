"""View ▸ Colour Layers By as a user drives it: parameters at once, weight norms from the kernel,
activation statistics after an extraction, and back to nothing."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.tfimport import keras
from tests.activations.test_activations_clicks import extract, open_activations
from tests.conftest import SAMPLES
from tests.e2e.user import answer_file_dialog, click, click_tab, drop_files, menu_action
from tests.shell.test_lora_clicks import layer_row
from tests.model_factory import save, two_input_model
from tests.shell.test_main_window import wait_loaded

TIMEOUT = 60_000


def colour_by(window, item: str) -> None:
    menu_action(window, "View", "Colour Layers By", item).trigger()


def test_colour_layers_by_parameters_weight_norm_and_activations(qtbot, window, tmp_path):
    path = SAMPLES / "two_input_two_output.keras"
    tab, panel = open_activations(qtbot, window, path)
    graph = tab.graph
    colour_by(window, "Mean Activation")
    assert graph.layer_values() is None and "Extract some layers" in window.statusBar().currentMessage()

    colour_by(window, "Parameters")
    values = graph.layer_values()
    assert values["conv"] == tab.info.layer_index()["conv"].params and values["flatten"] == 0
    assert tab.views.currentIndex() == 0 and graph.value_legend.isVisible()
    assert "parameters" in graph.value_legend.text()
    tree = tab.layer_tree._tree
    click(qtbot, tree.viewport(), tree.visualItemRect(layer_row(tab, "conv")).center())
    qtbot.waitUntil(lambda: tab.details.layer is not None and tab.details.layer.path == "conv", timeout=5_000)
    assert f"parameters: {values['conv']:g}" in tab.details.toPlainText().replace(",", "")
    assert graph._nodes["conv"]._tint_text == f"parameters: {values['conv']:g}"  # drawn on the node

    colour_by(window, "Weight Norm")
    qtbot.waitUntil(lambda: "weight norm" in graph.value_legend.text(), timeout=TIMEOUT)
    model = keras.saving.load_model(path)
    dense = model.get_layer("dense_1")
    expected = np.sqrt(sum(np.square(np.asarray(v, dtype=np.float64)).sum() for v in dense.weights))
    assert graph.layer_values()["dense_1"] == pytest.approx(expected, rel=1e-12)

    click_tab(qtbot, tab.views, "Activations")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "inputs.npz", image_input=rng.uniform(0, 16, (4, 8, 8, 1)).astype("float32"), aux_input=rng.normal(size=(4, 4)).astype("float32"))
    drop_files(panel, [tmp_path / "inputs.npz"])
    extract(qtbot, panel, "conv")
    colour_by(window, "Dead Units")
    stats = panel.activations.stats["conv"]
    assert graph.layer_values() == {"conv": float(np.mean(stats.zero_fraction >= 1.0))}
    colour_by(window, "Nothing")
    assert graph.layer_values() is None and not graph.value_legend.isVisible()


def test_colour_layers_by_weight_change_since_the_file_and_against_a_checkpoint(qtbot, window, tmp_path):
    model = two_input_model()
    a = save(model, tmp_path, "a.keras")
    hidden = model.get_layer("hidden")
    hidden.kernel.assign(hidden.kernel.numpy() * 2)
    checkpoint = save(model, tmp_path, "checkpoint.keras")
    tab = wait_loaded(qtbot, window.open_file(a))
    graph = tab.graph

    colour_by(window, "Weight Change Since the File")
    qtbot.waitUntil(lambda: graph.layer_values() is not None, timeout=TIMEOUT)
    assert set(graph.layer_values().values()) == {0.0}, "nothing moved since the file"

    done = answer_file_dialog(qtbot, checkpoint)
    colour_by(window, "Weight Change Against a Checkpoint")
    qtbot.waitUntil(lambda: bool(done) and graph.layer_values().get("hidden", 0) > 0, timeout=TIMEOUT)
    assert graph.layer_values()["hidden"] == pytest.approx(1.0, rel=1e-6)  # ‖2K − K‖ / ‖K‖, from the open model
    assert "checkpoint.keras" in graph.value_legend.text()
