"""Training data from the user's own Python code: a ``train_data()`` function in a ``.py`` file.

:func:`generator_data` imports the file (which runs it) and serves the batches its functions
give, recording a failure of the user's code with its traceback.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from inspector.errors import TrainingDataError
from inspector.training.training_data import Reader, Tracker, TrainingData, batches, numpy_batch


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
        The data. A failure of the user's code during training is recorded: see
        :func:`~inspector.training.training_data.data_errors`.

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
    tracker = Tracker(skipped)
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


def _user_batches(py_file: Path, make: Callable, name: str, tracker: Tracker) -> tuple[Any, tuple | None, str]:
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
    return dataset, numpy_batch(peeked[0]), "generator"


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

    def __init__(self, make: Callable, result, where: str, tracker: Tracker):
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


def _guarded_py_dataset(dataset, tracker: Tracker, where: str):
    """The user's ``PyDataset`` behind one that records its failures (as is, if it uses processes)."""
    if getattr(dataset, "use_multiprocessing", False):
        return dataset
    return batches(
        _PyDatasetReader(dataset, where),
        tracker,
        workers=getattr(dataset, "workers", 1),
        max_queue_size=getattr(dataset, "max_queue_size", 10),
    )


class _PyDatasetReader(Reader):
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
