"""Extracting layer outputs: compared with hand-built Keras sub-models, masks, streaming to disk."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.model.describe import build_graph, walk_layers
from inspector.errors import InputDataError
from inspector.activations.extraction import (
    Extractor,
    embedding_vectors,
    export_npy,
    export_npz,
    extract_job,
    extraction_targets,
    plan_extraction,
)
from inspector.inputs.input_data import SampleSet
from inspector.jobs import run_job
from inspector.model.loading import load
from inspector.tfimport import keras
from tests import model_factory


def _extract(model, keys, arrays, **plan_options):
    extractor = Extractor(model, keys)
    samples = SampleSet(arrays=arrays, names=[f"row {i}" for i in range(len(next(iter(arrays.values()))))])
    plan = plan_extraction(extractor, samples, **plan_options)
    return run_job(extract_job(extractor, samples, plan, batch_size=4)), plan


@pytest.fixture(scope="module")
def two_input(samples_dir):
    return load(samples_dir / "two_input_two_output.keras").model


@pytest.fixture(scope="module")
def topic_rnn(samples_dir):
    return load(samples_dir / "topic_rnn.keras").model


def _two_input_arrays(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "image_input": rng.uniform(0, 16, (n, 8, 8, 1)).astype("float32"),
        "aux_input": rng.normal(size=(n, 4)).astype("float32"),
    }


def test_targets_follow_the_graph_and_skip_inputs(two_input):
    keys = [target.key for target in extraction_targets(two_input)]
    assert "image_input" not in keys and "aux_input" not in keys
    assert {"main_output", "aux_output"} <= set(keys)
    assert keys.index("main_output") > keys.index(keys[0])


def test_two_input_model_matches_a_hand_built_sub_model(two_input):
    keys = ["conv", "merge", "main_output", "aux_output"]
    arrays = _two_input_arrays()
    result, plan = _extract(two_input, keys, arrays)
    reference = keras.Model(two_input.inputs, [two_input.get_layer(k).output for k in keys])
    expected = reference.predict([arrays["image_input"], arrays["aux_input"]], verbose=0)
    assert not plan.to_disk
    for key, want in zip(keys, expected):
        np.testing.assert_allclose(result.values[key], want, rtol=1e-5, atol=1e-5)
    assert result.complete == 10


def test_nested_models_and_shared_layers(tmp_path):
    model = model_factory.nested_model()
    calls_before = {path: len(layer._inbound_nodes) for path, layer, _ in walk_layers(model)}
    graph_before = build_graph(model)
    keys = ["shared", "shared@2", "base/base_dense", "base/base_bn", "head/head_dense"]
    x = np.random.default_rng(1).normal(size=(7, 6)).astype("float32")
    result, _ = _extract(model, keys, {model.inputs[0].name: x})

    shared, base, head = model.get_layer("shared"), model.get_layer("base"), model.get_layer("head")
    once = shared(x)
    twice = shared(once)
    np.testing.assert_allclose(result.values["shared"], once, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.values["shared@2"], twice, rtol=1e-5, atol=1e-6)
    dense = base.get_layer("base_dense")(twice)
    np.testing.assert_allclose(result.values["base/base_dense"], dense, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.values["base/base_bn"], base(twice), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.values["head/head_dense"], head(base(twice)), rtol=1e-5, atol=1e-5)
    # Building the extractor leaves the inspected model's graph as it was.
    assert {path: len(layer._inbound_nodes) for path, layer, _ in walk_layers(model)} == calls_before
    assert build_graph(model) == graph_before


def test_nested_sample_matches_the_base_model(samples_dir):
    model = load(samples_dir / "transfer_digits.keras").model
    base = model.get_layer("digits_base")
    x = np.random.default_rng(2).uniform(0, 16, (5, 8, 8, 1)).astype("float32")
    result, _ = _extract(model, ["digits_base/base_relu_1", "gap"], {model.inputs[0].name: x})
    inner = keras.Model(base.inputs, base.get_layer("base_relu_1").output)
    np.testing.assert_allclose(result.values["digits_base/base_relu_1"], inner([x]), rtol=1e-5, atol=1e-5)
    stats = result.stats["digits_base/base_relu_1"]
    values = np.asarray(result.values["digits_base/base_relu_1"])
    np.testing.assert_allclose(stats.zero_fraction, (values == 0).mean(axis=(0, 1, 2)), atol=1e-6)
    np.testing.assert_allclose(stats.mean, values.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    assert stats.activation == "relu" or stats.activation is None


def test_sequence_masks_match_keras(topic_rnn):
    tokens = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8]], dtype="int32")
    keys = ["embedding", "bilstm", "gru_1", "gru_2"]
    result, _ = _extract(topic_rnn, keys, {"tokens": tokens})
    expected_mask = np.asarray(topic_rnn.get_layer("embedding").compute_mask(tokens))
    for key in ("embedding", "bilstm", "gru_1"):
        np.testing.assert_array_equal(result.masks[key], expected_mask)
    assert result.masks["gru_2"] is None
    reference = keras.Model(topic_rnn.inputs, [topic_rnn.get_layer(k).output for k in keys]).predict(tokens, verbose=0)
    for key, want in zip(keys, reference):
        np.testing.assert_allclose(result.values[key], want, rtol=1e-4, atol=1e-5)
    bilstm = result.target("bilstm")
    assert bilstm.halves == ("forward", "backward")
    assert bilstm.activation == "tanh"
    # Statistics leave padding out: the embedding of token 0 must not count.
    embedded = np.asarray(result.values["embedding"])[expected_mask]
    np.testing.assert_allclose(result.stats["embedding"].mean, embedded.mean(axis=0), rtol=1e-4, atol=1e-6)
    pooled = embedding_vectors(result, "embedding", "mean")
    np.testing.assert_allclose(pooled[1], np.asarray(result.values["embedding"])[1, :2].mean(axis=0), rtol=1e-5)


def test_streaming_to_disk_gives_the_same_numbers(two_input, tmp_path):
    keys = ["merge", "main_output"]
    arrays = _two_input_arrays(n=9, seed=3)
    in_memory, _ = _extract(two_input, keys, arrays)
    on_disk, plan = _extract(two_input, keys, arrays, folder=tmp_path / "acts", memory_limit=0)
    assert plan.to_disk and plan.warning is None
    files = sorted(p.name for p in on_disk.folder.glob("*.npy"))
    assert files == ["main_output.npy", "merge.npy"]
    for key in keys:
        assert isinstance(on_disk.values[key], np.memmap)
        np.testing.assert_array_equal(on_disk.values[key], in_memory.values[key])
        np.testing.assert_array_equal(on_disk.stats[key].mean, in_memory.stats[key].mean)
    folder = on_disk.folder
    on_disk.close()
    assert not folder.exists()


def test_a_request_larger_than_the_disk_is_flagged(two_input, tmp_path, monkeypatch):
    import shutil

    extractor = Extractor(two_input, ["merge"])
    samples = SampleSet(arrays=_two_input_arrays(n=4), names=list("abcd"))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 1))
    plan = plan_extraction(extractor, samples, folder=tmp_path, memory_limit=0)
    assert plan.to_disk and "free" in plan.warning and "per input" in plan.warning


def test_cancelling_removes_partial_files(two_input, tmp_path):
    extractor = Extractor(two_input, ["merge"])
    samples = SampleSet(arrays=_two_input_arrays(n=12), names=[str(i) for i in range(12)])
    plan = plan_extraction(extractor, samples, folder=tmp_path, memory_limit=0)
    job = extract_job(extractor, samples, plan, batch_size=4)
    next(job), next(job)
    assert list(tmp_path.rglob("*.npy"))
    job.close()
    assert not list(tmp_path.rglob("*.npy"))


def test_wrong_shapes_are_reported_not_crashed(two_input):
    extractor = Extractor(two_input, ["merge"])
    arrays = {"image_input": np.zeros((2, 8, 8, 1), "float32"), "aux_input": np.zeros((2, 5), "float32")}
    samples = SampleSet(arrays=arrays, names=["a", "b"])
    with pytest.raises((InputDataError, ValueError)):
        plan = plan_extraction(extractor, samples)
        run_job(extract_job(extractor, samples, plan))


def test_unknown_key_is_refused(two_input):
    with pytest.raises(KeyError, match="nope"):
        Extractor(two_input, ["nope"])


def test_exports_round_trip(two_input, tmp_path):
    keys = ["merge", "main_output"]
    result, _ = _extract(two_input, keys, _two_input_arrays(n=5))
    single = np.load(export_npy(result, "merge", tmp_path / "merge.npy"))
    np.testing.assert_array_equal(single, result.values["merge"])
    with np.load(export_npz(result, keys, tmp_path / "all.npz")) as archive:
        assert list(archive["sample_names"]) == [f"row {i}" for i in range(5)]
        np.testing.assert_array_equal(archive["main_output"], result.values["main_output"])
    flat = embedding_vectors(result, "merge")
    assert flat.shape == (5, result.values["merge"].shape[1])
