"""Fine-tuning the open model: settings, the training job, and going back to other weights.

The job compiles the model with the user's settings (so trainable flags changed since the last
compile take effect), checks one batch against the model, then runs ``model.fit`` in the model's
kernel. A Keras callback reports progress through the job's context (the same channel as every
job's) and stops training when the job is cancelled (Stop) or the loss stops being finite; the best epoch's weights and the
weights from before training are kept so the user can go back to either.

``fit`` checks ``stop_training`` after each step and still runs that epoch's validation, which
the callback then cuts short: a stopped epoch is partial, is not counted as done and never
competes for the best epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

import numpy as np

from inspector.jobs import JobContext, Progress
from inspector.training.weight_change import snapshot, weight_changes

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")
LOSSES = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mse",
    "mae",
    "huber",
)
METRICS = ("accuracy", "mae", "mse", "auc", "precision", "recall")
REPORT_INTERVAL_S = 0.5
"""Batch progress is reported at most this often, so the window costs training nothing."""


@dataclass
class TrainingSettings:
    """How to train.

    Attributes:
        optimizer: A Keras optimizer name (:data:`OPTIMIZERS`).
        learning_rate: The optimizer's learning rate.
        losses: Loss name per output name.
        loss_weights: Weight of each output's loss in the total.
        metrics: Metric names per output name.
        epochs: Passes over the training data.
        steps_per_epoch: Batches per epoch, or ``None`` for the whole training data.
        validation_steps: Validation batches per epoch, or ``None`` for all.
        early_stopping: Stop when the monitored loss has not improved for this many epochs
            (``None``: never).
        reduce_lr: Halve the learning rate when the monitored loss has not improved for this many
            epochs (``None``: never).
        class_weight: Weight of each class in the loss (single-output models), or ``None``.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    losses: dict[str, str] = field(default_factory=dict)
    loss_weights: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, list[str]] = field(default_factory=dict)
    epochs: int = 5
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    early_stopping: int | None = None
    reduce_lr: int | None = None
    class_weight: dict[int, float] | None = None


def output_names(model) -> list[str]:
    """The names of the model's outputs, in order (the names ``compile`` and data dicts use)."""
    from inspector.training.training_data import output_specs

    return [spec.name for spec in output_specs(model)]


def training_defaults_job(model) -> Generator[Progress, None, tuple[list[str], TrainingSettings]]:
    """The model's output names and :func:`default_settings`, read where the model is."""
    yield Progress("Reading the model's outputs and compile settings…")
    return output_names(model), default_settings(model)


def default_settings(model) -> TrainingSettings:
    """Settings that fit the model: its own compile configuration when it has one, else a loss
    chosen from each output's activation (softmax: sparse categorical cross-entropy; sigmoid:
    binary cross-entropy; otherwise mean squared error)."""
    from inspector.training.training_data import model_losses, output_specs

    specs = output_specs(model)
    names = [spec.name for spec in specs]
    compiled = model_losses(model)
    settings = TrainingSettings(loss_weights={name: 1.0 for name in names})
    for spec in specs:
        loss = compiled.get(spec.name) or _loss_for(spec.activation)
        settings.losses[spec.name] = loss
        settings.metrics[spec.name] = ["accuracy"] if "crossentropy" in loss else ["mae"]
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if config:
        weights = config.get("loss_weights")
        if isinstance(weights, dict):
            settings.loss_weights.update({k: float(v) for k, v in weights.items() if k in names})
        elif isinstance(weights, (list, tuple)) and len(weights) == len(names):
            settings.loss_weights = {name: float(w) for name, w in zip(names, weights)}
        optimizer = config.get("optimizer")
        if isinstance(optimizer, dict):
            settings.optimizer = str(optimizer.get("class_name", "adam")).lower()
            rate = optimizer.get("config", {}).get("learning_rate")
            if isinstance(rate, (int, float)):
                settings.learning_rate = float(rate)
        elif isinstance(optimizer, str):
            settings.optimizer = optimizer.lower()
    if settings.optimizer not in OPTIMIZERS:
        settings.optimizer = "adam"
    return settings


