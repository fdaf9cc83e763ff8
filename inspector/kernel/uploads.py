"""Files that travel with a job: a model file or the inputs chosen in the window (images,
arrays) sent to a kernel on a Ray cluster (uploaded through Ray's object store with the job's
other arguments), and a saved model sent back to be written on the window's computer.

A :class:`FileUpload` is pickled with the file's bytes (a folder's: an uncompressed tar of its
files) as one large buffer (which goes out of band, see :mod:`inspector.kernel.transport`) and
unpickled, in the kernel, as the path of a copy in the kernel's uploads folder; the job receives
a plain path.

The copies stay for the kernel's life (its model file is read again when it is reloaded), one per
content: the same images extracted again arrive as the copy that is already there, so a long
session does not fill the node's disk. A kernel killed on a cluster cannot clean up after itself,
so the first upload of a kernel removes the uploads folders of kernels that have ended on the same
computer.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import pickle
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

_FOLDER_PREFIX = "kmi-uploads-"


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


def uploads_folder() -> Path:
    """This process' folder of uploaded copies, in the temporary folder; made on first use, when
    the folders of processes that have ended are removed."""
    folder = Path(tempfile.gettempdir()) / f"{_FOLDER_PREFIX}{os.getpid()}"
    if not folder.is_dir():
        _remove_ended(folder.parent)
        folder.mkdir(exist_ok=True)
    return folder


def _remove_ended(parent: Path) -> None:
    """Removes the uploads folders of processes of this computer that no longer run."""
    for folder in parent.glob(f"{_FOLDER_PREFIX}*"):
        match = re.fullmatch(rf"{_FOLDER_PREFIX}(\d+)", folder.name)
        if match and not _running(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _arrived(name: str, data) -> Path:
    """Where an uploaded file's copy (its bytes in any buffer) is, on the receiving side."""
    return _stored(name, data, lambda target: target.write_bytes(data))


def _folder_arrived(name: str, data: np.ndarray) -> Path:
    """Where an uploaded folder's copy is unpacked, on the receiving side."""

    def unpack(target: Path) -> None:
        target.mkdir()
        with tarfile.open(fileobj=io.BytesIO(memoryview(data)), mode="r") as tar:
            tar.extractall(target, filter="data")  # plain files inside the folder, nothing else

    return _stored(name, data, unpack)


def _stored(name: str, data, write) -> Path:
    """The copy named ``name`` of ``data`` in the uploads folder: the one already there for the
    same bytes, or a new one that ``write(path)`` makes (beside, then moved in whole)."""
    folder = uploads_folder() / hashlib.blake2b(memoryview(data), digest_size=16).hexdigest()
    target = folder / name
    if target.exists():
        return target
    folder.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".arriving-", dir=folder))
    try:
        write(staging / name)
        try:
            os.rename(staging / name, target)
        except OSError:  # a folder that arrived meanwhile
            if not target.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
