"""Finds BatchNormalization set-ups that do not do what a fine-tuning researcher expects.

What Keras 3.15 does (checked by experiment in ``tests/model/test_freezing.py``):

- A BatchNormalization layer with ``trainable=False`` runs in inference mode: it normalises with
  its moving mean and variance and never updates them, whatever ``training`` says.
- A trainable one, under ``fit`` (which calls the model with ``training=True``), normalises with
  each batch's mean and variance, updates its moving statistics, and its gamma and beta are
  trained, even inside a nested model whose own ``trainable`` flag is False.
- ``base(x, training=False)`` inside a functional model is recorded on that call (and kept by
  save and load), but the outer model passes its own ``training`` value to every call in its
  graph, so ``fit`` runs that call with ``training=True`` (keras-team/keras#20285). Only
  ``trainable=False`` keeps a BatchNormalization layer in inference mode during ``fit``.
"""

from __future__ import annotations

from inspector.tfimport import keras
from keras.src.ops.function import make_node_key

from inspector.model.describe import inner_graph_model, sublayers, walk_layers

_IGNORED_TRAINING_FALSE = (
    "'{called}' is called with training=False, but Keras 3 ignores that during fit: this "
    "trainable BatchNormalization normalises with batch statistics and overwrites its moving "
    "mean/variance. Freeze it to keep it in inference mode."
)
_CALLER_SUMMARY = (
    "Called with training=False, which Keras 3 ignores during fit: trainable BatchNormalization "
    "inside ({names}) will normalise with batch statistics and overwrite the moving mean/variance. "
    "Freeze it to keep it in inference mode."
)
_TRAINABLE_IN_FROZEN_BASE = (
    "Trainable BatchNormalization inside '{base}', whose other layers are frozen: fit will "
    "normalise with batch statistics, overwrite the pretrained moving mean/variance and train "
    "gamma/beta. Freeze it to keep it in inference mode."
)


def bn_warnings(model) -> dict[str, str]:
    """Warnings about BatchNormalization layers that will behave unexpectedly during ``fit``.

    Flags (a) a trainable BatchNormalization layer inside a nested model whose other weighted
    layers are all frozen, and (b) a nested model (or BatchNormalization layer) called with
    ``training=False`` while BatchNormalization layers in it are trainable: the call and each of
    those layers get a warning.

    Args:
        model: A Keras model.

    Returns:
        One-line explanations by layer path (as in
        :class:`~inspector.model.model_info.LayerInfo`); empty when nothing needs attention.
    """
    entries = list(walk_layers(model))
    layers = {path: layer for path, layer, _ in entries}
    warnings: dict[str, str] = {}
    for path, layer, parent in entries:
        if _called_with_training_false(layer, parent):
            _warn_training_false(path, _trainable_bns(layers, path), warnings)
    for path, layer in layers.items():
        if path in warnings or not _is_trainable_bn(layer):
            continue
        base = _enclosing_model(layers, path)
        if base and _otherwise_frozen(layers, base):
            warnings[path] = _TRAINABLE_IN_FROZEN_BASE.format(base=base)
    return warnings


def _warn_training_false(called: str, bn_paths: list[str], warnings: dict[str, str]) -> None:
    for bn_path in bn_paths:
        warnings[bn_path] = _IGNORED_TRAINING_FALSE.format(called=called)
    inner = [p for p in bn_paths if p != called]
    if inner:
        names = ", ".join(p.rsplit("/", 1)[-1] for p in inner)
        warnings[called] = _CALLER_SUMMARY.format(names=names)


def _called_with_training_false(layer, parent) -> bool:
    """Whether a call of ``layer`` in its parent's graph was given ``training=False``.

    Models and BatchNormalization default ``training`` to None, so for them a recorded False
    was passed on purpose. (Dropout records its default of False on every call; it holds no
    BatchNormalization, so it never leads to a warning.)
    """
    graph = inner_graph_model(parent)
    if graph is None:
        return False
    return any(
        node.arguments.kwargs.get("training") is False
        for index, node in enumerate(layer._inbound_nodes)
        if make_node_key(layer, index) in graph._nodes
    )


def _trainable_bns(layers: dict, path: str) -> list[str]:
    inside = (p for p in layers if p == path or p.startswith(f"{path}/"))
    return [p for p in inside if _is_trainable_bn(layers[p])]


def _is_trainable_bn(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization) and layer.trainable


def _enclosing_model(layers: dict, path: str) -> str | None:
    """Path of the innermost nested model that holds the layer at ``path``, if any."""
    parts = path.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        candidate = "/".join(parts[:depth])
        if isinstance(layers[candidate], keras.Model):
            return candidate
    return None


def _otherwise_frozen(layers: dict, base: str) -> bool:
    """Whether the base holds weighted layers other than BatchNormalization, all frozen."""
    others = [
        layer
        for path, layer in layers.items()
        if path.startswith(f"{base}/")
        and layer.weights
        and not sublayers(layer)
        and not isinstance(layer, keras.layers.BatchNormalization)
    ]
    return bool(others) and not any(layer.trainable for layer in others)
