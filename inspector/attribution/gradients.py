"""Gradients of one output's class score with respect to the inputs, a layer, or the embeddings.

:class:`ScoreGradients` wraps a model once (which output, which layer, which inputs are token
ids) and computes, in one compiled TensorFlow call per batch of rows, the gradients that the
attribution methods need:

* for a float input, with respect to the input itself, taken at a point on the straight line
  from a baseline to the input (``alpha`` per row: 1 is the input, 0 the baseline);
* for an integer (token id) input, with respect to the output of the ``Embedding`` layer that
  reads it, interpolated the same way: the token ids, and the mask Keras derives from them,
  stay as they are;
* for a chosen layer, with respect to its output (Grad-CAM).

The score of a row is the chosen output's value for its class: the model's own output, its
probability when the model ends with a softmax. An output with more axes than ``(batch,
classes)`` (one prediction per time step, say) is averaged over them first.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

Inputs = Any
"""An array (a one-input model), a list of arrays in the model's input order, or a dict from input
name to array."""


@dataclass(frozen=True)
class InputKind:
    """How one model input is attributed.

    Attributes:
        name: The input's name.
        tokens: It holds integer token ids that an ``Embedding`` reads: attribution happens on
            its embedding.
        image: Its samples are images ``(H, W, C)`` with 1, 3 or 4 channels.
        fixed: It is not a number that can move (integers no Embedding reads at once, such as
            a padding mask or segment flags; booleans): it is passed as given and gets no
            attribution (zeros).
    """

    name: str
    tokens: bool
    image: bool
    fixed: bool = False


TOP_CLASS = -1
"""A row's class that means "the class this row's output scores highest"."""


@dataclass
class Gradients:
    """What one call of :meth:`ScoreGradients.gradients` computes.

    Attributes:
        scores: ``(N,)`` each row's class score.
        classes: ``(N,)`` the class each row's score is of (:data:`TOP_CLASS` resolved).
        grads: Per input, the gradient (for token inputs: with respect to the embedding output).
        deltas: Per input, ``input − baseline`` (the embedding's ``e(x) − baseline`` for tokens).
        feature: Grad-CAM's layer output, else ``None``.
        feature_grad: Its gradient, else ``None``.
    """

    scores: np.ndarray
    classes: np.ndarray
    grads: list[np.ndarray]
    deltas: list[np.ndarray]
    feature: np.ndarray | None
    feature_grad: np.ndarray | None


class AttributionError(ValueError):
    """The request cannot be computed for this model (the message says why)."""


def output_names(model) -> list[str]:
    """The names of the model's outputs, in order (``["output"]`` for a model without a graph)."""
    graph = _graph(model)
    if graph is None:
        return ["output"]
    names = getattr(graph, "output_names", None)
    return list(names) if names else [tensor.name for tensor in graph.outputs]


def _graph(model):
    from inspector.model.describe import inner_graph_model

    return inner_graph_model(model)


