"""Drawing attribution maps: a heatmap over the input image, coloured tokens, or bars.

Every view takes plain NumPy arrays from an
:class:`~inspector.attribution.explain.Explanation`; the maps are scaled to their own largest
magnitude for display (the numbers themselves are in the tooltips and in the ``.npy`` export).
"""

from __future__ import annotations

import functools
import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from widgets.common.formatting import format_value

HEAT_COLORMAP = "inferno"
"""The colours of an image overlay, from no attribution (transparent black) to the most."""


def magnitude_map(values: np.ndarray, image: bool) -> np.ndarray:
    """A 2-D map to draw over an image from one input's attributions: the sum over channels of
    an image-shaped array (``(H, W, C)``), the map itself when already 2-D."""
    values = np.asarray(values, dtype=np.float32)
    if image and values.ndim == 3:
        values = values.sum(axis=-1)
    return np.abs(values)


def _rgb_image(pixels: np.ndarray) -> QImage:
    pixels = np.ascontiguousarray(pixels[..., :3] if pixels.shape[-1] >= 3 else np.repeat(pixels[..., :1], 3, axis=-1))
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


@functools.lru_cache(maxsize=1)
def _heat_colormap() -> pg.ColorMap:
    return pg.colormap.get(HEAT_COLORMAP)  # read from pyqtgraph's files once


