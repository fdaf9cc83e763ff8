"""The window's side of a kernel process: starting it, talking to it, ending it (no Qt here).

Each open model gets its own :class:`KernelProcess` (``python -m inspector.kernel``), connected
by a private socket pair; :class:`KernelPool` keeps one spare started, so that by the time the
user opens a model, TensorFlow has already been imported in the process that will hold it.

The connection is read on a thread of the window's process; everything the kernel sends is
handed to ``on_message`` on that thread, and ``on_exit`` is called there once with the process'
exit code when the kernel ends, however it ends (``quit``, a crash, ``kill -9``).
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

from inspector.kernel.transport import decode, discard, encode
from inspector.memory import SHARED_DIR_VARIABLE, shared_memory_dir

_ROOT = str(Path(__file__).resolve().parents[2])

_running: set[KernelProcess] = set()
"""Every kernel of this process that has not ended yet."""
_running_lock = threading.Lock()


class KernelProcess:
    """One kernel process and its connection.

    Attributes:
        pid: The process id.
        ready: Set once the kernel has imported Keras and is serving.
        temporary_dir: The kernel's ``TMPDIR`` (activations streamed to disk), removed when it ends.
        shared_dir: The kernel's folder in shared memory (message buffers, activations the window
            maps), removed when it ends.
    """

    def __init__(self):
        self.on_message: Callable[[tuple], None] = lambda message: None
        self.on_exit: Callable[[int], None] = lambda code: None
        self._lock = threading.Lock()
        self._handlers_set = threading.Event()
        self.ready = threading.Event()
        self.returncode: int | None = None
        self.temporary_dir = Path(tempfile.mkdtemp(prefix="kmi-kernel-"))
        self.shared_dir = Path(tempfile.mkdtemp(prefix="kmi-kernel-", dir=shared_memory_dir()))
        parent, child = socket.socketpair()
        env = {
            **os.environ,
            "TMPDIR": str(self.temporary_dir),
            SHARED_DIR_VARIABLE: str(self.shared_dir),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "inspector.kernel", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.PIPE,
            cwd=_ROOT,
            env=env,
        )
        child.close()
        pickle.dump([entry for entry in sys.path if entry], self._process.stdin)
        self._process.stdin.close()
        self._connection = Connection(parent.detach())
        self.pid = self._process.pid
        with _running_lock:
            _running.add(self)
        self._reader = threading.Thread(target=self._read, name=f"kernel-{self.pid}-reader", daemon=True)
        self._reader.start()

    def connect(self, on_message: Callable[[tuple], None], on_exit: Callable[[int], None]) -> None:
        """Sets where the kernel's messages go (messages that arrived before wait for this)."""
        self.on_message, self.on_exit = on_message, on_exit
        self._handlers_set.set()

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.poll() is None

    def send(self, message: tuple) -> None:
        """Sends a message; large arrays in it go through shared memory.

        Raises:
            ConnectionError: The kernel has ended.
        """
        data, files = encode(message)
        try:
            with self._lock:
                self._connection.send((data, files))
        except (OSError, EOFError) as exc:
            discard(files)
            raise ConnectionError("the kernel has ended") from exc

    def _read(self) -> None:
        while True:
            try:
                kind, job_id, data, files = self._connection.recv()
            except (EOFError, OSError):
                break
            if kind == "ready":
                self.ready.set()
                continue
            try:
                payload = decode(data, files, strict=True)
            except Exception as exc:  # noqa: BLE001 - a message the window cannot read fails its job
                if kind == "progress":
                    continue
                kind, payload = "failed", (RuntimeError(f"the kernel's answer cannot be read here: {exc}"), "")
            self._handlers_set.wait()
            self.on_message((kind, job_id, *payload))
        self.returncode = self._process.wait()
        with _running_lock:
            _running.discard(self)
        self._connection.close()
        for folder in (self.temporary_dir, self.shared_dir):  # what the window still maps stays valid
            shutil.rmtree(folder, ignore_errors=True)
        self._handlers_set.wait()
        self.on_exit(self.returncode)

    def stop(self) -> None:
        """Ends the kernel at once (its model is thrown away with the process)."""
        if self.alive:
            self._process.kill()

    def discard(self) -> None:
        """Ends the kernel without telling anybody: nothing it still sends, nor its exit, is
        reported (its owner is going away or has a new kernel)."""
        self.connect(lambda message: None, lambda code: None)
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the kernel has ended and its reader has finished; True when it has."""
        self._reader.join(timeout)
        return not self._reader.is_alive()


def running_kernels() -> list[KernelProcess]:
    """The kernels of this process that have not ended yet (the pool's spare among them)."""
    with _running_lock:
        return list(_running)


def end_kernels(*, keep: KernelProcess | None = None) -> None:
    """Ends every kernel of this process (but ``keep``) and waits until each has ended."""
    kernels = [kernel for kernel in running_kernels() if kernel is not keep]
    for kernel in kernels:
        kernel.discard()
    for kernel in kernels:
        kernel.wait(30)


def exit_reason(returncode: int) -> str:
    """What an exit code means, in words, for the tab that lost its kernel."""
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:
            return f"it was killed ({name}; the system may have run out of memory)"
        if number == signal.SIGSEGV:
            return f"it crashed ({name}, a segmentation fault in TensorFlow or a library)"
        if number == getattr(signal, "SIGABRT", None):
            return f"it aborted ({name})"
        return f"it was stopped by {name}"
    return f"it exited with code {returncode}"


class KernelPool:
    """Keeps one started kernel in reserve, so that opening a model does not wait for TensorFlow."""

    _shared: KernelPool | None = None

    def __init__(self):
        self._spare: KernelProcess | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> KernelPool:
        """The pool of this process."""
        if cls._shared is None:
            cls._shared = KernelPool()
        return cls._shared

    def take(self) -> KernelProcess:
        """A kernel for a new model: the spare when it is alive, else a new one."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.alive:
            return spare
        return KernelProcess()

    def replenish(self) -> None:
        """Starts a spare kernel if there is none (call it when the machine is not busy)."""
        with self._lock:
            if self._spare is None or not self._spare.alive:
                self._spare = KernelProcess()
                self._spare.connect(lambda message: None, lambda code: None)

    @property
    def spare(self) -> KernelProcess | None:
        """The kernel kept in reserve, if any."""
        return self._spare

    def close(self) -> None:
        """Ends the spare kernel."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.stop()
