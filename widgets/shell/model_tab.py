"""One open model: loading it in the background, then its graph, layers, variables and details."""

from __future__ import annotations

import dataclasses
import shutil
from functools import partial
from pathlib import Path
from typing import Generator

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QFileDialog,
)

from inspector.errors import KernelDied, ModelLoadError, SaveError
from inspector.helper_process import in_helper_process
from inspector.jobs import MODEL, SESSION
from inspector.kernel.location import LOCAL, KernelLocation
from inspector.kernel.place import KernelPlace, place_job
from inspector.kernel.uploads import FileUpload, write_atomically
from inspector.kernel.session import edit_job, open_job, recompile_job, save_job, save_lora_job, state_job
from inspector.model.config_graph import GraphPreview, preview_job
from inspector.model.jobs import variable_stats_job, variable_values_job
from inspector.model.lora import LORA_CLASSES, LORA_SUFFIX
from inspector.model.model_info import ModelInfo
from inspector.model.trainable_state import apply_state, lora_params
from widgets.activations.activations_panel import ActivationsPanel
from widgets.common.paths import MODEL_FILTER
from widgets.model.details_panel import DetailsPanel
from widgets.common.error_reporting import log, show_error
from widgets.model.graph_view import GraphView
from widgets.common.job_runner import Job, JobRunner
from widgets.common.kernel_runner import KernelRunner
from widgets.shell.kernel_banner import KernelBanner
from widgets.shell.refusal_page import RefusalPage, ask_to_run_code
from widgets.model.layer_tree import LayerTree
from widgets.model.lora_dialog import LoraDialog
from widgets.common.lazy_page import LazyPage
from widgets.common.panes import CONTROLS_SPLITTER, RememberedSplitter
from widgets.common.time_slices import TimeSlicedRun, paint_in_turns
from widgets.embeddings.embedding_panel import EmbeddingPanel
from widgets.embeddings.embedding_plot import EmbeddingPlot
from widgets.embeddings.embedding_sources import ModelEmbeddingSources
from widgets.training.training_panel import TrainingCurves, TrainingPanel
from widgets.training.weight_change_view import WeightChangeView
from widgets.model.variables_view import VariablesView


STATS_DELAY_MS = 300
LIVE_VIEWS = (1, 2, 3, 4)
"""The views (by tab index) that need the loaded model: off while only its preview is drawn."""
EDIT_JOB = "Change trainable flags"
"""The name of trainable edits, which may queue behind each other in the kernel."""
STATS_JOB = "Variable statistics"
PLACE_JOB = "Where the kernel runs"
QUEUEING_JOBS = frozenset({EDIT_JOB, STATS_JOB, PLACE_JOB})
"""Jobs a user's action may queue behind rather than be refused for: trainable edits, and the
short read-only jobs the tab starts by itself after a load (the kernel runs jobs in order)."""
SIZES_KEY = "tab/sizes"
"""Settings group of the layer list | view | details sizes, one entry per view."""
CONTROLS_KEY = "tab/controls"
"""Settings group of the controls | results sizes of the views that have controls."""
VIEW_NAMES = ("graph", "variables", "activations", "training", "embeddings")
"""The views in tab order, as named in the settings."""
SIDE_PANELS = {
    "graph": ((0.2, 220, 320), (0.24, 280, 380)),
    "variables": ((0.15, 180, 260), (0.17, 220, 300)),
}
"""Starting widths of the layer list and the details panel in each view, as (share of the tab's
width, smallest, largest); the views with controls give both less room."""
NARROW_SIDE_PANELS = ((0.12, 150, 200), (0.13, 170, 240))


