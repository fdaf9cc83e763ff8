"""Editors for the data fed to each model input: images, sequences or text, and arrays.

An editor does not read the data itself: :meth:`InputEditor.source` returns a Qt-free callable
that the extraction job runs on the model's worker, so reading hundreds of images never blocks
the window. Only the previews (one image, a few padded sequences) are computed here.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.errors import InputDataError
from inspector.inputs.input_data import (
    IMAGE_SUFFIXES,
    PREPROCESSING,
    InputSpec,
    SampleSet,
    array_samples,
    find_images,
    image_samples,
    out_of_range_ids,
    preprocess,
    read_image,
    spec_shape_text,
    token_id_problem,
    typed_samples,
)
from inspector.inputs.sequences import PadOptions, Vocabulary, pad, padding_mask, parse_sequences, read_lines
from inspector.kernel.uploads import FileUpload
from widgets.common.dialog_folders import DialogFolders
from widgets.inputs.vocabulary_file import ask_vocabulary_file
from widgets.inputs.pad_options import PadOptionsRow
from widgets.common.flow_layout import flow_row

ARRAY_SUFFIXES = (".npy", ".npz")
TEXT_SUFFIXES = (".txt", ".tsv", ".csv")
PREVIEW_ROWS = 5
PREVIEW_SIZE = 96
FOLDERS_PREFIX = "activations/folders"
PREPROCESSING_KEY = "activations/preprocessing"
TITLE_WIDTH = 240
"""Pixels an editor's title may take before it is elided (the full title is its tooltip)."""
COMBO_CHARACTERS = 12
"""Characters a choice box shows at least; longer choices are elided to fit a narrow column."""
OUT_OF_RANGE = QColor("#f5b7b1")


