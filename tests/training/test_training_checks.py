"""The training core (no Qt): a stopped epoch is partial, inputs far from the range the model
expects are warned about, and the BatchNormalization audit says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import inspector.training.fit as training
from inspector.training.augmentation import AugmentationSettings
from inspector.inputs.input_range import expected_ranges, range_warnings, suited_preprocessing
from inspector.jobs import JobContext, run_job
from inspector.model.loading import load
from inspector.tfimport import keras
from inspector.training.fit import bn_audit_job, default_settings, train_job
from inspector.training.image_folder_data import image_folder_data
from tests.conftest import ROOT, SAMPLES

DIGITS = ROOT / "resources" / "data" / "digits"


@pytest.fixture
def transfer():
    return load(SAMPLES / "transfer_digits.keras").model


def _stop_at(control: JobContext, epoch: int, step: int):
    """A report function that asks to stop once batch ``step`` of ``epoch`` (from 0) is done."""

    def report(progress):
        update = progress.payload
        if update is not None and update.kind == "batch" and (update.epoch, update.step) >= (epoch, step):
            control.cancel()

    return report


def test_an_epoch_stopped_mid_way_is_partial_and_never_the_best(monkeypatch, samples_dir):
    monkeypatch.setattr(training, "REPORT_INTERVAL_S", 0.0)  # every batch reports, so the stop lands at batch 3
    model = load(samples_dir / "digits_cnn.keras").model
    settings = default_settings(model)
    settings.epochs, settings.steps_per_epoch, settings.learning_rate = 5, 10, 0.01
    control = JobContext()
    control.report = _stop_at(control, epoch=1, step=3)
    factory = lambda model: image_folder_data(DIGITS, model, batch_size=16, augmentation=AugmentationSettings(rescale=16 / 255))

    result = run_job(train_job(model, factory, settings, control))

    assert result.stopped
    assert result.epochs_done == 1, "only epoch 1 ran to its end"
    assert result.partial_epoch == 1 and "val_loss" in result.partial_logs
    assert len(result.history["val_loss"]) == 1, "the partial epoch's one-batch validation is not history"
    assert result.best_epoch == 0 and result.monitor == "val_loss"
    assert len(result.batch_losses) == 10 + 4  # the stop asked after batch 3 is seen after batch 4


def test_images_far_from_the_models_rescaling_are_warned_about_before_training(transfer):
    settings = default_settings(transfer)
    settings.epochs, settings.steps_per_epoch = 1, 1

    raw = run_job(train_job(transfer, lambda model: image_folder_data(DIGITS, transfer, batch_size=8), settings, JobContext()))
    assert len(raw.warnings) == 1
    warning = raw.warnings[0]
    assert "Input 'image'" in warning and "from 0 to 255" in warning
    assert "'digits_base/base_rescale'" in warning and "about 0 to 16" in warning
    assert 'check "Rescale ×" under Augmentation and set it to 0.06275 (16/255)' in warning
    assert "choose Preprocessing" not in warning, "the raw pixels are already chosen"

    rescaled = lambda model: image_folder_data(DIGITS, transfer, batch_size=8, augmentation=AugmentationSettings(rescale=16 / 255))
    assert run_job(train_job(transfer, rescaled, settings, JobContext())).warnings == []


def test_the_expected_range_comes_from_the_first_rescaling_or_normalization_layer():
    pixels = keras.Input((4, 4, 3), name="pixels")
    x = keras.layers.Reshape((4, 4, 3), name="same_shape")(pixels)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="to_unit")(x)
    x = keras.layers.Conv2D(2, 3, name="conv")(x)
    signed = keras.Model(pixels, x, name="signed")
    expected = expected_ranges(signed)["pixels"]
    assert (expected.low, expected.high, expected.layer) == (0.0, 255.0, "to_unit")
    assert suited_preprocessing(expected) == "none"

    features = keras.Input((3,), name="features")
    norm = keras.layers.Normalization(mean=[10.0, 10.0, 10.0], variance=[3.0, 3.0, 3.0], name="norm")
    normalised = keras.Model(features, keras.layers.Dense(1, name="out")(norm(features)), name="normalised")
    expected = expected_ranges(normalised)["features"]
    assert expected.low == pytest.approx(7.0) and expected.high == pytest.approx(13.0)
    assert range_warnings(normalised, {"features": np.full((2, 3), 10.0)}) == []
    warning = range_warnings(normalised, {"features": np.array([[0.0, 500.0, 1.0]])})[0]
    assert "Input 'features'" in warning and "scale the data to 7 to 13" in warning

    dense_first = keras.Model(features, keras.layers.Dense(1, name="plain")(features), name="dense_first")
    assert expected_ranges(dense_first) == {}


def test_the_batch_norm_audit_gives_advice_in_every_note(transfer):
    raw = run_job(bn_audit_job(transfer, lambda model: image_folder_data(DIGITS, transfer, batch_size=64)))
    assert [shift.layer for shift in raw] and all(shift.note for shift in raw)
    far = [shift for shift in raw if shift.score > 0.5]
    assert far and all("not scaled as the model expects" in shift.note and "0 to 16" in shift.note for shift in far)

    scaled = lambda model: image_folder_data(DIGITS, transfer, batch_size=64, augmentation=AugmentationSettings(rescale=16 / 255))
    fitted = run_job(bn_audit_job(transfer, scaled))
    assert all(shift.note and "not scaled" not in shift.note for shift in fitted)
