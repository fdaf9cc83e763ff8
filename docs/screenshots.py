"""Makes the README's screenshots: the main window on each bundled sample, on a real X display.

Usage: ``make screenshots`` (runs it under ``xvfb-run`` with Qt's xcb platform at the default
window size; writes ``docs/screenshots/*.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from widgets.shell.main_window import MainWindow  # noqa: E402
from widgets.common.paths import SAMPLES_DIR  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SETTLE_S = 0.3
"""How long the window runs its events before a picture is taken."""

# (file, layer to select, nested models to expand, view index: 0 graph, 1 variables, layer to
# fine-tune from (freeze everything before it) or None, picture name)
SHOTS = [
    ("two_input_two_output.keras", "merge", [], 0, None, "two_input_two_output"),
    ("digits_cnn.keras", "conv_1", [], 1, None, "digits_cnn_variables"),
    ("topic_rnn.keras", "bilstm", [], 0, None, "topic_rnn"),
    ("transfer_digits.keras", "digits_base/base_bn_1", ["digits_base"], 0, None, "transfer_digits_expanded"),
    ("transfer_digits.keras", "digits_base/base_bn_2", ["digits_base"], 0, "digits_base/base_conv_2", "freeze_map"),
]

# Activations: (picture name, file, inputs dropped on the panel, layers, layer shown, input to
# compare with or None)
ACTIVATION_SHOTS = [
    ("activations_images", "transfer_digits.keras", ["resources/data/digits"],
     ["digits_base/base_relu_1", "digits_base/base_relu_2", "gap", "head"], "digits_base/base_relu_2", None),
    ("activations_sequence", "topic_rnn.keras", ["resources/data/topics.tsv"],
     ["embedding", "bilstm", "gru_1", "gru_2", "topic"], "bilstm", None),
    ("activations_compare", "two_input_two_output.keras", ["resources/data/digits"],
     ["conv", "dense_1", "main_output"], "conv", 600),
]
VOCABULARIES = {"topic_rnn.keras": {"tokens": "topic_rnn_vocab.txt"}}
TYPED = {"two_input_two_output.keras": {"aux_input": "0.3, 0.2, 0.5, 0.4"}}
SHOWN_INPUT = 5


def wait(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    """Runs the event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.01)


def training_shots(app: QApplication, window: MainWindow) -> None:
    """Fine-tunes the transfer sample's head on the digit images (PNG pixels rescaled to the
    0..16 the samples were trained on) and grabs the curves and the weight changes."""
    from inspector.training.augmentation import AugmentationSettings

    tab = window.open_file(SAMPLES_DIR / "transfer_digits.keras")
    wait(app, lambda: tab.is_loaded or tab.error is not None)
    panel = tab.training
    tab.show_view("training")
    wait(app, lambda: panel.data_editor is not None)
    panel.data_editor.set_path(ROOT / "resources" / "data" / "digits")
    panel.data_editor.augmentation = AugmentationSettings(rotation=0.05, zoom=0.1, contrast=0.2, rescale=16 / 255)
    panel.epochs.setValue(6)
    panel.batch_size.setValue(32)
    panel.learning_rate.setValue(0.01)
    done = []
    panel.trained.connect(lambda result: done.append(result))
    panel.start()
    wait(app, lambda: done or (not panel.running and panel.result is None), timeout_s=600)
    wait(app, lambda: not tab.runner.busy)
    save(app, window, "training_curves")
    panel.results.setCurrentIndex(1)
    panel.colour_graph.setChecked(True)
    wait(app, lambda: not tab.runner.busy)
    save(app, window, "training_changes")


