"""Where a model's embedding plot takes its points: Embedding weights or extracted activations."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton

from inspector.jobs import KEPT, call_job
from widgets.common.dialog_folders import DialogFolders
from widgets.inputs.vocabulary_file import ask_vocabulary_file

REDUCTIONS = {"flatten": "flattened", "mean": "average-pooled"}


class ModelEmbeddingSources(QGroupBox):
    """Lists a model's Embedding layers and the activations sent from the Activations view.

    Args:
        submit: Queues a job on the model's worker (``submit(name, job, *args) -> Job``).
        settings: Where the vocabulary folder is remembered, or ``None``.

    Attributes:
        file: The model's file, if known; the points it gives carry it as their path.
        activations_sent: Activations were sent here (their points are plotted or on the way).

    Signals:
        points_ready(object): An :class:`~inspector.embeddings.embedding_data.EmbeddingSet` to plot.
        failed(str): Why a source could not be read.
        ready(): The model's Embedding layers are listed.
    """

    points_ready = Signal(object)
    failed = Signal(str)
    ready = Signal()

    def __init__(self, submit: Callable, settings: QSettings | None = None, parent=None):
        super().__init__("Source", parent)
        self._submit = submit
        self.model = None
        self.file: Path | None = None
        self.folders = DialogFolders(settings, "embeddings/folders")
        self.vocabulary = None
        self._sets: dict[int, object] = {}
        self.activations_sent = False  # their points are plotted or on the way
        self.choice = QComboBox(objectName="embeddingSource")
        self.choice.setMinimumContentsLength(18)
        self.choice.activated.connect(lambda _: self.load())
        self.vocabulary_label = QLabel(objectName="vocabularyLabel")
        self.vocabulary_label.setWordWrap(True)
        choose = QPushButton("Vocabulary file…", objectName="chooseVocabulary")
        choose.clicked.connect(lambda: self.choose_vocabulary())
        row = QHBoxLayout()
        row.addWidget(self.vocabulary_label, 1)
        row.addWidget(choose)
        form = QFormLayout(self)
        form.addRow("Points", self.choice)
        form.addRow("Labels", row)
        self._labels_row = row
        self._form = form
        self.hint = QLabel(
            "Activations: extract in the Activations view, then Export ▸ Plot this layer in Embeddings.",
            objectName="sourceHint",
        )
        self.hint.setWordWrap(True)
        form.addRow(self.hint)

    def set_model(self, model, file: Path | None = None) -> None:
        """Lists the model's Embedding layers and picks up a vocabulary file saved beside it.

        Args:
            model: :data:`inspector.jobs.MODEL`, the tab kernel's model (listed there).
            file: The model's file; ``<name>_vocab.txt`` or ``vocab.txt`` beside it labels the
                Embedding rows unless the model has its own ``TextVectorization`` layer.
        """
        from inspector.embeddings.embedding_data import embedding_choices_job

        self.file = Path(file) if file is not None else None
        self.folders.model_folder = self.file.parent if self.file is not None else None
        self.choice.clear()
        self._sets.clear()
        job = self._submit("List Embedding layers", embedding_choices_job, model)
        job.succeeded.connect(lambda choices: self._choices_read(model, *choices))

    def _choices_read(self, model, paths: list[str], has_model_vocabulary: bool) -> None:
        from inspector.inputs.sequences import vocabulary_beside

        self.model = model
        for path in paths:
            self.choice.addItem(f"Embedding weights: {path}", path)
        self.vocabulary_label.setText("the model's TextVectorization vocabulary, if any")
        self._form.setRowVisible(self._labels_row, self.has_layers)
        if self.file is not None and self.has_layers and not has_model_vocabulary:
            found = vocabulary_beside(self.file)
            if found is not None:
                self._read_vocabulary(found)  # plotted with it when a layer is plotted
        self.ready.emit()

    @property
    def has_layers(self) -> bool:
        """Whether the model has an Embedding layer."""
        return any(self.choice.itemData(i) is not None for i in range(self.choice.count()))

    def load(self) -> None:
        """Reads the chosen source (in the background) and emits :attr:`points_ready`."""
        index = self.choice.currentIndex()
        if index < 0 or self.model is None:
            return
        if index in self._sets:
            self.points_ready.emit(self._sets[index])
            return
        from inspector.embeddings.embedding_data import from_embedding_layer

        path = self.choice.itemData(index)
        job = self._submit(f"Read {path}", call_job, from_embedding_layer, self.model, path, self.vocabulary, message="Reading the points…")
        job.succeeded.connect(lambda points: self.points_ready.emit(self._from_model(points)))
        job.failed.connect(lambda error: self.failed.emit(str(error)))

    def add_activations(self, activations, key: str, reduce: str) -> None:
        """Adds (and plots) one layer's outputs, computed now so later extractions cannot change them.

        Args:
            activations: The Activations view's results
                (:class:`~inspector.activations.kept_results.ExtractionSummary`; the outputs are in
                the kernel).
            key: The layer output.
            reduce: ``"flatten"`` or ``"mean"``.
        """
        from inspector.embeddings.embedding_data import kept_points_job

        name = f"Activations: {activations.target(key).layer} ({REDUCTIONS[reduce]})"
        self.activations_sent = True
        job = self._submit(f"Read {name}", kept_points_job, KEPT, activations.number, key, reduce)
        job.succeeded.connect(lambda points: self._add_set(name, self._from_model(points)))
        job.failed.connect(lambda error: self.failed.emit(str(error)))

    def _from_model(self, points):
        """The points with the model's file as their path (their file dialogs start beside it)."""
        return dataclasses.replace(points, path=self.file)

    def _add_set(self, name: str, points) -> None:
        index = self.choice.findText(name)
        if index < 0:
            self.choice.addItem(name)
            index = self.choice.count() - 1
        self._sets[index] = points
        self.choice.setCurrentIndex(index)
        self.points_ready.emit(points)

    def choose_vocabulary(self, path: str | Path | None = None) -> None:
        """Labels Embedding rows with the tokens of a vocabulary file (one token per line) and
        plots the chosen Embedding layer again with them.

        Args:
            path: The file; asks the user when ``None``.
        """
        if path is None:
            path = ask_vocabulary_file(self, self.folders)
            if not path:
                return
        if not self._read_vocabulary(path):
            return
        if self.choice.currentData() is not None:
            self.load()

    def _read_vocabulary(self, path: str | Path) -> bool:
        """Reads the vocabulary that labels Embedding rows; says why it cannot.

        Returns:
            Whether it was read.
        """
        from inspector.errors import InputDataError
        from inspector.inputs.sequences import Vocabulary

        try:
            self.vocabulary = Vocabulary.from_file(path)
        except InputDataError as exc:
            self.failed.emit(str(exc))
            return False
        self.vocabulary_label.setText(f"{Path(path).name} ({len(self.vocabulary):,} tokens)")
        return True
