"""The dialog that asks how to add LoRA adapters: rank, alpha, and whether the rest freezes."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QDialog, QDoubleSpinBox, QLabel, QSpinBox, QWidget

from widgets.common.form_dialog import lay_out_form_dialog

SETTINGS_KEY = "lora"
"""Settings group of the last rank, alpha and freeze choice."""


@dataclass(frozen=True)
class LoraChoice:
    """What the user chose.

    Attributes:
        rank: The rank of the LoRA matrices.
        alpha: The scale numerator (the update is ``alpha / rank · A·B``).
        freeze_rest: Freeze every layer that gets no adapter.
    """

    rank: int
    alpha: float
    freeze_rest: bool


class LoraDialog(QDialog):
    """Asks for the rank and alpha of new LoRA adapters on ``target``.

    Args:
        target: What gets adapters, in words (``"hidden"``, ``"block4a (12 layers)"``).
        holder: ``target`` holds other layers (a nested model, a wrapper or a block), whose
            Dense, EinsumDense, Embedding and Conv layers all get adapters.
        settings: Where the last choice is remembered.
        parent: The owning widget.
    """

    def __init__(self, target: str, holder: bool, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("loraDialog")
        self.setWindowTitle("Enable LoRA")
        self._settings = settings
        remembered = _remembered(settings)
        where = (
            f"to every Dense, EinsumDense, Embedding and Conv layer in <b>{html.escape(target)}</b>"
            if holder
            else f"to <b>{html.escape(target)}</b>"
        )
        intro = QLabel(
            f"Add LoRA adapters {where}. Keras freezes each adapted kernel and trains two small "
            "matrices beside it (the layer's bias stays trainable); saving merges them into the kernel."
        )
        intro.setWordWrap(True)
        self.rank = QSpinBox()
        self.rank.setObjectName("loraRank")
        self.rank.setRange(1, 4096)
        self.rank.setValue(remembered.rank)
        self.alpha = QDoubleSpinBox()
        self.alpha.setObjectName("loraAlpha")
        self.alpha.setRange(0.01, 1e5)
        self.alpha.setDecimals(2)
        self.alpha.setValue(remembered.alpha)
        self.alpha.setToolTip("The update is scaled by alpha / rank; Keras uses alpha = rank by default")
        self.freeze_rest = QCheckBox("Freeze every other layer (as KerasHub's enable_lora does)")
        self.freeze_rest.setChecked(remembered.freeze_rest)
        lay_out_form_dialog(self, intro, [("Rank:", self.rank), ("Alpha:", self.alpha)], [self.freeze_rest], "Enable LoRA", 460)

    def choice(self) -> LoraChoice:
        """The values in the dialog."""
        return LoraChoice(self.rank.value(), self.alpha.value(), self.freeze_rest.isChecked())

    def accept(self) -> None:  # noqa: D102 - remembers the choice
        if self._settings is not None:
            choice = self.choice()
            self._settings.setValue(f"{SETTINGS_KEY}/rank", choice.rank)
            self._settings.setValue(f"{SETTINGS_KEY}/alpha", choice.alpha)
            self._settings.setValue(f"{SETTINGS_KEY}/freeze_rest", choice.freeze_rest)
        super().accept()


def _remembered(settings: QSettings | None) -> LoraChoice:
    if settings is None:
        return LoraChoice(8, 8.0, True)
    rank = int(settings.value(f"{SETTINGS_KEY}/rank", 8))
    return LoraChoice(
        rank,
        float(settings.value(f"{SETTINGS_KEY}/alpha", rank)),
        str(settings.value(f"{SETTINGS_KEY}/freeze_rest", "true")).lower() == "true",
    )
