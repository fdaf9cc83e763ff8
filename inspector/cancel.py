"""Stopping a job in the middle of one long library call, such as Keras rebuilding a big model.

A job stops at its next ``yield`` when cancelled, but one call like ``keras.saving.load_model``
can run for ten seconds and more without coming back. Inside :func:`interruptible` the job's
thread may instead be interrupted: :func:`interrupt_thread` raises
:class:`~inspector.errors.JobCancelled` in it at the next Python bytecode it runs (CPython's
``PyThreadState_SetAsyncExc``). That is only safe for work whose objects are all thrown away on
cancel (a model being loaded, its description), so a job marks those stretches itself.

``JobCancelled`` is a ``BaseException``: the ``except Exception`` handlers in Keras and in the
loader let it pass, the way they let ``KeyboardInterrupt`` pass.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from typing import Iterator

from inspector.errors import JobCancelled

_lock = threading.Lock()
_interruptible: set[int] = set()  # threads inside an interruptible() block, not yet interrupted


@contextmanager
def interruptible() -> Iterator[None]:
    """Lets :func:`interrupt_thread` stop the calling thread anywhere inside the block.

    The block must not ``yield`` to the job's caller: the interruption would then land outside
    the job.

    Raises:
        JobCancelled: The thread was interrupted.
    """
    thread_id = threading.get_ident()
    with _lock:
        _interruptible.add(thread_id)
    try:
        yield
    finally:
        with _lock:
            if thread_id in _interruptible:
                _interruptible.discard(thread_id)
            else:  # interrupted, but the exception may not have been raised yet: raise it here
                _set_async_exception(thread_id, None)
                raise JobCancelled()


def interrupt_thread(thread_id: int) -> bool:
    """Raises :class:`JobCancelled` in a thread if it is inside :func:`interruptible`.

    Args:
        thread_id: The thread's :func:`threading.get_ident`.

    Returns:
        Whether the thread was interrupted.
    """
    with _lock:
        if thread_id not in _interruptible:
            return False
        _interruptible.discard(thread_id)
        _set_async_exception(thread_id, JobCancelled)
        return True


def _set_async_exception(thread_id: int, exception: type[BaseException] | None) -> None:
    """Sets (or, with ``None``, clears) the exception a thread raises at its next bytecode."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )
