"""Feature extractors, transfer heads and replaced output layers built on real Keras models."""

import re

import numpy as np
import pytest

from inspector.tfimport import keras

from inspector.jobs import run_job
from inspector.model.jobs import open_model_job
from inspector.model.loading import load
from inspector.model.saving import save_model
from inspector.model.transfer import (
    HeadSpec,
    TransferError,
    build_model,
    build_transfer_model,
    feature_extractor,
    replace_output_layer,
)
from tests.conftest import ROOT, SAMPLES
from tests.model_factory import nested_model, sequence_model

DATA = ROOT / "resources" / "data"


@pytest.fixture(scope="module")
def samples():
    """Each bundled ``.keras`` sample, loaded once, by file stem."""
    return {path.stem: load(path).model for path in sorted(SAMPLES.glob("*.keras"))}


@pytest.fixture(scope="module")
def digits():
    """Eight real digit images, scaled 0..16 as the image samples expect."""
    files = sorted((DATA / "digits").glob("*/*.png"))[::200][:8]
    images = [np.asarray(keras.utils.load_img(f, color_mode="grayscale"), "float32") * 16 / 255 for f in files]
    return np.stack(images)[..., None]


@pytest.fixture(scope="module")
def aux():
    return np.random.default_rng(0).random((8, 4)).astype("float32")


@pytest.fixture(scope="module")
def sentences():
    """Four real sentences as padded token ids, the way topic_rnn was trained."""
    vocab = {word: i + 2 for i, word in enumerate((SAMPLES / "topic_rnn_vocab.txt").read_text().split("\n"))}
    rows = (DATA / "topics.tsv").read_text().splitlines()[1:5]
    tokens = np.zeros((4, 20), "int32")
    for i, row in enumerate(rows):
        words = re.findall(r"[a-z']+", row.split("\t")[0].lower())[:20]
        tokens[i, : len(words)] = [vocab.get(w, 1) for w in words]
    return tokens


def predict(model, x):
    return keras.tree.map_structure(np.asarray, model(x, training=False))


def layer_names(model):
    return [layer.name for layer in model.layers]


# Feature extractors -------------------------------------------------------------------------


def test_single_input_cut_of_two_input_model_keeps_only_that_input(samples, digits):
    model = samples["two_input_two_output"]
    extractor = feature_extractor(model, "flatten")

    assert [t.name for t in extractor.inputs] == ["image_input"]
    by_hand = keras.Model(model.get_layer("image_input").output, model.get_layer("flatten").output)
    np.testing.assert_allclose(predict(extractor, digits), predict(by_hand, digits), rtol=1e-6)


def test_cut_after_merge_needs_both_inputs(samples, digits, aux):
    model = samples["two_input_two_output"]
    extractor = feature_extractor(model, "merge")

    assert [t.name for t in extractor.inputs] == ["image_input", "aux_input"]
    by_hand = keras.Model(model.input, model.get_layer("merge").output)
    np.testing.assert_allclose(predict(extractor, [digits, aux]), predict(by_hand, [digits, aux]), rtol=1e-6)


def test_cut_inside_a_nested_model_composes_the_inner_cut(samples, digits):
    model = samples["transfer_digits"]
    extractor = feature_extractor(model, "digits_base/base_conv_1")

    base = model.get_layer("digits_base")
    by_hand = keras.Model(base.input, base.get_layer("base_conv_1").output)
    assert extractor.output.shape == (None, 8, 8, 16)
    np.testing.assert_allclose(predict(extractor, digits), predict(by_hand, digits), rtol=1e-6)


def test_each_call_of_a_shared_layer_and_a_nested_sequential_layer():
    model = nested_model()
    x = np.random.default_rng(1).random((5, 6)).astype("float32")
    shared = model.get_layer("shared")
    for call in (0, 1):
        by_hand = keras.Model(model.input, shared._inbound_nodes[call].outputs[0])
        np.testing.assert_allclose(predict(feature_extractor(model, "shared", call), x), predict(by_hand, x), rtol=1e-6)

    # head/head_dense is the last layer of the nested Sequential, so it gives the model's output.
    np.testing.assert_allclose(predict(feature_extractor(model, "head/head_dense"), x), predict(model, x), rtol=1e-6)


