"""The description read from a model file's configuration, before Keras loads it (no Qt)."""

from __future__ import annotations

import json
import zipfile

import pytest

from inspector.jobs import run_job
from inspector.model.config_graph import describe_config, layer_configs, preview_job
from inspector.model.describe import describe, walk_layers, _layer_config
from inspector.model.model_file import inspect_file
from inspector.tfimport import keras
from tests.model_factory import nested_model, save, sequence_model, two_input_model


def _loaded(path):
    return describe(keras.saving.load_model(path, compile=False))


@pytest.mark.parametrize(
    "factory, suffix",
    [(two_input_model, ".keras"), (two_input_model, ".h5"), (nested_model, ".keras"), (nested_model, ".h5"), (sequence_model, ".keras")],
)
def test_the_graph_from_the_file_is_the_graph_of_the_loaded_model(tmp_path, factory, suffix):
    path = save(factory(), tmp_path, f"model{suffix}")
    preview = describe_config(inspect_file(path).config)
    live = _loaded(path)
    assert preview.preview and not live.preview
    assert preview.graph.same_structure(live.graph)
    assert [n.label for n in preview.graph.nodes.values()] == [n.label for n in live.graph.nodes.values()]
    assert [layer.name for layer in preview.layers] == [layer.name for layer in live.layers]
    assert [(t.name, t.shape) for t in preview.inputs] == [(t.name, t.shape) for t in live.inputs]
    assert [t.name for t in preview.outputs] == [t.name for t in live.outputs]
    for path_, layer in preview.layer_index().items():
        assert layer.inbound == live.layer_index()[path_].inbound
    # Keras 3 files record the shape of every tensor between Functional layers; legacy HDF5
    # files and Sequential models record none, and the preview leaves those empty.
    live_edges = {(e.source, e.target, e.target_port): e.shape for e in live.graph.edges}
    known = [e for e in preview.graph.edges if e.shape]
    assert all(live_edges[(e.source, e.target, e.target_port)] == e.shape for e in known)
    if suffix == ".keras":
        assert len(known) >= len(preview.graph.edges) - 1  # the nested Sequential's one edge


def test_a_shared_layer_and_nested_models_keep_their_calls_and_ports(tmp_path):
    path = save(nested_model(), tmp_path, "nested.keras")
    graph = describe_config(inspect_file(path).config).graph
    assert graph.nodes["shared@2"].label == "shared (call 2 of 2)"
    assert graph.nodes["base"].is_group and graph.nodes["base/base_bn"].group == "base"
    assert graph.group_inputs["base"] == ["base/base_in"]
    assert graph.group_outputs["head"] == [("head/head_dense", 0)]


def test_layer_configurations_are_what_get_config_returns(tmp_path):
    path = save(nested_model(), tmp_path, "nested.keras")
    configs = layer_configs(inspect_file(path).config)
    model = keras.saving.load_model(path, compile=False)
    for layer_path, layer, _ in walk_layers(model):
        assert configs[layer_path] == _layer_config(layer), layer_path
    assert describe(model, configs=configs).layers == describe(model).layers


def test_objects_shared_by_layers_are_configured_as_get_config_returns_them(tmp_path):
    shared = keras.regularizers.L2(0.01)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, kernel_regularizer=shared, name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, kernel_regularizer=shared, name="second")(hidden))
    path = save(model, tmp_path, "shared.keras")
    with zipfile.ZipFile(path) as archive:
        assert b"shared_object_id" in archive.read("config.json"), "saving no longer marks shared objects"
    configs = layer_configs(inspect_file(path).config)
    loaded = keras.saving.load_model(path, compile=False)
    for name in ("first", "second"):
        assert configs[name] == _layer_config(loaded.get_layer(name))
    assert describe_config(inspect_file(path).config).layers[1].config == configs["first"]


def test_a_subclassed_or_malformed_configuration_has_no_preview():
    assert describe_config({"class_name": "MyModel", "config": {"units": 3}}) is None
    assert describe_config({"class_name": "Functional", "config": {"layers": "oops"}}) is None
    broken = {"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {}}]}]}]}}
    assert describe_config(broken) is None
    assert layer_configs(None) == {}


def _with_lambda(path, out):
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][2]["class_name"] = "Lambda"
                data = json.dumps(config).encode()
            target.writestr(item, data)
    return out


def test_preview_job_lays_out_the_graph_and_skips_files_with_code_or_damage(tmp_path):
    path = save(two_input_model(), tmp_path, "two.keras")
    preview = run_job(preview_job(path))
    assert set(preview.layout.positions) == set(preview.info.graph.nodes)
    assert preview.info.file == str(path)
    assert run_job(preview_job(_with_lambda(path, tmp_path / "code.keras"))) is None
    (tmp_path / "junk.keras").write_bytes(b"PK\x03\x04 not really a zip")
    assert run_job(preview_job(tmp_path / "junk.keras")) is None
    assert run_job(preview_job(tmp_path / "missing.keras")) is None
