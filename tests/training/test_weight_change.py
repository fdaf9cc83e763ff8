"""What training changed: per-layer weight changes checked against NumPy on real Keras models."""

import math

import numpy as np
import pytest

from inspector.errors import ModelLoadError
from inspector.jobs import run_job
from inspector.tfimport import keras
from inspector.training.weight_change import compare_files_job, compare_models, snapshot, weight_changes
from tests.model_factory import nested_model

layers = keras.layers


def small_model(extra: bool = False, hidden: int = 6, name: str = "small"):
    """Dense → trainable BatchNormalization → Dense (→ Dense), with fixed names."""
    inputs = keras.Input((4,), name="x")
    x = layers.Dense(hidden, name="d1")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Dense(3, name="d2")(x)
    if extra:
        x = layers.Dense(2, name="d3")(x)
    return keras.Model(inputs, x, name=name)


def by_layer(changes):
    return {change.layer: change for change in changes}


def nudge(variable, rng, scale=0.1):
    """Adds noise to a variable and returns the noise."""
    noise = rng.normal(scale=scale, size=tuple(variable.shape)).astype("float32")
    variable.assign(variable.numpy() + noise)
    return noise


def test_numbers_match_numpy_over_all_variables_of_a_layer():
    model = nested_model()
    rng = np.random.default_rng(0)
    before = snapshot(model)
    head_dense = model.get_layer("head").get_layer("head_dense")
    kernel_noise = nudge(head_dense.kernel, rng)
    bias_noise = nudge(head_dense.bias, rng)

    changes = by_layer(weight_changes(model, before))
    change = changes["head/head_dense"]
    old = np.concatenate([head_dense.kernel.numpy().ravel() - kernel_noise.ravel(), before_of(model, before, head_dense.bias)])
    delta = np.concatenate([kernel_noise.ravel(), bias_noise.ravel()])
    assert change.absolute == pytest.approx(np.linalg.norm(delta), rel=1e-5)
    assert change.relative == pytest.approx(np.linalg.norm(delta) / np.linalg.norm(old), rel=1e-5)
    kernel_relative = dict(change.variables)[head_dense.kernel.path]
    assert kernel_relative == pytest.approx(
        np.linalg.norm(kernel_noise) / np.linalg.norm(before_of(model, before, head_dense.kernel)), rel=1e-5
    )
    assert dict(change.variables)[head_dense.bias.path] == math.inf  # the bias was all zeros
    assert not change.frozen and not change.moved_while_frozen
    assert changes["shared"].relative == 0 and changes["shared"].absolute == 0


def before_of(model, before, variable):
    index = next(i for i, v in enumerate(model.weights) if v is variable)
    return before[index].ravel()


def test_layers_come_in_model_order_with_their_paths():
    model = nested_model()
    changes = weight_changes(model, snapshot(model))
    assert [c.layer for c in changes] == ["shared", "base/base_dense", "base/base_bn", "head/head_dense"]


def test_unchanged_model_gives_zeros_and_no_flags():
    model = nested_model()
    changes = weight_changes(model, snapshot(model))
    assert all(c.relative == 0 and c.absolute == 0 and not c.moved_while_frozen for c in changes)
    assert all(rel == 0 for c in changes for _, rel in c.variables)


def test_a_frozen_layer_that_moved_is_flagged():
    model = nested_model()  # its base is frozen
    before = snapshot(model)
    nudge(model.get_layer("base").get_layer("base_dense").kernel, np.random.default_rng(1))
    changes = by_layer(weight_changes(model, before))
    assert changes["base/base_dense"].frozen and changes["base/base_dense"].moved_while_frozen
    assert changes["base/base_bn"].frozen and not changes["base/base_bn"].moved_while_frozen
    assert not changes["shared"].frozen


def test_moving_statistics_of_a_frozen_batch_norm_are_flagged_but_not_of_a_trainable_one():
    frozen_model, trainable_model = nested_model(), small_model()
    frozen_bn = frozen_model.get_layer("base").get_layer("base_bn")
    trainable_bn = trainable_model.get_layer("bn")
    before_frozen, before_trainable = snapshot(frozen_model), snapshot(trainable_model)
    for bn in (frozen_bn, trainable_bn):
        bn.moving_mean.assign(bn.moving_mean.numpy() + 0.5)
        bn.moving_variance.assign(bn.moving_variance.numpy() * 2)

    frozen = by_layer(weight_changes(frozen_model, before_frozen))["base/base_bn"]
    trainable = by_layer(weight_changes(trainable_model, before_trainable))["bn"]
    assert frozen.frozen and frozen.moved_while_frozen
    assert not trainable.frozen and not trainable.moved_while_frozen
    assert trainable.relative > 0