def shrinking_combo() -> QComboBox:
    """A choice box that can be narrower than its longest choice (elided; the list shows all)."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_CHARACTERS)
    return combo


def _wrapping_form() -> QFormLayout:
    """A form whose fields go below their labels when the column is too narrow for both."""
    form = QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class InputEditor(QGroupBox):
    """The data for one model input. Every kind also accepts an ``.npy`` / ``.npz`` file.

    Args:
        spec: The model input.
        settings: Where choices are remembered (or ``None``).
        folders: Where the file dialogs start (by default remembered in ``settings``).

    Signals:
        changed(): The data or its options changed.
    """

    changed = Signal()

    def __init__(
        self,
        spec: InputSpec,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        folders: DialogFolders | None = None,
    ):
        super().__init__(parent)
        self._set_title(f"{spec.name}  {spec_shape_text(spec)} {spec.dtype}")
        self.spec = spec
        self.settings = settings
        self.folders = folders if folders is not None else DialogFolders(settings, FOLDERS_PREFIX)
        self.array_path: Path | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.array_button = QPushButton("Load .npy / .npz…")
        self.array_button.clicked.connect(self._choose_array)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.layout_ = QVBoxLayout(self)

    @property
    def has_data(self) -> bool:
        """Whether the input has data."""
        return self.array_path is not None

    def source(self, upload: bool = False) -> Callable[[], SampleSet] | None:
        """A callable that reads this input's data in the background, or ``None`` if it has none.

        Args:
            upload: The kernel that calls it runs on another computer: the files chosen here
                travel with it (:class:`~inspector.kernel.uploads.FileUpload`).
        """
        if self.array_path is not None:
            return partial(array_samples, sent(self.array_path, upload), [self.spec])
        return None

    def accepts(self, path: Path) -> bool:
        """Whether a dropped file or folder can be data for this input."""
        return path.suffix.lower() in ARRAY_SUFFIXES

    def add_paths(self, paths: list[Path]) -> str:
        """Uses dropped or chosen files; returns what was done, for the user."""
        arrays = [p for p in paths if p.suffix.lower() in ARRAY_SUFFIXES]
        if arrays:
            self.array_path = arrays[0]
            self._show_summary()
            self.changed.emit()
            return f"{self.spec.name}: arrays from {arrays[0].name}"
        return ""

    def clear(self) -> None:
        """Forgets the data."""
        self.array_path = None
        self._show_summary()
        self.changed.emit()

    def _show_summary(self) -> None:
        self.summary.setText(f"Arrays from {self.array_path.name}" if self.array_path else "No data yet")

    def _set_title(self, title: str) -> None:
        """Shows ``title``, elided when it is too long for a narrow column."""
        self.setTitle(self.fontMetrics().elidedText(title, Qt.TextElideMode.ElideMiddle, TITLE_WIDTH))
        self.setToolTip(title)

    def _choose_array(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Arrays for {self.spec.name}", self._folder(), "NumPy (*.npy *.npz)")
        if path:
            self._remember_folder(path)
            self.add_paths([Path(path)])

    def _folder(self) -> str:
        return self.folders.start("inputs")

    def _remember_folder(self, path: str) -> None:
        self.folders.remember("inputs", path)

    def _buttons(self, *buttons: QPushButton) -> QWidget:
        return flow_row(*buttons, self.array_button, self.clear_button)


class ImageInputEditor(InputEditor):
    """Image files or folders (class sub-folders give each image its class), with the
    preprocessing the model expects and a preview of what the model receives."""

    def __init__(
        self,
        spec: InputSpec,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        folders: DialogFolders | None = None,
    ):
        super().__init__(spec, settings, parent, folders=folders)
        self.files: list[Path] = []
        self.classes: list[str] | None = None
        self.sources_given: list[Path] = []
        add_files = QPushButton("Add images…")
        add_files.clicked.connect(self._choose_files)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self._choose_folder)
        self.preprocessing = shrinking_combo()
        for mode, label in PREPROCESSING.items():
            self.preprocessing.addItem(label, mode)
            self.preprocessing.setItemData(self.preprocessing.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        saved = settings.value(PREPROCESSING_KEY, "none") if settings is not None else "none"
        self.preprocessing.setCurrentIndex(max(self.preprocessing.findData(saved), 0))
        self.preprocessing.currentIndexChanged.connect(self._preprocessing_changed)
        self.preview = QLabel()
        self.preview.setObjectName("imagePreview")
        self.preview.setFixedSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("border: 1px solid #bbb; background: #fafafa;")
        self.preview_text = QLabel()
        self.preview_text.setWordWrap(True)
        form = _wrapping_form()
        form.addRow("Preprocessing", self.preprocessing)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview)
        preview_row.addWidget(self.preview_text, 1)
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self._buttons(add_files, add_folder))
        self.layout_.addLayout(form)
        self.layout_.addLayout(preview_row)
        self._show_summary()

    @property
    def has_data(self) -> bool:
        return bool(self.files) or super().has_data

    @property
    def mode(self) -> str:
        """The chosen preprocessing, a key of :data:`inspector.inputs.input_data.PREPROCESSING`."""
        return self.preprocessing.currentData()

    def source(self, upload: bool = False) -> Callable[[], SampleSet] | None:
        if self.files:
            given = [sent(path, upload, IMAGE_SUFFIXES) for path in self.sources_given]
            return partial(image_samples, given, self.spec, self.mode)
        return super().source(upload)

    def accepts(self, path: Path) -> bool:
        return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES or super().accepts(path)

    def add_paths(self, paths: list[Path]) -> str:
        images = [p for p in paths if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            return super().add_paths(paths)
        try:
            files, classes = find_images(self.sources_given + images)
        except InputDataError as error:
            return str(error)
        self.array_path = None
        self.sources_given += images
        self.files, self.classes = files, classes
        self._show_summary()
        self._show_preview()
        self.changed.emit()
        return f"{self.spec.name}: {len(files)} image(s)"

    def clear(self) -> None:
        self.files, self.classes, self.sources_given = [], None, []
        self.preview.clear()
        self.preview_text.clear()
        super().clear()

    def _show_summary(self) -> None:
        if not self.files:
            super()._show_summary()
            if self.array_path is None:
                self.summary.setText("Drop images or folders here, or add them")
            return
        text = f"{len(self.files)} image(s)"
        if self.classes:
            text += f" in {len(set(self.classes))} class folders"
        self.summary.setText(text + f" · resized to {self.spec.shape[0]}×{self.spec.shape[1]}")

    def _preprocessing_changed(self) -> None:
        if self.settings is not None:
            self.settings.setValue(PREPROCESSING_KEY, self.mode)
        self._show_preview()
        self.changed.emit()

    def _show_preview(self) -> None:
        """Shows the first image as the model receives it, and the range of its values."""
        if not self.files:
            return
        size = self.spec.shape[:2] if None not in self.spec.shape[:2] else None
        channels = self.spec.shape[2] or 3
        try:
            pixels = read_image(self.files[0], size, channels)
            values = preprocess(pixels[None], self.mode)[0]
        except InputDataError as error:
            self.preview.clear()
            self.preview_text.setText(str(error))
            return
        low, high = float(values.min()), float(values.max())
        shown = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        self.preview.setPixmap(_pixmap(shown.astype(np.uint8)).scaled(
            PREVIEW_SIZE, PREVIEW_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        ))
        self.preview_text.setText(
            f"{self.files[0].name} as the model receives it: {values.shape[0]}×{values.shape[1]}×{values.shape[2]}, "
            f"values {low:.3g} … {high:.3g}"
        )

    def _choose_files(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        files, _ = QFileDialog.getOpenFileNames(self, f"Images for {self.spec.name}", self._folder(), f"Images ({patterns})")
        if files:
            self._remember_folder(files[0])
            self.add_paths([Path(f) for f in files])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, f"Folder of images for {self.spec.name}", self._folder())
        if folder:
            self._remember_folder(folder)
            self.add_paths([Path(folder)])


def _pixmap(pixels: np.ndarray) -> QPixmap:
    """A pixmap of uint8 ``(H, W, C)`` pixels with 1, 3 or 4 channels."""
    pixels = np.ascontiguousarray(pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., 0])
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class SequenceInputEditor(InputEditor):
    """Text lines or token-id sequences, padded with ``pad_sequences`` options, with a preview of
    the padded batch in which padding (masked) positions are grey."""

    def __init__(
        self,
        spec: InputSpec,
        vocabulary: Vocabulary | None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        folders: DialogFolders | None = None,
    ):
        super().__init__(spec, settings, parent, folders=folders)
        self.vocabulary = vocabulary
        self.text = QPlainTextEdit()
        self.text.setObjectName("sequenceText")
        self.text.setPlaceholderText("One input per line: text, or token ids separated by spaces")
        self.text.setMaximumHeight(110)
        load_text = QPushButton("Load text file…")
        load_text.clicked.connect(self._choose_text)
        self.vocabulary_label = QLabel()
        self.vocabulary_label.setWordWrap(True)
        choose_vocabulary = QPushButton("Vocabulary file…")
        choose_vocabulary.clicked.connect(self._choose_vocabulary)
        self.pad_row = PadOptionsRow("0 (auto): the model's length if it has one, else the longest input")
        options = _wrapping_form()
        options.addRow("Vocabulary", self.vocabulary_label)
        options.addRow("Pad", self.pad_row)
        self.preview = QTableWidget()
        self.preview.setObjectName("paddedPreview")
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.preview.setMaximumHeight(150)
        self.preview_text = QLabel()
        self.preview_text.setWordWrap(True)
        self.layout_.addWidget(self.text)
        self.layout_.addWidget(self._buttons(load_text, choose_vocabulary))
        self.layout_.addLayout(options)
        self.layout_.addWidget(self.preview)
        self.layout_.addWidget(self.preview_text)

        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self._show_preview)
        self.text.textChanged.connect(self._edited)
        self.pad_row.changed.connect(self._edited)
        self._show_vocabulary()
        self._show_summary()

    @property
    def lines(self) -> list[str]:
        """The non-empty lines of the text box."""
        return [line for line in self.text.toPlainText().splitlines() if line.strip()]

    @property
    def options(self) -> PadOptions:
        """The padding options as chosen."""
        return self.pad_row.options

    @property
    def has_data(self) -> bool:
        return bool(self.lines) or super().has_data

    def source(self, upload: bool = False) -> Callable[[], SampleSet] | None:
        from inspector.inputs.sequences import sequence_samples

        if self.lines:
            return partial(sequence_samples, self.lines, self.spec, self.vocabulary, self.options)
        return super().source(upload)

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in TEXT_SUFFIXES or super().accepts(path)

    def add_paths(self, paths: list[Path]) -> str:
        texts = [p for p in paths if p.suffix.lower() in TEXT_SUFFIXES]
        if not texts:
            return super().add_paths(paths)
        try:
            lines = read_lines(texts[0])
        except InputDataError as error:
            return str(error)
        self.array_path = None
        self.text.setPlainText("\n".join(lines))
        return f"{self.spec.name}: {len(lines)} line(s) from {texts[0].name}"

    def clear(self) -> None:
        self.text.clear()
        super().clear()

    def set_vocabulary_file(self, path: str | Path) -> str:
        """Uses a vocabulary file (one token per line, as ``TextVectorization`` reads it)."""
        try:
            self.vocabulary = Vocabulary.from_file(path)
        except InputDataError as error:
            self.vocabulary_label.setText(str(error))
            return str(error)
        self._show_vocabulary()
        self._edited()
        return f"Vocabulary: {len(self.vocabulary)} tokens from {Path(path).name}"

    def _show_vocabulary(self) -> None:
        if self.vocabulary is None:
            self.vocabulary_label.setText("none: type token ids, or choose a vocabulary file for text")
        else:
            self.vocabulary_label.setText(f"{len(self.vocabulary):,} tokens from {self.vocabulary.source}")

    def _show_summary(self) -> None:
        count = len(self.lines)
        if count:
            self.summary.setText(f"{count} input(s)")
        else:
            super()._show_summary()
            if self.array_path is None:
                self.summary.setText("Type or load inputs, one per line")

    def _edited(self) -> None:
        self._show_summary()
        self._debounce.start()
        self.changed.emit()

    def _show_preview(self) -> None:
        """Pads the first few lines and shows them, padding positions grey."""
        lines = self.lines[:PREVIEW_ROWS]
        self.preview.clear()
        self.preview.setRowCount(0)
        self.preview.setColumnCount(0)
        if not lines:
            self.preview_text.clear()
            return
        try:
            sequences, raw = parse_sequences(lines)
            if not raw:
                if self.vocabulary is None:
                    raise InputDataError("Text needs a vocabulary: choose a vocabulary file, or type token ids")
                sequences = [self.vocabulary.encode(line)[0] for line in lines]
            model_length = self.spec.shape[0] if self.spec.shape else None
            padded, notes = pad(sequences, self.options, model_length)
        except InputDataError as error:
            self.preview_text.setText(str(error))
            return
        mask = padding_mask(padded, self.options.value)
        outside = out_of_range_ids(padded, self.spec)
        self.preview.setRowCount(len(padded))
        self.preview.setColumnCount(padded.shape[1])
        grey = QColor("#dddddd")
        for row, (ids, real, bad) in enumerate(zip(padded, mask, outside)):
            for column, (token_id, keep, wrong) in enumerate(zip(ids, real, bad)):
                text = self.vocabulary.token(int(token_id)) if self.vocabulary is not None and keep else str(int(token_id))
                item = QTableWidgetItem(text)
                tip = f"id {int(token_id)}" + ("" if keep else " · padding, masked")
                item.setToolTip(tip + (f" · out of range for Embedding '{self.spec.embedding}'" if wrong else ""))
                if wrong or not keep:
                    item.setBackground(OUT_OF_RANGE if wrong else grey)
                self.preview.setItem(row, column, item)
        self.preview.resizeColumnsToContents()
        shown = f"First {len(padded)} of {len(self.lines)} padded to {padded.shape[1]} steps; grey = padding (masked)."
        problem = token_id_problem(padded, self.spec)
        self.preview_text.setText(" ".join(([problem] if problem else []) + [shown, *notes]))

    def _choose_text(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Text for {self.spec.name}", self._folder(), "Text (*.txt *.tsv *.csv)")
        if path:
            self._remember_folder(path)
            self.add_paths([Path(path)])

    def _choose_vocabulary(self) -> None:
        path = ask_vocabulary_file(self, self.folders)
        if path:
            self.set_vocabulary_file(path)


class VectorInputEditor(InputEditor):
    """Arrays from a file, or one input typed as comma-separated values."""

    def __init__(
        self,
        spec: InputSpec,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        folders: DialogFolders | None = None,
    ):
        super().__init__(spec, settings, parent, folders=folders)
        self.values = QLineEdit()
        self.values.setObjectName("vectorValues")
        self.values.setPlaceholderText("or type one input: values separated by commas")
        self.values.textChanged.connect(lambda _: (self._show_summary(), self.changed.emit()))
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self._buttons())
        self.layout_.addWidget(self.values)
        self._show_summary()

    @property
    def has_data(self) -> bool:
        return bool(self.values.text().strip()) or super().has_data

    def _show_summary(self) -> None:
        if self.array_path is None and self.values.text().strip():
            self.summary.setText("One input, typed below (used with every input of the other kinds)")
        else:
            super()._show_summary()

    def source(self, upload: bool = False) -> Callable[[], SampleSet] | None:
        text = self.values.text().strip()
        if text and self.array_path is None:
            return partial(typed_samples, text, self.spec)
        return super().source(upload)

    def clear(self) -> None:
        self.values.clear()
        super().clear()


def make_editor(
    spec: InputSpec,
    vocabulary: Vocabulary | None,
    settings: QSettings | None = None,
    folders: DialogFolders | None = None,
) -> InputEditor:
    """The editor that fits an input's kind."""
    if spec.kind == "image":
        return ImageInputEditor(spec, settings, folders=folders)
    if spec.kind in ("sequence", "text"):
        return SequenceInputEditor(spec, vocabulary, settings, folders=folders)
    return VectorInputEditor(spec, settings, folders=folders)


