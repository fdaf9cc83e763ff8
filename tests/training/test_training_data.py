"""Training data sources: image folders, arrays, text and the user's generators feed model.fit."""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pytest

from inspector.training.augmentation import AugmentationSettings
from inspector.errors import TrainingDataError
from inspector.inputs.input_data import input_specs, read_image
from inspector.model.loading import load
from inspector.inputs.sequences import PadOptions, Vocabulary
from inspector.training.array_data import array_data
from inspector.training.generator_data import generator_data
from inspector.training.image_folder_data import image_folder_data, sample_images
from inspector.training.text_data import text_data
from inspector.training.training_data import check_batch, class_weights, data_errors, first_batch
from tests.conftest import ROOT, SAMPLES

DIGITS = ROOT / "resources" / "data" / "digits"
TOPICS = ROOT / "resources" / "data" / "topics.tsv"


@pytest.fixture(scope="module")
def digits_model():
    model = load(SAMPLES / "digits_cnn.keras").model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def two_io_model():
    model = load(SAMPLES / "two_input_two_output.keras").model
    model.compile(optimizer="adam", loss={"main_output": "binary_crossentropy", "aux_output": "mse"})
    return model


@pytest.fixture(scope="module")
def topic_model():
    model = load(SAMPLES / "topic_rnn.keras").model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.from_file(SAMPLES / "topic_rnn_vocab.txt")


def _fit(model, data, steps=2):
    with data_errors(data):
        model.fit(data.train, steps_per_epoch=steps, epochs=1, verbose=0)


def _class_folder(root, classes=("0", "1", "2"), per_class=6):
    """A small copy of the digits data: ``per_class`` images of each class."""
    for name in classes:
        (root / name).mkdir(parents=True)
        for source in sorted((DIGITS / name).glob("*.png"))[:per_class]:
            shutil.copy(source, root / name / source.name)
    return root


def _two_io_arrays(count, rng):
    return {
        "image_input": rng.random((count, 8, 8, 1), dtype=np.float32) * 16,
        "aux_input": rng.random((count, 4), dtype=np.float32),
        "main_output": (rng.random((count, 20)) > 0.5).astype(np.float32),
        "aux_output": rng.random((count, 1), dtype=np.float32),
    }


# ---------------------------------------------------------------------------------------------
# Image folders
# ---------------------------------------------------------------------------------------------


