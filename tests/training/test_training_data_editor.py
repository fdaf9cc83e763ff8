"""The training data editor: choosing a source, the augmentation preview, and its callable."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QMessageBox

from inspector.training.augmentation import AugmentationSettings
from inspector.inputs.input_data import InputSpec, input_specs
from inspector.model.loading import load
from inspector.training.training_data import TrainingData, data_errors
from tests.conftest import ROOT, SAMPLES
from inspector.training.data_source import DataSource
from widgets.common.kernel_runner import KernelRunner
from widgets.training.training_data_editor import TrainingDataEditor

DIGITS = ROOT / "resources" / "data" / "digits"
TOPICS = ROOT / "resources" / "data" / "topics.tsv"
WAIT = 20_000  # ms; the first preview imports and warms Keras' preprocessing layers


@pytest.fixture(scope="module")
def digits_model():
    model = load(SAMPLES / "digits_cnn.keras").model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_editor(qtbot, digits_model, settings):
    editors, runner = [], KernelRunner()  # previews run in a kernel, as in the app

    def make(specs=None, outputs=("probs",), vocabulary=None):
        editor = TrainingDataEditor(
            specs or input_specs(digits_model), list(outputs), vocabulary, settings, submit_latest=runner.submit_latest
        )
        qtbot.addWidget(editor)
        editor.show()
        editors.append(editor)
        return editor

    yield make
    for editor in editors:
        editor.shutdown()
    runner.shutdown()


def _wait_for_new_preview(qtbot, editor, previous):
    qtbot.waitUntil(
        lambda: editor.preview_pixels is not None
        and (previous is None or not np.array_equal(editor.preview_pixels, previous)),
        timeout=WAIT,
    )
    return editor.preview_pixels


def test_the_preview_shows_the_folder_and_follows_flip_and_rotation(qtbot, make_editor):
    editor = make_editor()
    assert editor.kind == "images"
    editor.set_path(DIGITS)
    still = _wait_for_new_preview(qtbot, editor, None)
    assert still.shape == (16, 8, 8, 1)
    assert not editor.preview.pixmap().isNull()
    assert "10 class folders" in editor.summary.text()

    editor.flip.setCurrentIndex(editor.flip.findData("horizontal"))
    flipped = _wait_for_new_preview(qtbot, editor, still)
    assert any(np.array_equal(a, np.flip(b, axis=1)) and not np.array_equal(a, b) for a, b in zip(flipped, still))

    editor.factors["rotation"].setValue(0.2)
    rotated = _wait_for_new_preview(qtbot, editor, flipped)
    assert rotated.shape == still.shape
    assert editor.augmentation == AugmentationSettings(flip="horizontal", rotation=0.2)


def test_the_source_builds_data_that_trains_the_model(qtbot, make_editor, digits_model):
    editor = make_editor()
    editor.set_path(DIGITS)
    editor.split_spin.setValue(10)
    editor.flip.setCurrentIndex(editor.flip.findData("horizontal"))
    source = editor.source()
    assert isinstance(source, DataSource) and source.options["augmentation"].flip == "horizontal"
    data = source(digits_model, 16)  # what the training job does on the model's worker
    assert isinstance(data, TrainingData)
    assert data.description == "1,618 images in 10 classes for training, 179 for validation"
    with data_errors(data):
        digits_model.fit(data.train, steps_per_epoch=2, epochs=1, verbose=0)
    assert "10 % for validation" in editor.describe() and "horizontal flip" in editor.describe()


def test_my_own_generator_needs_confirmation(qtbot, make_editor, monkeypatch, tmp_path):
    marker = tmp_path / "ran.txt"
    script = tmp_path / "my_data.py"
    script.write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import numpy as np\n"
        "def train_data():\n"
        "    yield np.zeros((2, 8, 8, 1), np.float32), np.array([0, 1])\n"
    )
    editor = make_editor()
    editor.set_kind("generator")
    assert editor.generator_box.isVisible() and "with your permissions" in editor.findChild(QLabel, "codeWarning").text()
    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: asked.append(args) or QMessageBox.StandardButton.No)
    assert not editor.set_path(script)
    assert asked and editor.source() is None and not marker.exists()

    monkeypatch.setattr(QMessageBox, "warning", lambda *args: QMessageBox.StandardButton.Yes)
    assert editor.set_path(script)
    data = editor.source()(None, 32)
    assert marker.read_text() == "ran"  # confirmed: now the file ran
    assert data.description.startswith("Batches from train_data() in my_data.py")


def test_choices_are_remembered(qtbot, make_editor):
    editor = make_editor()
    editor.set_path(DIGITS)
    editor.split_spin.setValue(30)
    editor.augmentation = AugmentationSettings(flip="vertical", zoom=0.1, rescale=0.5)
    again = make_editor()
    assert again.paths["images"] == DIGITS
    assert again.split_spin.value() == 30
    assert again.augmentation == AugmentationSettings(flip="vertical", zoom=0.1, rescale=0.5)


def test_text_from_a_table_uses_the_chosen_vocabulary(qtbot, make_editor):
    topic = load(SAMPLES / "topic_rnn.keras").model
    editor = make_editor(specs=input_specs(topic), outputs=("topic",))
    assert editor.kind == "text" and editor.text_box.isVisible() and not editor.augmentation_box.isVisible()
    assert editor.source() is None
    editor.set_vocabulary_file(SAMPLES / "topic_rnn_vocab.txt")
    editor.set_path(TOPICS)
    editor.pad_row.maxlen.setValue(12)
    data = editor.source()(topic, 8)
    assert data.class_names == ["cooking", "music", "space", "sport"]
    assert data.train[0][0].shape == (8, 12)


def test_a_model_with_more_inputs_is_told_what_to_use(qtbot, make_editor):
    specs = [InputSpec("image_input", (8, 8, 1), "float32", "image"), InputSpec("aux_input", (4,), "float32", "vector")]
    editor = make_editor(specs=specs, outputs=("main_output", "aux_output"))
    assert "also needs 'aux_input'" in editor.summary.text()
    editor.set_kind("arrays")
    assert editor.file_button.isVisible() and editor.folder_button.isVisible()
    assert "also needs" not in editor.summary.text()
