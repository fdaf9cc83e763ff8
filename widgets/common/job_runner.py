"""Runs core job generators in the background, one at a time per model.

TensorFlow does not promise that one model can be used from two threads at once, so every model
tab owns one :class:`JobRunner`: one worker thread that runs its jobs in order.
A job is a generator from :mod:`inspector.jobs`; each ``yield`` becomes a ``progress`` signal, the
``return`` value a ``succeeded`` signal, an exception a ``failed`` signal. Signals arrive on the GUI
thread. Cancelling takes effect at the job's next ``yield``, or at once inside the stretches a job
marks with :func:`inspector.cancel.interruptible` (loading a model). A job that is detached
(its runner's owner went away) delivers nothing more, not even what it reported just before.

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

import functools
import threading
import traceback
from collections import deque
from typing import Any, Callable, Generator

from PySide6.QtCore import SIGNAL, QObject, Signal
from shiboken6 import isValid

from inspector.cancel import interrupt_thread
from inspector.errors import JobCancelled


_PUBLIC_SIGNALS = {
    "progress": "progress(PyObject)",
    "succeeded": "succeeded(PyObject)",
    "failed": "failed(PyObject)",
    "cancelled": "cancelled()",
    "finished": "finished()",
}


class Job(QObject):
    """One submitted job; connect to its signals before the event loop runs again.

    The worker thread never emits these signals itself: it posts each report to the job, which
    emits it on the GUI thread unless the job was :meth:`detach`-ed meanwhile. So once a job is
    detached, nothing it reported, or reports later, reaches anybody.

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
    _posted = Signal(str, tuple)  # emitted on the worker thread, delivered on the job's thread

    def __init__(self, name: str, factory: Callable[[], Generator]):
        super().__init__()
        self.name = name
        self._factory = factory
        self._cancel_requested = False
        self._detached = False
        self._thread_id: int | None = None
        self._thread_lock = threading.Lock()
        self._on_done: Callable[[Job], None] | None = None
        self.details = ""
        self.done = False
        self._posted.connect(self._deliver)

    def cancel(self) -> None:
        """Asks the job to stop at its next ``yield``, or at once inside a library call that the
        job marked interruptible (:func:`inspector.cancel.interruptible`); a job not yet started
        never starts."""
        self._cancel_requested = True
        with self._thread_lock:
            if self._thread_id is not None:
                interrupt_thread(self._thread_id)

    def detach(self) -> None:
        """Disconnects the job from everybody (call it on the GUI thread): reports not yet
        delivered are dropped, and so is everything the job reports from now on."""
        self._detached = True
        for name, signature in _PUBLIC_SIGNALS.items():
            if self.receivers(SIGNAL(signature)):  # disconnecting none would warn
                getattr(self, name).disconnect()

    def report(self, record: Any) -> None:
        """Reports progress from inside the running job, on any thread."""
        self._posted.emit("progress", (record,))

    def _deliver(self, kind: str, args: tuple) -> None:
        if not self._detached:
            getattr(self, kind).emit(*args)
        if kind == "finished":
            if self._on_done is not None:
                self._on_done(self)
            # A finished job says nothing more. Its connections go: a slot that holds its view
            # (a lambda on ``self``) would otherwise keep the view alive through a job that its
            # runner remembers (the latest job of a kind), out of the garbage collector's sight.
            self.detach()

    def run(self) -> None:
        """Runs the job on the calling (worker) thread and posts the outcome."""
        with self._thread_lock:
            self._thread_id = threading.get_ident()
        try:
            self._post(self._outcome())
        finally:
            with self._thread_lock:
                self._thread_id = None
            self.done = True
            self._post(("finished", ()))

    def _outcome(self) -> tuple[str, tuple]:
        """Runs the generator, posting its progress; returns the final report."""
        try:
            if self._cancel_requested:
                return "cancelled", ()
            generator = self._factory()
            while True:
                try:
                    record = next(generator)
                except StopIteration as stop:
                    return ("cancelled", ()) if self._cancel_requested else ("succeeded", (stop.value,))
                if self._cancel_requested:
                    generator.close()
                    return "cancelled", ()
                self.report(record)
        except JobCancelled:
            return "cancelled", ()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user
            self.details = "".join(traceback.format_exception(exc))
            return "failed", (exc,)

    def _post(self, report: tuple[str, tuple]) -> None:
        try:
            self._posted.emit(*report)
        except RuntimeError:
            if isValid(self):
                raise
            # The job's Qt half is gone (the application is quitting): nobody is left to tell.


