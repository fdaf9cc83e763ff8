"""A kernel as a Ray actor: the same :class:`~inspector.kernel.process.Kernel` (one session,
jobs in order on one worker thread) behind actor methods instead of a socket.

Ray Client refuses streaming actor methods (``num_returns="streaming"``; see
``ray/util/client/worker.py``), so the relay on the window's computer
(:mod:`inspector.kernel.ray_bridge`) long-polls :meth:`KernelActor.poll` for the kernel's answers
instead. Messages are pickled here with their large buffers beside them as ``bytes``
(:func:`~inspector.kernel.transport.encode` with ``in_memory``), so they travel through Ray's
object store and the relay never unpickles them. This module does not import Ray: the relay
makes the class an actor.
"""

from __future__ import annotations

import os
import queue
import sys

from inspector.kernel.place import ACTOR_VARIABLE
from inspector.kernel.process import Kernel
from inspector.priority import NICENESS
from inspector.kernel.transport import decode, encode

OUTBOX_SIZE = 256
"""Answers that wait for the relay at most; also the most one poll returns."""


class KernelActor:
    """One model's kernel on a Ray node.

    Args:
        sys_path: The window's ``sys.path``; entries that exist on this node are added after the
            node's own, so job functions defined beside the window's import here when they can.
        name: The actor's name, which :func:`~inspector.kernel.place.kernel_place` reports.
    """

    def __init__(self, sys_path: list[str], name: str):
        os.environ[ACTOR_VARIABLE] = name
        # As a local kernel: a window or other work on the same machine gets a core at once.
        os.nice(NICENESS)
        for entry in sys_path:
            if entry not in sys.path and os.path.isdir(entry):
                sys.path.append(entry)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from inspector.model import hdf5_child

        hdf5_child.warm_up()
        import inspector.tfimport  # noqa: F401 - the actor is ready when Keras is imported

        # Bounded, as a socket is: a job that reports faster than the window reads waits.
        self._outbox: queue.Queue[tuple] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._kernel = Kernel(self._post)

    def _post(self, message: tuple) -> None:
        kind, job_id, *payload = message
        data, buffers = encode(tuple(payload), in_memory=True)
        self._outbox.put((kind, job_id, data, buffers))

    def run(self, job_id: int, data: bytes, buffers: list[bytes]) -> None:
        """Queues a job: ``data`` and ``buffers`` hold ``(name, function, args, kwargs)``."""
        # Writable copies: a job may change the arrays it is given in place, as it can locally.
        self._kernel.submit(job_id, *decode(data, buffers=[bytearray(buffer) for buffer in buffers]))

    def cancel(self, job_id: int) -> None:
        """Asks a queued or running job to stop."""
        self._kernel.cancel(job_id)

    def poll(self, timeout: float) -> list[tuple]:
        """The kernel's answers since the last poll, ``(kind, id, data, buffers)`` each; waits up
        to ``timeout`` seconds for the first."""
        try:
            messages = [self._outbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(messages) < OUTBOX_SIZE:
            try:
                messages.append(self._outbox.get_nowait())
            except queue.Empty:
                break
        return messages
