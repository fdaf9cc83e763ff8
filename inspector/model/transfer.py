"""Builds new models from a layer of an existing one: feature extractors and transfer-learning heads.

The cut follows Keras' functional graph: the new model is ``keras.Model(inputs, layer.output)``
with only the inputs that output depends on. A layer inside a nested model (a path such as
``"digits_base/base_conv_1"``) is supported: the nested model's inputs are cut to that inner
layer's output as a sub-model, which is then applied to the outer tensors that fed the nested
model; the truncated nested model keeps its name, so paths read the same in the new model.
Inner layers of a wrapper (``Bidirectional``, ``TimeDistributed``) have no output of their own
in any graph and are refused. With a masked sequence, ``"avg"`` pooling honours the mask and
``"max"`` drops it (Keras warns).

Every model built here is independent of the model it came from: it is rebuilt from the cut's
configuration and given a copy of its weights, so freezing or training it never changes the
original (which may be open in another tab and used by another worker). Built models are not
compiled: the loss and metrics depend on the user's new labels, and trainable flags may still
change before training (Keras only honours them at ``compile()``).
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.tfimport import keras
from keras.src.ops.function import make_node_key

from inspector.model.describe import inner_graph_model

POOLINGS = ("avg", "max", "flatten", "none")
_GLOBAL_POOLING = {
    "avg": {3: keras.layers.GlobalAveragePooling1D, 4: keras.layers.GlobalAveragePooling2D,
            5: keras.layers.GlobalAveragePooling3D},
    "max": {3: keras.layers.GlobalMaxPooling1D, 4: keras.layers.GlobalMaxPooling2D,
            5: keras.layers.GlobalMaxPooling3D},
}


class TransferError(Exception):
    """A new model cannot be built from the chosen layer; the message says why in plain words."""


@dataclass(frozen=True)
class HeadSpec:
    """The new head put on a cut model.

    Attributes:
        pooling: ``"avg"`` or ``"max"`` (global pooling over the spatial or time axes of a
            3-D, 4-D or 5-D output), ``"flatten"``, or ``"none"``.
        dropout: Dropout rate before the Dense layer; 0 adds no Dropout layer.
        units: Units of the new Dense layer, or ``None`` for no Dense layer (a plain feature
            extractor, possibly pooled).
        activation: Activation of the new Dense layer, e.g. ``"softmax"``.
        freeze_base: Make every layer taken from the original model non-trainable.
        name: Name of the new model; empty for a name made from the model and the layer.
    """

    pooling: str = "avg"
    dropout: float = 0.0
    units: int | None = None
    activation: str | None = "softmax"
    freeze_base: bool = True
    name: str = ""


def proposed_name(model: str, layer: str, purpose: str = "transfer") -> str:
    """The name proposed for a new model built from one layer of ``model``.

    ``"<model>_<layer>_<purpose>"``, without saying a name twice: a layer named like the model,
    or whose name already starts with the model's name, gives ``"<layer>_<purpose>"``.

    Args:
        model: The original model's name.
        layer: The name of the layer the new model is cut at.
        purpose: What the new model is, e.g. ``"transfer"`` or ``"features"``.

    Returns:
        The name, e.g. ``"digits_cnn_flatten_transfer"``.
    """
    stem = layer if layer == model or layer.startswith(f"{model}_") else f"{model}_{layer}"
    return f"{stem}_{purpose}"


def feature_extractor(model, layer_path: str, call: int = 0):
    """A new model from the model's inputs to one layer's output.

    Args:
        model: A functional or Sequential Keras model.
        layer_path: The layer's path (:attr:`inspector.model.model_info.LayerInfo.path`), e.g.
            ``"flatten"`` or ``"digits_base/base_conv_1"``.
        call: Which call of a layer that is called more than once (0 for the first). Nested
            models on the path are taken at their first call.

    Returns:
        An independent, uncompiled model with the inputs the layer's output needs, named
        ``"<model>_<layer>_features"`` (see :func:`proposed_name`); its layers keep the original
        trainable flags.

    Raises:
        TransferError: The path names no layer, names an input or a wrapper's inner layer,
            or the model has no functional graph.
    """
    layer_name = layer_path.rsplit("/", 1)[-1]
    inputs, outputs = _cut(model, layer_path.split("/"), call, layer_path)
    return _detached(inputs, outputs, proposed_name(model.name, layer_name, "features"))


def build_transfer_model(model, layer_path: str, head: HeadSpec, call: int = 0):
    """A new model: the original cut at a layer, with a new head on top.

    Args:
        model: A functional or Sequential Keras model.
        layer_path: The layer whose output feeds the head (see :func:`feature_extractor`).
        head: The head to add.
        call: Which call of a shared layer to cut at.

    Returns:
        An independent, uncompiled model. The layers taken from the original model are
        frozen when ``head.freeze_base`` is set; the head's layers are trainable.

    Raises:
        TransferError: As for :func:`feature_extractor`, or when the head does not fit the
            layer's output (several outputs, a pooling that needs another rank).
    """
    _check_head(head)
    base = feature_extractor(model, layer_path, call)
    layer_name = layer_path.rsplit("/", 1)[-1]
    name = head.name or proposed_name(model.name, layer_name, "transfer" if head.units else "features")
    return _with_head(base, head, name, output_name=None)


def replace_output_layer(model, num_classes: int, activation: str = "softmax", *,
                         output: str | None = None, freeze_base: bool = True):
    """A new model whose Dense output layer is replaced by one with ``num_classes`` units.

    The model is cut at the tensor that feeds the output layer; the new Dense layer keeps the
    old one's name. For a model with several outputs, the new model has only the replaced one.

    Args:
        model: A functional or Sequential Keras model whose output comes from a Dense layer.
        num_classes: Units of the new output layer.
        activation: Its activation.
        output: Name of the output layer to replace; required when the model has several.
        freeze_base: Make every layer below the new output layer non-trainable.

    Returns:
        An independent, uncompiled model named ``"<model>_<num_classes>_classes"``.

    Raises:
        TransferError: The model has several outputs and ``output`` is not one of them, the
            output layer is not Dense, or the model has no functional graph.
    """
    if num_classes < 1:
        raise TransferError(f"The number of classes must be at least 1, not {num_classes}.")
    functional = _graph(model)
    output_tensor = _output_tensor(functional, output)
    dense, node_index, _ = output_tensor._keras_history
    if not isinstance(dense, keras.layers.Dense):
        raise TransferError(
            f"The output layer {dense.name!r} is a {type(dense).__name__}, not a Dense layer; "
            "use a new head on the layer below it instead."
        )
    feature = dense._inbound_nodes[node_index].input_tensors[0]
    inputs = _needed_inputs(functional, [feature])
    base = _detached(inputs, feature, f"{model.name}_base")
    head = HeadSpec(pooling="none", units=num_classes, activation=activation, freeze_base=freeze_base)
    return _with_head(base, head, f"{model.name}_{num_classes}_classes", output_name=dense.name)


def build_model(model, layer_path: str | None, head: HeadSpec | None = None, *,
                call: int = 0, num_classes: int | None = None,
                activation: str = "softmax", output: str | None = None):
    """Builds a new model from ``model``: a new head on a layer's output, or a replaced output.

    With ``num_classes`` it runs :func:`replace_output_layer`; otherwise
    :func:`build_transfer_model` with ``head`` (default: a plain feature extractor keeping
    the original trainable flags).

    Args:
        model: The open model; it is only read.
        layer_path: The layer to cut at (ignored with ``num_classes``).
        head: The new head.
        call: Which call of a shared layer to cut at.
        num_classes: Replace the output layer with one of this many units.
        activation: Activation of the replaced output layer.
        output: Which output layer to replace in a model with several.

    Returns:
        The new Keras model (not compiled).

    Raises:
        TransferError: With a plain message when the model cannot be built.
    """
    if num_classes is None and not layer_path:
        raise TransferError("Choose the layer to build the new model from.")
    if num_classes is not None:
        return replace_output_layer(model, num_classes, activation, output=output)
    return build_transfer_model(model, layer_path, head or HeadSpec(pooling="none", freeze_base=False), call)

def _graph(model):
    """The functional graph of ``model``, or a TransferError for a model without one."""
    functional = inner_graph_model(model)
    if functional is None:
        raise TransferError(
            f"{model.name!r} is a {type(model).__name__} model without a layer graph Keras can "
            "read (a subclassed or unbuilt model), so it cannot be cut at a layer."
        )
    return functional


def _cut(model, names: list[str], call: int, full_path: str):
    """Input and output tensors, in ``model``'s graph, of the cut at the layer ``names``."""
    functional = _graph(model)
    layer = _find_layer(functional, names[0], full_path)
    if len(names) == 1:
        if isinstance(layer, keras.layers.InputLayer):
            raise TransferError(
                f"{full_path!r} is an input of the model; choose a layer after it to cut at."
            )
        outputs = _call_node(functional, layer, call, full_path).outputs
    else:
        if inner_graph_model(layer) is None:
            raise TransferError(
                f"{names[0]!r} is a {type(layer).__name__}: the layers inside it have no output of "
                f"their own in the graph; cut at {names[0]!r} itself instead."
            )
        outputs = [_apply_inner_cut(functional, layer, names[1:], call, full_path)]
    return _needed_inputs(functional, outputs), outputs


