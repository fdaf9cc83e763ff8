"""Scatter points drawn into a pixel grid with NumPy: a million points in tens of milliseconds.

A scatter item that paints every point as a symbol costs time per point on every repaint
(pyqtgraph's ``ScatterPlotItem``: 40 ms at 100,000 points, seconds at a million). Here the
points are drawn once per view into an image the size of the plot, on a worker thread, and a
repaint only draws that image. Each pixel shows the last point (in data order) whose disc covers
it, as a scatter item drawing the points in order would, and the grid of which point's centre
falls in each pixel answers "which point is under the mouse" for what is on screen.

Points whose centre lies just outside the view still draw the part of their disc that is inside
it, so panning never shows a seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Generator

import numpy as np

from inspector.jobs import Progress

EMPTY = -1


@dataclass(frozen=True)
class RasterView:
    """The part of the data plane an image shows, and the image's size.

    Attributes:
        x0: Data x at the image's left edge.
        y0: Data y at the image's first row (the bottom of a plot).
        width: Data width the image spans.
        height: Data height the image spans.
        columns: Image width in pixels.
        rows: Image height in pixels.
    """

    x0: float
    y0: float
    width: float
    height: float
    columns: int
    rows: int

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Data units per pixel along x and y."""
        return self.width / self.columns, self.height / self.rows


@dataclass(frozen=True)
class Raster:
    """Points drawn for one view.

    Attributes:
        view: What the image shows.
        argb: ``(rows, columns)`` premultiplied ARGB32 pixels; row 0 is the view's ``y0``.
        top: Per pixel the drawn point's index, or :data:`EMPTY`.
        centres: Per pixel the last point whose centre falls in it, or :data:`EMPTY`.
    """

    view: RasterView
    argb: np.ndarray
    top: np.ndarray
    centres: np.ndarray

    def points_near(self, x: float, y: float, radius_px: int) -> np.ndarray:
        """Indices of the points whose centres are drawn within ``radius_px`` pixels of a data position."""
        view = self.view
        column = int(np.floor((x - view.x0) / view.width * view.columns))
        row = int(np.floor((y - view.y0) / view.height * view.rows))
        window = self.centres[
            max(row - radius_px, 0) : max(row + radius_px + 1, 0), max(column - radius_px, 0) : max(column + radius_px + 1, 0)
        ]
        found = window[window != EMPTY]
        return found.astype(np.int64)


@lru_cache(maxsize=32)
def disc_offsets(diameter: int) -> tuple[tuple[int, int], ...]:
    """The ``(row, column)`` offsets of the pixels a disc of ``diameter`` pixels covers from its centre pixel."""
    diameter = max(int(diameter), 1)
    first = -(diameter // 2)
    shift = diameter // 2 - (diameter - 1) / 2  # from an offset to the pixel centre's distance to the disc's centre
    span = range(first, first + diameter)
    return tuple((dy, dx) for dy in span for dx in span if (dy + shift) ** 2 + (dx + shift) ** 2 <= (diameter / 2) ** 2)


@lru_cache(maxsize=32)
def ring_offsets(diameter: int, width: int) -> tuple[tuple[int, int], ...]:
    """The offsets of a ring ``width`` pixels wide whose outer diameter is ``diameter``."""
    inner = set(disc_offsets(diameter - 2 * width)) if diameter > 2 * width else set()
    return tuple(offset for offset in disc_offsets(diameter) if offset not in inner)


def argb_colours(rgba: np.ndarray) -> np.ndarray:
    """``(k, 4)`` 0-255 RGBA colours as premultiplied ARGB32 words."""
    rgba = np.asarray(rgba, dtype=np.uint32).reshape(-1, 4)
    alpha = rgba[:, 3]
    rgb = rgba[:, :3] * alpha[:, None] // 255
    return (alpha << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def rasterise(
    xy: np.ndarray, codes: np.ndarray, colours: np.ndarray, view: RasterView, diameter: int, ring: int = 0
) -> Raster:
    """Draws points as discs (or rings) into an image of ``view``.

    Args:
        xy: ``(n, 2)`` float positions (rows with NaN are not drawn).
        codes: Per point an index into ``colours``.
        colours: Premultiplied ARGB32 words (:func:`argb_colours`).
        view: The data rectangle and image size.
        diameter: The discs' diameter in pixels.
        ring: Draw rings this many pixels wide instead of discs; 0 for discs.

    Returns:
        The image, which point each pixel shows, and which point's centre each pixel holds.
    """
    return _finish(*_centres(xy, view, diameter), codes, colours, view, diameter, ring)


def raster_job(xy, codes, colours, view: RasterView, diameter: int, ring: int = 0) -> Generator[Progress, None, Raster]:
    """:func:`rasterise` as a job that a newer view can cancel between its two passes."""
    centres, margin = _centres(xy, view, diameter)
    yield Progress("Drawing points")
    return _finish(centres, margin, codes, colours, view, diameter, ring)


def _centres(xy: np.ndarray, view: RasterView, diameter: int) -> tuple[np.ndarray, int]:
    """The grid of point centres, with a margin as wide as a disc's radius on every side."""
    margin = max(int(diameter), 1) // 2 + 1
    columns, rows = view.columns + 2 * margin, view.rows + 2 * margin
    scale_x, scale_y = view.columns / view.width, view.rows / view.height
    px = xy[:, 0] - np.float32(view.x0)
    px *= np.float32(scale_x)
    px += margin
    py = xy[:, 1] - np.float32(view.y0)
    py *= np.float32(scale_y)
    py += margin
    inside = px >= 0
    inside &= px < columns
    inside &= py >= 0
    inside &= py < rows
    if inside.all():
        index = None
        cells = py.astype(np.int32)
        cells *= columns
        cells += px.astype(np.int32)
    else:
        index = np.flatnonzero(inside)
        cells = py[index].astype(np.int32)
        cells *= columns
        cells += px[index].astype(np.int32)
    grid = np.full(rows * columns, EMPTY, dtype=np.int32)
    # Repeated cells keep the last point written, i.e. the one drawn last.
    grid[cells] = np.arange(len(xy), dtype=np.int32) if index is None else index.astype(np.int32)
    return grid.reshape(rows, columns), margin


def _finish(grid: np.ndarray, margin: int, codes, colours, view: RasterView, diameter: int, ring: int) -> Raster:
    """Spreads each centre over its disc or ring and colours the pixels."""
    rows, columns = view.rows, view.columns
    top = np.full((rows, columns), EMPTY, dtype=np.int32)
    for dy, dx in ring_offsets(diameter, ring) if ring else disc_offsets(diameter):
        # Pixel p shows the centre at p - offset.
        np.maximum(top, grid[margin - dy : margin - dy + rows, margin - dx : margin - dx + columns], out=top)
    palette = np.append(np.asarray(colours, dtype=np.uint32), np.uint32(0))
    point_colours = np.append(np.asarray(codes, dtype=np.int32), np.int32(len(palette) - 1))
    argb = palette[point_colours[top]]
    return Raster(view, argb, top, np.ascontiguousarray(grid[margin : margin + rows, margin : margin + columns]))
