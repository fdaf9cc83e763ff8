"""Freezing and unfreezing layers with undo/redo, recompiling, and BatchNormalization warnings.

Core tests: real Keras models, no Qt. Some tests pin down Keras 3 behaviour the app relies on.
"""

import math

import numpy as np
import pytest

from inspector.tfimport import keras
from inspector.model.bn_audit import bn_warnings
from inspector.model.describe import describe, walk_layers
from inspector.model.freezing import RecompileError, TrainableEditor
from inspector.model.loading import load
from tests.model_factory import nested_model, sequence_model, two_input_model

L = keras.layers


# Helpers


def flags(model) -> dict[str, bool]:
    """Every listed layer's own trainable flag, by path."""
    return {path: bool(layer.trainable) for path, layer, _ in walk_layers(model)}


def weighted_flags(model) -> dict[str, bool]:
    """The trainable flags of the layers that hold weights themselves (not containers)."""
    return {
        path: bool(layer.trainable)
        for path, layer, _ in walk_layers(model)
        if layer.weights and not isinstance(layer, keras.Model)
    }


def trainable_paths(model) -> set[str]:
    return {v.path for v in model.trainable_weights}


def assert_counts_match_keras(editor: TrainableEditor) -> None:
    model = editor.model
    counts = editor.counts()
    assert counts.total == model.count_params()
    assert counts.trainable == sum(math.prod(v.shape) for v in model.trainable_weights)
    assert counts.non_trainable == sum(math.prod(v.shape) for v in model.non_trainable_weights)
    assert counts.trainable + counts.non_trainable == counts.total


def small_cnn(compiled: bool = True):
    """A compiled CNN with a BatchNormalization layer, for training tests."""
    inputs = keras.Input((8, 8, 1), name="image")
    x = L.Conv2D(4, 3, name="conv_1")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    x = L.Conv2D(4, 3, name="conv_2")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="cnn")
    if compiled:
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def fit_briefly(model) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 1.5, (32, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 32)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)


def snapshot(layer) -> list[np.ndarray]:
    return [np.array(v.numpy(), copy=True) for v in layer.weights]


def unchanged(before: list[np.ndarray], layer) -> bool:
    return all(np.array_equal(a, v.numpy()) for a, v in zip(before, layer.weights))


def all_changed(before: list[np.ndarray], layer) -> bool:
    return not any(np.array_equal(a, v.numpy()) for a, v in zip(before, layer.weights))


@pytest.fixture()
def transfer_model(samples_dir):
    return load(samples_dir / "transfer_digits.keras").model


# Looking layers up


def test_every_described_layer_path_resolves_to_its_layer():
    for model in (nested_model(), sequence_model(), two_input_model()):
        editor = TrainableEditor(model)
        for path, info in describe(model).layer_index().items():
            assert editor.layer(path).name == info.name


def test_wrapper_paths_reach_the_inner_layers():
    model = sequence_model()
    editor = TrainableEditor(model)
    bilstm, per_step = model.get_layer("bilstm"), model.get_layer("per_step")
    assert editor.layer(f"bilstm/{bilstm.forward_layer.name}") is bilstm.forward_layer
    assert editor.layer(f"bilstm/{bilstm.backward_layer.name}") is bilstm.backward_layer
    assert editor.layer(f"per_step/{per_step.layer.name}") is per_step.layer


def test_unknown_path_is_a_key_error_naming_it():
    editor = TrainableEditor(nested_model())
    with pytest.raises(KeyError, match="base/nope"):
        editor.layer("base/nope")
    with pytest.raises(KeyError):
        editor.set_trainable(["shared", "base/nope"], False)
    assert not editor.can_undo and flags(editor.model)["shared"]


# Freezing and unfreezing


def test_freezing_one_layer_updates_counts_and_keras_weight_lists():
    model = two_input_model()
    editor = TrainableEditor(model)
    change = editor.set_trainable("conv", False)
    assert change.description == "Freeze conv"
    assert not model.get_layer("conv").trainable
    assert trainable_paths(model).isdisjoint(v.path for v in model.get_layer("conv").weights)
    assert_counts_match_keras(editor)
    assert editor.counts().non_trainable == model.get_layer("conv").count_params()


def test_unfreezing_a_nested_model_unfreezes_everything_inside():
    model = nested_model()
    editor = TrainableEditor(model)
    assert editor.set_trainable("base", True).description == "Unfreeze base"
    assert all(flags(model)[p] for p in ("base", "base/base_dense", "base/base_bn"))
    assert {"base_dense/kernel", "base_bn/gamma"} <= trainable_paths(model)
    assert_counts_match_keras(editor)
    editor.set_trainable("head", False)
    assert not flags(model)["head/head_dense"] and not model.get_layer("head").trainable_weights
    assert_counts_match_keras(editor)


