"""The main window driven through its menus as a user drives it: opening a file twice, closing
tabs and the window while work runs, and where the file dialogs start."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRect, QSettings
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QFileDialog

from tests.conftest import settled
from tests.kernel import kernel_jobs
from widgets.shell.main_window import MainWindow

LOAD_TIMEOUT = 60_000


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


def test_quitting_while_a_model_loads_closes_at_once_and_ends_its_process(qtbot, settings, samples_dir):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    tab = window.open_file(samples_dir / "topic_rnn.keras")
    pid = tab.runner.pid
    assert tab.runner.busy and not tab.is_loaded

    menu_action(window, "File", "Quit").trigger()
    assert not window.isVisible()  # nothing to wait for: the model is in another process
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=LOAD_TIMEOUT)


def test_reports_a_kernel_sent_before_its_tab_closed_reach_nothing_in_it(qtbot, window, samples_dir):
    """Reports already on their way when the tab closes (a job reports just as the user closes
    the tab) must not reach the dead views."""
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    settled(qtbot, tab)
    reports = []
    job = tab.runner.submit("Counting", kernel_jobs.counting_job, 100_000)
    job.progress.connect(lambda progress: reports.append(tab.path.name))  # uses the tab
    qtbot.waitUntil(lambda: len(reports) > 3, timeout=LOAD_TIMEOUT)
    pid = tab.runner.pid

    menu_action(window, "File", "Close Tab").trigger()
    QCoreApplication.sendPostedEvents(tab, QEvent.Type.DeferredDelete)  # gone before the reports
    seen = len(reports)
    qtbot.waitUntil(lambda: not Path(f"/proc/{pid}").exists(), timeout=LOAD_TIMEOUT)
    QCoreApplication.processEvents()
    assert len(reports) == seen
    assert window.model_tabs() == []
    assert window.statusBar().currentMessage() == "Closed digits_cnn.keras."


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


def test_file_open_sample_lists_the_bundled_samples_and_opens_one(qtbot, window, samples_dir):
    samples = menu_action(window, "File", "Open Sample").menu()
    names = [action.text() for action in samples.actions()]
    assert names == sorted(p.name for p in samples_dir.iterdir() if p.suffix in (".keras", ".h5"))
    next(action for action in samples.actions() if action.text() == "digits_cnn.keras").trigger()
    tab = wait_loaded(qtbot, window.current_tab())
    assert tab.path == samples_dir / "digits_cnn.keras"
