"""Comparing two models or checkpoints layer by layer, with the hierarchy of nested models kept.

Layers are matched by path; those left over are matched by name and class (a transfer model's
``base/conv`` against the base model's own ``conv``). A matched layer is ``same`` or
``changed`` (which configuration keys differ, its trainable flag, its output shape, its
weights); a layer only in A is ``removed``, only in B ``added``. Each layer lists its own
variables (not those of the layers inside it) with the relative change ``‖B − A‖ / ‖A‖``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generator

import numpy as np

from inspector.jobs import Progress

STATUSES = ("same", "changed", "added", "removed")
IGNORED_CONFIG_KEYS = frozenset({"name", "trainable"})
"""Configuration keys that are not compared as such: the name (layers are matched by it or by
their path) and the trainable flag (reported as ``trainable``)."""


@dataclass
class VariableDiff:
    """One variable of a matched layer.

    Attributes:
        path: The variable's path in B (in A when B lacks it).
        shape_a: Its shape in A, or ``None`` when A lacks it.
        shape_b: Its shape in B, or ``None`` when B lacks it.
        relative_change: ``‖B − A‖ / ‖A‖``; ``None`` when the shapes differ or a side lacks it
            (or when A is all zeros and B is not).
    """

    path: str
    shape_a: tuple | None
    shape_b: tuple | None
    relative_change: float | None


@dataclass
class LayerDiff:
    """One layer of either model.

    Attributes:
        path: Its path in A (in B for an added layer).
        path_b: Its path in B when it differs from ``path`` (matched by name and class).
        class_name: Its class.
        status: One of :data:`STATUSES`.
        changes: What differs: configuration keys, ``trainable``, ``output_shape``,
            ``weights``.
        variables: Its own variables, matched by name.
    """

    path: str
    class_name: str
    status: str
    path_b: str | None = None
    changes: list[str] = field(default_factory=list)
    variables: list[VariableDiff] = field(default_factory=list)

    @property
    def largest_change(self) -> float | None:
        """The largest relative change of the layer's variables, if any has one."""
        values = [v.relative_change for v in self.variables if v.relative_change is not None]
        return max(values) if values else None


@dataclass
class ModelDiff:
    """Two models compared.

    Attributes:
        a: What A is (its file).
        b: What B is.
        layers: A's layers in order (matched, changed or removed), then the layers only B has.
    """

    a: str
    b: str
    layers: list[LayerDiff]

    @property
    def summary(self) -> dict[str, int]:
        """How many layers have each status."""
        counts = Counter(layer.status for layer in self.layers)
        return {status: counts.get(status, 0) for status in STATUSES}

    def as_dict(self) -> dict:
        """The JSON object ``keras-inspector --diff`` prints."""
        return {
            "a": self.a,
            "b": self.b,
            "layers": [
                {
                    "path": layer.path,
                    **({"path_b": layer.path_b} if layer.path_b else {}),
                    "class_name": layer.class_name,
                    "status": layer.status,
                    "changes": layer.changes,
                    "variables": [
                        {
                            "path": v.path,
                            "shape_a": None if v.shape_a is None else list(v.shape_a),
                            "shape_b": None if v.shape_b is None else list(v.shape_b),
                            "relative_change": v.relative_change,
                        }
                        for v in layer.variables
                    ],
                }
                for layer in self.layers
            ],
            "summary": self.summary,
        }


def diff_models(model_a, info_a, model_b, info_b) -> ModelDiff:
    """Compares two live models with their descriptions.

    Args:
        model_a: Model A (variable values are read from it).
        info_a: Its :class:`~inspector.model.model_info.ModelInfo`.
        model_b: Model B.
        info_b: Its description.
    """
    values_a = _values(model_a, info_a)
    values_b = _values(model_b, info_b)
    layers_a, layers_b = info_a.layer_index(), info_b.layer_index()
    pairs = _match(layers_a, layers_b)
    matched_b = set(pairs.values())
    result = []
    for path, layer in layers_a.items():
        other = pairs.get(path)
        if other is None:
            result.append(LayerDiff(path, layer.class_name, "removed", variables=_one_sided(values_a, path, "a")))
            continue
        result.append(_compare(layer, layers_b[other], values_a, values_b))
    for path, layer in layers_b.items():
        if path not in matched_b:
            result.append(LayerDiff(path, layer.class_name, "added", variables=_one_sided(values_b, path, "b")))
    return ModelDiff(str(info_a.file or info_a.name), str(info_b.file or info_b.name), result)


