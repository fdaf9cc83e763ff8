"""Model descriptions and the --summary JSON agree with Keras itself (no Qt)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from inspector.model.describe import describe
from inspector.model.graph_layout import layout_graph, visible_nodes
from tests.conftest import ROOT
from tests.model_factory import nested_model, save, sequence_model, two_input_model


def _trainable_count(weights):
    return sum(int(w.numpy().size) for w in weights)


@pytest.mark.parametrize("factory", [two_input_model, nested_model, sequence_model])
def test_counts_match_keras(factory):
    model = factory()
    info = describe(model)
    assert info.params.total == model.count_params()
    assert info.params.trainable == _trainable_count(model.trainable_weights)
    assert info.params.non_trainable == _trainable_count(model.non_trainable_weights)
    assert [layer.name for layer in info.layers] == [layer.name for layer in model.layers]
    for layer_info, layer in zip(info.layers, model.layers):
        assert layer_info.params == layer.count_params()
    assert [v.path for v in info.variables] == [v.path for v in model.weights]


def test_two_inputs_and_named_outputs():
    info = describe(two_input_model())
    assert [t.name for t in info.inputs] == ["image_input", "aux_input"]
    assert [t.name for t in info.outputs] == ["main_output", "aux_output"]
    concat = info.layer_index()["concat"]
    assert concat.inbound == ["flatten", "aux_input"]


def test_nested_models_shared_layers_and_frozen_base():
    info = describe(nested_model())
    layers = info.layer_index()
    assert layers["base"].kind == "model" and not layers["base"].trainable
    assert layers["base"].trainable_params == 0
    assert [c.name for c in layers["base"].children] == ["base_in", "base_dense", "base_bn"]
    assert layers["shared"].calls == 2
    nodes = info.graph.nodes
    assert {"shared", "shared@2"} <= set(nodes)
    assert nodes["shared@2"].label == "shared (call 2 of 2)"
    assert nodes["base"].is_group and nodes["head"].is_group
    assert nodes["base/base_dense"].group == "base"
    owner = {v.path: v.layer for v in info.variables}
    assert owner["base_dense/kernel"] == "base/base_dense"


def test_expanding_a_nested_model_routes_edges_to_its_inner_layers():
    info = describe(nested_model())
    collapsed = set(visible_nodes(info.graph, set()))
    assert "base" in collapsed and "base/base_dense" not in collapsed
    layout = layout_graph(info.graph, {"base"})
    assert "base/base_dense" in layout.positions and "base" not in layout.positions
    routes = {(e.source, e.target) for e, _ in layout.edges}
    assert ("shared@2", "base/base_in") in routes
    assert ("base/base_bn", "head") in routes
    assert set(layout.groups["base"]) == {"base/base_in", "base/base_dense", "base/base_bn"}


def test_the_layer_index_is_made_once_and_does_not_travel():
    info = describe(nested_model())
    before = pickle.dumps(info, protocol=5)
    index = info.layer_index()
    assert info.layer_index() is index and "base/base_bn" in index
    sent = pickle.dumps(info, protocol=5)
    assert sent == before, "the index was pickled"
    copy = pickle.loads(sent)
    assert copy == info and copy.layer_index() == index and copy.layer_index() is not index


def test_wrappers_show_their_inner_layers():
    layers = describe(sequence_model()).layer_index()
    forward, backward = layers["bilstm"].children
    assert forward.name.startswith("forward_lstm") and backward.name.startswith("backward_lstm")
    assert layers["bilstm"].kind == "wrapper"
    assert [c.class_name for c in layers["per_step"].children] == ["Dense"]


def _summary(*files):
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--summary", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_summary_json_matches_keras(tmp_path):
    model = nested_model()
    path = save(model, tmp_path, "nested.keras")
    run = _summary(path)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["file"] == str(path) and summary["format"] == "keras"
    assert summary["params"]["total"] == model.count_params()
    assert summary["params"]["trainable"] == _trainable_count(model.trainable_weights)
    assert len(summary["layers"]) == len(model.layers)
    base = next(layer for layer in summary["layers"] if layer["name"] == "base")
    assert [child["name"] for child in base["layers"]] == ["base_in", "base_dense", "base_bn"]
    assert base["trainable"] is False and base["trainable_params"] == 0
    shared = next(layer for layer in summary["layers"] if layer["name"] == "shared")
    assert shared["inbound"] == ["x", "shared"]
    assert len(summary["variables"]) == len(model.weights)
    assert run.stderr == ""


def test_summary_of_a_bad_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    run = _summary(bad)
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [f"error: {bad}: it is a text file, not a Keras model (.keras or HDF5)"]


SAMPLE_FILES = sorted(p.name for p in (ROOT / "resources" / "samples").iterdir() if p.suffix in (".keras", ".h5"))


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_bundled_sample_opens_and_matches_keras(name):
    from inspector.jobs import run_job
    from inspector.model.jobs import open_model_job
    from inspector.tfimport import keras

    path = ROOT / "resources" / "samples" / name
    opened = run_job(open_model_job(path))
    reference = keras.saving.load_model(path, compile=False)
    assert opened.info.params.total == reference.count_params()
    assert len(opened.info.layers) == len(reference.layers)
    assert set(opened.layout.positions) <= set(opened.info.graph.nodes)
    assert opened.info.compiled


def test_calls_count_only_the_containing_graph(samples_dir):
    from inspector.jobs import run_job
    from inspector.model.jobs import open_model_job

    info = run_job(open_model_job(samples_dir / "digits_cnn.keras")).info
    assert info.layer_index()["conv_1"].calls == 1
    assert len(info.layer_index()["conv_1"].output_shapes) == 1


def test_refreshing_the_training_state_matches_a_new_description():
    from inspector.model.describe import refresh_training_state

    model = nested_model()
    info = describe(model)
    model.get_layer("shared").trainable = False
    model.get_layer("base").trainable = True
    refresh_training_state(info, model)
    fresh = describe(model)
    assert info.params == fresh.params
    assert [v.trainable for v in info.variables] == [v.trainable for v in fresh.variables]
    for path, layer in fresh.layer_index().items():
        mine = info.layer_index()[path]
        assert (mine.trainable, mine.trainable_params) == (layer.trainable, layer.trainable_params)
