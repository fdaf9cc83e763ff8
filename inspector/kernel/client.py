"""The window's side of a kernel process: starting it, talking to it, ending it (no Qt here).

Each open model gets its own :class:`KernelProcess` (``python -m inspector.kernel``), connected
by a private socket pair; :class:`KernelPool` keeps one spare started for each
:class:`~inspector.kernel.location.KernelLocation` in use, so that by the time the user opens a
model, TensorFlow has already been imported in the process that will hold it. For a kernel on a
Ray cluster the process is a local relay (:mod:`inspector.kernel.ray_bridge`) that speaks the same
messages, so nothing here differs but the command line and how the process is stopped.

The connection is read on a thread of the window's process; everything the kernel sends is
handed to ``on_message`` on that thread, and ``on_exit`` is called there once with the process'
exit code when the kernel ends, however it ends (``quit``, a crash, ``kill -9``). Messages to the
kernel are pickled and written by a second thread, in the order they were sent, so that a job
whose arguments are large (a model or images uploaded to a kernel on a cluster) does not hold up
the window's thread.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
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

from inspector.kernel.location import LOCAL, KernelLocation
from inspector.kernel.transport import decode, discard, encode
from inspector.memory import LONG_LIVED_BYTES, SHARED_DIR_VARIABLE, freeze_long_lived, shared_memory_dir

_ROOT = str(Path(__file__).resolve().parents[2])

RELAY_GRACE_S = 5
"""How long a Ray kernel's relay may take to kill its actor when asked to stop."""

_running: set[KernelProcess] = set()
"""Every kernel of this process that has not ended yet."""
_running_lock = threading.Lock()


