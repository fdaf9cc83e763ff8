"""The "what training changed" view, driven as a user would: bars, table, comparison, BN audit."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from inspector.training.bn_statistics import BNShift
from inspector.training.weight_change import LayerChange, ModelComparison
from tests.conftest import shown
from widgets.training.weight_change_view import (
    BAR_COLOURS,
    FROZEN,
    MOVED,
    TRAINABLE,
    BNColumn,
    ChangeColumn,
    WeightChangeView,
)


def change(layer, relative, frozen=False, moved=False):
    absolute = 0.0 if relative == 0 else (2.0 * relative if math.isfinite(relative) else 1.0)
    return LayerChange(layer, relative, absolute, frozen, moved, ((f"{layer}/kernel", relative),))


CHANGES = [
    change("base/conv_1", 0.0, frozen=True),
    change("base/bn_1", 0.02, frozen=True, moved=True),
    change("base/conv_2", 0.0, frozen=True),
    change("dense", 0.3),
    change("dense_2", 0.0),  # trainable but did not change
    change("head", math.inf),  # was all zeros
]


def shift(layer, score, trainable=False, note=""):
    audited = not note
    mean = np.zeros(4) if audited else None
    nan = float("nan")
    return BNShift(
        layer,
        score / 2 if audited else nan,
        score / 3 if audited else nan,
        score if audited else nan,
        4,
        trainable,
        mean,
        mean,
        np.zeros(4),
        np.ones(4),
        100 if audited else 0,
        note,
    )


@pytest.fixture
def view(qtbot):
    return shown(qtbot, WeightChangeView(), 1000, 700)


def bar_point(view, index: int):
    """Viewport position of the middle of bar ``index`` (in the chart's plot widget)."""
    plot = view.chart.plot
    viewbox = plot.getViewBox()
    low, high = viewbox.viewRange()[1]
    scene = viewbox.mapViewToScene(QPointF(index, (low + high) / 2))
    return plot.mapFromScene(scene)


def rows(model, column):
    return [model.text(row, column) for row in range(model.rowCount())]


def test_one_bar_per_layer_coloured_by_kind(view):
    view.set_changes(CHANGES, "before → after")
    chart = view.chart
    assert chart.bar_count(TRAINABLE) == 3
    assert chart.bar_count(FROZEN) == 2
    assert chart.bar_count(MOVED) == 1
    for kind, item in chart.bars.items():
        assert item.opts["brush"].color() == BAR_COLOURS[kind]
    assert list(chart.bars[MOVED].opts["x"]) == [1.0]
    assert list(chart.frozen_band.opts["x"]) == [0.0, 1.0, 2.0]  # the frozen base, moved or not
    assert len(chart.moved_markers.data) == 1
    heights = dict(zip(chart.bars[TRAINABLE].opts["x"], chart.bars[TRAINABLE].opts["height"]))
    assert heights[3.0] == pytest.approx(0.3)
    assert heights[5.0] == max(heights.values())  # an infinite change reaches the top
    assert "1 frozen layer moved" in view.summary.text()
    assert view.title.text() == "before → after"


def test_log_scale_shows_decades_and_draws_no_bar_for_unchanged_layers(view):
    view.set_changes(CHANGES, "t")
    view.log_scale.setChecked(True)
    assert view.chart.log_scale
    bars = view.chart.bars[TRAINABLE]
    heights = dict(zip(bars.opts["x"], bars.opts["height"]))
    assert heights[4.0] == 0  # dense_2 did not change
    moved = view.chart.bars[MOVED].opts
    assert moved["y0"] + moved["height"][0] == pytest.approx(math.log10(0.02))
    view.log_scale.setChecked(False)
    assert view.chart.bars[MOVED].opts["height"][0] == pytest.approx(0.02)


def test_table_lists_layers_in_model_order_and_sorts(view):
    view.set_changes(CHANGES, "t")
    model = view.table_model
    assert rows(model, ChangeColumn.LAYER) == [c.layer for c in CHANGES]
    assert rows(model, ChangeColumn.FLAG)[1] == "MOVED WHILE FROZEN"
    assert rows(model, ChangeColumn.FLAG)[4] == "did not change"
    assert rows(model, ChangeColumn.RELATIVE)[5] == "∞"

    view.table.sortByColumn(ChangeColumn.RELATIVE, Qt.SortOrder.DescendingOrder)
    assert rows(model, ChangeColumn.LAYER)[:3] == ["head", "dense", "base/bn_1"]
    view.table.sortByColumn(ChangeColumn.LAYER, Qt.SortOrder.AscendingOrder)
    assert rows(model, ChangeColumn.LAYER)[0] == "base/bn_1"
    view.table.sortByColumn(ChangeColumn.FROZEN, Qt.SortOrder.DescendingOrder)
    assert set(rows(model, ChangeColumn.FROZEN)[:3]) == {"yes"}


def test_clicking_a_table_row_selects_its_layer(qtbot, view):
    view.set_changes(CHANGES, "t")
    view.table.sortByColumn(ChangeColumn.RELATIVE, Qt.SortOrder.DescendingOrder)
    rect = view.table.visualRect(view.table_model.index(1, ChangeColumn.RELATIVE))
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == ["dense"]


def test_clicking_a_bar_selects_its_layer_and_its_row(qtbot, view):
    view.set_changes(CHANGES, "t")
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        qtbot.mouseClick(view.chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=bar_point(view, 3))
    assert signal.args == ["dense"]
    selected = view.table.selectionModel().selectedRows()
    assert [view.table_model.layer(index.row()) for index in selected] == ["dense"]


def test_hovering_a_bar_names_its_layer(qtbot, view):
    view.set_changes(CHANGES, "t")
    viewport, label = view.chart.plot.viewport(), view.chart.hover_label
    assert viewport.isVisible() and viewport.isEnabled()
    qtbot.mouseMove(viewport, QPoint(1, 1))  # a move from elsewhere: the cursor may already be on bar 1
    qtbot.mouseMove(viewport, bar_point(view, 1))
    qtbot.waitUntil(lambda: "base/bn_1" in label.text(), timeout=2000)
    assert "moved while frozen" in label.text()
    sweep = [bar_point(view, 3), bar_point(view, 4)]
    for point in sweep:  # a quick sweep, as a hand moves: the label names the bar where the mouse stops
        qtbot.mouseMove(viewport, point)
    qtbot.waitUntil(lambda: "dense_2" in label.text(), timeout=2000)
    assert "frozen" not in label.text()


def test_comparison_lists_what_was_not_compared(view):
    comparison = ModelComparison(
        changes=CHANGES[:2],
        only_in_first=["extra/kernel"],
        only_in_second=["new/kernel", "new/bias"],
        shape_mismatch=[("dense/kernel", (4, 6), (4, 5))],
    )
    view.set_comparison(comparison, "open model → copy.keras")
    assert view.unmatched_entries() == {
        "Only in the open model": ["extra/kernel"],
        "Only in the file": ["new/kernel", "new/bias"],
        "Different shapes (open model vs file)": ["dense/kernel"],
    }
    assert view.tabs.isTabEnabled(1) and "(4)" in view.tabs.tabText(1)
    assert "4 variables not compared" in view.summary.text()
    assert view.table_model.rowCount() == 2

    view.set_comparison(ModelComparison(changes=CHANGES), "same")
    assert view.unmatched_entries() == {} and not view.tabs.isTabEnabled(1)


def test_bn_audit_table_keeps_the_ranking_and_selects_layers(qtbot, view):
    shifts = [shift("base/bn_2", 3.0), shift("base/bn_1", 0.1, trainable=True), shift("td/bn", 0, note="not audited: inside a wrapper")]
    view.set_bn_shifts(shifts)
    model = view.bn_model
    assert view.tabs.currentWidget() is view.bn_table
    assert rows(model, BNColumn.LAYER) == ["base/bn_2", "base/bn_1", "td/bn"]
    assert rows(model, BNColumn.SCORE) == ["3", "0.1", "NaN"]
    assert rows(model, BNColumn.TRAINABLE) == ["no", "yes", "no"]
    assert "inside a wrapper" in rows(model, BNColumn.NOTE)[2]
    view.bn_table.sortByColumn(BNColumn.SCORE, Qt.SortOrder.AscendingOrder)
    assert rows(model, BNColumn.LAYER) == ["base/bn_1", "base/bn_2", "td/bn"]  # not audited stays last

    rect = view.bn_table.visualRect(model.index(1, BNColumn.LAYER))
    with qtbot.waitSignal(view.layer_selected, timeout=2000) as signal:
        qtbot.mouseClick(view.bn_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == ["base/bn_2"]


def test_buttons_ask_for_a_comparison_and_an_audit(qtbot, view, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: ("/tmp/other.keras", "")))
    with qtbot.waitSignal(view.compare_requested, timeout=2000) as signal:
        qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    assert signal.args == ["/tmp/other.keras"]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: ("", "")))
    with qtbot.assertNotEmitted(view.compare_requested):
        qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)

    with qtbot.waitSignal(view.bn_audit_requested, timeout=2000):
        qtbot.mouseClick(view.bn_button, Qt.MouseButton.LeftButton)


def test_clear_empties_everything(view):
    view.set_changes(CHANGES, "t")
    view.set_bn_shifts([shift("bn", 1.0)])
    view.set_status("Auditing…")
    view.clear()
    assert view.table_model.rowCount() == 0 and view.bn_model.rowCount() == 0
    assert all(view.chart.bar_count(kind) == 0 for kind in BAR_COLOURS)
    assert view.status.isHidden()
    assert view.changes() == []


def test_many_layers(view):
    changes = [change(f"block_{i}", (i % 7) * 0.01, frozen=i < 400, moved=i == 123) for i in range(800)]
    view.set_changes(changes, "deep")
    assert view.table_model.rowCount() == 800
    assert sum(view.chart.bar_count(kind) for kind in BAR_COLOURS) == 800
    assert view.chart.layer_at(123.2) == "block_123"
