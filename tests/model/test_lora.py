"""LoRA through the trainable editor, on real Keras models: counts against Keras, undo and
redo, training that moves only the adapters, saving that merges, adapter weights on their own."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.model.describe import describe
from inspector.model.freezing import TrainableEditor
from inspector.model.lora import LoraError, LoraSaved, read_lora_weights, save_lora_weights
from inspector.tfimport import keras
from inspector.training.weight_change import snapshot, weight_changes
from tests.model_factory import nested_model, sequence_model


def mlp():
    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    hidden = keras.layers.BatchNormalization(name="bn")(hidden)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(hidden)
    model = keras.Model(inputs, outputs, name="mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def values(model) -> dict[str, np.ndarray]:
    return {v.path: np.array(v.numpy()) for v in model.weights}


def test_enabling_lora_on_a_layer_adds_its_matrices_and_freezes_the_rest():
    model = mlp()
    editor = TrainableEditor(model)
    change = editor.enable_lora("hidden", rank=4, alpha=8)
    assert change.description == "Enable LoRA (rank 4) on hidden"
    hidden = model.get_layer("hidden")
    assert hidden.lora_enabled and hidden.lora_rank == 4 and hidden.lora_alpha == 8
    trainable = {v.path for v in model.trainable_weights}
    assert trainable == {"hidden/lora_kernel_a", "hidden/lora_kernel_b", "hidden/bias"}  # Keras keeps the bias
    info = describe(model)
    layer = info.layer_index()["hidden"]
    assert layer.lora.rank == 4 and layer.lora.alpha == 8
    assert set(layer.lora.variables) == {"hidden/lora_kernel_a", "hidden/lora_kernel_b"}
    assert info.params.trainable == 6 * 4 + 4 * 16 + 16 == sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert info.params.total == model.count_params()
    assert editor.modified and editor.needs_recompile


def test_undo_removes_the_adapters_and_redo_brings_back_their_values():
    model = mlp()
    before = values(model)
    flags_before = [layer.trainable for layer in model.layers]
    editor = TrainableEditor(model)
    editor.enable_lora(["hidden", "out"], rank=2)
    a = np.array(model.get_layer("hidden").lora_kernel_a.numpy())
    editor.undo()
    assert values(model).keys() == before.keys()
    assert not model.get_layer("hidden").lora_enabled
    assert [layer.trainable for layer in model.layers] == flags_before
    assert {v.path for v in model.trainable_weights} == {p for p in before if "moving" not in p}
    assert not editor.modified and not editor.needs_recompile
    editor.redo()
    np.testing.assert_array_equal(model.get_layer("hidden").lora_kernel_a.numpy(), a)
    assert model.get_layer("out").lora_enabled and editor.undo_description == "Enable LoRA (rank 2) on 2 layers"


def test_lora_on_a_nested_model_adapts_every_layer_inside_that_can_take_it():
    model = nested_model()
    editor = TrainableEditor(model)
    editor.enable_lora("head", rank=2, freeze_rest=True)
    assert set(editor.lora_layers()) == {"head/head_dense"}
    assert not model.get_layer("shared").trainable and not model.get_layer("base").trainable
    with pytest.raises(LoraError, match="BatchNormalization; LoRA goes on Dense"):
        editor.enable_lora("base/base_bn", rank=2)
    with pytest.raises(LoraError, match="already has LoRA"):
        editor.enable_lora("head/head_dense", rank=2)


def test_embeddings_and_wrapped_layers_take_lora():
    model = sequence_model()
    editor = TrainableEditor(model)
    editor.enable_lora(["embedding", "per_step"], rank=2)
    assert set(editor.lora_layers()) == {"embedding", "per_step/step_dense"}
    assert {v.path for v in model.trainable_weights} >= {"embedding/lora_embeddings_a", "embedding/lora_embeddings_b"}


def test_training_moves_only_the_adapters_and_the_biases_keras_leaves_trainable():
    model = mlp()
    editor = TrainableEditor(model)
    editor.enable_lora("hidden", rank=4)
    editor.recompile()
    before = values(model)
    start = snapshot(model)
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(64, 6)), rng.integers(0, 3, 64), epochs=2, verbose=0)
    after = values(model)
    changes = {change.layer: dict(change.variables) for change in weight_changes(model, start)}
    assert changes["hidden"]["hidden/kernel"] == 0 and changes["hidden"]["hidden/lora_kernel_b"] > 0  # what the view lists
    assert changes["out"]["out/kernel"] == 0
    moved = {path for path in before if not np.array_equal(before[path], after[path])}
    assert {"hidden/lora_kernel_a", "hidden/lora_kernel_b"} <= moved
    assert moved <= {"hidden/lora_kernel_a", "hidden/lora_kernel_b", "hidden/bias", "bn/moving_mean", "bn/moving_variance"}
    assert np.array_equal(before["hidden/kernel"], after["hidden/kernel"]) and np.array_equal(before["out/kernel"], after["out/kernel"])


def test_saving_merges_the_adapters_and_the_lora_weights_go_and_come_back_on_their_own(tmp_path):
    model = mlp()
    editor = TrainableEditor(model)
    editor.enable_lora("hidden", rank=4)
    hidden = model.get_layer("hidden")
    hidden.lora_kernel_b.assign(np.full((4, 16), 0.1, "float32"))
    x = np.random.default_rng(1).normal(size=(5, 6)).astype("float32")
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "merged.keras")
    reloaded = keras.saving.load_model(tmp_path / "merged.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert describe(reloaded).layer_index()["hidden"].lora.zero  # Keras zeroes them on load

    assert save_lora_weights(editor.lora_layers(), tmp_path / "adapters.lora.h5", model) == LoraSaved(1, keras_hub=False)
    (adapter,) = read_lora_weights(tmp_path / "adapters.lora.h5")
    assert adapter.path == "hidden" and adapter.rank == 4 and adapter.values[1].shape == (4, 16)
    fresh = mlp()
    target = TrainableEditor(fresh)
    change = target.load_lora(tmp_path / "adapters.lora.h5")
    assert change.description == "Load LoRA weights (1 layer)"
    np.testing.assert_array_equal(fresh.get_layer("hidden").lora_kernel_b.numpy(), np.full((4, 16), 0.1, "float32"))
    target.undo()
    assert not fresh.get_layer("hidden").lora_enabled


KERAS_HUB_LORA = """
import sys
from pathlib import Path
import numpy as np, keras_hub
from inspector.model.describe import describe
from inspector.model.freezing import TrainableEditor
from inspector.model.lora import LoraSaved, save_lora_weights

