"""Makes the README's screenshots: the main window on each bundled sample, grabbed offscreen.

Usage: ``make screenshots`` (writes ``docs/screenshots/*.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from widgets.main_window import MainWindow  # noqa: E402
from widgets.paths import SAMPLES_DIR  # noqa: E402

OUT = ROOT / "docs" / "screenshots"

# (file, layer to select, nested models to expand, view index: 0 graph, 1 variables, layer to
# fine-tune from (freeze everything before it) or None, picture name)
SHOTS = [
    ("two_input_two_output.keras", "merge", [], 0, None, "two_input_two_output"),
    ("digits_cnn.keras", "conv_1", [], 1, None, "digits_cnn_variables"),
    ("topic_rnn.keras", "bilstm", [], 0, None, "topic_rnn"),
    ("transfer_digits.keras", "digits_base/base_bn_1", ["digits_base"], 0, None, "transfer_digits_expanded"),
    ("transfer_digits.keras", "digits_base/base_bn_2", ["digits_base"], 0, "digits_base/base_conv_2", "freeze_map"),
]


def wait(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    """Runs the event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    """Opens each sample, arranges the view and saves a PNG of the whole window."""
    app = QApplication.instance() or QApplication([])
    settings = QSettings(tempfile.mkstemp(suffix=".ini")[1], QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1500, 900)
    window.show()
    OUT.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUT / "start_page.png"))
    for file, layer, expand, view, fine_tune_from, name in SHOTS:
        tab = window.open_file(SAMPLES_DIR / file)
        wait(app, lambda: tab.is_loaded or tab.error is not None)
        if fine_tune_from is not None:
            wait(app, lambda: not tab.runner.busy)
            tab.freeze_up_to(fine_tune_from)
        for group in expand:
            tab.graph.expand(group)
        tab.select_layer(layer)
        tab.views.setCurrentIndex(view)
        if view == 1:
            index = next(i for i, v in enumerate(tab.info.variables) if v.layer == layer)
            tab.variables.select_variable(index)
            wait(app, lambda: not tab.runner.busy)
        else:
            tab.graph.fit_all()
        for _ in range(20):
            app.processEvents()
        window.grab().save(str(OUT / f"{name}.png"))
        print(OUT / f"{name}.png")
    for tab in window.model_tabs():  # pictures only: nothing to save
        tab.editor.mark_saved()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