def test_cut_of_masked_sequence_model_keeps_the_mask(samples, sentences):
    model = samples["topic_rnn"]
    extractor = feature_extractor(model, "gru_2")

    by_hand = keras.Model(model.input, model.get_layer("gru_2").output)
    np.testing.assert_allclose(predict(extractor, sentences), predict(by_hand, sentences), rtol=1e-5, atol=1e-6)


def test_new_model_shares_no_layer_or_weight_with_the_original(samples):
    model = samples["digits_cnn"]
    before = [w.copy() for w in model.get_weights()]
    extractor = feature_extractor(model, "conv_2")

    for layer in extractor.layers:
        layer.trainable = False
        for variable in layer.weights:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    assert all(layer.trainable for layer in model.layers)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert not {id(layer) for layer in extractor.layers} & {id(layer) for layer in model.layers}


def test_model_with_a_lambda_layer_the_user_allowed_can_be_cut():
    inputs = keras.Input((3,))
    doubled = keras.layers.Lambda(lambda t: t * 2, name="double")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(doubled))
    x = np.arange(6, dtype="float32").reshape(2, 3)

    np.testing.assert_allclose(predict(feature_extractor(model, "double"), x), x * 2)


# Heads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pooling, dropout, units, expected_shape, head_layers",
    [
        ("avg", 0.3, 5, (None, 5), ["head_avg_pool", "head_dropout", "head_dense"]),
        ("max", 0.0, 5, (None, 5), ["head_max_pool", "head_dense"]),
        ("flatten", 0.0, 7, (None, 7), ["head_flatten", "head_dense"]),
        ("none", 0.0, 2, (None, 4, 4, 2), ["head_dense"]),
        ("avg", 0.0, None, (None, 32), ["head_avg_pool"]),
    ],
)
def test_head_layers_and_output_shape(samples, digits, pooling, dropout, units, expected_shape, head_layers):
    model = samples["digits_cnn"]
    head = HeadSpec(pooling=pooling, dropout=dropout, units=units, activation="softmax")
    new = build_transfer_model(model, "conv_2", head)

    assert layer_names(new)[-len(head_layers):] == head_layers
    assert new.output.shape == expected_shape
    assert predict(new, digits).shape == (len(digits),) + expected_shape[1:]
    assert not new.compiled


def test_base_is_frozen_and_only_the_head_trains(samples):
    new = build_transfer_model(samples["digits_cnn"], "pool_1", HeadSpec(pooling="avg", dropout=0.2, units=3))

    base = new.layers[: layer_names(new).index("pool_1") + 1]
    assert [layer.name for layer in base if layer.trainable] == ["image"]  # the InputLayer, no weights
    assert [v.path for v in new.trainable_weights] == ["head_dense/kernel", "head_dense/bias"]
    assert new.name == "digits_cnn_pool_1_transfer"


def test_unfrozen_base_keeps_the_original_trainable_flags(samples):
    model = samples["transfer_digits"]
    new = build_transfer_model(model, "gap", HeadSpec(pooling="none", units=4, freeze_base=False, name="mine"))

    assert new.name == "mine"
    assert not new.get_layer("digits_base").trainable  # frozen in the original
    assert new.get_layer("gap").trainable
    assert layer_names(new) == ["image", "digits_base", "gap", "head_dense"]


def test_head_names_avoid_names_already_in_the_base(samples):
    new = build_transfer_model(samples["transfer_digits"], "dropout", HeadSpec(pooling="none", dropout=0.5, units=2))

    assert layer_names(new)[-3:] == ["dropout", "head_dropout", "head_dense"]
    again = build_transfer_model(new, "head_dense", HeadSpec(pooling="none", dropout=0.5, units=2))
    assert layer_names(again)[-2:] == ["head_dropout_2", "head_dense_2"]


def test_transfer_model_saves_and_reloads_in_safe_mode(samples, tmp_path, digits):
    new = build_transfer_model(samples["transfer_digits"], "digits_base/base_relu_2", HeadSpec(units=3))
    path = save_model(new, tmp_path / "new.keras")
    reloaded = load(path).model  # safe_mode=True

    np.testing.assert_allclose(predict(reloaded, digits), predict(new, digits), rtol=1e-6)
    assert [layer.trainable for layer in reloaded.layers] == [layer.trainable for layer in new.layers]


# Replacing the output layer -----------------------------------------------------------------


