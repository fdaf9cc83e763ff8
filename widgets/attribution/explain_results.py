"""The Explain mode's results: one input's maps for one class, or two classes side by side."""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMenu, QSlider, QSplitter, QToolButton, QVBoxLayout, QWidget

from inspector.attribution.explain import METHODS, Explanation, OutputChoice
from widgets.attribution.attribution_views import AttributionView, magnitude_map
from widgets.common.flow_layout import flow_row, labelled
from widgets.common.formatting import format_value
from widgets.inputs.input_editors import shrinking_combo


class ExplainResults(QWidget):
    """Shows an :class:`~inspector.attribution.explain.Explanation`.

    Signals:
        export_requested(str): The user asked for an export: ``"png"`` or ``"npy"``.
    """

    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("explainResults")
        self.explanation: Explanation | None = None
        self.output: OutputChoice | None = None
        self.sample_choice = shrinking_combo()
        self.sample_choice.setObjectName("explainSample")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("explainOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setMaximumWidth(160)
        self.opacity.setToolTip("How strongly the map covers the image")
        self.export_button = QToolButton(text="Export")
        self.export_button.setObjectName("explainExport")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("The view as PNG…", lambda: self.export_requested.emit("png"))
        menu.addAction("The maps of every input as .npy…", lambda: self.export_requested.emit("npy"))
        self.export_button.setMenu(menu)
        toolbar = flow_row(labelled("Input", self.sample_choice), labelled("Opacity", self.opacity), self.export_button)

        self.views = [AttributionView(), AttributionView()]
        self.views[0].setObjectName("explainView")
        self.views[1].setObjectName("explainCompareView")
        self.views_box = QSplitter(Qt.Orientation.Horizontal)
        for view in self.views:
            self.views_box.addWidget(view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(toolbar)
        layout.addWidget(self.views_box, 1)
        self.sample_choice.currentIndexChanged.connect(lambda _: self.show_current())
        self.opacity.valueChanged.connect(lambda value: [view.set_opacity(value / 100) for view in self.views])

    def show_explanation(self, explanation: Explanation, output: OutputChoice | None, labels: list[str]) -> None:
        """Shows new results, from the first input.

        Args:
            explanation: The results.
            output: The explained output (for its class names).
            labels: One label per input, for the input choice.
        """
        self.explanation, self.output = explanation, output
        self.sample_choice.blockSignals(True)
        self.sample_choice.clear()
        self.sample_choice.addItems(labels)
        self.sample_choice.blockSignals(False)
        self.views[1].setVisible(len(explanation.maps) > 1)
        self.views_box.setSizes([1000, 1000])
        self.show_current()

    def _class_label(self, index: int) -> str:
        return self.output.class_label(index) if self.output is not None else f"class {index}"

    def show_current(self) -> None:
        """Draws the chosen input's maps."""
        explanation = self.explanation
        index = self.sample_choice.currentIndex()
        if explanation is None or index < 0:
            return
        top = int(np.argmax(explanation.predictions[index]))
        for number, view in enumerate(self.views[: len(explanation.maps)]):
            explained = int(explanation.classes[number][index])
            score = float(explanation.predictions[index][explained])
            method = METHODS[explanation.request.method]
            what = "the logit of " if explanation.request.logits else ""
            title = (
                f"<b>{method}</b> for {what}<b>{self._class_label(explained)}</b> (output {format_value(score, 3)})"
                + ("" if explained == top else f" · the model's top class is {self._class_label(top)}")
            )
            view.show_parts(title, self.parts(number, index))
            view.set_opacity(self.opacity.value() / 100)
        images = any(kind == "image" for _, kind, _, _ in self.parts(0, index))
        self.opacity.setEnabled(images)
        self.opacity.setToolTip("How strongly the map covers the image" if images else "No image to cover: the inputs are not images")

    def parts(self, number: int, index: int) -> list[tuple[str, str, object, np.ndarray]]:
        """What to draw for requested class ``number`` and input ``index``: see
        :meth:`AttributionView.show_parts`."""
        explanation = self.explanation
        samples = explanation.samples
        maps = explanation.maps[number]
        if explanation.request.method == "grad_cam":
            values = maps[0][index]
            return [(f"Layer {explanation.request.layer}, {'×'.join(map(str, values.shape))}", *_context(samples, index, values))]
        parts = []
        fixed = explanation.fixed or [False] * len(maps)
        for name, is_tokens, is_fixed, values in zip(explanation.inputs, explanation.tokens, fixed, maps):
            if is_fixed:
                continue  # a padding mask or the like: passed as given, not attributed
            values = values[index]
            if is_tokens and name in samples.tokens:
                parts.append((name, "tokens", samples.tokens[name][index], values))
            elif name in samples.images:
                parts.append((name, "image", samples.images[name][index], magnitude_map(values, True)))
            else:
                parts.append((name, "values", None, values))
        return parts


def _context(samples, index: int, values: np.ndarray) -> tuple[str, object, np.ndarray]:
    """How a Grad-CAM map is drawn: over the first image input, over tokens of its length, or
    on its own."""
    if values.ndim == 2:
        pixels = next(iter(samples.images.values()), None)
        return "image", None if pixels is None else pixels[index], values
    if values.ndim == 1:
        for tokens in samples.tokens.values():
            if len(tokens[index]) == len(values):
                return "tokens", tokens[index], values
    return "values", None, values
