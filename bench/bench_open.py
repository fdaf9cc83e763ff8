"""Opening big models: app open-to-graph-shown time against bare ``keras.saving.load_model``.

Figures: ``open_ratio_resnet50``, ``open_ratio_efficientnetb7`` (target <= 1.25) and
``stall_ms_open``, the GUI thread's longest stall while those models load (target <= 50 ms).
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import StallMonitor, app_window, median_time, model_file, record

MODELS = ("ResNet50", "EfficientNetB7")
CLOSE_SETTLE_S = 1.5
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def app_open_time(window, path, wait, monitor: StallMonitor) -> tuple[float, float, float]:
    """Opens ``path`` in the window, then closes it.

    Returns:
        Seconds from asking the window to open ``path`` to its graph being shown, the longest
        GUI stall meanwhile (ms), and the longest stall from closing the tab until its memory
        was collected (ms).
    """
    monitor.start()
    start = time.perf_counter()
    tab = window.open_file(path)
    wait(lambda: tab.is_loaded or tab.error is not None)
    if tab.error is not None:
        raise RuntimeError(f"the app could not open {path}: {tab.error}")
    elapsed = time.perf_counter() - start
    open_stall = monitor.stop()
    monitor.start()
    window.close_tab(window.tabs.indexOf(tab))
    del tab  # the window holds the only reference to a tab; the benchmark must not keep it alive
    end = time.perf_counter() + CLOSE_SETTLE_S
    wait(lambda: time.perf_counter() > end)
    return elapsed, open_stall, monitor.stop()


def run(results: dict) -> None:
    """Runs the open benchmark and records its figures in ``results``."""
    from inspector.tfimport import keras

    window, wait = app_window()
    monitor = StallMonitor()
    open_stall = close_stall = 0.0
    for name in MODELS:
        key, path = name.lower(), model_file(name)
        app_open_time(window, path, wait, monitor)  # warm-up: first-use costs belong to neither side
        keras.backend.clear_session()
        bare_times, app_times = [], []
        for _ in range(REPEATS):  # interleaved, so a busy moment of the machine hits both sides
            bare_times.append(median_time(lambda: keras.saving.load_model(path), 1))
            keras.backend.clear_session()
            elapsed, stall, closing = app_open_time(window, path, wait, monitor)
            app_times.append(elapsed)
            open_stall, close_stall = max(open_stall, stall), max(close_stall, closing)
            keras.backend.clear_session()
        bare, app_time = statistics.median(bare_times), statistics.median(app_times)
        print(f"  {key}: app {app_time:.2f} s, load_model {bare:.2f} s (medians of {REPEATS})", flush=True)
        record(results, f"open_ratio_{key}", app_time / bare, 1.25, "x")
    record(results, "stall_ms_open", open_stall, 50.0, "ms")
    print(f"  (closing a tab: longest stall {close_stall:.0f} ms while its model is freed)", flush=True)
    window.shutdown()
    window.close()
