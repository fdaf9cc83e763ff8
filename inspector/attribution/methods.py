"""Grad-CAM, integrated gradients and saliency (with SmoothGrad) for Keras 3 models.

Each method exists twice: as a job generator over a prepared
:class:`~inspector.attribution.gradients.ScoreGradients` (batched, with progress, cancelled at
any ``yield``; the kernel runs these), and as a plain function that takes the model and runs
the job (the public API of :mod:`inspector.attribution`).
"""

from __future__ import annotations

from typing import Generator, Sequence

import numpy as np

from inspector.attribution.gradients import TOP_CLASS, AttributionError, Inputs, ScoreGradients, prepared
from inspector.jobs import Progress, run_job

ClassIndex = int | Sequence[int] | None
"""One class for every input, one class per input, or ``None`` for each input's top class."""


def _chunks(count: int, size: int):
    for start in range(0, count, max(1, size)):
        yield start, min(start + max(1, size), count)


def _take(arrays: list[np.ndarray], start: int, stop: int, repeat: int = 1) -> list[np.ndarray]:
    return [np.repeat(array[start:stop], repeat, axis=0) for array in arrays]


def _classes(gradients: ScoreGradients, arrays: list[np.ndarray], class_index: ClassIndex) -> np.ndarray:
    """The classes for a method whose gradients are taken at the inputs themselves: each row's
    top class is then found in the same pass (:data:`TOP_CLASS`) rather than by a pass before."""
    if class_index is None:
        return np.full(len(arrays[0]), TOP_CLASS, np.int32)
    return gradients.classes(arrays, class_index)


def _single(results: list[np.ndarray]):
    return results[0] if len(results) == 1 else results


# Grad-CAM ---------------------------------------------------------------------------------------


def grad_cam_job(
    gradients: ScoreGradients, arrays: list[np.ndarray], classes: np.ndarray, batch_size: int = 32
) -> Generator[Progress, None, np.ndarray]:
    """Grad-CAM maps at the layer ``gradients`` was prepared with.

    Args:
        gradients: Prepared with a ``layer``.
        arrays: One array per model input.
        classes: ``(N,)`` the class explained for each input (:data:`TOP_CLASS`: its top class).
        batch_size: Inputs per model call.

    Returns:
        ``(N, *spatial)``: ReLU of the gradient-weighted sum of the layer's channels, at the
        layer's own resolution, neither resized nor normalised.
    """
    count, maps = len(classes), []
    for start, stop in _chunks(count, batch_size):
        part = _take(arrays, start, stop)
        computed = gradients.gradients(part, gradients.baselines(part, None), np.ones(stop - start, np.float32), classes[start:stop])
        feature, feature_grad = computed.feature, computed.feature_grad
        if feature.ndim < 3:
            raise AttributionError(f"The layer's output {feature.shape[1:]} has no spatial axes for Grad-CAM; choose a convolution or sequence layer")
        spatial = tuple(range(1, feature.ndim - 1))
        weights = feature_grad.mean(axis=spatial, keepdims=True)
        maps.append(np.maximum((weights * feature).sum(axis=-1), 0).astype(np.float32))
        yield Progress(f"Grad-CAM: {stop} of {count} inputs", stop / count)
    return np.concatenate(maps)


