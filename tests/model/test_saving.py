"""Atomic saves and save/load round trips of real models in .keras and .h5."""

import errno
import json
import os
import re
import stat

import numpy as np
import pytest

from inspector.tfimport import keras

from inspector.model.describe import describe
from inspector.jobs import run_job
from inspector.model.loading import load
from inspector.model.saving import SaveError, h5_unsupported_operations, save_model, save_model_job
from tests.conftest import SAMPLES
from tests.model_factory import nested_model, sequence_model, two_input_model

SAMPLE_FILES = sorted(SAMPLES.glob("*.keras")) + sorted(SAMPLES.glob("*.h5"))


def layer_table(model):
    """(path, class, trainable, config) of every layer at every depth, InputLayers aside.

    An InputLayer's config has no ``trainable`` key, so its flag is not saved (see
    :func:`test_input_layer_trainable_flag_is_not_saved`); it holds no weights.
    """
    return [
        (layer.path, layer.class_name, layer.trainable if layer.kind != "input" else None,
         json.dumps(layer.config, sort_keys=True))
        for top in describe(model).layers
        for layer in top.walk()
    ]


def assert_same_model(original, reloaded):
    """Same class, name, layers (config and trainable flags at every depth) and weights."""
    assert type(reloaded) is type(original)
    assert reloaded.name == original.name
    assert layer_table(reloaded) == layer_table(original)
    assert len(reloaded.weights) == len(original.weights)
    for saved, loaded in zip(original.weights, reloaded.weights):
        assert loaded.trainable == saved.trainable, saved.path
        assert np.array_equal(loaded.numpy(), saved.numpy()), saved.path


def round_trip(model, folder, suffix):
    path = save_model(model, folder / f"{model.name}{suffix}")
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left
    return load(path)


def partly_frozen_nested():
    """nested_model with its base unfrozen except for one inner layer."""
    model = nested_model()
    base = model.get_layer("base")
    base.trainable = True
    base.get_layer("base_dense").trainable = False
    return model


def bidirectional_half_frozen(mask: bool):
    """A Bidirectional LSTM whose backward layer is frozen, with or without a masking Embedding."""
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20, 4, mask_zero=mask, name="embedding")(tokens)
    bi = keras.layers.Bidirectional(keras.layers.LSTM(3), name="bilstm")
    out = keras.layers.Dense(2, name="out")(bi(x))
    bi.backward_layer.trainable = False
    return keras.Model(tokens, out, name=f"bi_mask_{mask}")


def sequence_model_forward_frozen():
    model = sequence_model()
    model.get_layer("bilstm").forward_layer.trainable = False
    model.get_layer("per_step").layer.trainable = False
    return model


def transfer_digits_partly_frozen():
    model = load(SAMPLES / "transfer_digits.keras").model
    base = model.get_layer("digits_base")
    base.trainable = True
    for name in ("base_conv_1", "base_bn_1"):
        base.get_layer(name).trainable = False
    return model


# Round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_round_trips(sample, suffix, tmp_path):
    model = load(sample).model
    if suffix == ".h5" and h5_unsupported_operations(model):
        pytest.skip("refused for .h5: see test_h5_refuses_graph_operations_it_cannot_reload")
    assert_same_model(model, round_trip(model, tmp_path, suffix).model)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize(
    "build",
    [nested_model, partly_frozen_nested, two_input_model, lambda: bidirectional_half_frozen(mask=False)],
    ids=["nested", "nested_partly_frozen", "two_input", "bidirectional"],
)
def test_factory_and_partly_frozen_models_round_trip(build, suffix, tmp_path):
    model = build()
    assert_same_model(model, round_trip(model, tmp_path, suffix).model)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_partly_frozen_sample_base_round_trips(suffix, tmp_path):
    model = transfer_digits_partly_frozen()
    assert_same_model(model, round_trip(model, tmp_path, suffix).model)


def test_frozen_wrapper_inner_layers_round_trip_in_keras_format(tmp_path):
    model = sequence_model_forward_frozen()
    reloaded = round_trip(model, tmp_path, ".keras").model

    assert_same_model(model, reloaded)
    assert not reloaded.get_layer("bilstm").forward_layer.trainable
    assert reloaded.get_layer("bilstm").backward_layer.trainable
    assert not reloaded.get_layer("per_step").layer.trainable


def test_partly_frozen_nested_model_keeps_its_mixed_flags(tmp_path):
    reloaded = round_trip(partly_frozen_nested(), tmp_path, ".keras").model
    info = describe(reloaded).layer_index()

    assert info["base"].trainable and not info["base/base_dense"].trainable and info["base/base_bn"].trainable
    assert info["base"].partly_frozen


