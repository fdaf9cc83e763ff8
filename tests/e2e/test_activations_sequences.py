"""Activations of the text model for two typed lines of different lengths: the vocabulary file is
chosen with the editor's button, padding is set to "pre" with a maxlen, the padded preview
greys the masked cells, and Extract shows the sequence heatmap with the padding shaded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.conftest import SAMPLES
from tests.e2e.features import open_sample, picture
from tests.e2e.user import (
    answer_file_dialog,
    check_item,
    choose_in_combo,
    click,
    click_button,
    on_screen,
    press,
    type_number,
)

EXTRACT_TIMEOUT_MS = 60_000
LINES = ("the tennis match was great", "piano guitar")  # "was" is not in the vocabulary


def preview_row(table, row):
    """The texts of one row of the padded preview and which of its cells are greyed."""
    cells = [table.item(row, column) for column in range(table.columnCount())]
    return [cell.text() for cell in cells], [cell.toolTip().endswith("padding, masked") for cell in cells]


def test_typed_text_padded_before_and_its_sequence_heatmap(qtbot, launch):
    window, tab = open_sample(qtbot, launch, "topic_rnn.keras")
    panel = tab.activations
    press(qtbot, window, "Ctrl+3")
    qtbot.waitUntil(lambda: panel.inputs is not None and panel.inputs.isVisible(), timeout=EXTRACT_TIMEOUT_MS)
    editor = panel.inputs.editors["tokens"]

    answered = answer_file_dialog(qtbot, SAMPLES / "topic_rnn_vocab.txt")
    click_button(qtbot, editor, "Vocabulary file")
    qtbot.waitUntil(lambda: bool(answered), timeout=20_000)
    assert editor.vocabulary_label.text().endswith("tokens from topic_rnn_vocab.txt")

    click(qtbot, editor.text)
    qtbot.keyClicks(editor.text, LINES[0])
    QTest.keyClick(editor.text, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.text, LINES[1])
    assert editor.summary.text() == "2 input(s)"
    choose_in_combo(qtbot, editor.pad_row.padding, "pre")
    type_number(qtbot, editor.pad_row.maxlen, "8")
    assert editor.pad_row.maxlen.value() == 8

    preview = editor.preview
    qtbot.waitUntil(lambda: preview.rowCount() == 2 and preview.columnCount() == 8, timeout=5000)
    on_screen(qtbot, preview)
    texts, grey = preview_row(preview, 0)
    assert texts[3:] == ["the", "tennis", "match", "[UNK]", "great"] and grey == [True] * 3 + [False] * 5
    texts, grey = preview_row(preview, 1)
    assert texts[6:] == ["piano", "guitar"] and grey == [True] * 6 + [False] * 2
    assert preview.item(1, 0).background().color().name() == "#dddddd"
    assert editor.preview_text.text().startswith("First 2 of 2 padded to 8 steps; grey = padding (masked).")
    picture(window, "activations_text_preview")

    for name in ("bilstm", "gru_1"):
        item = check_item(qtbot, panel.layer_list, name)
        assert item.checkState() == Qt.CheckState.Checked, f"clicking {name}'s check box did not tick it"
    with qtbot.waitSignal(panel.extracted, timeout=EXTRACT_TIMEOUT_MS):
        click(qtbot, panel.extract_button)
    assert panel.message.text() == "Extracted 2 layer output(s) for 2 input(s)."
    assert any("unknown" in note for note in panel.notes.text().splitlines()), panel.notes.text()

    heatmap = panel.view.sequence
    assert panel.view.current_view() is heatmap
    on_screen(qtbot, heatmap.plot)
    title = panel.view.title_label.text()
    assert "bilstm" in title and "shape (8, 32)" in title
    assert heatmap.shaded_steps().tolist() == [0, 1, 2]
    assert [label for _, label in heatmap.half_labels()] == ["forward", "backward"]
    picture(window, "activations_text_heatmap")

    choose_in_combo(qtbot, panel.sample_choice, "2: ")
    qtbot.waitUntil(lambda: heatmap.shaded_steps().tolist() == [0, 1, 2, 3, 4, 5], timeout=5000)
    assert "2: piano guitar" in panel.view.title_label.text() or "2:" in panel.view.title_label.text()
