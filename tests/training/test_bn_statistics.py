"""The BatchNormalization audit against the user's data, checked by hand on the sample models."""

import numpy as np
import pytest

from inspector.training.bn_statistics import bn_calls, bn_layers, bn_shift_job
from inspector.errors import InputDataError
from inspector.inputs.input_data import image_samples, input_specs
from inspector.jobs import run_job
from inspector.model.loading import load
from inspector.tfimport import keras
from tests.conftest import ROOT

DIGITS = ROOT / "resources" / "data" / "digits"


@pytest.fixture(scope="module")
def transfer(samples_dir):
    return load(samples_dir / "transfer_digits.keras").model


@pytest.fixture(scope="module")
def digits(transfer):
    """200 digit images as the sample models take them: values 0..16 (the PNGs hold 0..255)."""
    samples = image_samples([DIGITS / str(k) for k in range(10)], input_specs(transfer)[0])
    images = samples.arrays["image"] * (16.0 / 255.0)
    return images[np.random.default_rng(0).permutation(len(images))[:200]].astype("float32")


def batches_of(x, size=64):
    return [x[i : i + size] for i in range(0, len(x), size)]


def test_lists_nested_batch_norm_layers_and_where_their_inputs_come_from(transfer):
    assert bn_layers(transfer) == ["digits_base/base_bn_1", "digits_base/base_bn_2"]
    calls = bn_calls(transfer)
    assert [s.key for s in calls["digits_base/base_bn_1"]] == ["digits_base/base_conv_1"]
    assert [s.key for s in calls["digits_base/base_bn_2"]] == ["digits_base/base_conv_2"]


