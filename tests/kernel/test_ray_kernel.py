"""Kernels on a real Ray instance (127.0.0.1), driven without Qt: the same jobs, progress,
results, cancel and errors as a local kernel; a killed actor; ``--summary --kernel``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from inspector.errors import KernelDied
from inspector.jobs import MODEL, SESSION
from inspector.kernel.client import KernelProcess, call_in_kernel
from inspector.kernel.location import KernelLocation, parse_location
from inspector.kernel.place import place_job
from inspector.kernel.session import edit_job, open_job
from inspector.kernel.uploads import FileUpload
from tests.conftest import ROOT, SAMPLES
from tests.kernel import kernel_jobs
from tests.kernel.test_kernel_process import Client

SAMPLE = SAMPLES / "transfer_digits.keras"


@pytest.fixture
def ray_client(ray_cluster):
    client = Client(parse_location(ray_cluster.address))
    yield client
    client.kernel.stop()
    client.kernel.wait(60)


def test_a_ray_kernel_sends_progress_results_and_errors_as_a_local_one(ray_client):
    client = ray_client
    array = np.random.default_rng(0).normal(size=(500, 300)).astype("float32")
    messages = client.until_finished(client.run(kernel_jobs.echo_job, array))
    assert [m[0] for m in messages] == ["progress", "succeeded", "finished"]
    np.testing.assert_array_equal(messages[0][2].payload, array)
    np.testing.assert_array_equal(messages[1][2], array)

    failed = client.until_finished(client.run(kernel_jobs.failing_keras_job))[-2]
    assert failed[0] == "failed" and type(failed[2]).__name__ == "InvalidArgumentError"

    place = client.until_finished(client.run(place_job))[-2][2]
    assert place.actor.startswith("kernel-") and place.devices[0].startswith("CPU")


def test_cancel_reaches_a_job_on_ray(ray_client):
    client = ray_client
    job = client.run(kernel_jobs.counting_job, 10**8)
    while client.messages.get(timeout=120)[0] != "progress":
        pass
    client.kernel.send("cancel", job)
    assert [m[0] for m in client.until_finished(job)][-2:] == ["cancelled", "finished"]


def test_a_model_opened_on_ray_is_described_and_edited_as_locally(ray_cluster):
    """The same file through a local kernel and a Ray kernel: equal descriptions, equal states
    after a freeze and its undo, bit-identical weights."""
    results = {}
    for where, location in (("local", KernelLocation()), ("ray", parse_location(ray_cluster.address))):
        kernel = KernelProcess(location)
        try:
            file = FileUpload(SAMPLE) if location.remote else SAMPLE
            opened = call_in_kernel(kernel, open_job, SESSION, file, origin=str(SAMPLE))
            frozen = call_in_kernel(kernel, edit_job, SESSION, "set_trainable", ["head"], False)
            undone = call_in_kernel(kernel, edit_job, SESSION, "undo")
            weights = call_in_kernel(kernel, kernel_jobs.weights_job, MODEL)
            results[where] = opened.info, frozen, undone, weights
        finally:
            kernel.stop()
            kernel.wait(60)
    (info, frozen, undone, weights), (ray_info, ray_frozen, ray_undone, ray_weights) = results["local"], results["ray"]
    assert ray_info == info
    assert ray_frozen.layers == frozen.layers and ray_frozen.layers["head"][1] == 0
    assert ray_undone.layers == undone.layers and ray_undone.editor == undone.editor
    assert len(ray_weights) == len(weights)
    for a, b in zip(weights, ray_weights):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_a_killed_actor_ends_its_kernel_with_the_reason(ray_cluster, ray_client):
    client = ray_client
    place = client.until_finished(client.run(place_job))[-2][2]
    ray_cluster.kill_actor(place.actor)
    assert client.exited.wait(120)
    assert client.kernel.reason.startswith("its Ray actor ended"), client.kernel.reason
    with pytest.raises(ConnectionError):
        client.run(kernel_jobs.echo_job, 1)


def test_a_cluster_that_is_not_there_is_named(tmp_path):
    kernel = KernelProcess(parse_location("ray://127.0.0.1:9"))
    with pytest.raises(KernelDied, match="could not connect to the Ray cluster at ray://127.0.0.1:9: nothing answers there"):
        call_in_kernel(kernel, place_job)


def test_summary_through_ray_prints_the_same_json(ray_cluster):
    def summary(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "main.py", "--summary", *extra, str(SAMPLE), str(SAMPLES / "topic_rnn.keras")],
            capture_output=True, text=True, cwd=ROOT, timeout=600,
        )

    local, remote = summary(), summary("--kernel", ray_cluster.address)
    assert local.returncode == remote.returncode == 0, remote.stderr[-2000:]
    assert remote.stdout == local.stdout
    assert [json.loads(line)["name"] for line in remote.stdout.splitlines()] == ["transfer_digits", "topic_rnn"]


def test_a_copy_made_on_ray_comes_back_as_a_file(ray_cluster, tmp_path):
    """Model ▸ Quantize a Copy… on a Ray kernel: the copy is written there and sent back."""
    from inspector.kernel.uploads import downloaded_job, write_atomically
    from inspector.model.quantization import quantize_copy_job

    kernel = KernelProcess(parse_location(ray_cluster.address))
    try:
        call_in_kernel(kernel, open_job, SESSION, FileUpload(SAMPLE), origin=str(SAMPLE))
        name, data = call_in_kernel(kernel, downloaded_job, quantize_copy_job, MODEL, "int8")
    finally:
        kernel.stop()
        kernel.wait(60)
    copy = write_atomically(tmp_path / name, data)
    summary = subprocess.run([sys.executable, "main.py", "--summary", str(copy)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert summary.returncode == 0, summary.stderr
    assert name == "transfer_digits_int8.keras" and json.loads(summary.stdout)["name"] == "transfer_digits"
