"""Activation views: rank dispatch, mosaic normalisation, orientation, clicks, masks, tokens,
Bidirectional halves, the channel statistics table, PNG export and fixed levels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inspector.activations.channel_stats import ChannelStats
from tests.conftest import shown
from widgets.activations.activation_views import (
    COLORMAPS,
    ActivationView,
    ChannelStatsTable,
    FeatureMapGrid,
    MosaicLayout,
    SequenceHeatmap,
    VectorView,
    build_mosaic,
    plan_display,
)

TIMEOUT_MS = 5_000


@pytest.fixture
def view(qtbot):
    return shown(qtbot, ActivationView(), 1000, 600)


def settle() -> None:
    """Lets pending layouts and view-range updates run (no waiting for time to pass)."""
    for _ in range(3):
        QApplication.processEvents()


def screen_colour(plot, x: float, y: float) -> QColor:
    """The colour drawn at data point ``(x, y)`` of a pyqtgraph plot widget."""
    settle()
    scene_point = plot.getViewBox().mapViewToScene(QPointF(x, y))
    widget_point = plot.mapFromScene(scene_point)
    return plot.grab().toImage().pixelColor(widget_point)


def asymmetric_maps(height=6, width=10, channels=5) -> np.ndarray:
    """Channel c is c everywhere except a bright 2×3 block at the top-left corner."""
    maps = np.broadcast_to(np.arange(channels, dtype=np.float32), (height, width, channels)).copy()
    maps[:2, :3, :] = 100
    return maps


def tile(grid: FeatureMapGrid, position: int) -> np.ndarray:
    """The values of the tile at a position of the mosaic, as coloured."""
    layout = grid.mosaic_layout
    x, y = layout.tile_origin(position)
    return grid.mosaic[y : y + layout.height, x : x + layout.width]


# --- Rank dispatch -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kind"),
    [((), "vector"), ((1,), "vector"), ((7,), "vector"), ((5, 4), "sequence"), ((4, 4, 3), "grid"),
     ((2, 4, 4, 3), "grid"), ((2, 3, 4, 5, 6), "sequence")],
)
def test_plan_display_picks_the_view_from_the_rank(shape, kind):
    display = plan_display(np.zeros(shape, np.float32))
    assert display.kind == kind
    if len(shape) == 5:
        assert display.values.shape == (2 * 3 * 4 * 5, 6)
        assert "2×3×4×5" in display.note


def test_each_rank_shows_its_sub_view(view):
    view.show_activation(np.ones((4, 4, 3), np.float32), title="conv")
    assert isinstance(view.current_view(), FeatureMapGrid)
    assert "conv" in view.title_label.text() and "(4, 4, 3)" in view.title_label.text()
    view.show_activation(np.ones((5, 4), np.float32))
    assert isinstance(view.current_view(), SequenceHeatmap)
    view.show_activation(np.arange(6, dtype=np.float32))
    assert isinstance(view.current_view(), VectorView)
    view.show_activation(np.float32(2.5))
    assert isinstance(view.current_view(), VectorView)
    assert view.vector.bars.opts["height"].tolist() == [2.5]
    view.show_activation(np.zeros((2, 3, 4, 5, 6), np.float32))
    assert isinstance(view.current_view(), SequenceHeatmap)
    assert "folded" in view.title_label.text()
    assert view.sequence.heatmap.image.shape == (6, 120)


def test_rank_4_shows_one_time_step_chosen_with_the_spin_box(view):
    values = np.stack([np.full((3, 3, 2), step, np.float32) + np.arange(2) for step in range(4)])
    view.normalization = "shared"
    view.show_activation(values)
    assert view.step_spin.isVisible() and view.step_spin.value() == 0
    assert view.step_spin.maximum() == 3
    grid = view.feature_maps
    assert tile(grid, 1).max() == 1
    view.step_spin.setValue(2)
    assert tile(grid, 0).min() == 2 and tile(grid, 1).max() == 3
    assert view.levels() == (0.0, 4.0)  # the range over every step, so stepping keeps colours
    view.show_activation(np.ones((3, 3, 2), np.float32))
    assert not view.step_spin.isVisible()


def test_clear_shows_a_hint(view):
    view.show_activation(np.ones((4, 4, 3), np.float32))
    view.clear()
    assert view.current_view() is None
    assert "Extract to see activations" in view._stack.currentWidget().text()
    assert view.levels() is None


def test_an_empty_output_is_named_not_drawn(view):
    view.show_activation(np.zeros((0, 8), np.float32), title="empty")
    assert view.current_view() is None
    assert "(0, 8)" in view._stack.currentWidget().text()


# --- The mosaic ----------------------------------------------------------------------------------


def test_mosaic_layout_is_about_square_with_one_pixel_gaps():
    layout = MosaicLayout.for_maps(112, 112, 96)
    assert (layout.columns, layout.rows) == (10, 10)
    assert layout.shape == (10 * 113 - 1, 10 * 113 - 1)
    wide = MosaicLayout.for_maps(10, 40, 16)  # wide maps: fewer columns
    assert wide.columns == 2 and wide.rows == 8
    assert layout.tile_at(112, 0) is None  # the gap after the first map
    assert layout.tile_at(113, 0) == (1, 0, 0)
    assert MosaicLayout.for_maps(4, 4, 5).tile_at(4 * 5, 5 + 1) is None  # empty last tile


def test_build_mosaic_places_channels_row_by_row_in_the_given_order():
    maps = asymmetric_maps(channels=5)
    layout = MosaicLayout.for_maps(6, 10, 5)
    mosaic = build_mosaic(maps, layout, order=np.array([4, 3, 2, 1, 0]))
    assert mosaic.flags.c_contiguous and mosaic.dtype == np.float32
    x, y = layout.tile_origin(1)
    assert mosaic[y + 5, x + 9] == 3  # tile 1 shows channel 3


def test_per_map_scales_each_map_and_shared_keeps_values(view):
    maps = np.zeros((4, 5, 3), np.float32)
    maps[:, :, 0] = 7  # constant: becomes 0
    maps[:, :, 1] = np.arange(20, dtype=np.float32).reshape(4, 5)  # 0 … 19
    maps[:, :, 2] = -np.arange(20, dtype=np.float32).reshape(4, 5) * 2  # −38 … 0
    view.show_activation(maps)
    grid = view.feature_maps
    assert view.normalization == "per_map"
    assert np.all(tile(grid, 0) == 0)
    assert tile(grid, 1)[0, 0] == 0 and tile(grid, 1)[-1, -1] == 1
    assert tile(grid, 2)[0, 0] == 1 and tile(grid, 2)[-1, -1] == 0
    assert grid.display_levels == (0, 1)
    shown = grid.grid_image.image  # what pyqtgraph colours: bytes, 255 at the top of the range
    assert shown.dtype == np.uint8 and shown.max() == 255

    view.normalization = "shared"
    np.testing.assert_array_equal(tile(grid, 1), maps[:, :, 1])
    np.testing.assert_array_equal(tile(grid, 2), maps[:, :, 2])
    assert view.levels() == (-38.0, 19.0)
    assert grid.display_levels == (-38.0, 19.0)


def test_diverging_colormap_centres_the_shared_range_on_zero(view):
    view.normalization = "shared"
    view.show_activation(np.linspace(-1, 4, 48, dtype=np.float32).reshape(4, 4, 3))
    view.colormap = "CET-D1"
    assert view.levels() == (-4.0, 4.0)
    with pytest.raises(ValueError):
        view.colormap = "no-such-map"
    assert set(COLORMAPS) >= {"viridis", "gray", "CET-D1"}


def test_the_colormap_applies_to_every_image(view):
    view.colormap = "gray"  # before the sub-views exist
    view.show_activation(asymmetric_maps())
    view.enlarge(1)
    grid = view.feature_maps
    for image in (grid.grid_image, grid.enlarged_image):
        assert image.lut[0][:3].tolist() == [0, 0, 0] and image.lut[-1][:3].tolist() == [255, 255, 255]
    view.colormap = "viridis"
    assert grid.enlarged_image.lut[-1][:3].tolist() != [255, 255, 255]
    view.show_activation(sequence())
    assert view.sequence.heatmap.lut[-1][:3].tolist() == grid.grid_image.lut[-1][:3].tolist()


def test_fixed_levels_are_respected_until_released(view):
    view.normalization = "shared"
    view.show_activation(np.linspace(0, 2, 48, dtype=np.float32).reshape(4, 4, 3))
    grid = view.feature_maps
    view.set_fixed_levels((-5, 5))
    assert view.levels() == (-5.0, 5.0)
    assert view.auto_levels() == (0.0, 2.0)
    assert grid.display_levels == (-5.0, 5.0)
    view.show_activation(np.linspace(0, 3, 48, dtype=np.float32).reshape(4, 4, 3))
    assert grid.display_levels == (-5.0, 5.0)  # kept for the next activation
    view.enlarge(1)
    assert tuple(grid.enlarged_image.levels) == (-5.0, 5.0)
    view.show_activation(np.linspace(-1, 1, 10, dtype=np.float32))
    assert view.vector.plot.getViewBox().viewRange()[1][0] <= -5  # bars use the same scale
    view.set_fixed_levels(None)
    assert view.levels() == (-1.0, 1.0)


# --- Orientation ---------------------------------------------------------------------------------


def test_maps_and_images_are_drawn_with_row_zero_at_the_top(view):
    maps = asymmetric_maps()
    image = np.zeros((20, 30, 3), np.uint8)
    image[:5, :5] = (255, 0, 0)  # red top-left corner
    image[-5:, :] = (0, 0, 255)  # blue bottom rows
    view.show_activation(maps, image=image)
    grid = view.feature_maps
    first = tile(grid, 0)
    assert first[0, 0] == 1 and first[-1, -1] == 0  # per_map: the block is the maximum

    top_left = screen_colour(grid.grid_plot, 1.5, 0.5)
    bottom_right = screen_colour(grid.grid_plot, 9.5, 5.5)
    assert top_left.green() > 200 and bottom_right.green() < 50  # viridis: yellow vs purple

    assert screen_colour(grid.image_plot, 2.5, 2.5).getRgb()[:3] == (255, 0, 0)
    assert screen_colour(grid.image_plot, 15.5, 18.5).getRgb()[:3] == (0, 0, 255)
    assert screen_colour(grid.image_plot, 25.5, 2.5).getRgb()[:3] == (0, 0, 0)

    view.enlarge(3)
    assert grid.enlarged_image.image[0, 0] == 100 and grid.enlarged_image.image[-1, -1] == 3
    assert screen_colour(grid.enlarged_plot, 1.5, 0.5).green() > 200
    assert screen_colour(grid.enlarged_plot, 8.5, 4.5).green() < 50


# --- Clicks and enlarging --------------------------------------------------------------------------


def test_mosaic_coordinates_map_to_channels_through_the_order(view):
    view.show_activation(asymmetric_maps(channels=5), channel_order=np.array([2, 0, 1, 4, 3]))
    grid = view.feature_maps
    assert grid.channel_at(0, 0) == 2
    assert grid.channel_at(11, 0) == 0  # second tile
    assert grid.channel_at(10, 0) is None  # gap
    assert grid.channel_at(-1, 0) is None
    assert grid.mosaic_layout.columns == 2  # 6×10 maps: about sqrt(5 · 6/10) columns
    assert grid.tile_center(4) == (11 + 5, 7 + 3)  # channel 4 is tile 3: row 1, column 1


def test_a_channel_order_of_another_length_is_ignored(view):
    view.show_activation(asymmetric_maps(channels=5), channel_order=np.zeros(0, np.intp))
    assert view.feature_maps.channel_at(0, 0) == 0
    view.show_activation(np.arange(3, dtype=np.float32), channel_order=np.array([1, 0]))
    assert view.vector._channel_at(view.vector.plot, 0, 0) == 0
    with pytest.raises(ValueError):
        view.show_activation(asymmetric_maps(channels=3), channel_order=np.array([0, 0, 1]))


def test_clicking_a_map_enlarges_it_and_emits_its_channel(qtbot, view):
    view.show_activation(asymmetric_maps(channels=6), channel_order=np.array([5, 4, 3, 2, 1, 0]))
    grid = view.feature_maps
    settle()
    x, y = grid.tile_center(4)  # the second tile
    point = grid.grid_plot.mapFromScene(grid.grid_plot.getViewBox().mapViewToScene(QPointF(x, y)))
    with qtbot.waitSignal(view.channel_clicked, timeout=TIMEOUT_MS) as blocker:
        QTest.mouseClick(grid.grid_plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert blocker.args == [4]
    assert grid.enlarged_channel == 4
    assert grid.enlarged_plot.isVisible()
    np.testing.assert_array_equal(grid.enlarged_image.image, asymmetric_maps(channels=6)[:, :, 4])
    assert "channel 4" in grid.enlarged_plot.getPlotItem().titleLabel.text


def test_enlarge_is_the_same_as_a_click(qtbot, view):
    view.show_activation(asymmetric_maps())
    with qtbot.waitSignal(view.channel_clicked, timeout=TIMEOUT_MS) as blocker:
        view.enlarge(2)
    assert blocker.args == [2]
    with qtbot.assertNotEmitted(view.channel_clicked):
        view.enlarge(2)  # unchanged: a slot that calls enlarge() does not loop
    with pytest.raises(IndexError):
        view.enlarge(99)


def test_hover_text_names_the_channel_and_value(view):
    view.show_activation(asymmetric_maps())
    grid = view.feature_maps
    assert grid._hover_text(grid.grid_plot, 11.5, 0.5) == "channel 1 · row 0, column 0 · value 100"
    assert grid._hover_text(grid.grid_plot, 10.5, 0.5) is None


# --- Sequences -------------------------------------------------------------------------------------


def sequence(steps=12, units=6) -> np.ndarray:
    return np.arange(steps * units, dtype=np.float32).reshape(steps, units)


def test_time_runs_across_and_units_down(view):
    values = sequence()
    view.show_activation(values)
    heatmap = view.sequence
    assert heatmap.heatmap.image.shape == (6, 12)  # rows = units, columns = steps


def test_padding_steps_are_shaded_only_when_masked(view):
    mask = np.ones(12, bool)
    mask[9:] = False
    view.show_activation(sequence(), mask=mask)
    heatmap = view.sequence
    assert heatmap.shaded_steps().tolist() == [9, 10, 11]
    assert heatmap.mask_image.isVisible()
    view.show_activation(sequence())
    assert heatmap.shaded_steps().size == 0
    assert not heatmap.mask_image.isVisible()


def test_padding_is_left_out_of_the_colour_ranges(view):
    values = sequence(steps=4, units=2)
    values[3] = 1000  # padding
    mask = np.array([True, True, True, False])
    view.normalization = "shared"
    view.show_activation(values, mask=mask)
    assert view.levels() == (0.0, 5.0)
    view.normalization = "per_map"
    image = view.sequence.heatmap.image  # each unit scaled over the real steps
    np.testing.assert_allclose(image[:, :3], [[0, 0.5, 1], [0, 0.5, 1]])


def test_tokens_label_the_time_axis(view):
    tokens = ["the", "cat", "sat", "", ""]
    view.show_activation(sequence(steps=5), tokens=tokens, mask=np.array([1, 1, 1, 0, 0], bool))
    axis = view.sequence.time_axis
    (spacing, ticks), = axis.tickValues(-0.5, 4.5, 800)
    assert ticks == [0, 1, 2, 3, 4]
    assert axis.tickStrings(ticks, 1, spacing) == ["the", "cat", "sat", "·", "·"]


def test_many_tokens_label_every_kth_step(view):
    tokens = [f"word{i}" for i in range(500)]
    view.show_activation(sequence(steps=500, units=3), tokens=tokens)
    axis = view.sequence.time_axis
    (spacing, ticks), = axis.tickValues(-0.5, 499.5, 800)
    assert spacing > 1 and ticks[0] == 0 and len(ticks) < 40
    assert axis.tickStrings(ticks[:2], 1, spacing) == ["word0", f"word{int(spacing)}"]


def test_bidirectional_halves_are_separated_and_labelled(view):
    view.show_activation(sequence(units=8), halves=("forward", "backward"))
    heatmap = view.sequence
    assert heatmap.separator.isVisible() and heatmap.separator.value() == 3.5
    assert [label for _, label in heatmap.half_labels()] == ["forward", "backward"]
    assert heatmap.plot.getAxis("right").isVisible()
    view.show_activation(sequence(units=8))
    assert not heatmap.separator.isVisible() and heatmap.half_labels() == []

    view.show_activation(np.linspace(-1, 1, 8, dtype=np.float32), halves=("forward", "backward"))
    vector = view.vector
    assert vector.separator.isVisible() and vector.separator.value() == 3.5
    assert [label for _, label in vector.half_labels()] == ["forward", "backward"]
    assert vector.plot.getAxis("top").isVisible()


def test_clicking_a_unit_row_emits_it(qtbot, view):
    view.show_activation(sequence())
    heatmap = view.sequence
    settle()
    point = heatmap.plot.mapFromScene(heatmap.plot.getViewBox().mapViewToScene(QPointF(3, 4)))
    with qtbot.waitSignal(view.channel_clicked, timeout=TIMEOUT_MS) as blocker:
        QTest.mouseClick(heatmap.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert blocker.args == [4]


# --- Vectors ----------------------------------------------------------------------------------------


def test_vector_bars_show_negative_values(view):
    view.show_activation(np.array([1.0, -2.0, 3.0], np.float32))
    vector = view.vector
    assert vector.bars.opts["height"].tolist() == [1.0, 3.0]
    assert vector.negative_bars.opts["height"].tolist() == [-2.0]
    low, high = vector.plot.getViewBox().viewRange()[1]
    assert low < -2 and high > 3
    assert vector._channel_at(vector.plot, 1.2, 0) == 1


def test_vector_order_and_many_units(view):
    view.show_activation(np.array([1.0, -2.0, 3.0], np.float32), channel_order=np.array([2, 0, 1]))
    vector = view.vector
    assert vector.bars.opts["height"].tolist() == [3.0, 1.0]
    assert vector._channel_at(vector.plot, 0, 0) == 2
    many = np.random.default_rng(0).normal(size=VectorView.BAR_LIMIT + 1).astype(np.float32)
    view.show_activation(many)
    assert len(vector.bars.opts["height"]) == 0
    assert vector.curve.yData.size == many.size


# --- Channel statistics table --------------------------------------------------------------------------


@pytest.fixture
def table(qtbot):
    widget = ChannelStatsTable()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    return widget


def stats(saturation: bool) -> ChannelStats:
    return ChannelStats(
        mean=np.array([0.5, -1.0, 2.0, 0.0], np.float32),
        zero_fraction=np.array([0.1, 0.0, 0.3, 1.0], np.float32),
        saturation=np.array([0.2, 0.9, 0.0, 0.0], np.float32) if saturation else None,
        activation="tanh" if saturation else "relu",
        count=100,
    )


def test_stats_table_columns_follow_saturation(table):
    table.set_stats(stats(saturation=False))
    model = table.model()
    assert model.columnCount() == 3 and model.rowCount() == 4
    assert model.data(model.index(3, 2)) == "100.0 %"
    table.set_stats(stats(saturation=True))
    assert model.columnCount() == 4
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Saturated %"
    assert model.data(model.index(1, 3)) == "90.0 %"
    table.set_stats(None)
    assert model.rowCount() == 0
    assert table.sorted_channels().size == 0


def test_stats_table_sorts_and_reports_the_order(qtbot, table):
    table.set_stats(stats(saturation=True))
    assert table.sorted_channels().tolist() == [0, 1, 2, 3]
    with qtbot.waitSignal(table.order_changed, timeout=TIMEOUT_MS):
        table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert table.sorted_channels().tolist() == [2, 0, 3, 1]
    assert [table.model().data(table.model().index(row, 0)) for row in range(4)] == ["2", "0", "3", "1"]
    table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert table.sorted_channels().tolist() == [1, 0, 2, 3]
    table.set_stats(stats(saturation=True))  # new statistics keep the sort
    assert table.sorted_channels().tolist() == [1, 0, 2, 3]


def test_selecting_a_row_emits_its_channel(qtbot, table):
    table.set_stats(stats(saturation=False))
    table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # rows: 1, 3, 0, 2
    rect = table.visualRect(table.model().index(2, 1))
    with qtbot.waitSignal(table.channel_selected, timeout=TIMEOUT_MS) as blocker:
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert blocker.args == [0]
    with qtbot.assertNotEmitted(table.channel_selected):
        table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # the row moves, the channel stays
    with qtbot.waitSignal(table.channel_selected, timeout=TIMEOUT_MS) as blocker:
        table.select_channel(3)
    assert blocker.args == [3]


def test_dead_channels_are_highlighted(table):
    table.set_stats(stats(saturation=False))
    model = table.model()
    assert model.data(model.index(3, 0), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    assert "dead" in model.data(model.index(3, 0), Qt.ItemDataRole.ToolTipRole)


# --- Export -----------------------------------------------------------------------------------------


def test_save_png_writes_a_picture(view, tmp_path):
    view.show_activation(asymmetric_maps(), image=np.zeros((8, 8, 3), np.uint8))
    path = tmp_path / "activation.png"
    view.save_png(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_point_helper_maps_inside_the_widget(view):
    """Guards the helpers above: the data origin maps into the plot's visible area."""
    view.show_activation(asymmetric_maps())
    settle()
    plot = view.feature_maps.grid_plot
    point = plot.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(0.5, 0.5)))
    assert plot.rect().contains(QPoint(point.x(), point.y()))


@pytest.mark.parametrize("steps_run", [0, 2, 99])
def test_a_grid_made_ahead_in_steps_shows_the_maps_however_far_it_got(view, steps_run):
    """The panel makes the grid a plot at a time while the first maps are computed; the maps
    may arrive before, during or after that, and are drawn the same."""
    steps = view.prepare_steps()
    for _ in range(steps_run):
        next(steps, None)
    assert view.grid_started == (steps_run > 0)
    maps = asymmetric_maps()
    view.show_activation(maps, title="conv")
    grid = view.feature_maps
    assert view.current_view() is grid
    assert list(steps) == []  # the rest was made when the maps arrived
    assert grid.mosaic_layout is not None and grid.mosaic_layout.channels == 5
    np.testing.assert_allclose(tile(grid, 0)[:2, :3], 1.0)
    assert screen_colour(grid.grid_plot, 0.5, 0.5) != screen_colour(grid.grid_plot, 9.5, 5.5)
    assert list(view.prepare_steps()) == []  # made once
