"""The job protocol: background work written as generators, so tests can run it without Qt.

A job is a generator function: each ``yield`` is a :class:`Progress` record and its ``return``
value is the result (superqt's ``GeneratorWorker`` convention). The window runs model jobs in
the model's kernel process (:mod:`inspector.kernel`) and other jobs on a worker thread; a test
or a notebook runs any of them with :func:`run_job`.

A job that works on the open model takes the placeholders below as arguments; the kernel puts
its live objects in their place, so the window names the model without holding it:

- :data:`MODEL`: the live Keras model; :data:`EDITOR`: its trainable editor;
  :data:`SESSION`: the kernel's :class:`~inspector.kernel.session.Session`;
  :data:`KEPT`: a dict that lives as long as the model, where a job leaves what a later job
  uses (cached extractors, inputs read and waiting to be extracted).
- :data:`CONTEXT`: the running job's :class:`JobContext`, for a job that reports from inside a
  library call (``fit``'s callbacks) and decides itself how to stop when cancelled; such a job's
  return value is delivered even after a cancel (training returns what it trained).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Generator


@dataclass(frozen=True)
class Progress:
    """One progress report from a job.

    Attributes:
        message: What the job is doing, for a status line.
        fraction: Done fraction in [0, 1], or ``None`` when unknown (busy).
        payload: A partial result the view may show at once.
    """

    message: str
    fraction: float | None = None
    payload: Any = None


class _Live:
    """A placeholder for an object that lives where the job runs."""

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self):
        return self._name  # pickled by reference: the same object in every process


MODEL = _Live("MODEL")
EDITOR = _Live("EDITOR")
SESSION = _Live("SESSION")
KEPT = _Live("KEPT")
CONTEXT = _Live("CONTEXT")


class JobContext:
    """What a running job may ask of whoever runs it: report progress, and whether to stop.

    Args:
        report: Receives :class:`Progress` records, from any thread.
    """

    def __init__(self, report: Callable[[Progress], None] | None = None):
        self.report = report or (lambda record: None)
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Asks the job to stop (it checks :attr:`cancelled` where it can)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether the job was asked to stop."""
        return self._cancelled.is_set()


def call_job(function: Callable[..., Any], *args: Any, message: str = "", **kwargs: Any) -> Generator[Progress, None, Any]:
    """Runs a plain function as a job (superqt's ``as_generator_function``).

    Args:
        function: Any callable; its return value is the job's result.
        *args: Passed to ``function``.
        message: The status line while it runs (default: the function's name).
        **kwargs: Passed to ``function``.
    """
    yield Progress(message or f"{getattr(function, '__name__', 'Working')}…")
    return function(*args, **kwargs)


def run_job(job: Generator[Progress, None, Any], progress: Callable[[Progress], None] | None = None) -> Any:
    """Runs a job generator to the end on the calling thread.

    Args:
        job: A job generator.
        progress: Optional callable that receives each :class:`Progress`.

    Returns:
        The job's result.
    """
    while True:
        try:
            record = next(job)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(record)
