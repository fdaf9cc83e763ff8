"""Quantized layers and quantized copies, on real Keras models: sizes against float32, the
copy against the original, and filters."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.jobs import run_job
from inspector.model.describe import describe
from inspector.model.quantization import compare, quantize_copy_job
from inspector.tfimport import keras


def mlp():
    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(hidden)
    return keras.Model(inputs, outputs, name="mlp")


@pytest.mark.parametrize("mode, kernel_bytes", [("int8", 96), ("int4", 48), ("float8", None)])
def test_a_quantized_copy_opens_quantized_and_leaves_the_original(tmp_path, mode, kernel_bytes):
    model = mlp()
    file = run_job(quantize_copy_job(model, tmp_path, mode))
    assert file.name == f"mlp_{mode}.keras" and not any(l.quantization_mode for l in model.layers)
    copy = keras.saving.load_model(file, compile=False)
    hidden = describe(copy).layer_index()["hidden"].quantization
    assert hidden.mode == mode and hidden.policy.startswith(mode)
    assert hidden.float32_bytes == (6 * 16 + 16) * 4  # what the layer's weights take unquantized
    if kernel_bytes is not None:
        kernel = next(v for v in copy.get_layer("hidden").weights if v.name == "kernel")
        assert int(np.prod(kernel.shape)) == kernel_bytes and kernel.dtype == "int8"
        assert hidden.bytes < hidden.float32_bytes
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    result = compare(model, copy, [x])
    (output,) = result.outputs
    assert result.samples == 64 and output.name == "out"
    assert 0 < output.max_abs_diff < 0.2 and output.top1_agreement >= 0.8
    expected = np.max(np.abs(model.predict(x, verbose=0) - copy.predict(x, verbose=0)))
    assert output.max_abs_diff == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_filters_choose_the_layers_and_a_filter_matching_nothing_says_so(tmp_path):
    model = mlp()
    copy = keras.saving.load_model(run_job(quantize_copy_job(model, tmp_path, "int8", "hid.*")), compile=False)
    layers = describe(copy).layer_index()
    assert layers["hidden"].quantization is not None and layers["out"].quantization is None
    with pytest.raises(ValueError, match="no layer whose name matches 'nothing' can be quantized to int8"):
        run_job(quantize_copy_job(model, tmp_path, "int8", "nothing"))
