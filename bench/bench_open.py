"""Opening big models: app open-to-graph-shown time against bare ``keras.saving.load_model``,
and what closing gives back.

The app opens each model in its warm spare kernel (TensorFlow already imported), as a user who
opens a model a few seconds after the window appeared. Before each timed step the benchmark
waits for the next spare to be warm, so its start-up does not land in either side's time. The
bare side is ``load_model`` in a new process that has imported Keras, the same state
(:func:`~bench.common.fresh_load_time`).

Figures: ``open_ratio_resnet50``, ``open_ratio_efficientnetb7`` (target <= 1.10),
``stall_ms_open``, the GUI thread's longest stall while those models load (target <= 33 ms),
and ``close_cycles_mb``, the growth of the app's total memory (window and kernels) over
``BENCH_CLOSE_CYCLES`` (40) open/close cycles of EfficientNetB7 (target <= 100 MB).
"""

from __future__ import annotations

import os
import statistics

from bench.common import (
    StallMonitor,
    app_window,
    close_and_settle,
    fresh_load_time,
    model_file,
    process_tree_mb,
    record,
    timed_open,
    wait_for_spare,
)

MODELS = ("ResNet50", "EfficientNetB7")
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
CLOSE_CYCLES = int(os.environ.get("BENCH_CLOSE_CYCLES", "40"))


def app_open_time(window, path, wait, monitor: StallMonitor) -> tuple[float, float, float]:
    """Opens ``path`` in the window, then closes it.

    Returns:
        Seconds from asking the window to open ``path`` to its graph being shown, the longest
        GUI stall meanwhile (ms), and the longest stall from closing the tab until its memory
        was collected (ms).
    """
    wait_for_spare(wait)
    tab, elapsed, open_stall = timed_open(window, wait, path, monitor)
    monitor.start()
    index = window.tabs.indexOf(tab)
    del tab  # the window holds the only reference to a tab; the benchmark must not keep it alive
    close_and_settle(window, index, wait)
    closing = monitor.stop()
    wait_for_spare(wait)
    return elapsed, open_stall, closing


def close_cycles_mb(window, wait, path, cycles: int) -> float:
    """The growth of the app's total memory over ``cycles`` open/close cycles of ``path``.

    Measured with a warm spare kernel and no tab open, before the first cycle and after the
    last, so both counts hold the same processes.
    """
    monitor = StallMonitor()
    app_open_time(window, path, wait, monitor)  # the window's first-use costs are not growth
    before = process_tree_mb()
    for _ in range(cycles):
        app_open_time(window, path, wait, monitor)
    return process_tree_mb() - before


def run(results: dict) -> None:
    """Runs the open benchmark and records its figures in ``results``."""
    window, wait = app_window()
    monitor = StallMonitor()
    open_stall = close_stall = 0.0
    for name in MODELS:
        key, path = name.lower(), model_file(name)
        app_open_time(window, path, wait, monitor)  # warm-up: the window's first-use costs
        bare_times, app_times = [], []
        for _ in range(REPEATS):  # interleaved, so a busy moment of the machine hits both sides
            bare_times.append(fresh_load_time(path))
            elapsed, stall, closing = app_open_time(window, path, wait, monitor)
            app_times.append(elapsed)
            open_stall, close_stall = max(open_stall, stall), max(close_stall, closing)
        bare, app_time = statistics.median(bare_times), statistics.median(app_times)
        print(f"  {key}: app {app_time:.2f} s, load_model {bare:.2f} s (medians of {REPEATS})", flush=True)
        record(results, f"open_ratio_{key}", app_time / bare, 1.10, "x")
    record(results, "stall_ms_open", open_stall, 33.0, "ms")
    print(f"  (closing a tab: longest stall {close_stall:.0f} ms while its kernel ends)", flush=True)
    if CLOSE_CYCLES:
        grown = close_cycles_mb(window, wait, model_file(MODELS[-1]), CLOSE_CYCLES)
        print(f"  {CLOSE_CYCLES} open/close cycles of {MODELS[-1]}: all processes grew by {grown:.0f} MB", flush=True)
        record(results, "close_cycles_mb", grown, 100.0, "MB")
    window.shutdown()
    window.close()