def test_h5_refuses_graph_operations_it_cannot_reload(tmp_path):
    """Keras 3 writes a mask's NotEqual op into an .h5 config but cannot load it back."""
    model = bidirectional_half_frozen(mask=True)
    [operation] = h5_unsupported_operations(model)
    assert re.fullmatch(r"not_equal(_\d+)? \(NotEqual\)", operation)

    with pytest.raises(SaveError, match=r"cannot restore the graph operations not_equal.* \(NotEqual\)"):
        save_model(model, tmp_path / "masked.h5")
    assert list(tmp_path.iterdir()) == []
    save_model(model, tmp_path / "masked.keras")  # the native format keeps it


def test_h5_loses_a_training_configuration_that_uses_a_loss_by_short_name(tmp_path):
    """Documents a .h5 limit: the model reloads, but uncompiled ("mse" cannot be deserialized)."""
    model = two_input_model()
    assert round_trip(model, tmp_path, ".keras").compiled
    loaded = load(save_model(model, tmp_path / "two.h5"))

    assert not loaded.compiled
    assert "keras.metrics.mse" in loaded.notes[0]


def test_optimizer_state_is_dropped_on_reload_after_trainable_changes(tmp_path):
    """The saved optimizer was built for the old trainable variables; Keras skips it on reload."""
    model = transfer_digits_partly_frozen()  # compiled, optimizer built for the head only
    path = save_model(model, tmp_path / "unfrozen.keras")

    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        reloaded = load(path)
    assert_same_model(model, reloaded.model)


def test_input_layer_trainable_flag_is_not_saved(tmp_path):
    """Freezing a nested model also sets its InputLayer's flag, which no format keeps."""
    model = nested_model()  # its base is frozen
    assert not model.get_layer("base").get_layer("base_in").trainable
    assert "trainable" not in model.get_layer("base").get_layer("base_in").get_config()
    for suffix in (".keras", ".h5"):
        reloaded = load(save_model(model, tmp_path / f"n{suffix}")).model
        assert reloaded.get_layer("base").get_layer("base_in").trainable


# Atomic writes and failures ------------------------------------------------------------------


@pytest.fixture
def small_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs), name="small")


def fail_midway(model, monkeypatch, exc):
    """Makes ``model.save`` write half a file to its target, then raise ``exc``."""

    def save(filepath, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a model")
        raise exc

    monkeypatch.setattr(model, "save", save)


@pytest.mark.parametrize(
    "exc, reason",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (PermissionError(errno.EACCES, "Permission denied"), "the folder"),
        (ValueError("Unable to serialize"), "Keras could not save the model: ValueError: Unable to serialize"),
    ],
)
def test_failure_midway_leaves_the_existing_file_and_no_temporary(small_model, tmp_path, monkeypatch, exc, reason):
    target = tmp_path / "model.keras"
    target.write_bytes(b"the original model")
    fail_midway(small_model, monkeypatch, exc)

    with pytest.raises(SaveError) as error:
        save_model(small_model, target, overwrite=True)

    assert error.value.reason.startswith(reason)
    assert error.value.path == str(target)
    assert target.read_bytes() == b"the original model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_failure_midway_without_an_existing_file_leaves_nothing(small_model, tmp_path, monkeypatch):
    fail_midway(small_model, monkeypatch, OSError(errno.ENOSPC, "No space left on device"))

    with pytest.raises(SaveError, match="disk is full"):
        save_model(small_model, tmp_path / "model.h5")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_unless_overwrite(small_model, tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"keep me")
    target.chmod(0o640)

    with pytest.raises(SaveError, match="the file exists"):
        save_model(small_model, target)
    assert target.read_bytes() == b"keep me"

    save_model(small_model, target, overwrite=True)
    assert load(target).model.name == "small"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_file_gets_the_usual_permissions(small_model, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = save_model(small_model, tmp_path / "model.keras")

    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    "target, reason",
    [
        ("folder.keras", "a folder with this name exists"),
        ("missing/model.keras", "does not exist"),
        ("file.txt/model.keras", "is a file, not a folder"),
        ("model.pb", "must end in .keras"),
        ("model", "must end in .keras"),
    ],
)
def test_targets_that_cannot_be_written_are_refused(small_model, tmp_path, target, reason):
    (tmp_path / "folder.keras").mkdir()
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())

    with pytest.raises(SaveError, match=reason):
        save_model(small_model, tmp_path / target)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; see file.txt/model.keras")
def test_read_only_folder_is_refused(small_model, tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SaveError, match="is not writable"):
            save_model(small_model, folder / "model.keras")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_save_job_reports_progress_and_returns_the_path(small_model, tmp_path):
    records = []
    path = run_job(save_model_job(small_model, tmp_path / "job.h5"), records.append)

    assert [r.message for r in records] == ["Saving job.h5…"]
    assert path == tmp_path / "job.h5"
    assert_same_model(small_model, load(path).model)
