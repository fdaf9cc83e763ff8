"""Describes a Keras model: its layers, variables, parameter counts and layer graph."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Iterator

import numpy as np

from inspector.tfimport import keras
from keras.src.models.functional import Functional
from keras.src.models.sequential import Sequential
from keras.src.ops.function import make_node_key

from inspector.model.quantization import quant_info
from inspector.model.model_info import (
    GraphEdge,
    GraphNode,
    LayerInfo,
    LoraInfo,
    ModelGraph,
    ModelInfo,
    ParamCounts,
    TensorInfo,
    VariableInfo,
)


def describe(
    model, *, file: str = "", format: str = "", compiled: bool = False, notes=(), configs: dict[str, dict] | None = None
) -> ModelInfo:
    """Builds the plain description of a model that the views and the summary use.

    Args:
        model: A built Keras model.
        file: The file it was loaded from.
        format: ``"keras"`` or ``"h5"``.
        compiled: Whether it has a training configuration.
        notes: Remarks about how it was loaded.
        configs: Layer configurations by layer path as the model's file holds them (see
            :func:`~inspector.model.config_graph.describe_config`), for a model just loaded
            from that file: Keras built each layer from them, so they are what ``get_config()``
            returns, which costs more than half of the description of a big model. Layers
            missing here are asked.

    Returns:
        The model's description.
    """
    graph_model = inner_graph_model(model)
    weights = model.weights
    shapes = [_variable_shape(v) for v in weights]
    sizes = {id(v): math.prod(shape) for v, shape in zip(weights, shapes)}
    context = _Context(configs or {}, sizes)
    layers = [_describe_layer(layer, "", graph_model, context) for layer in model.layers]
    owners = _variable_owners(model, context.weights)
    variables = [
        VariableInfo(
            path=v.path,
            layer=owners.get(id(v), ""),
            shape=shape,
            dtype=_variable_dtype(v),
            trainable=bool(v.trainable),
            size=sizes[id(v)],
        )
        for v, shape in zip(weights, shapes)
    ]
    return ModelInfo(
        name=model.name,
        class_name=type(model).__name__,
        file=str(file),
        format=format,
        compiled=compiled,
        notes=list(notes),
        inputs=[_tensor_info(t, t.name) for t in _model_tensors(model, "inputs")],
        outputs=[
            _tensor_info(t, t._keras_history.operation.name) for t in _model_tensors(model, "outputs")
        ],
        params=param_counts(model, sizes, weights),
        layers=layers,
        variables=variables,
        graph=build_graph(model, context),
    )


def refresh_training_state(info: ModelInfo, model) -> None:
    """Updates ``info`` in place after trainable flags changed: each layer's flag and counts,
    each variable's trainable flag and the model's totals. Much faster than :func:`describe`.

    Args:
        info: The model's description, from :func:`describe`.
        model: The same model, with changed flags.
    """
    layers = _layers_by_path(model)
    for path, layer_info in info.layer_index().items():
        layer = layers[path]
        counts = param_counts(layer)
        layer_info.trainable = bool(layer.trainable)
        if "trainable" in layer_info.config:
            layer_info.config["trainable"] = layer_info.trainable
        layer_info.trainable_params = counts.trainable
        layer_info.non_trainable_params = counts.non_trainable
    flags = [bool(v.trainable) for v in model.weights]
    info.variables = [dataclasses.replace(v, trainable=flag) for v, flag in zip(info.variables, flags)]
    info.params = param_counts(model)


def _layers_by_path(model) -> dict:
    return {path: layer for path, layer, _ in walk_layers(model)}


def walk_layers(model) -> Iterator[tuple[str, object, object]]:
    """Every layer at every depth with its path, as in :class:`~inspector.model.model_info.LayerInfo`.

    Args:
        model: A Keras model.

    Yields:
        ``(path, layer, parent)``: the path (``"base/bn_1"``, ``"bilstm/forward_lstm"``), the
        layer, and the model or wrapper that holds it. Parents come before their children.
    """
    for layer in model.layers:
        yield from _walk(layer, model, "")


def _walk(layer, parent, prefix: str):
    path = f"{prefix}/{layer.name}" if prefix else layer.name
    yield path, layer, parent
    for child in sublayers(layer):
        yield from _walk(child, layer, path)


def param_counts(layer, sizes: dict[int, int] | None = None, weights: list | None = None) -> ParamCounts:
    """Total, trainable and non-trainable parameter counts of a layer or model, as Keras splits
    its ``weights`` into ``trainable_weights`` and ``non_trainable_weights``.

    Args:
        layer: A layer or model.
        sizes: Sizes of variables by ``id``, where known (reading a shape costs a backend call).
        weights: ``layer.weights``, where already read (Keras gathers them from every sublayer
            on each read).
    """
    weights = layer.weights if weights is None else weights
    total = _count(weights, sizes)
    trainable = _count([v for v in weights if v.trainable], sizes) if layer.trainable else 0
    return ParamCounts(total, trainable, total - trainable)


def inner_graph_model(layer) -> Functional | None:
    """The functional graph inside a nested model, or ``None`` if it has none to show.

    A built Sequential model keeps an equivalent functional model; a subclassed model has no
    graph Keras can read.
    """
    if isinstance(layer, Functional):
        return layer
    if isinstance(layer, Sequential):
        return getattr(layer, "_functional", None)
    return None


@dataclasses.dataclass(frozen=True)
class _Context:
    """What describing every layer shares: saved configurations, variable sizes, each
    described layer's ``weights`` by the layer's ``id`` (filled as layers are described), and
    the calls of each graph met, by the graph's ``id``: in order (see :func:`graph_calls`), and
    by the ``id`` of the called layer."""

    configs: dict[str, dict] = dataclasses.field(default_factory=dict)
    sizes: dict[int, int] = dataclasses.field(default_factory=dict)
    weights: dict[int, list] = dataclasses.field(default_factory=dict)
    ordered: dict[int, list[tuple]] = dataclasses.field(default_factory=dict)
    by_layer: dict[int, dict[int, list]] = dataclasses.field(default_factory=dict)

    def graph_calls(self, graph_model: Functional) -> list[tuple]:
        """:func:`graph_calls` of ``graph_model`` (without a prefix), made once."""
        ordered = self.ordered.get(id(graph_model))
        if ordered is None:
            ordered = self.ordered[id(graph_model)] = graph_calls(graph_model)
        return ordered

    def calls_of(self, layer, graph_model) -> list:
        """The nodes created by calling ``layer`` in ``graph_model``, the graph that contains it.

        A layer also keeps nodes from graphs it was called in while being built or trained;
        only those of ``graph_model`` count. A layer outside any graph (inside a wrapper) has
        no calls.
        """
        if graph_model is None:
            return []
        by_layer = self.by_layer.get(id(graph_model))
        if by_layer is None:
            by_layer = self.by_layer[id(graph_model)] = {}
            for op, node, *_ in self.graph_calls(graph_model):
                by_layer.setdefault(id(op), []).append(node)
        return by_layer.get(id(layer), [])


def _describe_layer(layer, parent: str, graph_model, context: _Context) -> LayerInfo:
    path = f"{parent}/{layer.name}" if parent else layer.name
    inner = inner_graph_model(layer) if isinstance(layer, keras.Model) else None
    children = [_describe_layer(child, path, inner, context) for child in sublayers(layer)]
    weights = context.weights[id(layer)] = layer.weights
    counts = param_counts(layer, context.sizes, weights)
    calls = context.calls_of(layer, graph_model)
    inbound = []
    for node in calls:
        for tensor in node.input_tensors:
            op = tensor._keras_history.operation
            if op is not None and op.name not in inbound:
                inbound.append(op.name)
    return LayerInfo(
        path=path,
        name=layer.name,
        class_name=type(layer).__name__,
        kind=_kind(layer),
        trainable=bool(layer.trainable),
        params=counts.total,
        trainable_params=counts.trainable,
        non_trainable_params=counts.non_trainable,
        input_shapes=[_shapes(node.input_tensors) for node in calls if node.input_tensors],
        output_shapes=[_shapes(node.outputs) for node in calls] or _declared_output_shape(layer),
        dtype_policy=_dtype_policy(layer),
        config=context.configs[path] if path in context.configs else _layer_config(layer),
        inbound=inbound,
        calls=len(calls),
        variables=[v.path for v in weights],
        children=children,
        lora=_lora(layer),
        quantization=quant_info(layer),
    )


def _lora(layer) -> LoraInfo | None:
    """The layer's LoRA adapter, if LoRA is enabled on it (Dense, EinsumDense, Embedding, Conv)."""
    if not getattr(layer, "lora_enabled", False):
        return None
    matrices = [v for v in layer.weights if v.name.startswith("lora_")]
    return LoraInfo(
        rank=int(layer.lora_rank),
        alpha=float(layer.lora_alpha),
        variables=tuple(v.path for v in matrices),
        zero=not any(np.any(keras.ops.convert_to_numpy(v)) for v in matrices),
    )


