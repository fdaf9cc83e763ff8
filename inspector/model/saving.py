"""Saves models atomically: a temporary file in the target folder, then a rename over the target.

Keras picks the format from the suffix: ``.keras`` (the native zip format) or ``.h5`` /
``.hdf5`` (legacy HDF5). A failed save leaves the target exactly as it was and no temporary file
behind, and raises :class:`SaveError` with a plain reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Generator

from inspector.tfimport import keras

from inspector.model.describe import inner_graph_model
from inspector.errors import SaveError
from inspector.model.model_file import H5_SUFFIXES
from inspector.jobs import Progress

SUFFIXES = (".keras", ".h5", ".hdf5")


def save_model(model, path: str | Path, *, overwrite: bool = False) -> Path:
    """Saves ``model`` to ``path`` atomically, in the format its suffix names.

    The model is written to a temporary file next to ``path`` (same suffix), flushed to disk,
    then renamed over ``path``; an existing file keeps its permission bits.

    Args:
        model: A Keras model.
        path: The target ``.keras``, ``.h5`` or ``.hdf5`` file.
        overwrite: Replace an existing file at ``path``.

    Returns:
        The absolute path written.

    Raises:
        SaveError: With a plain reason; ``path`` is then unchanged.
    """
    path = Path(path).absolute()
    _check_target(model, path, overwrite)
    temporary = _reserve_temporary(path)
    try:
        model.save(temporary, overwrite=True)
        _fsync(temporary)
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, Exception):
            raise SaveError(path, _reason(exc, path)) from exc
        raise
    _fsync_folder(path.parent)
    return path


def saved_format(path: str | Path) -> str:
    """The format :func:`save_model` writes to ``path``: ``"h5"`` for ``.h5`` / ``.hdf5``,
    otherwise ``"keras"`` (as in :attr:`inspector.model.model_info.ModelInfo.format`)."""
    return "h5" if Path(path).suffix.lower() in H5_SUFFIXES else "keras"


def save_model_job(model, path: str | Path, overwrite: bool = False) -> Generator[Progress, None, Path]:
    """Saves a model in the background (see :func:`save_model`).

    Args:
        model: The model; nothing else may use it while the job runs.
        path: The target file.
        overwrite: Replace an existing file.

    Returns:
        The absolute path written.

    Raises:
        SaveError: With a plain reason when the model could not be saved.
    """
    yield Progress(f"Saving {Path(path).name}…")
    return save_model(model, path, overwrite=overwrite)


def h5_unsupported_operations(model) -> list[str]:
    """Operations in the model's graph (at any depth) that a legacy ``.h5`` file cannot restore.

    Keras 3 writes graph operations that are not layers (such as the ``NotEqual`` that computes
    an ``Embedding(mask_zero=True)`` mask) into the HDF5 config, but its HDF5 loader fails on
    them with "Unknown layer", so such a file could never be opened again.

    Args:
        model: A Keras model.

    Returns:
        ``"path (Class)"`` for each such operation.
    """
    found = []

    def visit(graph_model, prefix: str) -> None:
        for operation in graph_model._operations:
            path = f"{prefix}{operation.name}"
            if not isinstance(operation, keras.layers.Layer):
                found.append(f"{path} ({type(operation).__name__})")
            inner = inner_graph_model(operation)
            if inner is not None:
                visit(inner, f"{path}/")

    functional = inner_graph_model(model)
    if functional is not None:
        visit(functional, "")
    return found


def _check_target(model, path: Path, overwrite: bool) -> None:
    """Refuses targets that cannot or must not be written, before anything is written."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SaveError(path, f"the name must end in .keras (or .h5 for the legacy format), not {suffix or 'nothing'!r}")
    if path.is_dir():
        raise SaveError(path, "a folder with this name exists; choose another name")
    folder = path.parent
    if not folder.exists():
        raise SaveError(path, f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise SaveError(path, f"{folder} is a file, not a folder")
    if path.exists() and not overwrite:
        raise SaveError(path, "the file exists; choose another name or confirm overwriting it")
    if suffix in H5_SUFFIXES:
        unsupported = h5_unsupported_operations(model)
        if unsupported:
            raise SaveError(
                path,
                "the legacy .h5 format cannot restore the graph operations "
                + ", ".join(unsupported)
                + "; save as .keras instead",
            )


def _reserve_temporary(path: Path) -> Path:
    """Creates an empty, uniquely named file next to ``path`` with the same suffix."""
    while True:
        temporary = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return temporary
        except FileExistsError:
            continue
        except OSError as exc:
            raise SaveError(path, _reason(exc, path)) from exc


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Makes the rename durable; some file systems cannot sync a folder, which is harmless."""
    try:
        _fsync(folder)
    except OSError:
        pass


def _reason(exc: BaseException, path: Path) -> str:
    """A plain reason for an exception raised while writing ``path``."""
    text = _exception_text(exc)
    code = _errno(exc)
    if code == errno.ENOSPC or "No space left" in text:
        return "the disk is full; free some space or save somewhere else"
    if code == errno.EROFS:
        return "the folder is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return f"the folder {path.parent} is not writable"
    if code == errno.EDQUOT:
        return "the disk quota is exceeded; free some space or save somewhere else"
    if isinstance(exc, MemoryError):
        return "there is not enough memory to save it"
    first_line = " ".join(str(exc).split())[:300]
    if isinstance(exc, OSError):
        return f"writing failed: {first_line}"
    return f"Keras could not save the model: {type(exc).__name__}: {first_line}"


def _errno(exc: BaseException) -> int | None:
    """The errno of ``exc`` or of the first OSError among its causes."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno is not None:
            return link.errno
    return None


def _exception_text(exc: BaseException) -> str:
    return " | ".join(str(link) for link in _chain(exc))


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and its causes, each once."""
    chain = []
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain
