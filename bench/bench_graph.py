"""Big graphs: how soon the graph shows, what the app adds to Keras' load, and repaints.

The app draws a model's graph from the file's configuration while its kernel loads the model,
then fills it in. Each figure compares with a bare ``keras.saving.load_model`` of the same file
in a new process that has imported Keras (:func:`~bench.common.fresh_load_time`), in the same run.

Figures:
    ``graph_first_ratio_efficientnetb7``, ``graph_first_ratio_10k``: Enter to graph drawn, over
        the bare load (target <= 0.2).
    ``open_overhead_s_10k``: Enter to the model open and every view live, minus the time Keras'
        load took in the app's kernel in the same open (from the kernel's "Loading" to its
        "Describing" report), for a generated model of about 10,000 layers (target <= 1.0 s).
        Against the bare load in another process the difference is printed too, but bare loads
        of this model spread by several seconds from run to run on this machine.
    ``graph_repaint_ms_10k``: with every block open (View ▸ Open All Blocks: all 9,965 layer
        nodes drawn), the longest repaint (with the zoom or scroll that caused it) while
        zooming with the wheel from the whole graph down to natural size and back, and panning
        at five zoom levels (target <= 33 ms).
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import MODELS_DIR, app_window, fresh_load_time, model_file, record, wait_for_spare

REPEATS = int(os.environ.get("BENCH_GRAPH_REPEATS", "3"))
STAGES, BRANCHES, DEPTH = 41, 24, 10
"""The generated model: stages of parallel branches of Dense, LayerNormalization and ReLU layers,
summed, mixed and added back: 9,965 layers, about 520 rows of 24 (a wide model: Keras rebuilds
a chain of 10,000 layers only past Python's recursion limit)."""
WHEEL_STEP = 1.0015**120  # one notch of the wheel, as the view zooms on a wheel event


def deep_model_file():
    """Builds (once) and returns the generated 10,000-layer model."""
    from inspector.tfimport import keras

    path = MODELS_DIR / "wide10k.keras"
    if path.exists():
        return path
    print(f"building {path.name} (first run only, about a minute)…", flush=True)
    MODELS_DIR.mkdir(exist_ok=True)
    x = inputs = keras.Input((4,), name="input")
    kinds = (lambda n: keras.layers.Dense(4, name=n), lambda n: keras.layers.LayerNormalization(name=n),
             lambda n: keras.layers.Activation("relu", name=n))
    names = ("dense", "norm", "relu")
    for s in range(1, STAGES + 1):
        branches = []
        for b in range(1, BRANCHES + 1):
            h = x
            for d in range(DEPTH):
                h = kinds[d % 3](f"stage{s}_branch{b}_{names[d % 3]}{d // 3 + 1}")(h)
            branches.append(h)
        mixed = keras.layers.Dense(4, name=f"stage{s}_mix")(keras.layers.Add(name=f"stage{s}_sum")(branches))
        x = keras.layers.Add(name=f"stage{s}_residual")([x, mixed])
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(x), name="wide10k")
    tmp = path.with_suffix(".tmp.keras")
    model.save(tmp)
    tmp.rename(path)
    keras.backend.clear_session()
    return path


def open_times(window, wait, path):
    """Opens ``path`` in the window.

    Returns:
        Seconds from asking the window to open ``path`` to its graph drawn, to the model open
        with every view live, and of Keras' load in the kernel; and the tab (the caller closes
        it).
    """
    wait_for_spare(wait)
    reports: dict[str, float] = {}
    start = time.perf_counter()
    tab = window.open_file(path)
    tab.status.connect(lambda text: reports.setdefault(text.split()[0], time.perf_counter()))
    wait(lambda: tab.graph_shown or tab.error is not None)
    drawn = time.perf_counter() - start
    wait(lambda: tab.is_loaded or tab.error is not None)
    if tab.error is not None:
        raise RuntimeError(f"the app could not open {path}: {tab.error}")
    live = time.perf_counter() - start
    return drawn, live, reports["Describing"] - reports.get("Loading", start), tab


def repaint_ms(tab, app) -> tuple[float, float]:
    """The longest and the median time of a zoom or scroll step and the repaint it causes."""
    from PySide6.QtCore import QPoint

    canvas = tab.graph.canvas
    viewport = canvas.viewport()
    times = []

    def step(action):
        start = time.perf_counter()
        action()
        viewport.repaint()
        times.append((time.perf_counter() - start) * 1000)
        app.processEvents()

    canvas.fit()
    app.processEvents()
    at = viewport.rect().center() + QPoint(viewport.width() // 5, viewport.height() // 7)  # off-centre, as a hand
    while canvas.scale_factor() < 1.0:
        step(lambda: canvas.zoom(WHEEL_STEP, at))
    for scale in (1.0, 0.6, 0.3, 0.1, 4 * canvas._fit_scale()):
        canvas.set_scale(scale)
        app.processEvents()
        for i in range(10):
            bar = canvas.verticalScrollBar() if i % 2 else canvas.horizontalScrollBar()
            step(lambda bar=bar: bar.setValue(bar.value() + 80))
    while canvas.scale_factor() > 1.01 * canvas._fit_scale():
        step(lambda: canvas.zoom(1 / WHEEL_STEP, at))
    return max(times), statistics.median(times)


def run(results: dict) -> None:
    """Runs the graph benchmark and records its figures in ``results``."""
    from PySide6.QtWidgets import QApplication

    window, wait = app_window()
    app = QApplication.instance()
    for key, path, repeats in (("efficientnetb7", model_file("EfficientNetB7"), REPEATS), ("10k", deep_model_file(), 2)):
        *_, tab = open_times(window, wait, path)  # warm-up: the window's first-use costs
        window.close_tab(window.tabs.indexOf(tab))
        firsts, lives, bares, overheads = [], [], [], []
        for _ in range(repeats):
            bares.append(fresh_load_time(path))
            drawn, live, loading, tab = open_times(window, wait, path)
            firsts.append(drawn)
            lives.append(live)
            overheads.append(live - loading)
            if key == "10k" and len(lives) == repeats:
                closed = repaint_ms(tab, app)
                tab.graph.open_blocks()
                longest, median = repaint_ms(tab, app)
            window.close_tab(window.tabs.indexOf(tab))
            del tab
        bare, first, live = (statistics.median(v) for v in (bares, firsts, lives))
        print(f"  {key}: graph drawn {first:.2f} s, open {live:.2f} s, load_model {bare:.2f} s (medians of {repeats})", flush=True)
        record(results, f"graph_first_ratio_{key}", first / bare, 0.2, "x")
        if key == "10k":
            print(f"  10k: open minus the bare load {live - bare:+.2f} s; app's own work per open {overheads}", flush=True)
            record(results, "open_overhead_s_10k", statistics.median(overheads), 1.0, "s")
            print(f"  10k repaints: blocks closed longest {closed[0]:.1f} ms; all open median {median:.1f} ms", flush=True)
            record(results, "graph_repaint_ms_10k", longest, 33.0, "ms")
    window.shutdown()
    window.close()
