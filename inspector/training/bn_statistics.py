"""BatchNormalization audit against the user's data: do the moving statistics fit the inputs?

A BatchNormalization layer in inference mode normalises each channel with its moving mean and
variance, learned on the data it was trained on. When a pretrained base meets new data (other
images, other preprocessing), the statistics of what reaches the layer can be far from those:
this audit measures how far, layer by layer, so the user knows which layers to let adapt (or
whether the preprocessing is wrong).

The input of every BatchNormalization layer, at any depth, is computed by one
:class:`~inspector.activations.extraction.Extractor` in inference mode (``training=False``), batch by batch;
per-channel counts, means and sums of squared deviations are combined across batches (Chan's
parallel update, in float64), so memory stays bounded whatever the number of batches.

Per channel, with ``m``, ``v`` the moving mean and variance, ``μ``, ``σ²`` the data's mean and
(population) variance and ``ε`` the layer's epsilon:

- ``d = (μ − m) / sqrt(v + ε)``: the mean shift, in the layer's own standard deviations;
- ``r = (σ² + ε) / (v + ε)``: the variance ratio;
- ``KL = (r + d² − 1 − log r) / 2``: the Kullback–Leibler divergence of ``N(m, v)`` from
  ``N(μ, σ²)``, 0 when the data matches the statistics; it is the part of how far the layer's
  normalised output is from zero mean and unit variance that the layer is responsible for.

A layer's :attr:`BNShift.score` is the mean of ``KL`` over channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Generator, Iterable

import numpy as np

from inspector.errors import InputDataError
from inspector.jobs import Progress

_NOT_IN_GRAPH = (
    "not audited: the layer is not called in a layer graph Keras can read (inside a wrapper or a "
    "subclassed model), so its input cannot be computed"
)
_NO_DATA = "not audited: no data reached this layer"
FAR_SCORE = 0.5
"""A layer scoring above this is far from its moving statistics (a mean off by one standard
deviation scores 0.5)."""
_CLOSE = "Close to its moving statistics: this data suits the layer as it is."
_FAR_INPUT = "Far from its moving statistics, probably because the inputs are not scaled as the model expects. {problem}"
_FAR_FROZEN = (
    "Far from its moving statistics, and frozen, so it keeps normalising with them: check the "
    "preprocessing first; if it is right, unfreeze this layer so that fit adapts them to this data."
)
_FAR_TRAINABLE = (
    "Far from its moving statistics; trainable, so fit normalises with batch statistics and replaces "
    "them with this data's. Freeze it to keep the pretrained ones (then check the preprocessing)."
)


@dataclass(frozen=True)
class BNShift:
    """How far the data reaching one BatchNormalization layer is from its moving statistics.

    Attributes:
        layer: Path of the layer, as in :class:`~inspector.model.model_info.LayerInfo`.
        mean_shift: Mean over channels of ``|μ_data − moving_mean| / sqrt(moving_variance + ε)``.
        variance_ratio: Mean over channels of ``|log((σ²_data + ε) / (moving_variance + ε))|``
            (0 when the variances match; ``log 2 ≈ 0.69`` for a factor of two either way).
        score: Mean over channels of the Kullback–Leibler divergence described in the module
            docstring; the ranking key. NaN for a layer that could not be audited.
        channels: Number of channels.
        trainable: The layer's ``trainable`` flag (a frozen one runs in inference mode).
        data_mean: Per-channel mean of the layer's input over the data.
        data_variance: Per-channel population variance of the layer's input.
        moving_mean: The layer's moving mean.
        moving_variance: The layer's moving variance.
        count: How many values each channel's figures come from.
        note: Why the layer was not audited, or what to do about its shift.
    """

    layer: str
    mean_shift: float
    variance_ratio: float
    score: float
    channels: int
    trainable: bool
    data_mean: np.ndarray | None = field(default=None, compare=False, repr=False)
    data_variance: np.ndarray | None = field(default=None, compare=False, repr=False)
    moving_mean: np.ndarray | None = field(default=None, compare=False, repr=False)
    moving_variance: np.ndarray | None = field(default=None, compare=False, repr=False)
    count: int = 0
    note: str = ""

    @property
    def audited(self) -> bool:
        """Whether the layer's input was measured."""
        return self.data_mean is not None


