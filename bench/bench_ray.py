"""Kernels on Ray: opening a model and extracting activations through a kernel on a Ray instance
on 127.0.0.1 (``ray start --head``, Ray Client) against the same in a local kernel, in the same run.

Both sides are the app driven the same way, each with its warm spare kernel; on Ray, messages go
through the local relay and Ray's object store (the model file is uploaded, the activations come
back through it).

Figures: ``ray_open_ratio`` (MobileNetV2 open to graph shown, through Ray / local; target <= 1.3),
``ray_extract_ratio`` (five layers for 64 images, click to first layer shown; target <= 1.3) and
``stall_ms_ray``, the GUI thread's longest stall during the Ray runs (target <= 33 ms).
"""

from __future__ import annotations

import os
import statistics
import time

from bench.bench_extract import LAYERS, images_file
from bench.common import StallMonitor, app_window, close_and_settle, model_file, record, timed_open, wait_for_spare

IMAGES = 64
BATCH = 32
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def _open(window, wait, path, location, monitor: StallMonitor):
    """Opens ``path`` with its kernel at ``location``; returns the tab and the seconds taken."""
    window.set_kernel_location(location)
    wait_for_spare(wait, location)
    tab, elapsed, _ = timed_open(window, wait, path, monitor)
    wait(lambda: not tab.runner.busy)
    return tab, elapsed


def _close(window, wait, tab) -> None:
    """Closes the tab and waits until the window has collected what it left."""
    tab.unsaved = False
    close_and_settle(window, window.tabs.indexOf(tab), wait)


def _choose_inputs(wait, tab, images) -> None:
    """Shows the Activations view with the images as inputs and five layers checked."""
    panel = tab.activations
    tab.show_view("activations")
    wait(lambda: panel.ready)
    panel.inputs.add_paths([str(images)])
    panel.batch_size.setValue(BATCH)
    panel.check_layers(LAYERS)


def _extract_time(wait, tab, monitor: StallMonitor) -> float:
    """Seconds from Extract to the first layer shown."""
    panel = tab.activations
    done = []
    panel.extracted.connect(lambda: done.append(time.perf_counter()))
    shown = panel.activations
    monitor.start()
    start = time.perf_counter()
    if not panel.extract():
        raise RuntimeError(f"extraction did not start: {panel.message.text()}")
    wait(lambda: done or (not panel.running and panel.activations is shown))
    monitor.stop()
    if not done:
        raise RuntimeError(f"extraction failed: {panel.message.text()}")
    return done[-1] - start


def run(results: dict) -> None:
    """Runs the Ray benchmark and records its figures in ``results``."""
    from inspector.kernel.location import LOCAL, parse_location
    from tests.ray_cluster import RayCluster

    cluster = RayCluster()
    window, wait = app_window()
    try:
        remote = parse_location(cluster.address)
        path, images = model_file("MobileNetV2"), images_file(IMAGES)
        quiet, watched = StallMonitor(), StallMonitor()
        times = {LOCAL: ([], []), remote: ([], [])}
        for location in (LOCAL, remote):  # warm-up: the window's first-use costs, the first traces
            tab, _ = _open(window, wait, path, location, quiet)
            _choose_inputs(wait, tab, images)
            _extract_time(wait, tab, quiet)
            _close(window, wait, tab)
        stall = 0.0
        for _ in range(REPEATS):  # interleaved, so a busy moment of the machine hits both sides
            for location in (LOCAL, remote):
                monitor = watched if location is remote else quiet
                tab, opened = _open(window, wait, path, location, monitor)
                if location is remote:
                    stall = max(stall, monitor.longest_ms)
                _choose_inputs(wait, tab, images)
                _extract_time(wait, tab, monitor)  # the first extraction traces the extractor
                extracted = _extract_time(wait, tab, monitor)
                if location is remote:
                    stall = max(stall, monitor.longest_ms)
                times[location][0].append(opened)
                times[location][1].append(extracted)
                _close(window, wait, tab)
        (local_open, local_extract), (ray_open, ray_extract) = (
            [statistics.median(values) for values in times[where]] for where in (LOCAL, remote)
        )
        print(
            f"  mobilenetv2: open {ray_open:.2f} s on Ray, {local_open:.2f} s here; extract {ray_extract:.2f} s on Ray, "
            f"{local_extract:.2f} s here (medians of {REPEATS})",
            flush=True,
        )
        record(results, "ray_open_ratio", ray_open / local_open, 1.3, "x")
        record(results, "ray_extract_ratio", ray_extract / local_extract, 1.3, "x")
        record(results, "stall_ms_ray", stall, 33.0, "ms")
    finally:
        window.shutdown()
        window.close()
        cluster.stop()
