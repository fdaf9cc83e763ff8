"""What a kernel holds for its model, and the jobs that open and edit it there.

A :class:`Session` is the kernel's one live model with its trainable editor and its description.
The window reaches it only through jobs that take :data:`~inspector.jobs.SESSION`, and gets
plain results back: an :class:`~inspector.model.jobs.OpenedModel` without the model, and a
:class:`~inspector.model.trainable_state.TrainableState` after every edit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Generator, Sequence

from inspector.jobs import Progress
from inspector.model.jobs import OpenedModel, open_model_job
from inspector.model.lora import LoraSaved, save_lora_weights
from inspector.model.trainable_state import EditorState, TrainableState

EDITS = ("set_trainable", "freeze_up_to", "set_all", "enable_lora", "load_lora", "undo", "redo")
"""The editor operations a window may ask for (and keep in its journal)."""


@dataclasses.dataclass
class Session:
    """The live objects of one kernel.

    Attributes:
        model: The Keras model, once opened.
        editor: Its :class:`~inspector.model.freezing.TrainableEditor`.
        info: Its description, kept up to date with the trainable flags.
        kept: What jobs keep for later jobs (:data:`~inspector.jobs.KEPT`).
    """

    model: Any = None
    editor: Any = None
    info: Any = None
    kept: dict = dataclasses.field(default_factory=dict)


def trainable_state(session: Session, change: str | None = None, warnings: dict[str, str] | None = None) -> TrainableState:
    """The session's trainable flags, counts, warnings and undo history as plain data.

    Args:
        session: The kernel's session.
        change: What the last edit did, if anything.
        warnings: The BatchNormalization warnings when they were just computed with the
            description (a model just opened); otherwise both are brought up to date here.
    """
    from inspector.model.bn_audit import bn_warnings
    from inspector.model.describe import refresh_training_state

    info, editor = session.info, session.editor
    described = None
    if warnings is None:
        if [v.path for v in session.model.weights] != [v.path for v in info.variables]:
            info = described = session.info = _described_again(session)
        else:
            refresh_training_state(info, session.model)
        warnings = bn_warnings(session.model)
    return TrainableState(
        layers={
            path: (layer.trainable, layer.trainable_params, layer.non_trainable_params)
            for path, layer in info.layer_index().items()
        },
        variables=tuple(v.trainable for v in info.variables),
        params=info.params,
        warnings=warnings,
        editor=EditorState(
            can_undo=editor.can_undo,
            can_redo=editor.can_redo,
            undo_description=editor.undo_description,
            redo_description=editor.redo_description,
            modified=editor.modified,
            needs_recompile=editor.needs_recompile,
        ),
        change=change,
        info=described,
    )


def _described_again(session: Session):
    """A new description of the session's model, whose variables changed (LoRA adapters were
    added or removed); the layers' saved configurations are reused except where LoRA changed."""
    from inspector.model.describe import describe

    old = session.info
    adapted = set(session.editor.lora_layers())
    configs = {path: layer.config for path, layer in old.layer_index().items() if layer.lora is None and path not in adapted}
    return describe(
        session.model, file=old.file, format=old.format, compiled=old.compiled, notes=old.notes, configs=configs
    )


def save_lora_job(session: Session, path: str | Path) -> Generator[Progress, None, LoraSaved]:
    """Writes the LoRA matrices of the session's model to ``path``, on their own (KerasHub's
    file for a KerasHub backbone, where it can hold them).

    Returns:
        How many layers' adapters were written, and in which file format.
    """
    yield Progress(f"Saving LoRA weights to {Path(path).name}…")
    return save_lora_weights(session.editor.lora_layers(), path, session.model)


