"""Points drawn into a pixel grid: where each disc lands, which point wins, what picking finds."""

from __future__ import annotations

import numpy as np

from inspector.embeddings.point_raster import EMPTY, RasterView, argb_colours, disc_offsets, rasterise

RED, BLUE = argb_colours([[255, 0, 0, 255], [0, 0, 255, 255]])
VIEW = RasterView(0.0, 0.0, 10.0, 10.0, 10, 10)  # one data unit per pixel


def draw(xy, codes, diameter=1, view=VIEW):
    return rasterise(np.asarray(xy, dtype=np.float32), np.asarray(codes), np.array([RED, BLUE]), view, diameter)


def test_a_point_fills_the_pixel_under_it_with_its_colour():
    raster = draw([[3.5, 6.5]], [1])
    assert raster.argb[6, 3] == BLUE  # row 6 is y 6 to 7: rows count up from the view's bottom
    assert (raster.argb != 0).sum() == 1
    assert raster.top[6, 3] == 0 and raster.centres[6, 3] == 0
    assert (raster.top == EMPTY).sum() == 99


def test_discs_have_the_diameter_asked_for():
    assert [len(disc_offsets(d)) for d in (1, 2, 3, 4, 5)] == [1, 4, 9, 12, 21]
    raster = draw([[5.5, 5.5]], [0], diameter=5)
    rows, columns = np.nonzero(raster.top == 0)
    assert (rows.min(), rows.max(), columns.min(), columns.max()) == (3, 7, 3, 7)
    assert raster.top[3, 3] == EMPTY  # a disc, not a square
    assert (raster.centres != EMPTY).sum() == 1


def test_the_point_drawn_last_is_on_top():
    raster = draw([[5.5, 5.5], [5.6, 5.4], [6.5, 5.5]], [0, 1, 0], diameter=3)
    assert raster.top[5, 5] == 2  # point 2's disc covers point 1's centre and comes later
    assert raster.top[5, 4] == 1
    assert raster.argb[5, 4] == BLUE
    assert raster.centres[5, 5] == 1  # points 0 and 1 share the pixel; 1 came later


def test_points_just_outside_the_view_draw_the_part_of_their_disc_inside_it():
    raster = draw([[-0.5, 5.5], [10.5, 5.5], [-3.0, 5.5]], [0, 1, 0], diameter=3)
    assert raster.top[5, 0] == 0 and raster.top[5, 9] == 1
    assert (raster.top == 2).sum() == 0  # too far out to reach the view
    assert (raster.centres != EMPTY).sum() == 0


def test_points_that_are_not_numbers_are_not_drawn():
    raster = draw([[np.nan, 1.0], [2.5, np.inf], [4.5, 4.5]], [0, 0, 1])
    assert (raster.top != EMPTY).sum() == 1 and raster.top[4, 4] == 2


def test_a_view_of_another_size_and_place():
    view = RasterView(-1.0, 100.0, 2.0, 50.0, 200, 100)  # 0.01 x and 0.5 y per pixel
    raster = draw([[0.0, 125.0]], [0], view=view)
    assert raster.argb.shape == (100, 200)
    assert raster.top[50, 100] == 0


def test_points_near_finds_the_centres_drawn_around_a_position():
    raster = draw([[2.5, 2.5], [4.5, 2.5], [9.5, 9.5]], [0, 0, 1])
    assert sorted(raster.points_near(3.0, 2.9, 2).tolist()) == [0, 1]
    assert raster.points_near(3.0, 2.9, 0).tolist() == []
    assert raster.points_near(9.9, 9.9, 1).tolist() == [2]
    assert raster.points_near(-50.0, -50.0, 3).tolist() == []


def test_transparent_colours_are_premultiplied():
    (half_red,) = argb_colours([[255, 0, 0, 128]])
    assert half_red == (128 << 24) | (128 << 16)


def test_rings_leave_their_middle_empty():
    from inspector.embeddings.point_raster import ring_offsets

    assert set(ring_offsets(9, 1)) == set(disc_offsets(9)) - set(disc_offsets(7))
    raster = rasterise(np.array([[5.5, 5.5]], np.float32), np.array([0]), np.array([RED]), VIEW, 7, ring=1)
    assert raster.top[5, 5] == EMPTY and raster.top[5, 2] == 0 and raster.top[5, 8] == 0
