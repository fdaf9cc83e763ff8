"""The Explain mode's choices: method, layer, output, classes, and the method's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QPushButton, QSpinBox

from inspector.attribution.explain import METHODS, ExplainRequest, ExplainSetup, read_class_names, with_class_names
from inspector.errors import InputDataError
from widgets.common.dialog_folders import DialogFolders
from widgets.inputs.input_editors import shrinking_combo

METHOD_KEY = "explain/method"
STEPS_KEY = "explain/steps"
SAMPLES_KEY = "explain/smooth_samples"

METHOD_HELP = {
    "grad_cam": "Where in a layer's feature map the evidence for the class is (Grad-CAM), at the layer's resolution.",
    "integrated_gradients": "How much each input value moved the score from a black (zero) input; "
    "for text, per token from a zero embedding. The values sum to the score's change.",
    "saliency": "How sensitive the score is to each input value (the gradient's size).",
    "smoothgrad": "Saliency averaged over noisy copies of the input: less speckle.",
}


class ExplainControls(QGroupBox):
    """The choices of one explanation request.

    Args:
        settings: Where the method and its settings are remembered (or ``None``).
        folders: Where the class-names dialog opens, and remembers the folder chosen.

    Signals:
        changed(): A choice changed.
        message(str, bool): A line for the user (text, whether it reports an error).
    """

    changed = Signal()
    message = Signal(str, bool)

    def __init__(self, settings: QSettings | None = None, folders: DialogFolders | None = None, parent=None):
        super().__init__("Explain", parent)
        self.setObjectName("explainControls")
        self.settings = settings
        self.folders = folders or DialogFolders(None, "explain")
        self.setup: ExplainSetup | None = None

        self.method = QComboBox()
        self.method.setObjectName("explainMethod")
        for key, name in METHODS.items():
            self.method.addItem(name, key)
        self.method.setCurrentIndex(max(self.method.findData(self._setting(METHOD_KEY, "grad_cam")), 0))
        self.help = QLabel()
        self.help.setWordWrap(True)
        self.help.setStyleSheet("color: #606060;")
        self.layer = shrinking_combo()
        self.layer.setObjectName("explainLayer")
        self.output = shrinking_combo()
        self.output.setObjectName("explainOutput")
        self.class_choice = shrinking_combo()
        self.class_choice.setObjectName("explainClass")
        self.compare = QCheckBox("Compare with")
        self.compare.setObjectName("explainCompare")
        self.compare_choice = shrinking_combo()
        self.compare_choice.setObjectName("explainCompareClass")
        self.logits = QCheckBox("Before the softmax (logits)")
        self.logits.setObjectName("explainLogits")
        self.logits.setToolTip(
            "Explain the score the softmax turns into a probability: probabilities near 0 or 1 "
            "hardly move, so their gradients vanish"
        )
        self.labels_button = QPushButton("Class names…")
        self.labels_button.setObjectName("explainLabels")
        self.labels_button.setToolTip("Choose a text file with one class name per line")
        self.steps = QSpinBox()
        self.steps.setObjectName("explainSteps")
        self.steps.setRange(4, 1000)
        self.steps.setValue(int(self._setting(STEPS_KEY, 50)))
        self.samples = QSpinBox()
        self.samples.setObjectName("explainSamples")
        self.samples.setRange(2, 500)
        self.samples.setValue(int(self._setting(SAMPLES_KEY, 25)))

        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Method", self.method)
        form.addRow(self.help)
        form.addRow("Layer", self.layer)
        form.addRow("Output", self.output)
        form.addRow("Class", self.class_choice)
        form.addRow(self.compare, self.compare_choice)
        form.addRow("", self.logits)
        form.addRow("", self.labels_button)
        form.addRow("Steps", self.steps)
        form.addRow("Noisy copies", self.samples)
        self._form = form

        self.method.currentIndexChanged.connect(self._method_changed)
        self.output.currentIndexChanged.connect(self._fill_classes)
        self.compare.toggled.connect(lambda on: (self.compare_choice.setEnabled(on), self.changed.emit()))
        self.labels_button.clicked.connect(lambda: self.choose_labels())
        self.steps.valueChanged.connect(lambda value: self._remember(STEPS_KEY, value))
        self.samples.valueChanged.connect(lambda value: self._remember(SAMPLES_KEY, value))
        self.compare_choice.setEnabled(False)
        self._method_changed()

    @property
    def method_key(self) -> str:
        """The chosen method's key (see :data:`~inspector.attribution.explain.METHODS`)."""
        return self.method.currentData()

    def set_setup(self, setup: ExplainSetup) -> None:
        """Fills the choices for a model."""
        self.setup = setup
        self.layer.clear()
        for layer in setup.cam_layers:
            shape = "×".join("?" if d is None else str(d) for d in layer.shape)
            self.layer.addItem(f"{layer.label}  ({shape})", layer.key)
        self.layer.setCurrentIndex(self.layer.count() - 1)  # the last spatial layer
        self.output.blockSignals(True)
        self.output.clear()
        for output in setup.outputs:
            self.output.addItem(f"{output.name}  ({output.units} classes)", output.name)
        self.output.blockSignals(False)
        self._fill_classes()
        self._method_changed()

    def _fill_classes(self) -> None:
        output = self.current_output
        for combo, first in ((self.class_choice, "Top class"), (self.compare_choice, None)):
            combo.clear()
            if first is not None:
                combo.addItem(first, None)
            for index in range(output.units if output is not None else 0):
                combo.addItem(output.class_label(index), index)
        self.compare_choice.setCurrentIndex(min(1, self.compare_choice.count() - 1))
        softmax = output is not None and output.softmax
        self.logits.setEnabled(softmax)
        if not softmax:
            self.logits.setChecked(False)
        self.changed.emit()

    @property
    def current_output(self):
        """The chosen :class:`~inspector.attribution.explain.OutputChoice`, or ``None``."""
        if self.setup is None or self.output.currentIndex() < 0:
            return None
        return self.setup.outputs[self.output.currentIndex()]

    def _method_changed(self) -> None:
        key = self.method_key
        self._remember(METHOD_KEY, key)
        self.help.setText(METHOD_HELP[key])
        cam = key == "grad_cam"
        for widget, shown in ((self.layer, cam), (self.steps, key == "integrated_gradients"), (self.samples, key == "smoothgrad")):
            self._form.setRowVisible(widget, shown)
        if cam and self.setup is not None and not self.setup.cam_layers:
            self.message.emit("No layer of this model has spatial axes, so Grad-CAM has nothing to show; choose another method.", True)
        self.changed.emit()

    def choose_labels(self, path: str | Path | None = None) -> bool:
        """Reads class names from a file (asked for when ``path`` is ``None``) and gives them to
        the outputs with as many classes.

        Returns:
            Whether some output took the names.
        """
        if self.setup is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Class names", self.folders.start("labels"), "Text files (*.txt);;All files (*)")
            if not path:
                return False
            self.folders.remember("labels", path)
        try:
            names = read_class_names(path)
        except InputDataError as error:
            self.message.emit(str(error) + ".", True)
            return False
        outputs, matched = with_class_names(self.setup.outputs, names)
        if not matched:
            counts = ", ".join(f"{o.name} {o.units}" for o in self.setup.outputs)
            self.message.emit(f"{Path(path).name} names {len(names)} classes; the outputs have {counts}.", True)
            return False
        self.setup.outputs = outputs
        self.setup.labels_file = str(path)
        index = self.output.currentIndex()
        self.set_setup(self.setup)
        self.output.setCurrentIndex(index)
        self.message.emit(f"Class names from {Path(path).name}.", False)
        return True

    def request(self, batch_size: int) -> ExplainRequest:
        """The request the choices describe."""
        classes = (self.class_choice.currentData(),)
        if self.compare.isChecked() and self.compare_choice.count():
            classes += (self.compare_choice.currentData(),)
        output = self.current_output
        return ExplainRequest(
            method=self.method_key,
            output=output.name if output is not None else None,
            classes=classes,
            layer=self.layer.currentData() if self.method_key == "grad_cam" else None,
            steps=self.steps.value(),
            smooth_samples=self.samples.value(),
            batch_size=batch_size,
            logits=self.logits.isChecked(),
        )

    def _setting(self, key: str, default):
        return default if self.settings is None else self.settings.value(key, default)

    def _remember(self, key: str, value) -> None:
        if self.settings is not None:
            self.settings.setValue(key, value)
