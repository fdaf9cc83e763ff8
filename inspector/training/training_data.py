"""Where training data comes from: image class folders, NumPy arrays, text, or the user's own
generator, always streamed to ``model.fit`` batch by batch.

Each source returns a :class:`TrainingData` whose ``train`` and ``validation`` are what
``model.fit(x=..., validation_data=...)`` takes: a ``keras.utils.PyDataset`` for folders, arrays
and text, a ``tf.data.Dataset`` (or the user's own ``PyDataset``) for generators. Batches are
``(x, y)`` or ``(x, y, sample_weight)``; ``x`` and ``y`` are dicts by input and output name for
models with several inputs or outputs, plain arrays otherwise.

TensorFlow reads Python batches through ``tf.data``, which reports any exception raised while
reading one as a ``tf.errors.UnknownError``. The sources here record their own failure first;
run ``fit`` inside :func:`data_errors` to get it back as a :class:`TrainingDataError`.

Importing this module stays cheap: Keras is imported when a data source is built.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import threading
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from inspector.training.augmentation import AugmentationSettings, apply_augmentation, build_augmentation
from inspector.errors import InputDataError, TrainingDataError
from inspector.inputs.input_range import range_warnings
from inspector.inputs.input_data import (
    InputSpec,
    _batch_size,
    _cast,
    _check_mode,
    _is_image_name,
    find_images,
    input_specs,
    numpy_dtype,
    open_numpy,
    preprocess,
    read_image,
    shape_text,
)
from inspector.inputs.sequences import (
    TEXT_NEEDS_VOCABULARY,
    PadOptions,
    Vocabulary,
    _read_text,
    _unknown_notes,
    model_sequence_length,
    pad,
)

TEXT_SCAN = 2000  # texts read when a source is built, for the padded length and unknown tokens
_LABEL_ARRAYS = ("y", "labels", "label", "targets", "arr_1")
_INPUT_ARRAYS = ("x", "inputs", "features", "arr_0")
_WEIGHT_ARRAYS = ("sample_weight", "sample_weights")
_IMBALANCE = 1.5  # largest / smallest class count above which the user is told
_DENSE_LOSSES = {  # built-in losses that take labels shaped like the output, never class ids
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "kl_divergence", "huber",
    "log_cosh", "poisson", "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge",
}


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------


class _Tracker:
    """What a data source met while reading, shared by its batches on any thread.

    Args:
        skipped: The list that collects ``(file, reason)`` of unreadable files.
    """

    def __init__(self, skipped: list[tuple[str, str]]):
        self.skipped = skipped
        self.failure: TrainingDataError | None = None
        self._bad: set[str] = set()
        self._lock = threading.Lock()

    def is_bad(self, name: str) -> bool:
        return name in self._bad

    def skip(self, name: str, reason: str) -> None:
        with self._lock:
            if name not in self._bad:
                self._bad.add(name)
                self.skipped.append((name, reason))

    def fail(self, error: TrainingDataError) -> TrainingDataError:
        """Records the first failure; returns ``error`` for raising."""
        with self._lock:
            if self.failure is None:
                self.failure = error
        return error


@dataclass
class TrainingData:
    """Batches for keras fit: always streamed, never the whole data set in memory.

    Attributes:
        train: What ``model.fit`` takes as ``x`` (with ``y=None``): yields ``(x, y)`` or
            ``(x, y, sample_weight)``.
        validation: The same for ``validation_data``, or ``None``.
        class_names: Class names by label index, when labels are classes.
        class_weight: Balanced weights from the training class counts (``n / (k * count)``),
            to offer the user; ``None`` when labels are not classes of one output.
        description: One line for the user, e.g. ``"1,437 images in 10 classes for training,
            360 for validation"``.
        skipped: ``(file, reason)`` of each unreadable file met so far; grows during training.
        notes: Remarks for the user.
        preprocessing: The :data:`~inspector.inputs.input_data.PREPROCESSING` mode of images read
            from a folder, or ``None`` for other sources (to advise on a value range).
    """

    train: Any
    validation: Any | None
    class_names: list[str] | None = None
    class_weight: dict[int, float] | None = None
    description: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preprocessing: str | None = None
    _tracker: _Tracker | None = field(default=None, repr=False, compare=False)
    _first: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def failure(self) -> TrainingDataError | None:
        """The error met while reading a batch during training, if any."""
        return self._tracker.failure if self._tracker is not None else None


@contextmanager
def data_errors(data: TrainingData) -> Iterator[None]:
    """Reports a data source's own failure during ``fit`` as the :class:`TrainingDataError` it is.

    TensorFlow turns an exception raised while reading a batch into ``tf.errors.UnknownError``;
    inside this block it comes back as the source's error (with the user's traceback in
    ``details`` when their code failed).

    Example::

        with data_errors(data):
            model.fit(data.train, validation_data=data.validation, epochs=3)

    Args:
        data: The training data being used.

    Raises:
        TrainingDataError: The data source failed.
    """
    try:
        yield
    except TrainingDataError:
        raise
    except Exception as exc:
        if data.failure is None:
            raise
        raise data.failure from exc


def class_weights(counts: dict[int, int]) -> dict[int, float]:
    """Balanced class weights, as scikit-learn's ``compute_class_weight("balanced")``.

    Args:
        counts: Number of training samples by class index.

    Returns:
        ``n_samples / (n_classes * count)`` by class index, for classes with samples.
    """
    present = {int(c): int(n) for c, n in counts.items() if n > 0}
    total = sum(present.values())
    return {c: total / (len(present) * n) for c, n in sorted(present.items())}


def first_batch(data: TrainingData) -> tuple:
    """The first training batch, as NumPy arrays, to check it against the model.

    Args:
        data: Training data from any source here.

    Returns:
        ``(x, y)`` or ``(x, y, sample_weight)`` (``(x,)`` if the source gives no labels).

    Raises:
        TrainingDataError: The batch cannot be read.
    """
    if data._first is not None:
        return data._first
    train = data.train
    try:
        from inspector.tfimport import keras

        if isinstance(train, keras.utils.PyDataset):
            batch = train[0]
        else:
            batch = next(iter(train))
    except TrainingDataError:
        raise
    except StopIteration:
        raise TrainingDataError("The training data holds no batches") from None
    except Exception as exc:  # noqa: BLE001 - a failing source may raise anything
        if data.failure is not None:
            raise data.failure from exc
        raise TrainingDataError(
            f"Reading the first batch failed: {type(exc).__name__}: {exc}", traceback.format_exc()
        ) from exc
    return _numpy_batch(batch)


def _numpy_batch(batch) -> tuple:
    from inspector.tfimport import keras

    batch = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
    return tuple(keras.tree.map_structure(np.asarray, part) if part is not None else None for part in batch)


# ---------------------------------------------------------------------------------------------
# The model's outputs and losses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSpec:
    """What one model output gives.

    Attributes:
        name: The name of the layer that makes it, the key of ``y`` dicts.
        shape: The shape of one sample, without the batch axis.
        activation: ``"softmax"``, ``"sigmoid"``, ``"linear"``, ... or ``""`` when unknown.
    """

    name: str
    shape: tuple[int | None, ...]
    activation: str

    @property
    def units(self) -> int | None:
        """The size of the last axis (classes or values), if known."""
        return self.shape[-1] if self.shape else 1


def output_specs(model) -> list[OutputSpec]:
    """Describes each output of a model, in ``model.outputs`` order (none for subclassed models)."""
    specs = []
    for tensor in getattr(model, "outputs", None) or []:
        history = getattr(tensor, "_keras_history", None)
        layer = history.operation if history is not None else None
        name = layer.name if layer is not None else tensor.name
        shape = tuple(None if d is None else int(d) for d in tensor.shape[1:])
        specs.append(OutputSpec(name, shape, _activation(layer)))
    return specs


def _activation(layer) -> str:
    if layer is None:
        return ""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", "") if function is not None else ""


def model_losses(model) -> dict[str, str]:
    """The compiled loss of each output by output name, as plain names (empty when not compiled)."""
    loss = getattr(model, "loss", None)
    names = [spec.name for spec in output_specs(model)]
    if loss is None or not names:
        return {}
    if isinstance(loss, dict):
        return {name: _loss_name(value) for name, value in loss.items() if value is not None}
    if isinstance(loss, (list, tuple)):
        return {name: _loss_name(value) for name, value in zip(names, loss) if value is not None}
    return {name: _loss_name(loss) for name in names}


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        name = loss
    else:
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    return {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name.lower(), name.lower())


# ---------------------------------------------------------------------------------------------
# Checking a batch against the model
# ---------------------------------------------------------------------------------------------


def check_batch(model, batch, losses: dict[str, str] | None = None, preprocessing: str | None = None) -> list[str]:
    """Checks that a batch fits the model's inputs and outputs before training starts.

    Args:
        model: The Keras model.
        batch: ``(x, y)`` or ``(x, y, sample_weight)``, NumPy arrays or tensors.
        losses: The loss name of each output (default: the model's compiled losses).
        preprocessing: How the batch's images were preprocessed (see
            :attr:`TrainingData.preprocessing`), for the advice in the warnings.

    Returns:
        Warnings that do not stop training: inputs whose values are far from the range the
        model's own Rescaling or Normalization layer expects
        (:func:`~inspector.inputs.input_range.range_warnings`).

    Raises:
        TrainingDataError: One sentence naming the input or output, what it expects and what
            the batch holds: missing or unknown names, shapes, text for numbers, labels out
            of the output's range, labels that do not suit the loss.
    """
    batch = _numpy_batch(batch)
    if len(batch) < 2 or batch[1] is None:
        raise TrainingDataError("The batch holds inputs only; training needs (inputs, labels) batches")
    if len(batch) > 3:
        raise TrainingDataError(f"A batch is (x, y) or (x, y, sample_weight), not {len(batch)} items")
    specs = input_specs(model)
    counts: dict[str, int] = {}
    inputs = batch_inputs(model, batch)
    if specs:
        for spec in specs:
            counts[f"input '{spec.name}'"] = _check_input(spec, inputs[spec.name])
    outputs = output_specs(model)
    if outputs:
        labels = _by_name(batch[1], [o.name for o in outputs], "output")
        losses = model_losses(model) if losses is None else losses
        for output in outputs:
            counts[f"labels of '{output.name}'"] = _check_labels(output, labels[output.name], losses.get(output.name))
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{name} {n}" for name, n in counts.items())
        raise TrainingDataError(f"The batch's parts hold different numbers of samples: {listed}")
    return range_warnings(model, inputs, preprocessing)


def batch_inputs(model, batch) -> dict[str, np.ndarray]:
    """The inputs of an ``(x, ...)`` batch by model input name (empty for a subclassed model).

    Raises:
        TrainingDataError: The batch's inputs do not match the model's by name or number.
    """
    names = [spec.name for spec in input_specs(model)]
    return _by_name(_numpy_batch(batch)[0], names, "input") if names else {}


def _by_name(value, names: list[str], what: str) -> dict[str, np.ndarray]:
    listed = ", ".join(f"'{n}'" for n in names)
    if isinstance(value, dict):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise TrainingDataError(
                f"The batch has {what} '{unknown[0]}', which this model does not have (its {what}s: {listed})"
            )
        missing = [name for name in names if name not in value]
        if missing:
            held = ", ".join(f"'{k}'" for k in value) or "nothing"
            raise TrainingDataError(f"The batch has no data for {what} '{missing[0]}' (it holds {held})")
        return {name: np.asarray(value[name]) for name in names}
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise TrainingDataError(
                f"The model has {len(names)} {what}(s) ({listed}); the batch holds {len(value)}"
            )
        return {name: np.asarray(v) for name, v in zip(names, value)}
    if len(names) != 1:
        raise TrainingDataError(
            f"The model has {len(names)} {what}s ({listed}); the batch holds one array: "
            f"give a dict by {what} name"
        )
    return {names[0]: np.asarray(value)}


def _fits(shape: tuple, expected: tuple) -> bool:
    return len(shape) == len(expected) and all(e is None or e == d for d, e in zip(shape, expected))


def _check_input(spec: InputSpec, array: np.ndarray) -> int:
    expected = ("N",) + spec.shape
    if array.ndim == 0 or not _fits(array.shape[1:], spec.shape):
        raise TrainingDataError(
            f"Input '{spec.name}' expects {shape_text(expected)}; the batch holds {shape_text(array.shape)}"
        )
    text = array.dtype.kind in "OSU"
    if spec.dtype == "string" and not text:
        raise TrainingDataError(f"Input '{spec.name}' expects text; the batch holds {array.dtype} numbers")
    if spec.dtype != "string" and array.dtype.kind not in "biuf":
        raise TrainingDataError(f"Input '{spec.name}' expects numbers ({spec.dtype}); the batch holds {array.dtype} values")
    return len(array)


def _check_labels(output: OutputSpec, labels: np.ndarray, loss: str | None) -> int:
    name, shape, units = output.name, output.shape, output.units
    if labels.ndim == 0:
        raise TrainingDataError(f"Output '{name}' needs one label per sample; the batch holds a single value")
    if labels.dtype.kind not in "biuf":
        raise TrainingDataError(
            f"Output '{name}' needs numeric labels; the batch holds {labels.dtype} values (class names must "
            "become class indices)"
        )
    got = labels.shape[1:]
    flat = shape[:-1]
    is_ids = bool(shape) and got in (flat, flat + (1,))
    dense = _fits(got, shape) or (units == 1 and is_ids)
    wanted = f"(N, {', '.join('?' if d is None else str(d) for d in shape)})"
    if loss == "sparse_categorical_crossentropy":
        if not is_ids:
            raise TrainingDataError(
                f"Output '{name}' is trained with sparse_categorical_crossentropy, which takes class ids "
                f"(N,); the batch holds labels {shape_text(labels.shape)}"
            )
        _check_ids(name, labels, units)
    elif loss == "categorical_crossentropy":
        if not _fits(got, shape):
            raise TrainingDataError(
                f"Output '{name}' is trained with categorical_crossentropy, which takes one-hot labels "
                f"{wanted}; the batch holds {shape_text(labels.shape)}"
            )
    elif dense:
        pass
    elif is_ids and loss not in _DENSE_LOSSES:
        _check_ids(name, labels, units)
    else:
        raise TrainingDataError(
            f"Output '{name}' gives {wanted}; the batch holds labels {shape_text(labels.shape)}"
            + (f", which loss {loss} does not take" if is_ids and loss else "")
        )
    if output.activation in ("sigmoid", "softmax") or loss == "binary_crossentropy":
        if (dense or units == 1) and labels.size and (labels.min() < 0 or labels.max() > 1):
            raise TrainingDataError(
                f"Output '{name}' ({output.activation or loss}) gives values between 0 and 1; the batch holds "
                f"labels from {labels.min():g} to {labels.max():g}"
            )
    return len(labels)


def _check_ids(name: str, labels: np.ndarray, units: int | None) -> None:
    if labels.dtype.kind == "f" and not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
        raise TrainingDataError(f"Output '{name}' needs whole-number class ids; the batch holds fractions")
    if units is None or not labels.size:
        return
    low, high = labels.min(), labels.max()
    if low < 0 or high >= units:
        raise TrainingDataError(
            f"Output '{name}' has {units} units, so class ids must be 0..{units - 1}; "
            f"the batch holds ids from {low:g} to {high:g}"
        )


# ---------------------------------------------------------------------------------------------
# Batches for keras fit
# ---------------------------------------------------------------------------------------------


class _Order:
    """Which samples make each batch of one split; reshuffled every epoch with the seed."""

    def __init__(self, indices: np.ndarray, batch_size: int, seed: int, shuffle: bool):
        if batch_size < 1:
            raise TrainingDataError(f"The batch size must be at least 1, not {batch_size}")
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size = batch_size
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self.shuffle = shuffle
        self.epoch = 0
        self.order = self._arrange()

    def _arrange(self) -> np.ndarray:
        if not self.shuffle:
            return self.indices
        return self.indices[np.random.default_rng([self.seed, self.epoch]).permutation(len(self.indices))]

    def __len__(self) -> int:
        return -(-len(self.indices) // self.batch_size)

    def batch(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def next_epoch(self) -> None:
        self.epoch += 1
        self.order = self._arrange()


@functools.cache
def _batches_class():
    """``keras.utils.PyDataset`` over a reader, made on first use to keep imports cheap."""
    from inspector.tfimport import keras

    class Batches(keras.utils.PyDataset):
        """Numbered batches from a reader; a failure is recorded before TensorFlow wraps it."""

        def __init__(self, reader, tracker: _Tracker, **options):
            super().__init__(**options)
            self.reader = reader
            self.tracker = tracker

        @property
        def num_batches(self):
            return self.reader.num_batches

        def __len__(self) -> int:
            if self.reader.num_batches is None:
                raise TypeError("the number of batches is not known (an endless data set)")
            return self.reader.num_batches

        def __getitem__(self, index: int):
            try:
                return self.reader.batch(index)
            except IndexError:
                raise
            except TrainingDataError as exc:
                raise self.tracker.fail(exc)
            except InputDataError as exc:
                raise self.tracker.fail(TrainingDataError(str(exc))) from exc
            except Exception as exc:  # noqa: BLE001 - reported to the user as one message
                error = TrainingDataError(
                    f"Reading training batch {index} failed: {type(exc).__name__}: {exc}", traceback.format_exc()
                )
                raise self.tracker.fail(error) from exc

        def on_epoch_begin(self):
            self.reader.epoch_begins()

        def on_epoch_end(self):
            self.reader.epoch_ends()

    return Batches


def _batches(reader, tracker: _Tracker, **options):
    return _batches_class()(reader, tracker, **options)


class _Reader:
    """Reads numbered batches of one split, for :func:`_batches`."""

    order: _Order

    @property
    def num_batches(self) -> int | None:
        return len(self.order)

    def batch(self, index: int) -> tuple:
        raise NotImplementedError

    def epoch_begins(self) -> None:
        pass

    def epoch_ends(self) -> None:
        self.order.next_epoch()


def _read_or_replace(index: int, names: list[str], load: Callable[[int], Any], tracker: _Tracker, what: str):
    """Reads item ``index``, or when it cannot be read (recorded in ``tracker``), the next readable one.

    Returns:
        ``(used_index, item)``.
    """
    count = len(names)
    for step in range(count):
        j = (index + step) % count
        if tracker.is_bad(names[j]):
            continue
        try:
            return j, load(j)
        except InputDataError as exc:
            tracker.skip(names[j], str(exc).split(": ", 1)[-1])
    example = f"; {tracker.skipped[0][0]}: {tracker.skipped[0][1]}" if tracker.skipped else ""
    raise TrainingDataError(f"None of the {count:,} {what} could be read{example}")


# ---------------------------------------------------------------------------------------------
# Splits, classes, messages
# ---------------------------------------------------------------------------------------------


def _split_by_class(labels: np.ndarray, split: float, seed: int, class_names: list[str], source: str):
    """Indices of training and validation samples, taking ``split`` of every class."""
    _check_split(split)
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for index, name in enumerate(class_names):
        members = rng.permutation(np.flatnonzero(labels == index))
        take = int(round(len(members) * split)) if split > 0 else 0
        if split > 0:
            if len(members) < 2:
                raise TrainingDataError(
                    f"{source}: class '{name}' has only {len(members)} example(s), so a validation split "
                    "would leave it without training or validation examples; add examples or choose a "
                    "separate validation folder"
                )
            take = min(max(take, 1), len(members) - 1)
        validation.append(members[:take])
        train.append(members[take:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


def _check_split(split: float) -> None:
    if not 0.0 <= split < 1.0:
        raise TrainingDataError(f"The validation split must be between 0 and 1 (exclusive), not {split}")


def _class_notes(counts: dict[int, int], class_names: list[str]) -> list[str]:
    present = [n for n in counts.values() if n]
    if present and max(present) > _IMBALANCE * min(present):
        small = min(counts, key=counts.get)
        return [
            f"Classes are imbalanced (from {min(present):,} to {max(present):,} training examples; "
            f"fewest in '{class_names[small]}'): balanced class weights are offered"
        ]
    return []


def _check_classes(output: OutputSpec, class_names: list[str], source: str) -> list[str]:
    """Checks that the output can take the classes; returns notes."""
    k, units = len(class_names), output.units
    if units is None:
        return []
    if units == 1:
        if k != 2:
            raise TrainingDataError(
                f"{source}: output '{output.name}' has one unit, which fits two classes; the data has {k}"
            )
        return [f"Output '{output.name}' has one unit: '{class_names[0]}' is 0, '{class_names[1]}' is 1"]
    if k > units:
        raise TrainingDataError(
            f"{source}: the data has {k} classes but output '{output.name}' has {units} units"
        )
    if k < units:
        return [f"Output '{output.name}' has {units} units for {k} classes: the labels use the first {k}"]
    return []


def _single_output(model, output_name: str | None, source: str, advice: str) -> OutputSpec:
    outputs = output_specs(model)
    names = ", ".join(f"'{o.name}'" for o in outputs)
    if not outputs:
        raise TrainingDataError(f"{source}: the model declares no outputs (a subclassed model): {advice}")
    chosen = [o for o in outputs if o.name == output_name] if output_name is not None else outputs[:1]
    if not chosen:
        raise TrainingDataError(f"The model has no output '{output_name}'; its outputs are {names}")
    others = [o for o in outputs if o is not chosen[0]]
    if others:
        raise TrainingDataError(f"This model also has output '{others[0].name}': {advice}")
    return chosen[0]


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _split_description(n_train: int, n_validation: int | None, noun: str, k: int | None) -> str:
    classes = f" in {k} classes" if k else ""
    text = f"{_counted(n_train, noun)}{classes} for training"
    return text + (f", {n_validation:,} for validation" if n_validation else ", no validation")


def _converted(function: Callable, *args, **kwargs):
    """Calls a reader of input_data / sequences; its InputDataError becomes a TrainingDataError."""
    try:
        return function(*args, **kwargs)
    except TrainingDataError:
        raise
    except InputDataError as exc:
        raise TrainingDataError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------
# Image folders
# ---------------------------------------------------------------------------------------------


class _ImageReader(_Reader):
    def __init__(self, files, labels, names, order, spec, size, preprocessing, tracker, pipeline=None, rescale=None):
        self.files, self.labels, self.names, self.order = files, labels, names, order
        self.spec, self.size, self.preprocessing, self.tracker = spec, size, preprocessing, tracker
        self.pipeline, self.rescale = pipeline, rescale
        self.dtype = numpy_dtype(spec.dtype)

    def _load(self, j: int) -> np.ndarray:
        return read_image(self.files[j], self.size, self.spec.shape[2])

    def batch(self, index: int) -> tuple:
        pixels, labels = [], []
        for i in self.order.batch(index):
            used, image = _read_or_replace(int(i), self.names, self._load, self.tracker, "images")
            pixels.append(image)
            labels.append(self.labels[used])
        x = apply_augmentation(self.pipeline, np.stack(pixels)) if self.pipeline is not None else np.stack(pixels)
        x = preprocess(x, self.preprocessing)
        if self.rescale is not None:
            x *= np.float32(self.rescale)
        return x.astype(self.dtype, copy=False), np.asarray(labels, dtype=np.int32)


def image_folder_data(
    folder: str | Path,
    model,
    *,
    validation_split: float = 0.2,
    validation_folder: str | Path | None = None,
    batch_size: int = 32,
    preprocessing: str = "none",
    augmentation: AugmentationSettings | None = None,
    seed: int = 0,
    input_name: str | None = None,
    output_name: str | None = None,
) -> TrainingData:
    """Training batches from a folder with one sub-folder of images per class.

    Classes are the sub-folder names in Keras' order (sorted), labels their indices (``int32``),
    as ``keras.utils.image_dataset_from_directory`` gives them. Images are read per batch with
    :func:`~inspector.inputs.input_data.read_image`, resized to the model's image input, augmented
    (training batches only, on the 0-255 pixels), preprocessed, then rescaled (training and
    validation) when the augmentation settings hold a rescale. Unreadable images are recorded
    in ``skipped`` when met and replaced by the next readable one. Training batches are
    reshuffled every epoch.

    Args:
        folder: The folder of class sub-folders.
        model: The Keras model; it must take one image input and give one output.
        validation_split: Fraction of each class kept for validation (stratified, seeded).
        validation_folder: A separate folder of the same classes for validation; the split is
            then not used.
        batch_size: Images per batch.
        preprocessing: A key of :data:`~inspector.inputs.input_data.PREPROCESSING`.
        augmentation: Random changes for training images, or ``None``.
        seed: Seeds the split, the shuffling and the augmentation.
        input_name: The image input, when the model has several inputs.
        output_name: The output the classes are for, when the model has several.

    Returns:
        The data; ``class_weight`` holds balanced weights from the training counts.

    Raises:
        TrainingDataError: No images, a single class, a split that leaves a class without
            images, a model without an image input or with other inputs or outputs, more
            classes than the output has units.
    """
    folder = Path(folder)
    _converted(_check_mode, preprocessing)
    _check_split(validation_split)
    spec = _image_input(model, input_name)
    output = _single_output(model, output_name, str(folder), "use an .npz with all outputs or your own generator")
    files, labels, class_names = _class_folder(folder)
    notes = _check_classes(output, class_names, str(folder))
    if validation_folder is not None:
        train_idx = np.arange(len(files))
        v_files, v_labels = _validation_folder(Path(validation_folder), class_names, notes)
    else:
        train_idx, val_idx = _split_by_class(labels, validation_split, seed, class_names, str(folder))
        v_files, v_labels = None, None
    skipped: list[tuple[str, str]] = []
    tracker = _Tracker(skipped)
    size = _image_size(files, spec, folder, tracker)
    settings = augmentation or AugmentationSettings()
    rescale = settings.rescale
    pipeline = build_augmentation(settings.without_rescale(), seed=seed) if settings.random else None
    names = [_relative(f, folder) for f in files]
    common = dict(spec=spec, size=size, preprocessing=preprocessing, tracker=tracker, rescale=rescale)
    train = _batches(
        _ImageReader(files, labels, names, _Order(train_idx, batch_size, seed, True), pipeline=pipeline, **common),
        tracker,
    )
    if v_files is not None:
        v_names = [_relative(f, Path(validation_folder).parent) for f in v_files]
        v_reader = _ImageReader(v_files, v_labels, v_names, _Order(np.arange(len(v_files)), batch_size, seed, False), **common)
        n_val = len(v_files)
    else:
        v_reader = _ImageReader(files, labels, names, _Order(val_idx, batch_size, seed, False), **common) if len(val_idx) else None
        n_val = len(val_idx)
    counts = dict(Counter(labels[train_idx].tolist()))
    notes += _class_notes(counts, class_names)
    if settings.random:
        notes.append(f"Training images are augmented: {settings.without_rescale().describe()}")
    if rescale is not None:
        notes.append(f"Training and validation images are rescaled ×{rescale:.4g} after preprocessing")
    if size != spec.shape[:2]:
        notes.append(f"Images are resized to {size[0]}x{size[1]} (height x width), the size of the first one")
    return TrainingData(
        train=train,
        validation=_batches(v_reader, tracker) if v_reader is not None else None,
        class_names=class_names,
        class_weight=class_weights(counts),
        description=_split_description(len(train_idx), n_val, "image", len(class_names)),
        skipped=skipped,
        notes=notes,
        preprocessing=preprocessing,
        _tracker=tracker,
    )


def _image_input(model, input_name: str | None) -> InputSpec:
    specs = input_specs(model)
    images = [s for s in specs if s.kind == "image"]
    if input_name is not None:
        images = [s for s in specs if s.name == input_name]
        if not images:
            raise TrainingDataError(f"The model has no input '{input_name}'")
        if images[0].kind != "image":
            raise TrainingDataError(
                f"Input '{input_name}' takes {shape_text(('N',) + images[0].shape)} arrays, not images"
            )
    if not images:
        raise TrainingDataError(
            f"This model has no image input (its inputs: {_listed(specs)}): use arrays or your own generator"
        )
    return _only_input(specs, images[0])


def _class_folder(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    files, classes = _converted(find_images, [folder])
    if classes is None:
        raise TrainingDataError(
            f"{folder} holds images but no class sub-folders: put each class's images in its own sub-folder"
        )
    class_names = sorted(set(classes))
    if len(class_names) < 2:
        raise TrainingDataError(
            f"{folder} has a single class ('{class_names[0]}'): training a classifier needs at least two classes"
        )
    index = {name: i for i, name in enumerate(class_names)}
    return files, np.array([index[c] for c in classes], dtype=np.int32), class_names


def _validation_folder(folder: Path, class_names: list[str], notes: list[str]) -> tuple[list[Path], np.ndarray]:
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    files, classes = _converted(find_images, [folder])
    if classes is None:
        raise TrainingDataError(f"{folder}: the validation folder needs the same class sub-folders as the training folder")
    unknown = sorted(set(classes) - set(class_names))
    if unknown:
        raise TrainingDataError(f"{folder}: validation class '{unknown[0]}' is not among the training classes")
    missing = [name for name in class_names if name not in set(classes)]
    if missing:
        notes.append(f"The validation folder has no images of {', '.join(repr(m) for m in missing)}")
    index = {name: i for i, name in enumerate(class_names)}
    return files, np.array([index[c] for c in classes], dtype=np.int32)


def _image_size(files: list[Path], spec: InputSpec, folder: Path, tracker: _Tracker) -> tuple[int, int]:
    """The model's image size, or (for free sizes) the first readable image's."""
    known = spec.shape[:2]
    if None not in known:
        return known
    names = [_relative(f, folder) for f in files]
    _, pixels = _read_or_replace(0, names, lambda j: read_image(files[j], None, spec.shape[2]), tracker, "images")
    return (known[0] or pixels.shape[0], known[1] or pixels.shape[1])


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def sample_images(folder: str | Path, spec: InputSpec, count: int = 4) -> np.ndarray:
    """The first image of each of the first class sub-folders, for a preview; quick on any folder.

    Only the first few files are listed and read, never the whole folder.

    Args:
        folder: A folder of class sub-folders (or of images).
        spec: The image input the images are for (size and channels).
        count: How many images at most.

    Returns:
        ``uint8`` ``(n, H, W, C)`` pixels, ``n <= count``.

    Raises:
        TrainingDataError: The folder is missing or none of the first images can be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    size = spec.shape[:2] if None not in spec.shape[:2] else None
    pixels, failures = [], []
    for path in itertools.islice(_first_images(folder), 4 * count):
        try:
            image = read_image(path, size, spec.shape[2])
        except InputDataError as exc:
            failures.append(str(exc))
            continue
        size = size or image.shape[:2]
        pixels.append(image)
        if len(pixels) == count:
            break
    if not pixels:
        reason = f": {failures[0]}" if failures else ""
        raise TrainingDataError(f"{folder}: no readable images among the first files{reason}")
    return np.stack(pixels)


