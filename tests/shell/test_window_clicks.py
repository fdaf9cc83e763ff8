"""The main window driven through its menus as a user drives it: opening a file twice, closing
tabs and the window while work runs, and where the file dialogs start."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRect, QSettings
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QFileDialog

from widgets.shell.main_window import MainWindow

LOAD_TIMEOUT = 60_000
SLOW_LOAD_S = 20  # how long the stand-in for a big model's load_model runs unless interrupted


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def menu_action(window, menu_title: str, text: str):
    """The visible, enabled action ``text`` of the menu ``menu_title`` (``&`` ignored)."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == menu_title)
    menu.aboutToShow.emit()
    action = next(a for a in menu.actions() if a.text().replace("&", "") == text)
    assert action.isVisible() and action.isEnabled(), text
    return action


def wait_loaded(qtbot, tab):
    qtbot.waitUntil(lambda: tab.is_loaded or tab.error is not None, timeout=LOAD_TIMEOUT)
    assert tab.error is None, tab.error
    return tab


def open_through_dialog(monkeypatch, window, *paths) -> list[str]:
    """Chooses ``paths`` in File ▸ Open's dialog; returns the folder each dialog started in."""
    started = []

    def choose(parent, caption, folder, filters):
        started.append(folder)
        return [str(p) for p in paths], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", choose)
    menu_action(window, "File", "Open…").trigger()
    return started


def test_opening_a_file_that_is_open_switches_to_its_tab_and_says_so(qtbot, window, samples_dir, monkeypatch):
    digits = samples_dir / "digits_cnn.keras"
    open_through_dialog(monkeypatch, window, digits, samples_dir / "two_input_two_output.keras")
    for tab in window.model_tabs():
        wait_loaded(qtbot, tab)
    assert window.current_tab().path.name == "two_input_two_output.keras"

    recent = menu_action(window, "File", "Open Recent").menu()
    next(a for a in recent.actions() if a.text() == str(digits)).trigger()
    assert [tab.path.name for tab in window.model_tabs()] == ["digits_cnn.keras", "two_input_two_output.keras"]
    assert window.tabs.tabText(window.tabs.currentIndex()) == "digits_cnn.keras"
    assert window.statusBar().currentMessage() == "digits_cnn.keras is already open: this is its tab."


def test_the_same_file_by_another_path_is_the_same_tab(qtbot, window, samples_dir, tmp_path, monkeypatch):
    link = tmp_path / "link.keras"
    link.symlink_to(samples_dir / "digits_cnn.keras")
    open_through_dialog(monkeypatch, window, samples_dir / "digits_cnn.keras")
    wait_loaded(qtbot, window.model_tabs()[0])
    open_through_dialog(monkeypatch, window, link)
    assert len(window.model_tabs()) == 1
    assert "already open" in window.statusBar().currentMessage()


def test_closing_a_tab_takes_its_parameter_count_off_the_status_bar(qtbot, window, samples_dir):
    wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    assert "params" in window.statusBar().currentMessage()
    menu_action(window, "File", "Close Tab").trigger()
    assert window.model_tabs() == []
    assert window.statusBar().currentMessage() == "Closed digits_cnn.keras."