def test_a_trainable_batch_norm_without_gamma_and_beta_is_not_frozen():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.BatchNormalization(center=False, scale=False, name="plain_bn")(inputs))
    before = snapshot(model)
    model.get_layer("plain_bn").moving_mean.assign(np.ones(3, "float32"))
    (change,) = weight_changes(model, before)
    assert not change.frozen and not change.moved_while_frozen
    assert dict(change.variables)["plain_bn/moving_mean"] == math.inf  # it started at zeros
    assert change.relative == pytest.approx(1.0)  # sqrt(3) moved over sqrt(3) of moving variance


def test_fit_after_freezing_without_recompiling_is_caught():
    """The pitfall the view exists for: freezing after compile() does not stop training."""
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 3))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.get_layer("d1").trainable = False  # no compile() afterwards
    before = snapshot(model)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    changes = by_layer(weight_changes(model, before))
    assert changes["d1"].frozen and changes["d1"].moved_while_frozen
    assert changes["d2"].relative > 0 and not changes["d2"].moved_while_frozen
    assert changes["bn"].relative > 0 and not changes["bn"].moved_while_frozen


def test_after_can_be_given_and_bad_snapshots_are_refused():
    model = small_model()
    before = snapshot(model)
    after = [value * 2 for value in before]
    changes = by_layer(weight_changes(model, before, after))
    assert changes["d1"].relative == pytest.approx(1.0)
    with pytest.raises(ValueError, match="variables"):
        weight_changes(model, before[:-1])
    with pytest.raises(ValueError, match="shape"):
        weight_changes(model, [np.zeros((1,))] + before[1:])


def test_compare_a_model_with_itself_gives_zeros():
    model = nested_model()
    comparison = compare_models(model, model)
    assert comparison.complete
    assert len(comparison.changes) == 4
    assert all(c.relative == 0 and not c.moved_while_frozen for c in comparison.changes)


def test_compare_with_an_extra_layer_lists_what_only_one_has():
    first, second = small_model(name="first"), small_model(extra=True, name="second")
    for name in ("d1", "bn", "d2"):
        second.get_layer(name).set_weights(first.get_layer(name).get_weights())
    comparison = compare_models(first, second)
    assert comparison.only_in_second == ["d3/kernel", "d3/bias"]
    assert comparison.only_in_first == [] and comparison.shape_mismatch == []
    assert [c.layer for c in comparison.changes] == ["d1", "bn", "d2"]
    assert all(c.relative == 0 for c in comparison.changes)

    reverse = compare_models(second, first)
    assert reverse.only_in_first == ["d3/kernel", "d3/bias"]


def test_compare_reports_shape_mismatches_and_measures_the_rest():
    first, second = small_model(hidden=6), small_model(hidden=5)
    comparison = compare_models(first, second)
    mismatched = {path: (a, b) for path, a, b in comparison.shape_mismatch}
    assert mismatched["d1/kernel"] == ((4, 6), (4, 5))
    assert mismatched["bn/gamma"] == ((6,), (5,))
    assert "d2/bias" not in mismatched
    (d2,) = comparison.changes
    assert d2.layer == "d2" and [path for path, _ in d2.variables] == ["d2/bias"]


def test_compare_with_a_saved_copy(tmp_path):
    model = small_model()
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "copy.keras"
    model.save(path)
    noise = nudge(model.get_layer("d2").kernel, np.random.default_rng(3))

    progress = []
    comparison = run_job(compare_files_job(model, path), progress.append)
    assert progress and "copy.keras" in progress[0].message
    assert comparison.complete
    d2 = by_layer(comparison.changes)["d2"]
    assert d2.absolute == pytest.approx(np.linalg.norm(noise), rel=1e-5)
    now = np.concatenate([v.numpy().ravel() for v in model.weights if v.path.startswith("d2/")])
    assert d2.relative == pytest.approx(np.linalg.norm(noise) / np.linalg.norm(now), rel=1e-5)  # from the open model
    assert by_layer(comparison.changes)["d1"].relative == 0


def test_compare_with_a_corrupt_file_says_which_file_and_why(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 this is not a real archive")
    with pytest.raises(ModelLoadError) as error:
        run_job(compare_files_job(small_model(), path))
    assert "broken.keras" in str(error.value)
    assert error.value.reason