def embedding_shots(app: QApplication, window: MainWindow) -> None:
    """Plots the pretrained base's pooled features of the 1,797 digit images with t-SNE, coloured
    by class folder, and the topic model's word embedding with UMAP, "guitar" and its Euclidean
    neighbours selected and "jazz" found by the search."""
    tab = window.open_file(SAMPLES_DIR / "transfer_digits.keras")
    wait(app, lambda: tab.is_loaded or tab.error is not None)
    activations = tab.activations
    tab.show_view("activations")
    wait(app, lambda: activations.ready)
    activations.inputs.add_paths([str(ROOT / "resources" / "data" / "digits")])
    activations.check_layers(activations.keys_of_layer("gap"))
    done = []
    activations.extracted.connect(lambda: done.append(True))
    activations.extract()
    wait(app, lambda: done, timeout_s=600)
    panel = tab.embeddings
    activations.send_to_embeddings.emit(activations.activations, activations.current_key, "mean")
    wait(app, lambda: panel.projection is not None and not panel.busy, timeout_s=600)
    panel.method.method.setCurrentText("t-SNE")
    panel.run()
    wait(app, lambda: not panel.busy and panel.projection.method == "t-SNE", timeout_s=600)
    panel.select_point(0)
    wait(app, lambda: panel.neighbour_table.rowCount() > 0)
    save(app, window, "embeddings_activations")

    tab = window.open_file(SAMPLES_DIR / "topic_rnn.keras")
    wait(app, lambda: tab.is_loaded or tab.error is not None)
    panel = tab.embeddings
    tab.show_view("embeddings")
    wait(app, lambda: panel.projection is not None and not panel.busy, timeout_s=600)
    panel.method.method.setCurrentText("UMAP")
    panel.run()
    wait(app, lambda: not panel.busy and panel.projection.method == "UMAP", timeout_s=900)
    panel.search_box.setText("jazz")
    panel.search_box.returnPressed.emit()
    panel.distance.setCurrentText("euclidean")  # the metric UMAP used
    panel.select_point(panel.labels.index("guitar"))
    wait(app, lambda: panel.neighbour_table.rowCount() > 0)
    save(app, window, "embeddings_tokens")


def explain_shots(app: QApplication, window: MainWindow) -> None:
    """Grad-CAM on the transfer sample for two classes, integrated gradients on typed text, the
    graph coloured by weight norm, and a comparison of the transfer sample with a fine-tuned copy."""
    import numpy as np
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="kmi-shots-"))
    digits = sorted((ROOT / "resources" / "data" / "digits").glob("*/*.png"))[::180]
    pixels = np.stack([np.asarray(Image.open(path), dtype=np.float32)[..., None] * 16 / 255 for path in digits])
    np.save(folder / "digits.npy", pixels)  # the samples' own 0..16 scale
    for file, method, inputs, typed in (
        ("transfer_digits.keras", "grad_cam", [folder / "digits.npy"], None),
        ("topic_rnn.keras", "integrated_gradients", [], "the rocket reached orbit around the moon\nbake the bread with butter"),
    ):
        tab = window.open_file(SAMPLES_DIR / file)
        wait(app, lambda: tab.is_loaded or tab.error is not None)
        panel = tab.activations
        tab.show_view("activations")
        wait(app, lambda: panel.ready)
        panel.mode_bar.setCurrentIndex(1)
        controls = panel.explain_controls
        wait(app, lambda: controls.setup is not None)
        controls.method.setCurrentIndex(controls.method.findData(method))
        for editor_name, vocabulary in VOCABULARIES.get(file, {}).items():
            panel.inputs.editors[editor_name].set_vocabulary_file(SAMPLES_DIR / vocabulary)
        if typed is not None:
            panel.inputs.editors["tokens"].text.setPlainText(typed)
        panel.inputs.add_paths([str(path) for path in inputs])
        controls.compare.setChecked(True)
        done = []
        panel.explained.connect(lambda: done.append(True))
        panel.explain()
        wait(app, lambda: done or not panel.running)
        panel.explain_results.sample_choice.setCurrentIndex(min(3, panel.explain_results.sample_choice.count() - 1))
        save(app, window, f"explain_{Path(file).stem}")
    close_all(window)

    tab = window.open_file(SAMPLES_DIR / "two_input_two_output.keras")
    wait(app, lambda: tab.is_loaded or tab.error is not None)
    tab.colour_layers_by("weight_norm")
    wait(app, lambda: tab.graph.layer_values() is not None)
    tab.select_layer("dense_1")
    save(app, window, "colour_weight_norm")
    close_all(window)

    from inspector.tfimport import keras  # the copy is made here, as a user's script would

    copy = keras.saving.load_model(SAMPLES_DIR / "transfer_digits.keras")
    copy.get_layer("head").kernel.assign(copy.get_layer("head").kernel.numpy() * 1.2)
    copy.get_layer("digits_base").get_layer("base_conv_2").trainable = True
    copy.save(folder / "transfer_fine_tuned.keras")
    tab = window.open_file(SAMPLES_DIR / "transfer_digits.keras")
    wait(app, lambda: tab.is_loaded or tab.error is not None)
    views = []
    tab.compared.connect(views.append)
    tab.compare_with(folder / "transfer_fine_tuned.keras")
    wait(app, lambda: views)
    view = views[0]
    view.resize(1500, 900)
    view.graph_a.expand("digits_base")
    view.graph_b.expand("digits_base")
    view.select("digits_base/base_conv_2")
    for _ in range(20):
        app.processEvents()
    view.grab().save(str(OUT / "compare_with.png"))
    print(OUT / "compare_with.png")
    view.close()
    close_all(window)


