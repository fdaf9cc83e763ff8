"""What loading a model file would make the loader do, found without building the model.

Each :class:`Finding` is one thing in the file that would run code, read another file, or cost
far more memory than the file's size: a Lambda layer, a function from a module outside Keras, a
custom class, a TFSMLayer, a path inside the configuration, an HDF5 link or external dataset, or
a member or dataset whose declared size is far beyond the file's. The loader refuses files by
them before Keras reads anything, ``keras-inspector --scan`` prints them, and the window shows
them first on a refusal and in the consent dialog.

Nothing here imports Keras or follows what a file points at: it reads JSON, ZIP directories and
HDF5 metadata.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

#: Packages whose classes Keras imports by module name when loading, with their pip names.
KERAS_PACKAGES = {"keras": "keras", "keras_hub": "keras-hub", "keras_cv": "keras-cv", "keras_nlp": "keras-nlp"}
KINDS = ("lambda", "module", "custom_class", "tfsm_layer", "file_reference", "hdf5_external", "size")
"""Every kind of finding."""
MAX_DEPTH = 128
"""Nesting levels a configuration may have; a Keras model nests about four per nested model."""
SIZE_FLOOR = 64 * 2**20
"""Declared sizes up to this many bytes are never "far beyond" the file's size."""
MAX_EXPANSION = 50
"""How many times the file's size a member or dataset may declare before it is a finding."""
PATH_KEYS = ("vocabulary", "filepath", "file_path", "path", "filename", "vocabulary_file", "vocab_file", "merges", "proto")
"""Configuration keys whose string value Keras (or KerasHub) reads as a path to a file."""


@dataclass(frozen=True)
class Finding:
    """One thing in a model file that loading it would run, read or allocate.

    Attributes:
        kind: One of :data:`KINDS`.
        where: Where in the file: a configuration path (``/config/layers/2``), a ZIP member
            (``config.json``) or an HDF5 path (``model.weights.h5:/layers/dense/vars/0``).
        detail: One plain sentence: what it is and what loading would do with it.
        name: What the loader names in a refusal: the layer (``lambda``, ``tfsm_layer``), the
            module (``module``) or the registered name (``custom_class``).
    """

    kind: str
    where: str
    detail: str
    name: str = ""

    def to_dict(self) -> dict[str, str]:
        """The finding as ``--scan`` prints it."""
        return {"kind": self.kind, "where": self.where, "detail": self.detail}


def too_big(declared: int, file_size: int) -> bool:
    """Whether ``declared`` bytes are far beyond what a file of ``file_size`` bytes can hold."""
    return declared > max(SIZE_FLOOR, MAX_EXPANSION * file_size)


def walk_objects(config: Any, limit: int = MAX_DEPTH) -> tuple[list[tuple[str, dict]], int]:
    """Every serialized Keras object (a dict with ``class_name``) in a configuration, with its
    configuration path (``/config/layers/3``), outermost first, and how deeply the
    configuration's dicts and lists nest.

    Iterative, and it stops once the nesting passes ``limit``, so a hostile depth can neither
    overflow the stack nor take long (the depth returned is then ``limit + 1``).
    """
    found: list[tuple[str, dict]] = []
    deepest = 0
    stack: list[tuple[str, Any, int]] = [("", config, 1)]
    while stack:
        path, value, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if depth > limit:
                return found, depth
        if isinstance(value, dict):
            if "class_name" in value:
                found.append((path or "/", value))
            items = value.items()
        else:
            items = enumerate(value)
        children = [(f"{path}/{key}", child, depth + 1) for key, child in items if isinstance(child, (dict, list))]
        stack.extend(reversed(children))
    return found, deepest


def structure_problem(config: Any, objects: list[tuple[str, dict]]) -> str | None:
    """What makes ``config`` something Keras never writes, in words, or ``None``.

    Checks what the loader and Keras rely on: strings where names go, a list of layer objects
    where a model lists its layers.

    Args:
        config: A parsed configuration.
        objects: Its objects, from :func:`walk_objects`.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        return "the top level is not a Keras object (a class_name and its config)"
    for where, obj in objects:
        for key in ("class_name", "module", "registered_name"):
            value = obj.get(key)
            if value is not None and not isinstance(value, str):
                return f"{where}/{key} is {_kind_of(value)}, not a string"
        inner = obj.get("config")
        if obj.get("class_name") == "__keras_tensor__" and isinstance(inner, dict):
            problem = _history_problem(inner.get("keras_history"), f"{where}/config/keras_history")
            if problem is not None:
                return problem
        if isinstance(inner, dict) and "layers" in inner and obj.get("class_name") in ("Functional", "Sequential", "Model"):
            layers = inner["layers"]
            if not isinstance(layers, list):
                return f"{where}/config/layers is {_kind_of(layers)}, not a list of layers"
            for index, layer in enumerate(layers):
                if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
                    return f"{where}/config/layers/{index} is {_kind_of(layer)}, not a layer"
    return None


MAX_INDEX = 2**20
"""Calls of one layer, or outputs of one call, that a configuration may refer to."""


def _history_problem(history: Any, where: str) -> str | None:
    """What is wrong with a tensor's ``keras_history`` (layer name, call index, output index)."""
    if not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str):
        return f"{where} is not a layer name with a call and an output index"
    for position, index in ((1, history[1]), (2, history[2])):
        if type(index) is not int or not 0 <= index < MAX_INDEX:
            return f"{where}/{position} is {index!r}, not the index of a layer's call or output"
    return None