def test_a_container_already_trainable_still_unfreezes_its_frozen_layers():
    # Keras (TensorFlow backend) skips `base.trainable = True` on a trainable base, so the frozen
    # layers inside it would stay frozen if the editor relied on Keras' recursion.
    model = nested_model()
    base = model.get_layer("base")
    base.trainable = True
    base.get_layer("base_dense").trainable = False
    base.trainable = True
    assert not base.get_layer("base_dense").trainable  # the Keras behaviour
    editor = TrainableEditor(model)
    editor.set_trainable("base", True)
    assert base.get_layer("base_dense").trainable


def test_unfreezing_a_layer_inside_a_frozen_base_marks_the_base_partly_frozen():
    model = nested_model()
    editor = TrainableEditor(model)
    editor.set_trainable("base/base_dense", True)
    state = flags(model)
    assert state["base"] and state["base/base_dense"] and not state["base/base_bn"]
    info = describe(model).layer_index()["base"]
    assert info.partly_frozen
    assert info.trainable_params == model.get_layer("base").get_layer("base_dense").count_params()
    assert_counts_match_keras(editor)


def test_freezing_wrappers_freezes_their_inner_layers_and_cells():
    model = sequence_model()
    editor = TrainableEditor(model)
    bilstm = model.get_layer("bilstm")
    editor.set_trainable(["bilstm", "per_step"], False)
    assert editor.undo_description == "Freeze 2 layers"
    assert not any(layer.trainable for layer in bilstm._flatten_layers())
    assert not model.get_layer("per_step").layer.trainable
    assert trainable_paths(model).isdisjoint(v.path for v in bilstm.weights)
    assert_counts_match_keras(editor)
    editor.set_trainable(f"bilstm/{bilstm.forward_layer.name}", True)
    assert bilstm.trainable and bilstm.forward_layer.trainable and not bilstm.backward_layer.trainable
    assert {v.path for v in bilstm.trainable_weights} == {v.path for v in bilstm.forward_layer.weights}
    assert_counts_match_keras(editor)


def test_freezing_a_shared_layer_freezes_both_calls():
    model = nested_model()
    editor = TrainableEditor(model)
    editor.set_trainable("shared", False)
    assert describe(model).layer_index()["shared"].calls == 2
    assert not model.get_layer("shared").trainable
    assert trainable_paths(model) == {v.path for v in model.get_layer("head").weights}
    assert_counts_match_keras(editor)


def test_freeze_up_to_a_top_level_layer():
    model = two_input_model()
    editor = TrainableEditor(model)
    assert editor.freeze_up_to("hidden").description == "Freeze up to hidden"
    state = flags(model)
    assert not state["conv"] and not state["flatten"] and not state["concat"]
    assert state["hidden"] and state["main_output"] and state["aux_output"]
    assert trainable_paths(model) == {
        f"{layer}/{w}" for layer in ("hidden", "main_output", "aux_output") for w in ("kernel", "bias")
    }
    assert_counts_match_keras(editor)


def test_freeze_up_to_a_layer_inside_a_nested_model(transfer_model):
    editor = TrainableEditor(transfer_model)
    editor.freeze_up_to("digits_base/base_conv_2")
    state = flags(transfer_model)
    frozen = ["image", "digits_base/base_rescale", "digits_base/base_conv_1", "digits_base/base_bn_1"]
    training = ["digits_base", "digits_base/base_conv_2", "digits_base/base_bn_2", "gap", "head"]
    assert not any(state[p] for p in frozen)
    assert all(state[p] for p in training)
    assert_counts_match_keras(editor)


def test_set_all_freezes_and_unfreezes_the_whole_model():
    model = nested_model()
    editor = TrainableEditor(model)
    assert editor.set_all(False).description == "Freeze all layers"
    assert model.trainable_weights == [] and not any(flags(model).values())
    assert_counts_match_keras(editor)
    assert editor.set_all(True).description == "Unfreeze all layers"
    assert all(flags(model).values()) and editor.counts().non_trainable == 2 * 5  # BN moving stats
    assert_counts_match_keras(editor)


def test_a_change_that_changes_nothing_is_not_recorded():
    model = nested_model()
    editor = TrainableEditor(model)
    assert editor.set_trainable("base", False) is None
    assert editor.set_trainable("base/base_bn", False) is None
    assert editor.set_all(True) is not None
    assert editor.set_all(True) is None
    assert editor.undo_description == "Unfreeze all layers"
    editor.undo()
    assert not editor.can_undo


# Undo, redo, modified


