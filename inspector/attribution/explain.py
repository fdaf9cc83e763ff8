"""Explaining a model's predictions for the user's inputs, as jobs in the model's kernel.

:func:`explain_setup_job` lists what the Explain view offers for a model (outputs, their class
names, the layers Grad-CAM can use); :func:`explain_job` reads the inputs the user chose and
computes one method's maps for one or two classes, in batches, with progress.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generator

import numpy as np

from inspector.errors import InputDataError
from inspector.inputs.input_data import SampleSet, read_samples_job
from inspector.jobs import Progress

METHODS = {
    "grad_cam": "Grad-CAM",
    "integrated_gradients": "Integrated gradients",
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
}
"""The methods the Explain view offers, by the name a request uses."""

LABEL_FILE_NAMES = ("{stem}_labels.txt", "{stem}.labels.txt", "labels.txt")
"""Class-name files looked for beside a model file, in order (one class name per line)."""


@dataclass(frozen=True)
class OutputChoice:
    """One output of the model as the Explain view offers it.

    Attributes:
        name: The output's name.
        units: Its number of classes (the last axis; 1 for a single score).
        class_names: One name per class from a labels file, else ``None``.
        softmax: It ends with a softmax, so its logits can be explained instead.
    """

    name: str
    units: int
    class_names: tuple[str, ...] | None = None
    softmax: bool = False

    def class_label(self, index: int) -> str:
        """``"3: cat"`` when the class has a name, else ``"class 3"``."""
        if self.class_names is not None and 0 <= index < len(self.class_names):
            return f"{index}: {self.class_names[index]}"
        return f"class {index}"


@dataclass(frozen=True)
class CamLayer:
    """A layer output Grad-CAM can use: it has spatial (or time) axes before its channels.

    Attributes:
        key: The layer output's key (see :class:`~inspector.activations.extraction.Target`).
        label: What the user sees.
        shape: Its shape without the batch axis.
    """

    key: str
    label: str
    shape: tuple


@dataclass
class ExplainSetup:
    """What the Explain view offers for one model.

    Attributes:
        outputs: The model's outputs.
        cam_layers: Layer outputs with spatial axes, in graph order; Grad-CAM's default is the
            last one.
        labels_file: The class-name file found beside the model, if any.
        notes: Remarks for the user.
    """

    outputs: list[OutputChoice]
    cam_layers: list[CamLayer]
    labels_file: str | None = None
    notes: list[str] = field(default_factory=list)


def read_class_names(path: str | Path) -> list[str]:
    """The class names in a labels file: one per line, blank lines at the end ignored.

    Raises:
        InputDataError: The file cannot be read as text, or names no class.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputDataError(f"{Path(path).name} cannot be read as a labels file: {getattr(error, 'strerror', None) or error}") from error
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputDataError(f"{Path(path).name} names no class (it is empty)")
    return [line.strip() for line in lines]


def labels_beside(file: str | Path | None) -> Path | None:
    """The class-name file saved beside a model file (``model_labels.txt``, ``labels.txt``)."""
    if file is None:
        return None
    path = Path(file)
    for pattern in LABEL_FILE_NAMES:
        candidate = path.with_name(pattern.format(stem=path.stem))
        if candidate.is_file():
            return candidate
    return None


def with_class_names(outputs: list[OutputChoice], names: list[str]) -> tuple[list[OutputChoice], bool]:
    """Gives ``names`` to every output with as many classes as there are names.

    Returns:
        The outputs, and whether any of them took the names.
    """
    matched = [dataclasses.replace(o, class_names=tuple(names)) if o.units == len(names) else o for o in outputs]
    return matched, any(o.units == len(names) for o in outputs)


def explain_setup_job(model, file: str | Path | None = None) -> Generator[Progress, None, ExplainSetup]:
    """Lists the model's outputs (with class names from a labels file beside ``file``) and the
    layers Grad-CAM can use."""
    from inspector.activations.extraction import extraction_targets
    from inspector.attribution.gradients import ScoreGradients, final_softmax, output_names

    yield Progress("Listing what can be explained…")
    outputs = []
    for index, name in enumerate(output_names(model)):
        units = ScoreGradients.output_units(model, index)
        outputs.append(OutputChoice(name, units or 1, softmax=final_softmax(model, index) is not None))
    setup = ExplainSetup(outputs, [])
    labels = labels_beside(file)
    if labels is not None:
        try:
            setup.outputs, matched = with_class_names(outputs, read_class_names(labels))
        except InputDataError as error:
            setup.notes.append(f"The labels beside the model were not used: {error}.")
        else:
            setup.labels_file = str(labels)
            if not matched:
                setup.notes.append(f"{labels.name} names a different number of classes than any output has.")
    for target in extraction_targets(model):
        if len(target.shape) >= 2 and target.class_name not in ("InputLayer", "Embedding"):
            setup.cam_layers.append(CamLayer(target.key, target.label, target.shape))
    return setup


@dataclass(frozen=True)
class ExplainRequest:
    """What to explain.

    Attributes:
        method: A key of :data:`METHODS`.
        output: The output's name (``None``: the first).
        classes: One or two classes to explain (``None``: each input's top class).
        layer: Grad-CAM's layer output key.
        steps: Integrated gradients' intervals.
        smooth_samples: SmoothGrad's noisy copies per input.
        noise: SmoothGrad's noise, as a fraction of each input's range.
        batch_size: Rows per model call.
        logits: Explain the score before the output's final softmax.
    """

    method: str
    output: str | None = None
    classes: tuple[int | None, ...] = (None,)
    layer: str | None = None
    steps: int = 50
    smooth_samples: int = 25
    noise: float = 0.15
    batch_size: int = 32
    logits: bool = False