class BusyPage(QWidget):
    """What a tab shows while its model loads: the step, a busy bar and Cancel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.message = QLabel("Loading…")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(360)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelLoad")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(self.bar, alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.cancel, alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)


LAYER_COLOURINGS = {
    "none": "Nothing",
    "params": "Parameters",
    "trainable_params": "Trainable Parameters",
    "weight_norm": "Weight Norm",
    "weight_change_file": "Weight Change Since the File",
    "weight_change_checkpoint": "Weight Change Against a Checkpoint…",
    "mean_activation": "Mean Activation (Last Extraction)",
    "dead_fraction": "Dead Units (Last Extraction)",
    "bn_shift": "BatchNormalization Shift (Last Audit)",
    "gradient_norm": "Gradient Norm on One Training Batch",
    "quantized_size": "Quantized Size Against float32",
}
"""What View ▸ Colour Layers By offers, by key."""


class ModelTab(QWidget):
    """A tab holding one model file, from loading to inspection.

    The model lives in this tab's kernel process; every job on it runs there, one at a time,
    through the tab's :class:`KernelRunner`. The tab keeps the model's description and a
    journal of the trainable edits made since the last save, so that when the kernel dies the
    views stay and a restart reopens the file and re-applies the edits.

    Args:
        path: The model file.
        settings: Where the panel sizes are remembered (not remembered when ``None``).
        parent: The owning widget.
        location: Where the model's kernel runs (this computer, or a Ray cluster).
        on_cluster: ``path`` is a file on the Ray cluster's side; otherwise a file of this
            computer, uploaded to a kernel on a cluster and downloaded again when saved.

    Signals:
        loaded(): The model was opened and is shown.
        failed(str): The file could not be opened; the text is the reason.
        close_requested(): The user asked to close this tab (Cancel or Close tab).
        status(str): A line for the status bar.
        state_changed(): Trainable flags, the undo history, "modified" or "needs recompile"
            changed.
        build_requested(str, str): The user asked for a new model from a layer; carries the
            layer path and ``"head"`` (new head) or ``"replace_output"``.
        compared(object): A comparison window opened (File ▸ Compare With…).
    """

    loaded = Signal()
    failed = Signal(str)
    close_requested = Signal()
    status = Signal(str)
    compared = Signal(object)
    state_changed = Signal()
    build_requested = Signal(str, str)

    def __init__(
        self,
        path: str | Path,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        location: KernelLocation = LOCAL,
        on_cluster: bool = False,
    ):
        super().__init__(parent)
        self.path = Path(path) if on_cluster else Path(path).expanduser().absolute()
        self.settings = settings
        self.on_cluster = on_cluster and location.remote
        self.place: KernelPlace | None = None  # where the kernel runs, once it said so
        self.runner = KernelRunner(location=location, parent=self)
        self.runner.died.connect(self._kernel_died)
        self.runner.unresponsive.connect(self._job_unresponsive)
        self._previewer = JobRunner(parent=self)  # waits for the helper process's preview of the graph
        self.info = None
        self.error: Exception | None = None
        self._custom_code: list[str] = []
        self._notes: list[str] = []
        self._allow_code = False
        self._built_file: Path | None = None  # a built model's temporary file, until saved
        self.state = None  # the model's TrainableState, as the kernel last reported it
        self.journal: list[tuple[str, tuple]] = []  # trainable edits since the last save
        self.diff_views: list = []  # comparison windows opened from this tab (File ▸ Compare With…)
        self._load_job: Job | None = None
        self._preview: GraphPreview | None = None  # drawn while Keras loads the model
        self._building: TimeSlicedRun | None = None
        self._description: ModelInfo | None = None  # came ahead of the open's result
        self._filled: ModelInfo | None = None  # put into the layer list and variables already
        self._closed = False
        self._content: TimeSlicedRun | None = None
        self.warnings: dict[str, str] = {}
        self.unsaved = False  # a built model that has no file yet
        self.weights_modified = False  # trained (or restored) since the last save

        self.banner = KernelBanner(remote=location.remote)
        self.banner.restart.clicked.connect(self.restart_kernel)
        self.banner.stop.clicked.connect(self.runner.stop_kernel)
        self.banner.cancel.clicked.connect(self.cancel_load)
        self.busy_page = BusyPage()
        self.error_page = RefusalPage()
        self.content = QWidget()
        self.stack = QStackedWidget()
        for page in (self.busy_page, self.error_page, self.content):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack)

        self.busy_page.cancel.clicked.connect(self.cancel_load)
        self.error_page.retry.clicked.connect(lambda: self.open())
        self.error_page.close_tab.clicked.connect(self.close_requested)
        self.error_page.allow_code.clicked.connect(self._open_with_code)
        self.error_page.choose_code.clicked.connect(self._choose_custom_code)

    def _content_steps(self) -> Generator[None, None, None]:
        """Creates the inspection views, one per step (each takes tens of milliseconds)."""
        self.layer_tree = LayerTree()
        yield
        self.graph = GraphView()
        yield
        self.variables = VariablesView()
        yield
        self.details = DetailsPanel()
        self.details.value_text = self.graph.value_text
        yield
        self.find_bar = QLineEdit()
        self.find_bar.setObjectName("findLayer")
        self.find_bar.setPlaceholderText("Find layer by name (Enter: next match)")
        self.find_bar.setClearButtonEnabled(True)
        self.find_status = QLabel()
        self.find_bar.textChanged.connect(self._find_changed)
        self.find_bar.returnPressed.connect(self.find_next)

        graph_page = QWidget()
        graph_layout = QVBoxLayout(graph_page)
        graph_layout.setContentsMargins(0, 0, 0, 0)
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_bar, 1)
        find_row.addWidget(self.find_status)
        graph_layout.addLayout(find_row)
        graph_layout.addWidget(self.graph, 1)

        self.views = QTabWidget()
        self.views.setObjectName("modelViews")
        self.views.addTab(graph_page, "Graph")
        self.views.addTab(self.variables, "Variables")
        self._pages = {
            "activations": LazyPage(self._make_activations),
            "training": LazyPage(self._make_training),
            "embeddings": LazyPage(self._make_embeddings),
        }
        for name, page in self._pages.items():
            self.views.addTab(page, name.capitalize())

        self.splitter = RememberedSplitter(_panel_sizes(VIEW_NAMES[0]), self.settings)
        self.splitter.setObjectName("modelSplitter")
        self.splitter.addWidget(self.layer_tree)
        self.splitter.addWidget(self.views)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.use_key(_sizes_key(VIEW_NAMES[0]))
        self._remember_controls(graph_page, "graph")
        self._remember_controls(self.variables, "variables")
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.views.currentChanged.connect(self._view_changed)

        self.graph.layer_selected.connect(self.select_layer)
        self.layer_tree.layer_selected.connect(self.select_layer)
        self.variables.variable_selected.connect(self._load_values)
        self.graph.layer_context_menu.connect(self._layer_menu)
        self.layer_tree.layer_context_menu.connect(self._layer_menu)
        self.details.trainable_requested.connect(self.set_trainable)
        self.graph.trainable_toggle_requested.connect(self.toggle_trainable)

    def _remember_controls(self, view: QWidget, name: str) -> None:
        """Lets the controls-and-results splitter of a view remember its sizes, if it has one."""
        controls = view.findChild(QSplitter, CONTROLS_SPLITTER, Qt.FindChildOption.FindDirectChildrenOnly)
        if controls is not None:
            controls.settings = self.settings
            controls.use_key(f"{CONTROLS_KEY}/{name}")

    # The views made when first shown or used ----------------------------------------------------

    @property
    def activations(self) -> ActivationsPanel:
        """The Activations view (made now if it has not been)."""
        return self._pages["activations"].widget

    @property
    def training(self) -> TrainingPanel:
        """The Training view (made now if it has not been)."""
        return self._pages["training"].widget

    @property
    def embeddings(self) -> EmbeddingPanel:
        """The Embeddings view (made now if it has not been)."""
        return self._pages["embeddings"].widget

    @property
    def embedding_sources(self) -> ModelEmbeddingSources:
        """The model's layers and extracted outputs as the Embeddings view's sources."""
        self._pages["embeddings"].make()  # the sources are made with the view
        return self._embedding_sources

    def _made(self, name: str):
        """A lazily made view, or None when it has not been made (or the tab has no views yet)."""
        pages = getattr(self, "_pages", None)
        return pages[name].made if pages is not None else None

    @property
    def current_view(self) -> str:
        """The name (in :data:`VIEW_NAMES`) of the view shown."""
        return VIEW_NAMES[self.views.currentIndex()]

    def show_view(self, name: str) -> None:
        """Shows one of the views, by its name in :data:`VIEW_NAMES`."""
        self.views.setCurrentIndex(VIEW_NAMES.index(name))

    def _make_activations(self) -> ActivationsPanel:
        panel = ActivationsPanel(self.runner.submit, self.runner.submit_latest, self.settings)
        panel.status.connect(self.status)
        panel.send_to_embeddings.connect(self._plot_activations)
        self._remember_controls(panel, "activations")
        self._point_at_model("activations", panel)
        return panel

    def _make_training(self) -> TrainingPanel:
        changes = WeightChangeView(settings=self.settings)
        panel = TrainingPanel(self.runner.submit, self.runner.submit_latest, self.settings, curves=TrainingCurves(), changes=changes)
        panel.status.connect(self.status)
        panel.weights_changed.connect(self._weights_changed)
        panel.layer_values.connect(lambda values: self._colour_graph(values, "relative weight change", show=False))
        changes.layer_selected.connect(self.select_layer)
        panel.trained.connect(lambda _: self._refresh_state())
        self._remember_controls(panel, "training")
        self._point_at_model("training", panel)
        return panel

    def _make_embeddings(self) -> EmbeddingPanel:
        panel = EmbeddingPanel(self.settings, plot=EmbeddingPlot())
        panel.status.connect(self.status)
        self._embedding_sources = ModelEmbeddingSources(self.runner.submit, self.settings)
        self._embedding_sources.points_ready.connect(panel.set_points)
        self._embedding_sources.failed.connect(panel.show_error)
        self._embedding_sources.ready.connect(self._plot_first_embedding)
        panel.add_source(self._embedding_sources)
        self._remember_controls(panel, "embeddings")
        self._point_at_model("embeddings", panel)
        return panel

    def _point_at_model(self, name: str, view) -> None:
        """Points a lazily made view at the kernel's model, once the model has loaded."""
        if self.info is None:
            return
        if name == "activations":
            view.set_model(MODEL, self.path, remote=self.runner.location.address)
        elif name == "training":
            view.set_model(MODEL, self.path, remote=self.runner.location.address)
        else:
            self._embedding_sources.set_model(MODEL, self.path)

    # Loading -----------------------------------------------------------------------------------

    def open(self, *, allow_code: bool = False) -> Job:
        """Starts loading the file in the background (again, after a failure).

        Args:
            allow_code: The user confirmed that Python code stored in the file may run.

        Returns:
            The load job.
        """
        self.error = None
        self._allow_code = allow_code
        self._preview = None
        self._description = self._filled = None
        self.busy_page.message.setText(f"Loading {self.path.name}…")
        self.stack.setCurrentWidget(self.busy_page)
        if not self.runner.alive:
            self.runner.restart()
        job = self._submit_open()
        job.progress.connect(self._load_progress)
        job.succeeded.connect(self._loaded)
        job.failed.connect(self._load_failed)
        self._load_job = job
        preview = self._previewer.submit_latest("preview", "Preview", in_helper_process, preview_job, self._built_file or self.path)
        preview.succeeded.connect(lambda result: self._show_preview(result) if result is not None else None)
        if self._content is None:  # built in slices while the model loads in the background
            self._content = TimeSlicedRun(self._content_steps(), parent=self)
            self._content.start()
        return job

    def _submit_open(self) -> Job:
        file, origin = self._built_file or self.path, None
        if self.runner.location.remote and not self.on_cluster:
            file, origin = FileUpload(file), str(self.path)
        job = self.runner.submit(
            f"Open {self.path.name}",
            open_job,
            SESSION,
            file,
            allow_code=self._allow_code,
            custom_code=tuple(self._custom_code),
            notes=tuple(self._notes),
            origin=origin,
            description_ahead=True,
        )
        place = self.runner.submit(PLACE_JOB, place_job)
        place.succeeded.connect(self._placed)
        return job

    def _placed(self, place: KernelPlace) -> None:
        self.place = place
        self.state_changed.emit()

    @property
    def kernel_text(self) -> str:
        """Where this tab's kernel runs, for the status bar."""
        where = "this computer" if not self.runner.location.remote else self.runner.location.address
        if not self.runner.alive:
            return f"Kernel: stopped ({where})"
        if self.place is None:
            return f"Kernel: starting on {where}"
        return f"Kernel: {where} · {self.place.text()}"

    def open_built(self, file: Path, source_name: str) -> Job:
        """Opens a model built from another tab's (saved by that tab's kernel to a temporary
        file) as a new, unsaved model; :attr:`path` is where Save As proposes to save it.

        Args:
            file: The temporary ``.keras`` file; it is kept for a restart until the model is
                saved or the tab closed.
            source_name: The model it was built from, for the description's notes.
        """
        self.unsaved = True
        self._built_file = Path(file)
        self._notes = [f"Built from {source_name}; not compiled yet."]
        return self.open()

    def _forget_built_file(self) -> None:
        if self._built_file is not None:
            shutil.rmtree(self._built_file.parent, ignore_errors=True)
            self._built_file = None

    def cancel_load(self) -> None:
        """Stops waiting for the model and asks to close the tab."""
        if self._load_job is not None:
            self._load_job.cancel()
        self.close_requested.emit()

    @property
    def is_loaded(self) -> bool:
        """Whether the model is open and shown."""
        return self.info is not None

    def _load_progress(self, progress) -> None:
        self.busy_page.message.setText(progress.message)
        self.status.emit(progress.message)
        if isinstance(progress.payload, ModelInfo):
            self._described(progress.payload)

    def _described(self, info: ModelInfo) -> None:
        """Takes the description that comes ahead of the open's result: while the kernel lays
        out the graph, the layer list and the variables of the preview drawn fill in."""
        self._description = info
        drawn = self._preview is not None and self._building is not None and self._building.done
        if drawn and self._preview.info.graph.same_structure(info.graph):
            self._building = TimeSlicedRun(self._fill_live(info), parent=self)
            self._building.start()

    def _fill_live(self, info: ModelInfo) -> Generator[None, None, None]:
        """Puts the loaded model's layers and variables into the views that show its preview."""
        yield from self.layer_tree.fill_steps(info)
        yield from self.variables.set_model_steps(info)
        self._filled = info

    def _show_preview(self, preview: GraphPreview) -> None:
        """Draws the graph from the file's configuration while Keras loads the model."""
        if self._load_job is None or self._closed:
            return  # loaded (or failed) first
        self._preview = preview
        self.busy_page.message.setText(f"Drawing {self.path.name}…")
        self._building = TimeSlicedRun(self._after_content(self._build_views(preview.info, preview.layout)), parent=self)
        self._building.finished.connect(self._preview_shown)
        self._building.start()

    def _preview_shown(self) -> None:
        if self.info is not None or self._load_job is None:
            return  # loaded (or failed) while the preview was drawn
        paint_in_turns(self, self._show_preview_page, self._big_views())

    def _big_views(self) -> tuple[QWidget, ...]:
        """The views whose paint takes several milliseconds each for a big model."""
        return self.layer_tree, self.views, self.details

    def _show_preview_page(self) -> None:
        for index in LIVE_VIEWS:
            self.views.setTabEnabled(index, False)
            self.views.setTabToolTip(index, "Available when Keras has loaded the model")
        self.banner.show_loading(
            f"Keras is loading {self.path.name}. The graph is drawn from the file's configuration; "
            "parameter counts, variables, freezing and the other views come when it has loaded."
        )
        self.stack.setCurrentWidget(self.content)

    def _loaded(self, opened) -> None:
        self._load_job = None
        if opened.info is None:  # it came ahead
            opened.info, self._description = self._description, None
        if self.unsaved:  # built in this session: its temporary file is not its file
            opened.info.file, opened.info.format = None, None
        if self._building is not None and not self._building.done:  # the preview is still being drawn
            self._building.finished.connect(lambda: self._build_live(opened))
        else:
            self._build_live(opened)

    def _build_live(self, opened) -> None:
        if self._preview is not None and self._preview.info.graph.same_structure(opened.info.graph):
            steps = self._refresh_views(opened)
        else:
            self.busy_page.message.setText(f"Drawing {self.path.name}…")
            steps = self._build_views(opened.info, opened.layout)
        self._building = TimeSlicedRun(self._after_content(steps), parent=self)
        self._building.finished.connect(lambda: self._show_model(opened))
        self._building.start()

    def _after_content(self, steps: Generator) -> Generator[None, None, None]:
        """``steps``, after what is left of creating the views, in one sliced run: the views
        still being created when the preview or the model arrives are not created in one go."""
        yield from self._content.hand_over()
        yield from steps

    def _build_views(self, info, layout) -> Generator[None, None, None]:
        """Fills the views a slice at a time, so a big model does not freeze the window."""
        yield from self.layer_tree.set_model_steps(info)
        yield from self.graph.set_model_steps(info, layout)
        yield from self.variables.set_model_steps(info)
        yield
        self.details.set_model(info)

    def _refresh_views(self, opened) -> Generator[None, None, None]:
        """Puts the loaded model's description into the views that show its preview, keeping the
        graph's items, what is selected and where the user has panned."""
        if self._filled is not opened.info:
            yield from self._fill_live(opened.info)
        self._filled = None
        yield from self.graph.refresh_model_steps(opened.info, opened.layout)
        yield
        self.details.refresh(opened.info)

    def _show_model(self, opened) -> None:
        self.info = opened.info
        self.state = opened.state
        for name, page in self._pages.items():
            if page.made is not None:
                self._point_at_model(name, page.made)
        self.warnings = opened.warnings or {}
        if self.warnings:
            self.graph.refresh_states(self.info, self.warnings)
            self.details.set_warnings(self.warnings)
        paint_in_turns(self, self._show_live_page, self._big_views())
        params = self.info.params
        self.status.emit(
            f"{self.path.name}: {params.total:,} params ({params.trainable:,} trainable, "
            f"{params.non_trainable:,} non-trainable)" + ("" if self.info.compiled else " · not compiled")
        )
        # Start the statistics once the views have been drawn, so both don't compete for the GIL.
        QTimer.singleShot(STATS_DELAY_MS, self._start_stats)
        self.loaded.emit()
        self.state_changed.emit()

    def _show_live_page(self) -> None:
        if self._preview is not None:
            self._preview = None
            self.banner.hide()
            for index in LIVE_VIEWS:
                self.views.setTabEnabled(index, True)
                self.views.setTabToolTip(index, "")
        self.stack.setCurrentWidget(self.content)

    def _start_stats(self) -> None:
        if self.state is None or self._closed:
            return
        stats = self._submit(STATS_JOB, variable_stats_job, MODEL)
        stats.progress.connect(lambda progress: self.variables.set_stats(progress.payload))
        # The next model to open finds TensorFlow imported. A spare kernel's start takes a core
        # for seconds: started sooner, it would compete with this model's first paints and statistics.
        stats.finished.connect(self.runner.replenish_pool)

    def _submit(self, name: str, job, *args, **kwargs) -> Job:
        """Queues a job on the model whose failure is reported to the user as a message."""
        handle = self.runner.submit(name, job, *args, **kwargs)
        handle.failed.connect(lambda error: self._job_failed(handle, error))
        return handle

    def _job_failed(self, job: Job, error: Exception) -> None:
        if isinstance(error, KernelDied):
            return  # the banner says so, once for all the jobs it took with it
        if isinstance(error, MemoryError):
            text = f"{job.name} ran out of memory. Close other tabs or programs and try again."
        else:
            text = f"{job.name} failed: {type(error).__name__}: {error}"
        log.error("%s failed for %s:\n%s", job.name, self.path, job.details)
        self.status.emit(text)
        show_error(self, f"{job.name} failed", text, job.details)

    def _load_failed(self, error: Exception) -> None:
        if not isinstance(error, ModelLoadError):
            details = getattr(self._load_job, "details", "") or f"{type(error).__name__}: {error}"
            log.error("Unexpected error opening %s:\n%s", self.path, details)
        self._load_job = None
        if self._preview is not None:
            self._preview = None
            self.banner.hide()
        self.error = error
        self.error_page.show_error(self.path, error)
        self.stack.setCurrentWidget(self.error_page)
        reason = error.reason if isinstance(error, ModelLoadError) else f"{type(error).__name__}: {error}"
        self.status.emit(f"Could not open {self.path.name}: {reason}")
        self.failed.emit(reason)

    def _open_with_code(self) -> None:
        if ask_to_run_code(self, self.path, getattr(self.error, "findings", ())):
            self.open(allow_code=True)

    def _choose_custom_code(self) -> None:
        file, _ = QFileDialog.getOpenFileName(
            self, "Python file that defines the custom classes (it will run)", str(self.path.parent), "Python (*.py)"
        )
        if file:
            self.use_custom_code(file)

    def use_custom_code(self, py_file: str | Path) -> None:
        """Retries with the classes of the user's Python file (the kernel imports it, running it)."""
        self._custom_code.append(str(py_file))
        self.open()

    # Trainable flags ---------------------------------------------------------------------------

    @property
    def editor(self):
        """The undo history and flags of the model's trainable editor
        (:class:`~inspector.model.trainable_state.EditorState`), or ``None`` before it is open."""
        return self.state.editor if self.state is not None else None

    @property
    def modified(self) -> bool:
        """Whether the model has changes that are not saved (a built model never saved has)."""
        return self.unsaved or self.weights_modified or (self.editor is not None and self.editor.modified)

    @property
    def needs_recompile(self) -> bool:
        """Whether trainable flags changed since the model was last compiled."""
        return self.editor is not None and self.editor.needs_recompile

    def forget_changes(self) -> None:
        """Treats the model as saved, so that closing the tab asks nothing (the changes stay in
        the kernel until it ends)."""
        self.unsaved = self.weights_modified = False
        self.journal.clear()
        if self.state is not None:
            self.state = dataclasses.replace(self.state, editor=dataclasses.replace(self.state.editor, modified=False))

    def save(self, path: str | Path, overwrite: bool) -> Job | None:
        """Saves the model in the background (atomically); the tab then shows ``path``.

        Args:
            path: A ``.keras`` (or ``.h5``) file.
            overwrite: The user agreed to replace an existing file.

        Returns:
            The save job (queued after the jobs already using the model), or ``None`` before the
            model is open.
        """
        if self.editor is None:
            return None
        download = self.runner.location.remote and not self.on_cluster
        job = self.runner.submit(f"Save {Path(path).name}", save_job, SESSION, Path(path), overwrite, download)
        job.progress.connect(self._load_progress)
        job.succeeded.connect(self._saved)
        job.failed.connect(self._save_failed)
        return job

    def _saved(self, saved) -> None:
        from inspector.model.saving import saved_format

        path, self.state, data = saved
        if data is not None:  # saved by a kernel on a Ray cluster: written here
            try:
                write_atomically(path, data)
            except OSError as exc:
                self._save_failed(SaveError(path, f"could not write the file: {exc.strerror or exc}"))
                return
        self.path = Path(path)
        self.unsaved = False
        self.weights_modified = False
        self.journal.clear()  # a restart reopens the saved file, which has these edits
        self._notes = []
        self._forget_built_file()
        self.info.file = str(self.path)
        self.info.format = saved_format(self.path)
        self.details.refresh(self.info)
        adapted = [layer.path for layer in self.info.layer_index().values() if layer.lora is not None]
        merged = (
            f"; Keras merged the LoRA matrices of {len(adapted)} layer{'s' if len(adapted) != 1 else ''} into their "
            "kernels (reopened, those layers have LoRA again with zero matrices; Model ▸ Save LoRA Weights… keeps them)"
            if adapted
            else ""
        )
        self.status.emit(f"Saved {self.path}{merged}")
        self.state_changed.emit()

    def _save_failed(self, error: Exception) -> None:
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        self.status.emit(f"Not saved: {reason}")
        show_error(self, "Could not save", f"The model was not saved: {reason}\n\nIt is still open, with its changes.")

    def recompile(self) -> Job | None:
        """Compiles the model again with its own configuration, in the background."""
        if not self._idle("recompiled"):
            return None
        job = self._submit("Recompile", recompile_job, SESSION)
        job.succeeded.connect(lambda state: (self._show_states(state), self.status.emit("Recompiled.")))
        return job

    def _refresh_state(self) -> None:
        """Asks the kernel for the trainable state (training compiled the model, say)."""
        if self.state is not None and self.runner.alive:
            self._submit("Trainable state", state_job, SESSION).succeeded.connect(self._show_states)

    def _idle(self, verb: str) -> bool:
        """Whether the model can be ``verb`` now: it is open, its kernel runs, and no job but
        those in :data:`QUEUEING_JOBS` is queued or running; otherwise tells the user why not."""
        if self.editor is None:
            return False
        if not self.runner.alive:
            text = f"The model cannot be {verb}: its process stopped. Restart it first (the bar above the views)."
            self.status.emit(text)
            show_error(self, "Model process stopped", text)
            return False
        if all(name in QUEUEING_JOBS for name in self.runner.job_names()):
            return True
        text = (
            f"The model cannot be {verb} while a job uses it "
            f"({', '.join(self.runner.job_names())}). Try again when it has finished."
        )
        self.status.emit(text)
        show_error(self, "Model busy", text)
        return False

    def set_trainable(self, path: str, trainable: bool) -> bool:
        """Freezes (``False``) or unfreezes (``True``) a layer and everything inside it, or
        every layer of a block of the graph (one edit, undone at once)."""
        block = self.graph.block(path)
        return self._change("set_trainable", [c.path for c in block.children] if block else [path], trainable)

    def toggle_trainable(self, path: str) -> bool:
        """Freezes a layer (or block) that has trainable weights, and unfreezes one that has none."""
        if self.info is None:
            return False
        layer = self.graph.block(path) or self.info.layer_index()[path]
        return self.set_trainable(path, layer.trainable_params == 0)

    def freeze_up_to(self, path: str) -> bool:
        """Freezes every layer before ``path`` and unfreezes it and the layers after it."""
        return self._change("freeze_up_to", path)

    def set_all_trainable(self, trainable: bool) -> bool:
        """Freezes or unfreezes the whole model."""
        return self._change("set_all", trainable)

    def enable_lora(self, path: str) -> bool:
        """Asks for a rank and alpha and adds LoRA adapters to a layer, a nested model or a block
        of the graph, and to every layer inside it that can take one (one undoable edit)."""
        if self.info is None:
            return False
        block = self.graph.block(path)
        paths = [child.path for child in block.children] if block else [path]
        layer = None if block else self.info.layer_index()[path]
        # A layer of another class with weights holds the layers that take adapters (KerasHub's
        # TransformerEncoder holds its attention's EinsumDense layers): the kernel adapts those.
        holder = layer is None or layer.kind in ("model", "wrapper") or (layer.class_name not in LORA_CLASSES and layer.params > 0)
        dialog = LoraDialog(f"{block.name} ({len(paths)} layers)" if block else path, holder, self.settings, self)
        if dialog.exec() != LoraDialog.DialogCode.Accepted:
            return False
        choice = dialog.choice()
        return self._change("enable_lora", paths, choice.rank, choice.alpha, choice.freeze_rest)

    def save_lora_weights(self) -> bool:
        """Asks where and writes the LoRA matrices alone (``.lora.h5``), in the background."""
        if self.info is None or not lora_params(self.info, trainable_only=False):
            self.status.emit("No layer has LoRA: enable LoRA on a layer first (Model ▸ Enable LoRA…).")
            return False
        proposed = self.path.parent / f"{self.path.stem}{LORA_SUFFIX}"
        file, _ = QFileDialog.getSaveFileName(self, "Save LoRA weights", str(proposed), f"LoRA weights (*{LORA_SUFFIX})")
        if not file:
            return False
        if not file.endswith(LORA_SUFFIX):
            file = file.removesuffix(".h5") + LORA_SUFFIX
        job = self._submit("Save LoRA weights", save_lora_job, SESSION, file)
        job.succeeded.connect(lambda saved: self.status.emit(saved.text(file)))
        return True

    def load_lora_weights(self) -> bool:
        """Asks for a ``.lora.h5`` file and loads its LoRA matrices into the model (adding the
        adapters it needs, as one undoable edit)."""
        if self.info is None:
            return False
        file, _ = QFileDialog.getOpenFileName(self, "Load LoRA weights", str(self.path.parent), f"LoRA weights (*{LORA_SUFFIX} *.h5)")
        return bool(file) and self._change("load_lora", file)

    def _colour_graph(self, values: dict[str, float] | None, label: str = "", *, show: bool = True) -> None:
        """Colours the graph's layers by ``values`` (``None``: their normal look), brings the
        details of the selected layer up to date (they name its value) and, when ``show``,
        brings the graph to the front."""
        self.graph.set_layer_values(values, label)
        if self.details.layer is not None:
            self.details.show_layer(self.details.layer.path, self.graph.block(self.details.layer.path))
        if show:
            self.views.setCurrentIndex(0)  # the graph

    def colour_layers_by(self, key: str) -> None:
        """Colours the graph's layers by a value (a key of :data:`LAYER_COLOURINGS`), with its
        legend; the value is on every node and in its tooltip. Values the kernel computes colour
        the graph when they arrive; a value that needs an earlier step says which."""
        from inspector.kernel.session import weight_norms_job

        if self.info is None:
            return
        label = LAYER_COLOURINGS[key].lower().split(" (")[0]
        if key == "none":
            self._colour_graph(None)
        elif key in ("params", "trainable_params"):
            layers = self.info.layer_index().items()
            self._colour_graph({p: float(getattr(layer, key)) for p, layer in layers if not layer.children}, label)
        elif key == "weight_norm":
            self._submit("Weight norms", weight_norms_job, SESSION).succeeded.connect(lambda values: self._colour_graph(values, label))
        elif key.startswith("weight_change"):
            self._colour_by_change(key == "weight_change_checkpoint")
        elif key == "gradient_norm":
            self._colour_by_gradients()
        elif key == "quantized_size":
            quantized = {p: layer.quantization for p, layer in self.info.layer_index().items() if layer.quantization is not None}
            if not quantized:
                self.status.emit("No layer of this model is quantized (Model ▸ Quantize a Copy… makes a quantized copy).")
                return
            self._colour_graph({p: q.bytes / q.float32_bytes for p, q in quantized.items() if q.float32_bytes}, "quantized size / float32 size")
        elif key == "bn_shift":
            training = self._made("training")
            shifts = training.bn_shifts if training is not None else None
            if not shifts:
                self.status.emit("Audit BatchNormalization in the Training view first (Weight change ▸ Audit); its scores colour the graph.")
                return
            self._colour_graph({shift.layer: shift.score for shift in shifts}, "BatchNormalization shift score")
        else:
            activations = self._made("activations")
            values = activations.layer_statistics(key) if activations is not None else None
            if not values:
                self.status.emit("Extract some layers' outputs in the Activations view first; their statistics colour the graph.")
                return
            self._colour_graph(values, label)

    def _colour_by_gradients(self) -> Job | None:
        """Colours the layers by the norm of the loss gradient of their trainable variables on
        one batch of the data chosen in the Training view (computed in the kernel)."""
        from inspector.kernel.session import gradient_norms_job

        training = self._made("training")
        editor = training.data_editor if training is not None else None
        source = editor.source() if editor is not None else None
        if source is None:
            self.status.emit("Choose the training data in the Training view first; one batch of it gives the gradients.")
            return None
        job = self._submit("Gradient norms", gradient_norms_job, SESSION, partial(source, batch_size=training.batch_size.value()))
        job.progress.connect(lambda progress: self.status.emit(progress.message))
        job.succeeded.connect(lambda values: self._colour_graph(values, "gradient norm on one batch"))
        return job

    def _colour_by_change(self, ask: bool) -> Job | None:
        """Colours the layers by the relative change of their weights between the open model and
        its file or a checkpoint the user chooses, measured as the Training view's comparison
        measures it (:func:`~inspector.training.weight_change.compare_files_job`, in the kernel)."""
        from inspector.training.weight_change import compare_files_job

        if ask:
            file, _ = QFileDialog.getOpenFileName(self, "Compare the weights with", str(self.path.parent), MODEL_FILTER)
            if not file:
                return None
            then = Path(file)
        else:
            then = self.path
        on_kernel_side = self.on_cluster and not ask  # the tab's own file, already on the cluster
        other = FileUpload(then) if self.runner.location.remote and not on_kernel_side else then
        job = self._submit(f"Weight change against {then.name}", compare_files_job, MODEL, other)
        job.succeeded.connect(
            lambda comparison: self._colour_graph(
                {change.layer: change.relative for change in comparison.changes}, f"weight change against {then.name}"
            )
        )
        return job

    def compare_with(self, file: str | Path) -> Job | None:
        """Compares this model (with its unsaved edits) with another model file, in this model's
        kernel, and opens the comparison in a window of its own: both graphs side by side with
        the statuses drawn, the layer list and the variables; its selection follows into this
        tab (:attr:`diff_views` keeps the windows open)."""
        from inspector.kernel.session import compare_job
        from widgets.model.model_diff_view import ModelDiffView

        if self.info is None:
            return None
        file = Path(file).expanduser().absolute()
        other = FileUpload(file) if self.runner.location.remote else file
        job = self._submit(f"Compare with {file.name}", compare_job, SESSION, other, str(file))
        job.progress.connect(lambda progress: self.status.emit(progress.message))

        def show(comparison) -> None:
            diff = comparison.diff
            view = ModelDiffView(comparison)
            view.layer_selected.connect(self.select_layer)
            self.diff_views.append(view)
            view.destroyed.connect(lambda *_: self.diff_views.remove(view) if view in self.diff_views else None)
            view.show()
            counts = diff.summary
            self.status.emit(f"{self.path.name} against {file.name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
            self.compared.emit(view)

        job.succeeded.connect(show)
        return job

    def compare_quantized(self, file: Path, copy_name: str, specs: list, sources: dict) -> None:
        """Compares this model with its quantized copy ``file`` on the user's inputs, in the
        background, and shows sizes, time per batch and per-output differences."""
        from inspector.activations.model_comparison import compare_job
        from widgets.model.quantize_dialog import comparison_html

        copy = FileUpload(file) if self.runner.location.remote else file
        job = self._submit("Compare with the quantized copy", compare_job, MODEL, copy, specs, sources)
        job.progress.connect(lambda progress: self.status.emit(progress.message))

        def show(comparison) -> None:
            worst = max((o.max_abs_diff for o in comparison.outputs), default=0.0)
            self.status.emit(f"{copy_name} against {self.path.name}: largest output difference {worst:.3g}")
            box = QMessageBox(QMessageBox.Icon.Information, "Quantized copy against the original", "", QMessageBox.StandardButton.Ok, self)
            box.setObjectName("quantizeComparison")
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(comparison_html(comparison, self.path.name, copy_name))
            box.open()

        job.succeeded.connect(show)

    def undo(self) -> bool:
        """Undoes the last trainable change."""
        return self.editor is not None and self.editor.can_undo and self._change("undo", verb="Undid: ")

    def redo(self) -> bool:
        """Redoes the last undone trainable change."""
        return self.editor is not None and self.editor.can_redo and self._change("redo", verb="Redid: ")

    def _change(self, operation: str, *args, verb: str = "") -> bool:
        """Sends a trainable edit to the kernel, unless a job other than an edit uses the model;
        the views show it when the kernel has made it, and the journal keeps it until saved.

        Args:
            operation: A :data:`~inspector.kernel.session.EDITS` name.
            *args: Its arguments.
            verb: Put before the change's name in the status line (``"Undid: "``).

        Returns:
            Whether the edit was sent.
        """
        if not self._idle("changed"):
            return False
        job = self._submit(EDIT_JOB, edit_job, SESSION, operation, *args)
        job.succeeded.connect(lambda state: self._changed(operation, args, state, verb))
        return True

    def _changed(self, operation: str, args: tuple, state, verb: str) -> None:
        if state.change is None:
            return
        self.journal.append((operation, args))
        self._show_states(state)
        params = self.info.params
        lora = lora_params(self.info)
        counts = f"LoRA {lora:,} trainable of {params.total:,}" if lora else f"Trainable params: {params.trainable:,} of {params.total:,}"
        self.status.emit(
            f"{verb}{state.change}. {counts}" + (" · needs recompile before training" if self.needs_recompile else "")
        )

    def _show_states(self, state) -> None:
        """Shows a trainable state from the kernel (flags, counts, warnings) in every view."""
        self.state = state
        if state.info is not None:  # LoRA adapters came or went: new variables
            self.info = state.info
            self.variables.set_model(self.info)
            QTimer.singleShot(STATS_DELAY_MS, self._start_stats)
        else:
            apply_state(self.info, state)
        self.warnings = state.warnings
        self.graph.refresh_states(self.info, self.warnings)
        self.layer_tree.refresh_states(self.info)
        self.variables.refresh_states(self.info)
        self.details.set_warnings(self.warnings)
        self.details.needs_recompile = self.needs_recompile
        self.details.refresh(self.info)
        self.state_changed.emit()

    # The kernel --------------------------------------------------------------------------------

    def _kernel_died(self, reason: str) -> None:
        log.warning("The kernel of %s stopped: %s", self.path, reason)
        if self.info is None:
            return  # still loading: the load job's failure says so on the error page
        lost = " Its trained weights are lost." if self.weights_modified else ""
        edits = len(self.journal)
        plural = "s" if edits != 1 else ""
        button = self.banner.restart.text()
        again = f" {button} reopens the file and re-applies {edits} unsaved trainable edit{plural}." if edits else f" {button} reopens the file."
        self.banner.show_died(f"The model's process stopped: {reason}. The views show the model as it was.{lost}{again}")
        self.status.emit(f"{self.path.name}: the model's process stopped ({reason}).")
        self.state_changed.emit()

    def _job_unresponsive(self, job: Job) -> None:
        self.banner.show_unresponsive(
            f"{job.name} has not stopped since Cancel: it is inside one long library call. "
            "Stop the model's process? The views stay, and Restart reopens the file."
        )

    def restart_kernel(self) -> Job:
        """Starts a new kernel, reopens the file and re-applies the journal of unsaved edits."""
        if self.info is None:
            return self.open(allow_code=self._allow_code)
        doing = "Reconnecting" if self.runner.location.remote else "Restarting"
        self.banner.show_busy(f"{doing}: reopening {self.path.name}…")
        self.runner.restart()
        job = self._submit_open()
        job.succeeded.connect(self._reopened)
        job.failed.connect(lambda error: self.banner.show_died(f"The restart failed: {getattr(error, 'reason', error)}"))
        return job

    def _reopened(self, opened) -> None:
        journal, self.journal = self.journal, []
        self.weights_modified = False
        if not journal:
            self._restarted(opened.state)
            return
        for operation, args in journal:
            job = self._submit(EDIT_JOB, edit_job, SESSION, operation, *args)
            job.succeeded.connect(lambda state, op=operation, a=args: self.journal.append((op, a)))
        job.succeeded.connect(self._restarted)

    def _restarted(self, state) -> None:
        self._show_states(state)
        self.banner.hide()
        edits = len(self.journal)
        plural = "s" if edits != 1 else ""
        self.status.emit(f"{self.path.name}: restarted" + (f"; {edits} trainable edit{plural} re-applied." if edits else "."))
        self._start_stats()

    def _layer_menu(self, path: str, position) -> None:
        if self.info is None:
            self.status.emit(f"Freezing and the layer's actions come when Keras has loaded {self.path.name}.")
            return
        block = self.graph.block(path)
        if block is not None:
            self._block_menu(block, position)
            return
        layer = self.info.layer_index().get(path)
        if layer is None:
            return
        menu = QMenu(self)
        if layer.params:
            menu.addAction(f"Freeze {layer.name}", lambda: self.set_trainable(path, False))
            menu.addAction(f"Unfreeze {layer.name}", lambda: self.set_trainable(path, True))
            menu.addAction(f"Enable LoRA on {layer.name}…", lambda: self.enable_lora(path))
        menu.addAction("Freeze everything before, train from here", lambda: self.freeze_up_to(path))
        menu.addSeparator()
        menu.addAction("Freeze whole model", lambda: self.set_all_trainable(False))
        menu.addAction("Unfreeze whole model", lambda: self.set_all_trainable(True))
        menu.addSeparator()
        activations = self._made("activations")
        if activations is not None and activations.keys_of_layer(path):
            menu.addAction("Show this layer's activations", lambda: self.show_activations(path))
            menu.addAction("Add to the layers to extract", lambda: self.show_activations(path, add=True))
        menu.addSeparator()
        menu.addAction("New model from this layer's output…", lambda: self.build_requested.emit(path, "head"))
        menu.addAction("Replace the output layer…", lambda: self.build_requested.emit(path, "replace_output"))
        self._menu = menu
        menu.popup(position)

    def _block_menu(self, block, position) -> None:
        count = f"{len(block.children)} layers"
        menu = QMenu(self)
        if block.params:
            menu.addAction(f"Freeze {block.name} ({count})", lambda: self.set_trainable(block.path, False))
            menu.addAction(f"Unfreeze {block.name} ({count})", lambda: self.set_trainable(block.path, True))
            menu.addAction(f"Enable LoRA on {block.name}…", lambda: self.enable_lora(block.path))
            menu.addSeparator()
        menu.addAction("Freeze whole model", lambda: self.set_all_trainable(False))
        menu.addAction("Unfreeze whole model", lambda: self.set_all_trainable(True))
        self._menu = menu
        menu.popup(position)

    # Inspection --------------------------------------------------------------------------------

    def select_layer(self, path: str) -> None:
        """Selects a layer (or a block of the graph) in the graph, the layer list and the details
        panel."""
        self.graph.select_layer(path)
        self.layer_tree.select_layer(path)
        self.details.show_layer(path, self.graph.block(path))

    def show_activations(self, path: str, *, add: bool = False) -> None:
        """Checks a layer in the Activations view and shows that view; extracts at once when the
        inputs are already chosen."""
        self.activations.check_layers(self.activations.keys_of_layer(path), add=add)
        self.show_view("activations")
        if not add and self.activations.inputs is not None and self.activations.inputs.has_data:
            self.activations.extract()

    def _view_changed(self, index: int) -> None:
        """Each view has its own panel sizes. The Training view needs the model's inputs, which
        the Activations view lists; the Embeddings view plots the first Embedding layer when
        first shown."""
        name = VIEW_NAMES[index]
        self.splitter.use_key(_sizes_key(name), _panel_sizes(name))
        if name == "training":
            self.activations.ensure_setup()
            self._connect_training_data()
        elif name == "embeddings":
            self.embeddings.warm_up()
            self._plot_first_embedding()

    def _plot_first_embedding(self) -> None:
        """Plots the model's first Embedding layer in the Embeddings view when it is shown with
        nothing plotted or on the way."""
        sources = self.embedding_sources
        if self.current_view == "embeddings" and self.embeddings.points is None and sources.has_layers and not sources.activations_sent:
            self.embedding_sources.load()

    def _plot_activations(self, activations, key: str, reduce: str) -> None:
        self.embedding_sources.add_activations(activations, key, reduce)
        self.show_view("embeddings")

    def _connect_training_data(self) -> None:
        setup = self.activations.setup
        if setup is None:
            self.activations.set_up_done.connect(self._connect_training_data)
            return
        self.training.ensure_data_editor(setup.specs, setup.vocabulary)

    def _weights_changed(self) -> None:
        self.weights_modified = True
        self.state_changed.emit()

    def stop_training(self) -> None:
        """Stops a training run after its current batch (jobs cannot be cancelled inside
        ``fit``)."""
        training = self._made("training")
        if training is not None:
            training.stop()

    @property
    def training_running(self) -> bool:
        """Whether the model is being trained."""
        training = self._made("training")
        return training is not None and training.running

    def show_find(self) -> None:
        """Puts the keyboard focus in the find box."""
        self.views.setCurrentIndex(0)
        self.find_bar.setFocus()
        self.find_bar.selectAll()

    @property
    def graph_shown(self) -> bool:
        """Whether the graph is shown: the model is open, or its preview is drawn."""
        return self.is_loaded or self._preview is not None and self.stack.currentWidget() is self.content

    def _find_changed(self, text: str) -> None:
        if not self.graph_shown:
            return
        matches = self.graph.find(text) if text else 0
        self.find_status.setText(f"{matches} match{'es' if matches != 1 else ''}" if text else "")

    def find_next(self) -> str | None:
        """Goes to the next layer whose name contains the find text."""
        text = self.find_bar.text()
        if not text or not self.graph_shown:
            return None
        path = self.graph.find_next(text)
        if path is None:
            self.find_status.setText("no match")
        return path

    def _load_values(self, index: int) -> None:
        if self.state is None:
            return
        job = self.runner.submit_latest("variable values", "Reading a variable", variable_values_job, MODEL, index)
        job.failed.connect(lambda error: self._job_failed(job, error))
        job.succeeded.connect(lambda values: self.variables.show_values(index, values))

    def shutdown(self) -> None:
        """Cancels this tab's view building and ends its kernel (the model goes with it)."""
        self._closed = True
        self._previewer.shutdown(0)
        if self._building is not None and not self._building.done:
            self._building.cancel()
        for name in ("training", "embeddings", "activations"):
            view = self._made(name)
            if view is not None:
                view.shutdown()
        for view in list(self.diff_views):
            view.close()
        self.runner.shutdown()
        self._forget_built_file()


def _sizes_key(view: str) -> str:
    """The settings key of the panel sizes in ``view``."""
    return f"{SIZES_KEY}/{view}"


def _panel_sizes(view: str):
    """The starting sizes of the layer list, the view and the details panel for ``view``.

    Returns:
        A function from the splitter's width to the three widths.
    """
    tree_share, details_share = SIDE_PANELS.get(view, NARROW_SIDE_PANELS)

    def sizes(width: int) -> list[int]:
        tree, details = (round(min(max(width * share, low), high)) for share, low, high in (tree_share, details_share))
        return [tree, width - tree - details, details]

    return sizes
