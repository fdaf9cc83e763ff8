"""The layer-graph view, driven as a user would: real small Keras models, clicks, search."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QGraphicsItem

from inspector.model.describe import describe
from inspector.model.graph_layout import layout_graph
from inspector.tfimport import keras
from widgets.model.graph_items import TEXT_LOD, EdgeItem, theme
from widgets.model.graph_view import GraphView
from tests.conftest import shown

layers = keras.layers


def two_in_two_out():
    a, b = keras.Input((8,), name="in_a"), keras.Input((4,), name="in_b")
    x = layers.Concatenate(name="merge")([layers.Dense(16, name="dense_a")(a), layers.Dense(16, name="dense_b")(b)])
    x = layers.Dense(32, activation="relu", name="hidden")(x)
    score = layers.Dense(1, name="score")(x)
    klass = layers.Dense(3, activation="softmax", name="klass")(x)
    return keras.Model([a, b], [score, klass], name="two_in_two_out")


def nested():
    """A functional encoder with one frozen layer, then a Sequential head."""
    inner_in = keras.Input((10,), name="sub_in")
    encoder = keras.Model(
        inner_in, layers.Dense(6, name="sub_out")(layers.Dense(12, name="sub_hidden")(inner_in)), name="encoder"
    )
    encoder.get_layer("sub_hidden").trainable = False
    head = keras.Sequential([keras.Input((6,)), layers.Dense(5, name="seq_a"), layers.Dense(2, name="seq_b")], name="head")
    x = keras.Input((10,), name="x")
    return keras.Model(x, head(encoder(x)), name="nested")


def shared():
    left, right = keras.Input((8,), name="left"), keras.Input((8,), name="right")
    dense = layers.Dense(4, name="shared_dense")
    return keras.Model([left, right], layers.Subtract(name="diff")([dense(left), dense(right)]), name="siamese")


def wrapped():
    seq = keras.Input((7, 3), name="seq")
    x = layers.Bidirectional(layers.LSTM(5, return_sequences=True), name="bilstm")(seq)
    x = layers.TimeDistributed(layers.Dense(2), name="td_dense")(x)
    return keras.Model(seq, x, name="wrapped")


@pytest.fixture(scope="module")
def infos():
    """Descriptions of the test models, made once."""
    return {f.__name__: describe(f()) for f in (two_in_two_out, nested, shared, wrapped)}


@pytest.fixture
def view(qtbot):
    return shown(qtbot, GraphView(), 900, 700)


def at(view, node_id) -> QPoint:
    """Viewport position of a node's centre."""
    return view.canvas.mapFromScene(view.node_item(node_id).scenePos())


def click(qtbot, view, point: QPoint) -> None:
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_shows_every_node_of_the_layout(view, infos):
    info = infos["two_in_two_out"]
    view.set_model(info)
    assert sorted(view.node_ids()) == sorted(layout_graph(info.graph).positions)
    assert len(view.node_ids()) == 8


def test_marks_outputs_and_inputs(view, infos):
    view.set_model(infos["two_in_two_out"])
    assert "OUTPUT" in view.node_item("score").tags
    assert "OUTPUT" in view.node_item("klass").tags
    assert "OUTPUT" not in view.node_item("hidden").tags
    assert view.node_item("in_a").state == "input"


def test_first_show_fits_the_graph(view, infos):
    view.set_model(infos["two_in_two_out"])
    viewport = view.canvas.viewport().rect()
    for node_id in view.node_ids():
        assert viewport.contains(at(view, node_id))


def test_shows_both_calls_of_a_shared_layer(view, infos):
    view.set_model(infos["shared"])
    assert {"shared_dense", "shared_dense@2"} <= set(view.node_ids())
    first, second = view.node_item("shared_dense"), view.node_item("shared_dense@2")
    assert first.layer_path == second.layer_path == "shared_dense"
    assert "CALL 1/2" in first.tags and "CALL 2/2" in second.tags


