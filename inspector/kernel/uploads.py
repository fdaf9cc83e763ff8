"""Files that travel with a job: a model file or the inputs chosen in the window (images,
arrays) sent to a kernel on a Ray cluster (uploaded through Ray's object store with the job's
other arguments), and a saved model sent back to be written on the window's computer.

A :class:`FileUpload` is pickled with the file's bytes (a folder's: an uncompressed tar of its
files) as one large buffer (which goes out of band, see :mod:`inspector.kernel.transport`) and
unpickled, in the kernel, as the path of a copy in the kernel's own temporary folder; the job
receives a plain path.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import tarfile
import tempfile
from pathlib import Path

import numpy as np


class FileUpload:
    """A file or folder of this computer, to be read by a job that runs on another one.

    Args:
        path: The file or folder.
        suffixes: For a folder, the file name endings to send (lower case, with the dot), at
            any depth; all files when empty.
    """

    def __init__(self, path: str | Path, suffixes: tuple[str, ...] = ()):
        self.path = Path(path)
        self.suffixes = suffixes

    def __reduce__(self):
        if self.path.is_dir():
            return _folder_arrived, (self.path.name, self._tar())
        return _arrived, (self.path.name, self._mapped())

    def _mapped(self) -> pickle.PickleBuffer | bytes:
        """The file's bytes as a read-only mapping: the transport copies them once, straight
        into the message's buffer file (reading them first would copy them twice, on the
        window's thread)."""
        with open(self.path, "rb") as file:
            if not os.fstat(file.fileno()).st_size:
                return b""
            return pickle.PickleBuffer(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))

    def _tar(self) -> np.ndarray:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for file in sorted(self.path.rglob("*")):
                if file.is_file() and (not self.suffixes or file.suffix.lower() in self.suffixes):
                    tar.add(file, arcname=str(file.relative_to(self.path)), recursive=False)
        return np.frombuffer(buffer.getbuffer(), dtype=np.uint8)

    def __repr__(self) -> str:
        return f"FileUpload({str(self.path)!r})"


def _arrived(name: str, data) -> Path:
    """Where an uploaded file's copy (its bytes in any buffer) is written, on the receiving side."""
    target = Path(tempfile.mkdtemp(prefix="kmi-upload-")) / name
    target.write_bytes(data)
    return target


def _folder_arrived(name: str, data: np.ndarray) -> Path:
    """Where an uploaded folder's copy is unpacked, on the receiving side."""
    target = Path(tempfile.mkdtemp(prefix="kmi-upload-")) / name
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(memoryview(data)), mode="r") as tar:
        tar.extractall(target, filter="data")  # plain files inside the folder, nothing else
    return target


def file_bytes(path: str | Path) -> np.ndarray:
    """A file's bytes, as an array that travels out of band."""
    return np.fromfile(path, dtype=np.uint8)


def write_atomically(path: str | Path, data: np.ndarray) -> Path:
    """Writes bytes to ``path`` through a temporary file beside it, so a failure leaves the old file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(memoryview(data))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def downloaded_job(job, live, *args, **kwargs):
    """Runs a job that writes a file into a folder it is given (``job(live, folder, *args,
    **kwargs)``, such as :func:`~inspector.kernel.session.build_job`), in a temporary folder of
    the kernel's, and returns the file for the window to write into a folder of its own: a kernel
    on a Ray cluster cannot write into the window's folders.

    Returns:
        The file's name and bytes.
    """
    with tempfile.TemporaryDirectory(prefix="kmi-download-") as folder:
        path = yield from job(live, folder, *args, **kwargs)
        return Path(path).name, file_bytes(path)
