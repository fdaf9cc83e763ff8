"""Runs a model's jobs in its kernel process, with the same job handles as :class:`JobRunner`.

The tab submits ``runner.submit(name, job, *args)`` as before; ``job`` is a generator function
from :mod:`inspector` and the placeholders of :mod:`inspector.jobs` (``MODEL``, ``SESSION``,
``CONTEXT``…) stand for what lives in the kernel. The kernel runs jobs in order on its one
worker thread; progress, results and failures come back as the :class:`Job` signals on the GUI
thread. Cancel is sent to the kernel; a job that has not stopped a few seconds after Cancel
makes the runner emit ``unresponsive``, so the tab can offer to stop the kernel.

When the kernel ends without being asked to (a crash, ``kill -9``, out of memory), every job
still queued or running fails with :class:`~inspector.errors.KernelDied` and ``died`` says why;
:meth:`restart` then gives the runner a new kernel.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, QTimer, Signal
from shiboken6 import isValid

from inspector.errors import KernelDied
from inspector.kernel.client import KernelPool, KernelProcess
from inspector.kernel.location import LOCAL, KernelLocation
from widgets.common.job_runner import Job, LatestJobs

CANCEL_GRACE_MS = 4000
"""How long a cancelled job may run on before the runner reports it as unresponsive."""

_ids = itertools.count(1)


class KernelJob(Job):
    """A job running in a kernel; :meth:`cancel` asks the kernel to stop it."""

    def __init__(self, name: str, runner: KernelRunner):
        super().__init__(name, None)
        self.id = next(_ids)
        self._runner = runner

    def cancel(self) -> None:
        """Asks the kernel to stop the job at its next ``yield`` (see :mod:`inspector.kernel.process`)."""
        if self._cancel_requested or self.done:
            return
        self._cancel_requested = True
        self._runner._cancel(self)


class KernelRunner(LatestJobs, QObject):
    """The job runner of one model: its jobs run in its own kernel process.

    Args:
        pool: Where the kernel comes from (the application's pool keeps a warm spare).
        location: Where the kernel runs (this computer, or a Ray cluster); a restart starts the
            new kernel there too.
        parent: The owning QObject; when it is deleted, the kernel ends.

    Signals:
        busy_changed(bool): Whether jobs are queued or running.
        died(str): The kernel ended on its own; the text says why (``"it was killed…"``).
        unresponsive(object): A cancelled job has not stopped after :data:`CANCEL_GRACE_MS`.
    """

    busy_changed = Signal(bool)
    died = Signal(str)
    unresponsive = Signal(object)
    _exited = Signal(object, int)  # posted from the kernel's reader thread

    def __init__(self, pool: KernelPool | None = None, location: KernelLocation = LOCAL, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = pool or KernelPool.shared()
        self.location = location
        self._jobs: dict[int, KernelJob] = {}
        self._order: list[KernelJob] = []
        self._exited.connect(self._on_exited)
        self._kernel: KernelProcess | None = None
        self._attach(self._pool.take(self.location))
        self.destroyed.connect(functools.partial(_end, self._kernel_box))

    # The kernel --------------------------------------------------------------------------------

    def _attach(self, kernel: KernelProcess) -> None:
        self._kernel = kernel
        self._kernel_box = getattr(self, "_kernel_box", [None])
        self._kernel_box[0] = kernel
        kernel.connect(functools.partial(_route, self._jobs), functools.partial(self._post_exit, kernel))

    def _post_exit(self, kernel: KernelProcess, code: int) -> None:
        if isValid(self):
            self._exited.emit(kernel, code)

    @property
    def pid(self) -> int | None:
        """The kernel's process id."""
        return self._kernel.pid if self._kernel is not None else None

    @property
    def alive(self) -> bool:
        """Whether the kernel is running."""
        return self._kernel is not None and self._kernel.alive

    def restart(self) -> None:
        """Gives the runner a new kernel (ending the old one); its jobs fail as cancelled."""
        old = self._kernel
        self._fail_all(None)
        self._attach(self._pool.take(self.location))
        if old is not None:
            old.discard()

    def replenish_pool(self) -> None:
        """Starts the pool's spare kernel if it has none (call when this one is not loading)."""
        self._pool.replenish(self.location)

    def stop_kernel(self) -> None:
        """Ends the kernel now (the tab offers a restart when it reports ``died``)."""
        if self._kernel is not None:
            self._kernel.stop()

    def _on_exited(self, kernel: KernelProcess, code: int) -> None:
        if kernel is not self._kernel:
            return
        self._kernel = None
        reason = kernel.reason
        self._fail_all(KernelDied(reason))
        self.died.emit(reason)

    def _fail_all(self, error: Exception | None) -> None:
        for job in list(self._order):
            if job.id in self._jobs or not job.done:
                _end_later(job, error)
            self._jobs.pop(job.id, None)

    # Jobs ------------------------------------------------------------------------------------

    def submit(self, name: str, job: Callable[..., Generator], *args: Any, **kwargs: Any) -> Job:
        """Queues a job in the kernel.

        Args:
            name: What the job does, for status lines.
            job: A generator function importable in the kernel (from :mod:`inspector`).
            *args: Passed to ``job``; placeholders stand for the kernel's live objects.
            **kwargs: Passed to ``job``.

        Returns:
            The job handle; its signals arrive on the GUI thread after control returns to the
            event loop.
        """
        handle = KernelJob(name, self)
        handle._on_done = self._forget
        self._order.append(handle)
        if len(self._order) == 1:
            self.busy_changed.emit(True)
        if self._kernel is None:
            _end_later(handle, KernelDied("it is not running"))
            return handle
        self._jobs[handle.id] = handle
        try:
            self._kernel.send("run", handle.id, (name, job, args, kwargs))
        except ConnectionError:
            pass  # the exit report fails the job
        return handle

    def _cancel(self, job: KernelJob) -> None:
        if self._kernel is not None and job.id in self._jobs:
            try:
                self._kernel.send("cancel", job.id)
            except ConnectionError:
                return
            QTimer.singleShot(CANCEL_GRACE_MS, self, lambda: self._check_stopped(job))

    def _check_stopped(self, job: KernelJob) -> None:
        if not job.done and job.id in self._jobs and isValid(job):
            self.unresponsive.emit(job)

    @property
    def sending(self) -> bool:
        """Whether submitted jobs are still being sent to the kernel (their inputs still read)."""
        return self._kernel is not None and self._kernel.sending

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running (as last reported on the GUI thread)."""
        return bool(self._order)

    def job_names(self) -> list[str]:
        """Names of the queued and running jobs."""
        return [job.name for job in self._order]

    def cancel_all(self) -> None:
        """Asks every queued and running job to stop."""
        for job in list(self._order):
            job.cancel()

    def shutdown(self) -> None:
        """Ends the kernel and drops its jobs' reports (the tab is closing)."""
        for job in self._order:
            job._on_done = None
            if isValid(job):
                job.detach()
        had_jobs = bool(self._order)
        self._order.clear()
        self._jobs.clear()
        if had_jobs:
            self.busy_changed.emit(False)
        kernel, self._kernel = self._kernel, None
        if kernel is not None:
            kernel.discard()

    def _forget(self, handle: Job) -> None:
        self._jobs.pop(getattr(handle, "id", None), None)
        if handle in self._order:
            self._order.remove(handle)
            if not self._order:
                self.busy_changed.emit(False)


def _route(jobs: dict[int, KernelJob], message: tuple) -> None:
    """Hands a kernel message to its job (on the reader thread; the job re-posts to the GUI)."""
    kind, job_id, *payload = message
    job = jobs.get(job_id)
    if job is None:
        return
    if kind == "failed":
        error, details = payload
        job.details = details
        payload = [error]
    if kind == "finished":
        job.done = True
    job._posted.emit(kind, tuple(payload))


def _end_later(job: KernelJob, error: BaseException | None) -> None:
    """Ends a job that the kernel will not answer for: failed with ``error`` (cancelled when
    ``None``), delivered after control returns to the event loop."""
    job.done = True

    def deliver() -> None:
        job._posted.emit(*(("failed", (error,)) if error is not None else ("cancelled", ())))
        job._posted.emit("finished", ())

    QTimer.singleShot(0, job, deliver)


def _end(box: list, *_: Any) -> None:
    """The runner's owner went away: its kernel ends."""
    kernel = box[0]
    if kernel is not None:
        kernel.discard()
