"""Shared test set-up: headless Qt, quiet TensorFlow, a fresh Keras session per test, paths to the
bundled samples."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
if os.environ["QT_QPA_PLATFORM"] == "offscreen":  # a usual 1920x1080 screen, not Qt's 800x800 default
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={ROOT / 'tests' / 'offscreen.json'}"
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture(autouse=True)
def fresh_keras_session():
    """Leaves Keras as a new process has it after every test, so that the next test (and the
    module fixtures it sets up) sees the same automatic names (``dense``, ``dense_1``, …) whatever
    ran before. Tests that never import Keras pay nothing."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session(free_memory=False)


@pytest.fixture(autouse=True)
def no_kernel_outlives_its_test():
    """Ends the kernel processes a test started (a tab a test never closed keeps its kernel);
    the pool's warm spare stays for the next test."""
    yield
    client = sys.modules.get("inspector.kernel.client")
    if client is not None:
        client.end_kernels(keep=client.KernelPool.shared().spares())


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The folder of bundled sample models."""
    return SAMPLES


def settle_for_close(qtbot, win) -> None:
    """The test is over: stops training runs and forgets unsaved changes, so that closing
    ``win`` asks nothing (a question would block the run)."""
    for tab in win.model_tabs():
        if tab.is_loaded and tab.training_running:
            tab.stop_training()
    qtbot.waitUntil(lambda: not any(t.is_loaded and t.training_running for t in win.model_tabs()), timeout=60_000)
    for tab in win.model_tabs():
        tab.forget_changes()


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with its own settings file; closed without questions at the end."""
    from PySide6.QtCore import QSettings

    from widgets.shell.main_window import MainWindow

    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win.show()
    yield win
    settle_for_close(qtbot, win)
    win.close()


def settled(qtbot, tab, timeout: int = 60_000):
    """Waits until the tab's kernel has answered every job sent so far (an edit's new flags are
    shown once its job has succeeded, before the runner goes idle). Returns the tab."""
    qtbot.waitUntil(lambda: not tab.runner.busy, timeout=timeout)
    return tab


def kernel_result(qtbot, tab, job, *args, timeout: int = 60_000):
    """Runs ``job`` (a generator function importable in the kernel, with placeholders such as
    :data:`inspector.jobs.MODEL`) in the tab's kernel and returns its result once the job has
    finished."""
    results, errors, finished = [], [], []
    handle = tab.runner.submit("test", job, *args)
    handle.succeeded.connect(results.append)
    handle.failed.connect(errors.append)
    handle.finished.connect(lambda: finished.append(True))
    # Until it has finished, the job still uses the model: a user's edit right after it would
    # be refused as "Model busy".
    qtbot.waitUntil(lambda: bool(finished), timeout=timeout)
    assert not errors, errors
    return results[0]


def shown(qtbot, widget, width: int, height: int):
    """Shows ``widget`` at this size as a window of its own (closed after the test); returns it."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="session")
def ray_cluster():
    """A real Ray instance on 127.0.0.1 (``ray start --head``) for the tests of kernels on Ray."""
    from tests.ray_cluster import RayCluster

    cluster = RayCluster()
    yield cluster
    cluster.stop()

