"""The Training view of a model tab: data, settings, live curves, and what training changed."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.training.bn_statistics import FAR_SCORE
from inspector.errors import InputDataError
from inspector.jobs import CONTEXT, EDITOR
from inspector.training.fit import (
    LOSSES,
    METRICS,
    OPTIMIZERS,
    CheckWarnings,
    TrainingSettings,
    bn_audit_job,
    history_csv,
    restore_job,
    train_job,
    weight_changes_job,
)
from widgets.activations.activation_common import light_grid
from widgets.common.dialog_folders import DialogFolders
from widgets.common.flow_layout import flow_row
from widgets.common.error_reporting import show_error
from widgets.common.panes import controls_and_results
from widgets.common.plot_axes import without_si_prefixes
from widgets.common.time_left import duration
from widgets.common.time_slices import paint_in_turns
from widgets.training.weight_change_view import WeightChangeView

SMOOTHING = 0.9
"""Weight of the past in the smoothed per-batch loss curve (an exponential moving average)."""
FRAME_MS = 50
"""Values that arrive within this many milliseconds are drawn together."""
AXIS_WIDTH = 56
"""Pixels for the value axis' tick labels ("0.0001", "12.5")."""
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


class TrainingCurves(QWidget):
    """Loss per batch (smoothed) and per epoch, and metrics per epoch, as pyqtgraph plots.

    The plots are made when the curves are first shown or drawn on: a plot costs tens of
    milliseconds, and a model tab makes its hidden views while the model loads.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._plots: tuple[pg.PlotWidget, pg.PlotWidget] | None = None
        self._batch_curve = None
        self._frame = QTimer(self, singleShot=True, interval=FRAME_MS)
        self._frame.timeout.connect(self._draw)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._forget_data()

    @property
    def loss_plot(self) -> pg.PlotWidget:
        """The losses: per batch (smoothed) and per epoch."""
        return self._built()[0]

    @property
    def metric_plot(self) -> pg.PlotWidget:
        """The other metrics, per epoch."""
        return self._built()[1]

    @property
    def plots(self) -> tuple[pg.PlotWidget, pg.PlotWidget]:
        """The loss plot and the metrics plot."""
        return self._built()

    @property
    def batch_curve(self) -> pg.PlotDataItem:
        """The smoothed loss per batch."""
        self._built()
        return self._batch_curve

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._built()
        super().showEvent(event)

    def _built(self) -> tuple[pg.PlotWidget, pg.PlotWidget]:
        if self._plots is None:
            pg.setConfigOptions(antialias=False)
            self._plots = tuple(self._plot(label) for label in ("loss", "metrics"))
            self.layout().addWidget(self._plots[0], 3)
            self.layout().addWidget(self._plots[1], 2)
            self.clear()
        return self._plots

    @staticmethod
    def _plot(label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setLabel("bottom", "epoch")
        plot.setLabel("left", label)
        plot.addLegend(offset=(-10, 10))
        light_grid(plot)
        without_si_prefixes(plot)
        # A fixed width: new tick labels at an epoch's end then repaint the plot once, instead of
        # resizing the axis and laying the plot out (and painting it) again.
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        return plot

    def _forget_data(self) -> None:
        self._epoch_ended = False
        self._unfitted: list[pg.PlotWidget] = []
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._smoothed: float | None = None
        self._epochs: dict[str, list[float]] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}

    def clear(self) -> None:
        """Forgets every curve. The batch curve is kept, emptied: making a curve and its legend
        entry takes milliseconds of the click that starts a run."""
        if self._plots is not None:
            for curve in self._curves.values():
                for plot in self._plots:
                    plot.removeItem(curve)
        self._forget_data()
        if self._plots is None:
            return
        if self._batch_curve is None:
            self._batch_curve = self.loss_plot.plot(
                pen=pg.mkPen("#9ab", width=1), name="loss per batch (smoothed)", dynamicRangeLimit=None
            )
        else:
            self._batch_curve.setData([], [])

    def start(self, epochs: int) -> None:
        """Prepares for a run of ``epochs``: the x axis is fixed for the whole run.

        Ranges change only when a value leaves them or an epoch ends, because repainting the
        axes is what costs the window time while training keeps both cores busy.
        """
        self.clear()
        for plot in (self.loss_plot, self.metric_plot):
            plot.disableAutoRange()
            plot.setXRange(0, epochs, padding=0.02)

    def add_batch(self, epoch: int, step: int, steps: int | None, loss: float) -> None:
        """Adds one batch's loss to the smoothed curve (drawn with the next frame)."""
        x = epoch + (step / steps if steps else 0.0)
        self._smoothed = loss if self._smoothed is None else SMOOTHING * self._smoothed + (1 - SMOOTHING) * loss
        self._batch_x.append(x)
        self._batch_y.append(self._smoothed)
        self._schedule()

    def add_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Adds one epoch's values: losses to the loss plot, the rest to the metrics plot (drawn
        with the next frame)."""
        for name, value in logs.items():
            if name != "learning_rate":
                self._epochs.setdefault(name, []).append(value)
        self._epoch_ended = True
        self._schedule()

    def _schedule(self) -> None:
        if not self._frame.isActive():
            self._frame.start()

    def flush(self) -> None:
        """Draws what arrived since the last frame now."""
        self._frame.stop()
        self._draw(every_curve=True)

    def _draw(self, every_curve: bool = False) -> None:
        """Draws every value that arrived since the last frame at once: each plot is then
        repainted once per frame, however many batches and metrics came in.

        Args:
            every_curve: Add every new curve now; by default a frame adds at most one (with
                its legend entry, about 5 ms) and the others follow a frame later.
        """
        if self._batch_x:
            self.batch_curve.setData(self._batch_x, self._batch_y)
        added = deferred = False
        for name, values in self._epochs.items():
            curve = self._curves.get(name)
            if curve is None and added and not every_curve:
                deferred = True
                continue
            if curve is None:
                added = True
                colour = COLOURS[len(self._curves) % len(COLOURS)]
                plot = self.loss_plot if name.endswith("loss") else self.metric_plot
                dashed = name.startswith("val_")
                pen = pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
                curve = self._curves[name] = plot.plot(
                    pen=pen, symbol="o", symbolSize=5, symbolBrush=colour, name=name, dynamicRangeLimit=None
                )
            if len(curve.yData if curve.yData is not None else ()) != len(values):
                curve.setData(list(range(1, len(values) + 1)), values)
        if deferred:
            self._schedule()  # the epoch's ranges are fitted once its curves are all there
            return
        if self._epoch_ended:
            self._epoch_ended = False
            self._unfitted = [self.loss_plot, self.metric_plot]
        if self._unfitted:
            # One plot per frame: fitting a range redraws that plot's axis, grid and symbols.
            for plot in self._unfitted[: None if every_curve else 1]:
                self._fit_y(plot)
            self._unfitted = [] if every_curve else self._unfitted[1:]
            if self._unfitted:
                self._schedule()
        elif self._smoothed is not None:
            low, high = self.loss_plot.getViewBox().viewRange()[1]
            if not low <= self._smoothed <= high:
                self._fit_y(self.loss_plot)

    @staticmethod
    def _fit_y(plot: pg.PlotWidget) -> None:
        plot.getViewBox().enableAutoRange(axis=pg.ViewBox.YAxis)
        plot.getViewBox().updateAutoRange()
        plot.getViewBox().disableAutoRange(axis=pg.ViewBox.YAxis)


class TrainingPanel(QWidget):
    """Data and settings on the left; curves and "what changed" on the right.

    Args:
        submit: ``submit(name, job, *args, **kwargs) -> Job`` that queues a job in the model's
            kernel.
        submit_latest: ``submit_latest(key, name, job, *args)``: the same, replacing the
            previous job with that key (augmentation previews).
        settings: Where choices are remembered (not remembered when ``None``).
        parent: The owning widget.
        curves: The training curves, when the caller built them beforehand (a model tab builds
            its views a few milliseconds at a time); else built here.
        changes: The "what changed" view, likewise.

    Signals:
        status(str): A line for the status bar.
        trained(object): A run ended (its :class:`~inspector.training.fit.TrainingResult`); the
            model's weights changed.
        ready(): The model's outputs and compile settings were read; Start can be used.
        weights_changed(): The model's weights were set (trained, restored).
        layer_values(object): Per-layer values to colour the graph with (``None``: clear).
    """

    status = Signal(str)
    trained = Signal(object)
    ready = Signal()
    weights_changed = Signal()
    layer_values = Signal(object)

    def __init__(
        self,
        submit: Callable,
        submit_latest: Callable,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        curves: TrainingCurves | None = None,
        changes: WeightChangeView | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._submit = submit
        self._submit_latest = submit_latest
        self.settings = settings
        self.model = None  # inspector.jobs.MODEL once the tab's kernel holds a model
        self.path: Path | None = None
        self.remote: str | None = None  # the Ray cluster where the kernel (and so the data) is
        self.result = None
        self._stopping = False
        self._job = None
        self.data_editor = None
        self._outputs: list[str] = []
        self._run_summary = ""
        self.folders = DialogFolders(settings, "training/folders")

        self.data_box = QGroupBox("Data")
        self.data_layout = QVBoxLayout(self.data_box)
        self.data_hint = QLabel("Open the view to choose data.")
        self.data_layout.addWidget(self.data_hint)

        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(6)
        self.learning_rate.setRange(1e-6, 10.0)
        self.learning_rate.setSingleStep(1e-4)
        self.outputs_table = QTableWidget(0, 4)
        self.outputs_table.setObjectName("outputLosses")
        self.outputs_table.setHorizontalHeaderLabels(["Output", "Loss", "Weight", "Metrics"])
        self.outputs_table.verticalHeader().hide()
        self.outputs_table.setMaximumHeight(110)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 65_536)
        self.steps = QSpinBox()
        self.steps.setRange(0, 1_000_000)
        self.steps.setSpecialValueText("all")
        self.early_stopping = QSpinBox()
        self.early_stopping.setRange(0, 1000)
        self.early_stopping.setSpecialValueText("off")
        self.early_stopping.setSuffix(" epochs")
        self.reduce_lr = QSpinBox()
        self.reduce_lr.setRange(0, 1000)
        self.reduce_lr.setSpecialValueText("off")
        self.reduce_lr.setSuffix(" epochs")
        self.class_weights = QCheckBox("Weight classes by their counts")
        form = QFormLayout()
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow(self.outputs_table)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Steps per epoch", self.steps)
        form.addRow("Early stopping after", self.early_stopping)
        form.addRow("Halve learning rate after", self.reduce_lr)
        form.addRow(self.class_weights)
        settings_box = QGroupBox("Training")
        settings_box.setLayout(form)
        self._restore_choices()

        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("startTraining")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopTraining")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.eta = QLabel()
        self.message = QLabel()
        self.message.setObjectName("trainingMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel()
        self.warning.setObjectName("trainingWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #9a3412;")
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.hide()
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.stop_button)
        run_row.addStretch(1)
        run_row.addWidget(self.eta)

        left_content = QWidget()
        left_layout = QVBoxLayout(left_content)
        left_layout.addWidget(self.data_box)
        left_layout.addWidget(settings_box)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left_content)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 4, 0)
        left_box.addWidget(scroll, 1)
        left_box.addLayout(run_row)
        left_box.addWidget(self.progress)
        for widget in (self.progress, self.eta):
            # Showing them at Start then lays out nothing: relaying the window out cost 27 ms.
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        left_box.addWidget(self.message)
        left_box.addWidget(self.warning)

        self.curves = curves or TrainingCurves()
        self.keep_best = QPushButton("Go back to the best epoch")
        self.keep_best.clicked.connect(self.restore_best)
        self.revert = QPushButton("Revert to the weights before training")
        self.revert.clicked.connect(self.revert_weights)
        export_csv = QPushButton("Export history (CSV)…")
        export_csv.clicked.connect(lambda: self.export_history())
        export_png = QPushButton("Save curves (PNG)…")
        export_png.clicked.connect(lambda: self.export_curves())
        self.result_label = QLabel()
        self.result_label.setObjectName("trainingResult")
        self.result_label.setWordWrap(True)
        result_row = flow_row(self.keep_best, self.revert, export_csv, export_png)
        curves_page = QWidget()
        curves_layout = QVBoxLayout(curves_page)
        curves_layout.setContentsMargins(0, 0, 0, 0)
        curves_layout.addWidget(self.curves, 1)
        curves_layout.addWidget(self.result_label)
        curves_layout.addWidget(result_row)
        self.changes = changes or WeightChangeView(settings=settings)
        self.changes.setObjectName("weightChanges")
        self.colour_graph = QCheckBox("Colour the graph by weight change")
        self.colour_graph.toggled.connect(self._colour_graph)
        since_load = QPushButton("Compare with the file as loaded")
        since_load.setToolTip("How far each layer is now from the weights in the model's file")
        since_load.clicked.connect(lambda: self.path is not None and self.compare_with_file(str(self.path)))
        changes_row = flow_row(self.colour_graph, since_load)
        changes_page = QWidget()
        changes_layout = QVBoxLayout(changes_page)
        changes_layout.setContentsMargins(0, 0, 0, 0)
        changes_layout.addWidget(changes_row)
        changes_layout.addWidget(self.changes, 1)
        self.results = QTabWidget()
        self.results.addTab(curves_page, "Curves")
        self.results.addTab(changes_page, "What changed")

        controls_and_results(self, left, self.results, 520)

        self.changes.compare_requested.connect(self.compare_with_file)
        self.changes.bn_audit_requested.connect(self.audit_batch_norm)
        self._changes_values: dict[str, float] | None = None
        self.bn_shifts: list = []  # the last BatchNormalization audit's BNShift records
        self._show_running(False)

    # Set-up ------------------------------------------------------------------------------------

    def set_model(self, model, path: Path, remote: str | None = None) -> None:
        """Trains ``model`` (:data:`inspector.jobs.MODEL`, the tab kernel's model, from file
        ``path``); reads its outputs and compile settings in the kernel.

        Args:
            model: The model's placeholder.
            path: Its file.
            remote: The Ray cluster's address when the kernel runs there (the data is read there).
        """
        from inspector.training.fit import training_defaults_job

        self.path = Path(path)
        self.remote = remote
        for folders in self._dialog_folders():
            folders.model_folder = self.path.parent
        job = self._submit("Training settings", training_defaults_job, model)
        job.succeeded.connect(lambda defaults: self._defaults_read(model, *defaults))

    def _defaults_read(self, model, outputs: list[str], settings) -> None:
        self.model, self._outputs = model, outputs
        self._show_settings(settings)
        self._show_running(False)
        self.ready.emit()

    def ensure_data_editor(self, specs, vocabulary) -> None:
        """Creates the data editor for the model's inputs (once)."""
        from widgets.training.training_data_editor import TrainingDataEditor

        if self.data_editor is not None:
            return
        self.data_hint.hide()
        folder = self.path.parent if self.path is not None else None
        self.data_editor = TrainingDataEditor(
            specs, self._outputs, vocabulary, self.settings, model_folder=folder, submit_latest=self._submit_latest
        )
        self.data_editor.setObjectName("trainingData")
        if self.remote:
            note = QLabel(
                f"The model's kernel runs on {self.remote}: the folders and files chosen here are read there, "
                "so they must exist on the cluster's side at these paths (the file dialogs show this computer's files)."
            )
            note.setObjectName("remoteDataNote")
            note.setWordWrap(True)
            note.setStyleSheet("background: #fff4ce; border: 1px solid #e0b000; padding: 4px;")
            self.data_layout.addWidget(note)
        self.data_layout.addWidget(self.data_editor)

    def _dialog_folders(self) -> list[DialogFolders]:
        """Every file dialog's starting folders in this view."""
        editor = [self.data_editor.folders] if self.data_editor is not None else []
        return [self.folders, self.changes.folders, *editor]

    def shutdown(self) -> None:
        """Forgets the run in progress and stops the data editor's previews (the tab is closing
        and its kernel, with the training in it, ends)."""
        self._job = None
        if self.data_editor is not None:
            self.data_editor.shutdown()

    def _show_settings(self, settings: TrainingSettings) -> None:
        self.optimizer.setCurrentText(settings.optimizer)
        self.learning_rate.setValue(settings.learning_rate)
        self.outputs_table.setRowCount(len(self._outputs))
        for row, name in enumerate(self._outputs):
            name_label = QLabel(name)
            loss = QComboBox()
            loss.addItems(LOSSES)
            if settings.losses.get(name) not in LOSSES:
                loss.addItem(settings.losses.get(name, "mse"))
            loss.setCurrentText(settings.losses.get(name, "mse"))
            weight = QDoubleSpinBox()
            weight.setRange(0.0, 1000.0)
            weight.setDecimals(3)
            weight.setValue(settings.loss_weights.get(name, 1.0))
            metrics = QLineEdit(", ".join(settings.metrics.get(name, [])))
            metrics.setToolTip("Comma-separated: " + ", ".join(METRICS))
            for column, widget in enumerate((name_label, loss, weight, metrics)):
                self.outputs_table.setCellWidget(row, column, widget)
        self.outputs_table.resizeColumnsToContents()

    def current_settings(self) -> TrainingSettings:
        """The settings as chosen in the panel."""
        settings = TrainingSettings(
            optimizer=self.optimizer.currentText(),
            learning_rate=self.learning_rate.value(),
            epochs=self.epochs.value(),
            steps_per_epoch=self.steps.value() or None,
            early_stopping=self.early_stopping.value() or None,
            reduce_lr=self.reduce_lr.value() or None,
        )
        for row, name in enumerate(self._outputs):
            settings.losses[name] = self.outputs_table.cellWidget(row, 1).currentText()
            settings.loss_weights[name] = self.outputs_table.cellWidget(row, 2).value()
            text = self.outputs_table.cellWidget(row, 3).text()
            settings.metrics[name] = [m.strip() for m in text.split(",") if m.strip()]
        return settings

    # Training ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a training run (or a job of this panel) is in progress."""
        return self._job is not None

    def start(self) -> bool:
        """Starts training in the background with the chosen data and settings.

        Returns:
            Whether it started (it did not when something is missing; the panel says what).
        """
        if self.model is None or self._job is not None:
            return False
        source = self.data_editor.source() if self.data_editor is not None else None
        if source is None:
            self._say("Choose the training data first.", error=True)
            return False
        settings = self.current_settings()
        batch_size = self.batch_size.value()
        self._remember_choices()
        self.result = None
        self._run_summary = ""
        self._stopping = False
        job = self._submit("Train", train_job, self.model, partial(source, batch_size=batch_size), settings, CONTEXT, EDITOR)
        job.progress.connect(self._progress)
        job.succeeded.connect(self._finished)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self._job = job
        # The controls, then each plot with its new axes, are painted on turns of their own:
        # painted together they held the window for over two frames.
        paint_in_turns(self, lambda: self._show_start(settings.epochs), self.curves.plots)
        return True

    def _show_start(self, epochs: int) -> None:
        self.curves.start(epochs)
        self.result_label.clear()
        self._show_warnings([])
        self._show_running(True)
        self._say("Starting…")

    def stop(self) -> None:
        """Stops training after the current batch; the rest of the validation is skipped.
        Does nothing once the run has ended (its summary stays)."""
        if self._job is not None:
            self._stopping = True
            self._job.cancel()
            self._say("Stopping after this batch…")

    def _progress(self, progress) -> None:
        update = progress.payload
        if isinstance(update, CheckWarnings):
            self._show_warnings(update.texts)
            self.status.emit(progress.message)
            return
        if not self._stopping:  # "Stopping…" stays
            self._say(progress.message)
        if progress.fraction is not None:
            self.progress.setValue(round(progress.fraction * 1000))
        if update is not None:
            if update.kind == "batch" and "loss" in update.logs:
                self.curves.add_batch(update.epoch, update.step, update.steps, update.logs["loss"])
            elif update.kind == "epoch":
                self.curves.add_epoch(update.epoch, update.logs)
            if update.eta_s is not None:
                self.eta.setText(f"about {duration(update.eta_s)} left")

    def _show_warnings(self, texts) -> None:
        self.warning.setText("\n".join(texts))
        self.warning.setVisible(bool(texts))

    def _finished(self, result) -> None:
        self._job = None
        self.result = result
        # As at Start: the run's summary re-lays the plots out (its label grows), and the
        # controls and each plot with its last values are then painted on turns of their own.
        paint_in_turns(self, lambda: self._show_finish(result), self.curves.plots)
        self.weights_changed.emit()
        self.trained.emit(result)
        self.show_changes()
        if result.problem:
            QMessageBox.warning(self, "Training stopped", result.problem)

    def _show_finish(self, result) -> None:
        self._show_running(False)
        self._run_summary = run_summary(result)
        self._show_weights("the final weights")
        self._say(self.result_label.text(), error=bool(result.problem))
        self.keep_best.setEnabled(result.best is not None)
        self.revert.setEnabled(True)

    def _failed(self, error: Exception) -> None:
        self._job = None
        self._show_running(False)
        details = getattr(error, "details", "") or ""
        if isinstance(error, (InputDataError, ValueError)):
            text = str(error)
        elif isinstance(error, MemoryError):
            text = "Training ran out of memory. Try a smaller batch size or fewer steps per epoch."
        else:
            text = f"Training failed: {type(error).__name__}: {error}"
        self._say(text, error=True)
        show_error(self, "Training did not run", text, details or None)

    def _cancelled(self) -> None:
        self._job = None
        self._show_running(False)
        self._say("Training cancelled.")

    def _show_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running and self.model is not None)
        self.stop_button.setEnabled(running)
        self.progress.setVisible(running)
        self.eta.setVisible(running)
        if not running:
            self.progress.setValue(0)
            self.curves.flush()  # the run's last values, at once
        has_result = self.result is not None and not running
        self.keep_best.setEnabled(has_result and self.result.best is not None)
        self.revert.setEnabled(has_result)

    # After training ----------------------------------------------------------------------------

    def restore_best(self) -> None:
        """Sets the model's weights to those of the best epoch."""
        if self.result is not None and self.result.best is not None:
            self._restore(self.result.best, f"the weights of epoch {self.result.best_epoch + 1} (the best)")

    def revert_weights(self) -> None:
        """Sets the model's weights back to those from before training."""
        if self.result is not None:
            self._restore(self.result.before, "the weights from before training")

    def _restore(self, values, what: str):
        job = self._submit("Restore weights", restore_job, self.model, values, what)
        job.succeeded.connect(lambda _: self._restored(what))
        return job

    def _restored(self, what: str) -> None:
        self._show_weights(what)
        self._say(f"Restored {what}.")
        self.weights_changed.emit()
        self.show_changes()

    def _show_weights(self, what: str) -> None:
        """Shows the last run's summary and which weights the model has now."""
        self.result_label.setText(f"{self._run_summary} The model now has {what}; the file is unchanged until you save.")

    def show_changes(self) -> None:
        """Shows how far each layer moved since before the last training run."""
        if self.result is None or self.model is None:
            return
        job = self._submit("Weight changes", weight_changes_job, self.model, self.result.before)
        job.succeeded.connect(lambda changes: self._show_changes(changes, "Change since before training"))

    def _show_changes(self, changes, title: str) -> None:
        self.changes.set_changes(changes, title)
        self._changes_values = {change.layer: change.relative for change in changes}
        self._colour_graph(self.colour_graph.isChecked())

    def _colour_graph(self, on: bool) -> None:
        self.layer_values.emit(self._changes_values if on else None)

    def compare_with_file(self, path: str) -> None:
        """Compares the model's weights with another file of the same architecture."""
        from inspector.training.weight_change import compare_files_job

        if self.model is None:
            return
        job = self._submit(f"Compare with {Path(path).name}", compare_files_job, self.model, path)
        job.succeeded.connect(lambda comparison: self._show_comparison(comparison, path))
        job.failed.connect(lambda error: self._say(f"Could not compare with {Path(path).name}: {error}", error=True))

    def _show_comparison(self, comparison, path: str) -> None:
        self.changes.set_comparison(comparison, f"Change from {Path(path).name} to the open model")
        self._changes_values = {change.layer: change.relative for change in comparison.changes}
        self._colour_graph(self.colour_graph.isChecked())

    def audit_batch_norm(self) -> None:
        """Ranks BatchNormalization layers by how far their moving statistics are from the
        statistics of the training data at that layer."""
        source = self.data_editor.source() if self.data_editor is not None else None
        if source is None or self.model is None:
            self._say("Choose the training data first: the audit compares it with the moving statistics.", error=True)
            return
        job = self._submit("BatchNormalization audit", bn_audit_job, self.model, partial(source, batch_size=self.batch_size.value()))
        job.progress.connect(lambda progress: self._audit_says(progress.message))
        job.succeeded.connect(self._audited)
        job.failed.connect(lambda error: self._audit_says(f"BatchNormalization audit failed: {error}", error=True))

    def _audited(self, shifts) -> None:
        self.bn_shifts = list(shifts)
        self.changes.set_bn_shifts(shifts)
        if shifts:
            self._audit_says(audit_summary(shifts))

    def _audit_says(self, text: str, *, error: bool = False) -> None:
        self.changes.set_status(text)
        if error:
            self._say(text, error=True)
        else:
            self.status.emit(text)

    # Export ------------------------------------------------------------------------------------

    def export_history(self, path: str | Path | None = None) -> Path | None:
        """Writes the per-epoch history as CSV."""
        if self.result is None:
            return None
        path = path or self._ask_path("Export training history", "history.csv", "CSV (*.csv)")
        if not path:
            return None
        Path(path).write_text(history_csv(self.result))
        self.status.emit(f"Saved {path}")
        return Path(path)

    def export_curves(self, path: str | Path | None = None) -> Path | None:
        """Saves the curves as a PNG picture."""
        path = path or self._ask_path("Save training curves", "training_curves.png", "PNG image (*.png)")
        if not path:
            return None
        self.curves.grab().save(str(path), "PNG")
        self.status.emit(f"Saved {path}")
        return Path(path)

    def _ask_path(self, title: str, name: str, pattern: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self.folders.start("export")) / name), pattern)
        if path:
            self.folders.remember("export", path)
        return path or None

    # Settings ----------------------------------------------------------------------------------

    def _restore_choices(self) -> None:
        value = (lambda key, default: self.settings.value(key, default)) if self.settings else (lambda k, d: d)
        self.epochs.setValue(int(value("training/epochs", 5)))
        self.batch_size.setValue(int(value("training/batch_size", 32)))
        self.early_stopping.setValue(int(value("training/early_stopping", 0)))
        self.reduce_lr.setValue(int(value("training/reduce_lr", 0)))

    def _remember_choices(self) -> None:
        if self.settings is None:
            return
        for key, spin in (
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("early_stopping", self.early_stopping),
            ("reduce_lr", self.reduce_lr),
        ):
            self.settings.setValue(f"training/{key}", spin.value())

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #a93226;" if error else "")
        self.message.setText(text)
        self.status.emit(text)