def test_expanding_a_nested_model_shows_its_layers_and_collapsing_hides_them(view, infos):
    view.set_model(infos["nested"])
    assert set(view.node_ids()) == {"x", "encoder", "head"}

    view.expand("encoder")
    assert view.expanded() == {"encoder"}
    assert {"encoder/sub_in", "encoder/sub_hidden", "encoder/sub_out"} <= set(view.node_ids())
    assert "encoder" not in view.node_ids()
    assert view.frame_item("encoder") is not None

    view.collapse("encoder")
    assert view.expanded() == set()
    assert set(view.node_ids()) == {"x", "encoder", "head"}
    assert view.frame_item("encoder") is None


def test_expanding_keeps_the_nested_model_where_it_was(view, infos):
    view.set_model(infos["nested"])
    item = view.node_item("encoder")
    box = item.mapRectToScene(item.box)
    before = view.canvas.mapFromScene(box.center().x(), box.top())

    view.expand("encoder")
    frame = view.frame_item("encoder").box
    after = view.canvas.mapFromScene(frame.center().x(), frame.top())
    assert (after - before).manhattanLength() <= 4


def test_clicking_the_expander_buttons_opens_and_closes(qtbot, view, infos):
    view.set_model(infos["nested"])
    button = view.node_item("head").expander_rect.center()
    click(qtbot, view, view.canvas.mapFromScene(button))
    qtbot.waitUntil(lambda: "head/seq_a" in view.node_ids(), timeout=2000)

    button = view.frame_item("head").expander_rect.center()
    click(qtbot, view, view.canvas.mapFromScene(button))
    qtbot.waitUntil(lambda: "head" in view.node_ids(), timeout=2000)
    assert view.expanded() == set()


def test_double_clicking_a_nested_model_opens_it(qtbot, view, infos):
    view.set_model(infos["nested"])
    qtbot.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at(view, "encoder"))
    qtbot.waitUntil(lambda: "encoder/sub_hidden" in view.node_ids(), timeout=2000)


def test_clicking_a_node_selects_its_layer(qtbot, view, infos):
    view.set_model(infos["two_in_two_out"])
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        click(qtbot, view, at(view, "hidden"))
    assert signal.args == ["hidden"]
    assert view.selected_layer() == "hidden"


def test_clicking_a_node_does_not_move_the_view_when_the_selection_comes_back(qtbot, view, infos):
    view.set_model(infos["two_in_two_out"])
    view.layer_selected.connect(view.select_layer)  # as the model tab does, to sync its views
    before = view.canvas.mapFromScene(0, 0)
    with qtbot.waitSignal(view.layer_selected, timeout=2000):
        click(qtbot, view, at(view, "score"))
    assert view.canvas.mapFromScene(0, 0) == before
    assert view.selected_layer() == "score"


def test_clicking_an_inner_node_gives_its_full_path(qtbot, view, infos):
    view.set_model(infos["nested"])
    view.expand("encoder")
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        click(qtbot, view, at(view, "encoder/sub_out"))
    assert signal.args == ["encoder/sub_out"]


def test_select_layer_opens_the_enclosing_model_without_emitting(qtbot, view, infos):
    view.set_model(infos["nested"])
    with qtbot.assertNotEmitted(view.layer_selected):
        assert view.select_layer("head/seq_b")
    assert "head" in view.expanded()
    assert view.selected_layer() == "head/seq_b"
    centre = view.canvas.viewport().rect().center()
    assert (at(view, "head/seq_b") - centre).manhattanLength() <= 4


def test_select_layer_of_a_wrapped_layer_selects_the_wrapper(view, infos):
    view.set_model(infos["wrapped"])
    assert view.select_layer("bilstm/forward_lstm")
    assert view.selected_layer() == "bilstm"
    assert not view.select_layer("no_such_layer")


def test_find_counts_layers_at_every_depth(view, infos):
    view.set_model(infos["nested"])
    assert view.find("sub") == 3  # inside the closed encoder
    assert view.find("SEQ") == 2
    assert view.find("nothing like this") == 0
    assert view.find("") == 0