def test_per_channel_statistics_match_a_model_cut_at_each_input(transfer, digits):
    progress = []
    shifts = {s.layer: s for s in run_job(bn_shift_job(transfer, batches_of(digits)), progress.append)}
    assert sum("batch" in p.message for p in progress) == 4

    base = transfer.get_layer("digits_base")
    cut = keras.Model(base.inputs, [base.get_layer("base_conv_1").output, base.get_layer("base_conv_2").output])
    for name, features in zip(("base_bn_1", "base_bn_2"), cut.predict(digits, verbose=0)):
        shift, layer = shifts[f"digits_base/{name}"], base.get_layer(name)
        mean, variance = features.mean(axis=(0, 1, 2), dtype=np.float64), features.var(axis=(0, 1, 2), dtype=np.float64)
        np.testing.assert_allclose(shift.data_mean, mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(shift.data_variance, variance, rtol=1e-4, atol=1e-6)
        assert shift.count == features.shape[0] * features.shape[1] * features.shape[2]
        moving_mean, moving_var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
        scale = np.sqrt(moving_var + layer.epsilon)
        assert shift.mean_shift == pytest.approx(np.mean(np.abs(mean - moving_mean) / scale), rel=1e-4)
        ratio = (variance + layer.epsilon) / (moving_var + layer.epsilon)
        assert shift.variance_ratio == pytest.approx(np.mean(np.abs(np.log(ratio))), rel=1e-4)
        d = (mean - moving_mean) / scale
        assert shift.score == pytest.approx(np.mean(0.5 * (ratio + d**2 - 1 - np.log(ratio))), rel=1e-4)
        assert shift.channels == layer.moving_mean.shape[0] and not shift.trainable


def test_matching_data_scores_low_and_wrong_preprocessing_scores_high(transfer, digits):
    right = run_job(bn_shift_job(transfer, batches_of(digits)))
    wrong = run_job(bn_shift_job(transfer, batches_of(digits * (255.0 / 16.0))))  # raw PNG pixels
    assert max(s.score for s in right) < 0.1
    assert min(s.score for s in wrong) > 10 * max(s.score for s in right)


def test_ranked_by_score_with_the_most_shifted_layer_first(samples_dir, digits):
    model = load(samples_dir / "transfer_digits.keras").model
    bn_1 = model.get_layer("digits_base").get_layer("base_bn_1")
    shifts = run_job(bn_shift_job(model, batches_of(digits)))
    assert [s.score for s in shifts] == sorted((s.score for s in shifts), reverse=True)

    bn_1.moving_mean.assign(bn_1.moving_mean.numpy() + 5 * np.sqrt(bn_1.moving_variance.numpy()))
    shifts = run_job(bn_shift_job(model, batches_of(digits)))
    assert shifts[0].layer == "digits_base/base_bn_1"
    assert shifts[0].mean_shift > 4


def test_takes_x_of_x_y_pairs_dicts_and_stops_after_max_batches(transfer, digits):
    labels = np.zeros(len(digits))
    pairs = [(x, labels[: len(x)]) for x in batches_of(digits, 50)]
    by_pairs = run_job(bn_shift_job(transfer, pairs, max_batches=2))
    by_dicts = run_job(bn_shift_job(transfer, iter([{"image": x} for x in batches_of(digits, 50)]), max_batches=2))
    for a, b in zip(by_pairs, by_dicts):
        assert a.layer == b.layer and a.count == b.count == 100 * 8 * 8  # two batches of 50, 8x8 maps
        np.testing.assert_allclose(a.data_mean, b.data_mean, rtol=1e-6)


def test_a_batch_norm_fed_by_a_model_input_is_measured_on_the_input():
    inputs = keras.Input((3,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.BatchNormalization(name="input_bn")(inputs)))
    x = np.random.default_rng(1).normal(loc=[0, 3, -2], scale=[1, 2, 0.5], size=(300, 3)).astype("float32")
    (shift,) = run_job(bn_shift_job(model, batches_of(x, 100)))
    np.testing.assert_allclose(shift.data_mean, x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(shift.data_variance, x.var(axis=0), rtol=1e-5)
    assert shift.trainable


def test_a_batch_norm_inside_a_wrapper_is_listed_with_a_note():
    inputs = keras.Input((5, 3))
    x = keras.layers.TimeDistributed(keras.layers.BatchNormalization(name="wrapped_bn"), name="td")(inputs)
    x = keras.layers.BatchNormalization(name="plain_bn")(x)
    model = keras.Model(inputs, x)
    shifts = run_job(bn_shift_job(model, [np.ones((4, 5, 3), "float32")]))
    assert [s.layer for s in shifts] == ["plain_bn", "td/wrapped_bn"]
    assert not shifts[1].audited and "not audited" in shifts[1].note and np.isnan(shifts[1].score)


def test_a_model_without_batch_norm_gives_nothing(samples_dir):
    model = load(samples_dir / "two_input_two_output.keras").model
    assert bn_layers(model) == []
    assert run_job(bn_shift_job(model, [])) == []


def test_data_that_does_not_fit_gives_a_plain_error(transfer):
    with pytest.raises(InputDataError, match="empty"):
        run_job(bn_shift_job(transfer, []))
    with pytest.raises(InputDataError, match="no data for input image"):
        run_job(bn_shift_job(transfer, [{"pixels": np.zeros((2, 8, 8, 1))}]))


def test_a_nested_batch_norm_fed_by_the_nested_models_input_is_measured_on_the_outer_input():
    inner_in = keras.Input((3,), name="inner_in")
    inner = keras.Model(inner_in, keras.layers.BatchNormalization(name="first_bn")(inner_in), name="inner")
    outer_in = keras.Input((3,), name="outer_in")
    model = keras.Model(outer_in, keras.layers.Dense(1, name="out")(inner(outer_in)), name="outer")
    x = np.random.default_rng(2).normal(loc=[1, -1, 5], size=(120, 3)).astype("float32")
    (shift,) = run_job(bn_shift_job(model, batches_of(x, 40)))
    assert shift.layer == "inner/first_bn"
    np.testing.assert_allclose(shift.data_mean, x.mean(axis=0), rtol=1e-5)
