"""Runs core job generators in the background, one at a time per model.

TensorFlow does not promise that one model can be used from two threads at once, so every model
tab owns one :class:`JobRunner`: one worker thread that runs its jobs in order.
A job is a generator from :mod:`inspector.jobs`; each ``yield`` becomes a ``progress`` signal, the
``return`` value a ``succeeded`` signal, an exception a ``failed`` signal. Signals arrive on the GUI
thread. Cancelling takes effect at the job's next ``yield``.

superqt's ``GeneratorWorker`` was considered: it treats any ``RuntimeError`` raised by the job as
"the worker was deleted" and drops it with a warning, and Keras raises ``RuntimeError`` for real
problems that the user must see, so this small runner is used instead.

The worker is a Python thread, not a ``QThreadPool`` thread: TensorFlow crashed (segmentation
fault in ``graph_def_versions``) while tracing a ``tf.function`` through a nested model on a
thread that Qt created and Python only adopted, and ran the same work fine on Python threads.
The thread lives as long as the runner: ending a thread frees TensorFlow's per-thread state,
which stalled the window for tens of milliseconds each time a thread ended after a job.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QTimer, Signal


class Job(QObject):
    """One submitted job; connect to its signals before the event loop runs again.

    Signals:
        progress(object): An :class:`inspector.jobs.Progress` record.
        succeeded(object): The job's return value.
        failed(object): The exception; its formatted traceback is in :attr:`details`.
        cancelled(): The job stopped because :meth:`cancel` was called.
        finished(): Emitted last, whatever the outcome.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, name: str, factory: Callable[[], Generator]):
        super().__init__()
        self.name = name
        self._factory = factory
        self._cancel_requested = False
        self.details = ""
        self.done = False

    def cancel(self) -> None:
        """Asks the job to stop at its next ``yield``; a job not yet started never starts."""
        self._cancel_requested = True

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel_requested

    def run(self) -> None:
        """Runs the job on the calling (worker) thread and emits the outcome."""
        try:
            if self._cancel_requested:
                self.cancelled.emit()
                return
            generator = self._factory()
            while True:
                try:
                    record = next(generator)
                except StopIteration as stop:
                    if self._cancel_requested:
                        self.cancelled.emit()
                    else:
                        self.succeeded.emit(stop.value)
                    return
                if self._cancel_requested:
                    generator.close()
                    self.cancelled.emit()
                    return
                self.progress.emit(record)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user
            self.details = "".join(traceback.format_exception(exc))
            self.failed.emit(exc)
        finally:
            self.done = True
            self.finished.emit()


class JobRunner(QObject):
    """Runs jobs one after another on one background thread.

    Args:
        parent: The owning QObject.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._queue: deque[Job] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping = False

    def submit(self, name: str, job: Callable[..., Generator], *args: Any, **kwargs: Any) -> Job:
        """Queues a job.

        Args:
            name: What the job does, for status lines.
            job: A generator function from :mod:`inspector.jobs` (or any generator function).
            *args: Passed to ``job``.
            **kwargs: Passed to ``job``.

        Returns:
            The job handle. The job starts when control returns to the event loop, so signals
            connected before then are never missed, however fast the job is.
        """
        handle = Job(name, lambda: job(*args, **kwargs))
        handle.finished.connect(lambda: self._forget(handle))
        self._jobs.append(handle)
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        QTimer.singleShot(0, self, lambda: self._enqueue(handle))
        return handle

    def _enqueue(self, handle: Job) -> None:
        with self._wake:
            self._queue.append(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="model-worker", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _work(self) -> None:
        """The worker thread: runs queued jobs until :meth:`stop_when_idle` or
        :meth:`shutdown`, and the queue is empty."""
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if not self._queue:
                    self._thread = None
                    return
                handle = self._queue.popleft()
                self._running = True
            try:
                handle.run()
            finally:
                self._running = False

    def stop_when_idle(self) -> None:
        """Lets the thread end once the queued jobs are done (without waiting for it)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running (as last reported on the GUI thread)."""
        return bool(self._jobs)

    def job_names(self) -> list[str]:
        """Names of the queued and running jobs."""
        return [job.name for job in self._jobs]

    @property
    def thread_active(self) -> bool:
        """Whether the background thread is running a job right now."""
        return self._running

    def cancel_all(self) -> None:
        """Asks every queued and running job to stop."""
        for handle in self._jobs:
            handle.cancel()

    def shutdown(self, msecs: int = -1) -> bool:
        """Cancels all jobs and waits for the thread to finish them.

        Args:
            msecs: How long to wait; -1 waits until the running job reaches a ``yield`` or ends.

        Returns:
            True when no job is left running.
        """
        self.cancel_all()
        self.stop_when_idle()
        with self._wake:
            thread = self._thread
        if thread is not None:
            thread.join(None if msecs < 0 else msecs / 1000)
            return not thread.is_alive()
        return True

    def _forget(self, handle: Job) -> None:
        if handle in self._jobs:
            self._jobs.remove(handle)
            if not self._jobs:
                self.busy_changed.emit(False)
