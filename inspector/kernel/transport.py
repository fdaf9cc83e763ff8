"""Messages between the window and a kernel process, with large arrays kept out of the pickle.

A message is pickled with protocol 5: every buffer of 64 KiB or more (a NumPy array's data,
``bytes``) goes out of band into a file in shared memory (``/dev/shm`` where there is one), and
only the file's name travels in the message. The receiver maps each file (and deletes its name
at once, so the memory is freed when the last array using it goes away), and the arrays it
unpickles are views of that mapping: no copy through the socket, no second copy in the
receiver. An ``np.memmap`` that is a file on disk (activations streamed to disk) travels as its
file name, offset, dtype and shape and is mapped again on the other side.

A kernel on another machine (a Ray actor, :mod:`inspector.kernel.ray_actor`) cannot share
memory with the window: there the buffers travel as ``bytes`` beside the pickle
(``encode(..., in_memory=True)``), memory-mapped arrays with them, and the local relay
(:mod:`inspector.kernel.ray_bridge`) moves them between shared-memory files and Ray's object
store with :func:`read_buffers` and :func:`write_buffers`, without unpickling anything.

The window's side refuses to unpickle anything from TensorFlow or Keras: a result that holds a
live Keras object is a bug in the job, and importing Keras would stall the window for seconds.
"""

from __future__ import annotations

import copyreg
import io
import mmap
import os
import pickle
import uuid
from typing import Any

import numpy as np

from inspector.memory import shared_memory_dir

OUT_OF_BAND_BYTES = 64 * 1024
"""Buffers at least this large travel through shared memory instead of the socket."""

FORBIDDEN_MODULES = ("tensorflow", "keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv")
"""Top-level packages the window never imports, so never unpickles."""


def _open_memmap(filename: str, dtype: str, shape: tuple, offset: int, order: str, mode: str) -> np.memmap:
    return np.memmap(filename, dtype=np.dtype(dtype), mode=mode, shape=shape, offset=offset, order=order)


def _file_memmap(obj: np.memmap):
    """Sends a memory-mapped array on disk as a reference to its file (any other memmap as an
    array's copy)."""
    if obj.filename and isinstance(obj.base, mmap.mmap):
        order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
        mode = "r" if obj.mode == "r" else "r+"
        return _open_memmap, (obj.filename, obj.dtype.str, obj.shape, int(obj.offset), order, mode)
    return obj.__reduce_ex__(5)


class _Pickler(pickle.Pickler):
    """Sends memory-mapped arrays on disk as a reference to their file. (A dispatch table, not
    ``reducer_override``: that is a Python call for every object, half again the pickling time
    of a big model's description.)"""

    dispatch_table = {**copyreg.dispatch_table, np.memmap: _file_memmap}


class _Unpickler(pickle.Unpickler):
    """Refuses classes from TensorFlow or Keras when ``strict``."""

    def __init__(self, file, *, buffers, strict: bool):
        super().__init__(file, buffers=buffers)
        self._strict = strict

    def find_class(self, module: str, name: str):
        if self._strict and module.split(".")[0] in FORBIDDEN_MODULES:
            raise pickle.UnpicklingError(f"a {module}.{name} object cannot be shown in the window")
        return super().find_class(module, name)


class _MemoryPickler(pickle.Pickler):
    """Sends memory-mapped arrays as plain arrays (their file is not on the receiver's machine)."""

    dispatch_table = {**copyreg.dispatch_table, np.memmap: lambda obj: (np.array, (np.asarray(obj),))}


class _Chunks(io.BytesIO):
    """A pickle that the C unpickler reads a chunk at a time through a Python method
    (:meth:`peek`), so that another thread (the window's) can take the GIL between chunks:
    unpickling a big model's description from an ``io.BytesIO`` held it for 100 ms at a time."""

    def peek(self, size: int = 0) -> bytes:
        """Up to ``size`` bytes from the current position, which stays."""
        position = self.tell()
        with self.getbuffer() as view:
            return bytes(view[position : position + max(size, 1)])


def encode(message: Any, *, in_memory: bool = False) -> tuple[bytes, list]:
    """Pickles a message; its large buffers go to shared-memory files, or beside the pickle.

    Args:
        message: What to send.
        in_memory: Keep the large buffers as ``bytes`` instead of writing files (for a receiver
            on another machine).

    Returns:
        The pickle and, in order, the names of the files its buffers went to (or the buffers).
    """
    buffers: list = []
    folder = shared_memory_dir()

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < OUT_OF_BAND_BYTES:
            return True  # in band
        if in_memory:
            buffers.append(raw.tobytes())
        else:
            buffers.append(_write(folder, raw))
        return False

    stream = io.BytesIO()
    pickler = _MemoryPickler if in_memory else _Pickler
    try:
        pickler(stream, protocol=5, buffer_callback=out_of_band).dump(message)
    except BaseException:
        if not in_memory:
            discard(buffers)
        raise
    return stream.getvalue(), buffers


def _write(folder, data) -> str:
    name = str(folder / f"kmi-{os.getpid()}-{uuid.uuid4().hex}")
    with open(name, "wb") as file:
        file.write(data)
    return name


def read_buffers(files: list[str]) -> list[bytes]:
    """The contents of a message's buffer files, which are removed."""
    try:
        buffers = []
        for name in files:
            with open(name, "rb") as file:
                buffers.append(file.read())
        return buffers
    finally:
        discard(files)


def write_buffers(buffers: list) -> list[str]:
    """Writes a message's in-memory buffers to shared-memory files, for :func:`decode`."""
    folder = shared_memory_dir()
    files: list[str] = []
    try:
        for buffer in buffers:
            files.append(_write(folder, buffer))
    except BaseException:
        discard(files)
        raise
    return files


def decode(data: bytes, files: list[str] = (), *, buffers: list | None = None, strict: bool = False) -> Any:
    """Unpickles a message from :func:`encode`, mapping (and removing) its buffer files.

    Args:
        data: The pickle.
        files: Its buffer files.
        buffers: Its buffers, when they came in memory (``encode(..., in_memory=True)``).
        strict: Refuse TensorFlow and Keras objects (the window's side).
    """
    if buffers is None:
        try:
            buffers = [_map(name) for name in files]
        finally:
            discard(files)
    return _Unpickler(_Chunks(data), buffers=buffers, strict=strict).load()


def _map(name: str) -> memoryview | bytes:
    with open(name, "r+b") as file:
        size = os.fstat(file.fileno()).st_size
        if not size:
            return b""
        return memoryview(mmap.mmap(file.fileno(), size))


def discard(files: list[str]) -> None:
    """Removes buffer files (the mappings already made stay valid)."""
    for name in files:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