folder = Path(sys.argv[1])
def bert():
    return keras_hub.models.BertBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=16
    )

# The window's adapters, saved by the backbone's own save_lora_weights: KerasHub reads them back.
model = bert()
editor = TrainableEditor(model)
paths = [p for p in describe(model).layer_index() if p.startswith("transformer_layer_")]
assert len(paths) == 2, paths
editor.enable_lora(paths, rank=4)  # every Dense and EinsumDense inside the two encoder blocks
names = sorted({path.rsplit("/", 1)[-1] for path in editor.lora_layers()})
assert len(editor.lora_layers()) == 12 and "query" in names and "feedforward_output_dense" in names, names
rng = np.random.default_rng(0)
for layer in editor.lora_layers().values():
    layer.lora_kernel_b.assign(rng.normal(size=layer.lora_kernel_b.shape).astype("float32"))
saved = save_lora_weights(editor.lora_layers(), folder / "window.lora.h5", model)
assert saved == LoraSaved(12, keras_hub=True), saved
assert not hasattr(model, "_lora_enabled_layers"), "the backbone is left as it was"
theirs = bert()
theirs.enable_lora(4, target_layer_names=names)  # as a script that adapts the same layers would
theirs.load_lora_weights(str(folder / "window.lora.h5"))
mine = {p: layer for p, layer in editor.lora_layers().items()}
read_back = TrainableEditor(theirs).lora_layers()
assert mine.keys() == read_back.keys(), (mine.keys(), read_back.keys())
for path, layer in mine.items():
    np.testing.assert_array_equal(layer.lora_kernel_b.numpy(), read_back[path].lora_kernel_b.numpy())

# KerasHub's own file loads through the editor as one undoable change.
theirs.save_lora_weights(str(folder / "keras_hub.lora.h5"))
fresh = bert()
target = TrainableEditor(fresh)
change = target.load_lora(folder / "keras_hub.lora.h5")
assert change.description == "Load LoRA weights (12 layers)", change.description
loaded = target.lora_layers()
assert loaded.keys() == mine.keys()
for path, layer in loaded.items():
    assert layer.lora_rank == 4 and layer.lora_alpha == 4
    np.testing.assert_array_equal(layer.lora_kernel_b.numpy(), mine[path].lora_kernel_b.numpy())
target.undo()
assert not target.lora_layers()

# An alpha KerasHub's file cannot hold: the app's own file, by path.
other = bert()
other_editor = TrainableEditor(other)
other_editor.enable_lora(paths[:1], rank=4, alpha=8)
assert save_lora_weights(other_editor.lora_layers(), folder / "alpha.lora.h5", other) == LoraSaved(6, keras_hub=False)
print("ok")
"""


def test_a_keras_hub_backbone_saves_lora_weights_that_keras_hub_reads_and_loads_keras_hubs_own(tmp_path):
    """KerasHub's ``save_lora_weights`` / ``load_lora_weights`` and the window's adapters, both
    ways, on a BertBackbone built offline in another process (so that this one does not
    register KerasHub's classes)."""
    import importlib.util
    import subprocess
    import sys

    from tests.conftest import ROOT

    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras-hub is not installed (it is in the test extra)")
    done = subprocess.run([sys.executable, "-c", KERAS_HUB_LORA, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