def test_file_dialogs_start_in_the_models_folder_or_the_last_one_used(qtbot, settings, samples_dir, tmp_path, monkeypatch):
    folder = tmp_path / "my models"
    folder.mkdir()
    model = shutil.copy(samples_dir / "digits_cnn.keras", folder / "digits.keras")
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    tab = wait_loaded(qtbot, window.open_file(model))  # as from the command line or a drop

    assert open_through_dialog(monkeypatch, window) == [str(folder)]
    started = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda parent, caption, path, filters: (started.append(path), ("", ""))[1]
    )
    menu_action(window, "File", "Save As…").trigger()
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda parent, caption, path, filters: (started.append(path), ("", ""))[1]
    )
    menu_action(window, "File", "Open Embedding Vectors…").trigger()
    assert started == [str(folder / "digits.keras"), str(folder)]

    window.close_tab(window.tabs.indexOf(tab))
    later = MainWindow(QSettings(settings.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(later)
    later.show()
    assert open_through_dialog(monkeypatch, later) == [str(folder)]  # remembered between runs
    later.shutdown()
    window.shutdown()


@pytest.fixture
def slow_load(monkeypatch):
    """Makes Keras' rebuilding of a model take SLOW_LOAD_S seconds of Python work, like a big
    model's; returns events for "the load started" and "the load ran to its end"."""
    import inspector.model.loading

    started, ran_to_end = threading.Event(), threading.Event()
    real = inspector.model.loading._load

    def slow(*args, **kwargs):
        started.set()
        end = time.monotonic() + SLOW_LOAD_S
        while time.monotonic() < end:
            pass
        ran_to_end.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(inspector.model.loading, "_load", slow)
    return started, ran_to_end


def test_closing_the_window_while_a_model_loads_says_so_and_stops_the_load(qtbot, settings, samples_dir, slow_load):
    started, ran_to_end = slow_load
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    tab = window.open_file(samples_dir / "digits_cnn.keras")
    cancelled = []
    tab._load_job.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitUntil(started.is_set, timeout=LOAD_TIMEOUT)
    shown = []
    window.statusBar().messageChanged.connect(lambda text: shown.append((text, window.pages.isEnabled())))

    menu_action(window, "File", "Quit").trigger()
    assert not window.isVisible()
    assert ("Closing… waiting for the model that is loading (digits_cnn.keras)", False) in shown
    assert not tab.runner.thread_active
    assert not ran_to_end.is_set()  # Keras was interrupted, not waited for
    qtbot.waitUntil(lambda: cancelled == [True], timeout=5000)


def test_closing_a_tab_while_its_variable_statistics_stream_reaches_nothing_in_it(qtbot, window, tmp_path, monkeypatch):
    """The tab is deleted before a report its statistics job already sent arrives (what happens
    when the job reports just as the tab closes); that report must not reach the dead views."""
    import inspector.model.variable_stats
    from inspector.tfimport import keras

    inputs = keras.Input((4,), name="x")
    outputs = inputs
    for i in range(20):  # 40 variables: two reports of statistics
        outputs = keras.layers.Dense(4, name=f"dense_{i}")(outputs)
    path = tmp_path / "deep.keras"
    keras.Model(inputs, outputs, name="deep").save(path)

    calls, first_sent, gate = [], threading.Event(), threading.Event()
    real = inspector.model.variable_stats.variable_stats

    def gated(values):
        calls.append(1)
        if len(calls) == 33:  # the first 32 were just reported
            first_sent.set()
            gate.wait(30)
        return real(values)

    monkeypatch.setattr(inspector.model.variable_stats, "variable_stats", gated)
    tab = wait_loaded(qtbot, window.open_file(path))
    runner = tab.runner
    qtbot.waitUntil(lambda: bool(calls), timeout=LOAD_TIMEOUT)
    assert first_sent.wait(30)  # not processing events: the report is still on its way

    menu_action(window, "File", "Close Tab").trigger()
    QCoreApplication.sendPostedEvents(tab, QEvent.Type.DeferredDelete)  # gone before the report
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=LOAD_TIMEOUT)
    assert window.model_tabs() == []
    assert window.statusBar().currentMessage() == "Closed deep.keras."


def test_open_embedding_vectors_starts_in_the_models_folder_then_in_the_vectors_folder(qtbot, window, samples_dir, tmp_path, monkeypatch):
    folder = tmp_path / "model here"
    folder.mkdir()
    model = shutil.copy(samples_dir / "digits_cnn.keras", folder / "digits.keras")
    vectors_folder = tmp_path / "vectors here"
    vectors_folder.mkdir()
    vectors = vectors_folder / "words.npy"
    np.save(vectors, np.arange(40, dtype="float32").reshape(10, 4))
    wait_loaded(qtbot, window.open_file(model))
    started = []

    def choose(parent, caption, start, filters):
        started.append(start)
        return (str(vectors) if len(started) == 1 else ""), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    menu_action(window, "File", "Open Embedding Vectors…").trigger()  # no vectors folder used yet
    projector = window.projectors[-1]
    qtbot.addWidget(projector)
    qtbot.waitUntil(lambda: projector.panel.projection is not None, timeout=LOAD_TIMEOUT)
    menu_action(window, "File", "Open Embedding Vectors…").trigger()
    assert started == [str(folder), str(vectors_folder)]


def test_the_first_window_fits_a_small_screen(qtbot, settings, monkeypatch):
    laptop = QRect(0, 0, 1366, 768)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda screen: laptop)
    window = MainWindow(settings)  # nothing remembered: the first run
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert laptop.contains(window.frameGeometry()), window.frameGeometry()
    assert window.width() >= 1300 and window.height() >= 700  # and uses most of it
    window.shutdown()
