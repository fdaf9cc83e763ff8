"""Plain descriptions of a loaded model: what the views draw. No Keras and no Qt in here."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts, as in ``model.summary()``."""

    total: int
    trainable: int
    non_trainable: int


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output."""

    name: str
    shape: str
    dtype: str


@dataclass(frozen=True)
class VariableInfo:
    """One variable of the model.

    Attributes:
        path: Keras' variable path, e.g. ``"dense/kernel"``.
        layer: Path of the innermost layer that owns it (see :class:`LayerInfo`).
        shape: The variable's shape.
        dtype: Its dtype name.
        trainable: Whether training may change it.
        size: Number of elements.
    """

    path: str
    layer: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    size: int


@dataclass(frozen=True)
class LoraInfo:
    """The LoRA adapter of a layer (``layer.enable_lora(rank, lora_alpha)``).

    Attributes:
        rank: The rank of the two LoRA matrices.
        alpha: The scale numerator: the update is ``alpha / rank * (a @ b)``.
        variables: Paths of the LoRA matrices, e.g. ``"dense/lora_kernel_a"``.
        zero: Whether both matrices hold only zeros, as after loading a saved model: Keras
            merges them into the kernel when saving and sets them to zero when loading.
    """

    rank: int
    alpha: float
    variables: tuple[str, ...]
    zero: bool


@dataclass(frozen=True)
class QuantInfo:
    """How a layer is quantized (``model.quantize(mode)``) and what its variables take.

    Attributes:
        mode: ``"int8"``, ``"int4"``, ``"float8"`` (or another Keras mode).
        policy: The layer's dtype policy, e.g. ``"int8_from_float32"``.
        variables: Paths of the layer's own variables (quantized kernel, scales, bias).
        bytes: What those variables take now.
        float32_bytes: What the layer's weights take in float32 (scales excluded).
    """

    mode: str
    policy: str
    variables: tuple[str, ...]
    bytes: int
    float32_bytes: int


@dataclass
class LayerInfo:
    """One layer, possibly a nested model or a wrapper holding other layers.

    Attributes:
        path: Unique path inside the model: the names of the enclosing layers and this one,
            joined by ``/``.
        name: The layer's name.
        class_name: The layer's class, e.g. ``"Conv2D"``.
        kind: ``"input"``, ``"layer"``, ``"model"`` (a model used as a layer) or ``"wrapper"``.
        trainable: The layer's own ``trainable`` flag.
        params: All its parameters, including those of layers inside it.
        trainable_params: Parameters training may change.
        non_trainable_params: Parameters training leaves alone.
        input_shapes: Input shape of each call.
        output_shapes: Output shape of each call.
        dtype_policy: Name of its dtype policy, e.g. ``"float32"``.
        config: Its configuration, reduced to JSON-compatible values.
        inbound: Names of the layers that feed it, over all its calls.
        calls: How many times the layer is called in its model's graph.
        variables: Paths of its variables, including those of inner layers.
        children: Inner layers of a nested model or wrapper.
        lora: Its LoRA adapter, for a layer with LoRA enabled.
        quantization: How it is quantized, for a quantized layer.
    """

    path: str
    name: str
    class_name: str
    kind: str
    trainable: bool
    params: int
    trainable_params: int
    non_trainable_params: int
    input_shapes: list[str]
    output_shapes: list[str]
    dtype_policy: str
    config: dict
    inbound: list[str]
    calls: int
    variables: list[str]
    children: list["LayerInfo"] = field(default_factory=list)
    lora: LoraInfo | None = None
    quantization: QuantInfo | None = None

    @property
    def partly_frozen(self) -> bool:
        """True for a layer with both trainable and non-trainable inner layers."""
        return self.trainable_params > 0 and any(not c.trainable for c in self.walk() if c is not self and c.params)

    def walk(self):
        """Yields this layer and every layer inside it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class GraphNode:
    """One call of a layer in the graph (or, in a graph from
    :func:`~inspector.model.graph_blocks.group_blocks`, a block of such nodes: class ``"Block"``,
    id and layer path ending in ``_*``, a group whose members point to it).

    Attributes:
        id: Unique node id; nodes inside a nested model are prefixed with that model's node id.
        layer: Path of the called layer (a key of :meth:`ModelInfo.layer_index`).
        label: What the node shows as its title: the layer name, and the call number for a
            layer called more than once.
        class_name: The layer's class.
        output_shape: Shape(s) of what this call returns.
        group: Id of the nested-model (or block) node this node is inside, or ``None`` at top
            level.
        is_group: True for a nested model whose inner graph can be shown, and for a block.
    """

    id: str
    layer: str
    label: str
    class_name: str
    output_shape: str
    group: str | None
    is_group: bool


@dataclass(frozen=True)
class GraphEdge:
    """A tensor from one node to another at the same nesting level.

    Attributes:
        source: Node id of the producer.
        target: Node id of the consumer.
        source_port: Which output of the producer.
        target_port: Which input of the consumer.
        shape: The tensor's shape.
    """

    source: str
    target: str
    source_port: int
    target_port: int
    shape: str


@dataclass
class ModelGraph:
    """The layer graph at every nesting level.

    Attributes:
        nodes: Every node by id, including nodes inside nested models.
        edges: Edges between nodes of the same level.
        group_inputs: For each nested-model node, the inner node that receives each input.
        group_outputs: For each nested-model node, the inner node and output index that
            produce each of its outputs.
    """

    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)
    group_inputs: dict[str, list[str]] = field(default_factory=dict)
    group_outputs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def same_structure(self, other: "ModelGraph") -> bool:
        """Whether ``other`` has the same nodes, edges and nested models in the same order, so
        the same layout (labels and shapes may differ)."""
        return (
            self.group_inputs == other.group_inputs
            and self.group_outputs == other.group_outputs
            and [(n.id, n.layer, n.group, n.is_group) for n in self.nodes.values()]
            == [(n.id, n.layer, n.group, n.is_group) for n in other.nodes.values()]
            and [(e.source, e.target, e.source_port, e.target_port) for e in self.edges]
            == [(e.source, e.target, e.source_port, e.target_port) for e in other.edges]
        )


@dataclass
class ModelInfo:
    """Everything the views show about one loaded model.

    Attributes:
        name: The model's name.
        class_name: ``"Functional"``, ``"Sequential"`` or a subclass name.
        file: Path of the file it was loaded from.
        format: ``"keras"`` or ``"h5"``.
        compiled: Whether the training configuration was restored.
        notes: How it was loaded, for the user.
        inputs: The model's inputs.
        outputs: The model's outputs, by output layer name.
        params: Parameter counts of the whole model.
        layers: The model's top-level layers, in ``model.layers`` order.
        variables: Every variable, in ``model.weights`` order.
        graph: The layer graph.
        preview: Described from the file's configuration while Keras loads the model
            (:func:`~inspector.model.config_graph.describe_config`): no variables, no parameter
            counts, and only the shapes the configuration records.
    """

    name: str
    class_name: str
    file: str
    format: str
    compiled: bool
    notes: list[str]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    params: ParamCounts
    layers: list[LayerInfo]
    variables: list[VariableInfo]
    graph: ModelGraph
    preview: bool = False
    _index: dict[str, LayerInfo] | None = field(default=None, init=False, repr=False, compare=False)

    def layer_index(self) -> dict[str, LayerInfo]:
        """Every layer at every depth, by path (made once: a description's layers do not change,
        only their values; the views of a 10,000-layer model each ask for it)."""
        if self._index is None:
            self._index = {info.path: info for top in self.layers for info in top.walk()}
        return self._index

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "_index"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _index=None)
