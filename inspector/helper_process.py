"""The application's helper process: pure-Python work that must not run in the window's process.

Reading a model file's configuration and laying out its graph (the preview drawn while Keras
loads the model) is pure Python: a thread of the window's process doing it holds the GIL for
hundreds of milliseconds, and the window's thread waits for it between every two Qt calls (an
EfficientNetB7 open stalled the window for 60–160 ms; without the preview, under 30 ms). So it
runs here, in one child process per application started with the "spawn" method (a fresh
interpreter that imports neither Qt nor TensorFlow), through the standard library's
``ProcessPoolExecutor``, which ends it when the application quits; if the application is
killed instead, the helper notices its parent is gone and ends itself.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Generator

from inspector.jobs import Progress, run_job
from inspector.memory import freeze_long_lived

POLL_SECONDS = 0.1
"""How often a waiting job looks whether it was cancelled."""

_executor: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _helper() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_end_with_parent
            )
        return _executor


def _end_with_parent() -> None:
    """In the helper: ends the process as soon as the application's process has ended, however
    it ended (a killed application does not tell its pool's process to stop)."""
    parent = multiprocessing.parent_process()

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    if parent is not None:
        threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def start_helper(*modules: str) -> None:
    """Starts the helper process now, so that the first job does not wait for it to start.

    Args:
        *modules: Modules the helper imports now, before the first job that needs them.
    """
    _helper().submit(_import, modules)


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def _run_to_end(job: Callable[..., Generator], args: tuple) -> Any:
    return run_job(job(*args))


def in_helper_process(job: Callable[..., Generator], *args: Any) -> Generator[Progress, None, Any]:
    """Runs a job to its end in the helper process, as a job: the calling thread only waits.

    The job's own progress stays in the helper. Cancelling stops the wait at once; work the
    helper has started runs to its end there and its result is dropped.

    Args:
        job: A job generator function of :mod:`inspector` (pickled by reference).
        *args: Its arguments (pickled).

    Returns:
        The job's result.
    """
    global _executor
    yield Progress(f"{job.__name__}…")
    executor = _helper()
    future = executor.submit(_run_to_end, job, args)
    try:
        while True:
            try:
                result = future.result(timeout=POLL_SECONDS)
                freeze_long_lived()  # a preview lives as long as its tab: not scanned by collections
                return result
            except concurrent.futures.TimeoutError:
                yield Progress(f"{job.__name__}…")
            except BrokenProcessPool:  # the helper died: the next job starts a new one
                with _lock:
                    if _executor is executor:
                        _executor = None
                raise
    finally:
        future.cancel()
