"""What a kernel runs on: its host and devices, for the window's status bar."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from typing import Generator

from inspector.jobs import Progress

ACTOR_VARIABLE = "KMI_RAY_ACTOR"
"""Set, in a kernel that is a Ray actor, to the actor's name."""


@dataclasses.dataclass(frozen=True)
class KernelPlace:
    """Where a kernel process runs.

    Attributes:
        host: The machine's name.
        pid: The kernel's process id there.
        devices: One line per device TensorFlow sees, such as ``"GPU 0: NVIDIA A100 (40 GiB)"``.
        actor: The Ray actor's name, for a kernel on a Ray cluster.
    """

    host: str
    pid: int
    devices: tuple[str, ...]
    actor: str | None = None

    def text(self) -> str:
        """``host (devices)``, for a status line."""
        return f"{self.host} ({'; '.join(self.devices)})"


def place_job() -> Generator[Progress, None, KernelPlace]:
    """Where this kernel runs (a job for :mod:`inspector.kernel`)."""
    yield Progress("Reading where the kernel runs…")
    return kernel_place()


def kernel_place() -> KernelPlace:
    """This process' host and the devices TensorFlow sees in it."""
    import inspector.tfimport  # noqa: F401 - TensorFlow imported quietly
    import tensorflow as tf

    devices = [_cpu_text()]
    gpus = tf.config.list_physical_devices("GPU")
    memory = _gpu_memory()
    for index, gpu in enumerate(gpus):
        try:
            name = tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        except Exception:  # noqa: BLE001 - a device without details is still named
            name = gpu.name
        size = f" ({memory[index]})" if index < len(memory) else ""
        devices.append(f"GPU {index}: {name}{size}")
    return KernelPlace(socket.gethostname(), os.getpid(), tuple(devices), os.environ.get(ACTOR_VARIABLE))


def _cpu_text() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return f"CPU, {cores} cores"
    return f"CPU, {cores} cores, {memory / 2**30:.0f} GiB"


def _gpu_memory() -> list[str]:
    """Each GPU's memory as ``nvidia-smi`` reports it (TensorFlow does not say), if it is there."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return []
    try:
        out = subprocess.run(
            [command, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [f"{int(line) / 1024:.0f} GiB" for line in out.split() if line.strip().isdigit()]
