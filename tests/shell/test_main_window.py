"""The main window as a user meets it: opening, dropping, bad files, selection, find, lifecycle."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from tests.e2e.user import answer_message_box
from tests.kernel import kernel_jobs
from widgets.shell.app import create_window
from widgets.common.error_reporting import configure_logging, log_file
from widgets.shell.main_window import MainWindow

LOAD_TIMEOUT = 60_000


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


def wait_loaded(qtbot, tab):
    qtbot.waitUntil(lambda: tab.is_loaded or tab.error is not None, timeout=LOAD_TIMEOUT)
    assert tab.error is None, tab.error
    return tab


def wait_failed(qtbot, tab):
    qtbot.waitUntil(lambda: tab.error is not None or tab.is_loaded, timeout=LOAD_TIMEOUT)
    assert tab.error is not None
    return tab


def test_command_line_files_open_in_tabs(qtbot, settings, samples_dir):
    files = [samples_dir / "two_input_two_output.keras", samples_dir / "digits_cnn.keras"]
    win = create_window([str(f) for f in files], settings)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: len(win.model_tabs()) == 2, timeout=5000)
    for tab in win.model_tabs():
        wait_loaded(qtbot, tab)
    two_io = win.model_tabs()[0]
    assert [t.name for t in two_io.info.inputs] == ["image_input", "aux_input"]
    assert win.tabs.tabText(0) == "two_input_two_output.keras"
    win.reporter.uninstall()
    win.shutdown()


def test_command_line_vectors_open_in_an_embeddings_window(qtbot, settings, tmp_path, samples_dir):
    import numpy as np

    vectors = tmp_path / "words.npy"
    np.save(vectors, np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32))
    win = create_window([str(vectors), str(samples_dir / "digits_cnn.keras")], settings)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: len(win.projectors) == 1 and len(win.model_tabs()) == 1, timeout=5000)
    projector = win.projectors[0]
    qtbot.waitUntil(lambda: projector.panel.projection is not None, timeout=LOAD_TIMEOUT)
    assert projector.windowTitle() == "Embeddings — words.npy"
    assert "50 points × 8 dimensions" in projector.panel.title.text()
    wait_loaded(qtbot, win.model_tabs()[0])
    projector.close()
    win.reporter.uninstall()
    win.shutdown()


def test_dropping_files_opens_each_in_its_own_tab(qtbot, window, samples_dir):
    files = [samples_dir / "topic_rnn.keras", samples_dir / "two_input_two_output.h5"]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in files])
    position = QPointF(window.width() / 2, window.height() / 2)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # Without a real drag in progress Qt does not route drag events, so they go to the handlers.
    enter = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(position, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    window.dropEvent(drop)
    assert drop.isAccepted()
    assert [tab.path.name for tab in window.model_tabs()] == ["topic_rnn.keras", "two_input_two_output.h5"]
    for tab in window.model_tabs():
        wait_loaded(qtbot, tab)
    assert window.model_tabs()[1].info.format == "h5"


def test_a_bad_file_shows_its_reason_and_other_tabs_survive(qtbot, window, samples_dir, tmp_path):
    good = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    bad_path = tmp_path / "notes.h5"
    bad_path.write_text("not a model")
    bad = wait_failed(qtbot, window.open_file(bad_path))
    assert bad.stack.currentWidget() is bad.error_page
    reason = bad.error_page.reason.text()
    assert str(bad_path) in reason and "text file" in reason
    assert "notes.h5" in window.statusBar().currentMessage()
    window.close_tab(window.tabs.indexOf(bad))
    assert window.model_tabs() == [good] and good.is_loaded


def test_selecting_a_layer_shows_its_details_everywhere(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    with qtbot.waitSignal(tab.layer_tree.layer_selected, timeout=5000):
        item = tab.layer_tree._items["main_output"]
        tab.layer_tree._tree.setCurrentItem(item)
    assert tab.details.layer.name == "main_output"
    assert "Trainable params" in tab.details.toPlainText()
    assert tab.graph.selected_layer() == "main_output"


def test_find_layer_goes_to_the_match(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "two_input_two_output.keras"))
    window.findChild(type(window.menuBar())).actions()  # menus exist
    tab.show_find()
    qtbot.keyClicks(tab.find_bar, "aux_out")
    assert tab.find_status.text() == "1 match"
    qtbot.keyClick(tab.find_bar, Qt.Key.Key_Return)
    assert tab.graph.selected_layer() == "aux_output"
    assert tab.details.layer.name == "aux_output"


def test_nested_model_expands_in_the_graph(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "transfer_digits.keras"))
    base = next(layer for layer in tab.info.layers if layer.kind == "model")
    assert base.name in tab.graph.node_ids()
    tab.graph.expand(base.name)
    inner = {f"{base.name}/{child.name}" for child in base.children}
    assert inner <= set(tab.graph.node_ids())
    assert base.trainable_params == 0
    assert tab.layer_tree._items[base.path].text(4) == "frozen"


def test_recent_files_are_remembered_across_runs(qtbot, window, settings, samples_dir):
    wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    later = MainWindow(settings)
    qtbot.addWidget(later)
    assert later.recent_files()[0] == str(samples_dir / "digits_cnn.keras")
    assert later.recent_menu.actions()[0].text() == str(samples_dir / "digits_cnn.keras")
    assert later.start_page.recent.item(0).text().startswith("digits_cnn.keras\n")


def test_closing_a_tab_while_it_loads_cancels_without_crashing(qtbot, window, samples_dir):
    tab = window.open_file(samples_dir / "transfer_digits.keras")
    runner = tab.runner
    window.close_tab(window.tabs.indexOf(tab))
    assert window.model_tabs() == []
    assert window.pages.currentWidget() is window.start_page
    qtbot.waitUntil(lambda: not runner.busy, timeout=LOAD_TIMEOUT)


def test_cancel_button_closes_the_loading_tab(qtbot, window, samples_dir):
    tab = window.open_file(samples_dir / "topic_rnn.keras")
    qtbot.mouseClick(tab.busy_page.cancel, Qt.MouseButton.LeftButton)
    assert tab not in window.model_tabs()


def test_lambda_model_opens_only_after_explicit_consent(qtbot, window, tmp_path, monkeypatch):
    from inspector.tfimport import keras

    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t + 1.0, name="plus_one")(inp))
    path = tmp_path / "lambda.keras"
    model.save(path)
    tab = wait_failed(qtbot, window.open_file(path))
    assert tab.error_page.allow_code.isVisibleTo(tab.error_page)
    assert "plus_one" in tab.error_page.reason.text()
    seen = answer_message_box(qtbot, "Cancel")
    qtbot.mouseClick(tab.error_page.allow_code, Qt.MouseButton.LeftButton)
    assert seen and "plus_one" in seen[0]
    assert tab.stack.currentWidget() is tab.error_page
    answer_message_box(qtbot, "Open")
    qtbot.mouseClick(tab.error_page.allow_code, Qt.MouseButton.LeftButton)
    wait_loaded(qtbot, tab)
    assert any("safe mode off" in note for note in tab.info.notes)


def test_missing_custom_class_is_named_and_a_python_file_fixes_it(qtbot, window, tmp_path):
    from inspector.model.loading import load_custom_objects
    from inspector.tfimport import keras

    code = tmp_path / "layers_def.py"
    code.write_text(
        "import keras\n\nclass Twice(keras.layers.Layer):\n    def call(self, x):\n        return 2.0 * x\n"
    )
    twice = load_custom_objects(code)["Twice"]
    inp = keras.Input((3,), name="x")
    path = tmp_path / "custom.keras"
    keras.Model(inp, twice(name="twice")(inp)).save(path)
    tab = wait_failed(qtbot, window.open_file(path))
    assert "Twice" in tab.error_page.reason.text()
    assert tab.error_page.choose_code.isVisibleTo(tab.error_page)
    tab.use_custom_code(code)
    wait_loaded(qtbot, tab)
    assert tab.info.layer_index()["twice"].class_name == "Twice"


def test_unexpected_errors_reach_the_user_and_the_log(qtbot, window, tmp_path, monkeypatch):
    from widgets.common.error_reporting import ExceptionReporter

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    configure_logging()
    reporter = ExceptionReporter(window)
    try:
        with qtbot.waitSignal(reporter._reported, timeout=5000):
            try:
                raise RuntimeError("surprise in a slot")
            except RuntimeError as exc:
                reporter._excepthook(type(exc), exc, exc.__traceback__)
        qtbot.waitUntil(lambda: bool(reporter.last_details), timeout=5000)
        box = window.findChild(QMessageBox, "errorMessage")
        assert box is not None and "surprise in a slot" in box.text()
        assert "surprise in a slot" in log_file().read_text()
        box.close()
    finally:
        reporter.uninstall()
        for handler in logging.getLogger().handlers[:]:
            if getattr(handler, "baseFilename", "").startswith(str(tmp_path)):
                logging.getLogger().removeHandler(handler)


def test_closing_the_window_while_a_model_loads_stops_cleanly(qtbot, settings, samples_dir):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    tab = win.open_file(samples_dir / "topic_rnn.keras")
    pid = tab.runner.pid
    win.close()
    assert not win.isVisible() and settings.value("window/geometry") is not None
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=LOAD_TIMEOUT)


def test_panel_sizes_are_remembered(qtbot, window, settings, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    tab.splitter.setSizes([500, 700, 300])
    tab.splitter.splitterMoved.emit(500, 1)
    later = MainWindow(settings)
    qtbot.addWidget(later)
    again = wait_loaded(qtbot, later.open_file(samples_dir / "digits_cnn.keras"))
    assert again.splitter.saveState() == tab.splitter.saveState()
    later.shutdown()


def test_a_failing_inspection_job_is_reported(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    tab._submit("Reading a variable", kernel_jobs.memory_error_job)
    qtbot.waitUntil(lambda: tab.findChild(QMessageBox, "errorMessage") is not None, timeout=10_000)
    box = tab.findChild(QMessageBox, "errorMessage")
    assert "ran out of memory" in box.text()
    assert "MemoryError" in box.detailedText()
    box.close()


def test_garbage_is_collected_on_the_gui_thread_only(qtbot, window):
    """A collection on a kernel's reader thread could destroy Qt objects there and crash: the
    window turns automatic collection off and collects from a timer on its own thread."""
    import gc
    import threading

    assert not gc.isenabled()
    threads = []

    def record(phase, info):
        if phase == "start":
            threads.append(threading.current_thread())

    gc.callbacks.append(record)
    try:
        allocated = [[] for _ in range(5000)]  # well past the first generation's threshold
        qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    finally:
        gc.callbacks.remove(record)
    assert allocated and threading.main_thread() in threads
    # That none runs elsewhere is checked in a clean window process: this one runs other tests' threads.
