"""Where training data comes from: image class folders, arrays, text or the user's own
generator, with the validation split and, for images, augmentation and its live preview.

The editor reads nothing big: :meth:`TrainingDataEditor.source` returns a Qt-free callable that
the training job runs on the model's worker. Here only a few images are read, for the preview;
their augmentation (Keras layers) runs on a small worker of the editor's own, so the window
never waits for TensorFlow.
"""

from __future__ import annotations

import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPixmap
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
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.training.augmentation import FLIP_MODES, AugmentationSettings, preview_job
from inspector.errors import InputDataError
from inspector.inputs.input_data import PREPROCESSING, InputSpec
from inspector.inputs.sequences import PadOptions, Vocabulary
from inspector.training.data_source import DataSource
from inspector.training.image_folder_data import sample_images
from inspector.training.training_data import TrainingData
from widgets.common.dialog_folders import DialogFolders
from widgets.inputs.vocabulary_file import ask_vocabulary_file
from widgets.inputs.pad_options import PadOptionsRow
from widgets.inputs.input_editors import _pixmap

KINDS: dict[str, str] = {
    "images": "Image folder (one sub-folder per class)",
    "arrays": "Arrays (.npz or folder of .npy)",
    "text": "Text (folder or CSV/TSV)",
    "generator": "My own generator (.py)",
}
CODE_WARNING = "This runs the Python code in that file with your permissions."
PREVIEW_IMAGES = 4  # rows of the preview grid
PREVIEW_COPIES = 4  # augmented copies per image (columns)
PREVIEW_TILE = 56  # pixels per preview image
PREVIEW_GAP = 3
FIELD_WIDTH = 110
SETTINGS_PREFIX = "training_data/"
_FACTORS = ("rotation", "zoom", "translation", "contrast", "brightness")
_FACTOR_TIPS = {
    "rotation": "Rotate by up to this fraction of a full turn, either way (keras.layers.RandomRotation)",
    "zoom": "Zoom in or out by up to this fraction (keras.layers.RandomZoom)",
    "translation": "Shift by up to this fraction of the height and width (keras.layers.RandomTranslation)",
    "contrast": "Change the contrast by up to this factor (keras.layers.RandomContrast)",
    "brightness": "Change the brightness by up to this fraction of 0-255 (keras.layers.RandomBrightness)",
}