class InputsForm(QWidget):
    """One editor per model input, and one ``.npz`` for all of them at once.

    Args:
        specs: The model's inputs.
        vocabulary: The model's vocabulary (its TextVectorization layer's, or a file's), if any.
        settings: Where choices are remembered (or ``None``).
        folders: Where the file dialogs start (by default remembered in ``settings``).

    Signals:
        changed(): Any input's data or options changed.
    """

    changed = Signal()

    def __init__(
        self,
        specs: list[InputSpec],
        vocabulary: Vocabulary | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        folders: DialogFolders | None = None,
    ):
        super().__init__(parent)
        self.specs = specs
        self.folders = folders if folders is not None else DialogFolders(settings, FOLDERS_PREFIX)
        self.all_inputs_path: Path | None = None
        self.editors = {spec.name: make_editor(spec, vocabulary, settings, self.folders) for spec in specs}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if len(specs) > 1:
            self.all_label = QLabel(f"{len(specs)} inputs: give data for each, or one .npz holding all of them.")
            self.all_label.setWordWrap(True)
            all_button = QPushButton("Load .npz for all inputs…")
            all_button.clicked.connect(self._choose_all)
            layout.addWidget(self.all_label)
            layout.addWidget(all_button)
        for editor in self.editors.values():
            editor.changed.connect(self._editor_changed)
            layout.addWidget(editor)
        layout.addStretch(1)

    @property
    def has_data(self) -> bool:
        """Whether every input has data."""
        return self.all_inputs_path is not None or all(editor.has_data for editor in self.editors.values())

    def sources(self, upload: bool = False) -> dict[str, Callable[[], SampleSet]]:
        """Per input, the callable that reads its data in the background.

        Args:
            upload: The kernel that calls them runs on another computer: the files chosen here
                travel with them.

        Raises:
            InputDataError: Naming the inputs that have no data yet.
        """
        if self.all_inputs_path is not None:
            return {"all inputs": partial(array_samples, sent(self.all_inputs_path, upload), self.specs)}
        sources = {name: editor.source(upload) for name, editor in self.editors.items()}
        missing = [name for name, source in sources.items() if source is None]
        if missing:
            raise InputDataError(
                "No data yet for " + ", ".join(f"'{name}'" for name in missing) + ": drop files on the panel or use its buttons."
            )
        return sources

    def add_paths(self, paths: list[str | Path]) -> str:
        """Gives dropped files and folders to the inputs that can take them.

        Returns:
            What was done, or why nothing was, for the user.
        """
        paths = [Path(p) for p in paths]
        if len(self.specs) > 1:
            npz = [p for p in paths if p.suffix.lower() == ".npz"]
            if npz:
                self.all_inputs_path = npz[0]
                self.all_label.setText(f"All inputs from {npz[0].name}.")
                self.changed.emit()
                return f"All inputs from {npz[0].name}"
        messages = []
        for path in [p for p in paths if p.suffix.lower() == ".npy"]:
            messages.append(self._editor_for_array(path).add_paths([path]))
            paths.remove(path)
        for editor in self.editors.values():
            taken = [p for p in paths if editor.accepts(p)]
            if taken:
                messages.append(editor.add_paths(taken))
                paths = [p for p in paths if p not in taken]
        if paths:
            messages.append("Not used: " + ", ".join(p.name for p in paths) + " (no input takes this kind of file)")
        return "; ".join(m for m in messages if m)

    def _editor_for_array(self, path: Path) -> InputEditor:
        """The editor of the first input whose shape fits the array in an ``.npy`` file."""
        try:
            shape = np.load(path, mmap_mode="r").shape
        except (OSError, ValueError):
            shape = None  # the editor's reader reports the problem when the data is read
        for editor in self.editors.values():
            spec_shape = editor.spec.shape
            for candidate in (shape[1:], shape) if shape is not None else ():
                if len(candidate) == len(spec_shape) and all(d is None or d == c for d, c in zip(spec_shape, candidate)):
                    return editor
        return next(iter(self.editors.values()))

    def _editor_changed(self) -> None:
        if self.all_inputs_path is not None:
            self.all_inputs_path = None
            self.all_label.setText(f"{len(self.specs)} inputs: give data for each, or one .npz holding all of them.")
        self.changed.emit()

    def _choose_all(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Arrays for all inputs", self.folders.start("inputs"), "NumPy archive (*.npz)")
        if path:
            self.folders.remember("inputs", path)
            self.add_paths([path])


def sent(path: Path, upload: bool, suffixes: tuple[str, ...] = ()) -> Path | FileUpload:
    """``path`` as a job in the kernel gets it: the path itself, or, for a kernel on another
    computer, an upload of the file or folder (of a folder, the files ending in ``suffixes``)."""
    return FileUpload(path, suffixes) if upload else path