def sublayers(layer) -> list:
    """The layers directly inside a nested model (``model.layers``) or a wrapper; none for a
    plain layer."""
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    if _kind(layer) == "wrapper":
        return list(layer._flatten_layers(include_self=False, recursive=False))
    return []


def _kind(layer) -> str:
    if isinstance(layer, keras.layers.InputLayer):
        return "input"
    if isinstance(layer, keras.Model):
        return "model"
    if isinstance(layer, (keras.layers.Wrapper, keras.layers.Bidirectional)):
        return "wrapper"
    return "layer"


def _declared_output_shape(layer) -> list[str]:
    try:
        return [_shapes(keras.tree.flatten(layer.output))]
    except (AttributeError, ValueError, RuntimeError):
        return []


def _variable_owners(model, weights: dict[int, list] | None = None) -> dict[int, str]:
    """Maps each variable (by id) to the path of the innermost layer that holds it.

    Args:
        model: A Keras model.
        weights: Layers' ``weights`` by the layer's ``id``, where already read.
    """
    weights = weights or {}
    owners: dict[int, str] = {}
    for path, layer, _ in reversed(list(walk_layers(model))):  # inner layers before outer ones
        for variable in weights[id(layer)] if id(layer) in weights else layer.weights:
            owners.setdefault(id(variable), path)
    return owners


