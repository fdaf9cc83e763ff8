"""The main window: tabs of open models, menus, drag and drop, recent files and settings."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer, QSettings, QSize, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget, QTabWidget

from inspector.helper_process import start_helper
from inspector.kernel.client import KernelPool
from inspector.kernel.location import LOCAL, KernelLocation
from inspector.kernel.place import place_job
from inspector.memory import collect_everything
from widgets.common.kernel_runner import KernelRunner
from widgets.shell.cluster_dialog import ClusterDialog, ClusterPathDialog
from widgets.common.dialog_folders import DialogFolders
from widgets.common.error_reporting import log_file
from widgets.shell.gui_collector import collect_garbage_on_this_thread
from widgets.shell.model_tab import LAYER_COLOURINGS, PLACE_JOB, ModelTab
from widgets.common.paths import MODEL_FILTER, sample_models
from widgets.embeddings.projection_service import ProjectionService
from widgets.embeddings.projector_window import VECTOR_FILTER, VECTOR_SUFFIXES, ProjectorWindow, pair_vector_files
from widgets.shell.start_page import StartPage

MAX_RECENT = 10
FOLDER_KEY = "recent/folder"
FIRST_SIZE = QSize(1500, 900)
COLLECT_AFTER_CLOSE_MS = 1000
"""A closed tab's reference cycles are collected this long after, once its widgets are gone."""
VECTOR_FOLDERS = "embeddings/folders"  # shared with the embeddings window's own Open Vectors


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (through links or ``..`` too)."""
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


class MainWindow(QMainWindow):
    """Holds one :class:`ModelTab` per open model.

    Args:
        settings: Where window geometry and recent files are remembered.
        location: Where new models' kernels run (``--kernel``); File ▸ Connect to Ray Cluster…
            changes it.

    Signals:
        tab_opened(ModelTab): A tab was created for a file.
        location_changed(): New models' kernels run somewhere else now.
    """

    tab_opened = Signal(object)
    location_changed = Signal()

    def __init__(self, settings: QSettings | None = None, location: KernelLocation = LOCAL):
        super().__init__()
        self.settings = settings or QSettings()
        self.kernel_location = location
        self._probe: KernelRunner | None = None
        self.setWindowTitle("Keras Model Inspector")
        self.setAcceptDrops(True)
        collect_garbage_on_this_thread()
        # A kernel with TensorFlow imported waits for the first model the user opens, unless
        # files were opened at start: a second import beside theirs would slow their loads.
        QTimer.singleShot(0, self, lambda: self.model_tabs() or KernelPool.shared().replenish(self.kernel_location))
        QTimer.singleShot(0, self, lambda: start_helper("inspector.model.config_graph"))  # previews graphs while Keras loads
        self.projectors: list[ProjectorWindow] = []

        self.tabs = QTabWidget()
        self.tabs.setObjectName("modelTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.start_page = StartPage()
        self.start_page.open_requested.connect(self.open_file)
        self.start_page.browse_requested.connect(self.browse)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start_page)
        self.pages.addWidget(self.tabs)
        self.setCentralWidget(self.pages)
        self.kernel_label = QLabel(objectName="kernelPlace")
        self.statusBar().addPermanentWidget(self.kernel_label)
        self._build_menus()
        self._update_actions()
        self._refresh_recent()
        self.vector_folders = DialogFolders(self.settings, VECTOR_FOLDERS)
        geometry = self.settings.value("window/geometry")
        self._fit_when_shown = geometry is None or not self.restoreGeometry(geometry)
        if self._fit_when_shown:
            self.resize(FIRST_SIZE.boundedTo(self.screen().availableGeometry().size()))
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.statusBar().showMessage("Ready", 3000)
        collect_everything()  # the window's own objects: later collections need not scan them

    # Menus --------------------------------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open…", self.browse, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        samples_menu = file_menu.addMenu("Open &Sample")
        for path in sample_models():
            self._action(samples_menu, path.name, lambda _=False, p=path: self.open_file(p))
        samples_menu.setEnabled(bool(sample_models()))
        self._action(file_menu, "Open &Embedding Vectors…", self.browse_vectors, "Ctrl+Shift+E")
        self.compare_action = self._action(file_menu, "Compare &With…", self.compare_current, "Ctrl+Shift+D")
        file_menu.addSeparator()
        self._action(file_menu, "Connect to Ray &Cluster…", self.connect_to_cluster)
        self.cluster_path_action = self._action(file_menu, "Open &Path on Cluster…", self.open_cluster_path)
        self.local_action = self._action(file_menu, "Open New Models on &This Computer", lambda: self.set_kernel_location(LOCAL))
        file_menu.addSeparator()
        self.save_action = self._action(file_menu, "&Save", self.save_current, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(file_menu, "Save &As…", self.save_current_as, "Ctrl+Shift+S")
        file_menu.addSeparator()
        self._action(file_menu, "&Close Tab", self.close_current_tab, QKeySequence.StandardKey.Close)
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit_menu, "&Undo", lambda: self._tab_call("undo"), QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(edit_menu, "&Redo", lambda: self._tab_call("redo"), "Ctrl+Shift+Z")

        model_menu = self.menuBar().addMenu("&Model")
        self._action(model_menu, "&Freeze Whole Model", lambda: self._tab_call("set_all_trainable", False))
        self._action(model_menu, "&Unfreeze Whole Model", lambda: self._tab_call("set_all_trainable", True))
        self.recompile_action = self._action(model_menu, "&Recompile", lambda: self._tab_call("recompile"))
        model_menu.addSeparator()
        self._action(model_menu, "Enable &LoRA on Selected Layer…", self._lora_on_selection, "Ctrl+L")
        self._action(model_menu, "Save LoRA &Weights…", lambda: self._tab_call("save_lora_weights"))
        self._action(model_menu, "Loa&d LoRA Weights…", lambda: self._tab_call("load_lora_weights"))
        self._action(model_menu, "&Quantize a Copy…", self.quantize_copy)
        model_menu.addSeparator()
        self._action(model_menu, "&New Model from Selected Layer…", lambda: self._build_from_selection("head"))
        self._action(model_menu, "Replace the &Output Layer…", lambda: self._build_from_selection("replace_output"))
        model_menu.addSeparator()
        self._action(model_menu, "Show &Activations of Selected Layer", self._activations_of_selection, "Ctrl+Shift+A")
        self.tabs.currentChanged.connect(self._update_actions)

        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Find Layer…", self._find, QKeySequence.StandardKey.Find)
        self._action(view_menu, "Find &Next", self._find_next, QKeySequence.StandardKey.FindNext)
        view_menu.addSeparator()
        self._action(view_menu, "Fit Graph to &Window", lambda: self._graph_call("fit_all"), "Ctrl+0")
        self._action(view_menu, "Zoom &In", lambda: self._graph_call("zoom_in"), QKeySequence.StandardKey.ZoomIn)
        self._action(view_menu, "Zoom &Out", lambda: self._graph_call("zoom_out"), QKeySequence.StandardKey.ZoomOut)
        self._action(view_menu, "Open All &Blocks", lambda: self._graph_call("open_blocks"), "Ctrl+Shift+B")
        self._action(view_menu, "&Close All Blocks", lambda: self._graph_call("close_blocks"))
        colour_menu = view_menu.addMenu("Colour &Layers By")
        for key, label in LAYER_COLOURINGS.items():
            self._action(colour_menu, label, lambda _checked=False, key=key: self._colour_layers(key))
        view_menu.addSeparator()
        self._action(view_menu, "&Graph", lambda: self._show_view(0), "Ctrl+1")
        self._action(view_menu, "&Variables", lambda: self._show_view(1), "Ctrl+2")
        self._action(view_menu, "&Activations", lambda: self._show_view(2), "Ctrl+3")
        self._action(view_menu, "&Training", lambda: self._show_view(3), "Ctrl+4")
        self._action(view_menu, "&Embeddings", lambda: self._show_view(4), "Ctrl+5")

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Open &Log Folder", self._open_log_folder)
        self._action(help_menu, "&About", self._about)

    def _refresh_recent(self) -> None:
        recent = self.recent_files()
        self.recent_menu.clear()
        for path in recent:
            self._action(self.recent_menu, path, lambda _=False, p=path: self.open_file(p))
        if recent:
            self.recent_menu.addSeparator()
            self._action(self.recent_menu, "Clear Recent Files", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))
        self.start_page.set_recent(recent)

    # Files --------------------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.settings.value("recent/files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent/files", recent[:MAX_RECENT])
        self._remember_folder(path)
        self._refresh_recent()

    def _clear_recent(self) -> None:
        self.settings.setValue("recent/files", [])
        self._refresh_recent()

    def dialog_folder(self) -> Path:
        """Where file dialogs start: the folder of the model in front, else the last folder used
        (remembered between runs), else the home folder."""
        tab = self.current_tab()
        candidates = [tab.path.parent] if tab is not None else []
        candidates += [Path(self.settings.value(FOLDER_KEY, "") or Path.home()), Path.home()]
        return next(folder for folder in candidates if folder.is_dir())

    def _remember_folder(self, path: str | Path) -> None:
        self.settings.setValue(FOLDER_KEY, str(Path(path).parent))

    def browse(self) -> None:
        """Asks for model files to open."""
        files, _ = QFileDialog.getOpenFileNames(self, "Open Keras models", str(self.dialog_folder()), MODEL_FILTER)
        for file in files:
            self.open_file(file)
        if files:
            self._remember_folder(files[0])

    def _colour_layers(self, key: str) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.colour_layers_by(key)

    def compare_current(self) -> None:
        """Asks for another model file and compares the tab in front with it, layer by layer."""
        tab = self.current_tab()
        if tab is None or tab.info is None:
            return
        file, _ = QFileDialog.getOpenFileName(self, f"Compare {tab.path.name} with", str(self.dialog_folder()), MODEL_FILTER)
        if file:
            tab.compare_with(file)
            self._remember_folder(file)

    def browse_vectors(self) -> None:
        """Asks for a vectors file (the projector's ``vectors.tsv``, ``.npy`` or ``.npz``) to plot.

        The dialog starts in the folder last used for vectors (here or in an embeddings window),
        else in the folder of the model in front.
        """
        tab = self.current_tab()
        self.vector_folders.model_folder = tab.path.parent if tab is not None else None
        path, _ = QFileDialog.getOpenFileName(self, "Open embedding vectors", self.vector_folders.start("vectors"), VECTOR_FILTER)
        if path:
            self.vector_folders.remember("vectors", path)
            self.open_vectors(path)

    def open_vectors(self, path: str | Path, metadata: str | Path | None = None) -> ProjectorWindow:
        """Plots vectors from a file in a new embeddings window.

        Args:
            path: The vectors file.
            metadata: Its metadata TSV; by default ``metadata.tsv`` or ``<name>_metadata.tsv`` beside it.

        Returns:
            The window.
        """
        window = ProjectorWindow(self.settings)
        window.closed.connect(self.projectors.remove)
        self.projectors.append(window)
        window.show()
        window.open_files(path, metadata)
        return window

    def open_file(self, path: str | Path, *, on_cluster: bool = False) -> ModelTab:
        """Opens a model file in a new tab (or shows the tab that has it already), with its kernel
        where new models' kernels run now.

        Args:
            path: The model file.
            on_cluster: ``path`` is on the Ray cluster's side (File ▸ Open Path on Cluster…).

        Returns:
            The tab showing it.
        """
        path = Path(path) if on_cluster else Path(path).expanduser().absolute()
        tab = self._tab_with_file(path, on_cluster)
        if tab is not None:
            self.tabs.setCurrentWidget(tab)
            self.statusBar().showMessage(f"{path.name} is already open: this is its tab.", 8000)
            return tab
        tab = self._add_tab(ModelTab(path, self.settings, location=self.kernel_location, on_cluster=on_cluster))
        if not tab.on_cluster:
            tab.loaded.connect(lambda: self._remember(tab.path))
        tab.open()
        return tab

    def _tab_with_file(self, path: Path, on_cluster: bool = False) -> ModelTab | None:
        """The tab showing ``path`` (the same file by another name too) with its kernel where new
        models' kernels run now, unless it failed to open."""
        for tab in self.model_tabs():
            if tab.error is None and not tab.unsaved and tab.on_cluster == on_cluster and tab.runner.location == self.kernel_location:
                if (tab.path == path) if on_cluster else _same_file(tab.path, path):
                    return tab
        return None

    # Where kernels run ------------------------------------------------------------------------------

    def connect_to_cluster(self) -> None:
        """Asks for a Ray cluster's address; new models open there once a kernel started on it."""
        dialog = ClusterDialog(self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.try_location(dialog.location())

    def try_location(self, location: KernelLocation) -> None:
        """Starts a kernel at ``location`` and asks where it runs; when it answers, new models open
        there (and the kernel stays as the spare), otherwise the reason is shown."""
        if self._probe is not None:
            self._probe.shutdown()
        self._probe = probe = KernelRunner(location=location, parent=self)
        self.statusBar().showMessage(f"Connecting to {location}: starting a kernel there…")
        job = probe.submit(PLACE_JOB, place_job)

        def connected(place) -> None:
            self.set_kernel_location(location)
            self.statusBar().showMessage(f"Connected to {location}: new models open on {place.text()}.", 15000)
            self._end_probe(probe)

        def failed(error) -> None:
            reason = getattr(error, "reason", None) or str(error)
            self._end_probe(probe)
            self.statusBar().showMessage(f"Not connected to {location}.", 15000)
            QMessageBox.warning(self, "Could not connect", f"No kernel started on {location}: {reason}.\n\nNew models still open on {self.kernel_location}.")

        job.succeeded.connect(connected)
        job.failed.connect(failed)

    def _end_probe(self, probe: KernelRunner) -> None:
        if self._probe is probe:
            self._probe = None
        probe.shutdown()
        probe.deleteLater()

    def set_kernel_location(self, location: KernelLocation) -> None:
        """New models' kernels run at ``location`` from now on (open ones stay where they are)."""
        if location == self.kernel_location:
            return
        self.kernel_location = location
        KernelPool.shared().replenish(location)
        self._update_actions()
        self.location_changed.emit()

    def open_cluster_path(self) -> None:
        """Asks for a model file on the Ray cluster's side and opens it there."""
        if not self.kernel_location.remote:
            return
        dialog = ClusterPathDialog(self.settings, self.kernel_location.address, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.open_file(dialog.chosen(), on_cluster=True)

    def open_built(self, file: Path, source: ModelTab) -> ModelTab:
        """Shows a model built from another one in a new tab (its own kernel), unsaved.

        Args:
            file: The temporary file the source tab's kernel saved the built model to.
            source: The tab it was built from; Save As proposes that tab's folder.
        """
        tab = self._add_tab(ModelTab(source.path.parent / Path(file).name, self.settings, location=source.runner.location))
        tab.open_built(Path(file), source.info.name)
        return tab

    def _add_tab(self, tab: ModelTab) -> ModelTab:
        tab.close_requested.connect(lambda: self.close_tab(self.tabs.indexOf(tab)))
        tab.status.connect(lambda text: self.statusBar().showMessage(text, 15000))
        tab.state_changed.connect(lambda: self._tab_state_changed(tab))
        tab.build_requested.connect(lambda path, mode: self.build_model(tab, path, mode))
        index = self.tabs.addTab(tab, tab.path.name)
        self.tabs.setTabToolTip(index, str(tab.path))
        self.tabs.setCurrentIndex(index)
        self.pages.setCurrentWidget(self.tabs)
        self.tab_opened.emit(tab)
        return tab

    def _tab_state_changed(self, tab: ModelTab) -> None:
        index = self.tabs.indexOf(tab)
        if index >= 0:
            self.tabs.setTabText(index, tab.path.name + (" *" if tab.modified else ""))
            self.tabs.setTabToolTip(index, str(tab.path) + ("\nneeds recompile before training" if tab.needs_recompile else ""))
        self._update_actions()

    def _update_actions(self) -> None:
        """Names the undo and redo steps of the tab in front, and enables what applies."""
        tab = self.current_tab()
        editor = tab.editor if tab is not None else None
        self.undo_action.setEnabled(bool(editor and editor.can_undo))
        self.undo_action.setText(f"&Undo {editor.undo_description}" if editor and editor.can_undo else "&Undo")
        self.redo_action.setEnabled(bool(editor and editor.can_redo))
        self.redo_action.setText(f"&Redo {editor.redo_description}" if editor and editor.can_redo else "&Redo")
        self.save_action.setEnabled(editor is not None)
        self.save_as_action.setEnabled(editor is not None)
        self.compare_action.setEnabled(editor is not None)
        self.recompile_action.setEnabled(bool(tab is not None and tab.needs_recompile))
        self.cluster_path_action.setEnabled(self.kernel_location.remote)
        self.local_action.setEnabled(self.kernel_location.remote)
        if tab is not None:
            self.kernel_label.setText(tab.kernel_text)
        else:
            self.kernel_label.setText(f"New models open on {self.kernel_location}")

    # Saving and building ------------------------------------------------------------------------

    def save_current(self) -> None:
        """Saves the tab in front to its file: nothing to do when unmodified; asks before
        replacing the file it was opened from; a built model goes to Save As."""
        tab = self.current_tab()
        if tab is None or tab.editor is None:
            return
        if tab.unsaved:
            self.save_current_as()
            return
        if not tab.modified:
            self.statusBar().showMessage("Nothing to save: the model is as it was opened or saved.", 5000)
            return
        answer = QMessageBox.question(
            self,
            "Replace the original file?",
            f"Save the changes over {tab.path.name}? The file it was opened from will be replaced.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            tab.save(tab.path, overwrite=True)

    def save_current_as(self) -> None:
        """Asks where to save the tab in front (.keras, or .h5 on request) and saves it there: a
        file of this computer, or for a model opened from a cluster path, a path there."""
        tab = self.current_tab()
        if tab is None or tab.editor is None:
            return
        if tab.on_cluster:  # a path on the cluster's side, where the kernel writes it
            dialog = ClusterPathDialog(self.settings, tab.runner.location.address, self, save=True)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.save_tab_as(tab, Path(dialog.chosen()))
            return
        file, _ = QFileDialog.getSaveFileName(
            self, "Save model as", str(self.dialog_folder() / tab.path.name), "Keras model (*.keras);;Legacy HDF5 (*.h5)"
        )
        if file:
            self._remember_folder(file)
            self.save_tab_as(tab, Path(file))

    def save_tab_as(self, tab: ModelTab, path: Path) -> None:
        """Saves ``tab`` to ``path`` (the file dialog already asked about replacing a file)."""
        if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
            path = path.with_suffix(".keras")
        job = tab.save(path, overwrite=True)
        if job is not None:
            job.succeeded.connect(lambda _: (self._tab_state_changed(tab), self._remember(tab.path)))

    def _build_from_selection(self, mode: str) -> None:
        tab = self.current_tab()
        if tab is None or not tab.is_loaded:
            return
        path = tab.details.layer.path if tab.details.layer is not None else tab.info.layers[-1].path
        self.build_model(tab, path, mode)

    def _lora_on_selection(self) -> None:
        tab = self.current_tab()
        if tab is None or not tab.is_loaded:
            return
        if tab.details.layer is None:
            self.statusBar().showMessage("Select a layer, a nested model or a block first: LoRA goes on it and the layers inside it.", 8000)
            return
        tab.enable_lora(tab.details.layer.path)

    def _activations_of_selection(self) -> None:
        tab = self.current_tab()
        if tab is not None and tab.is_loaded and tab.details.layer is not None:
            tab.show_activations(tab.details.layer.path)
        elif tab is not None and tab.is_loaded:
            tab.show_view("activations")

    def build_model(self, tab: ModelTab, layer_path: str, mode: str) -> None:
        """Asks how to build a new model from a layer of ``tab``'s model and builds it in the
        background; the result opens in a new tab.

        Args:
            tab: The tab with the source model.
            layer_path: Where to cut.
            mode: ``"head"`` for a new head on the layer's output, ``"replace_output"`` for a
                new output layer.
        """
        from inspector.kernel.session import build_job
        from inspector.jobs import SESSION
        from inspector.model.transfer import proposed_name
        from widgets.model.transfer_dialog import OutputDialog, TransferDialog

        layer = tab.info.layer_index()[layer_path]
        if mode == "head":
            shape = layer.output_shapes[0] if layer.output_shapes else "?"
            dialog = TransferDialog(layer.name, shape, shape.count(",") + 1, proposed_name(tab.info.name, layer.name), self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            kwargs = {"layer_path": layer_path, "head": dialog.spec()}
        else:
            outputs = [t.name for t in tab.info.outputs]
            dialog = OutputDialog(outputs, self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            kwargs = {"layer_path": None, **dialog.options()}
        if not tab._idle("used to build a new model"):
            return
        self._build_file(tab, "Build new model", lambda file: self.open_built(file, tab), build_job, SESSION, **kwargs)

    def quantize_copy(self) -> None:
        """Asks how, quantizes a copy of the current model in its kernel and opens the copy in a
        new tab; then compares the two on the Activations view's inputs, if the user asked."""
        from inspector.jobs import MODEL
        from inspector.model.quantization import quantize_copy_job
        from widgets.model.quantize_dialog import QuantizeDialog

        tab = self.current_tab()
        if tab is None or not tab.is_loaded:
            return
        inputs = tab.activations.input_data()
        dialog = QuantizeDialog(inputs is not None, self)
        if dialog.exec() != QDialog.DialogCode.Accepted or not tab._idle("quantized"):
            return
        mode, filters, compare = dialog.mode.currentText(), dialog.filters.text().strip(), dialog.compare.isChecked()
        def quantized(file: Path) -> None:
            copy = self.open_built(file, tab)
            if compare and inputs is not None:
                tab.compare_quantized(file, copy.path.name, *inputs)

        self._build_file(tab, f"Quantize a copy ({mode})", quantized, quantize_copy_job, MODEL, mode, filters)

    def _build_file(self, tab: ModelTab, name: str, done, job, live, *args, **kwargs) -> None:
        """Runs ``job(live, folder, *args, **kwargs)``, which writes a model file into ``folder``,
        in ``tab``'s kernel, with a new folder of the window's (the new tab deletes it when done
        with it); a kernel on a Ray cluster writes it in its own folder and sends it back. Calls
        ``done(file)`` with the file here."""
        from inspector.kernel.uploads import downloaded_job, write_atomically

        folder = Path(tempfile.mkdtemp(prefix="kmi-built-"))
        if tab.runner.location.remote:
            handle = tab._submit(name, downloaded_job, job, live, *args, **kwargs)
            handle.succeeded.connect(lambda sent: done(write_atomically(folder / sent[0], sent[1])))
        else:
            handle = tab._submit(name, job, live, str(folder), *args, **kwargs)
            handle.succeeded.connect(lambda file: done(Path(file)))
        handle.failed.connect(lambda _: shutil.rmtree(folder, ignore_errors=True))
        handle.progress.connect(lambda progress: self.statusBar().showMessage(progress.message))

    def model_tabs(self) -> list[ModelTab]:
        """The open tabs, in display order."""
        return [self.tabs.widget(i) for i in range(self.tabs.count())]

    def current_tab(self) -> ModelTab | None:
        """The tab in front, if any."""
        return self.tabs.currentWidget()

    def close_current_tab(self) -> None:
        """Closes the tab in front."""
        if self.tabs.count():
            self.close_tab(self.tabs.currentIndex())

    def close_tab(self, index: int) -> None:
        """Closes a tab. Its jobs are cancelled, its model's memory is freed on its thread, and that
        thread is joined in the background."""
        if index < 0:
            return
        tab = self.tabs.widget(index)
        if not self._may_stop_training([tab]) or (tab.modified and not self._may_discard(tab)):
            return
        self.tabs.removeTab(index)
        tab.shutdown()  # ends its kernel process, and the model's memory with it
        QTimer.singleShot(COLLECT_AFTER_CLOSE_MS, collect_everything)  # once the tab's widgets are gone
        self.statusBar().showMessage(f"Closed {tab.path.name}.", 5000)
        tab.deleteLater()
        if not self.tabs.count():
            self.pages.setCurrentWidget(self.start_page)

    def _may_stop_training(self, tabs: list[ModelTab]) -> bool:
        """Asks before stopping training runs; True when none runs or the user agreed."""
        running = [tab for tab in tabs if tab.is_loaded and tab.training_running]
        if not running:
            return True
        names = ", ".join(tab.path.name for tab in running)
        answer = QMessageBox.question(
            self,
            "Training is running",
            f"{names} is being trained. Stop training and close? The weights trained so far are "
            "kept in the model until it closes; nothing is written to the file.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _may_discard(self, tab: ModelTab) -> bool:
        """Asks what to do with a tab's unsaved changes; True when the tab may close now."""
        self.tabs.setCurrentWidget(tab)
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"{tab.path.name} has unsaved changes. Save them before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            self.save_current()
        return False

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accepts drags that carry local files."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Opens every dropped file (:meth:`open_paths`)."""
        self.open_paths([url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()])
        event.acceptProposedAction()

    def open_paths(self, files: list[str]) -> None:
        """Opens files dropped or named on the command line: models each in its own tab, vectors
        in an embeddings window (labelled by a metadata file given with them)."""
        vectors = [f for f in files if Path(f).suffix.lower() in VECTOR_SUFFIXES]
        for path, metadata in pair_vector_files(vectors):
            self.open_vectors(path, metadata)
        for file in files:
            if file not in vectors:
                self.open_file(file)

    # Commands -----------------------------------------------------------------------------------

    def _find(self) -> None:
        tab = self.current_tab()
        if tab is not None and tab.is_loaded:
            tab.show_find()

    def _find_next(self) -> None:
        tab = self.current_tab()
        if tab is not None and tab.is_loaded:
            tab.find_next()

    def _tab_call(self, name: str, *args) -> None:
        tab = self.current_tab()
        if tab is not None and tab.is_loaded:
            getattr(tab, name)(*args)

    def _graph_call(self, name: str) -> None:
        tab = self.current_tab()
        if tab is not None and tab.graph_shown:
            getattr(tab.graph, name)()

    def _show_view(self, index: int) -> None:
        tab = self.current_tab()
        if tab is not None and tab.is_loaded:
            tab.views.setCurrentIndex(index)

    def _open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file().parent)))

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Keras Model Inspector",
            "Keras Model Inspector: open saved Keras models and inspect their layer graph and "
            f"variables.\n\nLog file: {log_file()}",
        )

    # Lifecycle ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Ends every tab's kernel and every projector (nothing waits for TensorFlow)."""
        for window in list(self.projectors):
            window.close()
        for tab in self.model_tabs():
            tab.shutdown()
        if self._probe is not None:
            self._probe.shutdown()
        ProjectionService.close_shared()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The first time, without a remembered geometry, makes the window fit the screen."""
        super().showEvent(event)
        if self._fit_when_shown:
            self._fit_when_shown = False
            self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        """Shrinks the window, frame included, to the screen's free area (a laptop's 1366x768, say)
        and moves it there if it sticks out."""
        available = self.screen().availableGeometry()
        frame = self.frameGeometry().size() - self.size()
        self.resize(FIRST_SIZE.boundedTo(available.size() - frame))
        if not available.contains(self.frameGeometry()):
            self.move(available.topLeft())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Asks about unsaved changes, remembers the window layout, then stops all background
        work before closing."""
        if not self._may_stop_training(self.model_tabs()):
            event.ignore()
            return
        for tab in self.model_tabs():
            if tab.modified and not self._may_discard(tab):
                event.ignore()
                return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.shutdown()
        super().closeEvent(event)
