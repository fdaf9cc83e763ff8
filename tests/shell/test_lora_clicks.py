"""LoRA as a user reaches it: the layer's context menu, the dialog, the badge on the graph and in
the layer list, the counts, Undo, and the adapters saved on their own and loaded back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from tests.conftest import ROOT, settled
from tests.e2e.user import (
    answer_dialog,
    answer_file_dialog,
    click,
    type_into,
    use_layer_menu,
    use_menu,
)
from tests.shell.test_main_window import wait_loaded
from tests.shell.test_model_tab_clicks import wait_until_idle
from widgets.model.lora_dialog import LoraDialog

TIMEOUT = 60_000
SAMPLES = ROOT / "resources" / "samples"


def mlp_file(folder):
    from inspector.tfimport import keras

    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(hidden)
    model = keras.Model(inputs, outputs, name="mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = folder / "mlp.keras"
    model.save(path)
    return path


def layer_row(tab, name):
    (row,) = tab.layer_tree._tree.findItems(name, Qt.MatchFlag.MatchExactly)
    return row


def enable_lora_from_the_layer_list(qtbot, tab, name: str, rank: str, alpha: str) -> str:
    """Right-clicks layer ``name`` in the layer list, chooses "Enable LoRA on NAME…" and answers
    the dialog with ``rank`` and ``alpha``.

    Returns:
        The dialog's description of what gets adapters.
    """
    described = []

    def answer(dialog: LoraDialog):
        described.append(dialog.findChild(QLabel).text())
        type_into(qtbot, dialog.rank.lineEdit(), rank)
        type_into(qtbot, dialog.alpha.lineEdit(), alpha)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        assert ok.text() == "Enable LoRA"
        click(qtbot, ok)

    answered = answer_dialog(qtbot, LoraDialog, answer)
    use_layer_menu(qtbot, tab, name, f"Enable LoRA on {name}…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    settled(qtbot, tab)
    return described[0]


def lora_on_hidden_from_the_layer_list(qtbot, tab, rank="4", alpha="8") -> None:
    described = enable_lora_from_the_layer_list(qtbot, tab, "hidden", rank, alpha)
    assert "Add LoRA adapters to <b>hidden</b>." in described  # a plain layer: not "every … layer in"


def test_lora_from_the_context_menu_shows_everywhere_and_undoes(qtbot, window, tmp_path):
    tab = wait_loaded(qtbot, window.open_file(mlp_file(tmp_path)))
    wait_until_idle(qtbot, tab)
    lora_on_hidden_from_the_layer_list(qtbot, tab)
    qtbot.waitUntil(lambda: "LoRA r4" in tab.graph.node_item("hidden").tags, timeout=TIMEOUT)
    assert layer_row(tab, "hidden").text(4) == "LoRA r4"
    assert layer_row(tab, "out").text(4) == "frozen"  # the rest froze, as KerasHub's enable_lora does
    message = window.statusBar().currentMessage()
    # LoRA: 6·4 + 4·16 of 6·16 + 16 + 16·3 + 3 + 88 parameters
    assert message.startswith("Enable LoRA (rank 4) on hidden. LoRA 88 trainable of 251"), message
    assert "needs recompile" in message
    paths = [v.path for v in tab.info.variables]
    assert {"hidden/lora_kernel_a", "hidden/lora_kernel_b"} <= set(paths)
    assert tab.variables.table.model().rowCount() == len(paths)
    click(qtbot, tab.layer_tree._tree.viewport(), tab.layer_tree._tree.visualItemRect(layer_row(tab, "hidden")).center())
    qtbot.waitUntil(lambda: "rank 4, alpha 8" in tab.details.toPlainText(), timeout=5_000)

    use_menu(window, "&Edit", "&Undo Enable LoRA (rank 4) on hidden")
    settled(qtbot, tab)
    qtbot.waitUntil(lambda: "LoRA r4" not in tab.graph.node_item("hidden").tags, timeout=TIMEOUT)
    assert layer_row(tab, "hidden").text(4) == "trainable"
    assert not any("lora" in v.path for v in tab.info.variables)
    assert window.statusBar().currentMessage().startswith("Undid: Enable LoRA (rank 4) on hidden. Trainable params: 163 of 163")


def test_lora_weights_are_saved_alone_and_loaded_into_another_copy(qtbot, window, tmp_path):
    source = mlp_file(tmp_path)
    tab = wait_loaded(qtbot, window.open_file(source))
    wait_until_idle(qtbot, tab)
    lora_on_hidden_from_the_layer_list(qtbot, tab, rank="2", alpha="2")
    target = tmp_path / "adapters.lora.h5"
    done = answer_file_dialog(qtbot, target)
    use_menu(window, "&Model", "Save LoRA &Weights…")
    qtbot.waitUntil(lambda: bool(done) and target.exists(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Saved the LoRA weights of 1 layer to {target}", timeout=TIMEOUT)

    copy = tmp_path / "copy.keras"
    copy.write_bytes(source.read_bytes())
    other = wait_loaded(qtbot, window.open_file(copy))
    wait_until_idle(qtbot, other)
    done = answer_file_dialog(qtbot, target)
    use_menu(window, "&Model", "Loa&d LoRA Weights…")
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    settled(qtbot, other)
    qtbot.waitUntil(lambda: "LoRA r2" in other.graph.node_item("hidden").tags, timeout=TIMEOUT)
    assert window.statusBar().currentMessage().startswith("Load LoRA weights (1 layer). LoRA 44 trainable of 207")


def test_training_with_lora_moves_only_the_adapters_and_the_view_of_changes_says_so(qtbot, window, tmp_path, monkeypatch):
    from tests.training.test_training_clicks import DIGITS, choose_folder, show_training, type_number

    source = tmp_path / "digits_cnn.keras"
    source.write_bytes((SAMPLES / "digits_cnn.keras").read_bytes())
    tab = wait_loaded(qtbot, window.open_file(source))
    wait_until_idle(qtbot, tab)

    enable_lora_from_the_layer_list(qtbot, tab, "probs", "2", "2")
    qtbot.waitUntil(lambda: "LoRA r2" in tab.graph.node_item("probs").tags, timeout=TIMEOUT)

    panel = show_training(qtbot, window, tab)
    choose_folder(qtbot, panel, DIGITS, monkeypatch)
    type_number(qtbot, panel.epochs, "1")
    type_number(qtbot, panel.steps, "3")
    type_number(qtbot, panel.batch_size, "16")
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.start_button)
    table = panel.changes.table_model
    qtbot.waitUntil(lambda: table.row_of("probs") is not None, timeout=TIMEOUT)
    rows = {table.layer(row): row for row in range(table.rowCount())}
    assert table.text(rows["probs"], 1) != "0", "the adapters moved"
    for frozen in ("conv_1", "conv_2"):  # enabling LoRA froze the rest of the model, as KerasHub does
        assert table.text(rows[frozen], 1) == "0" and table.text(rows[frozen], 3) == "yes"
    tooltip = table.data(table.index(rows["probs"], 0), Qt.ItemDataRole.ToolTipRole)
    per_variable = dict(line.strip().rsplit(": ", 1) for line in tooltip.splitlines()[2:])
    assert per_variable["probs/kernel"] == "0", tooltip  # the base kernel is bit-identical
    assert per_variable["probs/lora_kernel_b"] != "0", tooltip
