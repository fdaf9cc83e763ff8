"""The Activations view's Explain mode as a user drives it: choose inputs, a method and a class,
click Explain, look at the maps over the images or the coloured tokens, compare two classes,
export, cancel."""

from __future__ import annotations

import shutil

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextBrowser

from inspector.attribution import grad_cam, integrated_gradients
from inspector.tfimport import keras
from tests.activations.test_activations_clicks import DIGITS, copied_sample, open_activations
from tests.conftest import SAMPLES
from tests.e2e.user import answer_file_dialog, choose_from_popup, choose_in_combo, click, click_tab, drop_files, reachable
from widgets.attribution.attribution_views import OverlayImage

TIMEOUT = 120_000


def explain_mode(qtbot, panel):
    """Clicks the Explain tab and waits for the model's outputs to be listed."""
    click_tab(qtbot, panel.mode_bar, "Explain")
    controls = panel.explain_controls
    qtbot.waitUntil(lambda: controls.isVisible() and controls.setup is not None, timeout=TIMEOUT)
    qtbot.waitUntil(panel.extract_button.isEnabled, timeout=TIMEOUT)
    assert panel.extract_button.text() == "Explain"
    return controls


def click_explain(qtbot, panel):
    with qtbot.waitSignal(panel.explained, timeout=TIMEOUT):
        click(qtbot, panel.extract_button)
    return panel.explanation


def export_item(qtbot, panel, item: str) -> None:
    """Clicks Export and, in the menu it opens, the item starting with ``item``; waits until the
    file is saved."""
    chosen = choose_from_popup(qtbot, item)
    with qtbot.waitSignal(panel.exported, timeout=TIMEOUT):
        click(qtbot, panel.explain_results.export_button)
    assert chosen


def digit_folder(tmp_path, digits=("3", "7"), count=3):
    folder = tmp_path / "images"
    for digit in digits:
        shutil.copytree(DIGITS / digit, folder / digit, ignore=lambda d, names: sorted(names)[count:])
    return folder


def test_grad_cam_equals_the_api_compares_two_classes_and_exports(qtbot, window, tmp_path):
    _, panel = open_activations(qtbot, window, SAMPLES / "digits_cnn.keras")
    controls = explain_mode(qtbot, panel)
    assert panel.layers_box.isHidden()
    assert controls.method.currentText() == "Grad-CAM"
    assert controls.layer.currentText().startswith("conv_2"), "the last layer with spatial axes by default"
    images = np.random.default_rng(0).uniform(0, 16, (5, 8, 8, 1)).astype("float32")  # the model's 0..16
    np.save(tmp_path / "digits.npy", images)
    drop_files(panel, [tmp_path / "digits.npy"])
    click(qtbot, controls.compare)
    choose_in_combo(qtbot, controls.compare_choice, "class 8")
    explanation = click_explain(qtbot, panel)

    results = panel.explain_results
    assert results.isVisible() and results.views[1].isVisible(), "two classes side by side"
    assert "Grad-CAM" in results.views[0].title.text() and "class 8" in results.views[1].title.text()
    overlay = results.views[0].findChildren(OverlayImage)[0]  # an array, not image files: still a picture
    assert overlay.base is not None and (overlay.base.width(), overlay.base.height()) == (8, 8)
    picture = explanation.samples.images["image"][0]
    assert picture.dtype == np.uint8 and picture.min() == 0 and picture.max() == 255
    model = keras.saving.load_model(SAMPLES / "digits_cnn.keras")
    np.testing.assert_allclose(explanation.maps[0][0], grad_cam(model, images, "conv_2"), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(explanation.maps[1][0], grad_cam(model, images, "conv_2", class_index=8), rtol=1e-4, atol=1e-7)
    assert explanation.classes[1].tolist() == [8] * 5

    choose_in_combo(qtbot, results.sample_choice, "4:")
    done = answer_file_dialog(qtbot, tmp_path / "cams.npy")
    export_item(qtbot, panel, "The maps of every input")
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)
    np.testing.assert_array_equal(np.load(tmp_path / "cams_gradcam_choice2.npy"), explanation.maps[1][0])
    # The same before the softmax: the logits, which do not saturate.
    assert controls.logits.isEnabled()
    click(qtbot, controls.logits)
    explanation = click_explain(qtbot, panel)
    assert "the logit of" in results.views[0].title.text()
    expected = grad_cam(model, images, "conv_2", logits=True)
    np.testing.assert_allclose(explanation.maps[0][0], expected, rtol=1e-4, atol=1e-7)


