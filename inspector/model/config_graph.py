"""Describes a model from its saved configuration alone, before Keras has built it.

Loading a big model takes Keras tens of seconds; its ``config.json`` (or an HDF5 file's
``model_config``) already says which layers there are and how they connect. :func:`describe_config`
turns that into the same :class:`~inspector.model.model_info.ModelInfo` that
:func:`~inspector.model.describe.describe` makes from the live model, with the same node ids, so
the window can draw the graph at once and fill in the live parts (parameter counts, variables,
every output shape) when the load completes. Nothing here imports Keras or runs code from the
file: it only reads JSON.

Only Functional and Sequential models (at any nesting depth) have a graph in their
configuration; a subclassed model has none, and then there is no preview.

The window makes the preview itself (:func:`preview_job`, on a worker thread), while the model's
kernel loads the model on the other core: reading JSON cannot run code, and the load does not
wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Iterator

from inspector.jobs import Progress
from inspector.model.graph_blocks import group_blocks
from inspector.model.graph_layout import GraphLayout, layout_graph
from inspector.model.model_file import inspect_file
from inspector.model.model_info import (
    GraphEdge,
    GraphNode,
    LayerInfo,
    ModelGraph,
    ModelInfo,
    ParamCounts,
    TensorInfo,
)

GRAPH_CLASSES = ("Functional", "Sequential", "Model")
"""Model classes whose configuration lists their layers and how they connect."""
WRAPPER_CLASSES = ("Bidirectional", "TimeDistributed")
OPERATION_MODULES = ("keras.src.ops",)
"""Modules of graph nodes that are operations, not layers (``model.layers`` leaves them out)."""


@dataclass
class GraphPreview:
    """What the window can draw while Keras loads a model.

    Attributes:
        info: The description from the saved configuration (see :func:`describe_config`).
        layout: The layout of its graph as the kernel's load lays it out (blocks grouped,
            everything closed).
    """

    info: ModelInfo
    layout: GraphLayout


def preview_job(path: str | Path) -> Generator[Progress, None, GraphPreview | None]:
    """Reads a model file's configuration and lays out the graph it describes.

    Args:
        path: A ``.keras`` or ``.h5`` file.

    Returns:
        The preview, or ``None`` when there is none to draw: the file is not a model Keras could
        open (the load says why), its configuration holds no layer graph, or its safety report
        names something (the load refuses it or asks before anything from it is shown).
    """
    yield Progress(f"Reading {Path(path).name}…")
    try:
        checked = inspect_file(path, weights=False)  # the load checks the weights
    except Exception:  # noqa: BLE001 - the kernel's load names the reason to the user
        return None
    if checked.findings:
        return None  # the load refuses it or asks first, naming what the file holds
    info = describe_config(checked.config, file=str(checked.path), format=checked.format)
    if info is None:
        return None
    yield Progress(f"Laying out the graph of {checked.path.name}…")
    return GraphPreview(info, layout_graph(group_blocks(info.graph)))


def layer_configs(config: dict | None) -> dict[str, dict]:
    """Every layer's configuration in a model's saved configuration, by layer path, as
    ``get_config()`` of the loaded layer returns it (see :func:`describe_config`); empty when
    the configuration holds no layer graph. (A few entries may name operations rather than
    layers; a caller looks up the layers it has.)"""
    found: dict[str, dict] = {}

    def walk(model_config: dict, prefix: str) -> None:
        for entry in model_config["layers"]:
            if isinstance(entry, dict):
                found[f"{prefix}{_name(entry)}"] = _saved_config(entry)
                if _has_graph(entry):
                    walk(entry["config"], f"{prefix}{_name(entry)}/")

    if not _has_graph(config):
        return {}
    try:
        walk(config["config"], "")
    except (KeyError, TypeError, AttributeError):
        return {}
    return found


def describe_config(config: dict | None, *, file: str = "", format: str = "") -> ModelInfo | None:
    """The description of a model as far as its saved configuration tells it.

    Args:
        config: The saved configuration (``{"class_name": …, "config": {…}}``).
        file: The file it was read from.
        format: ``"keras"`` or ``"h5"``.

    Returns:
        A description with :attr:`~inspector.model.model_info.ModelInfo.preview` set: layers,
        graph and the shapes the configuration records, no variables and no parameter counts;
        ``None`` when the configuration holds no layer graph (a subclassed model) or is not
        one Keras could have written.
    """
    if not _has_graph(config):
        return None
    try:
        return _describe(config, file, format)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None  # a configuration Keras did not write: Keras' own load will say what is wrong


def _has_graph(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("class_name") in GRAPH_CLASSES
        and isinstance(entry.get("config"), dict)
        and isinstance(entry["config"].get("layers"), list)
    )


def _describe(config: dict, file: str, format: str) -> ModelInfo:
    inner = config["config"]
    graph = ModelGraph()
    level = _Level(graph, inner, config["class_name"], prefix="", layer_prefix="", group=None)
    layers = level.layers()
    inputs = [
        TensorInfo(name, shape, dtype)
        for name, shape, dtype in level.input_tensors()
    ]
    outputs = [TensorInfo(name, level.output_shape(name), "") for name in level.output_names()]
    return ModelInfo(
        name=str(inner.get("name", "model")),
        class_name=str(config["class_name"]),
        file=str(file),
        format=format,
        compiled=False,
        notes=[],
        inputs=inputs,
        outputs=outputs,
        params=ParamCounts(0, 0, 0),
        layers=layers,
        variables=[],
        graph=graph,
        preview=True,
    )


class _Level:
    """One functional graph of the configuration: its layers, calls and edges, with the graphs
    of nested models added recursively (as :func:`~inspector.model.describe.build_graph` does)."""

    def __init__(self, graph: ModelGraph, config: dict, class_name: str, prefix: str, layer_prefix: str, group: str | None):
        self.graph = graph
        self.entries = [e for e in config["layers"] if isinstance(e, dict)]
        if class_name == "Sequential":
            self.entries = _sequential_entries(self.entries, config)
        self.config = config
        self.class_name = class_name
        self.prefix = prefix
        self.layer_prefix = layer_prefix
        self.group = group
        self.shapes: dict[str, dict[int, str]] = {}  # node id -> tensor index -> shape
        self.calls: dict[str, list[str]] = {}  # layer name -> node ids
        self.inbound: dict[str, list[str]] = {}
        self.input_shapes: dict[str, list[str]] = {}
        self.inner_layers: dict[str, list[LayerInfo]] = {}
        self._add()

    def _node_id(self, name: str, call: int) -> str:
        return f"{self.prefix}{name}" + (f"@{call + 1}" if call else "")

    def _add(self) -> None:
        incoming: dict[str, list[GraphEdge]] = {}
        for entry in self.entries:
            name = _name(entry)
            calls = _calls(entry)
            ids = [self._node_id(name, k) for k in range(max(len(calls), 1))]
            self.calls[name] = ids
            self.inbound[name] = []
            self.input_shapes[name] = []
            for k, node_id in enumerate(ids):
                sources = list(_tensors(calls[k])) if k < len(calls) else []
                edges = incoming.setdefault(node_id, [])
                for port, (source, node_index, tensor_index, shape) in enumerate(sources):
                    source_id = self._node_id(source, node_index)
                    edges.append(GraphEdge(source_id, node_id, tensor_index, port, shape))
                    self.shapes.setdefault(source_id, {})[tensor_index] = shape
                    if source not in self.inbound[name]:
                        self.inbound[name].append(source)
                if sources:
                    self.input_shapes[name].append(", ".join(s for *_, s in sources))
            if entry.get("class_name") == "InputLayer":
                shape = _input_shape(entry)
                if shape:
                    self.shapes.setdefault(ids[0], {})[0] = shape
        # In describe's order: each node, the edges into it, then the graph inside it.
        for entry in self.entries:
            name = _name(entry)
            n_calls = len(self.calls[name])
            is_group = _has_graph(entry)
            for k, node_id in enumerate(self.calls[name]):
                self.graph.nodes[node_id] = GraphNode(
                    id=node_id,
                    layer=f"{self.layer_prefix}{name}",
                    label=name + (f" (call {k + 1} of {n_calls})" if n_calls > 1 else ""),
                    class_name=str(entry.get("class_name", "")),
                    output_shape=self.output_shape_of(node_id),
                    group=self.group,
                    is_group=is_group,
                )
                self.graph.edges.extend(e for e in incoming[node_id] if e.source in self.graph.nodes)
                if is_group:
                    self._add_nested(entry, node_id, name)

    def _add_nested(self, entry: dict, node_id: str, name: str) -> None:
        inner = _Level(
            self.graph, entry["config"], entry["class_name"], f"{node_id}/", f"{self.layer_prefix}{name}/", node_id
        )
        self.inner_layers.setdefault(name, inner.layers())
        self.graph.group_inputs[node_id] = [inner.calls[n][i] for n, i, _ in inner.endpoints("input_layers")]
        self.graph.group_outputs[node_id] = [(inner.calls[n][i], t) for n, i, t in inner.endpoints("output_layers")]

    def output_shape_of(self, node_id: str) -> str:
        """The shapes of a node's outputs, when every one of them is recorded."""
        known = self.shapes.get(node_id, {})
        if not known or set(known) != set(range(max(known) + 1)):
            return ""
        return ", ".join(known[i] for i in range(len(known)))

    def endpoints(self, key: str) -> list[tuple[str, int, int]]:
        """The model's inputs or outputs as ``(layer name, call, tensor index)``."""
        if self.class_name == "Sequential":
            names = [_name(e) for e in self.entries]
            return [(names[0], 0, 0)] if key == "input_layers" else [(names[-1], 0, 0)]
        return [(str(n), int(i), int(t)) for n, i, t in _flat_endpoints(self.config.get(key))]

    def layers(self) -> list[LayerInfo]:
        """The level's layers as ``model.layers`` lists them, each with its nested model's
        layers inside: without a Sequential model's input layer, and without the operations
        Keras records as graph nodes (the ``not_equal`` of a mask)."""
        return [
            self._layer(entry)
            for entry in self.entries
            if not str(entry.get("module") or "").startswith(OPERATION_MODULES)
            and not (self.class_name == "Sequential" and entry.get("class_name") == "InputLayer")
        ]

    def _layer(self, entry: dict) -> LayerInfo:
        name = _name(entry)
        config = _saved_config(entry)
        class_name = str(entry.get("class_name", ""))
        kind = "input" if class_name == "InputLayer" else "model" if _has_graph(entry) else "layer"
        if kind == "layer" and class_name in WRAPPER_CLASSES:
            kind = "wrapper"
        return LayerInfo(
            path=f"{self.layer_prefix}{name}",
            name=name,
            class_name=class_name,
            kind=kind,
            trainable=bool(config.get("trainable", True)),
            params=0,
            trainable_params=0,
            non_trainable_params=0,
            input_shapes=self.input_shapes.get(name, []),
            output_shapes=[s for s in (self.output_shape_of(i) for i in self.calls.get(name, [])) if s],
            dtype_policy=_dtype_policy(config.get("dtype")),
            config=config,
            inbound=self.inbound.get(name, []),
            calls=len(self.calls.get(name, [])) if kind != "input" else 1,
            variables=[],
            children=self.inner_layers.get(name, []),
        )

    def input_tensors(self) -> list[tuple[str, str, str]]:
        """Name, shape and dtype of each model input."""
        found = []
        for name, call, _ in self.endpoints("input_layers"):
            entry = next((e for e in self.entries if _name(e) == name), {})
            found.append((name, self.output_shape_of(self.calls[name][call]), str(entry.get("config", {}).get("dtype", ""))))
        return found

    def output_names(self) -> list[str]:
        """The layers that produce the model's outputs."""
        return [name for name, _, _ in self.endpoints("output_layers")]

    def output_shape(self, name: str) -> str:
        """The recorded shape of an output layer's first call, if any."""
        return self.output_shape_of(self.calls[name][0]) if name in self.calls else ""


