"""Opening model files: formats, safety and every kind of bad input (no Qt)."""

from __future__ import annotations

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from inspector.errors import MissingClassesError, ModelLoadError, UnsafeModelError
from inspector.model.loading import load, load_custom_objects
from inspector.tfimport import keras
from tests.model_factory import save, two_input_model


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    return save(two_input_model(), tmp_path_factory.mktemp("m"), "two.keras")


def test_keras_archive_opens_compiled(keras_file):
    loaded = load(keras_file)
    assert loaded.file.format == "keras"
    assert loaded.compiled
    assert loaded.model.count_params() == two_input_model().count_params()


def test_legacy_h5_opens_with_a_note(tmp_path):
    path = save(two_input_model(), tmp_path, "two.h5")
    loaded = load(path)
    assert loaded.file.format == "h5"
    assert any("Legacy HDF5" in note for note in loaded.notes)


def test_h5_with_training_config_keras3_cannot_restore_opens_uncompiled(tmp_path):
    path = save(two_input_model(), tmp_path, "old.h5")
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["training_config"])
        config["loss"] = {"main_output": "no_such_loss_in_keras", "aux_output": "mse"}
        handle.attrs["training_config"] = json.dumps(config)
    loaded = load(path)
    assert not loaded.compiled
    assert any("without its training configuration" in note for note in loaded.notes)
    assert len(loaded.model.layers) == 8


def _expect_reason(path, *words):
    with pytest.raises(ModelLoadError) as info:
        load(path)
    assert info.value.path == str(path)
    for word in words:
        assert word in info.value.reason
    assert "Traceback" not in info.value.reason
    return info.value


def test_empty_file(tmp_path):
    path = tmp_path / "empty.keras"
    path.write_bytes(b"")
    _expect_reason(path, "empty")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.keras"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    _expect_reason(path, "format is unknown")


def test_text_file_renamed_h5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("these are my notes, not a model\n")
    _expect_reason(path, "text file")


def test_directory(tmp_path):
    _expect_reason(tmp_path, "folder")


def test_missing_file(tmp_path):
    _expect_reason(tmp_path / "nope.keras", "does not exist")


def test_truncated_archive(keras_file, tmp_path):
    data = keras_file.read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    _expect_reason(path, "truncated or damaged")


def test_truncated_h5(tmp_path):
    data = save(two_input_model(), tmp_path, "full.h5").read_bytes()
    path = tmp_path / "truncated.h5"
    path.write_bytes(data[: len(data) // 3])
    _expect_reason(path, "truncated or damaged")


def test_malformed_config_json(keras_file, tmp_path):
    path = tmp_path / "bad_config.keras"
    with zipfile.ZipFile(keras_file) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, b'{"class_name": "Functional", "config": ' if item.filename == "config.json" else data)
    _expect_reason(path, "config.json", "not valid JSON")


def test_config_that_does_not_rebuild(keras_file, tmp_path):
    path = tmp_path / "wrong_config.keras"
    with zipfile.ZipFile(keras_file) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][2]["config"]["filters"] = "many"
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    _expect_reason(path, "Keras could not rebuild the model")


def test_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    _expect_reason(fifo, "not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(keras_file, tmp_path):
    path = tmp_path / "locked.keras"
    path.write_bytes(keras_file.read_bytes())
    path.chmod(0)
    _expect_reason(path, "permission")


def _lambda_model():
    inp = keras.Input((4,), name="x")
    doubled = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp)
    return keras.Model(inp, keras.layers.Dense(2, name="out")(doubled))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_code_is_refused_until_the_user_agrees(tmp_path, suffix):
    path = save(_lambda_model(), tmp_path, "lambda" + suffix)
    with pytest.raises(UnsafeModelError) as info:
        load(path)
    assert info.value.layers == ["double"]
    assert "run" in info.value.reason
    loaded = load(path, allow_code=True)
    x = np.ones((1, 4), "float32")
    np.testing.assert_allclose(loaded.model.layers[1](x), 2 * x)
    assert any("safe mode off" in note for note in loaded.notes)


CUSTOM_CODE = '''
import keras

@keras.saving.register_keras_serializable(package="tests_custom")
class AddOne(keras.layers.Layer):
    def call(self, x):
        return x + 1.0


class Scale(keras.layers.Layer):
    def call(self, x):
        return x * 3.0
'''


def test_missing_custom_classes_are_named_and_a_python_file_supplies_them(tmp_path):
    code = tmp_path / "my_layers.py"
    code.write_text(CUSTOM_CODE)
    objects = load_custom_objects(code)
    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, objects["Scale"](name="scale")(objects["AddOne"](name="add_one")(inp)))
    path = save(model, tmp_path, "custom.keras")
    keras.saving.get_custom_objects().clear()  # a fresh process knows neither class
    with pytest.raises(MissingClassesError) as info:
        load(path)
    assert info.value.names == ["Scale", "tests_custom>AddOne"]
    loaded = load(path, custom_objects=load_custom_objects(code))
    np.testing.assert_allclose(loaded.model(np.zeros((1, 3), "float32")), np.full((1, 3), 3.0))


def test_a_python_file_that_fails_to_import_is_reported(tmp_path):
    code = tmp_path / "broken.py"
    code.write_text("raise ValueError('nope')\n")
    with pytest.raises(ModelLoadError, match="importing it failed: ValueError: nope"):
        load_custom_objects(code)


def test_subclassed_model_with_unknown_class(tmp_path):
    class Tiny(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Tiny(name="tiny")
    model(np.zeros((1, 3), "float32"))
    path = save(model, tmp_path, "tiny.keras")
    with pytest.raises(MissingClassesError) as info:
        load(path)
    assert info.value.names == ["Tiny"]