def test_saliency_is_drawn_over_the_users_images_with_opacity(qtbot, window, tmp_path):
    _, panel = open_activations(qtbot, window, SAMPLES / "digits_cnn.keras")
    controls = explain_mode(qtbot, panel)
    choose_in_combo(qtbot, controls.method, "Saliency")
    assert not controls.layer.isVisible()
    drop_files(panel, [digit_folder(tmp_path)])
    explanation = click_explain(qtbot, panel)
    results = panel.explain_results
    assert not results.views[1].isVisible()
    overlay = results.views[0].findChildren(OverlayImage)[0]
    assert overlay.base is not None and overlay.heat is not None, "the map over the input image"
    assert explanation.maps[0][0].shape == (6, 8, 8)
    choose_in_combo(qtbot, results.sample_choice, "4:")
    assert "7/" in results.sample_choice.currentText()
    slider = results.opacity
    reachable(slider)
    click(qtbot, slider, QPoint(4, slider.height() // 2))  # towards transparent
    qtbot.waitUntil(lambda: results.views[0].findChildren(OverlayImage)[0].opacity < 0.6, timeout=5_000)
    png = tmp_path / "view.png"
    done = answer_file_dialog(qtbot, png)
    export_item(qtbot, panel, "The view as PNG")
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)
    assert png.stat().st_size > 1000


def test_integrated_gradients_colour_the_tokens_and_leave_padding_out(qtbot, window, tmp_path):
    path = copied_sample(tmp_path, "topic_rnn.keras", "topic_rnn_vocab.txt", "topic_rnn_labels.txt")
    _, panel = open_activations(qtbot, window, path)
    controls = explain_mode(qtbot, panel)
    choose_in_combo(qtbot, controls.method, "Integrated gradients")
    assert controls.steps.isVisible() and not controls.layer.isVisible()
    assert controls.class_choice.findText("2: space") >= 0, "class names from the labels file beside the model"
    box = panel.inputs.editors["tokens"].findChild(QPlainTextEdit, "sequenceText")
    click(qtbot, box)
    qtbot.keyClicks(box, "the rocket reached orbit around the moon")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClicks(box, "bake the bread with butter")
    choose_in_combo(qtbot, controls.class_choice, "2: space")
    explanation = click_explain(qtbot, panel)

    results = panel.explain_results
    tokens = explanation.samples.tokens["tokens"]
    assert tokens[1][-1] == "", "the second line is padded"
    text = results.views[0].findChild(QTextBrowser, "attributionTokens")
    assert text.toPlainText().split() == [t for t in tokens[0] if t], "every real token, no padding"
    assert "space" in results.views[0].title.text()
    assert results.views[0].findChild(QLabel, "strongestTokens").text().startswith("Strongest: ")
    # The numbers are the API's for the same token ids (the vocabulary file: line n is id n + 2, unknown words 1).
    vocabulary = (path.parent / "topic_rnn_vocab.txt").read_text().splitlines()
    ids_of = {"": 0, "[UNK]": 1} | {token: index + 2 for index, token in enumerate(vocabulary)}
    ids = np.array([[ids_of[t] for t in line] for line in tokens], dtype="int32")
    model = keras.saving.load_model(path)
    expected = integrated_gradients(model, ids, class_index=2)
    np.testing.assert_allclose(explanation.maps[0][0], expected, rtol=1e-3, atol=1e-6)
    np.testing.assert_array_equal(explanation.maps[0][0][ids == 0], 0)


def test_cancel_stops_a_long_explanation_and_the_model_is_free_again(qtbot, window, tmp_path):
    tab, panel = open_activations(qtbot, window, SAMPLES / "digits_cnn.keras")
    controls = explain_mode(qtbot, panel)
    choose_in_combo(qtbot, controls.method, "SmoothGrad")
    np.save(tmp_path / "many.npy", np.random.default_rng(0).uniform(0, 16, (3000, 8, 8, 1)).astype("float32"))
    drop_files(panel, [tmp_path / "many.npy"])
    click(qtbot, panel.extract_button)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=TIMEOUT)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=TIMEOUT)
    assert panel.explanation is None and "cancelled" in panel.message.text()
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)
    assert tab.set_all_trainable(False)


def test_a_class_names_file_that_fits_no_output_is_refused_by_name(qtbot, window, tmp_path):
    _, panel = open_activations(qtbot, window, SAMPLES / "digits_cnn.keras")
    controls = explain_mode(qtbot, panel)
    (tmp_path / "animals.txt").write_text("cat\ndog\n")
    done = answer_file_dialog(qtbot, tmp_path / "animals.txt")
    click(qtbot, controls.labels_button)
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)
    assert "animals.txt names 2 classes" in panel.message.text() and "probs 10" in panel.message.text()
    (tmp_path / "digits.txt").write_text("\n".join(f"digit {d}" for d in range(10)) + "\n")
    done = answer_file_dialog(qtbot, tmp_path / "digits.txt")
    click(qtbot, controls.labels_button)
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)
    assert controls.class_choice.findText("7: digit 7") >= 0