def open_job(
    session: Session,
    path: str | Path,
    *,
    allow_code: bool = False,
    custom_code: Sequence[str | Path] = (),
    notes: Sequence[str] = (),
    origin: str | None = None,
    description_ahead: bool = False,
) -> Generator[Progress, None, OpenedModel]:
    """Opens a model file into the session.

    Args:
        session: The kernel's session (:data:`~inspector.jobs.SESSION`).
        path: The model file (a copy of the window's, when it was uploaded to a kernel on a Ray
            cluster).
        allow_code: The user agreed to run Python code stored in the file.
        custom_code: Python files that define the model's custom classes; importing them runs
            them (the user chose them).
        notes: Remarks to add to the description (a built model says what it was built from).
        origin: The file as the window names it, when ``path`` is an uploaded copy.
        description_ahead: Send the description with the progress report that the graph is
            being laid out, not with the result (see :func:`~inspector.model.jobs.open_model_job`).

    Returns:
        The description (unless it came ahead), layout, warnings and trainable state; not the
        model.
    """
    from inspector.model.freezing import TrainableEditor
    from inspector.model.loading import load_custom_objects

    custom_objects: dict = {}
    for file in custom_code:
        custom_objects.update(load_custom_objects(file))
    opened = yield from open_model_job(
        path,
        allow_code=allow_code,
        custom_objects=custom_objects or None,
        notes=notes,
        origin=origin,
        report_description=description_ahead,
    )
    session.model, session.info = opened.model, opened.info
    session.editor = TrainableEditor(opened.model)
    state = trainable_state(session, warnings=opened.warnings)
    info = None if description_ahead else opened.info
    return dataclasses.replace(opened, model=None, info=info, warnings=state.warnings, state=state)


def edit_job(session: Session, operation: str, *args: Any) -> Generator[Progress, None, TrainableState]:
    """Applies one trainable edit (or undo, redo) to the session's model.

    Args:
        session: The kernel's session.
        operation: One of :data:`EDITS`.
        *args: The operation's arguments (``set_trainable(paths, trainable)``, …).

    Returns:
        The state afterwards; its ``change`` is ``None`` when nothing changed.
    """
    if operation not in EDITS:
        raise ValueError(f"unknown trainable edit {operation!r}")
    yield Progress("Changing trainable flags…")
    editor = session.editor
    if operation == "undo" and not editor.can_undo or operation == "redo" and not editor.can_redo:
        return trainable_state(session)
    change = getattr(editor, operation)(*args)
    return trainable_state(session, change.description if change is not None else None)


def state_job(session: Session) -> Generator[Progress, None, TrainableState]:
    """The session's trainable state now (after training compiled the model, say)."""
    yield Progress("Reading the trainable flags…")
    return trainable_state(session)


def recompile_job(session: Session) -> Generator[Progress, None, TrainableState]:
    """Compiles the session's model again with its own configuration."""
    yield Progress("Recompiling…")
    session.editor.recompile()
    return trainable_state(session)


def save_job(
    session: Session, path: str | Path, overwrite: bool = False, download: bool = False
) -> Generator[Progress, None, tuple[Path, TrainableState, Any]]:
    """Saves the session's model (atomically) and marks its flags saved.

    Args:
        session: The kernel's session.
        path: The file to write.
        overwrite: Replace an existing file.
        download: ``path`` is on the window's computer, not the kernel's (a kernel on a Ray
            cluster): the model is saved to a temporary file here and its bytes are returned for
            the window to write.

    Returns:
        The file written (``path``), the state afterwards, and the file's bytes when
        ``download`` (else ``None``).
    """
    import tempfile

    from inspector.kernel.uploads import file_bytes
    from inspector.model.saving import save_model_job

    data = None
    if download:
        with tempfile.TemporaryDirectory(prefix="kmi-download-") as folder:
            written = yield from save_model_job(session.model, Path(folder) / Path(path).name)
            data = file_bytes(written)
        saved = Path(path)
    else:
        saved = yield from save_model_job(session.model, path, overwrite)
    session.editor.mark_saved()
    return saved, trainable_state(session), data


def build_job(session: Session, folder: str | Path, **options: Any) -> Generator[Progress, None, Path]:
    """Builds a new model from the session's (a new head, or a replaced output layer) and saves
    it as a ``.keras`` file in ``folder``, which the new model's own kernel opens.

    Args:
        session: The kernel's session.
        folder: Where to save it: a folder of the window's, which outlives this kernel (the new
            tab reopens the file if its own kernel restarts).
        **options: As :func:`inspector.model.transfer.build_model` takes them.

    Returns:
        The file.
    """
    from inspector.model.saving import save_model
    from inspector.model.transfer import build_model

    yield Progress("Building the new model…")
    model = build_model(session.model, **options)
    yield Progress(f"Handing {model.name} to its own process…")
    return save_model(model, Path(folder) / f"{model.name}.keras")


