"""A real kernel process, driven without Qt: jobs, progress, results through shared memory,
cancel, errors the window cannot import, and deaths."""

from __future__ import annotations

import gc
import os
import queue
import signal
import threading

import numpy as np
import pytest

from inspector.errors import RemoteError
from inspector.kernel.client import KernelProcess, end_kernels, exit_reason, running_kernels
from inspector.kernel.location import LOCAL, KernelLocation
from inspector.kernel.transport import OUT_OF_BAND_BYTES, decode, encode
from inspector.memory import LONG_LIVED_BYTES, shared_memory_dir
from tests.kernel import kernel_jobs

TIMEOUT = 120


class Client:
    """One kernel with its messages in a queue, as the window's runner sees them."""

    def __init__(self, location: KernelLocation = LOCAL):
        self.kernel = KernelProcess(location)
        self.messages: queue.Queue = queue.Queue()
        self.exited = threading.Event()
        self.code: int | None = None
        self.kernel.connect(self.messages.put, self._exit)
        self._ids = iter(range(1, 1000))

    def _exit(self, code: int) -> None:
        self.code = code
        self.exited.set()

    def run(self, function, *args, **kwargs) -> int:
        job_id = next(self._ids)
        self.kernel.send("run", job_id, (function.__name__, function, args, kwargs))
        return job_id

    def until_finished(self, job_id: int) -> list[tuple]:
        """Every message of the job, up to its ``finished``."""
        got = []
        while True:
            message = self.messages.get(timeout=TIMEOUT)
            if message[1] == job_id:
                got.append(message)
                if message[0] == "finished":
                    return got


@pytest.fixture
def client():
    client = Client()
    yield client
    client.kernel.stop()
    client.kernel.wait(TIMEOUT)


def test_a_large_array_travels_through_shared_memory_and_leaves_no_file():
    array = np.arange(OUT_OF_BAND_BYTES, dtype=np.float32).reshape(-1, 16)
    data, files = encode(("result", array))
    assert len(files) == 1 and len(data) < 1024, "the array's bytes are not in the pickle"
    kind, back = decode(data, files)
    np.testing.assert_array_equal(back, array)
    assert not any((shared_memory_dir() / os.path.basename(name)).exists() for name in files)


def test_an_array_on_disk_travels_as_its_file_and_as_a_copy_to_another_computer(tmp_path):
    on_disk = np.lib.format.open_memmap(tmp_path / "a.npy", mode="w+", dtype=np.float32, shape=(300, 300))
    on_disk[:] = np.arange(90_000, dtype=np.float32).reshape(300, 300)
    on_disk.flush()
    data, files = encode(on_disk)
    assert not files and len(data) < 1024, "the array's bytes travelled"
    back = decode(data, files)
    assert isinstance(back, np.memmap) and back.filename == on_disk.filename
    np.testing.assert_array_equal(back, on_disk)
    data, buffers = encode(on_disk, in_memory=True)
    copy = decode(data, buffers=buffers)
    assert not isinstance(copy, np.memmap) and sum(len(b) for b in buffers) == on_disk.nbytes
    np.testing.assert_array_equal(copy, on_disk)


def test_the_window_refuses_to_unpickle_keras_objects():
    from inspector.tfimport import keras

    data, files = encode(keras.layers.Dense(2))
    with pytest.raises(Exception, match="cannot be shown in the window"):
        decode(data, files, strict=True)


def test_a_job_reports_progress_and_its_result_comes_back(client):
    array = np.random.default_rng(0).normal(size=(300, 300)).astype("float32")
    job = client.run(kernel_jobs.echo_job, array)
    messages = client.until_finished(job)
    kinds = [m[0] for m in messages]
    assert kinds == ["progress", "succeeded", "finished"]
    np.testing.assert_array_equal(messages[0][2].payload, array)
    np.testing.assert_array_equal(messages[1][2], array)


def test_a_big_answer_stays_out_of_the_windows_collections(client):
    """A model's description lives as long as its tab: the window's collections skip it (each
    collection that scanned a 10,000-layer description took 30-60 ms)."""
    big = [{"layer": f"dense_{i}", "shape": (None, i)} for i in range(60_000)]
    assert len(encode(big)[0]) >= LONG_LIVED_BYTES
    answers = [client.until_finished(client.run(kernel_jobs.echo_job, value))[1][2] for value in (big, [{}])]
    assert answers[0] == big
    tracked = {id(o) for o in gc.get_objects()}
    assert id(answers[0]) not in tracked, "the big answer was frozen"
    assert id(answers[1]) in tracked, "a small answer is collected as usual"


def test_cancel_stops_a_job_at_its_next_yield(client):
    job = client.run(kernel_jobs.counting_job, 100_000)
    assert client.messages.get(timeout=TIMEOUT)[0] == "progress"
    client.kernel.send("cancel", job)
    kinds = [m[0] for m in client.until_finished(job)]
    assert "cancelled" in kinds and "succeeded" not in kinds


def test_a_job_whose_arguments_cannot_travel_fails_and_the_next_job_runs(client):
    unpicklable = client.run(kernel_jobs.echo_job, threading.Lock())
    after = client.run(kernel_jobs.echo_job, 7)
    messages = client.until_finished(unpicklable)
    assert [m[0] for m in messages] == ["failed", "finished"]
    assert "lock" in str(messages[0][2]).lower()
    assert [m[0] for m in client.until_finished(after)][-2:] == ["succeeded", "finished"]


def test_an_error_of_a_class_the_window_does_not_import_keeps_its_name_and_message(client):
    messages = client.until_finished(client.run(kernel_jobs.failing_keras_job))
    failed = next(m for m in messages if m[0] == "failed")
    error, details = failed[2], failed[3]
    assert isinstance(error, RemoteError) and type(error).__name__ == "InvalidArgumentError"
    assert "reshape" in str(error).lower() or "input to reshape" in details.lower() or "shape" in str(error)
    assert "Traceback" in details


def test_the_kernel_keeps_keras_to_itself(client):
    messages = client.until_finished(client.run(kernel_jobs.modules_job, "keras"))
    assert "keras" in messages[-2][2], "the kernel imported Keras"


@pytest.mark.parametrize("how, words", [("kill", "killed (SIGKILL"), ("crash", "segmentation fault")])
def test_a_kernel_that_dies_says_how(how, words):
    dying = Client()
    if how == "kill":
        dying.kernel.ready.wait(TIMEOUT)
        os.kill(dying.kernel.pid, signal.SIGKILL)
    else:
        dying.run(kernel_jobs.crash_job)
    assert dying.exited.wait(TIMEOUT)
    assert words in exit_reason(dying.code)
    assert dying.kernel not in running_kernels()
    with pytest.raises(ConnectionError):
        dying.run(kernel_jobs.echo_job, 1)


def test_ending_every_kernel_leaves_no_process():
    kernels = [KernelProcess() for _ in range(2)]
    for kernel in kernels:
        kernel.connect(lambda message: None, lambda code: None)
    end_kernels()
    assert not any(kernel.alive for kernel in kernels) and not running_kernels()
    assert not any(kernel.temporary_dir.exists() for kernel in kernels)


def test_the_kernel_yields_the_cpu_to_the_window(client):
    client.kernel.ready.wait(TIMEOUT)
    assert os.getpriority(os.PRIO_PROCESS, client.kernel.pid) > os.getpriority(os.PRIO_PROCESS, os.getpid())
