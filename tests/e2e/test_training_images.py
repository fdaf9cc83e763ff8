"""Fine-tuning the CNN on the digit image folder with augmentation: the folder is chosen with
the Folder… button, a flip and a rotation are set, Start draws the curves, Stop ends the run
with a summary, "What changed" lists each layer's change and the BatchNormalization audit
fills its table."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.e2e.features import open_sample, picture
from tests.e2e.user import (
    answer_file_dialog,
    choose_in_combo,
    click,
    click_tab,
    on_screen,
    press,
    type_number,
)

DIGITS = ROOT / "resources" / "data" / "digits"
TRAIN_TIMEOUT_MS = 120_000


def test_train_from_an_image_folder_then_see_what_changed(qtbot, launch):
    window, tab = open_sample(qtbot, launch, "digits_cnn.keras")
    panel = tab.training
    press(qtbot, window, "Ctrl+4")
    qtbot.waitUntil(lambda: panel.data_editor is not None and panel.data_editor.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    data = panel.data_editor
    assert data.kind_combo.currentText() == "Image folder (one sub-folder per class)"

    answered = answer_file_dialog(qtbot, DIGITS)
    click(qtbot, data.folder_button)
    qtbot.waitUntil(lambda: bool(answered), timeout=20_000)
    assert data.path_edit.text() == str(DIGITS)
    assert data.summary.text().startswith("10 class folders")

    with qtbot.waitSignal(data.preview_updated, timeout=TRAIN_TIMEOUT_MS):
        choose_in_combo(qtbot, data.flip, "Horizontal")
    type_number(qtbot, data.factors["rotation"], "0.1")
    assert data.factors["rotation"].value() == 0.1
    click(qtbot, data.rescale_check)  # the PNGs hold 0-255; the model's own Rescaling expects 0-16
    assert data.rescale_check.isChecked()
    type_number(qtbot, data.rescale_spin, "0.06275")
    assert abs(data.rescale_spin.value() - 16 / 255) < 1e-4
    qtbot.waitUntil(lambda: "random augmentations" in data.preview_caption.text(), timeout=TRAIN_TIMEOUT_MS)
    on_screen(qtbot, data.preview)
    assert not data.preview.pixmap().isNull()
    type_number(qtbot, panel.epochs, "3")
    picture(window, "training_data")

    click(qtbot, panel.start_button)
    curve = panel.curves.batch_curve
    qtbot.waitUntil(lambda: curve.getData()[0] is not None and len(curve.getData()[0]) > 0, timeout=TRAIN_TIMEOUT_MS)
    on_screen(qtbot, panel.curves.loss_plot)
    click(qtbot, panel.stop_button)
    qtbot.waitUntil(lambda: not panel.running, timeout=TRAIN_TIMEOUT_MS)
    result = panel.result_label.text()
    assert "Stopped" in result and "the file is unchanged until you save" in result, result
    on_screen(qtbot, panel.result_label)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.revert.isEnabled()
    assert window.tabs.tabText(window.tabs.currentIndex()).endswith("*")  # trained: unsaved weights
    picture(window, "training_curves")

    click_tab(qtbot, panel.results, "What changed")
    changes = panel.changes
    qtbot.waitUntil(lambda: changes.table_model.rowCount() == 4, timeout=TRAIN_TIMEOUT_MS)
    layers = sorted(changes.table_model.text(row, 0) for row in range(4))
    assert layers == ["bn_1", "conv_1", "conv_2", "probs"]
    assert changes.summary.text().startswith("4 layers with weights · ")
    on_screen(qtbot, changes.chart)
    picture(window, "training_changes")

    click(qtbot, changes.bn_button)
    qtbot.waitUntil(lambda: changes.bn_model.rowCount() == 1, timeout=TRAIN_TIMEOUT_MS)
    assert changes.tabs.tabText(changes.tabs.currentIndex()) == "BatchNormalization audit (1)"
    assert changes.bn_model.text(0, 0) == "bn_1"
    assert changes.bn_model.text(0, 4) == "16"  # channels
    on_screen(qtbot, changes.bn_table)
    picture(window, "training_bn_audit")