def test_find_next_goes_through_matches_and_wraps(qtbot, view, infos):
    view.set_model(infos["nested"])
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        assert view.find_next("seq") == "head/seq_a"
    assert signal.args == ["head/seq_a"]
    assert "head" in view.expanded()
    assert view.find_next("seq") == "head/seq_b"
    assert view.find_next("seq") == "head/seq_a"
    assert view.find_next("nothing like this") is None


def test_frozen_layers_look_different(view, infos):
    view.set_model(infos["nested"])
    view.expand("encoder")
    frozen, trainable = view.node_item("encoder/sub_hidden"), view.node_item("encoder/sub_out")
    assert frozen.state == "frozen" and trainable.state == "trainable"
    assert frozen.fill.color() != trainable.fill.color()
    assert "FROZEN" in frozen.tags and "FROZEN" not in trainable.tags
    view.collapse("encoder")
    assert "PARTLY FROZEN" in view.node_item("encoder").tags


def test_refresh_states_repaints_without_moving_anything(view, infos):
    model = two_in_two_out()
    view.set_model(describe(model))
    item = view.node_item("hidden")
    position = item.scenePos()
    assert item.state == "trainable"

    model.get_layer("hidden").trainable = False
    view.refresh_states(describe(model))
    assert view.node_item("hidden") is item
    assert item.scenePos() == position
    assert item.state == "frozen" and "FROZEN" in item.tags


def test_wrapper_lists_its_inner_layers(view, infos):
    view.set_model(infos["wrapped"])
    bilstm = view.node_item("bilstm")
    forward, backward = bilstm.inner_layers  # Keras adds _N to names reused in one process
    assert forward.startswith("forward_lstm") and forward.endswith(" · LSTM")
    assert backward.startswith("backward_lstm") and backward.endswith(" · LSTM")
    (inner,) = view.node_item("td_dense").inner_layers
    assert inner.startswith("dense") and inner.endswith(" · Dense")
    assert bilstm.box.height() > view.node_item("seq").box.height()


def test_edges_tell_the_tensor_shape(view, infos):
    view.set_model(infos["two_in_two_out"])
    edges = [item for item in view.canvas.scene().items() if isinstance(item, EdgeItem)]
    assert len(edges) == 7
    assert any(edge.toolTip().startswith("(None, 32)\nhidden → score") for edge in edges)


def test_zoom_buttons_and_fit(view, infos):
    view.set_model(infos["nested"])
    fitted = view.canvas.scale_factor()
    view.zoom_in()
    assert view.canvas.scale_factor() > fitted
    view.zoom_out()
    view.zoom_out()
    assert view.canvas.scale_factor() < fitted
    view.fit_all()
    assert view.canvas.scale_factor() == pytest.approx(fitted)


def test_layer_values_tint_nodes_with_a_legend_and_none_restores_them(view, infos):
    view.set_model(infos["nested"])
    normal = {node_id: view.node_item(node_id).fill.color().name() for node_id in view.node_ids()}
    assert not view.value_legend.isVisible()

    view.set_layer_values({"encoder/sub_hidden": 0.0, "encoder/sub_out": 0.5, "head/seq_b": 1.0}, "relative change")
    assert view.value_legend.isVisible()
    legend = view.value_legend.text()
    assert "relative change" in legend and "0" in legend and "1" in legend
    assert view.node_item("x").fill.color().name() == normal["x"]  # no value: unchanged
    encoder, head = view.node_item("encoder"), view.node_item("head")  # closed: the largest inside
    assert encoder.tint is not None and head.tint is not None
    assert encoder.fill.color() != head.fill.color()
    assert "relative change: 0.5 (largest of 2 layers inside)" in encoder.toolTip()

    view.expand("encoder")  # the tint survives the rebuild
    low, high = view.node_item("encoder/sub_hidden"), view.node_item("encoder/sub_out")
    assert low.tint is not None and high.tint is not None
    assert low.fill.color().lightness() > high.fill.color().lightness()  # higher values darker
    assert "relative change: 0.5" in high.toolTip()

    view.refresh_states(infos["nested"])
    assert view.node_item("encoder/sub_out").tint is not None

    view.set_layer_values(None)
    assert not view.value_legend.isVisible()
    assert all(view.node_item(node_id).tint is None for node_id in view.node_ids())
    view.collapse("encoder")
    assert {n: view.node_item(n).fill.color().name() for n in view.node_ids()} == normal