@dataclass
class Explanation:
    """One method's maps for the user's inputs, as the window shows them.

    Attributes:
        request: What was asked.
        samples: The inputs' names, images and tokens (not their model arrays).
        inputs: Names of the model's inputs, in order.
        tokens: Per model input, whether it holds token ids.
        predictions: ``(N, classes)`` the explained output, averaged over any axes between the
            batch and the classes.
        classes: Per requested class, ``(N,)`` the class explained for each input.
        maps: Per requested class, per model input, the attributions ``(N, …)``; Grad-CAM
            gives one map per class, at the layer's resolution.
        fixed: Per model input, whether it is passed as given and not attributed (a padding
            mask, say).
    """

    request: ExplainRequest
    samples: SampleSet
    inputs: list[str]
    tokens: list[bool]
    predictions: np.ndarray
    classes: list[np.ndarray]
    maps: list[list[np.ndarray]]
    fixed: list[bool] = field(default_factory=list)


def explain_job(model, specs: list, sources: dict, request: ExplainRequest) -> Generator[Progress, None, Explanation]:
    """Reads the user's inputs and computes ``request``'s maps for each requested class.

    Args:
        model: The Keras model (:data:`~inspector.jobs.MODEL`).
        specs: The model's inputs (:func:`~inspector.inputs.input_data.input_specs`).
        sources: Per input name, a callable that reads that input's data.
        request: The method, output, classes and settings.

    Raises:
        InputDataError: The inputs cannot be read, or the model rejects them, or the request
            does not fit the model (a class it does not have, a layer without spatial axes).
    """
    from inspector.attribution.gradients import AttributionError, prepared
    from inspector.attribution.methods import grad_cam_job, integrated_gradients_job, saliency_job

    if request.method not in METHODS:
        raise ValueError(f"unknown attribution method {request.method!r}")
    samples = yield from read_samples_job(specs, sources)
    yield Progress(f"Preparing {METHODS[request.method]}…")
    try:
        layer = request.layer if request.method == "grad_cam" else None
        gradients = prepared(model, request.output, layer, request.logits)
        arrays = gradients.arrays(samples.arrays)
        predictions = gradients.predict(arrays, request.batch_size)
        classes = [gradients.classes(arrays, choice, predictions) for choice in request.classes]
        predictions = predictions.astype(np.float32)
        maps = []
        for number, explained in enumerate(classes):
            if request.method == "grad_cam":
                job = grad_cam_job(gradients, arrays, explained, request.batch_size)
            elif request.method == "integrated_gradients":
                job = integrated_gradients_job(gradients, arrays, explained, None, request.steps, request.batch_size)
            else:
                smooth = request.smooth_samples if request.method == "smoothgrad" else 0
                job = saliency_job(gradients, arrays, explained, smooth, request.noise, request.batch_size)
            result = yield from _scaled(job, number, len(classes))
            maps.append([result] if request.method == "grad_cam" else result)
    except AttributionError as error:
        raise InputDataError(str(error)) from error
    except Exception as error:
        if type(error).__module__.startswith(("tensorflow", "keras")) or isinstance(error, (ValueError, TypeError)):
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputDataError(f"The model rejected the inputs: {first}") from error
        raise
    images = dict(samples.images)
    for kind, array in zip(gradients.kinds, arrays):
        if kind.image and kind.name not in images:  # arrays, not image files: show them as pictures
            images[kind.name] = pictures(array)
    return Explanation(
        request=request,
        samples=dataclasses.replace(samples, arrays={}, images=images),
        inputs=[kind.name for kind in gradients.kinds],
        tokens=[kind.tokens for kind in gradients.kinds],
        predictions=predictions,
        classes=classes,
        maps=maps,
        fixed=[kind.fixed for kind in gradients.kinds],
    )


def save_maps_job(explanation: Explanation, path: str | Path) -> Generator[Progress, None, list[Path]]:
    """Saves the maps of every input: one ``.npy`` per requested class and model input (``path``
    itself, or ``<stem>_<input>_choice<k>.npy`` when there are several; Grad-CAM's one map counts
    as input ``gradcam``).

    Returns:
        The files written.
    """
    path = Path(path)
    several = len(explanation.maps) > 1 or len(explanation.maps[0]) > 1
    names = ["gradcam"] if explanation.request.method == "grad_cam" else explanation.inputs
    written = []
    for number, maps in enumerate(explanation.maps):
        for name, values in zip(names, maps):
            target = path.with_name(f"{path.stem}_{name}_choice{number + 1}.npy") if several else path
            yield Progress(f"Saving {target.name}…")
            np.save(target, values)
            written.append(target)
    return written


def pictures(array: np.ndarray) -> np.ndarray:
    """Image-shaped input values ``(N, H, W, C)`` as ``uint8`` pictures, each stretched from its
    own minimum to its maximum (the values may be preprocessed to any range)."""
    values = np.asarray(array, dtype=np.float32)
    axes = tuple(range(1, values.ndim))
    low, high = values.min(axis=axes, keepdims=True), values.max(axis=axes, keepdims=True)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    return np.round(np.nan_to_num(scaled) * 255).astype(np.uint8)


def _scaled(job, number: int, count: int):
    """Runs one class's job, reporting progress as part of the whole request."""
    while True:
        try:
            record = next(job)
        except StopIteration as stop:
            return stop.value
        fraction = None if record.fraction is None else (number + record.fraction) / count
        prefix = f"Class {number + 1} of {count}: " if count > 1 else ""
        yield Progress(prefix + record.message, fraction)