def build_graph(model, context: _Context | None = None) -> ModelGraph:
    """The layer graph of a model, with the inner graphs of nested models.

    Args:
        model: A functional or built Sequential model. A subclassed model gives an empty graph.
        context: What :func:`describe` already found out about the model's graphs.

    Returns:
        Nodes and edges at every nesting level.
    """
    graph = ModelGraph()
    functional = inner_graph_model(model)
    if functional is not None:
        _add_graph(graph, functional, context or _Context(), prefix="", layer_prefix="", group=None)
    return graph


def _add_graph(
    graph: ModelGraph, model: Functional, context: _Context, prefix: str, layer_prefix: str, group: str | None
):
    """Adds the nodes and edges of ``model``'s graph, recursing into nested models."""
    ordered = [(op, node, prefix + node_id, call, n) for op, node, node_id, call, n in context.graph_calls(model)]
    node_ids = {id(node): node_id for _, node, node_id, _, _ in ordered}
    for op, node, node_id, call, n_calls in ordered:
        layer_path = f"{layer_prefix}{op.name}"
        inner = inner_graph_model(op)
        graph.nodes[node_id] = GraphNode(
            id=node_id,
            layer=layer_path,
            label=op.name + (f" (call {call + 1} of {n_calls})" if n_calls > 1 else ""),
            class_name=type(op).__name__,
            output_shape=_shapes(node.outputs),
            group=group,
            is_group=inner is not None,
        )
        for port, tensor in enumerate(node.input_tensors):
            source_op, source_index, tensor_index = tensor._keras_history
            if source_op is None:
                continue
            source_node = source_op._inbound_nodes[source_index]
            source_id = node_ids.get(id(source_node))
            if source_id is None:
                continue
            graph.edges.append(GraphEdge(source_id, node_id, tensor_index, port, _shape(tensor)))
        if inner is not None:
            inner_ids = _add_graph(graph, inner, context, f"{node_id}/", f"{layer_path}/", node_id)
            graph.group_inputs[node_id] = [
                inner_ids[id(_history_node(t))] for t in inner.inputs
            ]
            graph.group_outputs[node_id] = [
                (inner_ids[id(_history_node(t))], t._keras_history.tensor_index) for t in inner.outputs
            ]
    return node_ids


