"""The embedding projector: project points with PCA, t-SNE or UMAP, colour, search, inspect.

The panel shows one :class:`~inspector.embeddings.embedding_data.EmbeddingSet` at a time. PCA runs on the
panel's own worker thread; t-SNE and UMAP run in the application's one projection process
(:mod:`widgets.embeddings.projection_service`), so neither numba nor cancelling can stall the window.
Nearest neighbours are looked up on a second thread, so they answer while a projection runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.jobs import Progress, call_job
from inspector.embeddings.point_metadata import MISSING, OTHER, SCALE_STEPS, category_column, coded_columns_job, colouring, search
from widgets.common.dialog_folders import DialogFolders
from widgets.embeddings.embedding_legend import Legend
from widgets.embeddings.embedding_plot import EmbeddingPlot
from widgets.common.job_runner import JobRunner
from widgets.embeddings.projection_service import ProjectionService
from widgets.common.panes import controls_and_results
from widgets.common.time_left import TimeLeft
from widgets.embeddings.projection_controls import SETTINGS_GROUP, ProjectionControls

DEFAULT_LIMIT = 100_000
BUSY_DELAY_MS = 150  # a run shows its progress once it has taken this long
SEARCH_DELAY_MS = 200
# Tableau's 20 colours: distinguishable categories on white.
CATEGORY_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
]  # fmt: skip
PLAIN_COLOUR = QColor(31, 119, 180, 200)
OTHER_COLOUR = QColor(190, 190, 190, 160)
NO_COLOUR = "(one colour)"
COMPILE_SHOWN_SECONDS = 0.05  # a shorter compile wait is not worth a mention


class EmbeddingPanel(QWidget):
    """Projects, draws and explores a set of points.

    Args:
        settings: Where choices and folders are remembered, or ``None``.
        parent: The owning widget.
        plot: The plot, when the caller built it beforehand (a model tab builds its views a few
            milliseconds at a time); else built here.

    Attributes:
        folders: Where the file dialogs start: the folder last used for each, else the folder
            of the points' file (the model or the vectors).

    Signals:
        status(str): A message for the status bar.
        projected(): A projection finished and is drawn.
    """

    status = Signal(str)
    projected = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *, plot: EmbeddingPlot | None = None):
        super().__init__(parent)
        self.settings = settings
        self.folders = DialogFolders(settings, f"{SETTINGS_GROUP}/folders")
        self.runner = JobRunner(self)
        self.queries = JobRunner(self)
        self.points = None
        self.shown: np.ndarray | None = None
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.projection = None
        self.selected = -1
        self.neighbours = np.zeros(0, dtype=np.int64)
        self.matches = np.zeros(0, dtype=np.int64)
        self._index = None
        self._colourings: dict = {}
        self._coded: dict = {}
        self._choose_colours = False
        self._coding = None
        self._searching = None
        self._job = None
        self._run_started = 0.0
        self._shown_progress = Progress("")
        self._progress_delay = QTimer(self, singleShot=True, interval=BUSY_DELAY_MS)
        self._progress_delay.timeout.connect(self._show_progress)
        self._time_left = TimeLeft()
        self._clock = QTimer(self, interval=1000)  # the times shown move on between reports
        self._clock.timeout.connect(self._show_progress)
        self._last_neighbours = None

        self.plot = plot or EmbeddingPlot()
        self.plot.clicked.connect(self.select_point)
        self.plot.hovered.connect(self._hovered)
        self.legend = Legend()
        self.hover_line = QLabel(objectName="hoverLine")
        results = QWidget()
        plot_row = QHBoxLayout()
        plot_row.addWidget(self.plot, 1)
        plot_row.addWidget(self.legend)
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(plot_row, 1)
        results_layout.addWidget(self.hover_line)

        controls = QWidget()
        self.controls_layout = QVBoxLayout(controls)
        self.controls_layout.addWidget(self._points_box())
        self.controls_layout.addWidget(self._projection_box())
        self.controls_layout.addWidget(self._display_box())
        self.controls_layout.addWidget(self._neighbours_box(), 1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        controls_and_results(self, scroll, results, 380)
        QShortcut(QKeySequence("Ctrl+R"), self, self.run)
        self._update_buttons()

    # Layout ------------------------------------------------------------------------------------

    def add_source(self, widget: QWidget) -> None:
        """Puts the widget that chooses the points above the panel's own controls."""
        self.controls_layout.insertWidget(0, widget)

    def _points_box(self) -> QGroupBox:
        box = QGroupBox("Points")
        form = QFormLayout(box)
        self.title = QLabel("No points yet", objectName="pointsTitle")
        self.title.setWordWrap(True)
        self.notes = QLabel(objectName="pointsNotes")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #8a5a00")
        self.limit = QSpinBox(objectName="pointLimit")
        self.limit.setRange(1_000, 10_000_000)
        self.limit.setSingleStep(10_000)
        self.limit.setGroupSeparatorShown(True)
        self.limit.setValue(int(self._setting("limit", DEFAULT_LIMIT)))
        self.limit.setToolTip("Above this many points, a random sample (seed 0) is projected.")
        self.limit.editingFinished.connect(self._limit_changed)
        self.sample_note = QLabel(objectName="sampleNote")
        self.sample_note.setWordWrap(True)
        form.addRow(self.title)
        form.addRow(self.notes)
        form.addRow("Show at most", self.limit)
        form.addRow(self.sample_note)
        return box

    def _projection_box(self) -> QGroupBox:
        box = QGroupBox("Projection")
        layout = QVBoxLayout(box)
        self.method = ProjectionControls(self.settings)
        self.method.axes_changed.connect(self._show_projection)
        self.method.method.currentIndexChanged.connect(lambda _: self._update_umap_note())
        self.run_button = QPushButton("Run", objectName="runProjection")
        self.run_button.setToolTip("Run the projection with these parameters (Ctrl+R)")
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button = QPushButton("Cancel", objectName="cancelProjection")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export", objectName="exportEmbedding")
        menu = QMenu(self.export_button)
        self.export_tsv_action = menu.addAction("Vectors and metadata for the TensorFlow Projector (TSV)…", self.export_tsv)
        self.export_csv_action = menu.addAction("Projected coordinates with metadata (CSV)…", self.export_csv)
        self.export_png_action = menu.addAction("Plot as PNG…", self.export_png)
        self.export_button.setMenu(menu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        self.progress = QProgressBar(objectName="projectionProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.message = QLabel(objectName="projectionMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.method)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        return box

    def _display_box(self) -> QGroupBox:
        box = QGroupBox("Colour, labels and search")
        form = QFormLayout(box)
        self.colour_by = QComboBox(objectName="colourBy")
        self.colour_by.currentIndexChanged.connect(lambda _: self._recolour())
        self.label_by = QComboBox(objectName="labelBy")
        self.label_by.currentIndexChanged.connect(lambda _: self._relabel())
        self.point_size = QSpinBox(objectName="pointSize")
        self.point_size.setRange(1, 20)
        self.point_size.setValue(int(self._setting("point_size", 4)))
        self.point_size.valueChanged.connect(self._point_size_changed)
        self.plot.set_point_size(self.point_size.value())
        self.search_box = QLineEdit(objectName="searchPoints")
        self.search_box.setPlaceholderText("Search labels")
        self.search_box.setClearButtonEnabled(True)
        self.regex = QCheckBox("Regular expression", objectName="searchRegex")
        self.search_status = QLabel(objectName="searchStatus")
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search)
        self.search_box.textChanged.connect(lambda _: self._search_timer.start())
        self.search_box.returnPressed.connect(self._search)
        self.regex.toggled.connect(lambda _: self._search())
        form.addRow("Colour by", self.colour_by)
        form.addRow("Label", self.label_by)
        form.addRow("Point size", self.point_size)
        form.addRow("Search", self.search_box)
        form.addRow(self.regex, self.search_status)
        return box

    def _neighbours_box(self) -> QGroupBox:
        box = QGroupBox("Nearest neighbours (original space)")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.k = QSpinBox(objectName="neighbourCount")
        self.k.setRange(1, 1000)
        self.k.setValue(int(self._setting("k", 10)))
        self.distance = QComboBox(objectName="neighbourMetric")
        self.distance.addItems(["cosine", "euclidean"])
        self.distance.setCurrentText(str(self._setting("distance", "cosine")))
        self.k.valueChanged.connect(lambda _: self._find_neighbours())
        self.distance.currentIndexChanged.connect(lambda _: self._find_neighbours())
        row.addWidget(QLabel("k"))
        row.addWidget(self.k)
        row.addWidget(self.distance, 1)
        self.selected_label = QLabel("Click a point to select it.", objectName="selectedPoint")
        self.selected_label.setWordWrap(True)
        self.neighbour_table = QTableWidget(0, 2, objectName="neighbourTable")
        self.neighbour_table.setHorizontalHeaderLabels(["Label", "Distance"])
        self.neighbour_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.neighbour_table.verticalHeader().setVisible(False)
        self.neighbour_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.neighbour_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.neighbour_table.cellDoubleClicked.connect(lambda row, _: self.select_point(int(self.neighbours[row])))
        layout.addLayout(row)
        layout.addWidget(self.selected_label)
        layout.addWidget(self.neighbour_table, 1)
        return box

    # Points ------------------------------------------------------------------------------------

    def set_points(self, points) -> None:
        """Shows a new set of points and projects it with PCA at once.

        Args:
            points: An :class:`~inspector.embeddings.embedding_data.EmbeddingSet`.
        """
        self.cancel()
        self._show_points(points)
        self._sample()
        self.run(method="PCA")

    def set_metadata(self, points) -> None:
        """Shows other metadata for the points on show, keeping their projection and selection.

        Args:
            points: An :class:`~inspector.embeddings.embedding_data.EmbeddingSet` of the same vectors; a
                set of other vectors is shown with :meth:`set_points` instead.
        """
        if self.points is None or (len(points), points.dims) != (len(self.points), self.points.dims):
            self.set_points(points)
            return
        self._show_points(points)
        self._code_columns(self.queries)  # a projection under way does not hold it up
        self._relabel()
        self.status.emit(f"Metadata columns: {', '.join(points.columns)}; the layout is kept.")

    def _show_points(self, points) -> None:
        """Describes the points and offers their metadata columns for colours and labels."""
        self.points = points
        self.folders.model_folder = points.path.parent if points.path is not None else None
        self.title.setText(f"{points.title}\n{len(points):,} points × {points.dims:,} dimensions")
        self.notes.setText("\n".join(points.notes))
        self.notes.setVisible(bool(points.notes))
        for box in (self.colour_by, self.label_by):
            box.blockSignals(True)
            box.clear()
        self.colour_by.addItem(NO_COLOUR)
        self.colour_by.addItems(points.columns)
        self.label_by.addItems(points.columns)
        for box in (self.colour_by, self.label_by):
            box.blockSignals(False)
        self._choose_colours = True  # once the columns are read

    def _sample(self) -> None:
        from inspector.embeddings.projection import sample_indices

        points = self.points
        self.shown = sample_indices(len(points), self.limit.value(), seed=0)
        self.vectors = points.vectors if self.shown is None else points.vectors[self.shown]
        if self.shown is None:
            self.sample_note.setText(f"Showing all {len(points):,} points.")
        else:
            self.sample_note.setText(
                f"Showing a random sample of {len(self.shown):,} of {len(points):,} points (seed 0); "
                "raise the limit to show more."
            )
        self._index = None
        self.projection = None
        self.selected, self.neighbours, self.matches = -1, np.zeros(0, np.int64), np.zeros(0, np.int64)
        self._code_columns()
        self._relabel()
        self._show_neighbours(None)

    def _code_columns(self, runner: JobRunner | None = None) -> None:
        """Codes the metadata of the points shown in the background; colours and search wait
        for it.

        Args:
            runner: Where to run it; by default the projection's thread, where it finishes
                before the projection that follows.
        """
        self._coded, self._colourings = {}, {}
        if self._coding is not None:
            self._coding.cancel()
        points = self.points
        job = (runner or self.runner).submit("Reading metadata", coded_columns_job, points.metadata, points.columns, self.shown)
        job.succeeded.connect(lambda coded: job is self._coding and self._columns_coded(coded))
        self._coding = job

    def _columns_coded(self, coded: dict) -> None:
        self._coded = coded
        if self._choose_colours:  # colour by classes, if a column has them
            default = category_column(coded, self.points.columns[1:])
            self.colour_by.blockSignals(True)
            self.colour_by.setCurrentText(default or NO_COLOUR)
            self.colour_by.blockSignals(False)
            self._choose_colours = False
        self._recolour()
        self._search()

    def _limit_changed(self) -> None:
        self._store("limit", self.limit.value())
        if self.points is not None and (self.shown is not None or len(self.points) > self.limit.value()):
            self._sample()
            self.run(method="PCA")

    def column(self, name: str) -> list[str]:
        """A metadata column's values for the shown points."""
        values = self.points.metadata[name]
        return values if self.shown is None else [values[i] for i in self.shown]

    # Projection --------------------------------------------------------------------------------

    def run(self, method: str | None = None):
        """Projects the shown points with the chosen method (or ``method``), in the background.

        Args:
            method: ``"PCA"`` to choose and run PCA whatever was chosen; by default the chosen
                method.

        Returns:
            The job, or ``None`` when there is nothing to project.
        """
        from inspector.embeddings.projection import pca_job, tsne_job, umap_job

        if self.points is None:
            return None
        self.cancel()
        if method is not None:
            self.method.set_method(method)
        name = self.method.method_name
        settings = self.method.projection_settings()
        if name == "PCA":
            job = self.runner.submit("PCA", pca_job, self.vectors, settings)
        else:  # in the application's one projection process, after the runs asked before
            service = ProjectionService.shared()
            factory = tsne_job if name == "t-SNE" else umap_job
            job = service.runner.submit(name, factory, service.worker, self.vectors, settings)
        job.progress.connect(lambda progress: job is self._job and self._progress(progress))
        job.succeeded.connect(lambda projection: job is self._job and self._projected(projection))
        job.failed.connect(lambda error: job is self._job and self._failed(error))
        job.cancelled.connect(lambda: job is self._job and self._finished(f"{name} cancelled."))
        self._job = job
        self._run_started = time.perf_counter()
        self._time_left.restart()
        # A run that ends within BUSY_DELAY_MS (PCA of 100,000 points) shows only its result:
        # no flash of "starting…", and no repaint taking the interpreter from the run.
        self._shown_progress = Progress(f"{name}: starting…")
        self._progress_delay.start()
        self._update_buttons()
        return job

    def cancel(self) -> None:
        """Stops the running projection (a t-SNE or UMAP process is ended at once)."""
        if self._job is not None and not self._job.done:
            self._job.cancel()

    def _progress(self, progress: Progress) -> None:
        self._shown_progress = progress
        self._time_left.report(progress.fraction)
        if not self._progress_delay.isActive():
            self._show_progress()
        if progress.payload is not None:
            name = self._job.name  # "t-SNE": its layouts' axes until the result names them
            self._draw(np.asarray(progress.payload), (f"{name} 1", f"{name} 2"), live=True)

    def _show_progress(self) -> None:
        progress = self._shown_progress
        times = self._time_left.text()
        self.message.setStyleSheet("")
        self.message.setText(f"{progress.message} · {times}" if times else progress.message)
        if not self._clock.isActive():
            self._clock.start()
        if progress.fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))

    def _projected(self, projection) -> None:
        self.projection = projection
        if projection.explained is not None:
            self.method.set_components(projection.axis_names, projection.explained)
        self._show_projection()
        self._finished(_result_text(projection, len(self.vectors), time.perf_counter() - self._run_started))
        self.projected.emit()

    def _failed(self, error) -> None:
        self._finished(str(error), error=True)

    def show_error(self, text: str) -> None:
        """Shows why points could not be read or projected, in red under the buttons."""
        self._finished(text, error=True)

    def _finished(self, text: str, error: bool = False) -> None:
        self._progress_delay.stop()
        self._clock.stop()
        if self.projection is not None:
            self.method.set_method(self.projection.method)  # a cancelled or failed run drew nothing
        self.message.setStyleSheet("color: #b00020" if error else "")
        self.message.setText(text)
        self.status.emit(text)
        self.progress.setRange(0, 1)
        self.progress.setValue(0 if error else 1)
        self._job = None
        self._update_buttons()
        self._update_umap_note()

    def _show_projection(self) -> None:
        projection = self.projection
        if projection is None:
            return
        if projection.explained is not None and projection.coords.shape[1] > 1:
            x, y = self.method.axes()
        else:
            x, y = 0, min(1, projection.coords.shape[1] - 1)
        coords = projection.coords
        xy = np.empty((len(coords), 2), dtype=np.float32)  # coords[:, [x, y]] is not C-contiguous
        xy[:, 0], xy[:, 1] = coords[:, x], coords[:, y]
        self._draw(xy, (projection.axis_names[x], projection.axis_names[y]), live=False)

    def _draw(self, xy: np.ndarray, axes: tuple[str, str], live: bool) -> None:
        if live and len(self.plot.xy) == len(xy):
            self.plot.move_points(xy, axes=axes)
            return
        codes, palette = self._colours()
        self.plot.set_points(xy, codes, palette, axes=axes)
        self.plot.set_highlights(self.selected, self.neighbours, self.matches)

    @property
    def worker(self):
        """The application's projection process, once started
        (:class:`~widgets.embeddings.projection_service.ProjectionService`)."""
        service = ProjectionService.running()
        return service.worker if service is not None else None

    def warm_up(self) -> None:
        """Starts the projection process and compiles UMAP in it, in the background."""
        ProjectionService.shared().worker.warm_up()
        self._update_umap_note()

    def _update_umap_note(self) -> None:
        if self.method.method_name != "UMAP":
            return
        if self.worker is not None and self.worker.warm:
            self.method.umap_note.setText("")
            return
        self.method.umap_note.setText(
            "The first UMAP run compiles numba code (tens of seconds, once per installation); "
            "it is being prepared in the background."
        )
        QTimer.singleShot(1000, self, self._update_umap_note)

    def _update_buttons(self) -> None:
        running = self._job is not None
        has_points = self.points is not None
        self.run_button.setEnabled(has_points and not running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(has_points)
        self.export_csv_action.setEnabled(self.projection is not None)

    # Colour, labels, search --------------------------------------------------------------------

    def _colours(self) -> tuple[np.ndarray, list[QBrush]]:
        """Per shown point a palette index, the palette, and fills the legend."""
        n = len(self.vectors)
        name = self.colour_by.currentText()
        if self.points is None or name in ("", NO_COLOUR):
            self.legend.setVisible(False)
            return np.zeros(n, dtype=np.int64), [QBrush(PLAIN_COLOUR)]
        colours = self._colourings.get(name)
        if colours is None and name not in self._coded:  # still being read
            self.legend.setVisible(False)
            return np.zeros(n, dtype=np.int64), [QBrush(PLAIN_COLOUR)]
        if colours is None:
            colours = self._colourings[name] = colouring(self._coded[name])
        if colours.kind == "numeric":
            lookup = pg.colormap.get("viridis").getLookupTable(0.0, 1.0, SCALE_STEPS, alpha=False)
            scale = [QColor(*map(int, rgb)) for rgb in lookup]
            self.legend.show_scale(f"{name} (colour scale)", colours.low, colours.high, scale)
            return colours.codes, [QBrush(colour) for colour in scale] + [QBrush(OTHER_COLOUR)]
        entries = []
        for i, (label, count) in enumerate(zip(colours.labels, colours.counts)):
            colour = OTHER_COLOUR if label in (OTHER, MISSING) else QColor(CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)])
            entries.append((f"{label or '(empty)'}  ({count:,})", colour))
        self.legend.show_categories(name, entries)
        return colours.codes, [QBrush(colour) for _, colour in entries]

    def _recolour(self) -> None:
        if self.points is None or not len(self.plot.xy):
            return
        codes, palette = self._colours()
        self.plot.set_colours(codes, palette)

    def _relabel(self) -> None:
        if self.points is None or not self.label_by.count():
            return
        self.labels = self.column(self.label_by.currentText())
        self.plot.set_labels(self.labels)
        self._search()
        self._show_neighbours(self._last_neighbours if self.selected >= 0 else None)

    def _search(self) -> None:
        """Searches the labels on the query thread; the matches are ringed when found."""
        text = self.search_box.text()
        column = self._coded.get(self.label_by.currentText())
        if not text or column is None:  # nothing to find, or the labels are still being read
            self._searching = None
            self._found(np.zeros(0, dtype=np.int64), "")
            return
        job = self.queries.submit_latest(
            "search", "Search", call_job, search, column, text, self.regex.isChecked(), message="Searching the labels…"
        )
        self._searching = job
        job.succeeded.connect(
            lambda matches: job is self._searching
            and self._found(matches, f"{len(matches):,} match{'es' if len(matches) != 1 else ''}")
        )
        job.failed.connect(lambda error: job is self._searching and self._found(np.zeros(0, dtype=np.int64), str(error)))

    def _found(self, matches: np.ndarray, status: str) -> None:
        self.matches = matches
        self.search_status.setText(status)
        self.plot.set_highlights(self.selected, self.neighbours, self.matches)

    def _point_size_changed(self, size: int) -> None:
        self._store("point_size", size)
        self.plot.set_point_size(size)

    def _hovered(self, index: int) -> None:
        if index < 0 or self.points is None:
            self.hover_line.setText("")
            return
        row = index if self.shown is None else int(self.shown[index])
        fields = [f"{name}: {self.points.metadata[name][row]}" for name in self.points.columns]
        self.hover_line.setText(f"Point {row:,} · " + " · ".join(fields))

    # Selection and neighbours ------------------------------------------------------------------

    def select_point(self, index: int) -> None:
        """Selects a shown point (or clears the selection with -1) and looks up its neighbours."""
        self.selected = index if 0 <= index < len(self.vectors) else -1
        if self.selected < 0:
            self.neighbours = np.zeros(0, dtype=np.int64)
            self._show_neighbours(None)
            self.plot.set_highlights(-1, self.neighbours, self.matches)
            return
        self.plot.set_highlights(self.selected, self.neighbours, self.matches)
        self._find_neighbours()

    def _find_neighbours(self) -> None:
        self._store("k", self.k.value())
        self._store("distance", self.distance.currentText())
        if self.selected < 0:
            return
        job = self.queries.submit_latest(
            "neighbours", "Nearest neighbours", self._neighbours_job, self.selected, self.k.value(), self.distance.currentText()
        )
        job.succeeded.connect(self._show_neighbours)
        job.failed.connect(lambda error: self.selected_label.setText(f"Neighbours could not be found: {error}"))

    def _neighbours_job(self, index: int, k: int, metric: str):
        from inspector.embeddings.neighbours import NeighbourIndex

        yield Progress("Finding nearest neighbours…")
        if self._index is None or self._index.vectors is not self.vectors:
            self._index = NeighbourIndex(self.vectors)
        indices, distances = self._index.query(index, k, metric)
        return index, indices, distances

    def _show_neighbours(self, found) -> None:
        self._last_neighbours = found
        self.neighbour_table.setRowCount(0)
        if found is None:
            self.selected_label.setText("Click a point to select it.")
            return
        index, indices, distances = found
        if index != self.selected:
            return  # an answer for an earlier selection
        self.neighbours = indices
        self.selected_label.setText(f"Selected: {self.labels[index] or '(no label)'} (point {self._row(index):,})")
        self.neighbour_table.setRowCount(len(indices))
        for row, (i, distance) in enumerate(zip(indices, distances)):
            self.neighbour_table.setItem(row, 0, QTableWidgetItem(self.labels[int(i)]))
            item = QTableWidgetItem(f"{float(distance):.4g}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.neighbour_table.setItem(row, 1, item)
        self.plot.set_highlights(self.selected, self.neighbours, self.matches)

    def _row(self, index: int) -> int:
        return index if self.shown is None else int(self.shown[index])

    # Export ------------------------------------------------------------------------------------

    def export_tsv(self, folder: str | Path | None = None) -> Path | None:
        """Writes ``vectors.tsv`` and ``metadata.tsv`` for every point (not only the sample).

        Args:
            folder: Where; asks the user when ``None``.

        Returns:
            The vectors file, or ``None`` if the user cancelled.
        """
        from inspector.embeddings.embedding_data import write_projector_tsv

        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder for vectors.tsv and metadata.tsv", self.folders.start("export"))
            if not folder:
                return None
            existing = [name for name in ("vectors.tsv", "metadata.tsv") if (Path(folder) / name).exists()]
            if existing and QMessageBox.question(self, "Replace files?", f"Replace {' and '.join(existing)} in {folder}?") != QMessageBox.StandardButton.Yes:
                return None
        folder = Path(folder)
        self.folders.remember("export", folder)
        vectors, metadata = folder / "vectors.tsv", folder / "metadata.tsv"
        job = self.queries.submit("Export TSV", call_job, write_projector_tsv, self.points, vectors, metadata, message="Writing files…")
        job.succeeded.connect(lambda _: self.status.emit(f"Wrote {vectors} and {metadata.name}"))
        job.failed.connect(lambda error: self._finished(f"Could not write {vectors}: {error}", error=True))
        return vectors

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        """Writes the projected coordinates of the shown points with their metadata.

        Args:
            path: The CSV file; asks the user when ``None``.

        Returns:
            The file, or ``None`` if there is nothing to write or the user cancelled.
        """
        from inspector.embeddings.embedding_data import write_coordinates_csv

        if self.projection is None:
            return None
        if path is None:
            default = str(Path(self.folders.start("export")) / f"{self.projection.method.lower()}_coordinates.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Export coordinates", default, "CSV (*.csv)")
            if not path:
                return None
        path = Path(path)
        self.folders.remember("export", path.parent)
        projection = self.projection
        job = self.queries.submit(
            "Export CSV",
            call_job,
            write_coordinates_csv,
            path,
            self.points,
            projection.coords,
            projection.axis_names,
            self.shown,
            message="Writing files…",
        )
        job.succeeded.connect(lambda _: self.status.emit(f"Wrote {path}"))
        job.failed.connect(lambda error: self._finished(f"Could not write {path}: {error}", error=True))
        return path

    def export_png(self, path: str | Path | None = None) -> Path | None:
        """Saves the plot as a PNG image.

        Args:
            path: The file; asks the user when ``None``.

        Returns:
            The file, or ``None`` if the user cancelled or it could not be written.
        """
        if path is None:
            start = Path(self.folders.start("export")) / "embedding.png"
            path, _ = QFileDialog.getSaveFileName(self, "Export plot", str(start), "PNG (*.png)")
            if not path:
                return None
        path = Path(path)
        self.folders.remember("export", path.parent)
        if not self.plot.grab_plot().save(str(path), "PNG"):
            self._finished(f"Could not write {path}.", error=True)
            return None
        self.status.emit(f"Wrote {path}")
        return path

    # Settings and life cycle -------------------------------------------------------------------

    def _setting(self, key: str, default):
        if self.settings is None:
            return default
        value = self.settings.value(f"{SETTINGS_GROUP}/{key}")
        return default if value is None else value

    def _store(self, key: str, value) -> None:
        if self.settings is not None:
            self.settings.setValue(f"{SETTINGS_GROUP}/{key}", value)

    @property
    def busy(self) -> bool:
        """Whether a projection is running."""
        return self._job is not None

    def shutdown(self) -> None:
        """Stops the panel's projection and its threads (the shared projection process stays
        for the other views)."""
        self.cancel()
        self.runner.shutdown(2000)
        self.queries.shutdown(2000)


def _result_text(projection, points: int, waited: float) -> str:
    """What a finished projection took: the wait from Run to result, and the compile part of it."""
    text = f"{projection.method} of {points:,} points in {waited:.1f} s"
    if projection.compile_seconds >= COMPILE_SHOWN_SECONDS:
        text += f", {projection.compile_seconds:.1f} s of it compiling UMAP's numba code (needed once)"
    return text + "."