def _loss_for(activation: str) -> str:
    if activation == "softmax":
        return "sparse_categorical_crossentropy"
    if activation == "sigmoid":
        return "binary_crossentropy"
    return "mse"


def compile_for_training(model, settings: TrainingSettings) -> None:
    """Compiles the model with the settings; trainable flags take effect now.

    Raises:
        ValueError: With a plain reason when Keras rejects the settings.
    """
    from inspector.tfimport import keras

    names = output_names(model)
    optimizer = keras.optimizers.get({"class_name": settings.optimizer, "config": {"learning_rate": settings.learning_rate}})
    single = len(names) == 1
    losses = settings.losses[names[0]] if single else {n: settings.losses[n] for n in names}
    metrics = (settings.metrics.get(names[0], []) if single else {n: settings.metrics.get(n, []) for n in names})
    weights = None if single else {n: float(settings.loss_weights.get(n, 1.0)) for n in names}
    model.compile(optimizer=optimizer, loss=losses, loss_weights=weights, metrics=metrics)


@dataclass(frozen=True)
class TrainingUpdate:
    """A progress payload: one batch (``kind == "batch"``) or one finished epoch.

    Attributes:
        kind: ``"batch"`` or ``"epoch"``.
        epoch: The epoch, from 0.
        step: Batches done in this epoch.
        steps: Batches per epoch, if known.
        logs: Loss and metric values (an epoch's include validation values).
        eta_s: Estimated seconds left, if known.
    """

    kind: str
    epoch: int
    step: int
    steps: int | None
    logs: dict[str, float]
    eta_s: float | None = None


@dataclass(frozen=True)
class CheckWarnings:
    """A progress payload: what the one-batch check found that does not stop training.

    Attributes:
        texts: One sentence each (see :func:`~inspector.training.training_data.check_batch`).
    """

    texts: tuple[str, ...]


