"""Groups the repeated blocks of a big graph (``block4a_…`` → ``block4a``) into collapsible nodes.

Fitted to a window, a graph of hundreds or thousands of layers is a line or a solid block of
pixels. Its layer names usually say its shape: EfficientNet's ``block1a_…`` to ``block7d_…``,
ResNet's ``conv2_block1_…``, a transformer's ``layer_3_…``. :func:`group_blocks` puts the nodes
whose names share a first part into one block node, the way a nested model collapses, so the
whole model shows as its stages and blocks; a block opens in place like a nested model.

A block only forms where it reads as one: at least :data:`MIN_MEMBERS` nodes, in a graph level
of more than :data:`GROUP_ABOVE` nodes, and convex (no path leaves the block and comes back:
``dense``, ``dense_1``, … scattered over a model stay as they are). A block of more than
:data:`SPLIT_ABOVE` nodes is split again by the next part of the names (``conv2`` into
``conv2_block1``, …).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from inspector.model.model_info import GraphNode, LayerInfo, ModelGraph

GROUP_ABOVE = 150
"""A graph level (the top level, or inside one nested model) with more nodes than this has its
blocks grouped."""
SPLIT_ABOVE = 24
"""A block with more nodes than this is split into smaller blocks by the next name part."""
MIN_MEMBERS = 3
BLOCK_SUFFIX = "_*"
"""Ends a block's node id and layer path (``block4a_*``): no layer name of Keras' ends so."""


def is_block(node: GraphNode) -> bool:
    """Whether a node is a block made by :func:`group_blocks` rather than a layer call."""
    return node.id.endswith(BLOCK_SUFFIX) and node.class_name == "Block"


def group_blocks(graph: ModelGraph) -> ModelGraph:
    """The graph with the repeated blocks of each big level grouped into block nodes.

    Block nodes come just before their first member in :attr:`ModelGraph.nodes`; members keep
    their ids and point to their block as their ``group``; edges are unchanged (a view draws an
    edge between the closed blocks around its ends, see
    :func:`~inspector.model.graph_layout.visible_edges`).

    Args:
        graph: A model's graph.

    Returns:
        A new graph (``graph`` itself when nothing groups).
    """
    levels: dict[str | None, list[str]] = defaultdict(list)
    for node in graph.nodes.values():
        levels[node.group].append(node.id)
    successors: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        successors[edge.source].append(edge.target)
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    blocks: dict[str, tuple[GraphNode, list[str]]] = {}
    parent_of: dict[str, str] = {}
    for group, members in levels.items():
        if len(members) > GROUP_ABOVE:
            _group_level(graph, members, group, 1, successors, order, blocks, parent_of)
    if not blocks:
        return graph
    grouped = ModelGraph(edges=graph.edges, group_inputs=graph.group_inputs, group_outputs=graph.group_outputs)
    first_member = {}
    for block_id, (_, members) in blocks.items():
        first_member.setdefault(min(members, key=order.__getitem__), []).append(block_id)
    depth = _depth(parent_of)
    for node_id, node in graph.nodes.items():
        for block_id in sorted(first_member.get(node_id, ()), key=depth):  # outer blocks first
            grouped.nodes[block_id] = blocks[block_id][0]
        grouped.nodes[node_id] = dataclasses.replace(node, group=parent_of[node_id]) if node_id in parent_of else node
    return grouped


def _depth(parent_of: dict[str, str]):
    def depth(node_id: str) -> int:
        count = 0
        while node_id in parent_of:
            node_id, count = parent_of[node_id], count + 1
        return count

    return depth


def _group_level(graph, members, group, parts, successors, order, blocks, parent_of) -> None:
    """Forms the blocks among ``members`` (nodes with the same parent) by the first ``parts``
    parts of their layer names, and splits big blocks again."""
    candidates: dict[str, list[str]] = defaultdict(list)
    for node_id in members:
        name = graph.nodes[node_id].layer.rpartition("/")[2]
        pieces = name.split("_")
        if len(pieces) > parts:
            candidates["_".join(pieces[:parts])].append(node_id)
    formed = {
        prefix: nodes
        for prefix, nodes in candidates.items()
        if MIN_MEMBERS <= len(nodes) < len(members) and _convex(set(nodes), successors, order)
    }
    if len(formed) < 2:
        return
    if group is None:
        level_prefix = ""
    elif group.endswith(BLOCK_SUFFIX):  # a block's sub-blocks are named at the block's level
        level_prefix = group[: group.rfind("/") + 1]
    else:  # inside a nested model
        level_prefix = f"{group}/"
    layer_prefix = graph.nodes[members[0]].layer.rpartition("/")[0]
    layer_prefix = f"{layer_prefix}/" if layer_prefix else ""
    for prefix, nodes in formed.items():
        block_id = f"{level_prefix}{prefix}{BLOCK_SUFFIX}"
        last = max(nodes, key=order.__getitem__)
        blocks[block_id] = (
            GraphNode(
                id=block_id,
                layer=f"{layer_prefix}{prefix}{BLOCK_SUFFIX}",
                label=prefix,
                class_name="Block",
                output_shape=graph.nodes[last].output_shape,
                group=group,
                is_group=True,
            ),
            nodes,
        )
        for node_id in nodes:
            parent_of[node_id] = block_id
        if len(nodes) > SPLIT_ABOVE:
            _group_level(graph, nodes, block_id, parts + 1, successors, order, blocks, parent_of)


def _convex(block: set[str], successors: dict[str, list[str]], order: dict[str, int]) -> bool:
    """Whether no path leaves ``block`` and comes back into it.

    Nodes are in topological order, so a path that comes back only passes nodes before the
    block's last one; the search stops there.
    """
    last = max(order[n] for n in block)
    seen: set[str] = set()
    todo = [t for n in block for t in successors.get(n, ()) if t not in block]
    while todo:
        node = todo.pop()
        if node in seen or order.get(node, last + 1) > last:
            continue
        seen.add(node)
        for target in successors.get(node, ()):
            if target in block:
                return False
            todo.append(target)
    return True


def block_layers(graph: ModelGraph, layers: dict[str, LayerInfo]) -> dict[str, LayerInfo]:
    """A description of each block as one layer of kind ``"block"``, for drawing it: the
    layers inside it as children, and their parameter counts added up (a layer called in the
    block more than once counts once).

    Args:
        graph: A graph from :func:`group_blocks`.
        layers: Every layer by path (:meth:`~inspector.model.model_info.ModelInfo.layer_index`).

    Returns:
        The blocks' descriptions by their layer paths (``block4a_*``).
    """
    blocks = {node_id for node_id, node in graph.nodes.items() if is_block(node)}
    inside: dict[str, dict[str, None]] = defaultdict(dict)  # the layer paths in each block, in order
    for node in graph.nodes.values():
        if node.layer not in layers:
            continue
        group = node.group
        while group in blocks:
            inside[group][node.layer] = None
            group = graph.nodes[group].group
    described = {}
    for block_id, paths in inside.items():
        node, children = graph.nodes[block_id], [layers[path] for path in paths]
        trainable = sum(c.trainable_params for c in children)
        non_trainable = sum(c.non_trainable_params for c in children)
        described[node.layer] = LayerInfo(
            path=node.layer,
            name=node.label,
            class_name="Block",
            kind="block",
            trainable=any(c.trainable for c in children),
            params=trainable + non_trainable,
            trainable_params=trainable,
            non_trainable_params=non_trainable,
            input_shapes=[],
            output_shapes=[node.output_shape],
            dtype_policy="",
            config={},
            inbound=[],
            calls=1,
            variables=[v for c in children for v in c.variables],
            children=children,
        )
    return described
