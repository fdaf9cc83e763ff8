"""The variables view: table, totals, filters, sorting, statistics, selection and value plots."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from inspector.model.model_info import ModelGraph, ModelInfo, ParamCounts, VariableInfo
from inspector.model.variable_stats import VariableStats, variable_stats
from widgets.model.variable_plots import VariablePlots
from widgets.model.variables_view import (
    PENDING,
    WARNING_BACKGROUND,
    Column,
    VariablesView,
    readable_memory_size,
)

TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def model():
    """Conv2D + BatchNormalization + a frozen Dense + a nested Sequential + a Dense head."""
    from inspector.tfimport import keras

    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(5, name="dense")(x)
    x = keras.Sequential([keras.layers.Dense(3, name="inner")], name="block")(x)
    outputs = keras.layers.Dense(2, name="dense_head")(x)
    built = keras.Model(inputs, outputs, name="small")
    built.get_layer("dense").trainable = False
    return built


@pytest.fixture(scope="module")
def info(model):
    from inspector.model.describe import describe

    return describe(model)


@pytest.fixture(scope="module")
def values(model):
    return [w.numpy() for w in model.weights]


@pytest.fixture
def view(qtbot, info):
    widget = VariablesView()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.set_model(info)
    return widget


def cell(view: VariablesView, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    table_model = view.table.model()
    return table_model.data(table_model.index(row, column), role)


def column_texts(view: VariablesView, column: int) -> list[str]:
    return [cell(view, row, column) for row in range(view.table.model().rowCount())]


def index_of(model, path: str) -> int:
    return next(i for i, w in enumerate(model.weights) if w.path == path)


def test_one_row_per_variable_in_weights_order(view, model):
    assert view.table.model().rowCount() == len(model.weights)
    assert column_texts(view, Column.PATH) == [w.path for w in model.weights]
    assert cell(view, 0, Column.SHAPE) == "(3, 3, 3, 4)"
    assert cell(view, 1, Column.SHAPE) == "(4,)"
    assert view.count_label.text() == f"{len(model.weights)} of {len(model.weights)} variables"


def test_totals_match_keras_summary(view, model):
    lines = []
    model.summary(print_fn=lambda text, line_break=False: lines.append(text))
    summary = "\n".join(lines)
    totals = view.totals_label.text()
    assert f"Total params: {model.count_params():,} (" in totals
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert f"Trainable params: {trainable:,} (" in totals
    for part in totals.split(" · "):
        assert part in summary  # same counts and byte sizes, e.g. "Total params: 479 (1.87 KB)"


@pytest.mark.parametrize(
    "size, text",
    [
        (0, "0.00 B"),
        (584, "584.00 B"),
        (1024, "1.00 KB"),
        (1915.5, "1.87 KB"),
        (14_155_776, "13.50 MB"),
        (3 * 1024**3, "3.00 GB"),
    ],
)
def test_memory_size_is_written_like_keras(size, text):
    assert readable_memory_size(size) == text


def test_non_trainable_rows_are_grey(view, model):
    frozen = index_of(model, "dense/kernel")
    assert cell(view, frozen, Column.TRAINABLE) == "no"
    assert cell(view, frozen, Column.PATH, Qt.ItemDataRole.ForegroundRole) is not None
    assert cell(view, 0, Column.PATH, Qt.ItemDataRole.ForegroundRole) is None


def test_filter_text_and_trainable_combo_narrow_rows(qtbot, view, model):
    qtbot.keyClicks(view.filter_edit, "BN")
    assert column_texts(view, Column.PATH) == [w.path for w in model.weights if "bn" in w.path]

    view.trainable_combo.setCurrentText("Non-trainable")
    assert column_texts(view, Column.PATH) == ["bn/moving_mean", "bn/moving_variance"]

    view.filter_edit.clear()
    assert view.table.model().rowCount() == len(model.non_trainable_weights)
    view.trainable_combo.setCurrentText("Trainable")
    assert view.table.model().rowCount() == len(model.trainable_weights)
    assert view.count_label.text() == f"{len(model.trainable_weights)} of {len(model.weights)} variables"


def test_regex_filter_and_invalid_regex(view):
    view.filter_edit.setText(r"re:^(conv|dense_head)/bias$")
    assert column_texts(view, Column.PATH) == ["conv/bias", "dense_head/bias"]

    view.filter_edit.setText("re:[")
    assert view.table.model().rowCount() == 0
    assert "regular expression" in view.filter_edit.toolTip()


def test_show_layer_includes_inner_layers_only(view):
    view.show_layer("block")
    assert column_texts(view, Column.PATH) == ["block/inner/kernel", "block/inner/bias"]
    view.show_layer("dense")  # not dense_head
    assert column_texts(view, Column.PATH) == ["dense/kernel", "dense/bias"]
    assert view.filter_edit.text() == "layer:dense"


def test_sorting_by_size_is_numeric_and_can_be_undone(view, model):
    view.table.sortByColumn(Column.SIZE, Qt.SortOrder.AscendingOrder)
    sizes = [int(text.replace(",", "")) for text in column_texts(view, Column.SIZE)]
    assert sizes == sorted(int(np.prod(w.shape)) for w in model.weights)

    view.table.sortByColumn(Column.SIZE, Qt.SortOrder.DescendingOrder)
    assert column_texts(view, Column.PATH)[:2] == ["dense/kernel", "conv/kernel"]  # 320 before 108

    view.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert column_texts(view, Column.PATH) == [w.path for w in model.weights]


def test_shapes_sort_by_rank_then_axes(view):
    view.table.sortByColumn(Column.SHAPE, Qt.SortOrder.AscendingOrder)
    shapes = column_texts(view, Column.SHAPE)
    assert shapes[0] == "(2,)"
    assert shapes[-4:] == ["(3, 2)", "(5, 3)", "(64, 5)", "(3, 3, 3, 4)"]


def test_statistics_arrive_in_chunks(view, model, values):
    stats = {i: variable_stats(v) for i, v in enumerate(values)}
    kernel = index_of(model, "dense/kernel")
    assert cell(view, kernel, Column.MIN) == PENDING

    view.set_stats({i: s for i, s in stats.items() if i < kernel})
    assert cell(view, kernel, Column.MIN) == PENDING
    assert cell(view, 0, Column.MAX) != PENDING

    view.set_stats({i: s for i, s in stats.items() if i >= kernel})
    reductions = ((Column.MIN, np.min), (Column.MAX, np.max), (Column.MEAN, np.mean), (Column.STD, np.std))
    for column, reduce in reductions:
        shown = float(cell(view, kernel, column))
        assert shown == pytest.approx(float(reduce(values[kernel])), rel=1e-3, abs=1e-9)
    assert float(cell(view, index_of(model, "bn/gamma"), Column.MIN)) == 1.0


def test_sorting_by_min_follows_statistics_as_they_arrive(qtbot, view, values):
    view.table.sortByColumn(Column.MIN, Qt.SortOrder.AscendingOrder)
    stats = {i: variable_stats(v) for i, v in enumerate(values)}
    view.set_stats({i: stats[i] for i in range(6)})
    view.set_stats({i: stats[i] for i in range(6, len(values))})

    expected = sorted(float(np.min(v)) for v in values)

    def sorted_by_min():
        shown = [float(text) for text in column_texts(view, Column.MIN)]
        assert shown == pytest.approx(expected, rel=1e-3, abs=1e-9)

    qtbot.waitUntil(sorted_by_min, timeout=TIMEOUT_MS)


def test_clicking_a_row_emits_its_variable_index(qtbot, view, model):
    view.show()
    qtbot.waitExposed(view)
    view.table.sortByColumn(Column.SIZE, Qt.SortOrder.DescendingOrder)  # rows no longer match indices
    proxy_index = view.table.model().index(1, Column.SHAPE)
    with qtbot.waitSignal(view.variable_selected, timeout=TIMEOUT_MS) as blocker:
        position = view.table.visualRect(proxy_index).center()
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert blocker.args == [index_of(model, "conv/kernel")]


def test_select_variable_clears_a_filter_hiding_it(qtbot, view, model):
    view.filter_edit.setText("bn")
    target = index_of(model, "dense_head/kernel")
    with qtbot.waitSignal(view.variable_selected, timeout=TIMEOUT_MS) as blocker:
        view.select_variable(target)
    assert blocker.args == [target]
    assert view.filter_edit.text() == ""
    with qtbot.assertNotEmitted(view.variable_selected):
        view.select_variable(target)  # already selected: no signal, so no loop
    with pytest.raises(IndexError):
        view.select_variable(len(model.weights))


def test_kernel_shows_heatmap_and_histogram(view, model, values):
    kernel = index_of(model, "conv/kernel")
    view.show_values(kernel, values[kernel])

    plots = view.plots
    assert not plots.heatmap_plot.isHidden()
    assert plots.line_plot.isHidden()
    image = plots.heatmap_item.image
    assert image.shape == (27, 4)  # 3x3x3 folded into rows, 4 filters
    assert image.dtype == np.float32 and image.flags.c_contiguous
    np.testing.assert_allclose(image, values[kernel].reshape(27, 4))
    low, high = plots.heatmap_item.getLevels()
    assert high > 0 and low == -high
    _, counts = plots.histogram_item.getData()
    assert counts.sum() == values[kernel].size
    assert "conv/kernel" in plots.title.text() and "(3, 3, 3, 4)" in plots.title.text()
    assert "float32" in plots.title.text()


def test_vector_shows_histogram_and_line_without_heatmap(view, model, values):
    gamma = index_of(model, "bn/gamma")
    view.show_values(gamma, values[gamma])

    plots = view.plots
    assert plots.heatmap_plot.isHidden()
    assert not plots.line_plot.isHidden()
    _, line = plots.line_item.getData()
    np.testing.assert_array_equal(line, values[gamma])
    _, counts = plots.histogram_item.getData()
    assert counts.sum() == values[gamma].size

    view.clear_values()
    assert plots.histogram_plot.isHidden() and plots.heatmap_plot.isHidden() and plots.line_plot.isHidden()


def test_non_finite_values_are_flagged(view, model, values):
    kernel = index_of(model, "dense/kernel")
    broken = values[kernel].copy()
    broken[0, :3] = np.nan
    view.set_stats({kernel: variable_stats(broken)})

    assert cell(view, kernel, Column.MIN, Qt.ItemDataRole.BackgroundRole) == WARNING_BACKGROUND
    assert "3 of 320 values are non-finite" in cell(view, kernel, Column.MIN, Qt.ItemDataRole.ToolTipRole)
    assert cell(view, kernel, Column.PATH, Qt.ItemDataRole.DecorationRole) is not None
    assert float(cell(view, kernel, Column.MIN)) == pytest.approx(float(np.nanmin(broken)), rel=1e-3)

    view.show_values(kernel, broken)
    assert "3 NaN/inf" in view.plots.title.text()
    _, counts = view.plots.histogram_item.getData()
    assert counts.sum() == broken.size - 3


def test_all_nan_variable_shows_nan(view):
    view.set_stats({0: VariableStats(np.nan, np.nan, np.nan, np.nan, non_finite=108)})
    assert [cell(view, 0, c) for c in (Column.MIN, Column.MAX, Column.MEAN, Column.STD)] == ["NaN"] * 4


@pytest.mark.parametrize(
    "values, heatmap",
    [
        (np.array(3.0, np.float32), False),
        (np.zeros((0, 5), np.float32), False),
        (np.arange(6, dtype=np.int64).reshape(2, 3), True),
        (np.full((4, 4), np.nan, np.float32), True),
    ],
    ids=["scalar", "empty", "int64", "all-nan"],
)
def test_unusual_variables_still_plot(qtbot, values, heatmap):
    plots = VariablePlots()
    qtbot.addWidget(plots)
    variable = VariableInfo("odd/value", "odd", values.shape, str(values.dtype), True, values.size)
    plots.show_values(variable, values)
    assert plots.heatmap_plot.isHidden() != heatmap
    assert plots.line_plot.isHidden() == heatmap
    _, counts = plots.histogram_item.getData()
    assert counts.sum() == np.isfinite(values).sum()


def test_ten_thousand_rows(qtbot):
    variables = [
        VariableInfo(f"block_{i}/kernel", f"block_{i}", (i % 7 + 1, 10), "float32", i % 3 > 0, (i % 7 + 1) * 10)
        for i in range(10_000)
    ]
    total = sum(v.size for v in variables)
    trainable = sum(v.size for v in variables if v.trainable)
    info = ModelInfo(
        "big", "Functional", "", "keras", False, [], [], [],
        ParamCounts(total, trainable, total - trainable), [], variables, ModelGraph(),
    )
    view = VariablesView()
    qtbot.addWidget(view)
    view.set_model(info)
    view.set_stats({i: VariableStats(-i, i, 0.0, 1.0, 0) for i in range(10_000)})

    view.table.sortByColumn(Column.MIN, Qt.SortOrder.AscendingOrder)
    assert cell(view, 0, Column.PATH) == "block_9999/kernel"
    view.table.sortByColumn(Column.PATH, Qt.SortOrder.AscendingOrder)  # natural order: 2 before 10
    assert column_texts(view, Column.PATH)[:3] == ["block_0/kernel", "block_1/kernel", "block_2/kernel"]
    view.filter_edit.setText("re:block_99\\d\\d/")
    assert view.count_label.text() == "100 of 10,000 variables"
