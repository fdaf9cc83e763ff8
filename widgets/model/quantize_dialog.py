"""Model ▸ Quantize a Copy…: the dialog that asks how, and the comparison it ends with."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QLabel, QLineEdit, QWidget

from inspector.model.quantization import MODES, Comparison
from widgets.common.form_dialog import lay_out_form_dialog
from widgets.model.variables_view import readable_memory_size


class QuantizeDialog(QDialog):
    """Asks for the mode, which layers, and whether to compare on the user's inputs.

    Args:
        can_compare: The Activations view has inputs to compare the two models on.
        parent: The owning widget.
    """

    def __init__(self, can_compare: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("quantizeDialog")
        self.setWindowTitle("Quantize a copy")
        intro = QLabel(
            "Keras quantizes a copy of this model (<code>model.quantize</code>); the copy opens in a new "
            "tab and this model stays as it is."
        )
        intro.setWordWrap(True)
        self.mode = QComboBox()
        self.mode.setObjectName("quantizeMode")
        self.mode.addItems(MODES)
        self.filters = QLineEdit()
        self.filters.setObjectName("quantizeFilters")
        self.filters.setPlaceholderText("every layer Keras can quantize")
        self.filters.setToolTip("A regular expression: only layers whose name matches it are quantized (Keras' filters)")
        self.compare = QCheckBox("Compare with this model on the inputs chosen in the Activations view")
        self.compare.setChecked(can_compare)
        self.compare.setEnabled(can_compare)
        if not can_compare:
            self.compare.setToolTip("Choose inputs in the Activations view (Ctrl+3) first")
        lay_out_form_dialog(
            self, intro, [("Mode:", self.mode), ("Layers matching:", self.filters)], [self.compare], "Quantize", 480
        )


def comparison_html(comparison: Comparison, original: str, copy: str) -> str:
    """The comparison as the window shows it: sizes, time per batch, and per output the largest
    absolute difference and the top-1 agreement."""
    rows = "".join(
        f"<tr><td>{html.escape(o.name)}</td><td align='right'>{o.max_abs_diff:.3g}</td>"
        f"<td align='right'>{'—' if o.top1_agreement is None else f'{100 * o.top1_agreement:.1f} %'}</td></tr>"
        for o in comparison.outputs
    )
    return (
        f"<p>{html.escape(copy)} against {html.escape(original)} on {comparison.samples} "
        f"sample{'s' if comparison.samples != 1 else ''}.</p>"
        "<table cellspacing='6'>"
        f"<tr><th></th><th>{html.escape(original)}</th><th>{html.escape(copy)}</th></tr>"
        f"<tr><td>Variables</td><td align='right'>{readable_memory_size(comparison.bytes_original)}</td>"
        f"<td align='right'>{readable_memory_size(comparison.bytes_quantized)}</td></tr>"
        f"<tr><td>Time per batch</td><td align='right'>{1000 * comparison.seconds_original:.1f} ms</td>"
        f"<td align='right'>{1000 * comparison.seconds_quantized:.1f} ms</td></tr>"
        "</table>"
        "<table cellspacing='6'><tr><th align='left'>Output</th><th>Largest |difference|</th><th>Top-1 agreement</th></tr>"
        f"{rows}</table>"
    )
