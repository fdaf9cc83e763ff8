"""The jobs that open a model file and read its variables, run where the model lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Sequence

from inspector.cancel import interruptible
from inspector.jobs import Progress
from inspector.memory import collection_paused, freeze_long_lived
from inspector.model.graph_blocks import group_blocks
from inspector.model.graph_layout import GraphLayout, layout_graph
from inspector.model.model_info import ModelInfo
from inspector.model.trainable_state import TrainableState


@dataclass
class OpenedModel:
    """The result of opening a model file: the live model, its description and graph layout.

    Attributes:
        model: The Keras model.
        info: Its description (``None`` in the window's copy when it came ahead).
        layout: The layout of its graph with its blocks grouped
            (:func:`~inspector.model.graph_blocks.group_blocks`) and every nested model and
            block closed.
        warnings: BatchNormalization warnings by layer path, if already computed.
        state: The trainable state once the kernel holds the model (the window's copy has no
            ``model``, only this).
    """

    model: Any
    info: ModelInfo | None
    layout: GraphLayout
    warnings: dict[str, str] | None = None
    state: TrainableState | None = None


def open_model_job(
    path: str | Path,
    *,
    allow_code: bool = False,
    custom_objects: dict | None = None,
    notes: Sequence[str] = (),
    origin: str | None = None,
    report_description: bool = False,
) -> Generator[Progress, None, OpenedModel]:
    """Loads a model file and describes it.

    Args:
        path: The ``.keras`` or ``.h5`` file.
        allow_code: The user agreed to run Python code stored in this file.
        custom_objects: Custom classes the user supplied.
        notes: Remarks to add to the description (a built model says what it was built from).
        origin: The file as the window names it, when ``path`` is a copy of it.
        report_description: Send the description ahead, as the payload of the progress report
            that says the graph is being laid out, so the window fills its views while the
            layout is made here (a 10,000-layer model's views take a few hundred milliseconds).

    Returns:
        The loaded model with its description.

    Raises:
        ModelLoadError: With a plain reason when the file cannot be opened.
    """
    name = Path(path).name
    yield Progress(f"Loading {name}…")
    from inspector.model.bn_audit import bn_warnings
    from inspector.model.config_graph import layer_configs
    from inspector.model.describe import describe
    from inspector.model.loading import load

    # Everything between the yields only builds objects that a cancel throws away, so a cancel
    # (closing the tab or the window) may interrupt it anywhere, even inside Keras.
    with collection_paused():
        with interruptible():
            loaded = load(path, allow_code=allow_code, custom_objects=custom_objects)
        yield Progress(f"Describing {name}…")
        with interruptible():
            info = describe(
                loaded.model,
                file=str(loaded.file.path),
                format=loaded.file.format,
                compiled=loaded.compiled,
                notes=loaded.notes,
                configs=layer_configs(loaded.file.config),
            )
        info.notes.extend(notes)
        if origin is not None:
            info.file = origin
        yield Progress(f"Laying out the graph of {name}…", payload=info if report_description else None)
        with interruptible():
            layout = layout_graph(group_blocks(info.graph))
            warnings = bn_warnings(loaded.model)
        # Freeze before collection resumes: it also resets the allocation count, which would
        # otherwise start a collection that scans everything the load created.
        freeze_long_lived()  # the model's objects live as long as its tab
    return OpenedModel(loaded.model, info, layout, warnings)


def variable_stats_job(model, chunk: int = 32) -> Generator[Progress, None, dict]:
    """Computes statistics of every variable, reporting them in chunks as they are ready.

    Args:
        model: A Keras model.
        chunk: How many variables to report per progress record.

    Returns:
        Statistics of every variable by its index in ``model.weights`` (paths need not be
        unique).
    """
    from inspector.model.variable_stats import variable_stats

    weights = list(model.weights)
    results, batch = {}, {}
    for i, variable in enumerate(weights, 1):
        batch[i - 1] = variable_stats(variable.numpy())
        if len(batch) >= chunk or i == len(weights):
            results.update(batch)
            yield Progress(f"Variable statistics {i}/{len(weights)}", i / len(weights), batch)
            batch = {}
    return results


def variable_values_job(model, index: int) -> Generator[Progress, None, Any]:
    """Copies one variable's values out of the model, for histograms and heatmaps.

    Args:
        model: A Keras model.
        index: The variable's index in ``model.weights``.

    Returns:
        The values as a NumPy array.
    """
    variable = model.weights[index]
    yield Progress(f"Reading {variable.path}…")
    return variable.numpy()