def graph_calls(model: Functional, prefix: str = "") -> list[tuple]:
    """Every layer call in one functional graph (not inside nested models), in graph order.

    Args:
        model: A functional model (see :func:`inner_graph_model`).
        prefix: Prepended to each node id (the id of the enclosing group and ``"/"``).

    Returns:
        ``(layer, node, node_id, call, n_calls)`` tuples: the called layer, its Keras node, the
        :class:`~inspector.model.model_info.GraphNode` id, which call of the layer it is (from 0) and
        how many calls the layer has in this graph.
    """
    calls = []
    for op in model._operations:
        in_model = [
            node
            for index, node in enumerate(op._inbound_nodes)
            if make_node_key(op, index) in model._nodes
        ]
        for call, node in enumerate(in_model):
            node_id = f"{prefix}{op.name}" + (f"@{call + 1}" if call else "")
            calls.append((op, node, node_id, call, len(in_model)))
    return calls


def _history_node(tensor):
    op, node_index, _ = tensor._keras_history
    return op._inbound_nodes[node_index]


def _model_tensors(model, attr: str) -> list:
    try:
        return list(keras.tree.flatten(getattr(model, attr)))
    except (AttributeError, ValueError):
        return []


def _tensor_info(tensor, name: str) -> TensorInfo:
    return TensorInfo(name=name, shape=_shape(tensor), dtype=str(tensor.dtype))


def _shape(tensor) -> str:
    shape = tensor.shape
    return _shape_text(shape) if isinstance(shape, tuple) else str(tuple(shape))


@functools.lru_cache(maxsize=4096)
def _shape_text(shape: tuple) -> str:
    """A shape's text, remembered: a big model has thousands of tensors of a few shapes."""
    return str(shape)


def _variable_shape(variable) -> tuple[int, ...]:
    """A variable's shape as Keras holds it (the backend's ``shape`` property builds a
    ``TensorShape``: a backend call per variable)."""
    shape = getattr(variable, "_shape", None)
    return tuple(int(d) for d in (shape if isinstance(shape, tuple) else variable.shape))


def _variable_dtype(variable) -> str:
    """A variable's dtype name as Keras holds it (``dtype`` looks up the autocast scope)."""
    dtype = getattr(variable, "_dtype", None)
    return dtype if isinstance(dtype, str) else str(variable.dtype)


def _shapes(tensors) -> str:
    return ", ".join(_shape(t) for t in tensors)


def _size(shape) -> int:
    return int(math.prod(int(d) for d in shape))


def _count(weights, sizes: dict[int, int] | None = None) -> int:
    if sizes is None:
        return sum(_size(v.shape) for v in weights)
    return sum(sizes[id(v)] if id(v) in sizes else _size(v.shape) for v in weights)


def _dtype_policy(layer) -> str:
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "name", str(policy))


def _layer_config(layer) -> dict:
    """The layer's config with nested-model layer lists left out and values made JSON-safe."""
    try:
        config = layer.get_config()
    except (NotImplementedError, TypeError, ValueError) as exc:
        return {"error": f"get_config() failed: {exc}"}
    if isinstance(layer, keras.Model):
        config = {k: v for k, v in config.items() if k not in ("layers", "input_layers", "output_layers")}
    return _jsonable(config)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