class _Worker:
    """The runner's thread and queue, in a plain object that outlives the runner's Qt half.

    Attributes:
        jobs: The queued and running jobs, as last reported on the GUI thread.
    """

    def __init__(self):
        self.jobs: list[Job] = []
        self._queue: deque[Job] = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.running = False
        self._stopping = False

    def put(self, handle: Job) -> None:
        """Queues a job, starting the thread if needed."""
        with self._wake:
            self._queue.append(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="model-worker", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _work(self) -> None:
        """The worker thread: runs queued jobs until :meth:`stop_when_idle` and the queue is empty."""
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if not self._queue:
                    self._thread = None
                    return
                handle = self._queue.popleft()
                self.running = True
            try:
                handle.run()
            finally:
                self.running = False

    def stop_when_idle(self) -> None:
        """Lets the thread end once the queued jobs are done (without waiting for it)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def join(self, timeout: float | None) -> bool:
        """Waits for the thread; True when it is not running."""
        with self._wake:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()


def _abandon(worker: _Worker, *_: Any) -> None:
    """The runner's owner went away: its jobs stop and report to nobody, and the thread ends."""
    for handle in worker.jobs:
        handle.cancel()
        handle._on_done = None
        if isValid(handle):  # at interpreter exit Qt objects go in any order
            handle.detach()
    worker.stop_when_idle()


class LatestJobs:
    """``submit_latest`` for a runner: one current job per key (Orange3's rule for a view's task).

    A new request with the same key cancels and detaches the previous one, so a stale result
    (the variable clicked before this one, say) never reaches the view.
    """

    def submit_latest(self, key: str, name: str, job: Callable[..., Generator], *args: Any, **kwargs: Any) -> Job:
        """Submits a job in place of the previous one with ``key``.

        Args:
            key: What the job is for (``"variable values"``).
            name: What the job does, for status lines.
            job: A generator function.
            *args: Passed to ``job``.
            **kwargs: Passed to ``job``.

        Returns:
            The job handle.
        """
        latest: dict[str, Job] = self.__dict__.setdefault("_latest_jobs", {})
        previous = latest.get(key)
        if previous is not None and isValid(previous):
            previous.cancel()
            previous.detach()
        latest[key] = handle = self.submit(name, job, *args, **kwargs)
        return handle


class JobRunner(LatestJobs, QObject):
    """Runs jobs one after another on one background thread.

    When the runner is deleted with its owner, its jobs are cancelled and detached: no stale
    progress or result reaches views that are gone (Orange3's rule for a view's tasks).

    Args:
        parent: The owning QObject.

    Signals:
        busy_changed(bool): Whether jobs are queued or running.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = _Worker()
        self.destroyed.connect(functools.partial(_abandon, self._worker))

    def submit(self, name: str, job: Callable[..., Generator], *args: Any, **kwargs: Any) -> Job:
        """Queues a job.

        Args:
            name: What the job does, for status lines.
            job: A generator function from :mod:`inspector.jobs` (or any generator function).
            *args: Passed to ``job``.
            **kwargs: Passed to ``job``.

        Returns:
            The job handle. The job may start at once, but what it reports reaches the job's
            signals only when control returns to the event loop, so signals connected before
            then are never missed, however fast the job is.
        """
        handle = Job(name, lambda: job(*args, **kwargs))
        handle._on_done = self._forget
        self._worker.jobs.append(handle)
        if len(self._worker.jobs) == 1:
            self.busy_changed.emit(True)
        self._worker.put(handle)
        return handle

    def stop_when_idle(self) -> None:
        """Lets the thread end once the queued jobs are done (without waiting for it)."""
        self._worker.stop_when_idle()

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running (as last reported on the GUI thread)."""
        return bool(self._worker.jobs)

    def job_names(self) -> list[str]:
        """Names of the queued and running jobs."""
        return [job.name for job in self._worker.jobs]

    @property
    def thread_active(self) -> bool:
        """Whether the background thread is running a job right now."""
        return self._worker.running

    def cancel_all(self) -> None:
        """Asks every queued and running job to stop."""
        for handle in self._worker.jobs:
            handle.cancel()

    def shutdown(self, msecs: int = -1) -> bool:
        """Cancels all jobs and waits for the thread to finish them.

        Args:
            msecs: How long to wait; -1 waits until the running job stops.

        Returns:
            True when no job is left running.
        """
        self.cancel_all()
        self.stop_when_idle()
        return self._worker.join(None if msecs < 0 else msecs / 1000)

    def _forget(self, handle: Job) -> None:
        if handle in self._worker.jobs:
            self._worker.jobs.remove(handle)
            if not self._worker.jobs:
                self.busy_changed.emit(False)