def _kind_of(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def config_findings(objects: list[tuple[str, dict]]) -> list[Finding]:
    """The code, classes, functions and paths a model configuration names.

    Args:
        objects: The configuration's objects (:func:`walk_objects`), which passed
            :func:`structure_problem`.

    Returns:
        The findings, outermost object first.
    """
    findings = []
    for where, obj in objects:
        class_name = obj.get("class_name")
        inner = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        name = inner.get("name") if isinstance(inner.get("name"), str) else class_name
        if class_name == "Lambda":
            findings.append(Finding("lambda", where, f"Lambda layer {name} holds Python code that loading would run", name))
        elif class_name == "__lambda__":
            continue  # the Lambda's own function, reported with its layer
        elif class_name == "TFSMLayer":
            target = inner.get("filepath")
            findings.append(
                Finding("tfsm_layer", where, f"TFSMLayer {name} loads a TensorFlow SavedModel from {target!r}", name)
            )
            continue  # its path is the finding
        else:
            finding = _module_finding(where, obj)
            if finding is not None:
                findings.append(finding)
        for key in PATH_KEYS:
            value = inner.get(key)
            if isinstance(value, str) and value.strip():
                findings.append(
                    Finding(
                        "file_reference",
                        f"{where}/config/{key}",
                        f"{class_name} {name} names the file {value!r} as its {key}; it would be read",
                    )
                )
    return findings


def _module_finding(where: str, obj: dict) -> Finding | None:
    """The finding for an object Keras would take from outside its own packages, if it is one."""
    module = obj.get("module")
    if not module:
        return None
    package = module.split(".", 1)[0]
    class_name = obj["class_name"]
    is_function = class_name == "function"
    name = obj.get("config") if is_function and isinstance(obj.get("config"), str) else class_name
    registered = obj.get("registered_name") or name
    if package == "builtins":
        return None  # Keras looks these names up among its own functions only
    if package in KERAS_PACKAGES:
        if package != "keras" and not _importable(package):
            return Finding(
                "module",
                where,
                f"{name} comes from {module}, and {package} is not installed here (pip install {KERAS_PACKAGES[package]})",
                package,
            )
        return None
    what = "function" if is_function else "class"
    if is_function and ">" not in registered and package != "__main__" and _importable(package):
        return Finding("module", where, f"function {name} from module {module}, which is not part of Keras", package)
    return Finding(
        "custom_class", where, f"custom {what} {registered} (module {module}) must be defined here to load", registered
    )


def _importable(package: str) -> bool:
    """Whether a top-level package is installed here (found, not imported: nothing runs)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def hdf5_findings(handle, file_size: int, prefix: str = "") -> list[Finding]:
    """Links, external storage, virtual datasets and oversized datasets in an HDF5 file.

    Reads only metadata, through h5py's low-level API (a tenth of the high-level API's time on
    ten thousand datasets): no link is followed and no dataset's data is read.

    Args:
        handle: An open ``h5py.File``.
        file_size: The size of the file on disk (for an archive member, the archive's size).
        prefix: Put before each HDF5 path in :attr:`Finding.where` (``"model.weights.h5:"``).
    """
    from h5py import h5d, h5l, h5o

    links: list[tuple[bytes, int]] = []
    handle.id.links.visit(lambda name, info: links.append((name, info.type)), info=True)
    findings = []
    for name, kind in links:
        where = f"{prefix}/{name.decode('utf-8', 'replace')}"
        if kind == h5l.TYPE_EXTERNAL:
            file_name, target = _external_target(handle.id, name)
            findings.append(Finding("hdf5_external", where, f"external link to {target} in file {file_name!r}"))
        elif kind == h5l.TYPE_SOFT:
            target = handle.id.links.get_val(name).decode("utf-8", "replace")
            findings.append(Finding("hdf5_external", where, f"soft link to {target}"))
        elif kind == h5l.TYPE_HARD:
            item = h5o.open(handle.id, name)
            if isinstance(item, h5d.DatasetID):
                finding = _dataset_finding(item, where, file_size)
                if finding is not None:
                    findings.append(finding)
        else:
            findings.append(Finding("hdf5_external", where, "user-defined link"))
    return findings


def _external_target(group_id, name: bytes) -> tuple[str, str]:
    """The file and object an external link names (read from the link, not followed)."""
    file_name, target = group_id.links.get_val(name)
    return file_name.decode("utf-8", "replace"), target.decode("utf-8", "replace")


def _dataset_finding(dataset, where: str, file_size: int) -> Finding | None:
    from h5py import h5d

    plist = dataset.get_create_plist()
    if plist.get_layout() == h5d.VIRTUAL:
        sources = sorted({plist.get_virtual_filename(i) for i in range(plist.get_virtual_count())})
        return Finding("hdf5_external", where, f"virtual dataset whose data is in {', '.join(sources)}")
    if plist.get_external_count():
        files = sorted({plist.get_external(i)[0].decode("utf-8", "replace") for i in range(plist.get_external_count())})
        return Finding("hdf5_external", where, f"dataset stored in external file {', '.join(files)}")
    space = dataset.get_space()
    shape = space.get_simple_extent_dims() if space.get_simple_extent_type() == 1 else ()
    declared = space.get_simple_extent_npoints() * dataset.get_type().get_size()
    if too_big(declared, file_size):
        return Finding(
            "size", where, f"dataset of shape {tuple(shape)} declares {declared:,} bytes in a file of {file_size:,} bytes"
        )
    return None
