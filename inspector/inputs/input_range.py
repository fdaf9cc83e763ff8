"""What range of values each model input expects, and whether a batch is far from it.

A model that rescales its own inputs says so in its graph: the first ``Rescaling`` or
``Normalization`` layer that an input reaches (through layers without weights such as
``Reshape``, ``Resizing`` or random augmentation, and into nested models) fixes the values the
model was trained on. The bundled samples follow this convention: their images are 0..16 and
each image model starts with ``Rescaling(1/16)``.

- ``Rescaling(scale, offset)`` is read as mapping ``[0, (1 − offset) / scale]`` onto
  ``[offset, 1]``: ``[0, 1]`` for ``Rescaling(1/255)`` and ``Rescaling(1/16)``, ``[-1, 1]`` for
  ``Rescaling(1/127.5, offset=-1)``.
- ``Normalization`` (adapted, not inverted) expects ``mean ± √3·std`` per channel: the range of
  uniform values with the layer's mean and variance.

Importing this module imports no TensorFlow; the functions need a live Keras model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from inspector.inputs.input_data import PREPROCESSING, preprocess

SPAN_FACTOR = 4.0
"""A batch whose span is this many times wider or narrower than the expected one is far off."""
INSIDE_SHARE = 0.5
"""A batch whose span lies less than this share inside the expected range is far off."""
_PIXELS = np.array([0.0, 255.0], dtype=np.float32)


@dataclass(frozen=True)
class ExpectedRange:
    """The values one model input was made for.

    Attributes:
        low: The lowest expected value.
        high: The highest expected value.
        layer: Path of the layer that says so (``"digits_base/base_rescale"``).
        what: That layer in a few words (``"Rescaling ×0.0625"``).
    """

    low: float
    high: float
    layer: str
    what: str

    def text(self) -> str:
        """``"0 to 16"``."""
        return f"{self.low:.3g} to {self.high:.3g}"


def expected_ranges(model) -> dict[str, ExpectedRange]:
    """The expected range of each model input whose values the model rescales itself.

    Args:
        model: A functional or Sequential Keras model.

    Returns:
        By input name; inputs that reach no ``Rescaling`` or ``Normalization`` layer before a
        layer with weights are missing.
    """
    from inspector.model.describe import inner_graph_model

    graph = inner_graph_model(model)
    if graph is None:
        return {}
    ranges = {}
    for tensor in graph.inputs:
        found = _first_scaling_layer(graph, tensor, "")
        if found is not None:
            expected = _layer_range(*found)
            if expected is not None:
                ranges[tensor.name] = expected  # the name input_specs gives the input
    return ranges


def _first_scaling_layer(graph, tensor, prefix: str):
    """Follows ``tensor`` through weightless single-input layers (and into nested models) to
    the first ``Rescaling`` or ``Normalization`` layer; ``(layer, path)`` or ``None``."""
    from inspector.model.describe import graph_calls, inner_graph_model
    from inspector.tfimport import keras

    calls = graph_calls(graph)
    while True:
        consumers = [(op, node) for op, node, *_ in calls if any(t is tensor for t in keras.tree.flatten(node.input_tensors))]
        if len(consumers) != 1:
            return None
        op, node = consumers[0]
        path = f"{prefix}{op.name}"
        if isinstance(op, (keras.layers.Rescaling, keras.layers.Normalization)):
            return op, path
        inner = inner_graph_model(op)
        if inner is not None and len(inner.inputs) == 1:
            return _first_scaling_layer(inner, inner.inputs[0], f"{path}/")
        outputs = keras.tree.flatten(node.outputs)
        if op.weights or len(keras.tree.flatten(node.input_tensors)) != 1 or len(outputs) != 1:
            return None
        tensor = outputs[0]


def _layer_range(layer, path: str) -> ExpectedRange | None:
    from inspector.tfimport import keras

    if isinstance(layer, keras.layers.Rescaling):
        scale, offset = float(np.mean(layer.scale)), float(np.mean(layer.offset))
        if not scale > 0:
            return None
        return ExpectedRange(0.0, (1.0 - offset) / scale, path, f"Rescaling ×{scale:.4g}" + (f" {offset:+g}" if offset else ""))
    if getattr(layer, "invert", False) or not hasattr(layer, "mean") or not layer.built:
        return None
    mean = np.asarray(layer.mean, dtype=np.float64).reshape(-1)
    spread = math.sqrt(3.0) * np.sqrt(np.asarray(layer.variance, dtype=np.float64).reshape(-1))
    return ExpectedRange(float((mean - spread).min()), float((mean + spread).max()), path, "Normalization")


def far_off(low: float, high: float, expected: ExpectedRange) -> bool:
    """Whether values from ``low`` to ``high`` are far from the expected range: their span is
    :data:`SPAN_FACTOR` times wider or narrower, or less than :data:`INSIDE_SHARE` of it lies
    inside."""
    span, wanted = high - low, expected.high - expected.low
    if wanted <= 0 or span <= 0:
        return False
    if span > SPAN_FACTOR * wanted or span * SPAN_FACTOR < wanted:
        return True
    inside = max(0.0, min(high, expected.high) - max(low, expected.low))
    return inside < INSIDE_SHARE * span


def range_warnings(model, inputs: dict[str, np.ndarray], preprocessing: str | None = None) -> list[str]:
    """One sentence per input whose batch values are far from what the model expects.

    Args:
        model: The Keras model.
        inputs: One batch by input name.
        preprocessing: The :data:`~inspector.inputs.input_data.PREPROCESSING` mode the images were
            read with, or ``None`` when the data are not images read by the app.

    Returns:
        The warnings, each naming the input, the batch's range, the expected range and what to
        choose instead.
    """
    warnings = []
    for name, expected in expected_ranges(model).items():
        values = np.asarray(inputs.get(name, ()))
        if values.dtype.kind not in "iuf":
            continue
        finite = values[np.isfinite(values)]
        if not finite.size or not far_off(float(finite.min()), float(finite.max()), expected):
            continue
        warnings.append(
            f"Input '{name}' gets values from {finite.min():.3g} to {finite.max():.3g} in the first batch, but the "
            f"model's layer '{expected.layer}' ({expected.what}) expects about {expected.text()}: "
            f"{advice(expected, preprocessing)}."
        )
    return warnings


def advice(expected: ExpectedRange, preprocessing: str | None) -> str:
    """What to choose so that the data lands in ``expected``.

    Args:
        expected: The range the model expects.
        preprocessing: The images' preprocessing mode, or ``None`` for other data.
    """
    if preprocessing is None:
        return f"scale the data to {expected.text()} before training"
    mode = suited_preprocessing(expected)
    if mode is not None:
        return f'choose Preprocessing "{PREPROCESSING[mode]}"'
    factor = (expected.high - expected.low) / 255.0
    rescale = f'check "Rescale ×" under Augmentation and set it to {factor:.4g} ({expected.high - expected.low:.4g}/255)'
    if preprocessing == "none":
        return rescale
    return f'choose Preprocessing "{PREPROCESSING["none"]}" and {rescale}'


def suited_preprocessing(expected: ExpectedRange) -> str | None:
    """The preprocessing mode that turns 0-255 pixels into about the expected range, if any."""
    for mode in PREPROCESSING:
        low, high = preprocess(_PIXELS.reshape(1, 1, 2, 1), mode).reshape(-1)
        if not far_off(float(low), float(high), expected) and abs(low - expected.low) <= 0.1 * (expected.high - expected.low):
            return mode
    return None
