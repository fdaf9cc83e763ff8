"""Runs HDF5 reads in a child process with a time limit.

The HDF5 library can spin forever on a damaged file (one changed byte in an attribute's header
is enough), and h5py holds the GIL while it does: no thread, signal or Cancel gets through. So
every read of a file's HDF5 metadata before Keras touches it goes through :func:`call`, in a
child process that is killed when it takes too long; the file is then refused as damaged, and
Keras never reads it.

The child starts once per process (a new Python without TensorFlow: about 0.3 s, which
:func:`warm_up` can spend ahead of time) and serves every later read.
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

TIME_LIMIT_S = 20.0
"""How long one read may take before the file counts as one the HDF5 library cannot read."""
ROOT = Path(__file__).resolve().parents[2]


class ReadFailed(Exception):
    """The HDF5 library did not finish reading the file in :data:`TIME_LIMIT_S` seconds, or its
    process died reading it; the message says which."""


def _serve(connection: Connection) -> None:
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            answer = (True, function(*args))
        except BaseException as exc:  # noqa: BLE001 - sent back to be raised in the caller
            answer = (False, exc)
        try:
            connection.send(answer)
        except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
            connection.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Child:
    """The child process (``python -m inspector.model.hdf5_child FD``) and the caller's end of
    its socket. Started as a command, not with ``multiprocessing``, so that it never imports the
    caller's main module."""

    def __init__(self):
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inspector.model.hdf5_child", str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.PIPE,
            cwd=ROOT,
        )
        child.close()
        pickle.dump([entry for entry in sys.path if entry], self.process.stdin)
        self.process.stdin.close()
        self.connection = Connection(parent.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.connection.close()


_lock = threading.Lock()
_child: _Child | None = None


def warm_up() -> None:
    """Starts the child and has it import h5py and the file checks, in the background, so the
    first read does not wait for either."""
    threading.Thread(target=call, args=(_preload,), name="hdf5-reader-warm-up", daemon=True).start()


def _preload() -> None:
    import h5py  # noqa: F401

    import inspector.model.model_file  # noqa: F401


def call(function: Callable[..., Any], *args: Any, time_limit: float = TIME_LIMIT_S) -> Any:
    """``function(*args)`` in the child process (a module-level function; picklable arguments
    and result).

    Raises:
        ReadFailed: It did not return within ``time_limit`` seconds; the child was killed.
        Exception: Whatever ``function`` raised.
    """
    global _child
    with _lock:
        if _child is None or not _child.alive():
            _child = _Child()
        child = _child
        child.connection.send((function, args))
        if not child.connection.poll(time_limit):
            child.stop()
            _child = None
            raise ReadFailed(f"the HDF5 library did not finish reading it in {time_limit:g} s")
        try:
            ok, value = child.connection.recv()
        except EOFError:
            child.stop()
            _child = None
            raise ReadFailed("the process reading it with the HDF5 library crashed") from None
    if not ok:
        raise value
    return value


if __name__ == "__main__":
    sys.path[:0] = [entry for entry in pickle.load(sys.stdin.buffer) if entry not in sys.path]
    _serve(Connection(int(sys.argv[1])))