def test_undo_and_redo_restore_exact_mixed_nested_states():
    model = nested_model()
    editor = TrainableEditor(model)
    states = [(flags(model), trainable_paths(model), editor.counts())]
    editor.set_trainable("base/base_bn", True)  # base partly frozen
    states.append((flags(model), trainable_paths(model), editor.counts()))
    editor.set_trainable("head", False)
    states.append((flags(model), trainable_paths(model), editor.counts()))
    editor.set_all(True)
    states.append((flags(model), trainable_paths(model), editor.counts()))
    assert editor.undo_description == "Unfreeze all layers"
    for expected in reversed(states[:-1]):
        editor.undo()
        assert (flags(model), trainable_paths(model), editor.counts()) == expected
        assert_counts_match_keras(editor)
    assert not editor.can_undo and editor.undo() is None
    assert editor.redo_description == "Unfreeze base/base_bn"
    for expected in states[1:]:
        editor.redo()
        assert (flags(model), trainable_paths(model), editor.counts()) == expected
    assert not editor.can_redo and editor.redo() is None


def test_undo_restores_rnn_cells_inside_wrappers():
    model = sequence_model()
    editor = TrainableEditor(model)
    before = [layer.trainable for layer in model._flatten_layers()]
    editor.set_trainable(f"bilstm/{model.get_layer('bilstm').backward_layer.name}", False)
    editor.set_trainable("bilstm", False)
    editor.undo()
    editor.undo()
    assert [layer.trainable for layer in model._flatten_layers()] == before
    assert all(v.trainable for v in model.get_layer("bilstm").weights)


def test_a_new_change_clears_redo():
    editor = TrainableEditor(two_input_model())
    editor.set_trainable("conv", False)
    editor.undo()
    assert editor.can_redo
    editor.set_trainable("hidden", False)
    assert not editor.can_redo and editor.redo_description is None


def test_modified_follows_the_saved_point():
    editor = TrainableEditor(two_input_model())
    assert not editor.modified
    editor.set_trainable("conv", False)
    assert editor.modified
    editor.undo()
    assert not editor.modified
    editor.redo()
    editor.mark_saved()
    assert not editor.modified
    editor.undo()
    assert editor.modified


def test_mixed_flags_survive_save_and_load(tmp_path):
    model = nested_model()
    editor = TrainableEditor(model)
    editor.set_trainable("base/base_bn", True)
    editor.set_trainable("head", False)
    path = tmp_path / "mixed.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert trainable_paths(reloaded) == trainable_paths(model)
    assert weighted_flags(reloaded) == weighted_flags(model)
    # Keras 3.15 quirk: Sequential.from_config ignores the saved `trainable`, so a frozen nested
    # Sequential comes back with its own flag True (its layers stay frozen; nothing more trains).
    assert not model.get_layer("head").trainable and reloaded.get_layer("head").trainable


# Recompiling, and what training does


def test_needs_recompile_tracks_changes_since_the_last_compile():
    editor = TrainableEditor(small_cnn())
    assert not editor.needs_recompile
    editor.set_trainable("conv_1", False)
    assert editor.needs_recompile
    editor.undo()
    assert not editor.needs_recompile
    editor.redo()
    editor.recompile()
    assert not editor.needs_recompile and editor.model.compiled


def test_an_uncompiled_model_cannot_be_recompiled():
    editor = TrainableEditor(small_cnn(compiled=False))
    editor.set_trainable("conv_1", False)
    assert not editor.needs_recompile
    with pytest.raises(RecompileError, match="'cnn' was never compiled"):
        editor.recompile()


def test_recompile_keeps_the_compile_configuration():
    model = small_cnn()
    editor = TrainableEditor(model)
    editor.set_trainable("conv_1", False)
    editor.recompile()
    assert model.loss == "sparse_categorical_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert np.isclose(float(model.optimizer.learning_rate), 0.01)


def test_after_freezing_and_recompiling_training_leaves_frozen_variables_bit_identical():
    model = small_cnn()
    fit_briefly(model)  # a model that has trained before: its train function exists
    editor = TrainableEditor(model)
    editor.set_trainable(["conv_1", "bn"], False)
    assert editor.needs_recompile
    editor.recompile()
    frozen = {name: snapshot(model.get_layer(name)) for name in ("conv_1", "bn")}
    training = {name: snapshot(model.get_layer(name)) for name in ("conv_2", "head")}
    fit_briefly(model)
    for name, before in frozen.items():
        assert unchanged(before, model.get_layer(name)), name  # BN moving statistics included
    for name, before in training.items():
        assert all_changed(before, model.get_layer(name)), name


def test_without_recompile_a_layer_frozen_after_training_still_changes():
    # Why the app recompiles: fit keeps the train function it traced, with the trainable
    # variables of that moment, until compile() runs again.
    model = small_cnn()
    fit_briefly(model)
    model.get_layer("conv_1").trainable = False
    before = snapshot(model.get_layer("conv_1"))
    fit_briefly(model)
    assert all_changed(before, model.get_layer("conv_1"))


