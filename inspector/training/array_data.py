"""Training data from NumPy arrays named like the model's inputs and outputs.

:func:`array_data` reads an ``.npz`` file (whole, into memory) or a folder of ``.npy`` files
(memory-mapped, only each batch's rows read) for ``model.fit``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspector.errors import InputDataError, TrainingDataError
from inspector.inputs.input_data import InputSpec, _batch_size, _cast, input_specs, open_numpy, shape_text
from inspector.training.training_data import (
    Order,
    OutputSpec,
    Reader,
    Tracker,
    TrainingData,
    batches,
    check_batch,
    check_split,
    class_notes,
    class_weights,
    output_specs,
    split_description,
)

_LABEL_ARRAYS = ("y", "labels", "label", "targets", "arr_1")
_INPUT_ARRAYS = ("x", "inputs", "features", "arr_0")
_WEIGHT_ARRAYS = ("sample_weight", "sample_weights")


class _ArrayReader(Reader):
    def __init__(self, inputs, outputs, weights, specs, order, single_input, single_output):
        self.inputs, self.outputs, self.weights, self.specs = inputs, outputs, weights, specs
        self.order, self.single_input, self.single_output = order, single_input, single_output

    def batch(self, index: int) -> tuple:
        rows = np.sort(self.order.batch(index))
        x = {name: _cast(np.asarray(array[rows]), self.specs[name], name) for name, array in self.inputs.items()}
        y = {name: _label_array(array[rows]) for name, array in self.outputs.items()}
        x = next(iter(x.values())) if self.single_input else x
        y = next(iter(y.values())) if self.single_output else y
        if self.weights is not None:
            return x, y, np.asarray(self.weights[rows], dtype=np.float32)
        return x, y


def _label_array(array) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind == "f" and array.dtype != np.float32:
        return array.astype(np.float32)
    if array.dtype.kind == "b":
        return array.astype(np.float32)
    return array


def array_data(
    path: str | Path,
    model,
    *,
    validation_split: float = 0.2,
    validation_path: str | Path | None = None,
    batch_size: int = 32,
    seed: int = 0,
) -> TrainingData:
    """Training batches from NumPy arrays named like the model's inputs and outputs.

    ``path`` is an ``.npz`` file or a folder of ``.npy`` files (``image_input.npy``,
    ``main_output.npy``, ...). An ``.npz`` member is read whole into memory when the source is
    built (it sits in a zip archive and cannot be mapped); ``.npy`` files in a folder are
    memory-mapped, so only each batch's rows are read: use a folder for data larger than memory.

    Arrays are matched by input and output name; a model with one input also takes ``x`` /
    ``inputs`` / ``features`` / ``arr_0``, one with one output ``y`` / ``labels`` / ``label`` /
    ``targets`` / ``arr_1``. An array named ``sample_weight`` gives per-sample weights.

    Args:
        path: The ``.npz`` file or the folder of ``.npy`` files.
        model: The Keras model.
        validation_split: Fraction of the samples kept for validation (seeded).
        validation_path: Separate validation arrays, as ``path``; the split is then not used.
        batch_size: Samples per batch.
        seed: Seeds the split and the shuffling.

    Returns:
        The data; ``class_weight`` is offered when one output takes integer class ids.

    Raises:
        TrainingDataError: The arrays cannot be read, lack an input or output, disagree in
            sample count, or do not fit the model (see
            :func:`~inspector.training.training_data.check_batch`).
    """
    path = Path(path)
    check_split(validation_split)
    specs = input_specs(model)
    outputs = output_specs(model)
    if not specs or not outputs:
        raise TrainingDataError("This model declares no inputs or outputs (a subclassed model): use your own generator")
    arrays, notes = _open_arrays(path)
    chosen = _match_arrays(path, arrays, specs, outputs)
    count = _sample_count(path, chosen)
    if validation_path is not None:
        v_arrays, _ = _open_arrays(Path(validation_path))
        v_chosen = _match_arrays(Path(validation_path), v_arrays, specs, outputs)
        train_idx, val_idx = np.arange(count), None
        v_count = _sample_count(Path(validation_path), v_chosen)
    else:
        permutation = np.random.default_rng(seed).permutation(count)
        n_val = int(round(count * validation_split))
        if validation_split > 0 and count > 1:
            n_val = min(max(n_val, 1), count - 1)
        train_idx, val_idx = np.sort(permutation[n_val:]), np.sort(permutation[:n_val])
        v_chosen, v_count = chosen, len(val_idx)
    skipped: list[tuple[str, str]] = []
    tracker = Tracker(skipped)
    by_name = {s.name: s for s in specs}

    def reader(parts, indices, shuffle):
        inputs, labels, weights = parts
        return _ArrayReader(
            inputs, labels, weights, by_name, Order(indices, batch_size, seed, shuffle), len(specs) == 1, len(outputs) == 1
        )

    train_reader = reader(chosen, train_idx, True)
    v_indices = np.arange(v_count) if val_idx is None else val_idx
    v_reader = reader(v_chosen, v_indices, False) if len(v_indices) else None
    check_batch(model, train_reader.batch(0))
    if v_reader is not None and v_chosen is not chosen:
        check_batch(model, v_reader.batch(0))
    class_names, weights = _array_classes(chosen[1], outputs, train_idx, notes)
    return TrainingData(
        train=batches(train_reader, tracker),
        validation=batches(v_reader, tracker) if v_reader is not None else None,
        class_names=class_names,
        class_weight=weights,
        description=split_description(len(train_idx), len(v_indices), "sample", None) + f" (arrays in {path.name})",
        skipped=skipped,
        notes=notes,
        _tracker=tracker,
    )


def _open_arrays(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".npy" and not p.name.startswith("."))
        if not files:
            raise TrainingDataError(f"{path} holds no .npy files (one per input and output, named like them)")
        return {p.stem: _load_npy(p) for p in files}, [
            f"Arrays in {path.name} are memory-mapped: each batch reads only its rows"
        ]
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".npy":
        raise TrainingDataError(
            f"{path.name} holds one array; training needs inputs and labels: use an .npz, or a folder of .npy "
            "files named like the model's inputs and outputs"
        )
    data = _load_npy(path)
    with data:
        arrays = {key: _npz_member(path, data, key) for key in data.files}
    note = (
        f"{path.name}: arrays in an .npz are read whole into memory (it is a zip archive); for data larger "
        "than memory use a folder of .npy files named like the inputs and outputs (memory-mapped)"
    )
    return arrays, [note]


def _load_npy(path: Path):
    try:
        return open_numpy(path).data
    except TrainingDataError:
        raise
    except InputDataError as error:
        raise TrainingDataError(str(error)) from error


def _npz_member(path: Path, data, key: str) -> np.ndarray:
    try:
        return data[key]
    except Exception as exc:  # noqa: BLE001
        raise TrainingDataError(f"{path.name}: '{key}' cannot be read ({exc})") from exc


def _match_arrays(path: Path, arrays: dict[str, np.ndarray], specs: list[InputSpec], outputs: list[OutputSpec]):
    held = ", ".join(f"'{k}'" for k in arrays) or "no arrays"

    def find(name: str, aliases: tuple[str, ...], what: str) -> np.ndarray:
        for key in (name, *aliases):
            if key in arrays:
                return arrays[key]
        raise TrainingDataError(f"{path.name} has no array for {what} '{name}' (it holds {held})")

    inputs = {s.name: find(s.name, _INPUT_ARRAYS if len(specs) == 1 else (), "input") for s in specs}
    labels = {o.name: find(o.name, _LABEL_ARRAYS if len(outputs) == 1 else (), "output") for o in outputs}
    for spec in specs:
        array = inputs[spec.name]
        if array.ndim != len(spec.shape) + 1 or _batch_size(array.shape, spec.shape) is None:
            raise TrainingDataError(
                f"Input '{spec.name}' expects {shape_text(('N',) + spec.shape)}; {path.name} holds "
                f"{shape_text(array.shape)}"
            )
    weights = next((arrays[k] for k in _WEIGHT_ARRAYS if k in arrays), None)
    return inputs, labels, weights


def _sample_count(path: Path, chosen) -> int:
    inputs, labels, weights = chosen
    counts = {f"'{k}'": len(v) for k, v in {**inputs, **labels}.items()}
    if weights is not None:
        counts["sample_weight"] = len(weights)
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{k} {n:,}" for k, n in counts.items())
        raise TrainingDataError(f"{path.name}: the arrays hold different numbers of samples ({listed})")
    count = next(iter(counts.values()))
    if count == 0:
        raise TrainingDataError(f"{path.name}: the arrays hold no samples")
    return count


def _array_classes(labels: dict[str, np.ndarray], outputs: list[OutputSpec], train_idx: np.ndarray, notes: list[str]):
    """Class names and weights when one output takes whole-number class ids."""
    if len(outputs) != 1 or outputs[0].units is None:
        return None, None
    array = np.asarray(next(iter(labels.values())))
    if array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1) or array.dtype.kind not in "biu":
        return None, None
    ids = array.reshape(-1)[train_idx]
    classes = max(outputs[0].units, 2)
    if ids.size == 0 or ids.min() < 0 or ids.max() >= classes:
        return None, None
    counts = {c: int(n) for c, n in enumerate(np.bincount(ids, minlength=classes))}
    names = [str(c) for c in range(classes)]
    notes += class_notes(counts, names)
    return names, class_weights(counts)