class TrainingDataEditor(QWidget):
    """Choose where training data comes from, with augmentation and its live preview.

    Args:
        specs: The model's inputs.
        output_names: The model's outputs.
        vocabulary: The model's own vocabulary (TextVectorization), if any.
        settings: Where choices are remembered (or ``None``).
        model_folder: The open model's folder, where the file dialogs start until one is used.
        submit_latest: ``submit_latest(key, name, job, *args)`` of the model's kernel runner
            (:meth:`~widgets.common.job_runner.LatestJobs.submit_latest`): augmentation previews
            run Keras' preprocessing layers there.

    Signals:
        changed(): The source or any of its options changed.
    """

    changed = Signal()
    preview_updated = Signal()

    def __init__(
        self,
        specs: list[InputSpec],
        output_names: list[str],
        vocabulary: Vocabulary | None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        model_folder: Path | None = None,
        submit_latest: Callable,
    ):
        super().__init__(parent)
        self.folders = DialogFolders(settings, SETTINGS_PREFIX + "folders")
        self.folders.model_folder = model_folder
        self.specs = list(specs)
        self.output_names = list(output_names)
        self.vocabulary = vocabulary
        self.vocabulary_source = "the model's TextVectorization layer" if vocabulary is not None else ""
        self.settings = settings
        self.paths: dict[str, Path] = {}
        self.validation_paths: dict[str, Path] = {}
        self.confirmed_code: Path | None = None
        self.preview_pixels: np.ndarray | None = None
        self._images: np.ndarray | None = None
        self._preview_seed = 0
        self._restoring = True
        # Previews run Keras' preprocessing layers: in the model's kernel, the latest one only.
        self._submit_latest = submit_latest
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self._start_preview)

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_source_rows())
        layout.addWidget(self._build_generator_box())
        layout.addWidget(self._build_validation_box())
        layout.addWidget(self._build_image_box())
        layout.addWidget(self._build_text_box())
        layout.addWidget(self._build_augmentation_box())
        layout.addStretch(1)
        self._restore()
        self._restoring = False
        self._kind_changed()

    # -----------------------------------------------------------------------------------------
    # Building
    # -----------------------------------------------------------------------------------------

    def _build_source_rows(self) -> QFormLayout:
        self.kind_combo = QComboBox()
        for kind, label in KINDS.items():
            self.kind_combo.addItem(label, kind)
        self._disable_kinds()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("trainingDataPath")
        self.path_edit.editingFinished.connect(self._path_typed)
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(self._choose_file)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._choose_folder)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.file_button)
        path_row.addWidget(self.folder_button)
        self.summary = QLabel()
        self.summary.setObjectName("trainingDataSummary")
        self.summary.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Data", self.kind_combo)
        form.addRow("From", path_row)
        form.addRow("", self.summary)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        return form

    def _disable_kinds(self) -> None:
        kinds = {spec.kind for spec in self.specs}
        model = self.kind_combo.model()
        needs = {"images": "image", "text": ("sequence", "text")}
        for row in range(self.kind_combo.count()):
            kind = self.kind_combo.itemData(row)
            wanted = needs.get(kind)
            if wanted is not None and not kinds & set(wanted if isinstance(wanted, tuple) else (wanted,)):
                model.item(row).setEnabled(False)
                model.item(row).setToolTip("This model has no input for this kind of data")

    def _build_generator_box(self) -> QWidget:
        self.generator_box = QWidget()
        warning = QLabel(CODE_WARNING)
        warning.setObjectName("codeWarning")
        warning.setStyleSheet("color: #9a3412; font-weight: bold;")
        help_text = QLabel(
            "The file must define train_data(), and may define validation_data(), each returning a generator, "
            "an iterable of (x, y) batches, a keras.utils.PyDataset or a tf.data.Dataset. You are asked to "
            "confirm before the file is used."
        )
        help_text.setWordWrap(True)
        box = QVBoxLayout(self.generator_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(warning)
        box.addWidget(help_text)
        return self.generator_box

    def _build_validation_box(self) -> QWidget:
        self.validation_box = QWidget()
        self.validation_mode = QComboBox()
        self.validation_mode.addItem("Split off from the training data", "split")
        self.validation_mode.addItem("A separate folder or file", "separate")
        self.split_spin = QSpinBox(minimum=0, maximum=50, value=20, suffix=" %")
        self.split_spin.setToolTip("Share of each class kept for validation (0: no validation)")
        self.validation_edit = QLineEdit()
        self.validation_edit.setPlaceholderText("Validation data, organised as the training data")
        self.validation_edit.editingFinished.connect(self._validation_typed)
        validation_button = QPushButton("Browse…")
        validation_button.clicked.connect(self._choose_validation)
        self.validation_row = QWidget()
        row = QHBoxLayout(self.validation_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.validation_edit, 1)
        row.addWidget(validation_button)
        top = QHBoxLayout()
        top.addWidget(self.validation_mode)
        top.addWidget(self.split_spin)
        top.addStretch(1)
        form = QFormLayout(self.validation_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Validation", top)
        form.addRow("", self.validation_row)
        self.validation_mode.currentIndexChanged.connect(self._validation_mode_changed)
        self.split_spin.valueChanged.connect(self._option_changed)
        return self.validation_box

    def _build_image_box(self) -> QWidget:
        self.image_box = QWidget()
        self.preprocessing = QComboBox()
        for mode, label in PREPROCESSING.items():
            self.preprocessing.addItem(label, mode)
        self.preprocessing.currentIndexChanged.connect(self._option_changed)
        form = QFormLayout(self.image_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Preprocessing", self.preprocessing)
        return self.image_box

    def _build_text_box(self) -> QWidget:
        self.text_box = QWidget()
        self.vocabulary_label = QLabel()
        self.vocabulary_label.setWordWrap(True)
        vocabulary_button = QPushButton("Vocabulary file…")
        vocabulary_button.clicked.connect(self._choose_vocabulary)
        vocabulary_row = QHBoxLayout()
        vocabulary_row.addWidget(self.vocabulary_label, 1)
        vocabulary_row.addWidget(vocabulary_button)
        self.pad_row = PadOptionsRow("0 (auto): the model's length if it has one, else the longest of the first texts")
        self.pad_row.changed.connect(self._option_changed)
        form = QFormLayout(self.text_box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Vocabulary", vocabulary_row)
        form.addRow("Pad", self.pad_row)
        self._show_vocabulary()
        return self.text_box

    def _build_augmentation_box(self) -> QGroupBox:
        self.augmentation_box = QGroupBox("Augmentation (training images only)")
        self.flip = QComboBox()
        for mode, label in FLIP_MODES.items():
            self.flip.addItem(label, mode)
        self.flip.currentIndexChanged.connect(self._augmentation_changed)
        self.flip.setMaximumWidth(FIELD_WIDTH + 60)
        form = QFormLayout()
        form.addRow("Flip", self.flip)
        self.factors: dict[str, QDoubleSpinBox] = {}
        for name in _FACTORS:
            spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
            spin.setSpecialValueText("off")
            spin.setToolTip(_FACTOR_TIPS[name])
            spin.valueChanged.connect(self._augmentation_changed)
            spin.setMaximumWidth(FIELD_WIDTH)
            self.factors[name] = spin
            form.addRow(name.capitalize(), spin)
        self.rescale_check = QCheckBox("Rescale ×")
        self.rescale_check.setToolTip(
            "keras.layers.Rescaling, applied last to training and validation images, after preprocessing"
        )
        self.rescale_spin = QDoubleSpinBox(minimum=-1000.0, maximum=1000.0, decimals=6, singleStep=0.001, value=1 / 255)
        self.rescale_spin.setEnabled(False)
        self.rescale_check.toggled.connect(self.rescale_spin.setEnabled)
        self.rescale_check.toggled.connect(self._augmentation_changed)
        self.rescale_spin.valueChanged.connect(self._augmentation_changed)
        rescale_row = QHBoxLayout()
        rescale_row.addWidget(self.rescale_check)
        rescale_row.addWidget(self.rescale_spin)
        rescale_row.addStretch(1)
        self.rescale_spin.setMaximumWidth(FIELD_WIDTH)
        form.addRow("", rescale_row)

        self.preview = QLabel()
        self.preview.setObjectName("augmentationPreview")
        side = PREVIEW_COPIES * PREVIEW_TILE + (PREVIEW_COPIES + 1) * PREVIEW_GAP
        self.preview.setFixedSize(side, side)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("border: 1px solid #bbb; background: #f4f4f4; color: #777;")
        self.preview_caption = QLabel()
        self.preview_caption.setWordWrap(True)
        self.preview_caption.setFixedWidth(side)
        self.preview_caption.setMinimumHeight(3 * self.preview_caption.fontMetrics().lineSpacing())
        self.preview_caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        new_samples = QPushButton("Other random samples")
        new_samples.clicked.connect(self._new_samples)
        preview_column = QVBoxLayout()
        preview_column.addWidget(self.preview)
        preview_column.addWidget(self.preview_caption)
        preview_column.addWidget(new_samples, 0, Qt.AlignmentFlag.AlignLeft)
        preview_column.addStretch(1)
        row = QHBoxLayout(self.augmentation_box)
        row.addLayout(form)
        row.addSpacing(24)
        row.addLayout(preview_column)
        row.addStretch(1)
        return self.augmentation_box

    # -----------------------------------------------------------------------------------------
    # Public API
    # -----------------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """The chosen source kind, a key of :data:`KINDS`."""
        return self.kind_combo.currentData()

    def set_kind(self, kind: str) -> None:
        """Chooses the source kind (a key of :data:`KINDS`)."""
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))

    @property
    def augmentation(self) -> AugmentationSettings:
        """The augmentation as set."""
        return AugmentationSettings(
            flip=self.flip.currentData(),
            **{name: spin.value() for name, spin in self.factors.items()},
            rescale=self.rescale_spin.value() if self.rescale_check.isChecked() else None,
        )

    @augmentation.setter
    def augmentation(self, settings: AugmentationSettings) -> None:
        self.flip.setCurrentIndex(self.flip.findData(settings.flip))
        for name, spin in self.factors.items():
            spin.setValue(getattr(settings, name))
        self.rescale_check.setChecked(settings.rescale is not None)
        if settings.rescale is not None:
            self.rescale_spin.setValue(settings.rescale)

    @property
    def validation_split(self) -> float:
        """The share kept for validation, 0 to 0.5."""
        return self.split_spin.value() / 100

    def set_path(self, path: str | Path) -> bool:
        """Uses a folder or file as the data of the current kind.

        For "my own generator" the user is asked first (see :meth:`confirm_code`).

        Returns:
            Whether the path is now used.
        """
        path = Path(path).expanduser().absolute()
        self.path_edit.setText(str(path))
        if self.kind == "generator":
            if not path.is_file() or path.suffix.lower() != ".py":
                self._set_summary(f"{path}: choose an existing .py file", error=True)
                return False
            if path != self.confirmed_code and not self.confirm_code(path):
                self.confirmed_code = None
                self._set_summary(f"{path.name} is not used: running it was not confirmed", error=True)
                self.changed.emit()
                return False
            self.confirmed_code = path
        self.paths[self.kind] = path
        self._remember("path/" + self.kind, str(path))
        self._path_changed()
        return True

    def set_validation_path(self, path: str | Path) -> None:
        """Uses a separate validation folder or file (for image folders and arrays)."""
        path = Path(path).expanduser().absolute()
        self.validation_edit.setText(str(path))
        self.validation_paths[self.kind] = path
        self.validation_mode.setCurrentIndex(self.validation_mode.findData("separate"))
        self._option_changed()

    def set_vocabulary_file(self, path: str | Path) -> str:
        """Uses a vocabulary file (one token per line, as TextVectorization reads it)."""
        try:
            self.vocabulary = Vocabulary.from_file(path)
        except InputDataError as error:
            self.vocabulary_label.setText(str(error))
            return str(error)
        self.vocabulary_source = Path(path).name
        self._remember("vocabulary", str(path))
        self._show_vocabulary()
        self._option_changed()
        return f"Vocabulary: {len(self.vocabulary):,} tokens from {Path(path).name}"

    def confirm_code(self, path: Path) -> bool:
        """Asks whether the user's Python file may run; tests replace ``QMessageBox.warning``."""
        answer = QMessageBox.warning(
            self,
            "Run this Python file?",
            f"{path}\n\n{CODE_WARNING} Use it only if you trust where it came from.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def source(self) -> Callable[[Any, int], TrainingData] | None:
        """A Qt-free callable ``source(model, batch_size)`` that reads the data on the model's
        worker, or ``None`` while the data is not chosen (or the code not confirmed)."""
        path = self.paths.get(self.kind)
        if path is None or (self.kind == "generator" and path != self.confirmed_code):
            return None
        return DataSource(self.kind, path, self._options())

    def describe(self) -> str:
        """The chosen data and options in one line, for the user."""
        path = self.paths.get(self.kind)
        if path is None:
            return "No training data chosen"
        parts = [f"{KINDS[self.kind].split(' (')[0]} {path.name}"]
        if self.kind == "generator":
            parts.append("validation from validation_data() if defined")
        elif self._separate_validation():
            parts.append(f"validation from {self.validation_paths[self.kind].name}")
        else:
            parts.append(f"{self.split_spin.value()} % for validation" if self.split_spin.value() else "no validation")
        if self.kind == "images":
            parts.append(f"preprocessing: {PREPROCESSING[self.preprocessing.currentData()]}")
            parts.append(f"augmentation: {self.augmentation.describe()}")
        if self.kind == "text":
            options = self.pad_row.options
            parts.append(f"padded {options.padding} to {options.maxlen or 'auto'} steps")
        return ", ".join(parts)

    def shutdown(self) -> None:
        """Stops scheduling previews; call before the editor goes away."""
        self._debounce.stop()

    # -----------------------------------------------------------------------------------------
    # Options for the core
    # -----------------------------------------------------------------------------------------

    def _separate_validation(self) -> bool:
        return (
            self.kind in ("images", "arrays")
            and self.validation_mode.currentData() == "separate"
            and self.kind in self.validation_paths
        )

    def _options(self) -> dict[str, Any]:
        if self.kind == "generator":
            return {}
        options: dict[str, Any] = {"validation_split": self.validation_split}
        if self.kind == "images":
            image = self._image_spec()
            options.update(
                preprocessing=self.preprocessing.currentData(),
                augmentation=self.augmentation,
                input_name=image.name if image is not None else None,
                output_name=self.output_names[0] if len(self.output_names) == 1 else None,
            )
            if self._separate_validation():
                options["validation_folder"] = self.validation_paths["images"]
        elif self.kind == "arrays" and self._separate_validation():
            options["validation_path"] = self.validation_paths["arrays"]
        elif self.kind == "text":
            options.update(vocabulary=self.vocabulary, options=self.pad_row.options)
        return options

    def _image_spec(self) -> InputSpec | None:
        return next((spec for spec in self.specs if spec.kind == "image"), None)

    # -----------------------------------------------------------------------------------------
    # Reacting
    # -----------------------------------------------------------------------------------------

    def _kind_changed(self) -> None:
        kind = self.kind
        self.generator_box.setVisible(kind == "generator")
        self.validation_box.setVisible(kind != "generator")
        self.validation_mode.setVisible(kind in ("images", "arrays"))
        if kind == "text":
            self.validation_mode.setCurrentIndex(self.validation_mode.findData("split"))
        self.image_box.setVisible(kind == "images")
        self.text_box.setVisible(kind == "text")
        self.augmentation_box.setVisible(kind == "images")
        self.file_button.setVisible(kind != "images")
        self.folder_button.setVisible(kind != "generator")
        self.path_edit.setPlaceholderText(
            {
                "images": "A folder with one sub-folder of images per class",
                "arrays": "An .npz, or a folder of .npy files, named like the model's inputs and outputs",
                "text": "A folder of class sub-folders of .txt files, or a .csv / .tsv with text and label columns",
                "generator": "A .py file that defines train_data()",
            }[kind]
        )
        path = self.paths.get(kind)
        self.path_edit.setText(str(path) if path is not None else "")
        validation = self.validation_paths.get(kind)
        self.validation_edit.setText(str(validation) if validation is not None else "")
        self._validation_mode_changed()
        self._remember("kind", kind)
        self._path_changed()

    def _validation_mode_changed(self) -> None:
        self.split_spin.setVisible(self.validation_mode.currentData() == "split")
        self.validation_row.setVisible(
            self.kind in ("images", "arrays") and self.validation_mode.currentData() == "separate"
        )
        self._option_changed()

    def _path_changed(self) -> None:
        self._images = None
        self._show_summary()
        if self.kind == "images":
            self._read_preview_images()
        self._schedule_preview(now=True)
        self.changed.emit()

    def _option_changed(self) -> None:
        if self._restoring:
            return
        self._remember("validation_split", self.split_spin.value())
        self._remember("preprocessing", self.preprocessing.currentData())
        options = self.pad_row.options
        for name in ("maxlen", "padding", "truncating", "value"):
            self._remember(f"pad/{name}", getattr(options, name) or 0 if name == "maxlen" else getattr(options, name))
        self.changed.emit()

    def _augmentation_changed(self) -> None:
        if self._restoring:
            return
        settings = self.augmentation
        for item in fields(AugmentationSettings):
            value = getattr(settings, item.name)
            self._remember(f"augmentation/{item.name}", "" if value is None else value)
        self._schedule_preview()
        self.changed.emit()

    def _show_summary(self) -> None:
        path = self.paths.get(self.kind)
        problem = self._model_problem()
        if problem:
            self._set_summary(problem, error=True)
        elif path is None:
            self._set_summary("Choose the data.")
        else:
            try:
                self._set_summary(_summary(self.kind, path))
            except OSError as error:
                self._set_summary(f"{path}: cannot be read ({error.strerror or error})", error=True)

    def _model_problem(self) -> str:
        if self.kind not in ("images", "text"):
            return ""
        if len(self.specs) > 1:
            others = ", ".join(f"'{s.name}'" for s in self.specs[1:])
            return f"This model also needs {others}: use Arrays (.npz with all inputs) or your own generator."
        if len(self.output_names) > 1:
            return (
                f"This model has {len(self.output_names)} outputs: use Arrays (.npz with every output) or your own generator."
            )
        return ""

    def _set_summary(self, text: str, error: bool = False) -> None:
        self.summary.setText(text)
        self.summary.setStyleSheet("color: #b91c1c;" if error else "")

    def _show_vocabulary(self) -> None:
        if self.vocabulary is None:
            self.vocabulary_label.setText("none yet: choose the vocabulary file the model was trained with")
        else:
            self.vocabulary_label.setText(f"{len(self.vocabulary):,} tokens from {self.vocabulary_source}")

    # -----------------------------------------------------------------------------------------
    # Preview
    # -----------------------------------------------------------------------------------------

    def _read_preview_images(self) -> None:
        """Reads the first image of the first few classes (a handful of files, on this thread)."""
        spec, path = self._image_spec(), self.paths.get("images")
        if spec is None or path is None:
            return
        try:
            self._images = sample_images(path, spec, PREVIEW_IMAGES)
        except InputDataError as error:
            self._images = None
            self._show_preview_message(str(error))

    def _schedule_preview(self, now: bool = False) -> None:
        if self.kind != "images" or self._images is None:
            if self.kind == "images" and self.paths.get("images") is None:
                self._show_preview_message("Choose an image folder to see augmented samples")
            return
        if now:
            self._debounce.stop()
            self._start_preview()
        else:
            self._debounce.start()

    def _start_preview(self) -> None:
        if self._images is None:
            return
        settings = self.augmentation
        count = PREVIEW_IMAGES * PREVIEW_COPIES
        if not settings.random:  # nothing random: no need for Keras
            order = np.arange(count) // PREVIEW_COPIES % len(self._images)
            self._show_preview(self._images[order].astype(np.float32), settings)
            return
        # A newer preview cancels this one and drops its result (submit_latest).
        job = self._submit_latest(
            "augmentation preview", "Augmentation preview", preview_job, self._images, settings, count, self._preview_seed
        )
        job.succeeded.connect(lambda pixels: self._show_preview(pixels, settings))
        job.failed.connect(self._preview_failed)

    def _preview_failed(self, error: BaseException) -> None:
        self._show_preview_message(f"The preview failed: {error}")

    def _show_preview(self, pixels: np.ndarray, settings: AugmentationSettings) -> None:
        self.preview_pixels = pixels
        self.preview.setPixmap(_mosaic(pixels, PREVIEW_COPIES))
        what = "random augmentations" if settings.random else "unchanged: augmentation is off"
        self.preview_caption.setText(f"Each row: one of the first images of the folder; columns: {what}.")
        self.preview_updated.emit()

    def _show_preview_message(self, text: str) -> None:
        self.preview.clear()
        self.preview_pixels = None
        self.preview.setText(text)
        self.preview.setWordWrap(True)
        self.preview_caption.clear()

    def _new_samples(self) -> None:
        self._preview_seed += 1
        self._schedule_preview(now=True)

    # -----------------------------------------------------------------------------------------
    # Files and settings
    # -----------------------------------------------------------------------------------------

    def _path_typed(self) -> None:
        text = self.path_edit.text().strip()
        current = self.paths.get(self.kind)
        if text and (current is None or Path(text).expanduser().absolute() != current):
            self.set_path(text)

    def _validation_typed(self) -> None:
        text = self.validation_edit.text().strip()
        if text and Path(text).expanduser().absolute() != self.validation_paths.get(self.kind):
            self.set_validation_path(text)

    def _choose_file(self) -> None:
        filters = {
            "arrays": "NumPy archive (*.npz)",
            "text": "Tables (*.csv *.tsv)",
            "generator": "Python (*.py)",
        }
        path, _ = QFileDialog.getOpenFileName(self, "Training data", self.folders.start("data"), filters.get(self.kind, ""))
        if path:
            self.folders.remember("data", path)
            self.set_path(path)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training data folder", self.folders.start("data"))
        if folder:
            self.folders.remember("data", folder)
            self.set_path(folder)

    def _choose_validation(self) -> None:
        start = self.folders.start("validation")
        if self.kind == "arrays":
            path, _ = QFileDialog.getOpenFileName(self, "Validation arrays", start, "NumPy archive (*.npz)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Validation folder", start)
        if path:
            self.folders.remember("validation", path)
            self.set_validation_path(path)

    def _choose_vocabulary(self) -> None:
        path = ask_vocabulary_file(self, self.folders)
        if path:
            self.set_vocabulary_file(path)

    def _remember(self, key: str, value) -> None:
        if self.settings is not None and not self._restoring:
            self.settings.setValue(SETTINGS_PREFIX + key, value)

    def _value(self, key: str, default, kind=str):
        if self.settings is None:
            return default
        value = self.settings.value(SETTINGS_PREFIX + key, None)
        if value in (None, ""):
            return default
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _restore(self) -> None:
        """Restores the remembered choices (never a generator: its code must be confirmed again)."""
        kind = self._value("kind", self._default_kind())
        index = self.kind_combo.findData(kind)
        if index >= 0 and self.kind_combo.model().item(index).isEnabled():
            self.kind_combo.setCurrentIndex(index)
        for kind in ("images", "arrays", "text"):
            saved = self._value("path/" + kind, None, Path)
            if saved is not None and saved.exists():
                self.paths[kind] = saved
        self.split_spin.setValue(self._value("validation_split", 20, int))
        self.preprocessing.setCurrentIndex(max(self.preprocessing.findData(self._value("preprocessing", "none")), 0))
        self.flip.setCurrentIndex(max(self.flip.findData(self._value("augmentation/flip", "none")), 0))
        for name, spin in self.factors.items():
            spin.setValue(self._value(f"augmentation/{name}", 0.0, float))
        rescale = self._value("augmentation/rescale", None, float)
        self.rescale_check.setChecked(rescale is not None)
        if rescale is not None:
            self.rescale_spin.setValue(rescale)
        self.pad_row.set_options(
            PadOptions(
                self._value("pad/maxlen", 0, int) or None,
                self._value("pad/padding", "post"),
                self._value("pad/truncating", "post"),
                self._value("pad/value", 0, int),
            )
        )
        vocabulary = self._value("vocabulary", None, Path)
        if self.vocabulary is None and vocabulary is not None and vocabulary.is_file():
            self.set_vocabulary_file(vocabulary)

    def _default_kind(self) -> str:
        kinds = {spec.kind for spec in self.specs}
        if "image" in kinds:
            return "images"
        if kinds & {"sequence", "text"}:
            return "text"
        return "arrays"


def _summary(kind: str, path: Path) -> str:
    """What a chosen path holds, from a directory listing or a zip index only."""
    if not path.exists():
        return f"{path}: no such file or folder"
    if kind == "generator":
        return f"train_data() in {path.name} runs when training starts."
    if path.is_dir() and kind in ("images", "text"):
        classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not classes:
            return f"{path.name} has no class sub-folders: put each class in its own sub-folder."
        shown = ", ".join(classes[:8]) + (", …" if len(classes) > 8 else "")
        return f"{len(classes)} class folders: {shown}"
    if kind == "arrays":
        if path.is_dir():
            names = sorted(p.stem for p in path.glob("*.npy"))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [name.removesuffix(".npy") for name in archive.namelist()]
        else:
            return f"{path.name} is not an .npz file"
        return "Arrays: " + (", ".join(names) if names else "none")
    return f"Table {path.name}: texts and labels are read when training starts."


def _mosaic(pixels: np.ndarray, columns: int) -> QPixmap:
    """A grid of images, each scaled to a tile (pixel-sharp when enlarged)."""
    rows = -(-len(pixels) // columns)
    step = PREVIEW_TILE + PREVIEW_GAP
    canvas = QPixmap(columns * step + PREVIEW_GAP, rows * step + PREVIEW_GAP)
    canvas.fill(Qt.GlobalColor.white)
    small = max(pixels.shape[1:3]) < PREVIEW_TILE
    mode = Qt.TransformationMode.FastTransformation if small else Qt.TransformationMode.SmoothTransformation
    painter = QPainter(canvas)
    try:
        for index, image in enumerate(np.clip(pixels, 0, 255).astype(np.uint8)):
            tile = _pixmap(image).scaled(PREVIEW_TILE, PREVIEW_TILE, Qt.AspectRatioMode.KeepAspectRatio, mode)
            row, column = divmod(index, columns)
            x = PREVIEW_GAP + column * step + (PREVIEW_TILE - tile.width()) // 2
            y = PREVIEW_GAP + row * step + (PREVIEW_TILE - tile.height()) // 2
            painter.drawPixmap(x, y, tile)
    finally:
        painter.end()
    return canvas
