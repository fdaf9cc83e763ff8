"""Training: epoch time of the app's training job against plain ``model.fit`` on the same
generator and model, and the GUI thread's longest stall while the app trains.

The model is a small CNN (four Conv-BatchNorm-ReLU blocks, 64×64×3 inputs, 10 classes: tracing
it takes seconds, not the minute MobileNetV2 takes); the data are 1,600 random images with labels
in an ``.npz``, read by the app's array source (the same PyDataset is given to plain ``fit``),
batch 32 with a 20 % validation split. The two sides run interleaved, twice each. The app is driven as a user would: the
Training view is opened, the file is chosen as the data source, and Start is pressed. Epoch times
are measured from an epoch's start to the end of its last callback, so the app's best-weights
copy and progress reports count; the first epoch (tracing) is left out on both sides. The ratio
compares each side's fastest epoch, as ``timeit`` advises: on this shared machine one epoch of
plain ``fit`` alone ranges from 1.5 to 3.0 s, and what the neighbours take only ever adds to
it, so the fastest epoch is the closest to what each side costs (the medians are printed too).
Stalls are
measured in one more run of the app, since the stall monitor's heartbeat takes a little of the
cores that training uses.

Figures: ``fit_ratio`` (target <= 1.05) and ``stall_ms_train`` (target <= 33 ms).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from bench.common import MODELS_DIR, StallMonitor, app_window, close_and_settle, record, wait_for_spare

EPOCHS = int(os.environ.get("BENCH_TRAIN_EPOCHS", "6"))
REPEATS = int(os.environ.get("BENCH_TRAIN_REPEATS", "2"))
SAMPLES = 1600
BATCH = 32


def model_and_data():
    """Builds (once) the saved model and its training data."""
    from inspector.tfimport import keras

    MODELS_DIR.mkdir(exist_ok=True)
    path = MODELS_DIR / "small_cnn_64.keras"
    data = MODELS_DIR / "train_64.npz"
    if not path.exists():
        layers = keras.layers
        inputs = keras.Input((64, 64, 3), name="image")
        x = inputs
        for filters in (32, 64, 96, 128):
            x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(10, activation="softmax", name="classes")(x)
        keras.Model(inputs, outputs, name="small_cnn").save(path)
        keras.backend.clear_session()
    if not data.exists():
        from inspector.model.loading import load

        model = load(path).model
        rng = np.random.default_rng(0)
        np.savez(
            data,
            **{
                model.inputs[0].name: rng.uniform(-1, 1, (SAMPLES, 64, 64, 3)).astype("float32"),
                "y": rng.integers(0, 10, SAMPLES).astype("int32"),
            },
        )
    return path, data


class EpochTimer:
    """A Keras callback that times each epoch (made on first use: Keras is imported late)."""

    def __new__(cls):
        from inspector.tfimport import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.started)

        return Timer()


def plain_fit_epochs(path, data) -> list[float]:
    """Epoch times of plain ``model.fit`` on the app's data source, same settings."""
    from inspector.model.loading import load
    from inspector.training.fit import compile_for_training, default_settings
    from inspector.training.array_data import array_data

    model = load(path).model
    compile_for_training(model, default_settings(model))
    source = array_data(data, model, batch_size=BATCH)
    timer = EpochTimer()
    model.fit(source.train, validation_data=source.validation, epochs=EPOCHS, callbacks=[timer], verbose=0)
    return timer.seconds


def app_fit_epochs(window, wait, path, data, monitor: StallMonitor | None) -> tuple[list[float], float]:
    """Trains in the app as a user would; returns its epoch times and the longest GUI stall.

    Args:
        monitor: Measures stalls; ``None`` for a run whose epochs are timed (its 2 ms heartbeat
            takes a little of the cores that training uses, and plain ``fit`` has none).
    """
    tab = window.open_file(path)
    wait(lambda: tab.is_loaded or tab.error is not None)
    panel = tab.training
    tab.show_view("training")
    wait(lambda: panel.data_editor is not None)
    panel.data_editor.set_kind("arrays")
    panel.data_editor.set_path(data)
    panel.epochs.setValue(EPOCHS)
    panel.batch_size.setValue(BATCH)
    panel.steps.setValue(0)
    wait_for_spare(wait)  # the next model's kernel, which the tab starts, has imported TensorFlow
    settle = time.perf_counter() + 0.5  # the settings' repaints are done, as before a user's click
    wait(lambda: time.perf_counter() > settle)
    if monitor is not None:
        monitor.start()
    if not panel.start():
        raise RuntimeError(f"training did not start: {panel.message.text()}")
    wait(lambda: not panel.running)
    stall = monitor.stop() if monitor is not None else 0.0
    if panel.result is None:
        raise RuntimeError(f"training failed: {panel.message.text()}")
    seconds = panel.result.epoch_seconds
    tab.weights_modified = False
    index = window.tabs.indexOf(tab)
    tab = panel = None  # the window holds the only references; its collection frees them
    close_and_settle(window, index, wait)
    return seconds, stall


def run(results: dict) -> None:
    """Runs the training benchmark and records its figures in ``results``."""
    path, data = model_and_data()
    window, wait = app_window()
    monitor = StallMonitor()
    app, bare = [], []
    for _ in range(REPEATS):  # interleaved, so a busy moment of the machine hits both sides
        wait_for_spare(wait)
        bare += plain_fit_epochs(path, data)[1:]
        seconds, _ = app_fit_epochs(window, wait, path, data, None)
        app += seconds[1:]
    wait_for_spare(wait)
    _, stall = app_fit_epochs(window, wait, path, data, monitor)
    print(
        f"  small CNN 64x64, {SAMPLES} samples, batch {BATCH}, epochs 2-{EPOCHS} of {REPEATS} runs each: "
        f"app epoch {min(app):.2f} s fastest, {statistics.median(app):.2f} s median; "
        f"plain fit epoch {min(bare):.2f} s fastest, {statistics.median(bare):.2f} s median",
        flush=True,
    )
    record(results, "fit_ratio", min(app) / min(bare), 1.05, "x")
    record(results, "stall_ms_train", stall, 33.0, "ms")
    window.shutdown()
    window.close()
