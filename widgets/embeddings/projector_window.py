"""A window that plots vectors from files (the projector's TSV pair, or ``.npy`` + metadata).

The metadata file is found beside the vectors by the projector's naming habits, or chosen by
the user; the window's Files box says which one labels the points, or that none was found.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QPushButton, QWidget

from inspector.jobs import call_job
from widgets.embeddings.embedding_panel import EmbeddingPanel

VECTOR_SUFFIXES = (".tsv", ".npy", ".npz")
FIRST_SIZE = QSize(1400, 850)
VECTOR_FILTER = "Vectors (*.tsv *.npy *.npz);;All files (*)"
METADATA_FILTER = "Metadata (*.tsv *.txt);;All files (*)"
METADATA_NAMES = ("metadata.tsv", "{stem}_metadata.tsv", "{stem}.metadata.tsv", "{stem}_labels.tsv")


def guess_metadata(vectors: str | Path) -> Path | None:
    """The metadata file that goes with a vectors file, by the projector's naming habits.

    Args:
        vectors: ``vectors.tsv``, ``embeddings.npy``, ...

    Returns:
        ``metadata.tsv`` or ``<stem>_metadata.tsv`` (or ``<stem>.metadata.tsv``, ``<stem>_labels.tsv``) beside it, if one exists.
    """
    vectors = Path(vectors)
    for pattern in METADATA_NAMES:
        candidate = vectors.with_name(pattern.format(stem=vectors.stem))
        if candidate.is_file() and candidate != vectors:
            return candidate
    return None


def metadata_names(vectors: str | Path) -> list[str]:
    """The names :func:`guess_metadata` looks for beside a vectors file."""
    stem = Path(vectors).stem
    return [pattern.format(stem=stem) for pattern in METADATA_NAMES]


def pair_vector_files(files: list[str | Path]) -> list[tuple[Path, Path | None]]:
    """Dropped vector files, each with the dropped file that is its metadata, if any.

    A dropped file named as :func:`guess_metadata` names the metadata of another dropped file
    (``vectors.tsv`` + ``metadata.tsv``) labels that file's points instead of being plotted; so
    does a ``.tsv`` dropped together with exactly one ``.npy`` / ``.npz``.

    Args:
        files: The dropped files with a :data:`VECTOR_SUFFIXES` suffix.

    Returns:
        ``(vectors, metadata or None)`` for each file to plot, in the order dropped.
    """
    paths = [Path(f) for f in files]
    metadata: dict[Path, Path] = {}
    for vectors in paths:
        names = metadata_names(vectors)
        match = next((p for p in paths if p != vectors and p.name in names and p.parent == vectors.parent), None)
        if match is not None:
            metadata[vectors] = match
    arrays = [p for p in paths if p.suffix.lower() in (".npy", ".npz")]
    tables = [p for p in paths if p.suffix.lower() == ".tsv"]
    if len(paths) == 2 and len(arrays) == 1 and len(tables) == 1:
        metadata.setdefault(arrays[0], tables[0])
    labels = set(metadata.values())
    return [(p, metadata.get(p)) for p in paths if p not in labels]


class VectorFiles(QGroupBox):
    """Names the vectors file and the metadata file that labels its points, with a button to
    choose another metadata file."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Files", parent)
        self.vectors_label = QLabel(objectName="vectorsFile")
        self.vectors_label.setWordWrap(True)
        self.metadata_label = QLabel("—", objectName="metadataFile")
        self.metadata_label.setWordWrap(True)
        self.choose = QPushButton("Metadata file…", objectName="chooseMetadata")
        self.choose.setToolTip("Label the points with another metadata file (Ctrl+M)")
        self.choose.setEnabled(False)
        self.error = QLabel(objectName="metadataError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        self.error.setVisible(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.choose)
        form = QFormLayout(self)
        form.addRow("Vectors", self.vectors_label)
        form.addRow("Metadata", self.metadata_label)
        form.addRow(self.error)
        form.addRow(row)

    def show_error(self, text: str) -> None:
        """Says why a chosen metadata file was not used (the points keep their labels)."""
        self.error.setText(text)
        self.error.setVisible(True)

    def show_files(self, vectors: Path, metadata: Path | None, guessed: bool) -> None:
        """Says which files the points on show were read from.

        Args:
            vectors: The vectors file.
            metadata: The metadata file, or ``None``.
            guessed: Whether the metadata file was found beside the vectors rather than chosen.
        """
        self.vectors_label.setText(vectors.name)
        self.vectors_label.setToolTip(str(vectors))
        self.choose.setEnabled(True)
        self.error.setVisible(False)
        if metadata is None:
            looked = ", ".join(metadata_names(vectors))
            self.metadata_label.setText(
                f"None found beside {vectors.name} (looked for {looked}); points are labelled by row number."
            )
            self.metadata_label.setToolTip("")
            return
        self.metadata_label.setText(metadata.name + (f" (found beside {vectors.name})" if guessed else ""))
        self.metadata_label.setToolTip(str(metadata))


class ProjectorWindow(QMainWindow):
    """A top-level embedding projector for vectors read from files.

    Args:
        settings: Where the panel remembers its choices.

    Attributes:
        vectors: The vectors file on show (or being read), or ``None``.

    Signals:
        closed(object): The window closed (it passes itself).
    """

    closed = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("projectorWindow")
        self.setWindowTitle("Embeddings")
        self.vectors: Path | None = None
        self.panel = EmbeddingPanel(settings)
        self.panel.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.files = VectorFiles()
        self.files.choose.clicked.connect(lambda: self.choose_metadata())
        self.panel.add_source(self.files)
        self.setCentralWidget(self.panel)
        menu = self.menuBar().addMenu("&File")
        menu.addAction("&Open Vectors…", QKeySequence.StandardKey.Open, self.browse)
        self.metadata_action = menu.addAction("Open &Metadata…", "Ctrl+M", lambda: self.choose_metadata())
        self.metadata_action.setEnabled(False)
        menu.addAction("&Close", QKeySequence.StandardKey.Close, self.close)
        self.resize(FIRST_SIZE.boundedTo(self.screen().availableGeometry().size()))

    def browse(self) -> None:
        """Asks for a vectors file and opens it with the metadata beside it, if any."""
        path, _ = QFileDialog.getOpenFileName(self, "Open vectors", self.panel.folders.start("vectors"), VECTOR_FILTER)
        if path:
            self.panel.folders.remember("vectors", path)
            self.open_files(path)

    def choose_metadata(self, path: str | Path | None = None):
        """Labels the points on show with another metadata file, keeping their projection.

        Args:
            path: The metadata file; asks the user when ``None``.

        Returns:
            The reading job, or ``None`` if there are no vectors or the user cancelled.
        """
        if self.vectors is None:
            return None
        if path is None:
            start = self.panel.folders.start("metadata")
            path, _ = QFileDialog.getOpenFileName(self, "Metadata for the points", start, METADATA_FILTER)
            if not path:
                return None
            self.panel.folders.remember("metadata", path)
        # On the panel's second thread: a projection under way does not hold it up.
        job = self._read(self.panel.queries, self.vectors, Path(path), guessed=False, show=self.panel.set_metadata)
        job.failed.connect(lambda error: self.files.show_error(str(error)))
        return job

    def open_files(self, vectors: str | Path, metadata: str | Path | None = None):
        """Reads vectors (and metadata) in the background and plots them.

        Args:
            vectors: ``.tsv`` (the projector's format), ``.npy`` or ``.npz``.
            metadata: A metadata TSV; looked for beside the vectors (:func:`guess_metadata`)
                when ``None``.

        Returns:
            The reading job.
        """
        vectors = Path(vectors)
        guessed = metadata is None
        metadata = guess_metadata(vectors) if guessed else Path(metadata)
        self.vectors = vectors
        self.panel.folders.model_folder = vectors.parent
        self.metadata_action.setEnabled(True)
        job = self._read(self.panel.runner, vectors, metadata, guessed, show=self.panel.set_points)
        job.failed.connect(lambda error: self.panel.show_error(str(error)))
        self.panel.warm_up()
        return job

    def _read(self, runner, vectors: Path, metadata: Path | None, guessed: bool, show):
        """Reads the files with ``runner``; on success ``show(points)`` and names the files."""
        from inspector.embeddings.embedding_data import read_npy, read_projector_tsv

        read = read_projector_tsv if vectors.suffix.lower() == ".tsv" else read_npy
        self.statusBar().showMessage(f"Reading {vectors.name}" + (f" and {metadata.name}…" if metadata else "…"))
        job = runner.submit(f"Read {vectors.name}", call_job, read, vectors, metadata, message=f"Reading {vectors.name}…")
        job.succeeded.connect(lambda points: self._show(points, metadata, guessed, show))
        job.failed.connect(lambda error: self.statusBar().showMessage(str(error), 8000))
        return job

    def _show(self, points, metadata: Path | None, guessed: bool, show) -> None:
        self.files.show_files(points.path, metadata, guessed)
        self.setWindowTitle(f"Embeddings — {points.path.name}" + (f" + {metadata.name}" if metadata else ""))
        show(points)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Ends the panel's background work before closing."""
        self.panel.shutdown()
        self.closed.emit(self)
        super().closeEvent(event)
