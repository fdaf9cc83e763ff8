"""What training changed: per-layer weight changes between two moments or two checkpoints.

A *snapshot* is a copy of every variable's value in ``model.weights`` order. Comparing a snapshot
taken before ``fit`` with the values after it says, for each layer, how far its weights moved,
and flags the layers that moved although they are frozen, which is the usual sign of a
fine-tuning mistake (a layer frozen after ``compile()`` without compiling again, or a
BatchNormalization layer left trainable inside a frozen base).

When is a layer *frozen*, and when is its moving an error?

- A layer is **frozen** when it owns variables and none of them is trainable now. A
  BatchNormalization layer whose own ``trainable`` flag is True is never frozen, even when it has
  no trainable variable (``center=False, scale=False``): in training mode it updates its moving
  mean and variance.
- A frozen layer **moved while frozen** when any of its variables changed at all (element by
  element; a NaN where there was a NaN counts as unchanged). Every variable counts, moving
  statistics included: a frozen BatchNormalization layer runs in inference mode and must not
  update them (Keras 3).
- A layer that is not frozen is never flagged. The moving mean and variance of a trainable
  BatchNormalization layer are not trainable variables, yet ``fit`` updates them as it should.

Flags are read when the comparison is made: a layer unfrozen for training and frozen again
afterwards is judged as frozen.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generator

import numpy as np

from inspector.jobs import Progress


def snapshot(model) -> list[np.ndarray]:
    """Copies the value of every variable of a model.

    Args:
        model: A Keras model.

    Returns:
        One array per variable, in ``model.weights`` order (paths need not be unique, so the
        position identifies the variable).
    """
    return [np.array(variable.numpy(), copy=True) for variable in model.weights]


@dataclass(frozen=True)
class LayerChange:
    """How far the variables of one layer moved.

    Attributes:
        layer: Path of the layer, as in :class:`~inspector.model.model_info.LayerInfo` (the innermost
            layer that owns the variables).
        relative: ``‖W_after − W_before‖ / ‖W_before‖``, Frobenius norms over all the layer's
            variables together; 0 when nothing changed, ``inf`` when every value was 0 before
            and some are not after.
        absolute: ``‖W_after − W_before‖``.
        frozen: The layer has variables and none is trainable (see the module docstring for
            BatchNormalization).
        moved_while_frozen: The layer is frozen and some of its variables changed: an error.
        variables: ``(variable path, relative change)`` of each of its variables.
    """

    layer: str
    relative: float
    absolute: float
    frozen: bool
    moved_while_frozen: bool
    variables: tuple[tuple[str, float], ...]

    @property
    def changed(self) -> bool:
        """Whether any variable of the layer changed."""
        return self.absolute != 0 or math.isnan(self.absolute)


@dataclass
class ModelComparison:
    """The weight changes between two models of the same architecture.

    Attributes:
        changes: Per-layer changes from the first model to the second, over the variables
            found in both with the same shape, named after the first model's layers.
        only_in_first: Paths of variables of the first model the second lacks.
        only_in_second: Paths of variables of the second model the first lacks.
        shape_mismatch: ``(path, shape in first, shape in second)`` of variables found in both
            with different shapes (left out of ``changes``).
    """

    changes: list[LayerChange]
    only_in_first: list[str] = field(default_factory=list)
    only_in_second: list[str] = field(default_factory=list)
    shape_mismatch: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every variable of both models was compared."""
        return not (self.only_in_first or self.only_in_second or self.shape_mismatch)


def weight_changes(model, before: list[np.ndarray], after: list[np.ndarray] | None = None) -> list[LayerChange]:
    """Per-layer changes between two sets of values of a model's variables.

    Args:
        model: The Keras model; its layers name the changes and its flags say what is frozen.
        before: Values in ``model.weights`` order, e.g. from :func:`snapshot` before ``fit``.
        after: Values in the same order; the model's current values by default.

    Returns:
        One change per layer that owns variables, in model order (a nested model's layers
        follow it).

    Raises:
        ValueError: ``before`` or ``after`` does not fit the model's variables.
    """
    weights = list(model.weights)
    after = snapshot(model) if after is None else after
    for name, values in (("before", before), ("after", after)):
        _check_values(weights, values, name)
    pairs = {i: (before[i], after[i]) for i in range(len(weights))}
    return _layer_changes(model, pairs)


def compare_models(first, second) -> ModelComparison:
    """Compares the weights of two models of the same architecture (e.g. two checkpoints).

    Variables are matched by ``variable.path``; when several variables share a path (nested
    models holding layers of the same name), the k-th of the first model is matched with the
    k-th of the second.

    Args:
        first: The reference: changes are measured from it and named after its layers, and its
            flags say which layers are frozen.
        second: The other model.

    Returns:
        The changes of the matched variables and the variables that could not be compared.
    """
    by_path: dict[str, deque] = defaultdict(deque)
    for j, variable in enumerate(second.weights):
        by_path[variable.path].append(j)
    second_weights = list(second.weights)
    comparison = ModelComparison(changes=[])
    pairs = {}
    for i, variable in enumerate(first.weights):
        candidates = by_path.get(variable.path)
        if not candidates:
            comparison.only_in_first.append(variable.path)
            continue
        other = second_weights[candidates.popleft()]
        shapes = (_shape(variable), _shape(other))
        if shapes[0] != shapes[1]:
            comparison.shape_mismatch.append((variable.path, *shapes))
            continue
        pairs[i] = (variable.numpy(), other.numpy())
    comparison.only_in_second = [
        second_weights[j].path for j in sorted(j for rest in by_path.values() for j in rest)
    ]
    comparison.changes = _layer_changes(first, pairs)
    return comparison