def test_replace_output_layer_of_digits_cnn(samples, digits):
    model = samples["digits_cnn"]
    new = replace_output_layer(model, 3)

    assert new.output.shape == (None, 3)
    assert layer_names(new)[-2:] == ["dropout", "probs"]
    assert new.get_layer("probs").get_config()["activation"] == "softmax"
    assert [v.path for v in new.trainable_weights] == ["probs/kernel", "probs/bias"]
    np.testing.assert_allclose(predict(new, digits).sum(axis=1), 1.0, rtol=1e-5)
    features = keras.Model(model.inputs[0], model.get_layer("dropout").output)
    np.testing.assert_allclose(
        predict(keras.Model(new.input, new.get_layer("dropout").output), digits),
        predict(features, digits),
        rtol=1e-6,
    )


def test_replace_one_output_of_a_two_output_model(samples, digits, aux):
    new = replace_output_layer(samples["two_input_two_output"], 2, "sigmoid", output="main_output")

    assert [t.name for t in new.inputs] == ["image_input", "aux_input"]
    assert new.output.shape == (None, 2)
    assert predict(new, [digits, aux]).shape == (8, 2)


# Errors --------------------------------------------------------------------------------------


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.dense = keras.layers.Dense(2, name="dense")

    def call(self, x):
        return self.dense(x)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda s: feature_extractor(s["two_input_two_output"], "nope"), "no layer 'nope'"),
        (lambda s: feature_extractor(s["transfer_digits"], "digits_base/nope"), "no layer 'digits_base/nope'"),
        (lambda s: feature_extractor(s["two_input_two_output"], "image_input"), "is an input"),
        (lambda s: feature_extractor(s["transfer_digits"], "digits_base/base_image"), "is an input"),
        (lambda s: feature_extractor(s["topic_rnn"], "bilstm/forward_lstm"), "cut at 'bilstm' itself"),
        (lambda s: feature_extractor(s["digits_cnn"], "conv_1", call=1), "no call number 2"),
        (lambda s: replace_output_layer(s["two_input_two_output"], 3), "2 outputs ('main_output', 'aux_output')"),
        (lambda s: replace_output_layer(s["two_input_two_output"], 3, output="x"), "no output 'x'"),
        (lambda s: replace_output_layer(nested_model(), 3), "is a Sequential, not a Dense layer"),
        (lambda s: build_transfer_model(s["digits_cnn"], "flatten", HeadSpec(pooling="avg", units=2)),
         "needs a 3-D, 4-D or 5-D output"),
        (lambda s: build_transfer_model(s["topic_rnn"], "embedding", HeadSpec(pooling="flatten", units=2)),
         "Flatten needs a fixed output shape"),
        (lambda s: build_transfer_model(s["digits_cnn"], "conv_1", HeadSpec(pooling="mean")), "Unknown pooling"),
        (lambda s: feature_extractor(Subclassed(), "dense"), "without a layer graph"),
    ],
)
def test_errors_say_why(samples, build, message):
    with pytest.raises(TransferError, match=re.escape(message)):
        build(samples)


def test_two_output_layer_cannot_take_a_head():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(tokens)
    seq, state = keras.layers.GRU(3, return_state=True, name="gru")(x)
    model = keras.Model(tokens, [seq, state])

    assert len(feature_extractor(model, "gru").outputs) == 2
    with pytest.raises(TransferError, match="has 2 outputs; a head needs a layer with one output"):
        build_transfer_model(model, "gru", HeadSpec(pooling="none", units=2))


# Job -----------------------------------------------------------------------------------------


def test_the_kernels_build_job_saves_the_new_model_beside_and_reports_progress(tmp_path):
    from inspector.kernel.session import Session, build_job

    records = []
    file = run_job(build_job(Session(model=sequence_model()), tmp_path, layer_path="gru", head=HeadSpec(pooling="none", units=2)), records.append)

    assert [r.message for r in records][0] == "Building the new model…"
    assert file == tmp_path / "seq_gru_transfer.keras"
    opened = run_job(open_model_job(file))
    assert opened.info.name == "seq_gru_transfer"
    assert opened.info.params.trainable == 12  # only the new Dense(2) on 5 features
    assert set(opened.layout.positions) == set(opened.info.graph.nodes)


def test_build_model_replaces_the_output_layer(samples):
    model = build_model(samples["digits_cnn"], None, num_classes=4)

    assert model.output.shape == (None, 4)
    assert model.layers[-1].name == "probs"
