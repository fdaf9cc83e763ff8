"""The scatter plot's points as one image, drawn for each view on a worker thread.

:class:`PointRasterItem` keeps the exact points and asks :mod:`inspector.embeddings.point_raster`
for an image of them whenever the view moves, is resized or the points change; a repaint only
draws the last image, scaled to where its view now is. So a pan or a zoom costs the same at a
million points as at a hundred, and the image catches up a frame or two later. Requests are
coalesced: a newer view cancels the one not yet drawn (``submit_latest``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QBrush, QImage

from inspector.embeddings.point_raster import Raster, RasterView, argb_colours, raster_job
from widgets.common.job_runner import JobRunner


class PointRasterItem(pg.GraphicsObject):
    """Points as discs (or rings) of one size, coloured from a small palette, drawn as an image.

    Args:
        size: The discs' diameter in pixels.
        ring: Draw rings this many pixels wide instead of discs; 0 for discs.

    Signals:
        drawn(): The image of the current points, colours and size for the current view is on
            screen (or there is nothing to draw).
    """

    drawn = Signal()

    def __init__(self, size: int = 4, ring: int = 0):
        super().__init__()
        self.size = size
        self.ring = ring
        self.xy = np.zeros((0, 2), dtype=np.float32)
        self.codes = np.zeros(0, dtype=np.int32)
        self.colours = np.zeros(0, dtype=np.uint32)
        self.raster: Raster | None = None
        self._image: QImage | None = None
        self._version = 0  # counts changes of the points, colours or size
        self._raster_version = -1
        self._requested: tuple | None = None
        self._pending = None  # the last image asked for
        self.bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        """The points' ``((x_min, y_min), (x_max, y_max))``, or ``None`` when there are none."""
        self.runner = JobRunner(self)

    # What to draw --------------------------------------------------------------------------------

    def set_points(self, xy: np.ndarray, codes: np.ndarray, palette: list[QBrush]) -> None:
        """Replaces every point.

        Args:
            xy: ``(n, 2)`` float32 positions; kept, not copied, so do not change it afterwards.
            codes: Per point, an index into ``palette``.
            palette: The colours.
        """
        self.xy = xy
        self._set_colours(codes, palette)
        self._moved()

    def move_points(self, xy: np.ndarray) -> None:
        """Moves the points (same number, same colours), e.g. while t-SNE optimises."""
        self.xy = xy
        self._moved()

    def set_colours(self, codes: np.ndarray, palette: list[QBrush]) -> None:
        """Gives point ``i`` the colour ``palette[codes[i]]``."""
        self._set_colours(codes, palette)
        self._changed()

    def set_point_size(self, size: int) -> None:
        """Changes the discs' diameter in pixels."""
        self.size = size
        self._changed()

    def _set_colours(self, codes: np.ndarray, palette: list[QBrush]) -> None:
        self.codes = np.asarray(codes, dtype=np.int32)
        self.colours = argb_colours([brush.color().getRgb() for brush in palette])

    def _moved(self) -> None:
        # Column by column: a reduction along axis 0 of an (n, 2) array is eight times slower.
        # fmin and fmax skip NaN.
        columns = (self.xy[:, 0], self.xy[:, 1])
        low = [float(np.fmin.reduce(column)) if len(column) else np.nan for column in columns]
        high = [float(np.fmax.reduce(column)) if len(column) else np.nan for column in columns]
        self.bounds = (tuple(low), tuple(high)) if np.isfinite(low + high).all() else None
        self.informViewBoundsChanged()
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._request()

    # Drawing -------------------------------------------------------------------------------------

    @property
    def current(self) -> bool:
        """Whether the image shows the current points for the current view (or there is
        nothing to draw and nothing is shown)."""
        view = self._wanted_view()
        if view is None or not len(self.xy):
            return self.raster is None
        return self.raster is not None and self._raster_version == self._version and self.raster.view == view

    def _wanted_view(self) -> RasterView | None:
        box = self.getViewBox()
        if box is None:
            return None
        rect, size = box.viewRect(), box.boundingRect()
        widget = self.getViewWidget()
        ratio = widget.devicePixelRatioF() if widget is not None else 1.0
        columns, rows = round(size.width() * ratio), round(size.height() * ratio)
        if columns < 1 or rows < 1 or rect.width() <= 0 or rect.height() <= 0:
            return None
        return RasterView(rect.left(), rect.top(), rect.width(), rect.height(), columns, rows)

    def _request(self) -> None:
        """Asks for an image of the current view unless it is drawn or on its way."""
        view = self._wanted_view()
        if view is None or not len(self.xy):
            if self._pending is not None:  # an image of points that are gone must not appear
                self._pending.cancel()
                self._pending.detach()
                self._pending = None
            if self.raster is not None:
                self.prepareGeometryChange()
                self.raster, self._image = None, None
            self._requested = None
            self.drawn.emit()
            return
        wanted = (self._version, view)
        if wanted == self._requested:
            return
        self._requested = wanted
        job = self.runner.submit_latest(
            "raster", "Drawing points", raster_job, self.xy, self.codes, self.colours, view, self.size, self.ring
        )
        job.succeeded.connect(lambda raster, version=self._version: self._show(raster, version))
        self._pending = job

    def _show(self, raster: Raster, version: int) -> None:
        self.prepareGeometryChange()
        self.raster, self._raster_version = raster, version
        view = raster.view
        self._image = QImage(raster.argb.data, view.columns, view.rows, view.columns * 4, QImage.Format.Format_ARGB32_Premultiplied)
        self.update()
        if self.current:
            self.drawn.emit()

    def viewTransformChanged(self) -> None:
        """The view was panned, zoomed or resized: draws the points for it."""
        self._request()

    def boundingRect(self) -> QRectF:
        if self.raster is None:
            return QRectF()
        view = self.raster.view
        return QRectF(view.x0, view.y0, view.width, view.height)

    def paint(self, painter, *args) -> None:
        if self._image is not None:
            painter.drawImage(self.boundingRect(), self._image)

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):
        """The points' extent along ``axis``, for the view box's auto-range."""
        if self.bounds is None:
            return None, None
        return self.bounds[0][axis], self.bounds[1][axis]

    def pixelPadding(self) -> float:
        """Room the discs need beyond the points' extent, in pixels."""
        return self.size / 2

    # Picking -------------------------------------------------------------------------------------

    def drawn_near(self, x: float, y: float, radius_px: int) -> np.ndarray | None:
        """The points drawn with their centres within ``radius_px`` pixels of a data position.

        Returns:
            Their indices, or ``None`` when the image on screen is not the current one (the
            caller then searches every point).
        """
        if not self.current:
            return None
        return self.raster.points_near(x, y, radius_px)