def _first_images(folder: Path) -> Iterator[Path]:
    """Image files, taking the first of each class sub-folder in turn, then the folder's own."""
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    per_class = [_images_in(sub) for sub in subs]
    for round_ in itertools.zip_longest(*per_class):
        yield from (p for p in round_ if p is not None)
    yield from _images_in(folder, recursive=False)


def _images_in(folder: Path, recursive: bool = True) -> Iterator[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and _is_image_name(p))
    yield from files
    if recursive and not files:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            yield from _images_in(sub)


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------


class _ArrayReader(_Reader):
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
            sample count, or do not fit the model (see :func:`check_batch`).
    """
    path = Path(path)
    _check_split(validation_split)
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
    tracker = _Tracker(skipped)
    by_name = {s.name: s for s in specs}

    def reader(parts, indices, shuffle):
        inputs, labels, weights = parts
        return _ArrayReader(
            inputs, labels, weights, by_name, _Order(indices, batch_size, seed, shuffle), len(specs) == 1, len(outputs) == 1
        )

    train_reader = reader(chosen, train_idx, True)
    v_indices = np.arange(v_count) if val_idx is None else val_idx
    v_reader = reader(v_chosen, v_indices, False) if len(v_indices) else None
    check_batch(model, train_reader.batch(0))
    if v_reader is not None and v_chosen is not chosen:
        check_batch(model, v_reader.batch(0))
    class_names, weights = _array_classes(chosen[1], outputs, train_idx, notes)
    return TrainingData(
        train=_batches(train_reader, tracker),
        validation=_batches(v_reader, tracker) if v_reader is not None else None,
        class_names=class_names,
        class_weight=weights,
        description=_split_description(len(train_idx), len(v_indices), "sample", None) + f" (arrays in {path.name})",
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
    notes += _class_notes(counts, names)
    return names, class_weights(counts)


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


class _TextReader(_Reader):
    def __init__(self, items, labels, names, order, spec, vocabulary, options, tracker):
        self.items, self.labels, self.names, self.order = items, labels, names, order
        self.spec, self.vocabulary, self.options, self.tracker = spec, vocabulary, options, tracker

    def _load(self, j: int) -> str:
        return _text_item(self.items, j)

    def batch(self, index: int) -> tuple:
        texts, labels = [], []
        for i in self.order.batch(index):
            used, text = _read_or_replace(int(i), self.names, self._load, self.tracker, "texts")
            texts.append(text)
            labels.append(self.labels[used])
        return _encode_texts(texts, self.spec, self.vocabulary, self.options), np.asarray(labels, dtype=np.int32)


def _text_item(items: list[str | Path], j: int) -> str:
    """Item ``j``: a text from a table, or the text of a ``.txt`` file."""
    item = items[j]
    return item if isinstance(item, str) else _read_text_file(item)


def _read_text_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputDataError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc


def _encode_texts(texts: list[str], spec: InputSpec, vocabulary: Vocabulary | None, options: PadOptions) -> np.ndarray:
    if spec.kind == "text":
        return np.array(texts, dtype=object)
    sequences = [vocabulary.encode(text)[0] for text in texts]
    if not any(sequences):  # every text empty: nothing for pad_sequences to measure
        return np.full((len(texts), options.maxlen), options.value, dtype=numpy_dtype(spec.dtype))
    padded, _ = pad(sequences, options, model_sequence_length(spec))
    return padded.astype(numpy_dtype(spec.dtype), copy=False)


def text_data(
    path: str | Path,
    model,
    vocabulary: Vocabulary | None,
    options: PadOptions,
    *,
    validation_split: float = 0.2,
    batch_size: int = 32,
    seed: int = 0,
) -> TrainingData:
    """Training batches of labelled text, tokenized and padded per batch.

    ``path`` is a folder with one sub-folder of ``.txt`` files per class (one example per
    file, read per batch), or a ``.csv`` / ``.tsv`` file whose header has ``text`` and
    ``label`` columns. Classes are the sorted labels (numerically when every label is a whole
    number), labels their indices. Texts are encoded with ``vocabulary`` and padded with
    ``options`` as for activations; when neither the options nor the model fix the length, it
    is the longest of the first texts (see :data:`TEXT_SCAN`), so every batch has one shape.

    Args:
        path: The folder or the table.
        model: The Keras model: one sequence (or string) input, one output.
        vocabulary: Token ids for the text; not needed for a string input.
        options: How to pad.
        validation_split: Fraction of each class kept for validation (stratified, seeded).
        batch_size: Texts per batch.
        seed: Seeds the split and the shuffling.

    Returns:
        The data, with unknown-token counts of the first texts in ``notes``.

    Raises:
        TrainingDataError: No texts, a single class, no vocabulary for a token input, padding
            options the model cannot take, or a model that takes no text.
    """
    path = Path(path)
    _check_split(validation_split)
    spec = _text_input(model)
    if spec.kind == "sequence" and vocabulary is None:
        raise TrainingDataError(TEXT_NEEDS_VOCABULARY)
    output = _single_output(model, None, str(path), "use an .npz with all outputs or your own generator")
    items, raw_labels, names = _text_examples(path)
    class_names = sorted(set(raw_labels), key=_label_order(raw_labels))
    if len(class_names) < 2:
        raise TrainingDataError(f"{path} has a single class ('{class_names[0]}'): training needs at least two classes")
    index = {name: i for i, name in enumerate(class_names)}
    labels = np.array([index[name] for name in raw_labels], dtype=np.int32)
    notes = _check_classes(output, class_names, str(path))
    train_idx, val_idx = _split_by_class(labels, validation_split, seed, class_names, str(path))
    skipped: list[tuple[str, str]] = []
    tracker = _Tracker(skipped)
    options, scan_notes = _fixed_length(items, names, spec, vocabulary, options, tracker)
    notes += scan_notes

    def reader(indices, shuffle):
        order = _Order(indices, batch_size, seed, shuffle)
        return _TextReader(items, labels, names, order, spec, vocabulary, options, tracker)

    counts = dict(Counter(labels[train_idx].tolist()))
    notes += _class_notes(counts, class_names)
    train_reader = reader(train_idx, True)
    check_batch(model, train_reader.batch(0))
    return TrainingData(
        train=_batches(train_reader, tracker),
        validation=_batches(reader(val_idx, False), tracker) if len(val_idx) else None,
        class_names=class_names,
        class_weight=class_weights(counts),
        description=_split_description(len(train_idx), len(val_idx), "text", len(class_names)),
        skipped=skipped,
        notes=notes,
        _tracker=tracker,
    )


def _text_input(model) -> InputSpec:
    specs = input_specs(model)
    texts = [s for s in specs if s.kind in ("sequence", "text")]
    if not texts:
        raise TrainingDataError(f"This model takes no token sequences or text (its inputs: {_listed(specs)})")
    return _only_input(specs, texts[0])


def _listed(specs: list[InputSpec]) -> str:
    return ", ".join(f"'{s.name}' {shape_text(('N',) + s.shape)}" for s in specs) or "none declared"


def _only_input(specs: list[InputSpec], chosen: InputSpec) -> InputSpec:
    """``chosen``, if the model needs no other input (folders and text feed only one)."""
    others = [s for s in specs if s.name != chosen.name]
    if others:
        raise TrainingDataError(
            f"This model also needs '{others[0].name}': use an .npz with all inputs or your own generator"
        )
    return chosen


def _text_examples(path: Path) -> tuple[list[str | Path], list[str], list[str]]:
    """``(items, labels, names)``: texts (tables) or ``.txt`` files (folders), with their labels."""
    if path.is_dir():
        return _text_folder(path)
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise TrainingDataError(
            f"{path.name}: choose a folder of class sub-folders of .txt files, or a .csv / .tsv file with "
            "'text' and 'label' columns"
        )
    texts, labels = _text_table(path)
    return list(texts), labels, [f"{path.name} row {i + 2}" for i in range(len(texts))]


def _text_folder(folder: Path) -> tuple[list[str | Path], list[str], list[str]]:
    items, labels = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            (p for p in sub.rglob("*.txt") if p.is_file() and not p.name.startswith(".")),
            key=lambda p: (p.parent.as_posix(), p.name),
        )
        items += files
        labels += [sub.name] * len(files)
    if not items:
        raise TrainingDataError(f"{folder} holds no class sub-folders with .txt files (one example per file)")
    return items, labels, [_relative(p, folder) for p in items]


def _text_table(path: Path) -> tuple[list[str], list[str]]:
    text = _converted(_read_text, path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting))
    except csv.Error as exc:
        raise TrainingDataError(f"{path.name}: not a readable table ({exc})") from exc
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if "text" not in header or "label" not in header:
        raise TrainingDataError(f"{path.name}: the first row must name a 'text' and a 'label' column")
    t, lab = header.index("text"), header.index("label")
    body = [row for row in rows[1:] if len(row) > max(t, lab) and row[t].strip() and row[lab].strip()]
    if not body:
        raise TrainingDataError(f"{path.name}: no rows with both a text and a label")
    return [row[t] for row in body], [row[lab].strip() for row in body]


def _label_order(labels: list[str]) -> Callable[[str], Any]:
    if all(label.lstrip("-").isdigit() for label in labels):
        return int
    return str


def _fixed_length(items, names, spec, vocabulary, options, tracker) -> tuple[PadOptions, list[str]]:
    """Options with a fixed ``maxlen``, from the options, the model or the first texts; notes."""
    if spec.kind == "text":
        return options, []
    load = functools.partial(_text_item, items)
    scanned = [_read_or_replace(i, names, load, tracker, "texts")[1] for i in range(min(len(items), TEXT_SCAN))]
    sequences, unknown = [], []
    for text in scanned:
        words = vocabulary.words(text)
        ids = [vocabulary.id(w) for w in words]
        unknown += [w for w, i in zip(words, ids) if i == 1]
        sequences.append(ids)
    padded, pad_notes = _converted(pad, sequences, options, model_sequence_length(spec))
    length = padded.shape[1]
    notes = []
    where = f"the first {len(scanned):,} texts" if len(scanned) < len(items) else f"the {len(scanned):,} texts"
    if options.maxlen is None and model_sequence_length(spec) is None:
        notes.append(f"Texts are padded to {length} tokens, the longest of {where}")
    notes += [f"In {where}: {note}" for note in _unknown_notes(unknown) + pad_notes]
    return PadOptions(length, options.padding, options.truncating, options.value), notes


# ---------------------------------------------------------------------------------------------
# The user's own generator
# ---------------------------------------------------------------------------------------------


def generator_data(
    py_file: str | Path, *, function: str = "train_data", validation_function: str = "validation_data"
) -> TrainingData:
    """Training batches from the user's own Python code.

    This imports ``py_file``, which RUNS the code in it: call it only after the user agreed.
    ``function()`` must return a generator, an iterable of batches, a ``keras.utils.PyDataset``
    or a ``tf.data.Dataset``; batches are ``(x, y)`` or ``(x, y, sample_weight)``. Generators
    and iterables are served through a ``tf.data.Dataset`` that calls ``function()`` again for
    every epoch after the first (a generator runs once); ``PyDataset`` objects are wrapped so
    that their failures are recorded. ``validation_function()``, if the file defines it, gives
    validation batches the same way.

    Args:
        py_file: The ``.py`` file.
        function: The name of the function that gives training batches.
        validation_function: The name of the function that gives validation batches.

    Returns:
        The data. A failure of the user's code during training is recorded: see :func:`data_errors`.

    Raises:
        TrainingDataError: The file cannot be imported, the function is missing, raises, returns
            something else or gives no batches; ``details`` holds the user's traceback.
    """
    from inspector.errors import ModelLoadError
    from inspector.model.loading import load_custom_objects

    py_file = Path(py_file)
    try:
        defined = load_custom_objects(py_file)
    except ModelLoadError as exc:
        cause = exc.__cause__
        details = "".join(traceback.format_exception(cause)) if cause is not None else ""
        raise TrainingDataError(f"{py_file.name}: {exc.reason}", details) from exc
    if not callable(defined.get(function)):
        found = ", ".join(f"{n}()" for n, f in defined.items() if callable(f) and not isinstance(f, type)) or "none"
        raise TrainingDataError(f"{py_file.name} defines no function {function}() (functions found: {found})")
    skipped: list[tuple[str, str]] = []
    tracker = _Tracker(skipped)
    train, first, train_kind = _user_batches(py_file, defined[function], function, tracker)
    notes = []
    validation = None
    if callable(defined.get(validation_function)):
        validation, _, _ = _user_batches(py_file, defined[validation_function], validation_function, tracker)
        description = f"Batches from {function}() in {py_file.name}, validation from {validation_function}()"
    else:
        description = f"Batches from {function}() in {py_file.name}, no validation"
        notes.append(f"{py_file.name} defines no {validation_function}(): training runs without validation")
    if train_kind == "tf.data":
        notes.append("Errors raised inside a tf.data pipeline are reported by TensorFlow")
    return TrainingData(
        train=train,
        validation=validation,
        description=description,
        skipped=skipped,
        notes=notes,
        _tracker=tracker,
        _first=first,
    )


def _user_batches(py_file: Path, make: Callable, name: str, tracker: _Tracker) -> tuple[Any, tuple | None, str]:
    """Calls the user's function and wraps its result; returns ``(data, first batch, kind)``."""
    from inspector.tfimport import keras
    import tensorflow as tf

    where = f"{name}() in {py_file.name}"
    result = _call_user(make, where)
    if isinstance(result, keras.utils.PyDataset):
        return _guarded_py_dataset(result, tracker, where), None, "PyDataset"
    if isinstance(result, tf.data.Dataset):
        return result, None, "tf.data"
    if isinstance(result, (str, bytes, dict, np.ndarray)) or not hasattr(result, "__iter__"):
        raise TrainingDataError(
            f"{where} returned {type(result).__name__}; it must return a generator, an iterable of (x, y) "
            "batches, a keras.utils.PyDataset or a tf.data.Dataset"
        )
    epochs = _Epochs(make, result, where, tracker)
    peeked = epochs.peek()
    signature = _signature(peeked, where)
    dataset = tf.data.Dataset.from_generator(epochs, output_signature=signature)
    if epochs.reiterable and hasattr(result, "__len__"):  # e.g. a list: Keras then knows the epoch length
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(result)))
    return dataset, _numpy_batch(peeked[0]), "generator"