def _values(model, info) -> dict[str, list[tuple[str, str, object]]]:
    """Per owning layer path, its own variables: ``(name in the layer, path, variable)``."""
    owned: dict[str, list] = {}
    for variable_info, variable in zip(info.variables, model.weights):
        name = variable_info.path.rsplit("/", 1)[-1]
        owned.setdefault(variable_info.layer, []).append((name, variable_info.path, variable))
    return owned


def _match(layers_a: dict, layers_b: dict) -> dict[str, str]:
    """A's layer paths -> B's: the same path, else a unique layer of the same name and class."""
    pairs = {path: path for path in layers_a if path in layers_b and layers_a[path].class_name == layers_b[path].class_name}
    taken = set(pairs.values())
    left_b: dict[tuple[str, str], list[str]] = {}
    for path, layer in layers_b.items():
        if path not in taken:
            left_b.setdefault((layer.name, layer.class_name), []).append(path)
    for path, layer in layers_a.items():
        if path in pairs:
            continue
        candidates = left_b.get((layer.name, layer.class_name), [])
        if len(candidates) == 1:
            pairs[path] = candidates.pop()
    return pairs


def _compare(layer_a, layer_b, values_a: dict, values_b: dict) -> LayerDiff:
    changes = sorted(
        key
        for key in set(layer_a.config) | set(layer_b.config)
        if key not in IGNORED_CONFIG_KEYS and layer_a.config.get(key) != layer_b.config.get(key)
    )
    if layer_a.trainable != layer_b.trainable:
        changes.append("trainable")
    if layer_a.output_shapes != layer_b.output_shapes:
        changes.append("output_shape")
    variables = _variable_diffs(values_a.get(layer_a.path, []), values_b.get(layer_b.path, []))
    if any(v.relative_change != 0 for v in variables):
        changes.append("weights")
    return LayerDiff(
        layer_a.path,
        layer_a.class_name,
        "changed" if changes else "same",
        path_b=layer_b.path if layer_b.path != layer_a.path else None,
        changes=changes,
        variables=variables,
    )


def _keyed(owned: list) -> dict:
    """Variables by their name in the layer, numbered when a name repeats."""
    seen: Counter = Counter()
    keyed = {}
    for name, path, variable in owned:
        keyed[(name, seen[name])] = (path, variable)
        seen[name] += 1
    return keyed


def _variable_diffs(owned_a: list, owned_b: list) -> list[VariableDiff]:
    keyed_a, keyed_b = _keyed(owned_a), _keyed(owned_b)
    diffs = []
    for key in list(keyed_a) + [k for k in keyed_b if k not in keyed_a]:
        path_a, variable_a = keyed_a.get(key, (None, None))
        path_b, variable_b = keyed_b.get(key, (None, None))
        shape_a = None if variable_a is None else tuple(variable_a.shape)
        shape_b = None if variable_b is None else tuple(variable_b.shape)
        change = None
        if shape_a is not None and shape_a == shape_b:
            change = relative_change(np.asarray(variable_a), np.asarray(variable_b))
        diffs.append(VariableDiff(path_b or path_a, shape_a, shape_b, change))
    return diffs


def relative_change(a: np.ndarray, b: np.ndarray) -> float | None:
    """``‖b − a‖ / ‖a‖`` in float64; 0 when both are equal, ``None`` when ``a`` is all zeros
    and ``b`` is not."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(np.linalg.norm(b - a))
    if difference == 0:
        return 0.0
    base = float(np.linalg.norm(a))
    return None if base == 0 else difference / base


def _one_sided(values: dict, path: str, side: str) -> list[VariableDiff]:
    return [
        VariableDiff(var_path, tuple(v.shape) if side == "a" else None, tuple(v.shape) if side == "b" else None, None)
        for _, var_path, v in values.get(path, [])
    ]


def diff_files_job(path_a: str | Path, path_b: str | Path) -> Generator[Progress, None, ModelDiff]:
    """Opens two model files (as the window does, refusing unsafe ones) and compares them.

    Raises:
        ModelLoadError: A file cannot be opened; the error names it and why.
    """
    from inspector.model.jobs import open_model_job

    opened_a = yield from open_model_job(path_a)
    opened_b = yield from open_model_job(path_b)
    yield Progress("Comparing the layers and variables…")
    return diff_models(opened_a.model, opened_a.info, opened_b.model, opened_b.info)
