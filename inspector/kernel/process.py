"""The kernel process: holds one live model and runs every job on it, one at a time.

The window starts it as ``python -m inspector.kernel`` (see :mod:`inspector.kernel.client`),
which connects back to the window, imports Keras (so that a spare kernel is warm before any
model is opened) and then serves messages ``(kind, id, payload)`` (each payload pickled by
:mod:`.transport`):

- ``("run", id, (name, function, args, kwargs))``: queue a job. ``function`` is a job generator
  from :mod:`inspector` (pickled by reference); the placeholders of :mod:`inspector.jobs`
  (``MODEL``, ``EDITOR``, ``SESSION``, ``CONTEXT``) in its arguments are replaced by the
  kernel's live objects.
- ``("cancel", id, ())``: the job stops at its next ``yield`` (or at once inside
  :func:`inspector.cancel.interruptible`); a job that takes the ``CONTEXT`` sees
  ``context.cancelled`` and decides itself (training stops after its batch and returns).
- ``("quit", 0, ())``: leave.

It answers ``("progress", id, record)``, then one of ``("succeeded", id, value)``,
``("failed", id, error, details)``, ``("cancelled", id)``, and last ``("finished", id)``.
The kernel ends when the window goes away (its connection closes).
"""

from __future__ import annotations

import os
import pickle
import queue
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any, Callable

from inspector.cancel import interrupt_thread
from inspector.errors import JobCancelled, remote_error
from inspector.jobs import CONTEXT, EDITOR, KEPT, MODEL, SESSION, JobContext
from inspector.kernel.session import Session
from inspector.kernel.transport import decode, encode
from inspector.priority import NICENESS


class _Run:
    """A queued or running job."""

    def __init__(self, job_id: int, name: str, function, args: tuple, kwargs: dict):
        self.id, self.name, self.function, self.args, self.kwargs = job_id, name, function, args, kwargs
        self.context = JobContext()
        self.thread_id: int | None = None


class Kernel:
    """Runs the jobs of one session, in order, on one worker thread, wherever the messages come
    from: a socket to the window (:func:`serve`) or a Ray actor's calls
    (:mod:`inspector.kernel.ray_actor`).

    Args:
        send: Receives every answer, ``("progress", id, record)`` and the others above, from the
            worker thread; it raises when the answer cannot travel.
    """

    def __init__(self, send: Callable[[tuple], None]):
        self._send = send
        self._queue: queue.Queue[_Run] = queue.Queue()
        self._runs: dict[int, _Run] = {}
        self._runs_lock = threading.Lock()
        self.session = Session()
        threading.Thread(target=self._work, name="kernel-worker", daemon=True).start()

    def submit(self, job_id: int, name: str, function, args: tuple, kwargs: dict) -> None:
        """Queues a job (see the module's ``run`` message)."""
        run = _Run(job_id, name, function, args, kwargs)
        with self._runs_lock:
            self._runs[run.id] = run
        self._queue.put(run)

    def cancel(self, job_id: int) -> None:
        """Asks a queued or running job to stop."""
        with self._runs_lock:
            run = self._runs.get(job_id)
        if run is None:
            return
        run.context.cancel()
        if run.thread_id is not None:
            interrupt_thread(run.thread_id)

    def _work(self) -> None:
        while True:
            run = self._queue.get()
            try:
                self._run(run)
            finally:
                with self._runs_lock:
                    self._runs.pop(run.id, None)
                self._send(("finished", run.id))

    def _run(self, run: _Run) -> None:
        if run.context.cancelled:
            self._send(("cancelled", run.id))
            return
        run.context.report = lambda record: self._send(("progress", run.id, record))
        run.thread_id = threading.get_ident()
        try:
            outcome = self._outcome(run)
        finally:
            run.thread_id = None
        try:
            self._send(outcome)
        except Exception as exc:  # noqa: BLE001 - a result that cannot travel is the job's failure
            error = RuntimeError(f"{run.name} returned a result that cannot be sent to the window: {exc}")
            self._send(("failed", run.id, error, traceback.format_exc()))

    def _outcome(self, run: _Run) -> tuple:
        context = run.context
        takes_context = any(arg is CONTEXT for arg in (*run.args, *run.kwargs.values()))
        try:
            args = [self._resolve(arg, context) for arg in run.args]
            kwargs = {key: self._resolve(value, context) for key, value in run.kwargs.items()}
            generator = run.function(*args, **kwargs)
            while True:
                try:
                    record = next(generator)
                except StopIteration as stop:
                    if context.cancelled and not takes_context:
                        return ("cancelled", run.id)
                    return ("succeeded", run.id, stop.value)
                if context.cancelled and not takes_context:
                    generator.close()
                    return ("cancelled", run.id)
                context.report(record)
        except JobCancelled:
            return ("cancelled", run.id)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user
            return ("failed", run.id, portable_error(exc), "".join(traceback.format_exception(exc)))

    def _resolve(self, value: Any, context: JobContext) -> Any:
        if value is MODEL:
            return self.session.model
        if value is EDITOR:
            return self.session.editor
        if value is SESSION:
            return self.session
        if value is KEPT:
            return self.session.kept
        if value is CONTEXT:
            return context
        return value


def serve(connection: Connection) -> None:
    """Serves the window's connection until it says ``quit`` or goes away, then ends the process."""
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        kind, job_id, *payload = message
        data, files = encode(tuple(payload))
        with send_lock:
            try:
                connection.send((kind, job_id, data, files))
            except (OSError, EOFError):
                os._exit(0)  # the window went away

    kernel = Kernel(send)
    try:
        while True:
            try:
                kind, job_id, data, files = connection.recv()
            except (EOFError, OSError):
                break
            if kind == "run":
                kernel.submit(job_id, *decode(data, files))
            elif kind == "cancel":
                kernel.cancel(job_id)
            elif kind == "quit":
                break
    finally:
        os._exit(0)  # no clean-up of TensorFlow's threads: the process is thrown away


def portable_error(exc: BaseException) -> BaseException:
    """The error as the window can receive it: the core's own errors and Python's built-in ones
    as they are; any other (Keras', TensorFlow's) as a :class:`~inspector.errors.RemoteError`
    of the same name and message."""
    module = type(exc).__module__
    if module == "builtins" or module.startswith("inspector."):
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:  # noqa: BLE001 - an error that does not survive pickling is rewritten
            pass
    return remote_error(type(exc).__name__, str(exc))


def main(fd: int) -> None:
    """Entry point (``python -m inspector.kernel FD``): serves the socket ``FD`` that the window
    passed; reads the window's ``sys.path`` from stdin, so job functions import the same way."""
    path = pickle.load(sys.stdin.buffer)
    sys.stdin.close()
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    connection = Connection(fd)
    # The window's short bursts of work (painting, a curve's axis text) get a core at once when
    # TensorFlow keeps both busy; the kernel loses almost nothing, since the window is mostly idle.
    os.nice(NICENESS)
    from inspector.model import hdf5_child

    hdf5_child.warm_up()  # the file checks' HDF5 reader starts while TensorFlow imports
    import inspector.tfimport  # noqa: F401 - warm: a spare kernel pays the import before it is needed

    connection.send(("ready", None, b"", []))
    serve(connection)
