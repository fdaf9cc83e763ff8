"""Each model lives in its own kernel process: what a user sees when one dies, hangs or closes,
and that the window's own process never imports TensorFlow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from inspector.jobs import MODEL
from inspector.kernel.client import KernelPool
from inspector.kernel.location import LOCAL
from tests.conftest import ROOT, kernel_result
from tests.e2e.user import drop_files, use_layer_menu
from tests.kernel import kernel_jobs
from tests.shell.test_main_window import wait_loaded
from tests.shell.test_window_clicks import menu_action

TIMEOUT = 60_000


def process_ended(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def idle(qtbot, tab) -> None:
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=TIMEOUT)


def freeze_from_layer_list(qtbot, tab, name: str) -> None:
    """Freezes a layer through the layer list's context menu, as a user does."""
    use_layer_menu(qtbot, tab, name, f"Freeze {name}")
    qtbot.waitUntil(lambda: tab.info.layer_index()[name].trainable_params == 0, timeout=TIMEOUT)


def test_the_window_process_never_imports_tensorflow_and_collects_garbage_on_its_gui_thread():
    script = f"""
import gc, sys, threading
elsewhere = []
gc.callbacks.append(lambda phase, info: phase == "start" and threading.current_thread() is not threading.main_thread() and elsewhere.append(threading.current_thread().name))
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from widgets.shell.main_window import MainWindow
app = QApplication([])
window = MainWindow(QSettings({str(Path(os.environ.get('TMPDIR', '/tmp')) / 'kmi-no-tf.ini')!r}, QSettings.Format.IniFormat))
window.show()
tab = window.open_file({str(ROOT / 'resources' / 'samples' / 'transfer_digits.keras')!r})
def done():
    return tab.is_loaded and not tab.runner.busy
while not done():
    app.processEvents()
    if tab.error is not None:
        raise SystemExit(str(tab.error))
tab.set_trainable("head", False)
while tab.info.layer_index()["head"].trainable_params:
    app.processEvents()
print("collections off the GUI thread:", elsewhere)
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "keras_hub"))) or "none")
window.shutdown()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split()[-1] == "none", run.stdout
    assert "collections off the GUI thread: []" in run.stdout, run.stdout


def test_a_killed_kernel_leaves_the_other_tabs_working_and_restart_restores_the_edits(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "transfer_digits.keras"))
    other = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    idle(qtbot, tab), idle(qtbot, other)
    window.tabs.setCurrentWidget(tab)
    freeze_from_layer_list(qtbot, tab, "head")
    idle(qtbot, tab)
    pid = tab.runner.pid

    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: tab.banner.isVisible(), timeout=TIMEOUT)
    text = tab.banner.message.text()
    assert "process stopped" in text and "killed" in text and "1 unsaved trainable edit" in text
    assert tab.banner.restart.isVisible() and tab.banner.restart.isEnabled()
    assert tab.graph.node_item("head").state == "frozen", "the views keep what they showed"
    assert tab.modified

    window.tabs.setCurrentWidget(other)
    assert other.runner.alive and not other.banner.isVisible()
    freeze_from_layer_list(qtbot, other, "conv_1")

    window.tabs.setCurrentWidget(tab)
    qtbot.mouseClick(tab.banner.restart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.banner.isVisible(), timeout=TIMEOUT)
    assert tab.runner.pid != pid and tab.runner.alive
    assert "1 trainable edit re-applied" in window.statusBar().currentMessage()
    assert kernel_result(qtbot, tab, kernel_jobs.layer_trainable_job, MODEL, "head") is False
    assert tab.info.layer_index()["head"].trainable_params == 0 and tab.modified
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: tab.info.layer_index()["head"].trainable_params == 330, timeout=TIMEOUT)


def test_closing_a_tab_ends_its_kernel(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    pid = tab.runner.pid
    assert not process_ended(pid)
    menu_action(window, "File", "Close Tab").trigger()
    qtbot.waitUntil(lambda: not window.model_tabs(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: process_ended(pid), timeout=TIMEOUT)


def test_the_warm_kernel_for_the_next_model_starts_once_an_open_is_done(qtbot, window, samples_dir):
    pool = KernelPool.shared()
    spare_when_shown = []
    window.tab_opened.connect(lambda tab: tab.loaded.connect(lambda: spare_when_shown.append(pool.spare(LOCAL))))
    drop_files(window, [samples_dir / "digits_cnn.keras"])
    tab = wait_loaded(qtbot, window.current_tab())
    assert spare_when_shown == [None], "no kernel starts (a core busy for seconds) while the model is first drawn"
    qtbot.waitUntil(lambda: pool.spare(LOCAL) is not None, timeout=TIMEOUT)  # once its statistics are in
    assert pool.spare(LOCAL).pid != tab.runner.pid


def test_a_job_that_does_not_stop_after_cancel_offers_to_stop_the_kernel(qtbot, window, samples_dir):
    tab = wait_loaded(qtbot, window.open_file(samples_dir / "digits_cnn.keras"))
    idle(qtbot, tab)
    pid = tab.runner.pid
    job = tab.runner.submit("A long library call", kernel_jobs.stuck_job)
    with qtbot.waitSignal(job.progress, timeout=TIMEOUT):  # inside the call
        pass
    job.cancel()
    qtbot.waitUntil(lambda: tab.banner.stop.isVisible(), timeout=TIMEOUT)
    assert "has not stopped since Cancel" in tab.banner.message.text()
    qtbot.mouseClick(tab.banner.stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.banner.restart.isVisible(), timeout=TIMEOUT)
    assert process_ended(pid) or not tab.runner.alive
    qtbot.mouseClick(tab.banner.restart, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.banner.isVisible() and not tab.runner.busy, timeout=TIMEOUT)
    assert kernel_result(qtbot, tab, kernel_jobs.layer_trainable_job, MODEL, "conv_1") is True


def test_a_kernel_that_crashes_while_loading_says_so_on_the_error_page(qtbot, window, samples_dir):
    tab = window.open_file(samples_dir / "digits_cnn.keras")
    os.kill(tab.runner.pid, signal.SIGKILL)  # before the kernel has read the open request
    qtbot.waitUntil(lambda: tab.error is not None or tab.is_loaded, timeout=TIMEOUT)
    assert "process stopped" in str(tab.error) and "killed" in str(tab.error)
    assert tab.stack.currentWidget() is tab.error_page and tab.error_page.isVisible()
