"""What every training data source shares: the result, the checks and the batching.

The sources themselves live beside this module, one each:
:func:`~inspector.training.image_folder_data.image_folder_data` (image class folders),
:func:`~inspector.training.array_data.array_data` (NumPy arrays),
:func:`~inspector.training.text_data.text_data` (labelled text) and
:func:`~inspector.training.generator_data.generator_data` (the user's own generator);
:class:`~inspector.training.data_source.DataSource` is the recipe that picks one in the kernel.
Data is always streamed to ``model.fit`` batch by batch.

Each source returns a :class:`TrainingData` whose ``train`` and ``validation`` are what
``model.fit(x=..., validation_data=...)`` takes: a ``keras.utils.PyDataset`` for folders, arrays
and text, a ``tf.data.Dataset`` (or the user's own ``PyDataset``) for generators. Batches are
``(x, y)`` or ``(x, y, sample_weight)``; ``x`` and ``y`` are dicts by input and output name for
models with several inputs or outputs, plain arrays otherwise.

TensorFlow reads Python batches through ``tf.data``, which reports any exception raised while
reading one as a ``tf.errors.UnknownError``. The sources record their own failure first (in
their :class:`Tracker`); run ``fit`` inside :func:`data_errors` to get it back as a
:class:`TrainingDataError`.

Importing this module stays cheap: Keras is imported when a data source is built.
"""

from __future__ import annotations

import functools
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from inspector.errors import InputDataError, TrainingDataError
from inspector.inputs.input_range import range_warnings
from inspector.inputs.input_data import InputSpec, input_specs, shape_text

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


class Tracker:
    """What a data source met while reading, shared by its batches on any thread.

    Every source makes one, hands it to its readers (see :func:`batches`) and keeps it in
    :class:`TrainingData` so that :func:`data_errors` finds the failure.

    Args:
        skipped: The list that collects ``(file, reason)`` of unreadable files.
    """

    def __init__(self, skipped: list[tuple[str, str]]):
        self.skipped = skipped
        self.failure: TrainingDataError | None = None
        self._bad: set[str] = set()
        self._lock = threading.Lock()

    def is_bad(self, name: str) -> bool:
        """Whether the file ``name`` was found unreadable before."""
        return name in self._bad

    def skip(self, name: str, reason: str) -> None:
        """Records an unreadable file once: ``(name, reason)`` joins ``skipped``."""
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
    _tracker: Tracker | None = field(default=None, repr=False, compare=False)
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
    return numpy_batch(batch)


def numpy_batch(batch) -> tuple:
    """A batch as a tuple of NumPy arrays (dicts and lists of arrays keep their structure).

    Args:
        batch: ``(x, y)``, ``(x, y, sample_weight)`` or ``x`` alone, of arrays or tensors.

    Returns:
        The parts as a tuple, ``None`` parts kept as ``None``.
    """
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
    batch = numpy_batch(batch)
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
    return _by_name(numpy_batch(batch)[0], names, "input") if names else {}


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


class Order:
    """Which samples make each batch of one split; reshuffled every epoch with the seed.

    Args:
        indices: The samples of the split.
        batch_size: Samples per batch (the last batch may hold fewer).
        seed: Seeds the shuffling (with the epoch number); ``None`` picks one at random.
        shuffle: Whether the order changes every epoch (training) or stays as given
            (validation).

    Raises:
        TrainingDataError: The batch size is below 1.
    """

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
        """The sample indices of batch ``index``; ``IndexError`` past the last batch."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def next_epoch(self) -> None:
        """Moves to the next epoch's order."""
        self.epoch += 1
        self.order = self._arrange()


@functools.cache
def _batches_class():
    """``keras.utils.PyDataset`` over a reader, made on first use to keep imports cheap."""
    from inspector.tfimport import keras

    class Batches(keras.utils.PyDataset):
        """Numbered batches from a reader; a failure is recorded before TensorFlow wraps it."""

        def __init__(self, reader, tracker: Tracker, **options):
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


def batches(reader: Reader, tracker: Tracker, **options):
    """A ``keras.utils.PyDataset`` of a reader's batches, for ``model.fit``.

    A batch that fails to read is recorded in ``tracker`` (as a :class:`TrainingDataError`)
    before TensorFlow wraps the exception; the start and end of each epoch are passed on to the
    reader.

    Args:
        reader: Reads the numbered batches of one split.
        tracker: The source's tracker.
        **options: Passed to ``PyDataset`` (``workers``, ``max_queue_size``, ...).

    Returns:
        The ``PyDataset``.
    """
    return _batches_class()(reader, tracker, **options)


class Reader:
    """Reads numbered batches of one split, for :func:`batches`.

    A source's reader sets ``order`` and implements :meth:`batch`.

    Attributes:
        order: Which samples make each batch.
    """

    order: Order

    @property
    def num_batches(self) -> int | None:
        """The number of batches in an epoch, or ``None`` when it is not known."""
        return len(self.order)

    def batch(self, index: int) -> tuple:
        """Batch ``index``: ``(x, y)`` or ``(x, y, sample_weight)``; ``IndexError`` past the last."""
        raise NotImplementedError

    def epoch_begins(self) -> None:
        """Called when an epoch begins."""

    def epoch_ends(self) -> None:
        """Called when an epoch ends: the next epoch gets a new order."""
        self.order.next_epoch()