def _apply_inner_cut(functional, nested, names: list[str], call: int, full_path: str):
    """Cuts inside a nested model and applies that cut to the tensors fed to ``nested``."""
    inner_inputs, inner_outputs = _cut(nested, names, call, full_path)
    sub_model = keras.Model(inner_inputs, _single(inner_outputs), name=nested.name)
    node = _call_node(functional, nested, 0, full_path)
    inner_graph_inputs = [id(t) for t in inner_graph_model(nested).inputs]
    fed = keras.tree.flatten(node.input_tensors)
    return sub_model(_single([fed[inner_graph_inputs.index(id(t))] for t in inner_inputs]))


def _find_layer(functional, name: str, full_path: str):
    for layer in functional.layers:
        if layer.name == name:
            return layer
    raise TransferError(f"The model has no layer {full_path!r} (no {name!r} in {functional.name!r}).")


def _call_node(functional, layer, call: int, full_path: str):
    """The node of the ``call``-th call of ``layer`` inside ``functional``'s graph."""
    nodes = [
        node
        for index, node in enumerate(layer._inbound_nodes)
        if make_node_key(layer, index) in functional._nodes
    ]
    if not 0 <= call < len(nodes):
        raise TransferError(
            f"Layer {full_path!r} is called {len(nodes)} time(s); there is no call number {call + 1}."
        )
    return nodes[call]