def _call_user(make: Callable, where: str):
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise TrainingDataError(f"{where} raised {type(exc).__name__}: {exc}", traceback.format_exc()) from exc


class _Epochs:
    """The generator function behind a ``tf.data.Dataset`` of the user's batches.

    The first pass continues the iterator already peeked at; later passes call the user's
    function again when its result was a one-shot iterator (a generator), or iterate the
    re-iterable result again. Failures are recorded with the user's traceback.
    """

    def __init__(self, make: Callable, result, where: str, tracker: _Tracker):
        self.make, self.where, self.tracker = make, where, tracker
        self.reiterable = iter(result) is not result
        self.result = result
        self._pending: Iterator | None = iter(result)
        self._peeked: list = []
        self._lock = threading.Lock()

    def peek(self, count: int = 2) -> list[tuple]:
        try:
            self._peeked = [_as_batch(b, self.where) for b in itertools.islice(self._pending, count)]
        except TrainingDataError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TrainingDataError(
                f"{self.where} raised {type(exc).__name__}: {exc}", traceback.format_exc()
            ) from exc
        if not self._peeked:
            raise TrainingDataError(f"{self.where} gave no batches")
        return self._peeked

    def _iterator(self) -> Iterator:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            return itertools.chain(self._peeked, pending)
        if self.reiterable:
            return iter(self.result)
        return iter(_call_user(self.make, self.where))

    def __call__(self) -> Iterator[tuple]:
        try:
            for batch in self._iterator():
                yield _as_batch(batch, self.where)
        except TrainingDataError as exc:
            raise self.tracker.fail(exc)
        except Exception as exc:  # noqa: BLE001 - the user's generator failed during training
            error = TrainingDataError(
                f"{self.where} raised {type(exc).__name__} during training: {exc}", traceback.format_exc()
            )
            raise self.tracker.fail(error) from exc