def bn_layers(model) -> list[str]:
    """Paths of every BatchNormalization layer, at any depth, in model order."""
    from inspector.model.describe import walk_layers

    return [path for path, layer, _ in walk_layers(model) if _is_batch_norm(layer)]


@dataclass(frozen=True)
class _Source:
    """Where the input of one call of a BatchNormalization layer comes from: an extraction
    target (``key``) or a model input (``input_index``)."""

    key: str | None = None
    input_index: int | None = None


def bn_calls(model) -> dict[str, list[_Source]]:
    """For every BatchNormalization layer called in the model's graph (at any depth), where the
    input of each of its calls comes from.

    Args:
        model: A functional or Sequential Keras model.

    Returns:
        Sources by layer path; a layer outside any graph (inside a wrapper) is missing.
    """
    from inspector.model.describe import inner_graph_model

    graph = inner_graph_model(model)
    calls: dict[str, list[_Source]] = {}
    if graph is not None:
        outer = [_Source(input_index=i) for i in range(len(graph.inputs))]
        _collect_calls(graph, "", "", outer, calls)
    return calls


def _collect_calls(graph, prefix: str, layer_prefix: str, outer: list, calls: dict) -> None:
    """Adds the BatchNormalization calls of one graph, recursing into nested models.

    Args:
        graph: A functional graph.
        prefix: Node-id prefix of this graph (see :func:`~inspector.model.describe.graph_calls`).
        layer_prefix: Layer-path prefix of this graph.
        outer: The source of each of ``graph.inputs``, in top-level terms.
        calls: Filled in place.
    """
    from inspector.model.describe import graph_calls, inner_graph_model
    from inspector.tfimport import keras

    ordered = graph_calls(graph, prefix)
    node_ids = {id(node): node_id for _, node, node_id, _, _ in ordered}
    inputs = {id(_history_node(tensor)): i for i, tensor in enumerate(graph.inputs)}

    def source(tensor) -> _Source:
        op, _, tensor_index = tensor._keras_history
        node = _history_node(tensor)
        if id(node) in inputs:
            return outer[inputs[id(node)]]
        several = len(keras.tree.flatten(node.outputs)) > 1
        return _Source(key=node_ids[id(node)] + (f":{tensor_index}" if several else ""))

    for op, node, node_id, _, _ in ordered:
        path = f"{layer_prefix}{op.name}"
        if _is_batch_norm(op) and node.input_tensors:
            calls.setdefault(path, []).append(source(node.input_tensors[0]))
        inner = inner_graph_model(op)
        if inner is not None:
            sources = [source(tensor) for tensor in keras.tree.flatten(node.input_tensors)]
            _collect_calls(inner, f"{node_id}/", f"{path}/", sources, calls)


def _history_node(tensor):
    op, node_index, _ = tensor._keras_history
    return op._inbound_nodes[node_index]