def _name(entry: dict) -> str:
    return str(entry.get("name") or (entry.get("config") or {}).get("name"))


def _calls(entry: dict) -> list:
    calls = entry.get("inbound_nodes") or []
    return calls if isinstance(calls, list) else []


def _tensors(call: Any) -> Iterator[tuple[str, int, int, str]]:
    """The input tensors of one call, in Keras' flattening order: ``(source layer, source call,
    tensor index, shape)``.

    Keras 3 writes each tensor as a ``__keras_tensor__`` object with its ``keras_history``
    inside the call's ``args`` and ``kwargs``; legacy HDF5 files write a call as a list of
    ``[layer, call, tensor, kwargs]``.
    """
    if isinstance(call, dict) and ("args" in call or "kwargs" in call):
        yield from _keras_tensors([call.get("args", []), call.get("kwargs", {})])
        return
    for item in call if isinstance(call, list) else []:
        if isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str):
            yield item[0], int(item[1]), int(item[2]), ""


def _keras_tensors(value: Any) -> Iterator[tuple[str, int, int, str]]:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            tensor = value.get("config") or {}
            source, node_index, tensor_index = tensor["keras_history"]
            yield str(source), int(node_index), int(tensor_index), _shape(tensor.get("shape"))
            return
        for key in sorted(value):  # Keras flattens dicts in key order
            yield from _keras_tensors(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _keras_tensors(item)


def _shape(shape: Any) -> str:
    if not isinstance(shape, (list, tuple)):
        return ""
    return str(tuple(shape))


def _input_shape(entry: dict) -> str:
    config = entry.get("config") or {}
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    return _shape(shape)


def _flat_endpoints(value: Any) -> Iterator[tuple]:
    """``[layer, call, tensor]`` triples from a (possibly nested or named) endpoint structure."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flat_endpoints(value[key])
    elif isinstance(value, list):
        if len(value) == 3 and isinstance(value[0], str):
            yield value
        else:
            for item in value:
                yield from _flat_endpoints(item)


def _sequential_entries(entries: list[dict], config: dict) -> list[dict]:
    """A Sequential model's layers as a chain of calls, each taking the one before."""
    chained = []
    for i, entry in enumerate(entries):
        entry = dict(entry)
        if i and entry.get("class_name") != "InputLayer":
            source = _name(chained[-1])
            entry["inbound_nodes"] = [[[source, 0, 0, {}]]]
        else:
            entry["inbound_nodes"] = []
        chained.append(entry)
    if chained and chained[0].get("class_name") != "InputLayer":
        raise ValueError("a Sequential model without an input layer names it only when built")
    return chained


def _saved_config(entry: dict) -> dict:
    """A layer's saved configuration as its ``get_config()`` returns it in a description: a
    nested model's without its layer lists (a copy: a description changes its ``trainable``)."""
    config = entry.get("config") or {}
    if _has_graph(entry):
        return {k: v for k, v in config.items() if k not in ("layers", "input_layers", "output_layers")}
    return dict(config)


def _dtype_policy(dtype: Any) -> str:
    if isinstance(dtype, dict):
        return str((dtype.get("config") or {}).get("name", dtype.get("class_name", "")))
    return str(dtype or "")
