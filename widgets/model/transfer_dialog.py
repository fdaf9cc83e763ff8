"""The dialog for a new model cut at a layer, with an optional new head."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from inspector.model.transfer import HeadSpec

POOLING_LABELS = {
    "avg": "Global average pooling",
    "max": "Global max pooling",
    "flatten": "Flatten",
    "none": "None",
}
ACTIVATIONS = ("softmax", "sigmoid", "linear", "relu")


class TransferDialog(QDialog):
    """Asks how to build a new model from a layer's output.

    Args:
        layer: Name of the layer to cut at.
        output_shape: That layer's output shape, shown to the user.
        rank: Rank of the output (pooling applies to 3-D and 4-D outputs).
        default_name: The name proposed for the new model.
        parent: The owning widget.
    """

    def __init__(self, layer: str, output_shape: str, rank: int, default_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"New model from {layer}")
        self.name = QLineEdit(default_name)
        self.pooling = QComboBox()
        for key, label in POOLING_LABELS.items():
            if key in ("avg", "max") and rank not in (3, 4, 5):
                continue
            self.pooling.addItem(label, key)
        self.dropout = QDoubleSpinBox(minimum=0.0, maximum=0.9, singleStep=0.1, value=0.0)
        self.add_dense = QCheckBox("Add a Dense output layer")
        self.add_dense.setChecked(True)
        self.units = QSpinBox(minimum=1, maximum=100_000, value=10)
        self.activation = QComboBox()
        self.activation.addItems(ACTIVATIONS)
        self.freeze_base = QCheckBox("Freeze the layers taken from the original model")
        self.freeze_base.setChecked(True)
        self.add_dense.toggled.connect(self.units.setEnabled)
        self.add_dense.toggled.connect(self.activation.setEnabled)

        form = QFormLayout(self)
        form.addRow(QLabel(f"Cut at <b>{layer}</b>, output {output_shape}."))
        form.addRow("Name", self.name)
        form.addRow("Pooling", self.pooling)
        form.addRow("Dropout", self.dropout)
        form.addRow(self.add_dense)
        form.addRow("Units", self.units)
        form.addRow("Activation", self.activation)
        form.addRow(self.freeze_base)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def spec(self) -> HeadSpec:
        """The head the user asked for."""
        return HeadSpec(
            pooling=self.pooling.currentData(),
            dropout=round(self.dropout.value(), 3),
            units=self.units.value() if self.add_dense.isChecked() else None,
            activation=self.activation.currentText() if self.add_dense.isChecked() else None,
            freeze_base=self.freeze_base.isChecked(),
            name=self.name.text().strip(),
        )


class OutputDialog(QDialog):
    """Asks for the new output layer that replaces a model's last Dense layer.

    Args:
        outputs: The model's output names; with several, the user picks which to replace.
        parent: The owning widget.
    """

    def __init__(self, outputs: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Replace the output layer")
        self.output = QComboBox()
        self.output.addItems(outputs)
        self.classes = QSpinBox(minimum=1, maximum=100_000, value=10)
        self.activation = QComboBox()
        self.activation.addItems(ACTIVATIONS)
        form = QFormLayout(self)
        form.addRow(QLabel("The layers before the output are kept and frozen; a new Dense layer replaces it."))
        if len(outputs) > 1:
            form.addRow("Output", self.output)
        form.addRow("Classes", self.classes)
        form.addRow("Activation", self.activation)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> dict:
        """Keyword arguments for :func:`inspector.model.transfer.build_model_job`."""
        return {
            "num_classes": self.classes.value(),
            "activation": self.activation.currentText(),
            "output": self.output.currentText() if self.output.count() > 1 else None,
        }
