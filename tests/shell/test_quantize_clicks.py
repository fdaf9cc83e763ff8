"""Model ▸ Quantize a Copy… as a user goes through it: inputs typed in the Activations view, the
dialog, the copy in a new tab with its quantized layers marked, and the comparison."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from tests.e2e.user import answer_dialog, answer_message_box, choose_in_combo, click, click_tab, type_into, use_menu
from tests.shell.test_layer_colouring_clicks import colour_by
from tests.shell.test_lora_clicks import mlp_file
from tests.shell.test_main_window import wait_loaded
from widgets.model.quantize_dialog import QuantizeDialog

TIMEOUT = 60_000


def test_a_quantized_copy_opens_in_a_new_tab_and_is_compared_on_the_typed_inputs(qtbot, window, tmp_path):
    tab = wait_loaded(qtbot, window.open_file(mlp_file(tmp_path)))
    use_menu(window, "View", "Activations")
    panel = tab.activations
    qtbot.waitUntil(lambda: panel.inputs is not None and panel.inputs.isVisible(), timeout=TIMEOUT)
    type_into(qtbot, panel.inputs.editors["x"].values, "0.1, -0.2, 0.3, 0.4, -0.5, 0.6")

    seen_compare = []

    def answer(dialog: QuantizeDialog):
        choose_in_combo(qtbot, dialog.mode, "int8")
        seen_compare.append(dialog.compare.isEnabled() and dialog.compare.isChecked())
        click(qtbot, dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok))

    answered = answer_dialog(qtbot, QuantizeDialog, answer)
    comparison = answer_message_box(qtbot, "OK")
    use_menu(window, "Model", "Quantize a Copy…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    assert seen_compare == [True]
    qtbot.waitUntil(lambda: len(window.model_tabs()) == 2, timeout=TIMEOUT)
    copy = wait_loaded(qtbot, window.model_tabs()[1])
    assert copy.path.name == "mlp_int8.keras"
    assert "INT8" in copy.graph.node_item("hidden").tags and "INT8" in copy.graph.node_item("out").tags
    assert "2 quantized layers" in copy.variables.totals_label.text()
    qtbot.waitUntil(lambda: bool(comparison), timeout=TIMEOUT)
    text = comparison[0]
    assert "mlp_int8.keras against mlp.keras on 1 sample." in text and "Top-1 agreement" in text and ">out<" in text

    # View ▸ Colour Layers By shows what quantizing saved, layer by layer, on the copy's graph.
    click_tab(qtbot, window.tabs, "mlp_int8.keras")
    colour_by(window, "Quantized Size Against float32")
    values = copy.graph.layer_values()
    layers = copy.info.layer_index()
    assert values == {name: layers[name].quantization.bytes / layers[name].quantization.float32_bytes for name in ("hidden", "out")}
    assert all(0.2 < value < 0.7 for value in values.values()), values  # int8 kernels, float32 scales and biases
    assert "quantized size / float32 size" in copy.graph.value_legend.text()
    click_tab(qtbot, window.tabs, "mlp.keras")
    colour_by(window, "Quantized Size Against float32")
    assert tab.graph.layer_values() is None
    assert window.statusBar().currentMessage().startswith("No layer of this model is quantized")
