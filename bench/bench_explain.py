"""Explaining predictions: the app's integrated gradients for MobileNetV2 on 8 images against a
hand-written ``tf.GradientTape`` loop over the same images, in this process.

The app is driven as a user would: the Explain tab of the Activations view, the images (an
``.npy`` of preprocessed 224×224 RGB images) on its inputs, Integrated gradients with 16 steps,
Explain; its time counts from the click to the maps shown, so it includes reading the file,
the top classes and copying the attributions to the window. The plain side is what a notebook
would write: the top classes by one ``predict``, then per image one compiled gradient call on
its 17 points of the path and the trapezoidal sum.

Figures: ``explain_ratio`` (target <= 1.2) and ``stall_ms_explain``, the GUI thread's longest
stall during explaining (target <= 33 ms), measured in two more runs of the app.
"""

from __future__ import annotations

import os
import time

import numpy as np

from bench.bench_extract import images_file
from bench.common import app_window, interleaved_medians, longest_stall, model_file, record

IMAGES = 8
STEPS = 16
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def plain_integrated_gradients(model, x: np.ndarray, steps: int):
    """Integrated gradients from a zero baseline, as a notebook would write them."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def gradients(points, classes):
        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = tf.gather(model(points, training=False), classes, axis=1, batch_dims=1)
        return tape.gradient(scores, points)

    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2

    def run() -> np.ndarray:
        top = model.predict(x, verbose=0).argmax(axis=1).astype(np.int32)
        result = []
        for image, label in zip(x, top):
            grads = gradients(tf.constant(alphas[:, None, None, None] * image[None]), tf.constant(np.full(steps + 1, label)))
            result.append(image * np.tensordot(weights, grads.numpy(), axes=1))
        return np.stack(result)

    return run


def run(results: dict) -> None:
    """Runs the explanation benchmark and records its figures in ``results``."""
    window, wait = app_window()
    tab = window.open_file(model_file("MobileNetV2"))
    wait(lambda: tab.is_loaded or tab.error is not None)
    panel = tab.activations
    tab.show_view("activations")
    wait(lambda: panel.ready)
    panel.mode_bar.setCurrentIndex(1)
    controls = panel.explain_controls
    wait(lambda: controls.setup is not None)
    controls.method.setCurrentIndex(controls.method.findData("integrated_gradients"))
    controls.steps.setValue(STEPS)
    images = images_file(IMAGES)
    panel.inputs.add_paths([str(images)])
    done = []
    panel.explained.connect(lambda: done.append(time.perf_counter()))
    from inspector.model.loading import load

    plain = plain_integrated_gradients(load(model_file("MobileNetV2")).model, np.load(images), STEPS)

    def app_explain() -> float:
        count = len(done)
        start = time.perf_counter()
        if not panel.explain():
            raise RuntimeError(f"explaining did not start: {panel.message.text()}")
        wait(lambda: len(done) > count or not panel.running)
        if len(done) == count:
            raise RuntimeError(f"explaining failed: {panel.message.text()}")
        return done[-1] - start

    app_time, bare = interleaved_medians(app_explain, plain, wait, REPEATS)
    stall = longest_stall(app_explain, wait)
    print(
        f"  mobilenetv2, integrated gradients, {STEPS} steps, {IMAGES} images: app {app_time:.2f} s, "
        f"plain tape {bare:.2f} s (medians of {REPEATS})",
        flush=True,
    )
    record(results, "explain_ratio", app_time / bare, 1.2, "x")
    record(results, "stall_ms_explain", stall, 33.0, "ms")
    tab.unsaved = False
    window.shutdown()
    window.close()
