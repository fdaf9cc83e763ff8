"""The attribution API against independent ``tf.GradientTape`` computations on real models: a
CNN, a nested transfer model, the two-input model and sequence models with masking."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from inspector.attribution import grad_cam, integrated_gradients, saliency
from inspector.attribution.explain import ExplainRequest, explain_job, explain_setup_job, labels_beside
from inspector.attribution.gradients import AttributionError
from inspector.errors import InputDataError
from inspector.inputs.input_data import SampleSet, input_specs
from inspector.jobs import run_job
from inspector.tfimport import keras
from tests.conftest import SAMPLES
from tests.model_factory import sequence_model, two_input_model


@pytest.fixture(scope="module")
def cnn():
    return keras.saving.load_model(SAMPLES / "digits_cnn.keras")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 16, (6, 8, 8, 1)).astype("float32")


def tape_gradient(function, x, classes):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
        score = tf.gather(y, classes, axis=1, batch_dims=1)
    return tape.gradient(score, x).numpy(), score.numpy()


def test_saliency_is_the_gradient_magnitude_of_the_top_class(cnn, images):
    top = cnn(images).numpy().argmax(axis=1)
    expected, _ = tape_gradient(lambda x: cnn(x, training=False), images, top)
    np.testing.assert_allclose(saliency(cnn, images), np.abs(expected).max(axis=-1), rtol=1e-4, atol=1e-7)
    chosen = saliency(cnn, images, class_index=[2, 3, 4, 5, 6, 7])
    expected, _ = tape_gradient(lambda x: cnn(x, training=False), images, np.arange(2, 8))
    np.testing.assert_allclose(chosen, np.abs(expected).max(axis=-1), rtol=1e-4, atol=1e-7)


def test_smoothgrad_averages_noisy_gradients_and_differs_from_the_plain_one(cnn, images):
    smooth = saliency(cnn, images, smooth_samples=16, noise=0.2)
    assert smooth.shape == (6, 8, 8) and np.all(smooth >= 0)
    assert not np.allclose(smooth, saliency(cnn, images))
    np.testing.assert_array_equal(smooth, saliency(cnn, images, smooth_samples=16, noise=0.2))  # seeded


def test_grad_cam_matches_a_tape_on_the_layer_output(cnn, images):
    cam = grad_cam(cnn, images, "conv_2", class_index=4)
    names = [layer.name for layer in cnn.layers]
    with tf.GradientTape() as tape:  # the Sequential's layers called one by one
        feature = tf.constant(images)
        for layer in cnn.layers[: names.index("conv_2") + 1]:
            feature = layer(feature, training=False)
        tape.watch(feature)
        probs = feature
        for layer in cnn.layers[names.index("conv_2") + 1 :]:
            probs = layer(probs, training=False)
        score = probs[:, 4]
    grads = tape.gradient(score, feature).numpy()
    weights = grads.mean(axis=(1, 2), keepdims=True)
    expected = np.maximum((weights * feature.numpy()).sum(axis=-1), 0)
    assert cam.shape == feature.shape[:3]
    np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-7)


def test_grad_cam_reaches_inside_a_nested_model():
    model = keras.saving.load_model(SAMPLES / "transfer_digits.keras")
    x = np.random.default_rng(1).uniform(0, 16, (3, 8, 8, 1)).astype("float32")
    cam = grad_cam(model, x, "digits_base/base_relu_2")
    base = model.get_layer("digits_base")
    inner = keras.Model(base.inputs, [base.get_layer("base_relu_2").output, base.output])
    top = model(x).numpy().argmax(axis=1)
    with tf.GradientTape() as tape:
        feature, base_out = inner([x], training=False)
        y = base_out
        for name in ("gap", "dropout", "head"):
            y = model.get_layer(name)(y, training=False)
        score = tf.gather(y, top, axis=1, batch_dims=1)
    grads = tape.gradient(score, feature).numpy()
    expected = np.maximum((grads.mean(axis=(1, 2), keepdims=True) * feature.numpy()).sum(-1), 0)
    np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-7)


def test_integrated_gradients_sum_to_the_score_change(cnn, images):
    attributions = integrated_gradients(cnn, images, steps=200)
    assert attributions.shape == images.shape
    top = cnn(images).numpy().argmax(axis=1)
    rows = np.arange(len(images))
    change = cnn(images).numpy()[rows, top] - cnn(np.zeros_like(images)).numpy()[rows, top]
    np.testing.assert_allclose(attributions.reshape(len(images), -1).sum(axis=1), change, rtol=0.01, atol=1e-3)


def test_integrated_gradients_equal_a_riemann_sum_by_tape(cnn, images):
    steps = 8
    attributions = integrated_gradients(cnn, images[:2], steps=steps, class_index=1)
    total = np.zeros_like(images[:2])
    for k in range(steps + 1):
        weight = (0.5 if k in (0, steps) else 1.0) / steps
        grads, _ = tape_gradient(lambda x: cnn(x, training=False), images[:2] * (k / steps), np.array([1, 1]))
        total += weight * grads
    np.testing.assert_allclose(attributions, images[:2] * total, rtol=1e-4, atol=1e-6)


def test_two_inputs_get_one_array_each_for_a_named_output():
    model = two_input_model()
    rng = np.random.default_rng(2)
    image, aux = rng.uniform(0, 1, (4, 8, 8, 1)).astype("float32"), rng.uniform(0, 1, (4, 4)).astype("float32")
    parts = integrated_gradients(model, {"image_input": image, "aux_input": aux}, output="aux_output", steps=100)
    assert [p.shape for p in parts] == [image.shape, aux.shape]
    y1 = model([image, aux])[1].numpy()[:, 0]
    y0 = model([np.zeros_like(image), np.zeros_like(aux)])[1].numpy()[:, 0]
    total = sum(p.reshape(4, -1).sum(axis=1) for p in parts)
    np.testing.assert_allclose(total, y1 - y0, rtol=0.01, atol=1e-4)
    sal = saliency(model, [image, aux], output="main_output", class_index=3)
    x = [tf.constant(image), tf.constant(aux)]
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x)[0][:, 3]
    grads = tape.gradient(score, x)
    np.testing.assert_allclose(sal[0], np.abs(grads[0].numpy()).max(-1), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(sal[1], np.abs(grads[1].numpy()), rtol=1e-4, atol=1e-7)


def _masked_forward(model, embedded, mask):
    """The sequence model after its Embedding, with the mask given explicitly (an independent
    path through the same layers)."""
    x = model.get_layer("bilstm")(embedded, mask=mask, training=False)
    x = model.get_layer("per_step")(x, mask=mask, training=False)
    x = model.get_layer("gru")(x, mask=mask, training=False)
    return model.get_layer("topic")(x)


def test_token_attributions_come_from_the_embedding_with_padding_kept_out():
    model = sequence_model()
    tokens = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 11, 0, 0, 0], [3, 4, 0, 0, 0, 0]], dtype="int32")
    attributions = integrated_gradients(model, tokens, steps=300)
    assert attributions.shape == tokens.shape
    np.testing.assert_array_equal(attributions[tokens == 0], 0)
    embedding = model.get_layer("embedding")
    embedded, mask = embedding(tokens), tokens != 0
    top = model(tokens).numpy().argmax(axis=1)
    rows = np.arange(len(tokens))
    change = _masked_forward(model, embedded, mask).numpy()[rows, top] - _masked_forward(model, tf.zeros_like(embedded), mask).numpy()[rows, top]
    np.testing.assert_allclose(attributions.sum(axis=1), change, rtol=0.01, atol=1e-4)
    # Saliency: per token, the length of the gradient with respect to its embedding.
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        score = tf.gather(_masked_forward(model, embedded, mask), top, axis=1, batch_dims=1)
    expected = np.linalg.norm(tape.gradient(score, embedded).numpy(), axis=-1)
    np.testing.assert_allclose(saliency(model, tokens), expected, rtol=1e-4, atol=1e-7)


def test_bad_requests_say_what_is_wrong(cnn, images):
    with pytest.raises(AttributionError, match="no layer 'nope'"):
        grad_cam(cnn, images, "nope")
    with pytest.raises(AttributionError, match="no output named 'x'"):
        saliency(cnn, images, output="x")
    with pytest.raises(AttributionError, match="10 class"):
        saliency(cnn, images, class_index=12)
    with pytest.raises(AttributionError, match="takes 1 input"):
        saliency(cnn, [images, images])


def test_explain_job_reads_inputs_and_explains_two_classes():
    model = keras.saving.load_model(SAMPLES / "topic_rnn.keras")
    setup = run_job(explain_setup_job(model, SAMPLES / "topic_rnn.keras"))
    assert labels_beside(SAMPLES / "topic_rnn.keras").name == "topic_rnn_labels.txt"
    assert setup.outputs[0].class_names == ("cooking", "music", "space", "sport")
    assert setup.cam_layers[-1].key == "gru_1"  # the last layer with a time axis
    tokens = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], dtype="int32")
    samples = SampleSet({"tokens": tokens}, ["a", "b"], tokens={"tokens": [["x", "y", "z", ""], ["u", "v", "", ""]]})
    request = ExplainRequest("integrated_gradients", classes=(None, 2), steps=20)
    records = []
    explanation = run_job(explain_job(model, input_specs(model), {"tokens": lambda: samples}, request), records.append)
    assert [c.tolist() for c in explanation.classes] == [model(tokens).numpy().argmax(1).tolist(), [2, 2]]
    assert explanation.maps[1][0].shape == (2, 4) and explanation.tokens == [True]
    assert records[-1].fraction == 1.0 and "Class 2 of 2" in records[-1].message
    with pytest.raises(InputDataError, match="4 class"):
        run_job(explain_job(model, input_specs(model), {"tokens": lambda: samples}, ExplainRequest("saliency", classes=(7,))))


KERAS_HUB_CHECK = """
import numpy as np, keras_hub
from inspector.attribution import integrated_gradients, saliency
backbone = keras_hub.models.BertBackbone(
    vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=16
)
model = keras_hub.models.BertTextClassifier(backbone, num_classes=3, preprocessor=None)
inputs = {
    "token_ids": np.array([[2, 5, 7, 9, 0, 0], [2, 8, 0, 0, 0, 0]], "int32"),
    "segment_ids": np.zeros((2, 6), "int32"),
    "padding_mask": np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], "int32"),
}
mask, segments, tokens = integrated_gradients(model, inputs, steps=8)  # in the model's input order
assert not mask.any(), "the padding mask is passed as given, not attributed"
assert tokens.shape == (2, 6) and np.abs(tokens[inputs["padding_mask"] == 1]).min() > 0
assert not tokens[inputs["padding_mask"] == 0].any(), "masked positions get nothing"
assert saliency(model, inputs)[2].shape == (2, 6)
print("ok")
"""


def test_a_keras_hub_classifier_attributes_its_tokens_and_passes_its_padding_mask():
    """A KerasHub text classifier (dict inputs: token ids, segment ids, padding mask), built
    offline in another process so that this one does not register KerasHub's classes."""
    import importlib.util
    import subprocess
    import sys

    from tests.conftest import ROOT

    if importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras-hub is not installed (it is in the test extra)")
    done = subprocess.run([sys.executable, "-c", KERAS_HUB_CHECK], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_logits_explain_the_score_before_the_final_softmax(cnn, images):
    names = [layer.name for layer in cnn.layers]
    probs = cnn.get_layer("probs")
    x = tf.constant(images)
    with tf.GradientTape() as tape:  # the CNN up to its last Dense, without the softmax
        tape.watch(x)
        hidden = x
        for layer in cnn.layers[: names.index("probs")]:
            hidden = layer(hidden, training=False)
        logits = tf.matmul(hidden, probs.kernel) + probs.bias
        score = logits[:, 2]
    expected = np.abs(tape.gradient(score, x).numpy()).max(axis=-1)
    np.testing.assert_allclose(saliency(cnn, images, class_index=2, logits=True), expected, rtol=1e-4, atol=1e-7)
    assert probs.activation.__name__ == "softmax", "the model is left as it was"
    np.testing.assert_allclose(cnn(images).numpy().sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(AttributionError, match="does not end with a softmax"):
        saliency(two_input_model(), [images[:, :, :, :1], np.zeros((6, 4), "float32")], output="aux_output", logits=True)