def test_the_digits_folder_trains_the_digits_model_with_a_stratified_split(digits_model):
    data = image_folder_data(DIGITS, digits_model, validation_split=0.2, batch_size=16, augmentation=AugmentationSettings(flip="horizontal"))
    assert data.class_names == [str(i) for i in range(10)]
    train, validation = len(data.train), len(data.validation)
    assert train == -(-1438 // 16) and validation == -(-359 // 16)
    assert data.description == "1,438 images in 10 classes for training, 359 for validation"
    x, y = first_batch(data)
    assert x.shape == (16, 8, 8, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert set(data.class_weight) == set(range(10)) and all(0.9 < w < 1.1 for w in data.class_weight.values())
    with data_errors(data):
        digits_model.fit(data.train, validation_data=data.validation, steps_per_epoch=2, validation_steps=1, epochs=1, verbose=0)


def test_each_class_keeps_its_share_for_validation(tmp_path, digits_model):
    folder = _class_folder(tmp_path / "d", per_class=8)
    data = image_folder_data(folder, digits_model, validation_split=0.25, batch_size=100)
    _, labels = data.validation[0]
    assert np.bincount(labels).tolist() == [2, 2, 2]
    assert np.bincount(data.train[0][1]).tolist() == [6, 6, 6]
    assert "10 units for 3 classes" in " ".join(data.notes)


def test_a_separate_validation_folder_replaces_the_split(tmp_path, digits_model):
    train = _class_folder(tmp_path / "train", per_class=5)
    validation = _class_folder(tmp_path / "val", classes=("0", "2"), per_class=2)
    data = image_folder_data(train, digits_model, validation_folder=validation, batch_size=50)
    assert data.description == "15 images in 3 classes for training, 4 for validation"
    assert data.validation[0][1].tolist() == [0, 0, 2, 2]
    assert any("no images of '1'" in note for note in data.notes)


def test_class_weights_are_balanced_from_counts():
    assert class_weights({0: 10, 1: 30}) == pytest.approx({0: 2.0, 1: 2 / 3})
    assert class_weights({0: 5, 1: 0, 2: 5}) == pytest.approx({0: 1.0, 2: 1.0})


def test_a_corrupt_image_is_skipped_once_and_training_continues(tmp_path, digits_model):
    folder = _class_folder(tmp_path / "d", classes=("0", "1"), per_class=4)
    (folder / "1" / "broken.png").write_bytes(b"\x89PNG not really")
    data = image_folder_data(folder, digits_model, validation_split=0.0, batch_size=3)
    for index in range(len(data.train)):  # every batch stays full: the broken file is replaced
        assert data.train[index][0].shape == (3, 8, 8, 1)
    _fit(digits_model, data, steps=len(data.train))
    assert data.skipped == [("1/broken.png", "not an image Pillow can read")]


def test_a_folder_of_unreadable_images_fails_training_with_a_clear_error(tmp_path, digits_model):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"nothing")
        (tmp_path / name / "y.png").write_bytes(b"nothing")
    data = image_folder_data(tmp_path, digits_model, validation_split=0.5)
    with pytest.raises(TrainingDataError, match="None of the 4 images could be read"):
        _fit(digits_model, data)
    assert len(data.skipped) == 4


@pytest.mark.parametrize(
    "layout, message",
    [
        ({}, "holds no image files"),
        ({"only": 3}, "needs at least two classes"),
        ({"a": 3, "b": 1}, "class 'b' has only 1 example"),
    ],
)
def test_folders_that_cannot_train_are_refused(tmp_path, digits_model, layout, message):
    source = sorted((DIGITS / "0").glob("*.png"))
    for name, count in layout.items():
        (tmp_path / name).mkdir()
        for path in source[:count]:
            shutil.copy(path, tmp_path / name / path.name)
    with pytest.raises(TrainingDataError, match=message) as error:
        image_folder_data(tmp_path, digits_model, validation_split=0.2)
    assert str(tmp_path) in str(error.value)


def test_models_that_need_more_than_images_are_refused(two_io_model, topic_model):
    with pytest.raises(TrainingDataError, match="also needs 'aux_input': use an .npz with all inputs"):
        image_folder_data(DIGITS, two_io_model, input_name="image_input", output_name="main_output")
    with pytest.raises(TrainingDataError, match="no image input"):
        image_folder_data(DIGITS, topic_model)


def test_sample_images_reads_the_first_image_of_each_class(digits_model):
    images = sample_images(DIGITS, input_specs(digits_model)[0], count=4)
    assert images.shape == (4, 8, 8, 1) and images.dtype == np.uint8
    first = [read_image(sorted((DIGITS / str(c)).glob("*.png"))[0], (8, 8), 1) for c in range(4)]
    np.testing.assert_array_equal(images, np.stack(first))


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------


def test_an_npz_with_every_input_and_output_trains_the_two_input_model(tmp_path, two_io_model):
    np.savez(tmp_path / "data.npz", **_two_io_arrays(40, np.random.default_rng(0)))
    data = array_data(tmp_path / "data.npz", two_io_model, validation_split=0.25, batch_size=8)
    assert data.description.startswith("30 samples for training, 10 for validation")
    assert any("read whole into memory" in note for note in data.notes)
    x, y = first_batch(data)
    assert set(x) == {"image_input", "aux_input"} and set(y) == {"main_output", "aux_output"}
    _fit(two_io_model, data)


def test_a_folder_of_npy_files_is_memory_mapped(tmp_path, two_io_model):
    folder = tmp_path / "arrays"
    folder.mkdir()
    for name, array in _two_io_arrays(20, np.random.default_rng(1)).items():
        np.save(folder / f"{name}.npy", array)
    data = array_data(folder, two_io_model, validation_split=0.0, batch_size=8)
    assert isinstance(data.train.reader.inputs["aux_input"], np.memmap)
    assert data.validation is None
    _fit(two_io_model, data)


def test_labels_named_y_serve_a_single_output_model_with_class_weights(tmp_path, digits_model):
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "d.npz", x=rng.random((30, 8, 8, 1), dtype=np.float32), y=np.repeat([0, 1, 1], 10))
    data = array_data(tmp_path / "d.npz", digits_model, validation_split=0.0)
    assert data.class_weight == pytest.approx({0: 1.5, 1: 0.75})
    _fit(digits_model, data, steps=1)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((4, 8, 8, 3)), "y": np.zeros(4)}, r"Input 'image' expects \(N, 8, 8, 1\); d.npz holds \(4, 8, 8, 3\)"),
        ({"x": np.zeros((4, 8, 8, 1)), "y": np.array([0, 1, 12, 3])}, "has 10 units, so class ids must be 0..9"),
        ({"x": np.zeros((4, 8, 8, 1))}, "no array for output 'probs'"),
        ({"x": np.zeros((4, 8, 8, 1)), "y": np.zeros(3)}, "different numbers of samples"),
    ],
)
def test_arrays_that_do_not_fit_the_model_are_refused(tmp_path, digits_model, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(TrainingDataError, match=message):
        array_data(tmp_path / "d.npz", digits_model, validation_split=0.0)


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def test_a_tsv_of_labelled_text_trains_the_topic_model(topic_model, vocabulary):
    data = text_data(TOPICS, topic_model, vocabulary, PadOptions(), validation_split=0.2, batch_size=16)
    assert data.class_names == ["cooking", "music", "space", "sport"]
    assert data.description == "1,280 texts in 4 classes for training, 320 for validation"
    x, y = first_batch(data)
    assert x.shape == (16, 20) and x.dtype == np.int32 and y.max() < 4
    _fit(topic_model, data)


def test_a_folder_of_text_files_counts_unknown_tokens(tmp_path, topic_model, vocabulary):
    for label, texts in {"music": ["piano melody", "zzqx orchestra"], "sport": ["tennis match", "a tournament"]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text)
    data = text_data(tmp_path, topic_model, vocabulary, PadOptions(maxlen=6), validation_split=0.5, batch_size=4)
    assert data.class_names == ["music", "sport"]
    assert any("unknown token" in note and "zzqx" in note for note in data.notes)
    assert first_batch(data)[0].shape == (2, 6)


def test_token_sequences_need_a_vocabulary(topic_model):
    with pytest.raises(TrainingDataError, match="vocabulary"):
        text_data(TOPICS, topic_model, None, PadOptions())


# ---------------------------------------------------------------------------------------------
# The user's generator
# ---------------------------------------------------------------------------------------------


def _python_file(tmp_path, code):
    path = tmp_path / "my_data.py"
    path.write_text(textwrap.dedent(code))
    return path


def test_a_generator_trains_for_several_epochs(tmp_path, digits_model):
    path = _python_file(tmp_path, """
        import numpy as np

        def train_data():
            rng = np.random.default_rng(0)
            for _ in range(3):
                yield rng.random((4, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 4)

        def validation_data():
            return [(np.zeros((2, 8, 8, 1), np.float32), np.array([1, 2]))]
    """)
    data = generator_data(path)
    check_batch(digits_model, first_batch(data))
    with data_errors(data):
        history = digits_model.fit(data.train, validation_data=data.validation, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history


@pytest.mark.parametrize(
    "code, message",
    [
        ("def other():\n    pass\n", r"defines no function train_data\(\) \(functions found: other\(\)\)"),
        ("def train_data():\n    raise OSError('disk gone')\n", r"train_data\(\) in my_data.py raised OSError: disk gone"),
        ("def train_data():\n    return 3\n", "returned int"),
        ("import nonexistent_module_xyz\n", "importing it failed"),
    ],
)
def test_generators_that_cannot_start_give_a_clear_error(tmp_path, code, message):
    with pytest.raises(TrainingDataError, match=message) as error:
        generator_data(_python_file(tmp_path, code))
    if "raised" in message or "importing" in message:
        assert "Traceback" in error.value.details


def test_a_generator_failing_during_training_surfaces_as_training_data_error(tmp_path, digits_model):
    path = _python_file(tmp_path, """
        import numpy as np

        def train_data():
            for i in range(5):
                if i == 3:
                    raise ValueError("sensor file missing")
                yield np.zeros((2, 8, 8, 1), np.float32), np.array([0, 1])
    """)
    data = generator_data(path)
    with pytest.raises(TrainingDataError, match="raised ValueError during training: sensor file missing") as error:
        _fit(digits_model, data, steps=None)
    assert 'raise ValueError("sensor file missing")' in error.value.details


# ---------------------------------------------------------------------------------------------
# Checking a batch
# ---------------------------------------------------------------------------------------------


def _two_io_batch(**changes):
    arrays = _two_io_arrays(4, np.random.default_rng(3))
    x = {"image_input": arrays["image_input"], "aux_input": arrays["aux_input"]}
    y = {"main_output": arrays["main_output"], "aux_output": arrays["aux_output"]}
    for key, value in changes.items():
        (x if key.endswith("input") or key == "extra" else y)[key] = value
    return x, y


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"extra": np.zeros((4, 2))}, "input 'extra', which this model does not have"),
        ({"aux_input": np.zeros((4, 5), np.float32)}, r"Input 'aux_input' expects \(N, 4\); the batch holds \(4, 5\)"),
        ({"aux_input": np.array([["a"] * 4] * 4)}, "Input 'aux_input' expects numbers"),
        ({"main_output": np.full((4, 20), 2.0, np.float32)}, "Output 'main_output' .* between 0 and 1"),
        ({"aux_output": np.zeros((4, 3), np.float32)}, r"Output 'aux_output' gives \(N, 1\)"),
    ],
)
def test_check_batch_names_the_part_that_does_not_fit(two_io_model, changes, message):
    with pytest.raises(TrainingDataError, match=message):
        check_batch(two_io_model, _two_io_batch(**changes))


