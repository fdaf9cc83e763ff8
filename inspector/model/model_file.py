"""Checks a model file before Keras touches it: format, readability, its saved configuration
and the safety report (:mod:`inspector.model.file_safety`).

Reading the configuration first lets the loader name problems plainly (code in Lambda layers,
missing custom classes, damaged archives, members that would decompress to gigabytes) instead of
passing on Keras' internal error text, and refuse before Keras reads anything.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from inspector.errors import ModelLoadError
from inspector.model import hdf5_child
from inspector.model.file_safety import (
    KERAS_PACKAGES,
    MAX_DEPTH,
    Finding,
    config_findings,
    hdf5_findings,
    structure_problem,
    too_big,
    walk_objects,
)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
H5_SUFFIXES = (".h5", ".hdf5")
WEIGHTS_MEMBER = "model.weights.h5"
HDF5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError)
"""What h5py raises on a damaged file (the HDF5 library's errors arrive as any of these)."""


@dataclass(frozen=True)
class ModelFile:
    """A model file that passed the pre-flight checks.

    Attributes:
        path: Absolute path of the file.
        format: ``"keras"`` for a Keras 3 archive, ``"h5"`` for legacy HDF5.
        size: Size in bytes.
        config: The saved model configuration, without the ``shared_object_id`` keys that
            saving adds (the address of a Python object at save time).
        findings: What loading it would run, read or allocate (its safety report).
        objects: Every serialized object in the configuration with its configuration path
            (see :func:`~inspector.model.file_safety.walk_objects`).
    """

    path: Path
    format: str
    size: int
    config: dict | None
    findings: tuple[Finding, ...] = field(default=())
    objects: list[tuple[str, dict]] = field(default_factory=list, repr=False, compare=False)


def inspect_file(path: str | Path, *, weights: bool = True) -> ModelFile:
    """Checks that ``path`` looks like a Keras model and reads its configuration.

    Args:
        path: File to check.
        weights: Also look through a ``.keras`` archive's weights file for links and external
            data (a second for ten thousand layers); the loader must, a reader of the
            configuration alone need not.

    Returns:
        The checked file with its format and configuration.

    Raises:
        ModelLoadError: With a plain reason when the file cannot be a Keras model.
    """
    path = Path(path).expanduser().absolute()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelLoadError(path, "the file does not exist") from None
    except OSError as exc:
        raise ModelLoadError(path, f"it cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelLoadError(
            path,
            "it is a folder, not a model file. Keras 3 opens .keras and .h5 files; "
            "a TensorFlow SavedModel folder can only be used for inference "
            "(keras.layers.TFSMLayer)",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ModelLoadError(path, "it is not a regular file")
    if st.st_size == 0:
        raise ModelLoadError(path, "the file is empty")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except PermissionError:
        raise ModelLoadError(path, "you do not have permission to read it") from None
    except OSError as exc:
        raise ModelLoadError(path, f"it cannot be read ({exc.strerror})") from None

    if head.startswith(ZIP_SIGNATURE):
        fmt, (config, objects, findings) = "keras", _read_keras_archive(path, st.st_size, weights)
    elif head.startswith(HDF5_SIGNATURE):
        fmt, (config, objects, findings) = "h5", _read_h5(path, st.st_size)
    else:
        raise _unknown_format(path, head)
    return ModelFile(path, fmt, st.st_size, config, (*findings, *config_findings(objects)), objects)


def scan_file(path: str | Path) -> dict[str, Any]:
    """The safety report of a model file, as ``keras-inspector --scan`` prints it.

    Args:
        path: Any file.

    Returns:
        ``file``, ``format`` (``"keras"``, ``"h5"`` or ``"unknown"``), ``safe`` (nothing found
        and nothing refused), ``findings`` (each ``kind``, ``where``, ``detail``) and, when the
        file cannot be a model at all, ``error`` with the reason.
    """
    report: dict[str, Any] = {"file": str(Path(path).expanduser().absolute()), "format": _format_of(path)}
    try:
        checked = inspect_file(path)
        findings, error = checked.findings, None
    except ModelLoadError as exc:
        findings, error = exc.findings, exc.reason
    report["safe"] = not findings and error is None
    report["findings"] = [finding.to_dict() for finding in findings]
    if error is not None:
        report["error"] = error
    return report


def _format_of(path: str | Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return "unknown"
    return "keras" if head.startswith(ZIP_SIGNATURE) else "h5" if head.startswith(HDF5_SIGNATURE) else "unknown"


def _unknown_format(path: Path, head: bytes) -> ModelLoadError:
    if _looks_like_text(head):
        return ModelLoadError(path, "it is a text file, not a Keras model (.keras or HDF5)")
    return ModelLoadError(
        path, "it is neither a Keras 3 archive (.keras) nor an HDF5 file (.h5); the format is unknown"
    )


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 9 for ch in head)


def _read_keras_archive(path: Path, size: int, weights: bool) -> tuple[dict, list, list[Finding]]:
    """Reads a ``.keras`` archive's configuration and the findings in its members.

    Every member's declared size is checked before anything is decompressed: ``zipfile``
    never inflates a member beyond the size its header declares.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            oversized = [
                Finding(
                    "size",
                    name,
                    f"member {name} declares {info.file_size:,} bytes uncompressed in a file of {size:,} bytes",
                )
                for name, info in members.items()
                if too_big(info.file_size, size)
            ]
            if oversized:
                raise _refusal(path, f"{oversized[0].detail}; it was not decompressed", oversized)
            if "config.json" not in members:
                raise ModelLoadError(path, "the archive has no config.json, so it is not a Keras model")
            config, objects = _parse_config(path, archive.read("config.json"), "config.json in the archive")
            has_weights = WEIGHTS_MEMBER in members
    except zipfile.BadZipFile:
        raise ModelLoadError(path, "the archive is truncated or damaged") from None
    except (OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:  # RuntimeError: encrypted
        raise ModelLoadError(path, f"the archive cannot be read ({exc})") from None
    findings = _in_child(path, _weights_member_findings, path, size) if weights and has_weights else []
    return config, objects, findings


def _in_child(path: Path, function, *args):
    """``function(*args)`` in the HDF5 reader's process (see :mod:`inspector.model.hdf5_child`)."""
    try:
        return hdf5_child.call(function, *args)
    except hdf5_child.ReadFailed as exc:
        raise ModelLoadError(path, f"its HDF5 data is damaged: {exc}") from None


def _weights_member_findings(path: Path, size: int) -> list[Finding]:
    """The HDF5 findings of an archive's weights, read in place when the member is stored
    uncompressed (as Keras writes it), else from memory (its size was checked)."""
    import h5py

    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(WEIGHTS_MEMBER)
            if info.compress_type == zipfile.ZIP_STORED:
                raw = _MemberFile(archive.fp.fileno(), _data_offset(archive.fp, info), info.file_size)
                source = io.BufferedReader(raw, 1 << 16)
            else:
                source = io.BytesIO(archive.read(info.filename))
            with h5py.File(source, "r") as handle:
                return hdf5_findings(handle, size, prefix=f"{WEIGHTS_MEMBER}:")
    except (*HDF5_ERRORS, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise ModelLoadError(path, f"{WEIGHTS_MEMBER} in the archive is not a readable HDF5 file ({exc})") from None


def _data_offset(raw: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts in the archive (after its local header)."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != ZIP_SIGNATURE:
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    *_, name_length, extra_length = struct.unpack("<4s5H3L2H", header)
    return info.header_offset + 30 + name_length + extra_length


class _MemberFile(io.RawIOBase):
    """A stored (uncompressed) archive member as a read-only file, for h5py: each read is one
    ``pread`` on the archive's descriptor."""

    def __init__(self, fd: int, start: int, length: int):
        super().__init__()
        self._fd, self._start, self._length, self._position = fd, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._length - self._position))
        data = os.pread(self._fd, count, self._start + self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _read_h5(path: Path, size: int) -> tuple[dict, list, list[Finding]]:
    """Reads a legacy HDF5 file's model configuration and the findings in its structure (in the
    HDF5 reader's process)."""
    return _in_child(path, _read_h5_here, path, size)


def _read_h5_here(path: Path, size: int) -> tuple[dict, list, list[Finding]]:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            findings = hdf5_findings(handle, size)
            raw = handle.attrs.get("model_config")
    except HDF5_ERRORS as exc:
        raise ModelLoadError(path, f"the HDF5 file is truncated or damaged ({exc})") from None
    external = [finding for finding in findings if finding.kind in ("hdf5_external", "size")]
    if external:
        first = external[0]
        raise _refusal(path, f"the HDF5 file has a {first.detail} at {first.where}; it was not read", findings)
    if raw is None:
        raise ModelLoadError(
            path,
            "the HDF5 file holds no model configuration (it may hold only weights, "
            "saved with save_weights)",
        )
    if not isinstance(raw, (bytes, str)):
        raise ModelLoadError(path, "the model configuration in the HDF5 file is not text")
    return (*_parse_config(path, raw, "the model configuration in the HDF5 file"), findings)


def _parse_config(path: Path, raw: bytes | str, what: str) -> tuple[dict, list[tuple[str, dict]]]:
    """Parses a configuration and lists its objects, refusing text that is not JSON, nests too
    deeply, or is not shaped as Keras writes a model."""
    try:
        config = json.loads(raw)
    except RecursionError:
        raise ModelLoadError(path, f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(path, f"{what} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelLoadError(path, f"{what} does not describe a Keras object")
    objects, depth = walk_objects(config)
    if depth > MAX_DEPTH:
        raise ModelLoadError(path, f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
    for _, obj in objects:  # saving adds it to serialized objects only; get_config() has none
        obj.pop("shared_object_id", None)
    problem = structure_problem(config, objects)
    if problem is not None:
        raise ModelLoadError(path, f"it is not a valid model configuration: {problem}")
    return config, objects


def _refusal(path: Path, reason: str, findings: list[Finding]) -> ModelLoadError:
    error = ModelLoadError(path, reason)
    error.findings = tuple(findings)
    return error


def keras_package_classes(model_file: ModelFile) -> dict[str, list[str]]:
    """The classes a model takes from Keras' optional packages (KerasHub, KerasCV, KerasNLP),
    by package import name, e.g. ``{"keras_hub": ["BertBackbone"]}``."""
    classes: dict[str, set[str]] = {}
    for _, obj in model_file.objects:
        package = (obj.get("module") or "").split(".", 1)[0]
        if package in KERAS_PACKAGES and package != "keras" and obj["class_name"] not in ("function", "__lambda__"):
            classes.setdefault(package, set()).add(obj["class_name"])
    return {package: sorted(names) for package, names in sorted(classes.items())}
