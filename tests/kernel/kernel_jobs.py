"""Jobs that tests send to real kernel processes (importable there: no Qt, no pytest)."""

from __future__ import annotations

import os
import select
import signal
from typing import Generator

import numpy as np

from inspector.jobs import Progress


def echo_job(value) -> Generator[Progress, None, object]:
    """Returns what it was given, after one progress record that carries it too."""
    yield Progress("Echoing…", 0.5, value)
    return value


def stuck_job() -> Generator[Progress, None, None]:
    """Blocks in one call that a cancel cannot interrupt and that never returns (a long library
    call, as far as the kernel can tell); only ending the process stops it."""
    yield Progress("Inside a long call…")
    signal.pause()


def counting_job(count: int) -> Generator[Progress, None, int]:
    """Yields ``count`` times, as fast as reports go out (a cancel stops it at the next one)."""
    for i in range(count):
        yield Progress(f"{i}", i / count)
    return count


def crash_job() -> Generator[Progress, None, None]:
    """Ends its own kernel the way a fault in TensorFlow does."""
    yield Progress("Crashing…")
    os.kill(os.getpid(), signal.SIGSEGV)


def failing_keras_job() -> Generator[Progress, None, None]:
    """Fails with an error class that the window does not import."""
    yield Progress("Failing…")
    import tensorflow as tf

    tf.reshape(tf.zeros(3), (2,))  # tf.errors.InvalidArgumentError


def modules_job(prefix: str) -> Generator[Progress, None, list[str]]:
    """The modules of the kernel whose name starts with ``prefix``."""
    import sys

    yield Progress("Listing modules…")
    return sorted(name for name in sys.modules if name.startswith(prefix))


def layer_trainable_job(model, path: str) -> Generator[Progress, None, bool]:
    """Whether the kernel's model has layer ``path`` (``outer/inner``) trainable."""
    yield Progress("Reading a flag…")
    layer = model
    for name in path.split("/"):
        layer = layer.get_layer(name)
    return layer.trainable


def weights_job(model) -> Generator[Progress, None, list[np.ndarray]]:
    """Copies of every variable of the kernel's model, in ``model.weights`` order."""
    yield Progress("Reading the weights…")
    return [variable.numpy() for variable in model.weights]


def layer_weights_job(model, name: str) -> Generator[Progress, None, list[np.ndarray]]:
    """``model.get_layer(name).get_weights()`` in the kernel."""
    yield Progress("Reading the weights…")
    return model.get_layer(name).get_weights()


def scale_kernel_job(model, name: str, factor: float) -> Generator[Progress, None, None]:
    """Multiplies a layer's kernel in the kernel's model (weights changed outside training)."""
    yield Progress("Scaling…")
    layer = model.get_layer(name)
    layer.kernel.assign(layer.kernel.numpy() * factor)


def gated_job(gate: str) -> Generator[Progress, None, str]:
    """Runs until a test writes to the FIFO ``gate`` (see :func:`open_gate`): a job that uses
    the model as long as the test wants. It reports once a second meanwhile, so a cancel stops it."""
    fd = os.open(gate, os.O_RDWR | os.O_NONBLOCK)  # a writer of its own: no end of file before the test writes
    try:
        while True:
            yield Progress("Waiting for the gate…")
            readable, _, _ = select.select([fd], [], [], 1.0)
            if readable and os.read(fd, 1):
                return "released"
    finally:
        os.close(fd)


def make_gate(path) -> str:
    """A FIFO for :func:`gated_job`."""
    os.mkfifo(path)
    return str(path)


def open_gate(gate: str) -> bool:
    """Releases :func:`gated_job` once it waits on ``gate``; ``False`` until then (use it in
    ``qtbot.waitUntil``)."""
    try:
        fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: the job has not opened the gate yet
        return False
    os.write(fd, b"1")
    os.close(fd)
    return True


def memory_error_job() -> Generator[Progress, None, None]:
    """Runs out of memory, as far as the window can tell."""
    yield Progress("Allocating…")
    raise MemoryError()


def full_disk_job() -> Generator[Progress, None, None]:
    """Makes this kernel's extraction see no memory to spare and a disk with one byte free."""
    import shutil

    import inspector.activations.extraction as extraction

    yield Progress("Filling the disk…")
    extraction.MEMORY_CAP = 0
    extraction.shutil = type("FullDisk", (), {"disk_usage": staticmethod(lambda path: shutil._ntuple_diskusage(10, 10, 1))})


def module_setting_job(module: str, name: str, value) -> Generator[Progress, None, None]:
    """Sets ``module.name = value`` in this kernel (a test's monkeypatch, where the model is)."""
    import importlib

    yield Progress(f"Setting {module}.{name}…")
    setattr(importlib.import_module(module), name, value)


def kept_outputs_job(kept: dict, number: int):
    """The inputs and outputs of one extraction that the kernel keeps, as plain arrays (to check
    the numbers the window draws and exports), and the numbers of every extraction it keeps."""
    from inspector.activations.kept_results import RESULTS_KEY, kept_activations

    yield Progress("Reading the kept outputs…")
    activations = kept_activations(kept, number)
    values = {key: np.asarray(values) for key, values in activations.values.items()}
    return activations.samples.arrays, values, sorted(kept.get(RESULTS_KEY, {}))


def whereabouts_job() -> Generator[Progress, None, tuple[int, list[str]]]:
    """The process id and which of TensorFlow, Keras and Qt are imported where it runs."""
    import sys

    yield Progress("Looking around…")
    return os.getpid(), sorted(name for name in ("tensorflow", "keras", "PySide6") if name in sys.modules)


def exit_job() -> Generator[Progress, None, None]:
    """Ends its process at once, as a crash would."""
    yield Progress("Leaving…")
    os._exit(3)