def compare_files_job(model, path: str | Path) -> Generator[Progress, None, ModelComparison]:
    """Loads a model file (in safe mode) and compares the open model's weights with it.

    Args:
        model: The open model, the reference (see :func:`compare_models`).
        path: A ``.keras`` or ``.h5`` file of the same architecture.

    Returns:
        Changes from ``model`` to the file's model.

    Raises:
        ModelLoadError: The file cannot be loaded; the message names the file and the reason.
    """
    from inspector.model.loading import load
    from inspector.memory import collection_paused, dismantle

    name = Path(path).name
    yield Progress(f"Loading {name} to compare…")
    with collection_paused():
        other = load(path).model
    try:
        yield Progress(f"Comparing the weights with {name}…")
        return compare_models(model, other)
    finally:
        dismantle(other)


# --- Internals --------------------------------------------------------------------------------


def _check_values(weights: list, values: list, name: str) -> None:
    if len(values) != len(weights):
        raise ValueError(
            f"{name} holds {len(values)} arrays but the model has {len(weights)} variables; "
            "take the snapshot from the same model"
        )
    for variable, value in zip(weights, values):
        if tuple(np.shape(value)) != _shape(variable):
            raise ValueError(
                f"{name}: the value for {variable.path} has shape {tuple(np.shape(value))}, "
                f"the variable {_shape(variable)}"
            )


def _shape(variable) -> tuple[int, ...]:
    return tuple(int(d) for d in variable.shape)


def _layer_changes(model, pairs: dict[int, tuple]) -> list[LayerChange]:
    """Changes per owning layer, from ``(before, after)`` values by index in ``model.weights``."""
    from inspector.model.describe import _variable_owners, walk_layers  # the owner rule the views use

    weights = list(model.weights)
    owners = _variable_owners(model)
    by_layer: dict[str, list[int]] = defaultdict(list)
    for i in pairs:
        by_layer[owners.get(id(weights[i]), "")].append(i)
    layers = {path: layer for path, layer, _ in walk_layers(model)}
    order = [path for path in layers if path in by_layer] + ([""] if "" in by_layer else [])
    return [
        _layer_change(path, layers.get(path), [weights[i] for i in by_layer[path]], [pairs[i] for i in by_layer[path]])
        for path in order
    ]


def _layer_change(path: str, layer, variables: list, pairs: list[tuple]) -> LayerChange:
    diff_sq = base_sq = 0.0
    moved = False
    per_variable = []
    for variable, (before, after) in zip(variables, pairs):
        d, b, changed = _norms(before, after)
        diff_sq, base_sq = diff_sq + d, base_sq + b
        moved = moved or changed
        per_variable.append((variable.path, _relative(d, b, changed)))
    frozen = _is_frozen(layer, variables)
    return LayerChange(
        layer=path,
        relative=_relative(diff_sq, base_sq, moved),
        absolute=math.sqrt(diff_sq) if moved else 0.0,
        frozen=frozen,
        moved_while_frozen=frozen and moved,
        variables=tuple(per_variable),
    )


def _norms(before, after) -> tuple[float, float, bool]:
    """Squared norms of the difference and of ``before``, and whether anything changed."""
    before = np.asarray(before)
    after = np.asarray(after)
    if before.dtype.kind not in "biufc" or after.dtype.kind not in "biufc":
        changed = not np.array_equal(before, after)
        return (1.0 if changed else 0.0), 1.0, changed
    b = before.astype(np.float64, copy=False).ravel()
    d = after.astype(np.float64, copy=False).ravel() - b
    differs = d != 0
    if np.isnan(d).any():  # NaN in either: a NaN in both places is no change
        both_nan = np.isnan(b) & np.isnan(after.astype(np.float64, copy=False).ravel())
        differs = (d != 0) & ~both_nan
        d = np.where(both_nan, 0.0, d)
    changed = bool(differs.any())
    return float(np.dot(d, d)), float(np.dot(b, b)), changed


def _relative(diff_sq: float, base_sq: float, changed: bool) -> float:
    if not changed:
        return 0.0
    if base_sq == 0:
        return math.inf
    return math.sqrt(diff_sq / base_sq)


def _is_frozen(layer, variables: list) -> bool:
    if not variables or any(v.trainable for v in variables):
        return False
    if layer is not None and _is_batch_norm(layer) and layer.trainable:
        return False  # updates its moving statistics in training mode
    return True


def _is_batch_norm(layer) -> bool:
    from inspector.tfimport import keras

    return isinstance(layer, keras.layers.BatchNormalization)
