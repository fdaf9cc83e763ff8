"""Which graph nodes are visible for a set of expanded nested models, and where they go.

The layered (Sugiyama) layout comes from igraph; this module only decides what to lay out.
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph

from inspector.model.graph_blocks import is_block
from inspector.model.model_info import GraphEdge, ModelGraph


@dataclass(frozen=True)
class VisibleEdge:
    """An edge as drawn: between visible nodes, after resolving expanded nested models."""

    source: str
    target: str
    shape: str


@dataclass
class GraphLayout:
    """Positions in layout units: one unit between neighbours in a row, one unit between rows.

    Attributes:
        positions: Centre of each visible node.
        edges: Each visible edge with the points it passes through, from source to target.
        groups: Every expanded nested model with the visible nodes inside it (at any depth).
        graph: The graph that was laid out (with its blocks grouped, when the caller grouped
            them), so that a view need not group them again.
    """

    positions: dict[str, tuple[float, float]]
    edges: list[tuple[VisibleEdge, list[tuple[float, float]]]]
    groups: dict[str, list[str]]
    graph: ModelGraph


def visible_nodes(graph: ModelGraph, expanded: set[str]) -> list[str]:
    """Nodes shown when the nested models in ``expanded`` are open.

    A node is shown when every nested model enclosing it is expanded; an expanded nested model
    is replaced by its inner nodes.
    """
    shown = []
    for node in graph.nodes.values():
        if node.is_group and node.id in expanded:
            continue
        if _enclosing_expanded(graph, node.id, expanded):
            shown.append(node.id)
    return shown


def _enclosing_expanded(graph: ModelGraph, node_id: str, expanded: set[str]) -> bool:
    group = graph.nodes[node_id].group
    while group is not None:
        if group not in expanded:
            return False
        group = graph.nodes[group].group
    return True


def visible_edges(graph: ModelGraph, expanded: set[str]) -> list[VisibleEdge]:
    """Edges between shown nodes, entering and leaving expanded nested models at their inner inputs
    and outputs.

    An edge to or from a node inside a closed block (see :mod:`inspector.model.graph_blocks`)
    runs to or from that block, once per pair of ends; edges inside a closed block are not shown.
    """
    edges, joined = [], set()
    for edge in graph.edges:
        if not _level_shown(graph, edge.source, expanded):
            continue
        source = _closed_block(graph, edge.source, expanded)
        source = source or _shown(graph, _resolve_source(graph, edge, expanded), expanded)
        target = _closed_block(graph, edge.target, expanded)
        target = target or _shown(graph, _resolve_target(graph, edge, expanded), expanded)
        if source == target:
            continue
        if is_block(graph.nodes[source]) or is_block(graph.nodes[target]):
            if (source, target) in joined:
                continue
            joined.add((source, target))
        edges.append(VisibleEdge(source, target, edge.shape))
    return edges


def _level_shown(graph: ModelGraph, node_id: str, expanded: set[str]) -> bool:
    """Whether every nested model around a node is open (blocks aside)."""
    group = graph.nodes[node_id].group
    while group is not None:
        if group not in expanded and not is_block(graph.nodes[group]):
            return False
        group = graph.nodes[group].group
    return True


def _closed_block(graph: ModelGraph, node_id: str, expanded: set[str]) -> str | None:
    """The outermost closed block around a node in its own graph level, if any."""
    closed = None
    group = graph.nodes[node_id].group
    while group is not None and is_block(graph.nodes[group]):
        if group not in expanded:
            closed = group
        group = graph.nodes[group].group
    return closed


def _shown(graph: ModelGraph, node_id: str, expanded: set[str]) -> str:
    """The node itself, or the closed block it is in."""
    return _closed_block(graph, node_id, expanded) or node_id


def _resolve_source(graph: ModelGraph, edge: GraphEdge, expanded: set[str]) -> str:
    node, port = edge.source, edge.source_port
    while node in expanded and node in graph.group_outputs:
        node, port = graph.group_outputs[node][port]
    return node


def _resolve_target(graph: ModelGraph, edge: GraphEdge, expanded: set[str]) -> str:
    node, port = edge.target, edge.target_port
    while node in expanded and node in graph.group_inputs:
        inputs = graph.group_inputs[node]
        node = inputs[min(port, len(inputs) - 1)]
        port = 0
    return node


def layout_graph(graph: ModelGraph, expanded: set[str] | frozenset[str] = frozenset()) -> GraphLayout:
    """Lays the visible graph out top to bottom with igraph's Sugiyama layout.

    Args:
        graph: The model's graph.
        expanded: Ids of the nested-model nodes whose inner graphs are shown.

    Returns:
        Node centres, edge routes and the members of each expanded group.
    """
    expanded = set(expanded)
    nodes = visible_nodes(graph, expanded)
    index = {node_id: i for i, node_id in enumerate(nodes)}
    edges = [e for e in visible_edges(graph, expanded) if e.source in index and e.target in index]
    g = igraph.Graph(n=len(nodes), edges=[(index[e.source], index[e.target]) for e in edges], directed=True)
    layout = g.layout_sugiyama() if nodes else None
    coords = layout.coords if layout is not None else []  # a copy on every access: read once
    positions = {node_id: tuple(coords[i][:2]) for node_id, i in index.items()}
    routing = (layout.edge_routing or []) if layout is not None else []
    routed = []
    for i, edge in enumerate(edges):
        bends = [tuple(p[:2]) for p in routing[i]] if i < len(routing) else []
        routed.append((edge, [positions[edge.source], *bends, positions[edge.target]]))
    groups = {
        group: [n for n in nodes if _inside(graph, n, group)]
        for group in expanded
        if group in graph.nodes and _enclosing_expanded(graph, group, expanded)
    }
    return GraphLayout(positions=positions, edges=routed, groups=groups, graph=graph)


def _inside(graph: ModelGraph, node_id: str, group: str) -> bool:
    parent = graph.nodes[node_id].group
    while parent is not None:
        if parent == group:
            return True
        parent = graph.nodes[parent].group
    return False
