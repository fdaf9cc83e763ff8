"""Errors the core raises with messages meant for the user."""

from __future__ import annotations

from pathlib import Path


def _rebuilt(cls: type, args: tuple, state: dict) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FileError(Exception):
    """Something went wrong with a file; the message names the file and says why.

    Args:
        path: The file.
        reason: One plain sentence saying why, without a traceback.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        # Rebuilt with its attributes, not by calling __init__ (whose arguments differ per
        # class), so a kernel's error reaches the window as the same class.
        return _rebuilt, (type(self), self.args, self.__dict__)


class ModelLoadError(FileError):
    """A model file could not be opened.

    Attributes:
        findings: The file's safety report (:class:`~inspector.model.file_safety.Finding`
            items), when the refusal comes from it.
    """

    findings: tuple = ()


class SaveError(FileError):
    """A model could not be saved."""


class UnsafeModelError(ModelLoadError):
    """The file holds Python code (Lambda layers) that loading would run.

    Args:
        path: The model file.
        layers: Names of the layers that hold code.
    """

    def __init__(self, path: str | Path, layers: list[str]):
        self.layers = list(layers)
        names = ", ".join(self.layers) or "a Lambda layer"
        super().__init__(
            path,
            f"it holds Python code in {names}; loading it would run that code. "
            "Open it only if you trust where the file came from.",
        )


class MissingClassesError(ModelLoadError):
    """The model uses custom classes or functions that are not defined in this process.

    Args:
        path: The model file.
        names: The names of the missing classes or functions.
    """

    def __init__(self, path: str | Path, names: list[str]):
        self.names = sorted(set(names))
        super().__init__(
            path,
            "it uses custom classes that are not defined here: "
            + ", ".join(self.names)
            + ". Choose the Python file that defines them to retry.",
        )


class InputDataError(Exception):
    """The user's input data cannot be fed to the model; the message says which input/file and why."""


class TrainingDataError(InputDataError):
    """Training data cannot be read or does not fit the model; the message names the source and why.

    Args:
        message: One plain sentence for the user.
        details: The formatted traceback of the user's own code that failed, if any.
    """

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


class JobCancelled(BaseException):
    """Raised inside a job when the user cancelled it.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` handlers in
    the job's code or in the libraries it calls let it through.
    """


class EmbeddingDataError(Exception):
    """Vectors or metadata for an embedding plot cannot be used; the message names the file or
    layer and says why."""


class ProjectionError(Exception):
    """A projection cannot run on these vectors with these settings; the message says why and
    what to change."""


class RemoteError(Exception):
    """An error raised in a kernel whose class the window does not import (Keras' own, say).

    Each original class name gets its own subclass (:func:`remote_error`), so
    ``type(error).__name__`` reads as it did in the kernel.

    Args:
        message: The original error's message.
        remote_type: The original error's class name.
    """

    def __init__(self, message: str, remote_type: str):
        super().__init__(message)
        self.remote_type = remote_type

    def __reduce__(self):
        return remote_error, (self.remote_type, str(self))


_REMOTE_KINDS: dict[str, type[RemoteError]] = {}


def remote_error(type_name: str, message: str) -> RemoteError:
    """A :class:`RemoteError` whose class is named ``type_name``."""
    kind = _REMOTE_KINDS.get(type_name)
    if kind is None:
        kind = _REMOTE_KINDS[type_name] = type(type_name, (RemoteError,), {"__module__": __name__})
    return kind(message, type_name)


class KernelDied(Exception):
    """The process that held the model ended while a job was queued or running.

    Args:
        reason: Why, in words (``"it was killed (SIGKILL)"``).
    """

    def __init__(self, reason: str):
        super().__init__(f"The model's kernel process stopped: {reason}.")
        self.reason = reason

    def __reduce__(self):
        return KernelDied, (self.reason,)
