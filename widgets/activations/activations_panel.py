"""The Activations view of a model tab: choose inputs and layers, extract, look at the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.errors import InputDataError, KernelDied
from inspector.activations.extraction import extraction_setup_job, format_bytes
from inspector.activations.kept_results import (
    ResultsGone,
    export_kept_job,
    extract_kept_job,
    kept_samples_job,
    prepare_kept_job,
    release_kept_job,
)
from inspector.attribution.explain import explain_job, explain_setup_job, save_maps_job
from inspector.jobs import KEPT
from widgets.activations.activation_views import COLORMAPS, ActivationView, ChannelStatsTable
from widgets.attribution.explain_controls import ExplainControls
from widgets.attribution.explain_results import ExplainResults
from widgets.common.dialog_folders import DialogFolders
from widgets.common.error_reporting import show_error
from widgets.common.job_runner import JobRunner
from widgets.common.flow_layout import flow_row, labelled
from widgets.common.panes import controls_and_results
from widgets.common.time_slices import TimeSlicedRun
from widgets.inputs.input_editors import FOLDERS_PREFIX, InputsForm, shrinking_combo

COLORMAP_KEY = "activations/colormap"
NORMALIZATION_KEY = "activations/normalization"
BATCH_KEY = "activations/batch_size"
MODES = ("outputs", "explain")
"""The panel's modes: extract layer outputs, or explain predictions (attribution maps)."""


class ActivationsPanel(QWidget):
    """Inputs and layers on the left, the extracted outputs on the right.

    All model work runs in the model's kernel through ``submit``; inputs are read there too, and
    the outputs stay there: the panel holds an
    :class:`~inspector.activations.kept_results.ExtractionSummary` and fetches the inputs it draws.

    Args:
        submit: ``submit(name, job, *args, **kwargs) -> Job``, which queues a job in the model's
            kernel (the tab's :class:`~widgets.common.kernel_runner.KernelRunner`); the panel
            reports failures.
        submit_latest: ``submit_latest(key, name, job, *args)``: the same, replacing the previous
            job with that key (the outputs of the input shown before this one).
        settings: Where choices are remembered (not remembered when ``None``).
        parent: The owning widget.

    Signals:
        status(str): A line for the status bar.
        set_up_done(): The model's inputs and layer outputs are listed (:attr:`setup`).
        extracted(): New activations are shown (their first layer is drawn).
        shown(): The view shows the chosen layer and inputs (after each fetch from the kernel).
        exported(str): A file was saved.
        explained(): New attribution maps are shown (Explain mode).
        send_to_embeddings(object, str, str): Plot a layer's outputs as points: the
            :class:`~inspector.activations.kept_results.ExtractionSummary`, the layer output's key and
            the reduction (``"flatten"`` or ``"mean"``).
    """

    status = Signal(str)
    extracted = Signal()
    shown = Signal()
    exported = Signal(str)
    set_up_done = Signal()
    explained = Signal()
    send_to_embeddings = Signal(object, str, str)

    def __init__(
        self, submit: Callable, submit_latest: Callable, settings: QSettings | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("activationsPanel")
        self.setAcceptDrops(True)
        self._submit = submit
        self._submit_latest = submit_latest
        self.settings = settings
        self.folders = DialogFolders(settings, FOLDERS_PREFIX)
        self.model = None
        self.file: Path | None = None
        self.remote: str | None = None  # the Ray cluster where the kernel (which reads the inputs) is
        self.setup = None
        self.activations = None
        self._fetched: dict[tuple[str, int], object] = {}  # (key, input) -> outputs, as last drawn
        self._announce = False  # say `extracted` once the first layer is drawn
        self._job = None
        self._pending_keys: list[str] | None = None
        self._setup_job = None
        self.explanation = None
        self._explain_setup_job = None
        self._files: JobRunner | None = None  # writes exports of what the window holds, off the GUI thread

        self.mode_bar = QTabBar()
        self.mode_bar.setObjectName("activationsMode")
        self.mode_bar.addTab("Layer outputs")
        self.mode_bar.addTab("Explain")
        self.mode_bar.setTabToolTip(0, "Extract what the chosen layers compute for the inputs")
        self.mode_bar.setTabToolTip(1, "Show which parts of each input made the model predict a class")
        self.mode_bar.setExpanding(False)

        self.inputs_box = QGroupBox("Inputs")
        self.inputs_layout = QVBoxLayout(self.inputs_box)
        self.inputs_hint = QLabel("Listing the model's inputs…")
        self.inputs_layout.addWidget(self.inputs_hint)
        self.inputs: InputsForm | None = None

        self.layer_filter = QLineEdit()
        self.layer_filter.setPlaceholderText("Filter layers")
        self.layer_filter.setClearButtonEnabled(True)
        self.layer_filter.textChanged.connect(self._filter_layers)
        self.layer_list = QListWidget()
        self.layer_list.setObjectName("extractLayers")
        self.layer_list.itemChanged.connect(lambda _: self._update_buttons())
        self.layer_count = QLabel()
        clear_layers = QToolButton(text="Clear")
        clear_layers.clicked.connect(lambda: self.check_layers([]))
        layers_box = QGroupBox("Layers")
        layers_layout = QVBoxLayout(layers_box)
        layers_layout.addWidget(self.layer_filter)
        layers_layout.addWidget(self.layer_list, 1)
        count_row = QHBoxLayout()
        count_row.addWidget(self.layer_count, 1)
        count_row.addWidget(clear_layers)
        layers_layout.addLayout(count_row)

        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 4096)
        self.batch_size.setValue(int(self._setting(BATCH_KEY, 32)))
        self.batch_size.valueChanged.connect(lambda value: self._remember(BATCH_KEY, value))
        self.extract_button = QPushButton("Extract")
        self.extract_button.setObjectName("extractButton")
        self.extract_button.setToolTip("Run the model on the inputs and keep the chosen layers' outputs (Ctrl+E)")
        self.extract_button.clicked.connect(self.run)
        QShortcut(QKeySequence("Ctrl+E"), self, self.run, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.explain_controls = ExplainControls(settings, self.folders)
        self.explain_controls.message.connect(lambda text, error: self._say(text, error=error))
        self.explain_controls.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelExtract")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.message = QLabel()
        self.message.setObjectName("extractMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("Batch size"))
        run_row.addWidget(self.batch_size)
        run_row.addStretch(1)
        run_row.addWidget(self.extract_button)
        run_row.addWidget(self.cancel_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(self.mode_bar)
        self.inputs_scroll = QScrollArea()
        self.inputs_scroll.setObjectName("inputsScroll")
        self.inputs_scroll.setWidgetResizable(True)
        self.inputs_scroll.setWidget(self.inputs_box)
        left_layout.addWidget(self.inputs_scroll, 3)
        left_layout.addWidget(layers_box, 2)
        left_layout.addWidget(self.explain_controls, 2)
        self.layers_box = layers_box
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.message)

        self.results = self._build_results()
        controls_and_results(self, left, self.results, 400)
        self.mode_bar.currentChanged.connect(self._mode_changed)
        self._set_running(False)

    def _build_results(self) -> QWidget:
        self.layer_choice = shrinking_combo()
        self.layer_choice.setObjectName("resultLayer")
        self.sample_choice = shrinking_combo()
        self.sample_choice.setObjectName("resultSample")
        self.compare = QCheckBox("Compare with")
        self.compare_choice = shrinking_combo()
        self.colormap = QComboBox()
        self.colormap.addItems(COLORMAPS)
        self.colormap.setCurrentText(str(self._setting(COLORMAP_KEY, COLORMAPS[0])))
        self.normalization = QComboBox()
        self.normalization.addItem("Each map to its own range", "per_map")
        self.normalization.addItem("One range for all maps", "shared")
        index = self.normalization.findData(self._setting(NORMALIZATION_KEY, "per_map"))
        self.normalization.setCurrentIndex(max(index, 0))
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("This layer's outputs as .npy…", self.export_layer)
        export_menu.addAction("All extracted layers as .npz…", self.export_all)
        export_menu.addAction("The view as PNG…", self.export_png)
        export_menu.addSeparator()
        export_menu.addAction("Plot this layer in Embeddings, flattened", lambda: self._send_to_embeddings("flatten"))
        export_menu.addAction("Plot this layer in Embeddings, average-pooled", lambda: self._send_to_embeddings("mean"))
        self.export_button.setMenu(export_menu)

        toolbar = flow_row(
            labelled("Layer", self.layer_choice),
            labelled("Input", self.sample_choice),
            labelled(self.compare, self.compare_choice),
            labelled("Colours", self.colormap),
            self.normalization,
            self.export_button,
        )

        self.view = ActivationView()
        self.view.setObjectName("activationView")
        self.compare_view = ActivationView()
        self.compare_view.setObjectName("compareView")
        self.compare_view.hide()
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.view)
        views.addWidget(self.compare_view)
        self._views_splitter = views
        self.stats_table = ChannelStatsTable()
        self.stats_table.setObjectName("channelStats")
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        stats_box = QWidget()
        stats_layout = QVBoxLayout(stats_box)
        stats_layout.setContentsMargins(0, 0, 0, 0)
        stats_layout.addWidget(self.stats_label)
        stats_layout.addWidget(self.stats_table)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(views)
        body.addWidget(stats_box)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([600, 200])
        self.notes = QLabel()
        self.notes.setObjectName("extractNotes")
        self.notes.setWordWrap(True)

        self.empty = QLabel("Choose inputs and layers on the left, then Extract (Ctrl+E).")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        shown = QWidget()
        shown_layout = QVBoxLayout(shown)
        shown_layout.setContentsMargins(0, 0, 0, 0)
        shown_layout.addWidget(toolbar)
        shown_layout.addWidget(body, 1)
        shown_layout.addWidget(self.notes)
        stack = QStackedWidget()
        self.explain_results = ExplainResults()
        self.explain_results.export_requested.connect(self._export_explanation)
        stack.addWidget(self.empty)
        stack.addWidget(shown)
        stack.addWidget(self.explain_results)
        self._results_stack = stack

        self.layer_choice.currentIndexChanged.connect(self._layer_changed)
        self.sample_choice.currentIndexChanged.connect(lambda _: self._show_current())
        self.compare_choice.currentIndexChanged.connect(lambda _: self._show_current())
        self.compare.toggled.connect(lambda _: self._show_current())
        self.colormap.currentTextChanged.connect(self._colormap_changed)
        self.normalization.currentIndexChanged.connect(lambda _: self._normalization_changed())
        self.stats_table.channel_selected.connect(self.view.enlarge)
        self.stats_table.horizontalHeader().sortIndicatorChanged.connect(lambda *_: self._show_current())
        self.view.channel_clicked.connect(self.stats_table.select_channel)
        self._normalization_changed(show=False)
        self.view.colormap = self.compare_view.colormap = self.colormap.currentText()
        return stack

    # Set-up ------------------------------------------------------------------------------------

    def set_model(self, model, file: str | Path | None = None, remote: str | None = None) -> None:
        """Uses ``model``; its inputs and layer outputs are listed when the panel is first shown.

        Args:
            model: :data:`inspector.jobs.MODEL`, the tab kernel's model (jobs run there).
            file: The model's file: a vocabulary file saved beside it gives the tokens of text
                inputs, and the file dialogs start in its folder until another one is used.
            remote: The Ray cluster's address when the kernel runs there: the input files chosen
                here are uploaded with each request.
        """
        self.model = model
        self.remote = remote
        self.file = Path(file) if file is not None else None
        self.folders.model_folder = self.file.parent if self.file is not None else None
        if self.isVisible():
            self.ensure_setup()

    def ensure_setup(self) -> None:
        """Lists the model's inputs and layer outputs in the background, once."""
        if self.model is None or self.setup is not None or self._setup_job is not None:
            return
        job = self._submit("List layer outputs", extraction_setup_job, self.model, self.file)
        job.succeeded.connect(self._set_up)
        job.failed.connect(lambda error: self.inputs_hint.setText(f"Cannot list the layer outputs: {error}"))
        self._setup_job = job

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.ensure_setup()

    def _set_up(self, setup) -> None:
        self._setup_job = None
        self.setup = setup
        if not setup.targets:
            self.inputs_hint.setText(
                "This model has no layer graph Keras can read (a subclassed model), so the "
                "outputs of its layers cannot be extracted."
            )
            self.inputs_hint.setWordWrap(True)
            self.set_up_done.emit()
            return
        self.inputs_hint.hide()
        self._say(" ".join(setup.notes), error=bool(setup.notes))
        self.inputs = InputsForm(setup.specs, setup.vocabulary, self.settings, folders=self.folders)
        self.inputs.setObjectName("inputsForm")
        self.inputs.changed.connect(self._update_buttons)
        self.inputs_layout.addWidget(self.inputs)
        self.layer_list.blockSignals(True)
        for target in setup.targets:
            shape = "×".join("?" if d is None else str(d) for d in target.shape) or "scalar"
            item = QListWidgetItem(f"{target.label}   {target.class_name}  ({shape})")
            item.setToolTip(f"{target.label}: {target.class_name}, output shape ({shape})")
            item.setData(Qt.ItemDataRole.UserRole, target.key)
            item.setData(Qt.ItemDataRole.UserRole + 1, target.layer)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.layer_list.addItem(item)
        self.layer_list.blockSignals(False)
        if self._pending_keys is not None:
            self.check_layers(self._pending_keys)
        self._update_buttons()
        self.set_up_done.emit()

    @property
    def ready(self) -> bool:
        """Whether the inputs and layers can be chosen."""
        return self.setup is not None

    # Layers ------------------------------------------------------------------------------------

    def keys_of_layer(self, layer_path: str) -> list[str]:
        """Keys of every output of every call of a layer."""
        if self.setup is None:
            return []
        return [t.key for t in self.setup.targets if t.layer == layer_path]

    def checked_keys(self) -> list[str]:
        """Keys of the checked layer outputs, in graph order."""
        items = (self.layer_list.item(row) for row in range(self.layer_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items if item.checkState() == Qt.CheckState.Checked]

    def check_layers(self, keys: list[str], *, add: bool = False) -> None:
        """Checks the layer outputs with ``keys`` (and unchecks the others unless ``add``)."""
        if self.setup is None:
            self._pending_keys = list(keys)
            self.ensure_setup()
            return
        wanted = set(keys)
        self.layer_list.blockSignals(True)
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) in wanted:
                item.setCheckState(Qt.CheckState.Checked)
                self.layer_list.scrollToItem(item)
            elif not add:
                item.setCheckState(Qt.CheckState.Unchecked)
        self.layer_list.blockSignals(False)
        self._update_buttons()

    def _filter_layers(self, text: str) -> None:
        text = text.lower()
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            item.setHidden(bool(text) and text not in item.text().lower())

    def _update_buttons(self) -> None:
        count = len(self.checked_keys())
        self.layer_count.setText(f"{count} chosen" if count else "Check the layers to extract")
        ready = self.setup is not None and (self.mode != "explain" or self.explain_controls.setup is not None)
        self.extract_button.setEnabled(ready and self._job is None)

    def input_data(self) -> tuple[list, dict] | None:
        """The model's inputs and, per input, the callable that reads the data chosen here, or
        ``None`` while some input has none."""
        if self.setup is None or self.inputs is None:
            return None
        try:
            return self.setup.specs, self.inputs.sources(upload=self.remote is not None)
        except InputDataError:
            return None

    # Modes -------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``"outputs"`` (extract layer outputs) or ``"explain"`` (attribution maps)."""
        return MODES[max(self.mode_bar.currentIndex(), 0)]

    def _mode_changed(self) -> None:
        explain = self.mode == "explain"
        self.layers_box.setVisible(not explain)
        self.explain_controls.setVisible(explain)
        self.extract_button.setText("Explain" if explain else "Extract")
        self.extract_button.setToolTip(
            "Compute the chosen method's maps for the inputs (Ctrl+E)"
            if explain
            else "Run the model on the inputs and keep the chosen layers' outputs (Ctrl+E)"
        )
        self.empty.setText(
            "Choose inputs, a method and a class on the left, then Explain (Ctrl+E)."
            if explain
            else "Choose inputs and layers on the left, then Extract (Ctrl+E)."
        )
        if explain:
            self.ensure_explain_setup()
            page = 2 if self.explanation is not None else 0
        else:
            page = 1 if self.activations is not None else 0
        self._results_stack.setCurrentIndex(page)
        self._update_buttons()

    def run(self) -> bool:
        """Extracts or explains, by the mode (the button and Ctrl+E)."""
        return self.explain() if self.mode == "explain" else self.extract()

    # Explaining --------------------------------------------------------------------------------

    def ensure_explain_setup(self) -> None:
        """Lists the model's outputs, class names and Grad-CAM layers in the background, once."""
        if self.model is None or self.explain_controls.setup is not None or self._explain_setup_job is not None:
            return
        job = self._submit("List what can be explained", explain_setup_job, self.model, self.file)
        job.succeeded.connect(self._explain_set_up)
        job.failed.connect(lambda error: self._say(f"Cannot list the model's outputs: {error}", error=True))
        self._explain_setup_job = job

    def _explain_set_up(self, setup) -> None:
        self._explain_setup_job = None
        self.explain_controls.set_setup(setup)
        if setup.notes:
            self._say(" ".join(setup.notes), error=True)
        self._update_buttons()

    def explain(self) -> bool:
        """Reads the inputs and computes the chosen method's maps, in the background.

        Returns:
            Whether a request was started (when not, the panel says why).
        """
        if self.explain_controls.setup is None and self.setup is not None:
            self._say("Still listing the model's outputs; try again in a moment.", error=True)
            return False
        sources = self._sources()
        if sources is None:
            return False
        request = self.explain_controls.request(self.batch_size.value())
        if request.method == "grad_cam" and request.layer is None:
            self._say("No layer of this model has spatial axes for Grad-CAM; choose another method.", error=True)
            return False
        self._say("Reading the inputs…")
        self._set_running(True)
        job = self._submit("Explain predictions", explain_job, self.model, self.setup.specs, sources, request)
        self._watch(job)
        job.succeeded.connect(self._explained)
        return True

    def _explained(self, explanation) -> None:
        self._job = None
        self._set_running(False)
        self.explanation = explanation
        samples = explanation.samples
        labels = [f"{i + 1}: {samples.classes[i] + '/' if samples.classes else ''}{name}" for i, name in enumerate(samples.names)]
        self.explain_results.show_explanation(explanation, self.explain_controls.current_output, labels)
        if self.mode == "explain":
            self._results_stack.setCurrentIndex(2)
        self._say(f"Explained {len(samples)} input(s) with {self.explain_controls.method.currentText()}.")
        self.explained.emit()

    def _export_explanation(self, kind: str) -> None:
        if self.explanation is None:
            return
        if kind == "png":
            path = self._ask_path("Save view as PNG", "explanation.png", "PNG image (*.png)")
            self._export(lambda p: self.explain_results.views_box.grab().save(str(p), "PNG") or None, path)
            return
        path = self._ask_path("Save maps", "attributions.npy", "NumPy array (*.npy)")
        if not path:
            return
        if self._files is None:
            self._files = JobRunner(self)
        job = self._files.submit(f"Save {Path(path).name}", save_maps_job, self.explanation, path)
        job.progress.connect(self._progress)
        job.succeeded.connect(lambda written: self._saved(written[0]))
        job.failed.connect(lambda error: self._export_failed(path, error))

    def shutdown(self) -> None:
        """Frees the kept outputs and stops the panel's own file thread."""
        self.close_results()
        if self._files is not None:
            self._files.shutdown(2000)

    # Extraction --------------------------------------------------------------------------------

    def extract(self) -> bool:
        """Reads the inputs, runs the model and shows the chosen layers' outputs, in the
        background.

        Returns:
            Whether a request was started (it was not when something is missing; the panel then
            says what).
        """
        sources = self._sources()
        if sources is None:
            return False
        keys = self.checked_keys()
        if not keys:
            self._say("Check at least one layer to extract.", error=True)
            return False
        self._say("Reading the inputs…")
        self._set_running(True)
        job = self._submit("Prepare extraction", prepare_kept_job, self.model, KEPT, self.setup.specs, sources, keys)
        self._watch(job)
        job.succeeded.connect(self._prepared)
        shapes = {target.key: target.shape for target in self.setup.targets}
        if not self.view.grid_started and any(len(shapes.get(key) or ()) >= 3 for key in keys):  # feature maps to draw
            TimeSlicedRun(self.view.prepare_steps(), parent=self).start()
        return True

    def _sources(self) -> dict | None:
        """The readers of the chosen inputs, or ``None`` (saying why) when a request cannot
        start: the panel is not set up, a request runs, or an input has no data."""
        if self.setup is None or self.inputs is None or self._job is not None:
            return None
        try:
            return self.inputs.sources(upload=self.remote is not None)
        except InputDataError as error:
            self._say(str(error), error=True)
            return None

    def _prepared(self, plan) -> None:
        self._job = None
        if plan.warning is not None:
            answer = QMessageBox.warning(
                self,
                "Not enough room",
                plan.warning + "\n\nExtract anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                self._set_running(False)
                self._say("Extraction not started: " + plan.warning, error=True)
                return
        where = f", streamed to {plan.folder}" if plan.to_disk else ""
        self._say(f"Extracting {format_bytes(plan.bytes_total)}{where}…")
        job = self._submit("Extract activations", extract_kept_job, KEPT, self.batch_size.value())
        self._watch(job)
        job.succeeded.connect(self._extracted)

    def _watch(self, job) -> None:
        self._job = job
        job.progress.connect(self._progress)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)

    def _progress(self, progress) -> None:
        if progress.fraction is not None:
            self.progress.setValue(round(progress.fraction * 100))
        self.status.emit(progress.message)

    def _failed(self, error: Exception) -> None:
        self._job = None
        self._set_running(False)
        if isinstance(error, (InputDataError, KeyError)):
            self._say(str(error).strip("'\""), error=True)
        elif isinstance(error, MemoryError):
            self._say("Out of memory: choose fewer layers or inputs, or a smaller batch size.", error=True)
        else:
            what = "Explanation" if self.mode == "explain" else "Extraction"
            self._say(f"{what} failed: {type(error).__name__}: {error}", error=True)
            show_error(self, f"{what} failed", f"{type(error).__name__}: {error}")

    def _cancelled(self) -> None:
        self._job = None
        self._set_running(False)
        self._say("Explanation cancelled." if self.mode == "explain" else "Extraction cancelled.")

    def cancel(self) -> None:
        """Stops the running request at its next batch."""
        if self._job is not None:
            self._job.cancel()

    @property
    def running(self) -> bool:
        """Whether a request is being prepared or run."""
        return self._job is not None

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.progress.setValue(0)
        self.cancel_button.setVisible(running)
        self._update_buttons()

    def _extracted(self, activations) -> None:
        self._job = None
        self._set_running(False)
        self._release_results()  # the results page stays up: no relayout of the whole page
        self.activations = activations
        self._announce = True
        samples = activations.samples
        notes = list(samples.notes)
        if samples.skipped:
            listed = "; ".join(f"{Path(file).name}: {reason}" for file, reason in samples.skipped[:5])
            more = f" and {len(samples.skipped) - 5} more" if len(samples.skipped) > 5 else ""
            notes.insert(0, f"Skipped {len(samples.skipped)} unreadable file(s): {listed}{more}.")
        if activations.folder is not None:
            notes.append(f"Outputs are kept on disk in {activations.folder} until the tab closes.")
        else:
            notes.append("Outputs are kept in the model's process until the next extraction or the tab closes.")
        self.notes.setText("\n".join(notes))
        names = [self._sample_label(i) for i in range(len(samples))]
        for combo, index in ((self.sample_choice, 0), (self.compare_choice, min(1, len(names) - 1))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        self.layer_choice.blockSignals(True)
        self.layer_choice.clear()
        for target in activations.targets:
            self.layer_choice.addItem(target.label, target.key)
        self.layer_choice.blockSignals(False)
        self._results_stack.setCurrentIndex(1)
        QTimer.singleShot(0, self, self._layer_changed)  # drawn on the next turn: no long stall
        self._say(f"Extracted {len(activations.targets)} layer output(s) for {len(samples)} input(s).")

    def _sample_label(self, index: int) -> str:
        samples = self.activations.samples
        name = samples.names[index]
        if samples.classes:
            name = f"{samples.classes[index]}/{name}"
        return f"{index + 1}: {name}"

    def close_results(self) -> None:
        """Forgets the shown activations; the kernel frees them and deletes their files."""
        self._release_results()
        self._results_stack.setCurrentIndex(0)

    def _release_results(self) -> None:
        self._fetched.clear()
        if self.activations is not None:
            self._submit("Free layer outputs", release_kept_job, KEPT, self.activations.number)
            self.activations = None

    def layer_statistics(self, key: str) -> dict[str, float]:
        """A value per layer from the last extraction, for colouring the graph: ``"mean_activation"``
        (the mean over channels of each channel's mean) or ``"dead_fraction"`` (the share of
        channels that were zero for every input). The first output of each layer counts."""
        if self.activations is None:
            return {}
        values: dict[str, float] = {}
        for target in self.activations.targets:
            stats = self.activations.stats.get(target.key)
            if stats is None or target.layer in values or not len(stats.mean):
                continue
            if key == "mean_activation":
                values[target.layer] = float(np.mean(stats.mean))
            else:
                values[target.layer] = float(np.mean(stats.zero_fraction >= 1.0))
        return values

    # Showing -----------------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        """The key of the layer output shown."""
        return self.layer_choice.currentData()

    def _layer_changed(self) -> None:
        key = self.current_key
        if self.activations is None or key is None:
            return
        stats = self.activations.stats.get(key)
        self.stats_table.set_stats(stats)
        if stats is not None:
            dead = int((stats.zero_fraction >= 1.0).sum())
            self.stats_label.setText(
                f"{len(stats.mean)} channels over {stats.count:,} values · {dead} always zero"
                + (f" · activation {stats.activation}" if stats.activation else "")
            )
        self._show_current()

    def _show_current(self) -> None:
        key = self.current_key
        if self.activations is None or key is None:
            return
        first = self.sample_choice.currentIndex()
        second = self.compare_choice.currentIndex() if self.compare.isChecked() else None
        if (second is not None) != self.compare_view.isVisibleTo(self):
            self.compare_view.setVisible(second is not None)
            self._views_splitter.setSizes([1000, 1000])  # side by side, the same size
        self.compare_choice.setEnabled(self.compare.isChecked())
        indices = [max(first, 0)] + ([second] if second is not None else [])
        missing = [index for index in indices if (key, index) not in self._fetched]
        if not missing:
            self._draw(key, indices)
            return
        number = self.activations.number
        job = self._submit_latest("shown outputs", "Read layer outputs", kept_samples_job, KEPT, number, key, missing)
        job.succeeded.connect(lambda arrays: self._fetched_outputs(number, key, indices, missing, arrays))
        job.failed.connect(self._fetch_failed)

    def _fetched_outputs(self, number: int, key: str, indices: list[int], missing: list[int], arrays: list) -> None:
        if self.activations is None or self.activations.number != number:
            return
        kept = {k: v for k, v in self._fetched.items() if k[0] == key and k[1] in indices}
        self._fetched = kept | {(key, index): array for index, array in zip(missing, arrays)}
        self._draw(key, indices)

    def _fetch_failed(self, error: Exception) -> None:
        if isinstance(error, (ResultsGone, KernelDied)):
            self.close_results()
            self._say(str(ResultsGone()), error=True)
        else:
            self._say(f"Could not read the layer outputs: {type(error).__name__}: {error}", error=True)

    def _draw(self, key: str, indices: list[int]) -> None:
        """Draws the fetched outputs of one layer for the chosen input (and the compared one)."""
        views = [self.view, self.compare_view]
        shown = [(views[i], index, self._fetched[(key, index)]) for i, index in enumerate(indices)]
        for view, index, data in shown:
            view.set_fixed_levels(None)
            view.show_activation(data, **self._extras(key, index))
        if len(shown) == 2 and self.normalization.currentData() == "shared":
            ranges = [view.auto_levels() for view, _, _ in shown]
            if all(r is not None for r in ranges):  # one colour scale for both inputs
                levels = (min(r[0] for r in ranges), max(r[1] for r in ranges))
                for view, index, data in shown:
                    view.set_fixed_levels(levels)
                    view.show_activation(data, **self._extras(key, index))
        self.shown.emit()
        if self._announce:
            self._announce = False
            self.extracted.emit()

    def _extras(self, key: str, index: int) -> dict:
        """The mask, tokens, input image and title that go with one sample's output."""
        activations = self.activations
        target = activations.target(key)
        values_shape = activations.shapes[key][1:]
        samples = activations.samples
        extras = {
            "title": f"{target.label} · {self._sample_label(index)}",
            "mask": activations.mask(key, index),
            "halves": target.halves,
            "channel_order": self.stats_table.sorted_channels() if len(values_shape) >= 1 else None,
        }
        if len(values_shape) == 2:
            for tokens in samples.tokens.values():
                if len(tokens[index]) == values_shape[0]:
                    extras["tokens"] = tokens[index]
                    break
        if len(values_shape) == 3:
            for pixels in samples.images.values():
                extras["image"] = pixels[index]
                break
        return extras

    def _colormap_changed(self, name: str) -> None:
        self.view.colormap = self.compare_view.colormap = name
        self._remember(COLORMAP_KEY, name)

    def _normalization_changed(self, show: bool = True) -> None:
        mode = self.normalization.currentData()
        self.view.normalization = self.compare_view.normalization = mode
        self._remember(NORMALIZATION_KEY, mode)
        if show:
            self._show_current()

    # Export ------------------------------------------------------------------------------------

    def export_layer(self, path: str | Path | None = None) -> None:
        """Has the kernel save the shown layer's outputs for every input as ``.npy``
        (:attr:`exported` says when it is written)."""
        key = self.current_key
        if self.activations is None or key is None:
            return
        path = path or self._ask_path("Save layer outputs", f"{key.replace('/', '_')}.npy", "NumPy array (*.npy)")
        self._export_in_kernel([key], path)

    def _send_to_embeddings(self, reduce: str) -> None:
        key = self.current_key
        if self.activations is not None and key is not None:
            self.send_to_embeddings.emit(self.activations, key, reduce)

    def export_all(self, path: str | Path | None = None) -> None:
        """Has the kernel save every extracted layer's outputs, masks and the input names as
        ``.npz`` (:attr:`exported` says when it is written)."""
        if self.activations is None:
            return
        path = path or self._ask_path("Save all layer outputs", "activations.npz", "NumPy archive (*.npz)")
        self._export_in_kernel([t.key for t in self.activations.targets], path)

    def _export_in_kernel(self, keys: list[str], path: str | Path | None) -> None:
        if not path:
            return
        job = self._submit(f"Save {Path(path).name}", export_kept_job, KEPT, self.activations.number, keys, str(path))
        job.succeeded.connect(self._saved)
        job.failed.connect(lambda error: self._export_failed(path, error))

    def export_png(self, path: str | Path | None = None) -> Path | None:
        """Saves the shown view (both views when comparing) as a PNG picture."""
        if self.activations is None:
            return None
        path = path or self._ask_path("Save view as PNG", "activations.png", "PNG image (*.png)")
        target = self.view.parentWidget() if self.compare_view.isVisible() else self.view
        return self._export(lambda p: target.grab().save(str(p), "PNG") or None, path)

    def _ask_path(self, title: str, name: str, pattern: str) -> str | None:
        start = Path(self.folders.start("export")) / name
        path, _ = QFileDialog.getSaveFileName(self, title, str(start), pattern)
        if path:
            self.folders.remember("export", path)
        return path or None

    def _export(self, write, path) -> Path | None:
        if not path:
            return None
        try:
            write(Path(path))
        except OSError as error:
            self._export_failed(path, error)
            return None
        self._saved(path)
        return Path(path)

    def _saved(self, path) -> None:
        self.status.emit(f"Saved {path}")
        self.exported.emit(str(path))

    def _export_failed(self, path, error: Exception) -> None:
        reason = getattr(error, "strerror", None) or error
        show_error(self, "Could not export", f"{path}: {reason}")

    # Drops and settings ------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and self.inputs is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths and self.inputs is not None:
            added = self.inputs.add_paths(paths)
            self._say(added)
            event.acceptProposedAction()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #a93226;" if error else "")
        self.message.setText(text)
        if text:
            self.status.emit(text)

    def _setting(self, key: str, default):
        return default if self.settings is None else self.settings.value(key, default)

    def _remember(self, key: str, value) -> None:
        if self.settings is not None:
            self.settings.setValue(key, value)
