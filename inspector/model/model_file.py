"""Checks a model file before Keras touches it: format, readability and its saved configuration.

Reading the configuration first lets the loader name problems plainly (code in Lambda layers,
missing custom classes, damaged archives) instead of passing on Keras' internal error text.
"""

from __future__ import annotations

import json
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from inspector.errors import ModelLoadError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
H5_SUFFIXES = (".h5", ".hdf5")
#: Packages whose classes Keras imports by module name when loading, with their pip names.
KERAS_PACKAGES = {"keras": "keras", "keras_hub": "keras-hub", "keras_cv": "keras-cv", "keras_nlp": "keras-nlp"}


@dataclass(frozen=True)
class ModelFile:
    """A model file that passed the pre-flight checks.

    Attributes:
        path: Absolute path of the file.
        format: ``"keras"`` for a Keras 3 archive, ``"h5"`` for legacy HDF5.
        size: Size in bytes.
        config: The saved model configuration (may be ``None`` for an HDF5 file
            holding only weights).
    """

    path: Path
    format: str
    size: int
    config: dict | None


def inspect_file(path: str | Path) -> ModelFile:
    """Checks that ``path`` looks like a Keras model and reads its configuration.

    Args:
        path: File to check.

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
        return ModelFile(path, "keras", st.st_size, _read_keras_config(path))
    if head.startswith(HDF5_SIGNATURE):
        return ModelFile(path, "h5", st.st_size, _read_h5_config(path))
    if _looks_like_text(head):
        raise ModelLoadError(path, "it is a text file, not a Keras model (.keras or HDF5)")
    raise ModelLoadError(
        path, "it is neither a Keras 3 archive (.keras) nor an HDF5 file (.h5); the format is unknown"
    )


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 9 for ch in head)


def _read_keras_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ModelLoadError(path, "the archive has no config.json, so it is not a Keras model")
            raw = archive.read("config.json")
    except zipfile.BadZipFile:
        raise ModelLoadError(path, "the archive is truncated or damaged") from None
    except (OSError, EOFError) as exc:
        raise ModelLoadError(path, f"the archive cannot be read ({exc})") from None
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(path, f"config.json in the archive is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelLoadError(path, "config.json in the archive does not describe a Keras object")
    return config


def _read_h5_config(path: Path) -> dict | None:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except OSError as exc:
        raise ModelLoadError(path, f"the HDF5 file is truncated or damaged ({exc})") from None
    if raw is None:
        raise ModelLoadError(
            path,
            "the HDF5 file holds no model configuration (it may hold only weights, "
            "saved with save_weights)",
        )
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(path, f"the model configuration in the HDF5 file is not valid JSON ({exc})") from None


def walk_objects(config: Any) -> Iterator[dict]:
    """Yields every serialized Keras object (a dict with ``class_name``) inside a configuration."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from walk_objects(value)
    elif isinstance(config, (list, tuple)):
        for value in config:
            yield from walk_objects(value)


def lambda_layers(config: dict | None) -> list[str]:
    """Names of the Lambda layers in a configuration (they hold Python code)."""
    names = []
    for obj in walk_objects(config):
        if obj.get("class_name") == "Lambda":
            inner = obj.get("config") or {}
            names.append(str(inner.get("name", obj.get("name", "Lambda"))))
    return names


def custom_class_names(config: dict | None) -> list[str]:
    """Registered names of the non-Keras classes a Keras 3 configuration refers to.

    Classes from Keras' own packages (:data:`KERAS_PACKAGES`) are not custom: Keras imports them
    by module. Legacy HDF5 configurations carry no module names; their missing classes are found
    when Keras reports them.
    """
    names = []
    for obj in _module_objects(config):
        package = _package(obj)
        if package not in KERAS_PACKAGES and package != "builtins":
            names.append(str(obj.get("registered_name") or obj["class_name"]))
    return sorted(set(names))


def keras_package_classes(config: dict | None) -> dict[str, list[str]]:
    """The classes a configuration takes from Keras' optional packages (KerasHub, KerasCV,
    KerasNLP), by package import name, e.g. ``{"keras_hub": ["BertBackbone"]}``."""
    classes: dict[str, set[str]] = {}
    for obj in _module_objects(config):
        package = _package(obj)
        if package in KERAS_PACKAGES and package != "keras":
            classes.setdefault(package, set()).add(str(obj["class_name"]))
    return {package: sorted(names) for package, names in sorted(classes.items())}


def _module_objects(config: dict | None) -> Iterator[dict]:
    """The serialized classes in a configuration that say which module they come from."""
    for obj in walk_objects(config):
        if "module" in obj and obj.get("class_name") not in ("function", "__lambda__"):
            yield obj


def _package(obj: dict) -> str:
    """The top-level package of a serialized object's module (empty when it names none)."""
    return (obj["module"] or "").split(".", 1)[0]