def _as_batch(batch, where: str) -> tuple:
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or not 1 <= len(batch) <= 3:
        raise TrainingDataError(
            f"{where} must give (x, y) or (x, y, sample_weight) batches; it gave {type(batch).__name__}"
        )
    return batch


def _signature(batches: list[tuple], where: str):
    """``tf.TensorSpec`` of every part of the batches; sizes that differ between them are free."""
    import tensorflow as tf

    def spec(*leaves):
        arrays = [np.asarray(leaf) for leaf in leaves]
        if len({a.ndim for a in arrays}) > 1 or arrays[0].ndim == 0:
            raise TrainingDataError(f"{where}: batches must be arrays with a batch axis of the same rank")
        shape = [None] + [d if all(a.shape[i] == d for a in arrays) else None for i, d in enumerate(arrays[0].shape) if i]
        kind = arrays[0].dtype.kind
        return tf.TensorSpec(shape, tf.string if kind in "OSU" else tf.as_dtype(arrays[0].dtype))

    try:
        return tf.nest.map_structure(spec, *batches)
    except (ValueError, TypeError) as exc:
        raise TrainingDataError(f"{where}: the first batches differ in structure ({exc})") from exc


def _guarded_py_dataset(dataset, tracker: _Tracker, where: str):
    """The user's ``PyDataset`` behind one that records its failures (as is, if it uses processes)."""
    if getattr(dataset, "use_multiprocessing", False):
        return dataset
    return _batches(
        _PyDatasetReader(dataset, where),
        tracker,
        workers=getattr(dataset, "workers", 1),
        max_queue_size=getattr(dataset, "max_queue_size", 10),
    )


