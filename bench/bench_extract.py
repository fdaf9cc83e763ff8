"""Extracting activations: the app's extraction of five MobileNetV2 layers for 256 images against
one ``model.predict`` over the same images.

The app is driven as a user would: the images (an ``.npy`` of 256 preprocessed 224×224 RGB
images) are dropped on the Activations panel's inputs, five layers are checked, and Extract runs
in the model's kernel process. Its time counts from the click to the first layer shown, so it includes
reading the file, the per-channel statistics and copying 1.6 GB of outputs.

Figures: ``extract_ratio`` (target <= 1.2) and ``stall_ms_extract``, the GUI thread's longest
stall during extraction (target <= 33 ms), measured in two more runs of the app.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench.common import MODELS_DIR, app_window, interleaved_medians, longest_stall, model_file, record

LAYERS = ["block_1_expand_relu", "block_3_project_BN", "block_6_expand_relu", "block_13_expand_relu", "out_relu"]
IMAGES = 256
BATCH = 32
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def images_file(count: int = IMAGES):
    """Writes (once) ``count`` random images scaled to [-1, 1], as MobileNetV2 expects."""
    path = MODELS_DIR / f"images_{count}.npy"
    if not path.exists():
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, (count, 224, 224, 3), dtype=np.uint8)
        np.save(path, (pixels / 127.5 - 1.0).astype(np.float32))
    return path


def run(results: dict) -> None:
    """Runs the extraction benchmark and records its figures in ``results``."""
    window, wait = app_window()
    tab = window.open_file(model_file("MobileNetV2"))
    wait(lambda: tab.is_loaded or tab.error is not None)
    panel = tab.activations
    tab.show_view("activations")
    wait(lambda: panel.ready)
    images = images_file()
    panel.inputs.add_paths([str(images)])
    panel.batch_size.setValue(BATCH)
    panel.check_layers(LAYERS)
    done = []
    panel.extracted.connect(lambda: done.append(time.perf_counter()))
    x = np.load(images)
    from inspector.model.loading import load

    model = load(model_file("MobileNetV2")).model  # plain Keras, in this process

    def app_extract() -> float:
        count, shown = len(done), panel.activations
        start = time.perf_counter()
        if not panel.extract():
            raise RuntimeError(f"extraction did not start: {panel.message.text()}")
        # The panel is idle as soon as the result arrives, and draws it (then says `extracted`) on
        # the next turn of the event loop: only an idle panel still showing the old result failed.
        wait(lambda: len(done) > count or (not panel.running and panel.activations is shown))
        if len(done) == count:
            raise RuntimeError(f"extraction failed: {panel.message.text()}")
        return done[-1] - start

    app_time, bare = interleaved_medians(app_extract, lambda: model.predict(x, batch_size=BATCH, verbose=0), wait, REPEATS)
    stall = longest_stall(app_extract, wait)
    print(
        f"  mobilenetv2, {len(LAYERS)} layers, {IMAGES} images: app {app_time:.2f} s, "
        f"predict {bare:.2f} s (medians of {REPEATS})",
        flush=True,
    )
    record(results, "extract_ratio", app_time / bare, 1.2, "x")
    record(results, "stall_ms_extract", stall, 33.0, "ms")
    tab.unsaved = False
    window.shutdown()
    window.close()