def read_or_replace(index: int, names: list[str], load: Callable[[int], Any], tracker: Tracker, what: str):
    """Reads item ``index``, or when it cannot be read (recorded in ``tracker``), the next readable one.

    Args:
        index: The item wanted.
        names: The name of every item (e.g. file paths), as recorded in ``tracker``.
        load: Reads item ``j``; raises :class:`~inspector.errors.InputDataError` when it cannot.
        tracker: Remembers unreadable items, so that each is tried once.
        what: The items in plural, for the error (e.g. ``"images"``).

    Returns:
        ``(used_index, item)``.

    Raises:
        TrainingDataError: None of the items can be read.
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


def split_by_class(labels: np.ndarray, split: float, seed: int, class_names: list[str], source: str):
    """Indices of training and validation samples, taking ``split`` of every class.

    Args:
        labels: The class index of every sample.
        split: Fraction of each class kept for validation; each class keeps at least one
            sample on either side when it is above 0.
        seed: Seeds the choice.
        class_names: Class names by index.
        source: The folder or file, for the error.

    Returns:
        ``(train, validation)``: sorted sample indices.

    Raises:
        TrainingDataError: The split is out of range or a class has a single example.
    """
    check_split(split)
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


def check_split(split: float) -> None:
    """Checks a validation split.

    Args:
        split: Fraction of the samples kept for validation.

    Raises:
        TrainingDataError: The split is not in ``[0, 1)``.
    """
    if not 0.0 <= split < 1.0:
        raise TrainingDataError(f"The validation split must be between 0 and 1 (exclusive), not {split}")


def class_notes(counts: dict[int, int], class_names: list[str]) -> list[str]:
    """A note for the user when the classes are imbalanced.

    Args:
        counts: Training samples by class index.
        class_names: Class names by index.

    Returns:
        One note when the largest class has more than 1.5 times the examples of the smallest,
        else none.
    """
    present = [n for n in counts.values() if n]
    if present and max(present) > _IMBALANCE * min(present):
        small = min(counts, key=counts.get)
        return [
            f"Classes are imbalanced (from {min(present):,} to {max(present):,} training examples; "
            f"fewest in '{class_names[small]}'): balanced class weights are offered"
        ]
    return []


def check_classes(output: OutputSpec, class_names: list[str], source: str) -> list[str]:
    """Checks that the output can take the classes.

    Args:
        output: The output the labels are for.
        class_names: Class names by index.
        source: The folder or file, for the error.

    Returns:
        Notes: how a one-unit output takes two classes, or that the labels use only the first
        of more units.

    Raises:
        TrainingDataError: More classes than units, or a one-unit output for other than two.
    """
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


def single_output(model, output_name: str | None, source: str, advice: str) -> OutputSpec:
    """The one output a source that gives a single label array trains.

    Args:
        model: The Keras model.
        output_name: The output wanted, or ``None`` for the first.
        source: The folder or file, for the error.
        advice: What to use instead, for the error (e.g. ``"use your own generator"``).

    Returns:
        The output.

    Raises:
        TrainingDataError: The model declares no outputs, has no output ``output_name``, or has
            other outputs as well.
    """
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


def split_description(n_train: int, n_validation: int | None, noun: str, k: int | None) -> str:
    """One line for the user, e.g. ``"1,437 images in 10 classes for training, 360 for validation"``.

    Args:
        n_train: Training samples.
        n_validation: Validation samples (0 or ``None``: no validation).
        noun: What a sample is, in the singular (``"image"``).
        k: The number of classes, or ``None`` when labels are not classes.

    Returns:
        The line.
    """
    classes = f" in {k} classes" if k else ""
    text = f"{_counted(n_train, noun)}{classes} for training"
    return text + (f", {n_validation:,} for validation" if n_validation else ", no validation")


def converted(function: Callable, *args, **kwargs):
    """Calls a reader of input_data / sequences; its InputDataError becomes a TrainingDataError.

    Args:
        function: The reader.
        *args: Its arguments.
        **kwargs: Its keyword arguments.

    Returns:
        What ``function`` returns.

    Raises:
        TrainingDataError: ``function`` raised an :class:`~inspector.errors.InputDataError`.
    """
    try:
        return function(*args, **kwargs)
    except TrainingDataError:
        raise
    except InputDataError as exc:
        raise TrainingDataError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------
# Inputs and file names
# ---------------------------------------------------------------------------------------------


def listed_inputs(specs: list[InputSpec]) -> str:
    """The model's inputs for a message, e.g. ``"'image' (N, 8, 8, 1), 'aux' (N, 4)"``.

    Args:
        specs: The model's inputs.

    Returns:
        The names and shapes, or ``"none declared"``.
    """
    return ", ".join(f"'{s.name}' {shape_text(('N',) + s.shape)}" for s in specs) or "none declared"


def only_input(specs: list[InputSpec], chosen: InputSpec) -> InputSpec:
    """``chosen``, if the model needs no other input (folders and text feed only one).

    Args:
        specs: The model's inputs.
        chosen: The input the source feeds.

    Returns:
        ``chosen``.

    Raises:
        TrainingDataError: The model has another input.
    """
    others = [s for s in specs if s.name != chosen.name]
    if others:
        raise TrainingDataError(
            f"This model also needs '{others[0].name}': use an .npz with all inputs or your own generator"
        )
    return chosen


def relative(path: Path, root: Path) -> str:
    """A file's name for the user: its path below ``root`` when it is there.

    Args:
        path: The file.
        root: The folder the data set was chosen as.

    Returns:
        The POSIX path relative to ``root``, else ``path`` whole.
    """
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