class _PyDatasetReader(_Reader):
    def __init__(self, dataset, where: str):
        self.dataset, self.where = dataset, where

    @property
    def num_batches(self) -> int | None:
        return self.dataset.num_batches

    def batch(self, index: int):
        try:
            return self.dataset[index]
        except IndexError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TrainingDataError(
                f"{self.where} raised {type(exc).__name__} for batch {index}: {exc}", traceback.format_exc()
            ) from exc

    def epoch_begins(self) -> None:
        self.dataset.on_epoch_begin()

    def epoch_ends(self) -> None:
        self.dataset.on_epoch_end()


@dataclass(frozen=True)
class DataSource:
    """A recipe for training data that travels to the model's kernel and runs there as
    ``source(model, batch_size)``.

    Attributes:
        kind: ``"images"``, ``"arrays"``, ``"text"`` or ``"generator"``.
        path: The folder or file.
        options: Keyword arguments of the core function for the kind.
    """

    kind: str
    path: Path
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, model, batch_size: int = 32) -> TrainingData:
        """Builds the training data (reads the data set; call it where the model is)."""
        if self.kind == "images":
            return image_folder_data(self.path, model, batch_size=batch_size, **self.options)
        if self.kind == "arrays":
            return array_data(self.path, model, batch_size=batch_size, **self.options)
        if self.kind == "text":
            return text_data(self.path, model, batch_size=batch_size, **self.options)
        return generator_data(self.path, **self.options)
