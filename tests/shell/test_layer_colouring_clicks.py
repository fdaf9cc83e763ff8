"""View ▸ Colour Layers By as a user drives it: parameters at once, weight norms from the kernel,
activation statistics after an extraction, and back to nothing."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.tfimport import keras
from tests.activations.test_activations_clicks import extract, open_activations
from tests.conftest import SAMPLES
from tests.e2e.user import drop_files, menu_action

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

    colour_by(window, "Weight Norm")
    qtbot.waitUntil(lambda: "weight norm" in graph.value_legend.text(), timeout=TIMEOUT)
    model = keras.saving.load_model(path)
    dense = model.get_layer("dense_1")
    expected = np.sqrt(sum(np.square(np.asarray(v, dtype=np.float64)).sum() for v in dense.weights))
    assert graph.layer_values()["dense_1"] == pytest.approx(expected, rel=1e-12)

    tab.views.setCurrentWidget(panel)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "inputs.npz", image_input=rng.uniform(0, 16, (4, 8, 8, 1)).astype("float32"), aux_input=rng.normal(size=(4, 4)).astype("float32"))
    drop_files(panel, [tmp_path / "inputs.npz"])
    extract(qtbot, panel, "conv")
    colour_by(window, "Dead Units")
    stats = panel.activations.stats["conv"]
    assert graph.layer_values() == {"conv": float(np.mean(stats.zero_fraction >= 1.0))}
    colour_by(window, "Nothing")
    assert graph.layer_values() is None and not graph.value_legend.isVisible()
