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
from inspector.model.file_safety import KERAS_PACKAGES, Finding
from inspector.model.model_file import ModelFile, inspect_file, keras_package_classes

_MISSING_CLASS = re.compile(r"(?:Could not locate (?:class|function)|Unknown (?:layer|object|class)[^:']*:?)\s*'?([\w>.]+)'?")
_MISSING_MODULE = re.compile(r"its parent module ([\w.]+) cannot be imported")
_CODE_RISK = "arbitrary code execution"
_NOT_LOADED = re.compile(r"A total of (\d+) objects? could not be loaded")
_SHAPE_MISMATCH = re.compile(
    r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))\. Target variable: <Variable path=([^,>]+)"
)
_COUNT_MISMATCH = re.compile(
    r"Layer '([^']+)' expected (\d+) variables?, but received (\d+) variables? during loading\. Expected: \[([^\]]*)\]"
)
_OBJECT_NAME = re.compile(r"<\w+ name=([^,>]+)")


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
    _refuse_unsafe(model_file, allow_code)
    _import_keras_packages(model_file)
    missing = [
        finding.name
        for finding in model_file.findings
        if finding.kind == "custom_class"
        and keras.saving.get_registered_object(finding.name, custom_objects) is None
        and keras.saving.get_registered_object(finding.name.split(">")[-1], custom_objects) is None
    ]
    if missing:
        raise _with_findings(MissingClassesError(model_file.path, missing), model_file.findings)

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


def _refuse_unsafe(model_file: ModelFile, allow_code: bool) -> None:
    """Refuses a file whose safety report names something no consent makes safe to load (a
    link to another file, a function from outside Keras, a path Keras would read), or code
    the user has not agreed to run.

    Raises:
        UnsafeModelError: Lambda code, without ``allow_code``.
        ModelLoadError: Anything else in the report that loading would run or read.
    """
    findings = model_file.findings
    first = {}
    for finding in findings:
        first.setdefault(finding.kind, finding)
    reasons = {
        "hdf5_external": lambda f: f"its weights have a {f.detail} at {f.where}; the inspector does not read what a file points at",
        "size": lambda f: f"its {f.detail} at {f.where}, far beyond what the file can hold; it was not read",
        "tfsm_layer": lambda f: (
            f"it holds a TFSMLayer ({f.name}, at {f.where}), which loads a TensorFlow SavedModel from another "
            "path; the inspector does not load what a model file points at"
        ),
        "module": lambda f: f"it names code from module {f.name}: {f.detail} (at {f.where}); it was refused",
        "file_reference": lambda f: (
            f"{f.detail[0].lower()}{f.detail[1:]} (at {f.where}); the inspector does not read files a model points at"
        ),
    }
    for kind, reason in reasons.items():
        finding = first.get(kind)
        if finding is not None and not (kind == "module" and finding.name in KERAS_PACKAGES):
            raise _with_findings(ModelLoadError(model_file.path, reason(finding)), findings)
    code = [finding.name for finding in findings if finding.kind == "lambda"]
    if code and not allow_code:
        raise _with_findings(UnsafeModelError(model_file.path, code), findings)


def _with_findings(error: ModelLoadError, findings: tuple[Finding, ...]) -> ModelLoadError:
    """``error`` carrying the file's safety report, which the window shows with it."""
    error.findings = tuple(findings)
    return error


def _import_keras_packages(model_file: ModelFile) -> None:
    """Imports the Keras packages (KerasHub, KerasCV, KerasNLP) whose classes the model uses.

    Keras itself imports their classes by module, in safe mode too; importing the packages here
    tells the user plainly which one to install when it is missing.

    Raises:
        ModelLoadError: A package is not installed, or cannot be imported.
    """
    for package, classes in keras_package_classes(model_file).items():
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
    misfit = _weights_misfit(text)
    if misfit is not None:
        return ModelLoadError(path, misfit)
    missing = _MISSING_CLASS.findall(text)
    if missing:
        return MissingClassesError(path, [name for name in missing if name not in ("class", "object")])
    if isinstance(exc, MemoryError):
        return ModelLoadError(path, "there is not enough memory to load it; close other tabs or programs")
    if isinstance(exc, (OSError, EOFError)):
        return ModelLoadError(path, f"the file is damaged or truncated ({_first_sentence(str(exc))})")
    return ModelLoadError(path, f"Keras could not rebuild the model: {_first_sentence(text)}")


def _weights_misfit(text: str) -> str | None:
    """What does not fit when Keras could not put the stored weights into the model it built
    (Keras says only how many objects failed), or ``None`` for another failure."""
    count = _NOT_LOADED.search(text)
    if count is None:
        return None
    listed = text[text.find("List of objects that could not be loaded") :]
    names = _OBJECT_NAME.findall(listed) if "List of objects" in listed else []
    layers = f"; layers not loaded: {', '.join(names[:8])}{', …' if len(names) > 8 else ''}" if names else ""
    shape = _SHAPE_MISMATCH.search(text)
    if shape:
        expected, stored, variable = shape.groups()
        return (
            f"its weights do not fit the model: variable {variable} has shape {expected} in the model "
            f"and {stored} in the file{layers}"
        )
    variables = _COUNT_MISMATCH.search(text)
    if variables:
        layer, expected, stored, names_text = variables.groups()
        expected_names = ", ".join(name.strip(" '\"") for name in names_text.split(",") if name.strip())
        return (
            f"its weights do not fit the model: layer {layer} has {expected} variables ({expected_names}) "
            f"and the file holds {stored} for it{layers}"
        )
    return f"its weights do not fit the model{layers}"


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