def heat_image(values: np.ndarray) -> QImage:
    """An RGBA picture of a non-negative 2-D map: colour and opacity grow with the value (0 is
    transparent), scaled to the map's largest value."""
    top = float(np.nanmax(values)) if values.size else 0.0
    scaled = np.nan_to_num(values / top) if top > 0 else np.zeros_like(values)
    colours = _heat_colormap().map(scaled, mode="byte")  # (H, W, 4) uint8
    colours[..., 3] = np.clip(scaled * 255 * 1.4, 0, 255).astype(np.uint8)
    colours = np.ascontiguousarray(colours)
    height, width = values.shape
    return QImage(colours.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class OverlayImage(QWidget):
    """An input image with an attribution heatmap drawn over it, scaled to fit, the image's
    pixels kept sharp and the (often coarser) heatmap smoothed.

    Attributes:
        opacity: How strongly the heatmap covers the image, 0–1.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("overlayImage")
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.base: QImage | None = None
        self.heat: QImage | None = None
        self.opacity = 0.6
        self._values: np.ndarray | None = None

    def show_map(self, pixels: np.ndarray | None, values: np.ndarray) -> None:
        """Shows ``values`` (2-D, any resolution) over ``pixels`` (``(H, W, C)`` uint8, or
        ``None`` for the heatmap alone)."""
        self.base = None if pixels is None else _rgb_image(np.asarray(pixels, dtype=np.uint8))
        self._values = np.asarray(values, dtype=np.float32)
        self.heat = heat_image(self._values)
        self.update()

    def set_opacity(self, opacity: float) -> None:
        """Sets how strongly the heatmap covers the image."""
        self.opacity = opacity
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, 320)

    def picture_rect(self) -> QRectF:
        """Where the picture is drawn: the largest rectangle of its aspect ratio that fits."""
        source = self.base if self.base is not None else self.heat
        if source is None or source.width() == 0:
            return QRectF()
        scale = min(self.width() / source.width(), self.height() / source.height())
        width, height = source.width() * scale, source.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def value_at(self, x: float, y: float) -> float | None:
        """The map's value under a point of the widget, or ``None`` outside the picture."""
        rect = self.picture_rect()
        if self._values is None or not rect.contains(x, y):
            return None
        rows, cols = self._values.shape
        row = min(int((y - rect.top()) / rect.height() * rows), rows - 1)
        col = min(int((x - rect.left()) / rect.width() * cols), cols - 1)
        return float(self._values[row, col])

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        rect = self.picture_rect()
        if self.base is not None:
            painter.drawImage(rect, self.base)
        if self.heat is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.setOpacity(self.opacity if self.base is not None else 1.0)
            painter.drawImage(rect, self.heat)
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        value = self.value_at(event.position().x(), event.position().y())
        self.setToolTip("" if value is None else f"attribution {format_value(value)}")
        super().mouseMoveEvent(event)


def token_html(tokens: list[str], values: np.ndarray) -> str:
    """The tokens as HTML, each on a background whose colour says its attribution: red for
    evidence for the class, blue against, stronger for larger magnitudes. Padding (empty
    tokens) is left out."""
    shown = [(token, float(value)) for token, value in zip(tokens, values) if token != ""]
    top = max((abs(value) for _, value in shown), default=0.0) or 1.0
    spans = []
    for token, value in shown:
        alpha = min(abs(value) / top, 1.0)
        colour = (214, 39, 40) if value >= 0 else (31, 119, 180)
        spans.append(
            f'<span style="background-color: rgba({colour[0]},{colour[1]},{colour[2]},{alpha:.2f});" '
            f'title="{format_value(value)}">&nbsp;{html.escape(token)}&nbsp;</span>'
        )
    return '<p style="line-height: 170%;">' + " ".join(spans) + "</p>"


def strongest_tokens(tokens: list[str], values: np.ndarray, count: int = 5) -> str:
    """The tokens with the largest attributions, as ``word +0.31, other −0.12``."""
    shown = [(token, float(value)) for token, value in zip(tokens, values) if token != ""]
    shown.sort(key=lambda item: -abs(item[1]))
    return ", ".join(f"{token} {value:+.3g}" for token, value in shown[:count])


class AttributionView(QWidget):
    """One input's attributions for one class: a title, then one picture per model input (or
    the one Grad-CAM map), drawn the way the input is (image, tokens, numbers)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("attributionTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.title)
        self.body: QWidget | None = None
        self.parts: list[QWidget] = []
        self.opacity = 0.6

    def clear_parts(self) -> None:
        """Removes the pictures."""
        if self.body is not None:
            self._layout.removeWidget(self.body)
            self.body.hide()  # gone from the screen now, deleted when the event loop gets to it
            self.body.deleteLater()
        self.body, self.parts = None, []

    def show_parts(self, title: str, parts: list[tuple[str, str, object, np.ndarray]]) -> None:
        """Shows one picture per part.

        Args:
            title: HTML for the title line.
            parts: ``(caption, kind, context, values)``: kind ``"image"`` (context: the pixels,
                or ``None``), ``"tokens"`` (context: the token texts), or ``"values"``.
        """
        self.clear_parts()
        self.title.setText(title)
        self.body = QWidget()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        for caption, kind, context, values in parts:
            part = self._part(caption, kind, context, values)
            layout.addWidget(part, 1 if kind == "image" else 0)
            self.parts.append(part)
        if not any(kind == "image" for _, kind, _, _ in parts):
            layout.addStretch(1)  # text and bars at the top, not spread over the height
        self._layout.addWidget(self.body, 1)

    def set_opacity(self, opacity: float) -> None:
        """Sets the heatmaps' opacity over their images."""
        self.opacity = opacity
        for overlay in self.findChildren(OverlayImage):
            overlay.set_opacity(opacity)

    def _part(self, caption: str, kind: str, context, values: np.ndarray) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 4)
        values = np.asarray(values, dtype=np.float32)
        largest = float(np.abs(values).max()) if values.size else 0.0
        note = " · zero everywhere: nothing here raises this class's score" if largest == 0 else f" · largest |value| {format_value(largest, 3)}"
        label = QLabel(caption + note)
        label.setObjectName("attributionCaption")
        label.setWordWrap(True)
        layout.addWidget(label)
        if kind == "image":
            overlay = OverlayImage()
            overlay.setMouseTracking(True)
            overlay.opacity = self.opacity
            overlay.show_map(context, values)
            layout.addWidget(overlay, 1)
        elif kind == "tokens":
            text = QTextBrowser()
            text.setObjectName("attributionTokens")
            text.setHtml(token_html(context, values))
            text.setMinimumHeight(60)
            text.setMaximumHeight(160)
            layout.addWidget(text)
            strongest = QLabel("Strongest: " + strongest_tokens(context, values))
            strongest.setObjectName("strongestTokens")
            strongest.setWordWrap(True)
            layout.addWidget(strongest)
        else:
            layout.addWidget(_bars(np.asarray(values, dtype=np.float32).reshape(-1)))
        return box


BAR_LIMIT = 512
"""Above this many values, an input's attributions are drawn as a line rather than bars."""


def _bars(values: np.ndarray) -> pg.PlotWidget:
    """The attributions of a vector input: red bars for, blue against (a line when there are
    more than :data:`BAR_LIMIT` values)."""
    plot = pg.PlotWidget(background="w")
    plot.setObjectName("attributionBars")
    plot.setMinimumHeight(140)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    index = np.arange(len(values))
    if len(values) > BAR_LIMIT:
        plot.plot(index, values, pen=pg.mkPen(60, 60, 60))
    else:
        for sign, colour in ((values >= 0, (214, 39, 40)), (values < 0, (31, 119, 180))):
            if sign.any():
                plot.addItem(pg.BarGraphItem(x=index[sign], height=values[sign], width=0.8, brush=pg.mkBrush(*colour)))
    plot.setLabel("bottom", "value index")
    plot.setLabel("left", "attribution")
    return plot
