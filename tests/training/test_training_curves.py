"""The training curves: values drawn once per frame, and a grid that follows the axes."""

from __future__ import annotations

import numpy as np
import pytest

from widgets.training.training_panel import TrainingCurves
from tests.conftest import shown


@pytest.fixture
def curves(qtbot):
    return shown(qtbot, TrainingCurves(), 700, 500)


def grid_lines(plot):
    """The x positions of the vertical grid lines and the y positions of the horizontal ones."""
    grid = next(item for item in plot.getViewBox().childGroup.childItems() if item.zValue() == -100)
    x, y = grid.getData()
    vertical = {round(float(a), 6) for a, b in zip(x[::2], x[1::2]) if a == b}
    horizontal = {round(float(a), 6) for a, b in zip(y[::2], y[1::2]) if a == b}
    return vertical, horizontal


def epoch_curves(curves) -> set[str]:
    items = curves.loss_plot.getPlotItem().listDataItems() + curves.metric_plot.getPlotItem().listDataItems()
    return {item.name() for item in items} - {"loss per batch (smoothed)"}


def test_values_arriving_together_are_drawn_with_the_next_frames(qtbot, curves):
    curves.start(3)
    for step in range(10):
        curves.add_batch(0, step, 10, 2.0 - step * 0.1)
    curves.add_epoch(0, {"loss": 1.5, "val_loss": 1.7, "accuracy": 0.4})
    assert curves.batch_curve.yData is None or len(curves.batch_curve.yData) == 0, "not drawn before the frame"
    qtbot.waitUntil(lambda: curves.batch_curve.yData is not None and len(curves.batch_curve.yData) == 10, timeout=2000)
    assert len(epoch_curves(curves)) == 1, "one new curve per frame"
    qtbot.waitUntil(lambda: epoch_curves(curves) == {"loss", "val_loss", "accuracy"}, timeout=2000)
    qtbot.waitUntil(lambda: curves.loss_plot.getViewBox().viewRange()[1][1] >= 1.7, timeout=2000)
    low, high = curves.loss_plot.getViewBox().viewRange()[1]
    assert low <= 1.5 and high >= 1.7, "the loss axis was fitted to the epoch's values"
    metrics = curves.metric_plot.getViewBox()
    qtbot.waitUntil(lambda: metrics.viewRange()[1][0] <= 0.4 <= metrics.viewRange()[1][1], timeout=2000)
    curves.add_epoch(1, {"loss": 1.2, "val_loss": 1.4, "accuracy": 7.0})
    qtbot.waitUntil(lambda: metrics.viewRange()[1][1] >= 7.0, timeout=2000)
    assert curves.loss_plot.getViewBox().viewRange()[1][0] <= 1.2, "both plots are fitted, a frame apart"


def test_the_end_of_a_run_draws_every_curve_at_once(qtbot, curves):
    curves.start(3)
    curves.add_epoch(0, {"loss": 1.5, "val_loss": 1.7, "accuracy": 0.4, "val_accuracy": 0.3})
    curves.flush()
    assert epoch_curves(curves) == {"loss", "val_loss", "accuracy", "val_accuracy"}


def test_the_grid_follows_the_axes_and_survives_a_new_run(qtbot, curves):
    curves.start(4)
    curves.add_epoch(0, {"loss": 1.0})
    curves.flush()
    vertical, _ = grid_lines(curves.loss_plot)
    assert {1.0, 2.0, 3.0, 4.0} <= vertical
    curves.loss_plot.setYRange(0, 10, padding=0)
    _, horizontal = grid_lines(curves.loss_plot)
    assert len(horizontal) >= 3 and all(0 <= y <= 10 for y in horizontal)
    curves.start(2)  # clears the plots: the grid stays and follows the new range
    vertical, _ = grid_lines(curves.loss_plot)
    assert {1.0, 2.0} <= vertical and np.isclose(max(vertical), 2.0)


def legend_names(plot) -> list[str]:
    return [label.text for _, label in plot.getPlotItem().legend.items]


def test_a_new_run_starts_from_empty_plots_with_one_legend_entry_per_curve(qtbot, curves):
    for run in range(2):
        curves.start(2)
        assert curves.batch_curve.yData is None or len(curves.batch_curve.yData) == 0, "the last run's batches are gone"
        assert epoch_curves(curves) == set(), "the last run's epoch curves are gone"
        for step in range(5):
            curves.add_batch(0, step, 5, 1.0)
        curves.add_epoch(0, {"loss": 1.0, "accuracy": 0.5})
        curves.flush()
        assert epoch_curves(curves) == {"loss", "accuracy"}
    assert legend_names(curves.loss_plot) == ["loss per batch (smoothed)", "loss"]
    assert legend_names(curves.metric_plot) == ["accuracy"]
