"""Activations of the image model for a folder of images in class sub-folders: the folder is
chosen with the editor's button, layers are ticked in the list, Extract shows the feature-map
mosaic and the channel table, and clicking a map enlarges it."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from tests.e2e.features import open_sample, picture
from tests.e2e.user import (
    answer_file_dialog,
    check_item,
    choose_in_combo,
    click,
    click_button,
    click_plot,
    on_screen,
    press,
    type_into,
)

EXTRACT_TIMEOUT_MS = 60_000


def image_folder(root):
    """Six 12×12 grey PNGs, three per class folder: bright discs and bright squares."""
    y, x = np.mgrid[:12, :12]
    shapes = {
        "discs": (x - 5.5) ** 2 + (y - 5.5) ** 2 < 16,
        "squares": (abs(x - 5.5) < 4) & (abs(y - 5.5) < 4),
    }
    for name, shape in shapes.items():
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.where(np.roll(shape, i, axis=1), 255, 20).astype(np.uint8)
            Image.fromarray(pixels, "L").save(root / name / f"{name}_{i}.png")
    return root


def test_extract_feature_maps_of_an_image_folder(qtbot, launch, tmp_path):
    folder = image_folder(tmp_path / "shapes")
    window, tab = open_sample(qtbot, launch, "digits_cnn.keras")
    panel = tab.activations

    press(qtbot, window, "Ctrl+3")
    qtbot.waitUntil(lambda: tab.current_view == "activations" and panel.inputs is not None and panel.inputs.isVisible(), timeout=EXTRACT_TIMEOUT_MS)
    editor = panel.inputs.editors["image"]
    assert editor.summary.text() == "Drop images or folders here, or add them"

    answered = answer_file_dialog(qtbot, folder)
    click_button(qtbot, editor, "Add folder")
    qtbot.waitUntil(lambda: bool(answered), timeout=20_000)
    assert editor.summary.text() == "6 image(s) in 2 class folders · resized to 8×8"
    assert not editor.preview.pixmap().isNull()
    assert editor.preview_text.text().startswith("discs_0.png as the model receives it: 8×8×1")

    type_into(qtbot, panel.layer_filter, "conv")
    shown = [panel.layer_list.item(r).text().split()[0] for r in range(panel.layer_list.count()) if not panel.layer_list.item(r).isHidden()]
    assert shown == ["conv_1", "conv_2"]
    for name in shown:
        item = check_item(qtbot, panel.layer_list, name)
        assert item.checkState() == Qt.CheckState.Checked, f"clicking {name}'s check box did not tick it"
    assert panel.layer_count.text() == "2 chosen"

    with qtbot.waitSignal(panel.extracted, timeout=EXTRACT_TIMEOUT_MS):
        click(qtbot, panel.extract_button)
    assert panel.message.text() == "Extracted 2 layer output(s) for 6 input(s)."
    assert [panel.layer_choice.itemText(i) for i in range(panel.layer_choice.count())] == ["conv_1", "conv_2"]
    assert panel.sample_choice.itemText(0) == "1: discs/discs_0.png"
    assert panel.sample_choice.itemText(5) == "6: squares/squares_2.png"

    grid = panel.view.feature_maps
    assert panel.view.current_view() is grid and grid.grid_plot.isVisible()
    assert "conv_1" in panel.view.title_label.text() and "shape (8, 8, 16)" in panel.view.title_label.text()
    assert grid.mosaic is not None
    on_screen(qtbot, grid.image_plot)  # the input image beside the maps
    table = panel.stats_table.model()
    assert table.rowCount() == 16
    assert [table.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == ["Channel", "Mean", "Zero (dead) %"]
    assert panel.stats_label.text().startswith("16 channels over 384 values")
    picture(window, "activations_images")

    click_plot(qtbot, grid.grid_plot, *grid.tile_center(5))
    qtbot.waitUntil(lambda: grid.enlarged_channel == 5, timeout=5000)
    on_screen(qtbot, grid.enlarged_plot)
    selected = panel.stats_table.selectionModel().selectedRows()
    assert [table.data(index) for index in selected] == ["5"]
    picture(window, "activations_images_enlarged")

    choose_in_combo(qtbot, panel.layer_choice, "conv_2")
    qtbot.waitUntil(lambda: "shape (4, 4, 32)" in panel.view.title_label.text(), timeout=5000)
    assert "conv_2" in panel.view.title_label.text()
    assert table.rowCount() == 32