@dataclasses.dataclass
class Comparison:
    """Two models compared, with what the window needs to draw both graphs.

    Attributes:
        diff: The :class:`~inspector.model.model_diff.ModelDiff` (A: the session's model).
        info_a: A's description.
        layout_a: A's graph layout.
        info_b: B's description.
        layout_b: B's graph layout.
    """

    diff: Any
    info_a: Any
    layout_a: Any
    info_b: Any
    layout_b: Any


def compare_job(session: Session, path: str | Path, origin: str | None = None) -> Generator[Progress, None, Comparison]:
    """Compares the session's model (with its unsaved edits) with another model file, opened here
    for the comparison only (refused as the window refuses unsafe files), and lays out both
    graphs for the comparison window (here, off the window's thread).

    Args:
        session: The kernel's session.
        path: The other model's file (a copy of the window's, when uploaded to a Ray cluster).
        origin: The other file as the window names it, when ``path`` is an uploaded copy.

    Returns:
        The comparison; A is the session's model, B the file.
    """
    from inspector.model.graph_blocks import group_blocks
    from inspector.model.graph_layout import layout_graph
    from inspector.model.jobs import open_model_job
    from inspector.model.model_diff import diff_models

    other = yield from open_model_job(path)
    yield Progress("Comparing the layers and variables…")
    diff = diff_models(session.model, session.info, other.model, other.info)
    if origin is not None:
        diff.b = origin
    yield Progress("Laying out the graphs…")
    layout = layout_graph(group_blocks(session.info.graph))
    return Comparison(diff, session.info, layout, other.info, other.layout)


def weight_norms_job(session: Session) -> Generator[Progress, None, dict[str, float]]:
    """The L2 norm of each layer's own variables (all of them together), by layer path, for
    colouring the graph."""
    import numpy as np

    yield Progress("Computing weight norms…")
    squares: dict[str, float] = {}
    for info, variable in zip(session.info.variables, session.model.weights):
        values = np.asarray(variable, dtype=np.float64)
        squares[info.layer] = squares.get(info.layer, 0.0) + float(np.square(values).sum())
    return {layer: float(np.sqrt(total)) for layer, total in squares.items()}


def gradient_norms_job(session: Session, data_factory) -> Generator[Progress, None, dict[str, float]]:
    """The norm of the loss gradient of each layer's trainable variables on one batch of the
    training data, by layer path, for colouring the graph.

    The model runs in inference mode (dropout off, BatchNormalization on its moving statistics),
    so the figures do not depend on chance; frozen variables get no gradient and their layers no
    value.

    Args:
        session: The kernel's session.
        data_factory: Builds the :class:`~inspector.training.training_data.TrainingData` (called
            with the model), as the Training view's data editor gives it.

    Raises:
        TrainingDataError: The batch cannot be read, has no labels, or the model has no loss.
    """
    import numpy as np
    import tensorflow as tf

    from inspector.errors import TrainingDataError
    from inspector.training.training_data import first_batch, numpy_batch

    model = session.model
    if getattr(model, "loss", None) is None:
        raise TrainingDataError("The model has no loss to differentiate: compile it (train it once in the Training view) first")
    yield Progress("Reading one batch of the training data…")
    batch = numpy_batch(first_batch(data_factory(model)))
    if len(batch) < 2:
        raise TrainingDataError("The training data gives no labels, so there is no loss to differentiate")
    x, y, weights = batch[0], batch[1], batch[2] if len(batch) > 2 else None
    yield Progress(f"Computing the loss gradient on one batch of {len(tf.nest.flatten(x)[0])} examples…")
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        predictions = model(x, training=False)
        loss = model.compute_loss(x=x, y=y, y_pred=predictions, sample_weight=weights, training=False)
    grads = tape.gradient(loss, variables)
    owner = {id(variable): info.layer for info, variable in zip(session.info.variables, model.weights)}
    squares: dict[str, float] = {}
    for variable, grad in zip(variables, grads):
        if grad is not None and id(variable) in owner:
            layer = owner[id(variable)]
            squares[layer] = squares.get(layer, 0.0) + float(tf.reduce_sum(tf.square(tf.cast(grad, tf.float64))))
    return {layer: float(np.sqrt(total)) for layer, total in squares.items()}