def run_summary(result) -> str:
    """How a training run ended, in a few sentences: epochs, a partial epoch, the best epoch.

    Args:
        result: A :class:`~inspector.training.fit.TrainingResult`.
    """
    done = f"{result.epochs_done} complete epoch(s)"
    if result.problem:
        text = f"{result.problem} {done}."
    elif result.stopped and result.partial_epoch is not None:
        cut = "its validation was cut short" if result.monitor == "val_loss" else "not all of its batches ran"
        text = (
            f"Stopped during epoch {result.partial_epoch + 1}, which is partial ({cut}): it is not counted "
            f"and cannot be the best. {done}."
        )
    elif result.stopped:
        text = f"Stopped after {done}."
    else:
        text = f"Trained {done}."
    if result.best_epoch is not None:
        value = result.history[result.monitor][result.best_epoch]
        text += f" Best epoch: {result.best_epoch + 1} ({result.monitor} {value:.4g})."
    return text


def audit_summary(shifts) -> str:
    """One line on a finished BatchNormalization audit.

    Args:
        shifts: The :class:`~inspector.training.bn_statistics.BNShift` of each layer.
    """
    audited = [shift for shift in shifts if shift.audited]
    far = sum(shift.score > FAR_SCORE for shift in audited)
    return (
        f"BatchNormalization audit done: {len(audited)} of {len(shifts)} layer(s) measured, {far} far from "
        "their moving statistics (see the Note column)."
    )