def test_check_batch_accepts_what_fit_accepts(two_io_model, digits_model):
    check_batch(two_io_model, _two_io_batch(aux_output=np.zeros(4, np.float32)))
    x = np.zeros((3, 8, 8, 1), np.float32)
    check_batch(digits_model, (x, np.array([[0], [9], [3]])))
    check_batch(digits_model, (x, np.eye(10, dtype=np.float32)[:3]), {"probs": "categorical_crossentropy"})


def test_check_batch_knows_what_each_loss_takes(digits_model):
    x = np.zeros((3, 8, 8, 1), np.float32)
    with pytest.raises(TrainingDataError, match="sparse_categorical_crossentropy, which takes class ids"):
        check_batch(digits_model, (x, np.eye(10)[:3]), {"probs": "sparse_categorical_crossentropy"})
    with pytest.raises(TrainingDataError, match=r"categorical_crossentropy, which takes one-hot labels \(N, 10\)"):
        check_batch(digits_model, (x, np.array([1, 2, 3])), {"probs": "categorical_crossentropy"})
    with pytest.raises(TrainingDataError, match="whole-number class ids"):
        check_batch(digits_model, (x, np.array([0.5, 1, 2])), {"probs": "sparse_categorical_crossentropy"})
    with pytest.raises(TrainingDataError, match="inputs only"):
        check_batch(digits_model, (x,))
