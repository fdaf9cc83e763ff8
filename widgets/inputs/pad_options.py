"""The ``pad_sequences`` options (maxlen, padding, truncating, value) as one row of fields,
shared by the activations' sequence editor and the training data editor."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QSpinBox, QVBoxLayout, QWidget

from inspector.inputs.sequences import PadOptions
from widgets.common.flow_layout import flow_row, labelled


class PadOptionsRow(QWidget):
    """Fields for :class:`~inspector.inputs.sequences.PadOptions`; wraps in a narrow column.

    Args:
        auto_tip: What ``maxlen`` 0 ("auto") means where the row is used.
        parent: The owning widget.

    Signals:
        changed(): Any field changed.
    """

    changed = Signal()

    def __init__(self, auto_tip: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.maxlen = QSpinBox(minimum=0, maximum=1_000_000)
        self.maxlen.setSpecialValueText("auto")
        self.maxlen.setToolTip(auto_tip)
        self.padding = QComboBox()
        self.padding.addItems(["post", "pre"])
        self.truncating = QComboBox()
        self.truncating.addItems(["post", "pre"])
        self.value = QSpinBox(minimum=-1_000_000, maximum=1_000_000)
        fields = (("maxlen", self.maxlen), ("padding", self.padding), ("truncating", self.truncating), ("value", self.value))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(flow_row(*(labelled(label, widget) for label, widget in fields)))
        for combo in (self.padding, self.truncating):
            combo.currentIndexChanged.connect(self.changed)
        for spin in (self.maxlen, self.value):
            spin.valueChanged.connect(self.changed)

    @property
    def options(self) -> PadOptions:
        """The options as chosen (``maxlen`` ``None`` for auto)."""
        return PadOptions(self.maxlen.value() or None, self.padding.currentText(), self.truncating.currentText(), self.value.value())

    def set_options(self, options: PadOptions) -> None:
        """Shows ``options`` in the fields."""
        self.maxlen.setValue(options.maxlen or 0)
        self.padding.setCurrentText(options.padding)
        self.truncating.setCurrentText(options.truncating)
        self.value.setValue(options.value)