class KernelProcess:
    """One kernel process and its connection.

    Args:
        location: Where the kernel runs: here, or on a Ray cluster through a local relay.

    Attributes:
        location: Where the kernel runs.
        pid: The process id (of the relay, for a kernel on a Ray cluster).
        ready: Set once the kernel has imported Keras and is serving.
        temporary_dir: The kernel's ``TMPDIR`` (activations streamed to disk), removed when it ends.
        shared_dir: The kernel's folder in shared memory (message buffers, activations the window
            maps), removed when it ends.
        fatal: Why the kernel ended, when it said so before ending (a relay whose actor or
            cluster was lost).
    """

    def __init__(self, location: KernelLocation = LOCAL):
        self.location = location
        self.fatal: str | None = None
        self.on_message: Callable[[tuple], None] = lambda message: None
        self.on_exit: Callable[[int], None] = lambda code: None
        self._handlers_set = threading.Event()
        self._outbox: queue.Queue[tuple | None] = queue.Queue()
        self._ended = threading.Event()
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
        command = [sys.executable, "-m", "inspector.kernel", str(child.fileno())]
        if location.remote:
            command += ["--ray", location.address, "--gpus", f"{location.num_gpus:g}"]
        self._process = subprocess.Popen(
            command,
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
        threading.Thread(target=self._write, name=f"kernel-{self.pid}-writer", daemon=True).start()

    def connect(self, on_message: Callable[[tuple], None], on_exit: Callable[[int], None]) -> None:
        """Sets where the kernel's messages go (messages that arrived before wait for this)."""
        self.on_message, self.on_exit = on_message, on_exit
        self._handlers_set.set()

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.poll() is None

    def send(self, kind: str, job_id: int = 0, payload: tuple = ()) -> None:
        """Queues a message (see :mod:`inspector.kernel.process`) and returns at once; it is
        pickled and sent on the writer thread, after the messages queued before it, so the
        payload must not be changed after it is sent (as with ``multiprocessing.Queue.put``).
        Large arrays in its payload go through shared memory. A ``run`` whose payload cannot be
        pickled fails its job: ``on_message`` receives its ``failed`` and ``finished``.

        Raises:
            ConnectionError: The kernel has ended.
        """
        if self._ended.is_set():
            raise ConnectionError("the kernel has ended")
        self._outbox.put((kind, job_id, payload))

    @property
    def sending(self) -> bool:
        """Whether messages are queued or being sent (their files may still be read)."""
        return self._outbox.unfinished_tasks > 0

    def _write(self) -> None:
        while True:
            message = self._outbox.get()
            try:
                if message is None:  # the kernel has ended
                    return
                if not self._ended.is_set():
                    self._write_one(*message)
            finally:
                self._outbox.task_done()

    def _write_one(self, kind: str, job_id: int, payload: tuple) -> None:
        try:
            data, files = encode(payload)
        except Exception as exc:  # noqa: BLE001 - arguments that cannot travel fail the job
            self._handlers_set.wait()
            self.on_message(("failed", job_id, exc, ""))
            self.on_message(("finished", job_id))
            return
        try:
            self._connection.send((kind, job_id, data, files))
        except (OSError, EOFError):  # the kernel has ended; its exit report fails the job
            discard(files)
            self._ended.set()

    def _read(self) -> None:
        while True:
            try:
                kind, job_id, data, files = self._connection.recv()
            except (EOFError, OSError):
                break
            if kind == "ready":
                self.ready.set()
                continue
            if kind == "fatal":
                self.fatal = data.decode("utf-8", "replace")
                continue
            try:
                payload = decode(data, files, strict=True)
                if len(data) >= LONG_LIVED_BYTES:
                    freeze_long_lived()
            except Exception as exc:  # noqa: BLE001 - a message the window cannot read fails its job
                if kind == "progress":
                    continue
                kind, payload = "failed", (RuntimeError(f"the kernel's answer cannot be read here: {exc}"), "")
            self._handlers_set.wait()
            self.on_message((kind, job_id, *payload))
        self._ended.set()
        self._outbox.put(None)
        self.returncode = self._process.wait()
        with _running_lock:
            _running.discard(self)
        self._outbox.join()  # the writer no longer uses the connection
        self._connection.close()
        for folder in (self.temporary_dir, self.shared_dir):  # what the window still maps stays valid
            shutil.rmtree(folder, ignore_errors=True)
        self._handlers_set.wait()
        self.on_exit(self.returncode)

    @property
    def reason(self) -> str:
        """Why the kernel ended, in words (once it has)."""
        return self.fatal or exit_reason(self.returncode if self.returncode is not None else 0)

    def stop(self) -> None:
        """Ends the kernel at once (its model is thrown away with the process). A relay is asked
        first, so that it kills its actor on the cluster; it is killed if it has not ended within
        :data:`RELAY_GRACE_S`."""
        if not self.alive:
            return
        if not self.location.remote:
            self._process.kill()
            return
        self._process.terminate()
        threading.Thread(target=self._kill_if_alive, name=f"kernel-{self.pid}-stop", daemon=True).start()

    def _kill_if_alive(self) -> None:
        try:
            self._process.wait(RELAY_GRACE_S)
        except subprocess.TimeoutExpired:
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


def call_in_kernel(kernel: KernelProcess, function: Callable, *args, **kwargs):
    """Runs one job in a kernel nobody else uses and waits for its result (no Qt: for
    ``--summary`` and scripts).

    Raises:
        KernelDied: The kernel ended first.
        Exception: What the job raised; ``JobCancelled`` when it was cancelled.
    """
    from inspector.errors import JobCancelled, KernelDied

    answers: queue.Queue = queue.Queue()
    kernel.connect(answers.put, lambda code: answers.put(("exited", 0)))
    kernel.send("run", 1, (getattr(function, "__name__", "job"), function, args, kwargs))
    outcome = None
    while True:
        kind, _, *payload = answers.get()
        if kind == "succeeded":
            outcome = ("value", payload[0])
        elif kind == "failed":
            outcome = ("error", payload[0])
        elif kind == "cancelled":
            outcome = ("error", JobCancelled())
        elif kind == "exited":
            kernel.wait()
            raise KernelDied(kernel.reason)
        elif kind == "finished":
            break
    kind, value = outcome
    if kind == "error":
        raise value
    return value


def running_kernels() -> list[KernelProcess]:
    """The kernels of this process that have not ended yet (the pool's spare among them)."""
    with _running_lock:
        return list(_running)


def end_kernels(*, keep: list[KernelProcess] = ()) -> None:
    """Ends every kernel of this process (but those in ``keep``) and waits until each has ended."""
    kernels = [kernel for kernel in running_kernels() if kernel not in keep]
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
    """Keeps one started kernel in reserve for each location in use, so that opening a model
    does not wait for TensorFlow (nor, on a cluster, for Ray to start an actor)."""

    _shared: KernelPool | None = None

    def __init__(self):
        self._spares: dict[KernelLocation, KernelProcess] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    @classmethod
    def shared(cls) -> KernelPool:
        """The pool of this process."""
        if cls._shared is None:
            cls._shared = KernelPool()
        return cls._shared

    def take(self, location: KernelLocation = LOCAL) -> KernelProcess:
        """A kernel for a new model: the spare when it is alive, else a new one."""
        with self._lock:
            spare = self._spares.pop(location, None)
        if spare is not None and spare.alive:
            return spare
        return KernelProcess(location)

    def replenish(self, location: KernelLocation = LOCAL) -> None:
        """Starts a spare kernel if there is none (call it when the machine is not busy)."""
        with self._lock:
            spare = self._spares.get(location)
            if spare is None or not spare.alive:
                spare = self._spares[location] = KernelProcess(location)
                spare.connect(lambda message: None, lambda code: None)

    def spare(self, location: KernelLocation = LOCAL) -> KernelProcess | None:
        """The kernel kept in reserve for a location, if any."""
        return self._spares.get(location)

    def spares(self) -> list[KernelProcess]:
        """Every kernel kept in reserve."""
        with self._lock:
            return list(self._spares.values())

    def close(self) -> None:
        """Ends the spare kernels."""
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
        for spare in spares:
            spare.stop()