def grad_cam(
    model, inputs: Inputs, layer: str, output: str | int | None = None, class_index: ClassIndex = None, logits: bool = False
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) of each input at one layer.

    Args:
        model: A Keras model with a layer graph (functional or Sequential, nested models too).
        inputs: The inputs (see :data:`~inspector.attribution.gradients.Inputs`).
        layer: The layer's path (``"conv"``, ``"backbone/conv"``) or a layer output's key.
        output: The output's name (or index) for a model with several; the first by default.
        class_index: The class explained (see :data:`ClassIndex`).
        logits: Explain the score before the output's final softmax.

    Returns:
        ``(N, H, W)`` maps at the layer's spatial size (``(N, T)`` for a sequence layer),
        ReLU'd, not resized and not normalised.
    """
    gradients = prepared(model, output, layer, logits)
    arrays = gradients.arrays(inputs)
    return run_job(grad_cam_job(gradients, arrays, _classes(gradients, arrays, class_index)))


# Integrated gradients ---------------------------------------------------------------------------


def integrated_gradients_job(
    gradients: ScoreGradients,
    arrays: list[np.ndarray],
    classes: np.ndarray,
    baseline: Inputs | float | None = None,
    steps: int = 50,
    batch_size: int = 32,
) -> Generator[Progress, None, list[np.ndarray]]:
    """Integrated gradients (Sundararajan et al., 2017), by the trapezoidal rule on ``steps``
    intervals.

    Returns:
        Per model input, the attributions: shaped like the input for float inputs; ``(N, T)``
        for token inputs, the embedding's attributions summed over its features.
    """
    if steps < 1:
        raise AttributionError("Integrated gradients needs at least one step")
    count, points = len(classes), steps + 1
    alphas = np.linspace(0.0, 1.0, points, dtype=np.float32)
    weights = np.full(points, 1.0 / steps)
    weights[[0, -1]] /= 2
    baselines = gradients.baselines(arrays, baseline)
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    for start, stop in _chunks(count, max(1, batch_size // points)):
        rows = stop - start
        computed = gradients.gradients(
            _take(arrays, start, stop, points),
            _take(baselines, start, stop, points),
            np.tile(alphas, rows),
            np.repeat(classes[start:stop], points),
        )
        for index, (grad, delta) in enumerate(zip(computed.grads, computed.deltas)):
            grad = grad.reshape((rows, points) + grad.shape[1:])
            average = np.tensordot(weights, grad, axes=([0], [1]))
            attribution = delta[::points] * average
            if gradients.kinds[index].tokens:
                attribution = attribution.sum(axis=-1)
            parts[index].append(attribution.astype(np.float32))
        yield Progress(f"Integrated gradients: {stop} of {count} inputs", stop / count)
    return [np.concatenate(part) for part in parts]


def integrated_gradients(
    model,
    inputs: Inputs,
    baseline: Inputs | float | None = None,
    steps: int = 50,
    output: str | int | None = None,
    class_index: ClassIndex = None,
    logits: bool = False,
):
    """Integrated gradients of each input, from ``baseline`` to the input.

    Their sum over an input's values (over every input of a multi-input model) is, up to the
    integral's error, the class score at the input minus the score at the baseline.

    Args:
        model: A Keras model.
        inputs: The inputs (see :data:`~inspector.attribution.gradients.Inputs`).
        baseline: ``None`` for zeros, a number, or inputs like ``inputs``. For token inputs
            it is token ids, and the path runs between their embeddings (zero vectors when
            ``None``); padding and its mask stay those of the input.
        steps: Intervals of the path integral.
        output: The output's name (or index) for a model with several.
        class_index: The class explained (see :data:`ClassIndex`).
        logits: Explain the score before the output's final softmax.

    Returns:
        An array shaped like the input (``(N, T)`` for token inputs), or a list of them for a
        model with several inputs.
    """
    gradients = prepared(model, output, logits=logits)
    arrays = gradients.arrays(inputs)
    classes = gradients.classes(arrays, class_index)
    return _single(run_job(integrated_gradients_job(gradients, arrays, classes, baseline, steps)))


# Saliency ---------------------------------------------------------------------------------------


def saliency_job(
    gradients: ScoreGradients,
    arrays: list[np.ndarray],
    classes: np.ndarray,
    smooth_samples: int = 0,
    noise: float = 0.1,
    batch_size: int = 32,
    seed: int = 0,
) -> Generator[Progress, None, list[np.ndarray]]:
    """Gradient magnitudes, averaged over noisy copies of each input when ``smooth_samples``.

    Returns:
        Per model input: ``(N, H, W)`` for images (the largest over channels), ``(N, T)`` for
        token inputs (the length of each token's embedding gradient), else shaped like the
        input.
    """
    count, copies = len(classes), max(1, smooth_samples)
    rng = np.random.default_rng(seed)
    points = gradients.points(arrays)
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    for start, stop in _chunks(count, max(1, batch_size // copies)):
        rows = stop - start
        baselines = _take(gradients.baselines(_take(arrays, start, stop), None), 0, rows, copies)
        extra = None
        if smooth_samples > 0:
            extra = []
            for point in _take(points, start, stop):
                axes = tuple(range(1, point.ndim))
                spread = (point.max(axis=axes, keepdims=True) - point.min(axis=axes, keepdims=True)) * noise
                shape = (rows, copies) + point.shape[1:]
                extra.append((rng.standard_normal(shape) * spread[:, None]).reshape((-1,) + point.shape[1:]).astype(np.float32))
        computed = gradients.gradients(
            _take(arrays, start, stop, copies),
            baselines,
            np.ones(rows * copies, np.float32),
            np.repeat(classes[start:stop], copies),
            extra,
        )
        for index, grad in enumerate(computed.grads):
            grad = np.abs(grad.reshape((rows, copies) + grad.shape[1:]).mean(axis=1))
            kind = gradients.kinds[index]
            if kind.tokens:
                grad = np.sqrt((grad**2).sum(axis=-1))
            elif kind.image:
                grad = grad.max(axis=-1)
            parts[index].append(grad.astype(np.float32))
        yield Progress(f"Saliency: {stop} of {count} inputs", stop / count)
    return [np.concatenate(part) for part in parts]


def saliency(
    model,
    inputs: Inputs,
    output: str | int | None = None,
    class_index: ClassIndex = None,
    smooth_samples: int = 0,
    noise: float = 0.1,
    logits: bool = False,
):
    """Saliency: the magnitude of the class score's gradient with respect to each input value.

    Args:
        model: A Keras model.
        inputs: The inputs (see :data:`~inspector.attribution.gradients.Inputs`).
        output: The output's name (or index) for a model with several.
        class_index: The class explained (see :data:`ClassIndex`).
        smooth_samples: SmoothGrad (Smilkov et al., 2017): average the gradients of this many
            noisy copies of each input (0: the plain gradient).
        noise: The noise's standard deviation, as a fraction of each input's value range.
        logits: Explain the score before the output's final softmax.

    Returns:
        ``(N, H, W)`` for images (the largest magnitude over channels), ``(N, T)`` for token
        inputs (per token, the length of the gradient of its embedding), else an array shaped
        like the input; a list of them for a model with several inputs.
    """
    gradients = prepared(model, output, logits=logits)
    arrays = gradients.arrays(inputs)
    classes = _classes(gradients, arrays, class_index) if smooth_samples == 0 else gradients.classes(arrays, class_index)
    return _single(run_job(saliency_job(gradients, arrays, classes, smooth_samples, noise)))