def test_layer_marks_tint_by_category_and_a_closed_group_shows_what_is_marked_inside(view, infos):
    view.set_model(infos["nested"])
    view.set_layer_marks({"x": ("#7cc68d", "added"), "encoder/sub_out": ("#f6c453", "changed: weights")}, "legend text")
    assert view.node_item("x").fill.color().name() == "#7cc68d" and "added" in view.node_item("x").toolTip()
    encoder = view.node_item("encoder")
    assert encoder.fill.color().name() == "#f6c453" and "1 marked inside" in encoder.toolTip()
    assert view.value_legend.isVisible() and view.value_legend.text() == "legend text"
    view.expand("encoder")
    assert "changed: weights" in view.node_item("encoder/sub_out").toolTip()
    assert view.node_item("encoder/sub_hidden").tint is None
    view.set_layer_marks(None)
    assert all(view.node_item(node_id).tint is None for node_id in view.node_ids())
    assert not view.value_legend.isVisible()


def test_layer_values_spanning_decades_use_a_log_scale(view, infos):
    view.set_model(infos["two_in_two_out"])
    view.set_layer_values({"dense_a": 1e-6, "dense_b": 1e-3, "hidden": 1.0, "score": float("nan")}, "change")
    assert "log scale" in view.value_legend.text()
    lightness = [view.node_item(n).fill.color().lightness() for n in ("dense_a", "dense_b", "hidden")]
    assert lightness[0] > lightness[1] > lightness[2]
    assert view.node_item("score").tint is None  # NaN: no value to show


def deep(blocks: int = 60):
    """A long residual stack: zoomed to fit, its nodes are far too small for text."""
    x = inputs = keras.Input((8,), name="x")
    for i in range(blocks):
        y = layers.Dense(8, name=f"block{i}_dense")(x)
        x = layers.Add(name=f"block{i}_add")([x, y])
    return keras.Model(inputs, layers.Dense(2, name="out")(x), name="deep")


def pixel_at(view, node_id):
    image = view.canvas.viewport().grab().toImage()
    point = at(view, node_id)
    return image.pixelColor(point.x(), point.y())


def test_zoomed_out_the_graph_is_drawn_at_once_and_still_takes_clicks(qtbot, view):
    model = deep()
    model.get_layer("block3_dense").trainable = False
    view.set_model(describe(model))
    overview = view.canvas.overview
    assert view.canvas.scale_factor() < TEXT_LOD and overview.active
    node = view.node_item("block3_dense")
    assert node.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, "the overview draws the nodes"
    # What the user sees at each node is the colour of its training state.
    assert pixel_at(view, "block3_dense") == node.overview_brush.color()
    assert pixel_at(view, "block4_dense") == view.node_item("block4_dense").overview_brush.color()
    assert pixel_at(view, "block3_dense") != pixel_at(view, "block4_dense")
    # A click on a block selects its layer, and the selection shows in the overview.
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        click(qtbot, view, at(view, "block10_dense"))
    assert signal.args == ["block10_dense"]
    assert pixel_at(view, "block10_dense") == theme().overview_selected.color()
    # Zoomed in far enough for text, the items draw themselves again.
    for _ in range(12):
        view.zoom_in()
    assert view.canvas.scale_factor() >= TEXT_LOD and not overview.active and not overview.isVisible()
    # The nodes on screen draw themselves at once; those off screen switch between events.
    canvas = view.canvas
    on_screen = [i for i in canvas.items(canvas.viewport().rect()) if i in {view.node_item(n) for n in view.node_ids()}]
    assert on_screen and not any(i.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents for i in on_screen)
    qtbot.waitUntil(lambda: not node.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, timeout=2000)
    view.fit_all()
    assert overview.active