@dataclass
class TrainingResult:
    """What a training run did.

    Attributes:
        history: Per-epoch values of each loss and metric (complete epochs only).
        batch_losses: ``(global batch number, loss)`` of every batch.
        epochs_done: Epochs completed, training and validation.
        partial_epoch: The epoch (from 0) that was cut short by Stop or a loss that was not
            finite, or ``None``; its values are in ``partial_logs``, not in ``history``.
        partial_logs: The partial epoch's values (its validation covers only part of the
            validation data).
        warnings: What the one-batch check warned about (:class:`CheckWarnings`).
        stopped: The user stopped it.
        problem: Why training stopped by itself (a loss that was not finite), or ``None``.
        monitor: The value used to pick the best epoch (``"val_loss"`` or ``"loss"``).
        best_epoch: The complete epoch with the lowest monitored value, or ``None``.
        before: Every variable's value before training (``model.weights`` order).
        best: Every variable's value at the end of the best epoch, or ``None``.
        epoch_seconds: How long each epoch took, validation included.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    batch_losses: list[tuple[int, float]] = field(default_factory=list)
    epochs_done: int = 0
    partial_epoch: int | None = None
    partial_logs: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stopped: bool = False
    problem: str | None = None
    monitor: str = "loss"
    best_epoch: int | None = None
    before: list[np.ndarray] = field(default_factory=list)
    best: list[np.ndarray] | None = None
    epoch_seconds: list[float] = field(default_factory=list)


def restore(model, values: list[np.ndarray]) -> None:
    """Sets every variable to a :func:`snapshot` of the same model."""
    for variable, value in zip(model.weights, values):
        variable.assign(value)


def restore_job(model, values: list[np.ndarray], what: str) -> Generator[Progress, None, None]:
    """Sets the model's weights to a snapshot, on the model's worker.

    Args:
        model: The model.
        values: From :func:`snapshot` (or :attr:`TrainingResult.before` / ``best``).
        what: What the weights are, for the status line ("the best epoch's weights").
    """
    yield Progress(f"Restoring {what}…")
    restore(model, values)


def weight_changes_job(model, before: list[np.ndarray]) -> Generator[Progress, None, list]:
    """How far each layer moved from ``before`` (see :func:`inspector.training.weight_change.weight_changes`)."""
    yield Progress("Measuring how far each layer moved…")
    return weight_changes(model, before)


def bn_audit_job(model, data_factory: Callable[[Any], Any]) -> Generator[Progress, None, list]:
    """Ranks the model's BatchNormalization layers by how far the training data's statistics at
    each are from its moving statistics (see :func:`inspector.training.bn_statistics.bn_shift_job`).

    Args:
        model: The Keras model.
        data_factory: Builds the :class:`~inspector.training.training_data.TrainingData` where
            the model is: called with the model.
    """
    from inspector.training.bn_statistics import bn_shift_job
    from inspector.inputs.input_range import range_warnings
    from inspector.training.training_data import batch_inputs, first_batch

    yield Progress("Reading the training data for the BatchNormalization audit…")
    data = data_factory(model)
    warnings = range_warnings(model, batch_inputs(model, first_batch(data)), data.preprocessing)
    train = data.train
    batches = _Indexed(train) if hasattr(train, "__getitem__") and hasattr(train, "__len__") else train
    return (yield from bn_shift_job(model, batches, range_problem=" ".join(warnings)))


class _Indexed:
    """Iterates a ``PyDataset`` batch by batch, and knows how many batches it holds (so the
    audit's progress can say "batch 3/20")."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        return (self.dataset[i] for i in range(len(self.dataset)))


def history_csv(result: TrainingResult) -> str:
    """The per-epoch history as CSV text: a header, then one row per epoch."""
    names = list(result.history)
    rows = ["epoch," + ",".join(names)]
    for epoch in range(result.epochs_done):
        values = [result.history[name][epoch] if epoch < len(result.history[name]) else "" for name in names]
        rows.append(f"{epoch + 1}," + ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values))
    return "\n".join(rows) + "\n"


def train_job(
    model,
    data_factory: Callable[[Any], Any],
    settings: TrainingSettings,
    context: JobContext,
    editor=None,
) -> Generator[Progress, None, TrainingResult]:
    """Trains the model: compile, check one batch, ``fit`` with live progress.

    Args:
        model: The Keras model (its trainable flags as the user set them).
        data_factory: Builds the :class:`~inspector.training.training_data.TrainingData` where
            the model is: called with the model.
        settings: How to train.
        context: The job's context (:data:`~inspector.jobs.CONTEXT`): batch and epoch progress
            go to its ``report``; a cancel stops training after the current batch, and the job
            still returns what was trained.
        editor: The model's trainable editor, told that the model was compiled.

    Returns:
        The history, how it ended, and the weights from before training and of the best epoch.

    Raises:
        TrainingDataError: The data cannot be read or does not fit the model (nothing was
            trained).
        ValueError: Keras rejected the settings (nothing was trained).
    """
    from inspector.tfimport import keras
    from inspector.training.training_data import check_batch, data_errors, first_batch

    yield Progress("Reading the training data…")
    data = data_factory(model)
    yield Progress("Checking one batch against the model…")
    warnings = check_batch(model, first_batch(data), settings.losses, data.preprocessing)
    if warnings:
        yield Progress(" ".join(warnings), None, CheckWarnings(tuple(warnings)))
    yield Progress("Compiling…")
    compile_for_training(model, settings)
    if editor is not None:
        editor.mark_compiled()
    result = TrainingResult(before=snapshot(model), warnings=warnings)
    result.monitor = "val_loss" if data.validation is not None else "loss"
    callbacks: list = [_reporter(context, settings, result)]
    if settings.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=result.monitor, patience=settings.early_stopping))
    if settings.reduce_lr:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=result.monitor, patience=settings.reduce_lr, factor=0.5))
    yield Progress("Training…", 0.0)
    with data_errors(data):  # a source that fails mid-training says why, with its traceback
        model.fit(
            data.train,
            validation_data=data.validation,
            epochs=settings.epochs,
            steps_per_epoch=settings.steps_per_epoch,
            validation_steps=settings.validation_steps if data.validation is not None else None,
            class_weight=settings.class_weight if len(output_names(model)) == 1 else None,
            callbacks=callbacks,
            verbose=0,
        )
    result.stopped = context.cancelled
    return result


