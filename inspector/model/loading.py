"""Loads Keras model files safely and turns Keras' failures into plain reasons."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.tfimport import keras

from inspector.errors import MissingClassesError, ModelLoadError, UnsafeModelError
from inspector.model.model_file import (
    KERAS_PACKAGES,
    ModelFile,
    custom_class_names,
    inspect_file,
    keras_package_classes,
    lambda_layers,
)

_MISSING_CLASS = re.compile(r"(?:Could not locate (?:class|function)|Unknown (?:layer|object|class)[^:']*:?)\s*'?([\w>.]+)'?")
_MISSING_MODULE = re.compile(r"its parent module ([\w.]+) cannot be imported")
_CODE_RISK = "arbitrary code execution"


@dataclass
class LoadedModel:
    """A model loaded from a file.

    Attributes:
        model: The Keras model.
        file: The checked file it came from.
        compiled: Whether the saved training configuration was restored.
        notes: Things the user should know about how it was loaded.
    """

    model: Any
    file: ModelFile
    compiled: bool
    notes: list[str] = field(default_factory=list)


def load_custom_objects(py_file: str | Path) -> dict[str, Any]:
    """Imports a user's Python file and returns the classes and functions it defines.

    This runs the file's code: call it only on the user's explicit request.

    Args:
        py_file: A ``.py`` file that defines custom layers, models, losses or metrics.

    Returns:
        A ``custom_objects`` mapping for :func:`keras.saving.load_model`.

    Raises:
        ModelLoadError: If the file cannot be imported; the reason names the exception.
    """
    py_file = Path(py_file).absolute()
    module_name = f"_inspector_custom_{abs(hash(str(py_file)))}"
    spec = importlib.util.spec_from_file_location(module_name, py_file)
    if spec is None or spec.loader is None:
        raise ModelLoadError(py_file, "it is not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code may raise anything
        sys.modules.pop(module_name, None)
        raise ModelLoadError(py_file, f"importing it failed: {type(exc).__name__}: {exc}") from exc
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_") and (isinstance(obj, type) or callable(obj))
    }


def load(
    path: str | Path,
    *,
    allow_code: bool = False,
    custom_objects: dict[str, Any] | None = None,
) -> LoadedModel:
    """Loads a ``.keras`` or ``.h5`` model with Keras' safe mode on.

    Args:
        path: The model file.
        allow_code: The user explicitly agreed to run Python code (Lambda layers) stored in
            this file. Only then is safe mode turned off.
        custom_objects: Custom classes and functions the model needs.

    Returns:
        The loaded model and notes on how it was loaded.

    Raises:
        UnsafeModelError: The file holds Lambda code and ``allow_code`` is false.
        MissingClassesError: The model needs classes that are not defined.
        ModelLoadError: Any other reason the file cannot be opened.
    """
    model_file = inspect_file(path)
    custom_objects = dict(custom_objects or {})
    if not allow_code:
        code_layers = lambda_layers(model_file.config)
        if code_layers:
            raise UnsafeModelError(model_file.path, code_layers)
    _import_keras_packages(model_file)
    missing = [
        name
        for name in custom_class_names(model_file.config)
        if keras.saving.get_registered_object(name, custom_objects) is None
        and keras.saving.get_registered_object(name.split(">")[-1], custom_objects) is None
    ]
    if missing:
        raise MissingClassesError(model_file.path, missing)

    notes = []
    try:
        model = _load(model_file, allow_code, custom_objects, compile=True)
        compiled = True
    except ModelLoadError:
        raise
    except Exception as first:  # noqa: BLE001 - Keras raises many types
        try:
            model = _load(model_file, allow_code, custom_objects, compile=False)
        except Exception:  # noqa: BLE001
            raise _explain(model_file.path, first) from first
        compiled = False
        notes.append(
            "Opened without its training configuration, which Keras 3 could not restore: "
            + _first_sentence(str(first))
        )
    if allow_code:
        notes.append("Loaded with safe mode off: Python code stored in the file was allowed to run.")
    if model_file.format == "h5":
        notes.append("Legacy HDF5 file: save it as .keras to keep everything Keras 3 supports.")
    if compiled and getattr(model, "optimizer", None) is None:
        compiled = False
    return LoadedModel(model=model, file=model_file, compiled=compiled, notes=notes)


def _import_keras_packages(model_file: ModelFile) -> None:
    """Imports the Keras packages (KerasHub, KerasCV, KerasNLP) whose classes the model uses.

    Keras itself imports their classes by module, in safe mode too; importing the packages here
    tells the user plainly which one to install when it is missing.

    Raises:
        ModelLoadError: A package is not installed, or cannot be imported.
    """
    for package, classes in keras_package_classes(model_file.config).items():
        pip_name = KERAS_PACKAGES[package]
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name != package:
                raise ModelLoadError(
                    model_file.path, f"the {package} package it needs cannot be imported ({exc})"
                ) from exc
            raise ModelLoadError(
                model_file.path,
                f"it is a {package} model ({', '.join(classes)}) and {package} is not installed; "
                f"install {pip_name} (pip install {pip_name}) to open it",
            ) from None
        except Exception as exc:  # noqa: BLE001 - a broken install may raise anything
            raise ModelLoadError(
                model_file.path, f"the {package} package it needs cannot be imported ({type(exc).__name__}: {exc})"
            ) from exc


def _load(model_file: ModelFile, allow_code: bool, custom_objects: dict, *, compile: bool):
    return keras.saving.load_model(
        model_file.path,
        custom_objects=custom_objects or None,
        compile=compile,
        safe_mode=not allow_code,
    )


def _explain(path: Path, exc: BaseException) -> ModelLoadError:
    """Turns an exception from Keras into an error with a plain reason."""
    text = _exception_text(exc)
    if _CODE_RISK in text:
        return UnsafeModelError(path, [])
    module = _MISSING_MODULE.search(text)
    if module and module.group(1).split(".")[0] in KERAS_PACKAGES:
        pip_name = KERAS_PACKAGES[module.group(1).split(".")[0]]
        return ModelLoadError(
            path,
            f"it needs {module.group(1)}, which the installed {pip_name} does not have; "
            f"it was probably saved with a newer version (pip install -U {pip_name})",
        )
    missing = _MISSING_CLASS.findall(text)
    if missing:
        return MissingClassesError(path, [name for name in missing if name not in ("class", "object")])
    if isinstance(exc, MemoryError):
        return ModelLoadError(path, "there is not enough memory to load it; close other tabs or programs")
    if isinstance(exc, (OSError, EOFError)):
        return ModelLoadError(path, f"the file is damaged or truncated ({_first_sentence(str(exc))})")
    return ModelLoadError(path, f"Keras could not rebuild the model: {_first_sentence(text)}")


def _exception_text(exc: BaseException) -> str:
    """The messages of an exception and its causes, joined."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " | ".join(parts)


def _first_sentence(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    match = re.search(r"(?<=[.!?])\s", text)
    if match and match.start() < limit:
        return text[: match.start()]
    return text if len(text) <= limit else text[: limit - 1] + "…"