class _Moments:
    """Per-channel count, mean and sum of squared deviations, combined batch by batch."""

    def __init__(self):
        self.count = 0.0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    CHUNK = 1 << 22
    """Values converted to float64 at a time, so a large feature map needs little extra memory."""

    def add(self, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Adds one batch of ``(positions, channels)`` values, with optional 0/1 position weights."""
        rows = max(1, self.CHUNK // max(values.shape[1], 1))
        for start in range(0, len(values), rows):
            chunk = values[start : start + rows].astype(np.float64)
            self._combine(*_chunk_moments(chunk, None if weights is None else weights[start : start + rows]))

    def _combine(self, n: float, mean: np.ndarray, m2: np.ndarray) -> None:
        if n == 0:
            return
        if self.mean is None:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def variance(self) -> np.ndarray | None:
        """Population variance per channel."""
        return None if self.mean is None else self.m2 / max(self.count, 1.0)


def _chunk_moments(values: np.ndarray, weights: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray]:
    """Count, per-channel mean and sum of squared deviations of ``(positions, channels)`` values."""
    if weights is None:
        n = float(len(values))
        mean = values.mean(axis=0)
        return n, mean, ((values - mean) ** 2).sum(axis=0)
    w = weights.astype(np.float64).reshape(-1, 1)
    n = float(w.sum())
    mean = (values * w).sum(axis=0) / max(n, 1.0)
    return n, mean, (w * (values - mean) ** 2).sum(axis=0)


def bn_shift_job(
    model, batches: Iterable, max_batches: int = 20, range_problem: str = ""
) -> Generator[Progress, None, list[BNShift]]:
    """Measures how far the data reaching each BatchNormalization layer is from its moving
    statistics.

    Args:
        model: A functional or Sequential Keras model.
        batches: Model inputs, batch by batch: an array (one-input models), a list of arrays in
            ``model.inputs`` order, a dict by input name, a
            :class:`~inspector.inputs.input_data.SampleSet`, or an ``(x, y)`` / ``(x, y, weights)``
            tuple of one of those (``x`` is taken). Raw inputs: the model's own preprocessing
            layers run.
        max_batches: At most this many batches are read.
        range_problem: Why the inputs are not in the range the model expects (see
            :func:`~inspector.inputs.input_range.range_warnings`), or empty; quoted in the note of each
            layer far from its statistics.

    Returns:
        One entry per BatchNormalization layer, highest :attr:`BNShift.score` first; layers
        that could not be audited come last with a note. Empty for a model without one.

    Raises:
        InputDataError: No batch was given, or a batch does not fit the model's inputs.
    """
    paths = bn_layers(model)
    if not paths:
        return []
    yield Progress(f"Finding the inputs of {len(paths)} BatchNormalization layers…")
    from inspector.model.describe import walk_layers

    layers = {path: layer for path, layer, _ in walk_layers(model)}
    calls = bn_calls(model)
    keys = sorted({s.key for sources in calls.values() for s in sources if s.key is not None})
    extractor, inputs_spec = _extractor(model, keys)
    moments = {path: _Moments() for path in calls}
    total = _batch_total(batches, max_batches)
    done = 0
    for batch in batches:
        if done >= max_batches:
            break
        inputs = _model_inputs(batch, inputs_spec)
        outputs, masks = _run(extractor, inputs)
        by_key = {key: (outputs[i], masks[i]) for i, key in enumerate(keys)}
        for path, sources in calls.items():
            for source in sources:
                values, mask = by_key[source.key] if source.key is not None else (inputs[source.input_index], None)
                _add(moments[path], layers[path], values, mask)
        done += 1
        yield Progress(f"BatchNormalization audit: batch {done}/{total or '?'}", done / total if total else None)
    if done == 0:
        raise InputDataError("No data to audit the BatchNormalization layers with: the batches are empty")
    shifts = [_with_advice(_shift(path, layers[path], moments.get(path)), range_problem) for path in paths]
    return sorted(shifts, key=lambda s: (np.isnan(s.score), -np.nan_to_num(s.score, nan=0.0)))


def _extractor(model, keys: list[str]):
    """The extractor for the BatchNormalization inputs (``None`` when every one is a model
    input), and the name and NumPy dtype of each model input in the order it takes them."""
    from inspector.model.describe import inner_graph_model
    from inspector.activations.extraction import Extractor
    from inspector.inputs.input_data import dtype_name, numpy_dtype
    from inspector.memory import collection_paused

    graph_inputs = inner_graph_model(model).inputs
    spec = [(tensor.name, numpy_dtype(dtype_name(tensor.dtype))) for tensor in graph_inputs]
    if not keys:
        return None, spec
    with collection_paused():
        extractor = Extractor(model, keys)
    return extractor, spec


def _run(extractor, inputs: list[np.ndarray]) -> tuple[list, list]:
    if extractor is None:
        return [], []
    try:
        outputs, masks, _ = extractor.run(inputs)
    except (ValueError, TypeError) as error:
        raise InputDataError(f"The data does not fit the model: {str(error).strip().splitlines()[0]}") from error
    return outputs, masks


def _batch_total(batches: Iterable, max_batches: int) -> int | None:
    try:
        return min(len(batches), max_batches)  # type: ignore[arg-type]
    except TypeError:
        return None


def _model_inputs(batch, spec: list[tuple[str, np.dtype]]) -> list[np.ndarray]:
    """One array per model input, in ``spec`` order (name, dtype), numbers in the input's dtype."""
    from inspector.inputs.input_data import SampleSet

    names = [name for name, _ in spec]
    if isinstance(batch, tuple) and 2 <= len(batch) <= 3 and (len(names) == 1 or _is_structure(batch[0])):
        batch = batch[0]  # (x, y) or (x, y, sample_weight)
    if isinstance(batch, SampleSet):
        batch = batch.arrays
    if isinstance(batch, dict):
        missing = [name for name in names if name not in batch]
        if missing:
            raise InputDataError(
                f"The batch has no data for input {', '.join(missing)} (it has {', '.join(map(str, batch))})"
            )
        arrays = [batch[name] for name in names]
    elif isinstance(batch, (list, tuple)):
        arrays = list(batch)
    else:
        arrays = [batch]
    if len(arrays) != len(names):
        raise InputDataError(f"The model takes {len(names)} inputs ({', '.join(names)}); the batch has {len(arrays)}")
    return [
        np.asarray(array, dtype=dtype if dtype.kind in "biuf" else None) for array, (_, dtype) in zip(arrays, spec)
    ]


def _is_structure(value) -> bool:
    from inspector.inputs.input_data import SampleSet

    return isinstance(value, (list, tuple, dict, SampleSet))


def _add(moments: _Moments, layer, values: np.ndarray, mask: np.ndarray | None) -> None:
    """Adds one batch of a layer's input, channels on the layer's axis, masked positions out."""
    values = np.asarray(values)
    axis = _channel_axis(layer, values.ndim)
    weights = None
    if mask is not None and axis == values.ndim - 1 and mask.shape == values.shape[: mask.ndim]:
        weights = np.broadcast_to(mask.reshape(mask.shape + (1,) * (values.ndim - 1 - mask.ndim)), values.shape[:-1])
    channels = np.moveaxis(values, axis, -1).reshape(-1, values.shape[axis])
    moments.add(channels, None if weights is None else weights.reshape(-1))


def _channel_axis(layer, ndim: int) -> int:
    axis = layer.axis
    if isinstance(axis, (list, tuple)):
        axis = axis[0]
    return int(axis) % ndim


def _shift(path: str, layer, moments: _Moments | None) -> BNShift:
    moving_mean = np.asarray(layer.moving_mean.numpy(), dtype=np.float64).reshape(-1)
    moving_variance = np.asarray(layer.moving_variance.numpy(), dtype=np.float64).reshape(-1)
    channels, trainable = int(moving_mean.size), bool(layer.trainable)
    if moments is None or moments.mean is None:
        note = _NOT_IN_GRAPH if moments is None else _NO_DATA
        nan = float("nan")
        return BNShift(path, nan, nan, nan, channels, trainable, None, None, moving_mean, moving_variance, 0, note)
    eps = float(layer.epsilon)
    mean, variance = moments.mean.reshape(-1), moments.variance.reshape(-1)
    d = (mean - moving_mean) / np.sqrt(moving_variance + eps)
    r = (variance + eps) / (moving_variance + eps)
    kl = 0.5 * (r + d**2 - 1.0 - np.log(r))
    return BNShift(
        layer=path,
        mean_shift=float(np.mean(np.abs(d))),
        variance_ratio=float(np.mean(np.abs(np.log(r)))),
        score=float(np.mean(kl)),
        channels=channels,
        trainable=trainable,
        data_mean=mean,
        data_variance=variance,
        moving_mean=moving_mean,
        moving_variance=moving_variance,
        count=int(moments.count),
    )


def _with_advice(shift: BNShift, range_problem: str) -> BNShift:
    """The shift with a note on what to do about it (a layer not audited keeps its reason)."""
    if not shift.audited:
        return shift
    if shift.score <= FAR_SCORE:
        note = _CLOSE
    elif range_problem:
        note = _FAR_INPUT.format(problem=range_problem)
    else:
        note = _FAR_FROZEN if not shift.trainable else _FAR_TRAINABLE
    return replace(shift, note=note)


def _is_batch_norm(layer) -> bool:
    from inspector.tfimport import keras

    return isinstance(layer, keras.layers.BatchNormalization)
