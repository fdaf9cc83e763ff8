"""The projection method and its parameters (the parameters remembered between sessions)."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.embeddings.projection import METRICS, PcaSettings, TsneSettings, UmapSettings

METHODS = ("PCA", "t-SNE", "UMAP")
SETTINGS_GROUP = "embeddings"


class ProjectionControls(QWidget):
    """Chooses PCA, t-SNE or UMAP and their parameters.

    The method is not remembered: the panel shows PCA first and keeps the box naming the
    method of what is drawn.

    Args:
        settings: Where the choices are remembered, or ``None``.

    Signals:
        axes_changed(): The user chose other principal components for the axes.
    """

    axes_changed = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.method = QComboBox(objectName="projectionMethod")
        self.method.addItems(METHODS)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._pca_page())
        self.stack.addWidget(self._tsne_page())
        self.stack.addWidget(self._umap_page())
        self.method.currentIndexChanged.connect(self.stack.setCurrentIndex)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Method", self.method)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.stack)
        self._restore()

    # Pages -------------------------------------------------------------------------------------

    def _pca_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.components = _spin(2, 100, 10, "pcaComponents")
        self.x_axis = QComboBox(objectName="pcaX")
        self.y_axis = QComboBox(objectName="pcaY")
        self.x_axis.currentIndexChanged.connect(lambda _: self.axes_changed.emit())
        self.y_axis.currentIndexChanged.connect(lambda _: self.axes_changed.emit())
        self.variance = QLabel(objectName="explainedVariance")
        self.variance.setWordWrap(True)
        form.addRow("Components", self.components)
        form.addRow("X axis", self.x_axis)
        form.addRow("Y axis", self.y_axis)
        form.addRow(self.variance)
        return page

    def _tsne_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.perplexity = _double(1, 500, 30, 1, "perplexity")
        self.auto_rate = QCheckBox("auto (points / 12)", objectName="autoLearningRate")
        self.learning_rate = _double(1, 100000, 200, 0, "learningRate")
        self.auto_rate.toggled.connect(lambda on: self.learning_rate.setEnabled(not on))
        self.auto_rate.setChecked(True)
        self.iterations = _spin(300, 20000, 750, "iterations")
        self.iterations.setSingleStep(250)
        self.tsne_metric = _metric_box("tsneMetric")
        form.addRow("Perplexity", self.perplexity)
        form.addRow("Learning rate", self.auto_rate)
        form.addRow("", self.learning_rate)
        form.addRow("Iterations", self.iterations)
        form.addRow("Metric", self.tsne_metric)
        return page

    def _umap_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.neighbours = _spin(2, 500, 15, "umapNeighbours")
        self.min_dist = _double(0, 1, 0.1, 2, "minDist")
        self.min_dist.setSingleStep(0.05)
        self.umap_metric = _metric_box("umapMetric")
        self.umap_note = QLabel(objectName="umapNote")
        self.umap_note.setWordWrap(True)
        form.addRow("Neighbours", self.neighbours)
        form.addRow("Min. distance", self.min_dist)
        form.addRow("Metric", self.umap_metric)
        form.addRow(self.umap_note)
        return page

    # Values ------------------------------------------------------------------------------------

    @property
    def method_name(self) -> str:
        """``"PCA"``, ``"t-SNE"`` or ``"UMAP"``."""
        return self.method.currentText()

    def set_method(self, name: str) -> None:
        """Shows ``name`` (``"PCA"``, ``"t-SNE"`` or ``"UMAP"``) as the method, with its parameters."""
        self.method.setCurrentText(name)

    def projection_settings(self):
        """The chosen method's settings, as the core's settings object (also remembered)."""
        self._save()
        name = self.method_name
        if name == "PCA":
            return PcaSettings(components=self.components.value())
        if name == "t-SNE":
            rate = None if self.auto_rate.isChecked() else self.learning_rate.value()
            return TsneSettings(
                perplexity=self.perplexity.value(),
                learning_rate=rate,
                iterations=self.iterations.value(),
                metric=self.tsne_metric.currentText(),
            )
        return UmapSettings(
            n_neighbors=self.neighbours.value(),
            min_dist=self.min_dist.value(),
            metric=self.umap_metric.currentText(),
        )

    def set_components(self, axis_names: list[str], explained) -> None:
        """Offers the computed principal components for the axes and lists their variance.

        Args:
            axis_names: ``["PC1", "PC2", ...]``.
            explained: Explained variance ratio per component.
        """
        for box, default in ((self.x_axis, 0), (self.y_axis, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems([f"{name} ({ratio:.1%})" for name, ratio in zip(axis_names, explained)])
            box.setCurrentIndex(min(default, box.count() - 1))
            box.blockSignals(False)
        shown = ", ".join(f"{name} {ratio:.1%}" for name, ratio in zip(axis_names, explained))
        self.variance.setText(f"Explained variance: {shown}; total {float(sum(explained)):.1%}")

    def axes(self) -> tuple[int, int]:
        """The principal components chosen for the x and y axes."""
        return max(self.x_axis.currentIndex(), 0), max(self.y_axis.currentIndex(), 0)

    # Remembering -------------------------------------------------------------------------------

    def _fields(self) -> dict:
        return {
            "components": self.components,
            "perplexity": self.perplexity,
            "auto_rate": self.auto_rate,
            "learning_rate": self.learning_rate,
            "iterations": self.iterations,
            "tsne_metric": self.tsne_metric,
            "neighbours": self.neighbours,
            "min_dist": self.min_dist,
            "umap_metric": self.umap_metric,
        }

    def _save(self) -> None:
        if self.settings is None:
            return
        for key, widget in self._fields().items():
            self.settings.setValue(f"{SETTINGS_GROUP}/{key}", _value(widget))

    def _restore(self) -> None:
        if self.settings is None:
            return
        for key, widget in self._fields().items():
            value = self.settings.value(f"{SETTINGS_GROUP}/{key}")
            if value is not None:
                _set_value(widget, value)


def _spin(low: int, high: int, value: int, name: str) -> QSpinBox:
    box = QSpinBox(objectName=name)
    box.setRange(low, high)
    box.setValue(value)
    box.setGroupSeparatorShown(True)
    return box


def _double(low: float, high: float, value: float, decimals: int, name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(objectName=name)
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    return box


def _metric_box(name: str) -> QComboBox:
    box = QComboBox(objectName=name)
    box.addItems(METRICS)
    return box


def _value(widget):
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QCheckBox):
        return int(widget.isChecked())
    return widget.value()


def _set_value(widget, value) -> None:
    try:
        if isinstance(widget, QComboBox):
            index = widget.findText(str(value))
            if index >= 0:
                widget.setCurrentIndex(index)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(int(value)))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        else:
            widget.setValue(float(value))
    except (TypeError, ValueError):
        pass  # a damaged settings file: keep the default
