"""Training the samples: settings reach compile, frozen weights stay put, stop, NaN, revert."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.jobs import JobContext, run_job
from inspector.model.loading import load
from inspector.training.fit import (
    default_settings,
    history_csv,
    restore,
    snapshot,
    train_job,
)
from inspector.training.array_data import array_data
from inspector.training.image_folder_data import image_folder_data
from tests.conftest import ROOT

DIGITS = ROOT / "resources" / "data" / "digits"


def train(model, factory, settings, control=None):
    control = control or JobContext()
    return run_job(train_job(model, factory, settings, control))


@pytest.fixture
def digits_cnn(samples_dir):
    return load(samples_dir / "digits_cnn.keras").model


def test_frozen_layers_stay_bit_identical_and_history_is_kept(digits_cnn):
    model = digits_cnn
    frozen = [layer for layer in model.layers if layer.weights][:2]
    for layer in frozen:
        layer.trainable = False  # changed after compile: training must recompile to honour it
    before = {id(v): v.numpy().copy() for layer in frozen for v in layer.weights}
    settings = default_settings(model)
    settings.epochs, settings.steps_per_epoch, settings.learning_rate = 2, 3, 0.05
    reports = []
    control = JobContext(reports.append)
    result = train(model, lambda model: image_folder_data(DIGITS, model, batch_size=16), settings, control)
    for layer in frozen:
        for variable in layer.weights:
            assert np.array_equal(variable.numpy(), before[id(variable)]), variable.path
    trainable_moved = [
        not np.array_equal(v.numpy(), b) for v, b in zip(model.weights, result.before) if v.trainable
    ]
    assert any(trainable_moved)
    assert result.epochs_done == 2 and len(result.history["loss"]) == 2
    assert "val_loss" in result.history and result.monitor == "val_loss"
    assert len(result.batch_losses) == 6
    assert any(r.payload is not None and r.payload.kind == "epoch" for r in reports)
    assert result.best is not None and result.best_epoch in (0, 1)
    csv = history_csv(result).splitlines()
    assert csv[0].startswith("epoch,") and len(csv) == 3


def test_loss_weights_reach_compile_for_the_two_output_sample(samples_dir, tmp_path):
    model = load(samples_dir / "two_input_two_output.keras").model
    rng = np.random.default_rng(0)
    n = 64
    np.savez(
        tmp_path / "data.npz",
        image_input=rng.uniform(0, 16, (n, 8, 8, 1)).astype("float32"),
        aux_input=rng.normal(size=(n, 4)).astype("float32"),
        main_output=rng.integers(0, 2, (n, 20)).astype("float32"),
        aux_output=rng.uniform(size=(n, 1)).astype("float32"),
    )
    settings = default_settings(model)
    settings.losses = {"main_output": "binary_crossentropy", "aux_output": "mse"}
    settings.loss_weights = {"main_output": 1.0, "aux_output": 0.4}
    settings.epochs, settings.steps_per_epoch = 1, 2
    result = train(model, lambda model: array_data(tmp_path / "data.npz", model, batch_size=16), settings)
    config = model.get_compile_config()
    assert config["loss_weights"] == {"main_output": 1.0, "aux_output": 0.4}
    assert config["loss"] == {"main_output": "binary_crossentropy", "aux_output": "mse"}
    assert result.epochs_done == 1 and np.isfinite(result.history["loss"][0])


def test_stop_takes_effect_at_the_next_batch(digits_cnn):
    model = digits_cnn
    settings = default_settings(model)
    settings.epochs, settings.steps_per_epoch = 3, 40

    control = JobContext()
    control.report = lambda progress: progress.payload is not None and control.cancel()
    result = train(model, lambda model: image_folder_data(DIGITS, model, batch_size=8), settings, control)
    assert result.stopped
    assert len(result.batch_losses) < 40 and result.epochs_done <= 1


def test_a_loss_that_is_not_finite_stops_training_and_names_the_batch(digits_cnn, tmp_path):
    model = digits_cnn
    np.savez(
        tmp_path / "bad.npz",
        **{model.inputs[0].name: np.full((32, 8, 8, 1), np.nan, "float32"), "y": np.zeros(32, "int32")},
    )
    settings = default_settings(model)
    settings.epochs = 3
    result = train(model, lambda model: array_data(tmp_path / "bad.npz", model, batch_size=8, validation_split=0), settings)
    assert result.problem is not None and "batch 1 of epoch 1" in result.problem
    assert result.epochs_done <= 1 and result.best is None


def test_revert_restores_the_exact_weights(digits_cnn):
    model = digits_cnn
    settings = default_settings(model)
    settings.epochs, settings.steps_per_epoch, settings.learning_rate = 1, 2, 0.1
    result = train(model, lambda model: image_folder_data(DIGITS, model, batch_size=16), settings)
    assert any(not np.array_equal(v.numpy(), b) for v, b in zip(model.weights, result.before))
    restore(model, result.before)
    for variable, value in zip(model.weights, result.before):
        assert np.array_equal(variable.numpy(), value)
    assert all(np.array_equal(a, b) for a, b in zip(snapshot(model), result.before))


def test_a_batch_that_does_not_fit_the_model_stops_before_training(digits_cnn, tmp_path):
    from inspector.errors import InputDataError

    model = digits_cnn
    np.savez(tmp_path / "wrong.npz", **{model.inputs[0].name: np.zeros((8, 9, 9, 1), "f4"), "y": np.zeros(8, "i4")})
    before = snapshot(model)
    with pytest.raises(InputDataError):
        train(model, lambda model: array_data(tmp_path / "wrong.npz", model, batch_size=4), default_settings(model))
    assert all(np.array_equal(a, b) for a, b in zip(snapshot(model), before))