def close_all(window: MainWindow) -> None:
    """Closes every tab without asking: the pictures changed nothing worth saving."""
    for tab in window.model_tabs():
        tab.forget_changes()
    while window.tabs.count():
        window.close_tab(0)


def save(app: QApplication, window: MainWindow, name: str) -> None:
    """Lets the window settle, then writes ``docs/screenshots/<name>.png``. A page is painted
    in turns a few milliseconds apart (see :func:`widgets.common.time_slices.paint_in_turns`),
    so the window's events run for a moment of real time, not just a few passes."""
    settled = time.perf_counter() + SETTLE_S
    while time.perf_counter() < settled:
        app.processEvents()
        time.sleep(0.005)
    window.grab().save(str(OUT / f"{name}.png"))
    print(OUT / f"{name}.png")


def main() -> int:
    """Opens each sample, arranges the view and saves a PNG of the whole window."""
    app = QApplication.instance() or QApplication([])
    settings = QSettings(tempfile.mkstemp(suffix=".ini")[1], QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1500, 900)
    window.show()
    OUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUT / "start_page.png"))
    for file, layer, expand, view, fine_tune_from, name in SHOTS:
        tab = window.open_file(SAMPLES_DIR / file)
        wait(app, lambda: tab.is_loaded or tab.error is not None)
        if fine_tune_from is not None:
            wait(app, lambda: not tab.runner.busy)
            tab.freeze_up_to(fine_tune_from)
        for group in expand:
            tab.graph.expand(group)
        tab.select_layer(layer)
        tab.views.setCurrentIndex(view)
        if view == 1:
            index = next(i for i, v in enumerate(tab.info.variables) if v.layer == layer)
            tab.variables.select_variable(index)
            wait(app, lambda: not tab.runner.busy)
        else:
            tab.graph.fit_all()
        save(app, window, name)
    close_all(window)  # a fresh tab for each activation picture
    for name, file, inputs, layers, shown, compare in ACTIVATION_SHOTS:
        tab = window.open_file(SAMPLES_DIR / file)
        wait(app, lambda: tab.is_loaded or tab.error is not None)
        panel = tab.activations
        tab.show_view("activations")
        wait(app, lambda: panel.ready)
        for editor_name, vocabulary in VOCABULARIES.get(file, {}).items():
            panel.inputs.editors[editor_name].set_vocabulary_file(SAMPLES_DIR / vocabulary)
        panel.inputs.add_paths([str(ROOT / path) for path in inputs])
        for editor_name, values in TYPED.get(file, {}).items():
            panel.inputs.editors[editor_name].values.setText(values)
        panel.check_layers(layers)
        done = []
        panel.extracted.connect(lambda: done.append(True))
        panel.extract()
        wait(app, lambda: done or (not panel.running and panel.activations is None))
        panel.layer_choice.setCurrentIndex(layers.index(shown))
        panel.sample_choice.setCurrentIndex(SHOWN_INPUT)
        if compare is not None:
            panel.compare_choice.setCurrentIndex(compare)
            panel.compare.setChecked(True)
        save(app, window, name)
    close_all(window)
    explain_shots(app, window)
    training_shots(app, window)
    close_all(window)
    embedding_shots(app, window)
    close_all(window)
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
