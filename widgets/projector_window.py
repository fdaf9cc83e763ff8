"""A window that plots vectors from files (the projector's TSV pair, or ``.npy`` + metadata)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QWidget

from inspector.jobs import Progress
from widgets.embedding_panel import EmbeddingPanel

VECTOR_SUFFIXES = (".tsv", ".npy", ".npz")
VECTOR_FILTER = "Vectors (*.tsv *.npy *.npz);;All files (*)"
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


class ProjectorWindow(QMainWindow):
    """A top-level embedding projector for vectors read from files.

    Args:
        settings: Where the panel remembers its choices.

    Signals:
        closed(object): The window closed (it passes itself).
    """

    closed = Signal(object)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("projectorWindow")
        self.setWindowTitle("Embeddings")
        self.panel = EmbeddingPanel(settings)
        self.panel.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.setCentralWidget(self.panel)
        menu = self.menuBar().addMenu("&File")
        menu.addAction("&Open Vectors…", QKeySequence.StandardKey.Open, self.browse)
        menu.addAction("&Close", QKeySequence.StandardKey.Close, self.close)
        self.resize(1400, 850)

    def browse(self) -> None:
        """Asks for a vectors file and opens it with the metadata beside it, if any."""
        path, _ = QFileDialog.getOpenFileName(self, "Open vectors", self.panel.last_folder(), VECTOR_FILTER)
        if path:
            self.open_files(path)

    def open_files(self, vectors: str | Path, metadata: str | Path | None = None):
        """Reads vectors (and metadata) in the background and plots them.

        Args:
            vectors: ``.tsv`` (the projector's format), ``.npy`` or ``.npz``.
            metadata: A metadata TSV; guessed from the vectors' name when ``None``.

        Returns:
            The reading job.
        """
        from inspector.embedding_data import read_npy, read_projector_tsv

        vectors = Path(vectors)
        metadata = Path(metadata) if metadata is not None else guess_metadata(vectors)
        read = read_projector_tsv if vectors.suffix.lower() == ".tsv" else read_npy
        self.setWindowTitle(f"Embeddings — {vectors.name}" + (f" + {metadata.name}" if metadata else ""))
        self.panel.message.setText(f"Reading {vectors.name}…")
        job = self.panel.runner.submit(f"Read {vectors.name}", _read_job, read, vectors, metadata)
        job.succeeded.connect(self.panel.set_points)
        job.failed.connect(lambda error: self.panel.show_error(str(error)))
        self.panel.warm_up()
        return job

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Ends the panel's background work before closing."""
        self.panel.shutdown()
        self.closed.emit(self)
        super().closeEvent(event)


def _read_job(read, vectors: Path, metadata: Path | None):
    yield Progress(f"Reading {vectors.name}…")
    return read(vectors, metadata)
