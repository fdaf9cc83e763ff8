"""Repeated blocks of big graphs group into nodes that open in place (core and view)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from inspector.model.describe import describe
from inspector.model.graph_blocks import GROUP_ABOVE, block_layers, group_blocks, is_block
from inspector.model.graph_layout import layout_graph, visible_edges
from inspector.tfimport import keras
from tests.conftest import shown
from widgets.model.graph_view import GraphView

STAGES, UNITS = 4, 15


def staged(stages: int = STAGES, units: int = UNITS, frozen_stage: int | None = None):
    """Stages of units of Dense, LayerNormalization and ReLU, with a residual add per stage:
    181 layers + 4 adds, named ``stage{s}_unit{u}_…`` as Keras applications name theirs."""
    x = inputs = keras.Input((4,), name="features")
    for s in range(1, stages + 1):
        start = x
        for u in range(1, units + 1):
            x = keras.layers.Dense(4, name=f"stage{s}_unit{u}_dense")(x)
            x = keras.layers.LayerNormalization(name=f"stage{s}_unit{u}_norm")(x)
            x = keras.layers.Activation("relu", name=f"stage{s}_unit{u}_relu")(x)
        x = keras.layers.Add(name=f"stage{s}_add")([start, x])
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(x), name="staged")
    if frozen_stage is not None:
        for u in range(1, units + 1):
            model.get_layer(f"stage{frozen_stage}_unit{u}_dense").trainable = False
    return model


def test_a_big_level_groups_by_name_and_splits_big_blocks():
    graph = describe(staged()).graph
    assert len(graph.nodes) > GROUP_ABOVE
    grouped = group_blocks(graph)
    top = [n.id for n in grouped.nodes.values() if n.group is None]
    assert top == ["features", "stage1_*", "stage2_*", "stage3_*", "stage4_*", "head"]
    stage = grouped.nodes["stage2_*"]
    assert is_block(stage) and stage.label == "stage2" and stage.is_group
    inside = [n.id for n in grouped.nodes.values() if n.group == "stage2_*"]
    assert inside[:2] == ["stage2_unit1_*", "stage2_unit1_dense"] or "stage2_unit1_*" in inside
    assert grouped.nodes["stage2_unit7_norm"].group == "stage2_unit7_*"
    assert grouped.nodes["stage2_add"].group == "stage2_*"
    # Layer nodes keep their ids and everything else; edges are the model's.
    assert set(graph.nodes) < set(grouped.nodes) and grouped.edges is graph.edges


def test_closed_blocks_are_nodes_of_the_layout_and_open_in_place():
    grouped = group_blocks(describe(staged()).graph)
    closed = layout_graph(grouped)
    assert set(closed.positions) == {"features", "stage1_*", "stage2_*", "stage3_*", "stage4_*", "head"}
    assert {(e.source, e.target) for e, _ in closed.edges} == {
        ("features", "stage1_*"), ("stage1_*", "stage2_*"), ("stage2_*", "stage3_*"), ("stage3_*", "stage4_*"), ("stage4_*", "head")
    }  # once per pair: the residual and the chain into a stage are one edge
    opened = layout_graph(grouped, {"stage2_*"})
    assert "stage2_unit3_*" in opened.positions and "stage2_add" in opened.positions
    edges = {(e.source, e.target) for e in visible_edges(grouped, {"stage2_*"})}
    assert ("stage1_*", "stage2_unit1_*") in edges and ("stage1_*", "stage2_add") in edges
    assert ("stage2_add", "stage3_*") in edges
    assert set(opened.groups["stage2_*"]) >= {"stage2_unit1_*", "stage2_add"}


def test_scattered_or_small_names_do_not_group():
    x = inputs = keras.Input((4,), name="x")
    for i in range(GROUP_ABOVE + 10):  # dense, dense_1, …: one name part, no blocks
        x = keras.layers.Dense(4)(x)
    graph = describe(keras.Model(inputs, x)).graph
    assert group_blocks(graph) is graph
    small = describe(staged(stages=2, units=3)).graph
    assert group_blocks(small) is small  # 21 nodes: drawn as they are


def test_a_block_sums_the_parameters_and_states_of_its_layers():
    info = describe(staged(frozen_stage=3))
    grouped = group_blocks(info.graph)
    blocks = block_layers(grouped, info.layer_index())
    stage = blocks["stage3_*"]
    assert stage.kind == "block" and len(stage.children) == 3 * UNITS + 1
    assert stage.params == sum(info.layer_index()[c.path].params for c in stage.children)
    assert stage.non_trainable_params == UNITS * 20 and stage.trainable_params == UNITS * 8
    assert blocks["stage1_*"].non_trainable_params == 0


@pytest.fixture
def view(qtbot):
    return shown(qtbot, GraphView(), 1000, 750)


def test_the_view_shows_blocks_and_opens_them_in_place(qtbot, view):
    view.set_model(describe(staged(frozen_stage=3)))
    assert sorted(view.node_ids()) == sorted(["features", "stage1_*", "stage2_*", "stage3_*", "stage4_*", "head"])
    stage3 = view.node_item("stage3_*")
    assert stage3.state == "partly frozen" and "PARTLY FROZEN" in stage3.tags
    assert view.node_item("stage1_*").state == "trainable"
    assert "46 layers inside" in stage3.toolTip()
    assert view.node_item("head").tags == ["OUTPUT"]
    # Double-click a block: it opens in place, with its units as blocks.
    point = view.canvas.mapFromScene(view.node_item("stage2_*").scenePos())
    qtbot.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: "stage2_unit1_*" in view.node_ids(), timeout=3000)
    assert "stage2_*" in view.expanded() and view.frame_item("stage2_*") is not None
    assert "stage2_add" in view.node_ids() and "stage2_unit1_dense" not in view.node_ids()


def test_zoomed_out_the_overview_names_every_block(qtbot, view):
    view.set_model(describe(staged(stages=40, units=3)))  # 40 stages in a column
    view.fit_all()
    overview = view.canvas.overview
    assert overview.active, "zoomed out too far for text on the nodes"
    image = view.canvas.viewport().grab().toImage()
    box = view.node_item("stage20_*").mapRectToScene(view.node_item("stage20_*").box)
    right = view.canvas.mapFromScene(box.topRight())
    # Text pixels right of the block: its name.
    dark = sum(
        1
        for x in range(right.x() + 4, min(right.x() + 60, image.width()))
        for y in range(max(right.y(), 0), min(right.y() + 30, image.height()))
        if image.pixelColor(x, y).lightness() < 120
    )
    assert dark > 5


def test_a_whole_block_freezes_from_the_graph_and_undoes_in_one_step(qtbot, window, tmp_path):
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication

    from inspector.jobs import MODEL
    from tests.conftest import kernel_result, settled
    from tests.kernel import kernel_jobs
    from tests.shell.test_main_window import wait_loaded

    path = tmp_path / "staged.keras"
    staged().save(path)
    tab = wait_loaded(qtbot, window.open_file(path))
    settled(qtbot, tab)
    canvas, block = tab.graph.canvas, tab.graph.node_item("stage3_*")
    assert block.state == "trainable"
    bar = canvas.mapFromScene(block.mapToScene(block.state_bar.center()))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=bar)
    settled(qtbot, tab)
    assert block.state == "frozen"
    assert kernel_result(qtbot, tab, kernel_jobs.layer_trainable_job, MODEL, "stage3_unit9_dense") is False
    assert kernel_result(qtbot, tab, kernel_jobs.layer_trainable_job, MODEL, "stage2_unit9_dense") is True
    window.undo_action.trigger()
    settled(qtbot, tab)
    assert block.state == "trainable" and tab.info.params.trainable == tab.info.params.total

    # Right-click the block: its menu freezes it; its details say what is inside.
    centre = canvas.mapFromScene(block.scenePos())
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, canvas.viewport().mapToGlobal(centre))
    QApplication.sendEvent(canvas.viewport(), event)
    qtbot.waitUntil(lambda: getattr(tab, "_menu", None) is not None and tab._menu.isVisible(), timeout=3000)
    texts = [a.text() for a in tab._menu.actions()]
    assert "Freeze stage3 (46 layers)" in texts
    assert "block of layers" in tab.details.toPlainText()
    next(a for a in tab._menu.actions() if a.text() == "Freeze stage3 (46 layers)").trigger()
    tab._menu.close()
    settled(qtbot, tab)
    assert block.state == "frozen" and tab.info.params.non_trainable == UNITS * (20 + 8)  # Dense and LayerNorm


def test_find_opens_the_blocks_around_a_match_and_the_view_menu_opens_and_closes_every_block(qtbot, window, tmp_path):
    from tests.shell.test_main_window import wait_loaded
    from tests.model.test_graph_preview_gui import _menu_action

    path = tmp_path / "staged.keras"
    staged().save(path)
    tab = wait_loaded(qtbot, window.open_file(path))
    qtbot.keyClicks(tab.find_bar, "unit7_norm")
    assert tab.find_status.text() == f"{STAGES} matches"  # layers inside closed blocks count
    tab.find_bar.clear()
    qtbot.keyClicks(tab.find_bar, "stage4_unit7_norm")
    qtbot.keyClick(tab.find_bar, Qt.Key.Key_Return)
    assert {"stage4_*", "stage4_unit7_*"} <= tab.graph.expanded()
    assert tab.graph.selected_layer() == "stage4_unit7_norm"
    assert tab.layer_tree.selected_layer() == "stage4_unit7_norm"
    _menu_action(window, "View", "Close All Blocks").trigger()

    _menu_action(window, "View", "Open All Blocks").trigger()
    ids = set(tab.graph.node_ids())
    assert "stage3_unit9_norm" in ids and not any(i.endswith("_*") for i in ids)
    assert len(ids) == 1 + STAGES * (3 * UNITS + 1) + 1
    _menu_action(window, "View", "Close All Blocks").trigger()
    assert sorted(tab.graph.node_ids()) == sorted(["features", "stage1_*", "stage2_*", "stage3_*", "stage4_*", "head"])


def test_zoomed_out_the_overview_draws_the_open_blocks_frames(qtbot, view):
    from PySide6.QtWidgets import QGraphicsItem

    from widgets.model.graph_items import theme

    view.set_model(describe(staged(stages=40, units=3)))
    view.open_blocks()
    qtbot.waitUntil(lambda: view.frame_item("stage20_*") is not None, timeout=5000)
    view.fit_all()
    assert view.canvas.overview.active
    frame = view.frame_item("stage20_*")
    assert frame.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, "the overview draws the frames"

    def edge_colours():
        """The colours on the frame's left edge, halfway down, give or take a pixel."""
        rect = frame.mapRectToScene(frame.box)
        point = view.canvas.mapFromScene(rect.left(), rect.center().y())
        image = view.canvas.viewport().grab().toImage()
        return {image.pixelColor(x, point.y()).name() for x in range(point.x() - 1, point.x() + 2)}

    pens = theme().frame_overview_pens
    assert pens[False].color().name() in edge_colours()
    frame.setSelected(True)
    assert pens[True].color().name() in edge_colours(), "a selected frame shows in the selection's colour"