def test_freezing_before_the_first_fit_works_even_without_recompile():
    # The other side of the same fact: no train function has been traced yet, so the first fit
    # sees the new flags. The app still recompiles, since it cannot know what ran before.
    model = small_cnn()
    model.get_layer("conv_1").trainable = False
    before = snapshot(model.get_layer("conv_1"))
    fit_briefly(model)
    assert unchanged(before, model.get_layer("conv_1"))


# BatchNormalization in Keras 3, and the warnings


def bn_base_model(call_training_false: bool):
    """An outer model around a nested base with Dense + BatchNormalization, compiled."""
    base_in = keras.Input((4,), name="base_in")
    base_out = L.BatchNormalization(name="bn")(L.Dense(4, name="dense")(base_in))
    base = keras.Model(base_in, base_out, name="base")
    inputs = keras.Input((4,), name="x")
    features = base(inputs, training=False) if call_training_false else base(inputs)
    model = keras.Model(inputs, L.Dense(1, name="head")(features), name="outer")
    model.compile(optimizer="sgd", loss="mse")
    return model


def fit_regression(model) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, (64, 4)).astype("float32")
    model.fit(x, rng.normal(size=(64, 1)).astype("float32"), epochs=1, batch_size=16, verbose=0)


def test_keras_ignores_training_false_on_a_nested_call_during_fit(tmp_path):
    model = bn_base_model(call_training_false=True)
    path = tmp_path / "outer.keras"
    model.save(path)
    model = keras.saving.load_model(path)
    base = model.get_layer("base")
    assert base._inbound_nodes[0].arguments.kwargs["training"] is False  # kept by save/load
    bn = base.get_layer("bn")
    moving_mean = np.array(bn.moving_mean.numpy(), copy=True)
    fit_regression(model)
    assert not np.array_equal(moving_mean, bn.moving_mean.numpy())  # batch statistics were used


def test_a_frozen_batch_normalization_runs_in_inference_mode():
    model = bn_base_model(call_training_false=False)
    bn = model.get_layer("base").get_layer("bn")
    TrainableEditor(model).set_trainable("base/bn", False)
    model.compile(optimizer="sgd", loss="mse")
    before = snapshot(bn)
    fit_regression(model)
    assert unchanged(before, bn)


def test_a_trainable_bn_inside_a_frozen_base_is_trained_although_the_base_counts_none():
    model = bn_base_model(call_training_false=False)
    base = model.get_layer("base")
    base.trainable = False
    base.get_layer("bn").trainable = True  # plain Keras: the base's own flag stays False
    model.compile(optimizer="sgd", loss="mse")
    assert base.trainable_weights == []
    assert {"bn/gamma", "bn/beta"} <= trainable_paths(model)
    before = snapshot(base.get_layer("bn"))
    fit_regression(model)
    assert all_changed(before, base.get_layer("bn"))  # gamma, beta and moving statistics


def test_no_warnings_for_the_transfer_sample_as_shipped(transfer_model):
    assert bn_warnings(transfer_model) == {}


def test_warns_when_a_base_called_with_training_false_has_trainable_bn(transfer_model):
    editor = TrainableEditor(transfer_model)
    editor.set_trainable("digits_base", True)
    warnings = bn_warnings(transfer_model)
    assert set(warnings) == {"digits_base", "digits_base/base_bn_1", "digits_base/base_bn_2"}
    assert "training=False" in warnings["digits_base/base_bn_1"]
    assert "ignores" in warnings["digits_base/base_bn_1"]
    assert "base_bn_1, base_bn_2" in warnings["digits_base"]
    editor.set_trainable(["digits_base/base_bn_1", "digits_base/base_bn_2"], False)
    assert bn_warnings(transfer_model) == {}


def test_warns_for_a_trainable_bn_inside_an_otherwise_frozen_base():
    model = nested_model()  # base is called without training=False
    editor = TrainableEditor(model)
    editor.set_trainable("base/base_bn", True)
    warnings = bn_warnings(model)
    assert list(warnings) == ["base/base_bn"]
    assert "inside 'base', whose other layers are frozen" in warnings["base/base_bn"]
    editor.set_trainable("base/base_dense", True)
    assert bn_warnings(model) == {}


def test_warning_texts_are_single_lines(transfer_model):
    TrainableEditor(transfer_model).set_trainable("digits_base/base_bn_2", True)
    warnings = bn_warnings(transfer_model)
    assert set(warnings) == {"digits_base", "digits_base/base_bn_2"}
    assert all("\n" not in text for text in warnings.values())


def test_top_level_bn_and_dropout_defaults_give_no_warning():
    model = small_cnn()
    assert bn_warnings(model) == {}
    assert bn_warnings(sequence_model()) == {}