def _needed_inputs(functional, outputs) -> list:
    """The model inputs that ``outputs`` depend on, in the model's input order."""
    reached, seen = set(), set()
    stack = list(keras.tree.flatten(outputs))
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        operation, node_index, _ = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        if isinstance(operation, keras.layers.InputLayer):
            reached.add(id(operation))
        stack.extend(keras.tree.flatten(node.input_tensors))
    return [t for t in functional.inputs if id(t._keras_history.operation) in reached]


def _output_tensor(functional, output: str | None):
    """The model output produced by the layer named ``output`` (or the only output)."""
    tensors = list(keras.tree.flatten(functional.outputs))
    names = [t._keras_history.operation.name for t in tensors]
    if output is None and len(tensors) == 1:
        return tensors[0]
    if output in names:
        return tensors[names.index(output)]
    choice = ", ".join(repr(n) for n in names)
    if output is None:
        raise TransferError(f"The model has {len(tensors)} outputs ({choice}); choose the one to replace.")
    raise TransferError(f"The model has no output {output!r}; its outputs are {choice}.")


def _detached(inputs, outputs, name: str):
    """A copy of the cut ``keras.Model(inputs, outputs)`` that shares no layer with the original.

    Safe mode is off for the copy: its config comes from the live model in this process, not
    from a file, so a Lambda layer the user already allowed to run is no new risk.
    """
    cut = keras.Model(_single(inputs), _single(outputs), name=name)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cut), safe_mode=False)
    copy.set_weights(cut.get_weights())
    return copy


def _with_head(base, head: HeadSpec, name: str, output_name: str | None):
    """``base`` with ``head`` on its output, as one model whose base layers are at top level."""
    if head.freeze_base:
        for layer in base.layers:
            # An InputLayer holds no weights, and its trainable flag is not saved.
            if not isinstance(layer, keras.layers.InputLayer):
                layer.trainable = False
    taken = {layer.name for layer in base.layers}
    x = _single_output(base)
    x = _pool(x, head.pooling, taken)
    if head.dropout:
        x = keras.layers.Dropout(head.dropout, name=_unique_name("head_dropout", taken))(x)
    if head.units:
        dense_name = output_name or _unique_name("head_dense", taken)
        x = keras.layers.Dense(head.units, activation=head.activation, name=dense_name)(x)
    return keras.Model(base.inputs if len(base.inputs) > 1 else base.inputs[0], x,
                       name=_unique_name(name, taken))


def _check_head(head: HeadSpec) -> None:
    if head.pooling not in POOLINGS:
        raise TransferError(f"Unknown pooling {head.pooling!r}; choose one of {', '.join(POOLINGS)}.")
    if not 0 <= head.dropout < 1:
        raise TransferError(f"The dropout rate must be in [0, 1), not {head.dropout}.")
    if head.units is not None and head.units < 1:
        raise TransferError(f"The Dense layer needs at least 1 unit, not {head.units}.")
    if "/" in head.name:
        raise TransferError(f"A model name cannot contain '/': {head.name!r}.")


def _single_output(base):
    outputs = keras.tree.flatten(base.outputs)
    if len(outputs) != 1:
        raise TransferError(
            f"The chosen layer has {len(outputs)} outputs; a head needs a layer with one output."
        )
    return outputs[0]


def _pool(x, pooling: str, taken: set[str]):
    """Applies the head's pooling to ``x``."""
    rank = len(x.shape)
    if pooling == "none":
        return x
    if pooling == "flatten":
        if any(d is None for d in x.shape[1:]):
            raise TransferError(f"Flatten needs a fixed output shape, but the layer gives {tuple(x.shape)}.")
        return keras.layers.Flatten(name=_unique_name("head_flatten", taken))(x)
    layer_class = _GLOBAL_POOLING[pooling].get(rank)
    if layer_class is None:
        raise TransferError(
            f"Global {pooling} pooling needs a 3-D, 4-D or 5-D output, but the layer gives "
            f"{tuple(x.shape)}; choose 'flatten' or 'none'."
        )
    return layer_class(name=_unique_name(f"head_{pooling}_pool", taken))(x)


def _unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… if it is taken; the result is added to ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def _single(tensors):
    tensors = list(keras.tree.flatten(tensors))
    return tensors[0] if len(tensors) == 1 else tensors