class ScoreGradients:
    """One model prepared for gradients of a class score.

    Args:
        model: The Keras model.
        output: The output's name or index (``None``: the only output; the first of several).
        layer: For Grad-CAM, the layer (path, as in the layer list, or a layer output's key)
            whose output's gradient is wanted; else ``None``.
        logits: Explain the score before the output's final softmax (the logit) rather than
            the probability, which saturates near 0 and 1.

    Raises:
        AttributionError: An unknown output or layer, a model without a graph when a layer is
            named, or ``logits`` for an output that does not end with a softmax.
    """

    def __init__(self, model, output: str | int | None = None, layer: str | None = None, logits: bool = False):
        from inspector.tfimport import keras

        self.model = model
        self.names = output_names(model)
        self.output = self._output_index(output)
        self._embeddings: dict = {}
        self.kinds = self._input_kinds(model)
        graph = _graph(model)
        self._net = None if graph is None else keras.Model(graph.inputs, [graph.outputs[self.output]], name=f"{model.name}_scores")
        self._cam = None if layer is None else _cam_layer(model, layer)
        self._softmax = final_softmax(model, self.output) if logits else None
        if logits and self._softmax is None:
            raise AttributionError(f"Output {self.names[self.output]} does not end with a softmax, so it has no logits to explain")
        self._step = None
        self._predict = None
        self._hook_state: dict = {}

    def _input_kinds(self, model) -> list[InputKind]:
        """How each input is attributed; fills :attr:`_embeddings` for token inputs."""
        from inspector.inputs.input_data import IMAGE_CHANNELS

        graph = _graph(model)
        tensors = list(graph.inputs) if graph is not None else list(getattr(model, "inputs", None) or [])
        if not tensors:
            raise AttributionError(f"{model.name} has no known inputs (build it on data first)")
        if graph is not None:
            _embedding_readers(graph, {id(t): i for i, t in enumerate(tensors)}, self._embeddings)
        kinds = []
        for index, tensor in enumerate(tensors):
            shape, dtype = tuple(tensor.shape[1:]), str(tensor.dtype)
            number = "float" in dtype
            tokens = index in self._embeddings
            image = number and len(shape) == 3 and shape[-1] in IMAGE_CHANNELS
            kinds.append(InputKind(tensor.name, tokens, image, fixed=not number and not tokens))
        if all(kind.fixed for kind in kinds):
            raise AttributionError(f"No input of {model.name} can be attributed: none is a number, and no Embedding reads one")
        return kinds

    def _output_index(self, output: str | int | None) -> int:
        if output is None:
            return 0
        if isinstance(output, (int, np.integer)):
            if not 0 <= output < len(self.names):
                raise AttributionError(f"{self.model.name} has {len(self.names)} output(s); there is no output {output}")
            return int(output)
        if output not in self.names:
            raise AttributionError(f"{self.model.name} has no output named {output!r}; its outputs are {', '.join(self.names)}")
        return self.names.index(output)

    # Inputs --------------------------------------------------------------------------------

    def arrays(self, inputs: Inputs) -> list[np.ndarray]:
        """``inputs`` as one array per model input, in the model's order and dtype."""
        names = [kind.name for kind in self.kinds]
        if isinstance(inputs, dict):
            missing = [name for name in names if name not in inputs]
            if missing:
                raise AttributionError(f"No data for input(s) {', '.join(missing)}")
            arrays = [inputs[name] for name in names]
        elif isinstance(inputs, (list, tuple)):
            arrays = list(inputs)
        else:
            arrays = [inputs]
        if len(arrays) != len(names):
            raise AttributionError(f"{self.model.name} takes {len(names)} input(s) ({', '.join(names)}); {len(arrays)} given")
        counts = {len(array) for array in arrays}
        if len(counts) != 1:
            raise AttributionError(f"The inputs have different numbers of samples: {sorted(counts)}")
        return [
            np.asarray(array) if kind.fixed else np.asarray(array, dtype=np.int32 if kind.tokens else np.float32)
            for array, kind in zip(arrays, self.kinds)
        ]

    # Scores --------------------------------------------------------------------------------

    def predict(self, arrays: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """The chosen output, averaged to ``(N, classes)``, for the actual inputs, in batches."""
        parts = [
            _per_class(np.asarray(self._forward([a[start : start + batch_size] for a in arrays]), dtype=np.float64))
            for start in range(0, len(arrays[0]), batch_size)
        ]
        return np.concatenate(parts)

    def classes(
        self, arrays: list[np.ndarray], class_index: int | Sequence[int] | None, predictions: np.ndarray | None = None
    ) -> np.ndarray:
        """One class per input: ``class_index`` as given (one for all, or one each), or each
        input's top class when ``None`` (from ``predictions`` when the caller has them)."""
        count = len(arrays[0])
        if class_index is None:
            return np.argmax(self.predict(arrays) if predictions is None else predictions, axis=1).astype(np.int32)
        classes = np.broadcast_to(np.asarray(class_index, dtype=np.int32), (count,)).copy()
        units = self.units
        if units is not None and (classes.min() < 0 or classes.max() >= units):
            raise AttributionError(f"Output {self.names[self.output]} has {units} class(es); class {int(classes.max())} does not exist")
        return classes

    @property
    def units(self) -> int | None:
        """The number of classes of the chosen output (its last axis), if known."""
        return self.output_units(self.model, self.output)

    @staticmethod
    def output_units(model, index: int) -> int | None:
        """The number of classes of output ``index`` (its last axis; 1 for a single score), if
        the model's graph says."""
        graph = _graph(model)
        if graph is None:
            return None
        shape = graph.outputs[index].shape
        return 1 if len(shape) < 2 else shape[-1]

    # Gradients -----------------------------------------------------------------------------

    def gradients(
        self,
        arrays: list[np.ndarray],
        baselines: list[np.ndarray],
        alphas: np.ndarray,
        classes: np.ndarray,
        noise: list[np.ndarray] | None = None,
    ) -> Gradients:
        """Gradients of each row's class score at ``baseline + alpha·(input − baseline)``.

        Args:
            arrays: One array per model input (token ids for token inputs).
            baselines: Per input, the baseline: values for float inputs, embedding vectors
                ``(N, T, D)`` for token inputs.
            alphas: ``(N,)`` position of each row on its line.
            classes: ``(N,)`` the class whose score is differentiated; :data:`TOP_CLASS` for
                the class the row's own output scores highest (one pass instead of two).
            noise: Per input, noise added to the interpolated point (SmoothGrad), shaped like
                its baseline; ``None`` for none.
        """
        import tensorflow as tf

        if self._step is None:
            self._step = self._compile()
        if noise is None:
            noise = [np.zeros(b.shape, np.float32) for b in baselines]
        scores, used, grads, deltas, feature, feature_grad = self._step(
            [tf.constant(a) for a in arrays],
            [tf.constant(b, dtype=tf.float32) for b in baselines],
            tf.constant(alphas, dtype=tf.float32),
            tf.constant(classes, dtype=tf.int32),
            [tf.constant(n, dtype=tf.float32) for n in noise],
        )
        return Gradients(
            np.asarray(scores),
            np.asarray(used),
            [np.asarray(g) for g in grads],
            [np.asarray(d) for d in deltas],
            None if feature is None else np.asarray(feature),
            None if feature_grad is None else np.asarray(feature_grad),
        )

    def baselines(self, arrays: list[np.ndarray], baseline: Inputs | float | None) -> list[np.ndarray]:
        """The baseline of each input, shaped like the point where gradients are taken.

        Args:
            arrays: One array per model input.
            baseline: ``None`` (zeros), one number for every value, or inputs like
                ``arrays``. For token inputs, the baseline is the embedding of the given token
                ids (the zero vector when ``None``).
        """
        if baseline is None or np.isscalar(baseline):
            given = [None if baseline is None else np.full(array.shape, baseline, array.dtype) for array in arrays]
        else:
            given = [np.broadcast_to(b, a.shape).astype(a.dtype) for b, a in zip(self.arrays(baseline), arrays)]
        result = []
        for index, (array, kind, values) in enumerate(zip(arrays, self.kinds, given)):
            if kind.tokens:
                dim = self._embeddings[index].output_dim
                embedded = np.zeros(array.shape + (dim,)) if values is None else self._embeddings[index](values)
                result.append(np.asarray(embedded, np.float32))
            elif kind.fixed:
                result.append(np.zeros(array.shape, np.float32))
            else:
                result.append(np.zeros_like(array) if values is None else values)
        return result

    def points(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The values gradients are taken with respect to, at the inputs themselves: the float
        inputs, and the embeddings of token inputs (zeros for fixed inputs)."""
        return [
            np.asarray(self._embeddings[index](array), np.float32)
            if kind.tokens
            else np.zeros(array.shape, np.float32)
            if kind.fixed
            else array
            for index, (array, kind) in enumerate(zip(arrays, self.kinds))
        ]

    def _forward(self, arrays: list[np.ndarray]):
        """The chosen output for one batch, by a compiled call."""
        import tensorflow as tf

        from inspector.tfimport import keras

        if self._predict is None:
            net, model, output = self._net, self.model, self.output

            @tf.function(reduce_retracing=True)
            def predict(batch):
                if net is not None:
                    return keras.tree.flatten(net(batch, training=False))[0]
                return keras.tree.flatten(model(batch if len(batch) > 1 else batch[0], training=False))[output]

            self._predict = predict
        return self._predict([tf.constant(a) for a in arrays])

    def _compile(self):
        import tensorflow as tf

        from inspector.tfimport import keras

        kinds, embeddings, cam, softmax, state = self.kinds, self._embeddings, self._cam, self._softmax, self._hook_state
        net, model, output = self._net, self.model, self.output

        @tf.function(reduce_retracing=True)
        def step(arrays, baselines, alphas, classes, noise):
            with tf.GradientTape() as tape:
                points, deltas = [], []
                for array, baseline, kind, extra in zip(arrays, baselines, kinds, noise):
                    if kind.tokens or kind.fixed:
                        points.append(array)
                        continue
                    shape = (-1,) + (1,) * (len(array.shape) - 1)
                    delta = array - baseline
                    point = baseline + tf.reshape(alphas, shape) * delta + extra
                    tape.watch(point)
                    points.append(point)
                    deltas.append(delta)
                state.update(tape=tape, alphas=alphas, baselines=baselines, noise=noise, seen={}, calls=0)
                try:
                    with _hooks(embeddings, cam, softmax, state):
                        if net is not None:
                            outputs = keras.tree.flatten(net(points, training=False))
                        else:
                            outputs = keras.tree.flatten(model(points if len(points) > 1 else points[0], training=False))
                            outputs = [outputs[output]]
                    scores, classes = _row_scores(tf, outputs[0], classes)
                finally:
                    seen, feature = state.pop("seen"), state.pop("feature", None)
                    state.clear()
            watched, all_deltas, float_index = [], [], 0
            for index, kind in enumerate(kinds):
                if kind.tokens:
                    point, delta = seen[index]
                elif kind.fixed:
                    point = delta = tf.zeros_like(baselines[index])
                else:
                    point, delta = points[index], deltas[float_index]
                    float_index += 1
                watched.append(point)
                all_deltas.append(delta)
            if cam is not None and feature is None:
                raise AttributionError(f"The model's call never reached layer {cam[0].name}")
            targets = watched + ([feature] if feature is not None else [])
            grads = tape.gradient(scores, targets, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            feature_grad = grads[len(watched)] if feature is not None else None
            return scores, classes, grads[: len(watched)], all_deltas, feature, feature_grad

        return step


_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def prepared(model, output: str | int | None = None, layer: str | None = None, logits: bool = False) -> ScoreGradients:
    """A :class:`ScoreGradients` for ``model``, reused while the model's variables stay the same
    (its compiled step traces once; enabling LoRA adds variables and so prepares it again)."""
    key = (output, layer, logits, tuple(id(variable) for variable in model.weights))
    cache = _PREPARED.setdefault(model, {})
    if key not in cache:
        if len(cache) >= 8:
            cache.clear()
        cache[key] = ScoreGradients(model, output, layer, logits)
    return cache[key]


def _row_scores(tf, output, classes):
    """Each row's score for its class, and the classes with :data:`TOP_CLASS` resolved, from an
    output of shape ``(N,)``, ``(N, C)`` or more."""
    output = tf.cast(output, tf.float32)
    if output.shape.rank == 1:
        return output, tf.zeros_like(classes)
    if output.shape.rank > 2:
        output = tf.reduce_mean(output, axis=list(range(1, output.shape.rank - 1)))
    top = tf.argmax(tf.stop_gradient(output), axis=1, output_type=tf.int32)
    classes = tf.where(classes == TOP_CLASS, top, classes)
    return tf.gather(output, classes, axis=1, batch_dims=1), classes


def _per_class(output: np.ndarray) -> np.ndarray:
    if output.ndim == 1:
        return output[:, None]
    if output.ndim > 2:
        return output.mean(axis=tuple(range(1, output.ndim - 1)))
    return output


class _hooks:  # noqa: N801 - used as a context manager, like contextlib's
    """Makes each token input's ``Embedding`` return the interpolated point and remember it, and
    Grad-CAM's layer remember its output, while the model is traced.

    Keras calls ``layer.call`` through ``Layer.__call__``, which also derives the padding mask
    from the token ids; replacing ``call`` on the instance for the duration of one traced call
    leaves the mask, and every other use of the layer, as it was. Watching the layer's own
    output (rather than a copy computed beside the model) keeps it on the path to the score,
    inside nested models too.
    """

    def __init__(self, embeddings: dict, cam: tuple | None, softmax: tuple | None, state: dict):
        self.embeddings, self.cam, self.softmax, self.state = embeddings, cam, softmax, state
        self._activation = None

    def __enter__(self):
        from inspector.tfimport import keras

        for index, layer in self.embeddings.items():
            layer.call = self._hooked(layer, index)
        if self.cam is not None:
            self.cam[0].call = self._watched(*self.cam)
        if self.softmax is not None:  # the score before the softmax: the layer ends linearly
            layer, mode = self.softmax
            if mode == "activation":
                self._activation = layer.activation
                layer.activation = keras.activations.linear
            else:
                layer.call = lambda inputs, *args, **kwargs: inputs
        return self

    def __exit__(self, *exc):
        for layer in list(self.embeddings.values()) + ([self.cam[0]] if self.cam is not None else []):
            layer.__dict__.pop("call", None)
        if self.softmax is not None:
            layer, mode = self.softmax
            if mode == "activation":
                layer.activation = self._activation
            else:
                layer.__dict__.pop("call", None)
        return False

    def _watched(self, layer, call_number: int, output: int):
        from inspector.tfimport import keras

        original, state = type(layer).call.__get__(layer), self.state

        def call(*args, **kwargs):
            outputs = original(*args, **kwargs)
            if state["calls"] == call_number:
                feature = keras.tree.flatten(outputs)[output]
                state["tape"].watch(feature)
                state["feature"] = feature
            state["calls"] += 1
            return outputs

        return call

    def _hooked(self, layer, index: int):
        import tensorflow as tf

        original, state = type(layer).call.__get__(layer), self.state

        def call(inputs, *args, **kwargs):
            embedded = original(inputs, *args, **kwargs)
            if index in state["seen"]:
                return embedded
            baseline = state["baselines"][index]
            delta = tf.cast(embedded, tf.float32) - baseline
            point = baseline + tf.reshape(state["alphas"], (-1, 1, 1)) * delta + state["noise"][index]
            state["tape"].watch(point)
            state["seen"][index] = (point, delta)
            return tf.cast(point, embedded.dtype)

        return call


def _embedding_readers(graph, sources: dict[int, int], found: dict[int, Any]) -> None:
    """Finds, for graph inputs, the ``Embedding`` layer that reads each one directly.

    Args:
        graph: A functional graph.
        sources: ``id`` of a symbolic tensor of ``graph`` -> index of the model input it is.
        found: Filled with model input index -> Embedding layer (nested models included: a
            nested model's inputs are the tensors its call was given).
    """
    from inspector.model.describe import graph_calls, inner_graph_model
    from inspector.tfimport import keras

    for op, node, _, _, _ in graph_calls(graph):
        arguments = keras.tree.flatten(node.input_tensors)
        if isinstance(op, keras.layers.Embedding) and arguments and id(arguments[0]) in sources:
            found.setdefault(sources[id(arguments[0])], op)
            continue
        inner = inner_graph_model(op)
        if inner is not None:
            inner_inputs = keras.tree.flatten(inner.inputs)
            mapping = {id(i): sources[id(a)] for i, a in zip(inner_inputs, arguments) if id(a) in sources}
            if mapping:
                _embedding_readers(inner, mapping, found)
def final_softmax(model, output: int) -> tuple | None:
    """The softmax that ends output ``output``: ``(layer, "activation")`` for a layer whose
    ``activation`` is softmax (Dense, Conv, Activation), ``(layer, "layer")`` for a ``Softmax``
    layer; ``None`` when the output does not end with one."""
    from inspector.tfimport import keras

    graph = _graph(model)
    if graph is None:
        return None
    layer = graph.outputs[output]._keras_history[0]
    if getattr(getattr(layer, "activation", None), "__name__", "") == "softmax":
        return layer, "activation"
    if isinstance(layer, keras.layers.Softmax):
        return layer, "layer"
    return None


def _cam_layer(model, layer: str) -> tuple:
    """Grad-CAM's layer: ``(layer object, which call of it, which output)`` for a layer path
    (``"conv"``, ``"backbone/conv"``) or a layer output's key (``"conv@2:1"``)."""
    from inspector.activations.extraction import extraction_targets

    if _graph(model) is None:
        raise AttributionError(f"{model.name} has no layer graph Keras can read, so Grad-CAM cannot reach its layers")
    targets = extraction_targets(model)
    target = next((t for t in targets if t.key == layer), None) or next((t for t in targets if t.layer == layer), None)
    if target is None:
        raise AttributionError(f"{model.name} has no layer {layer!r}")
    found = model
    for name in target.layer.split("/"):
        found = found.get_layer(name)
    last = target.node.rsplit("/", 1)[-1]
    call_number = int(last.split("@")[1]) - 1 if "@" in last else 0
    return found, call_number, target.output