def _reporter(context: JobContext, settings: TrainingSettings, result: TrainingResult):
    """The Keras callback of :func:`train_job`: reports progress, keeps the best epoch's weights,
    stops on request or on a loss that is not finite. (Defined here so that importing this module
    imports no TensorFlow.)"""
    from inspector.tfimport import keras

    class Reporter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.context, self.settings, self.result = context, settings, result
            self.epoch = 0
            self.batches = 0
            self.started = time.perf_counter()
            self.last_report = 0.0
            self.best_value = math.inf
            self.cut_short = False  # this epoch's training or validation was not run to its end

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_started = time.perf_counter()
            self.cut_short = False

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            loss = float(logs.get("loss", math.nan))
            self.batches += 1
            self.result.batch_losses.append((self.batches, loss))
            if not math.isfinite(loss):
                self.result.problem = (
                    f"The loss became {loss} at batch {batch + 1} of epoch {self.epoch + 1}; training "
                    "stopped. Try a lower learning rate, check the labels, or normalise the inputs."
                )
                self.model.stop_training = True
                self.cut_short = True
                return
            if self.context.cancelled:
                self.model.stop_training = True
                # fit still validates this epoch, and on_test_batch_end cuts that short
                self.cut_short = batch + 1 != self.params.get("steps") or self.result.monitor != "loss"
            now = time.perf_counter()
            if now - self.last_report >= REPORT_INTERVAL_S:
                self.last_report = now
                self._report("batch", batch + 1, {k: float(v) for k, v in logs.items()})

        def on_test_batch_end(self, batch, logs=None):
            if self.context.cancelled or self.result.problem:
                self.model.stop_evaluating = True  # skip the rest of the validation
                self.model.stop_training = True
                self.cut_short = True

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if self.cut_short:
                self.result.partial_epoch, self.result.partial_logs = epoch, logs
                return
            if self.context.cancelled:  # asked between the epoch's last batch and its end
                self.model.stop_training = True
            for name, value in logs.items():
                self.result.history.setdefault(name, []).append(value)
            self.result.epochs_done = epoch + 1
            value = logs.get(self.result.monitor, logs.get("loss", math.nan))
            if math.isfinite(value) and value < self.best_value:
                self.best_value = value
                self.result.best_epoch = epoch
                self.result.best = snapshot(self.model)
            self._report("epoch", self.params.get("steps") or 0, logs)
            # Measured last, so the best-weights copy and the report count as the epoch's cost.
            self.result.epoch_seconds.append(time.perf_counter() - self.epoch_started)

        def _report(self, kind, step, logs):
            steps = self.params.get("steps")
            epochs = self.params.get("epochs") or self.settings.epochs
            done = self.epoch + (step / steps if steps else 0.0)
            fraction = min(done / epochs, 1.0) if epochs else None
            elapsed = time.perf_counter() - self.started
            eta = elapsed / fraction * (1 - fraction) if fraction else None
            update = TrainingUpdate(kind, self.epoch, step, steps, logs, eta)
            where = f"epoch {self.epoch + 1}/{epochs}" + (f", batch {step}/{steps}" if steps and kind == "batch" else "")
            loss = logs.get("loss")
            text = f"Training: {where}" + (f", loss {loss:.4g}" if loss is not None else "")
            self.context.report(Progress(text, fraction, update))

    return Reporter()
