"""Random image augmentation for training batches, built from Keras preprocessing layers.

The settings are plain values (a view edits them, a test builds them); the pipeline is a
``keras.Sequential`` of ``RandomFlip``, ``RandomRotation``, ``RandomZoom``,
``RandomTranslation``, ``RandomContrast``, ``RandomBrightness`` and ``Rescaling``, run in
training mode. Keras is imported only when a pipeline is built, so importing this module stays
cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inspector.errors import TrainingDataError

FLIP_MODES: dict[str, str] = {
    "none": "No flip",
    "horizontal": "Horizontal",
    "vertical": "Vertical",
    "horizontal_and_vertical": "Horizontal and vertical",
}
_FACTORS = ("rotation", "zoom", "translation", "contrast", "brightness")


@dataclass(frozen=True)
class AugmentationSettings:
    """Which random changes training images get, as factors of Keras' preprocessing layers.

    Attributes:
        flip: A key of :data:`FLIP_MODES`, as ``keras.layers.RandomFlip(mode=...)``.
        rotation: Up to this fraction of a full turn either way, as ``keras.layers.RandomRotation``.
        zoom: Zoom in or out by up to this fraction, as ``keras.layers.RandomZoom``.
        translation: Shift by up to this fraction of height and width, as
            ``keras.layers.RandomTranslation``.
        contrast: As ``keras.layers.RandomContrast(factor)``.
        brightness: As ``keras.layers.RandomBrightness(factor)``.
        rescale: A ``keras.layers.Rescaling`` scale applied last, or ``None`` for none. Unlike
            the random changes it is no augmentation: training data sources apply it to
            validation batches too.
    """

    flip: str = "none"
    rotation: float = 0.0
    zoom: float = 0.0
    translation: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0
    rescale: float | None = None

    def __post_init__(self):
        if self.flip not in FLIP_MODES:
            raise TrainingDataError(f"Flip must be one of {', '.join(FLIP_MODES)}, not {self.flip!r}")
        for name in _FACTORS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise TrainingDataError(f"The {name} factor must be between 0 and 1, not {value}")
        if self.rescale is not None and not np.isfinite(self.rescale):
            raise TrainingDataError(f"The rescale factor must be a finite number, not {self.rescale}")

    @property
    def active(self) -> bool:
        """Whether any layer is on: a flip, a non-zero factor, or a rescale."""
        return self.random or self.rescale is not None

    @property
    def random(self) -> bool:
        """Whether any random change is on (everything except the rescale)."""
        return self.flip != "none" or any(getattr(self, name) > 0 for name in _FACTORS)

    def without_rescale(self) -> AugmentationSettings:
        """The same random changes, without the rescale."""
        return replace(self, rescale=None)

    def describe(self) -> str:
        """The settings in a few words, e.g. ``"horizontal flip, rotation 0.1"``; ``"none"`` when off."""
        parts = [f"{self.flip.replace('_', ' ')} flip"] if self.flip != "none" else []
        parts += [f"{name} {getattr(self, name):g}" for name in _FACTORS if getattr(self, name) > 0]
        if self.rescale is not None:
            parts.append(f"rescale ×{self.rescale:.4g}")
        return ", ".join(parts) or "none"


def build_augmentation(settings: AugmentationSettings, seed: int | None = None, value_range=(0, 255)):
    """Builds the Keras pipeline for the settings.

    Args:
        settings: What to change.
        seed: Seeds each random layer (``seed``, ``seed + 1``, ...) for repeatable results;
            ``None`` draws fresh randomness.
        value_range: The range of the pixel values the pipeline gets, for ``RandomContrast``
            and ``RandomBrightness``.

    Returns:
        A ``keras.Sequential`` of preprocessing layers, or ``None`` when no layer is on.
    """
    if not settings.active:
        return None
    from inspector.tfimport import keras

    layers = keras.layers
    seeds = iter(range(seed, seed + 8)) if seed is not None else iter([None] * 8)
    pipeline = []
    if settings.flip != "none":
        pipeline.append(layers.RandomFlip(settings.flip, seed=next(seeds)))
    if settings.rotation > 0:
        pipeline.append(layers.RandomRotation(settings.rotation, seed=next(seeds)))
    if settings.zoom > 0:
        pipeline.append(layers.RandomZoom(settings.zoom, seed=next(seeds)))
    if settings.translation > 0:
        pipeline.append(layers.RandomTranslation(settings.translation, settings.translation, seed=next(seeds)))
    if settings.contrast > 0:
        pipeline.append(layers.RandomContrast(settings.contrast, value_range=value_range, seed=next(seeds)))
    if settings.brightness > 0:
        pipeline.append(layers.RandomBrightness(settings.brightness, value_range=value_range, seed=next(seeds)))
    if settings.rescale is not None:
        pipeline.append(layers.Rescaling(settings.rescale))
    return keras.Sequential(pipeline, name="augmentation")


def apply_augmentation(pipeline, images: np.ndarray) -> np.ndarray:
    """Runs a pipeline from :func:`build_augmentation` in training mode on a batch.

    Args:
        pipeline: The pipeline, or ``None`` (the images are only converted).
        images: ``(N, H, W, C)`` or ``(H, W, C)`` images.

    Returns:
        The augmented images as a new ``float32`` array of the same shape.
    """
    x = np.array(images, dtype=np.float32)
    if pipeline is None or x.size == 0:
        return x
    from inspector.tfimport import keras

    single = x.ndim == 3
    out = keras.ops.convert_to_numpy(pipeline(x[None] if single else x, training=True))
    out = np.asarray(out, dtype=np.float32)
    return out[0] if single else out


def augment(
    images: np.ndarray, settings: AugmentationSettings, seed: int | None = None, value_range=(0, 255)
) -> np.ndarray:
    """Augments a batch of images once, with a pipeline built for this call.

    Args:
        images: ``(N, H, W, C)`` or ``(H, W, C)`` images with values in ``value_range``.
        settings: What to change.
        seed: For repeatable results, see :func:`build_augmentation`.
        value_range: The range of the pixel values.

    Returns:
        The augmented images as ``float32``; a plain ``float32`` copy when nothing is on.
    """
    return apply_augmentation(build_augmentation(settings, seed, value_range), images)


def preview_grid(images: np.ndarray, settings: AugmentationSettings, count: int = 16, seed: int = 0) -> np.ndarray:
    """Augmented copies of a few images, for a live preview of the settings.

    Copy ``i`` is of image ``i // (count // len(images))`` when the images divide ``count``
    (each image fills a row of a grid), else of image ``i % len(images)``. The rescale is left
    out: it changes the values, not the look, and the copies stay 0..255 pixels for display.

    Args:
        images: ``(N, H, W, C)`` pixels, 0..255.
        settings: The augmentation to show.
        count: How many copies.
        seed: Seeds the random layers, so a refresh only changes what the settings change.

    Returns:
        ``float32`` ``(count, H, W, C)`` pixels clipped to 0..255.

    Raises:
        TrainingDataError: No images were given.
    """
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise TrainingDataError("The preview needs at least one (H, W, C) image")
    n = len(images)
    order = np.arange(count) // (count // n) if n <= count and count % n == 0 else np.arange(count) % n
    copies = augment(images[order], settings.without_rescale(), seed=seed)
    return np.clip(copies, 0.0, 255.0)


def preview_job(images: np.ndarray, settings: AugmentationSettings, count: int = 16, seed: int = 0):
    """:func:`preview_grid` as a job for a background worker (see :mod:`inspector.jobs`).

    Yields:
        One :class:`~inspector.jobs.Progress` record.

    Returns:
        The preview copies.
    """
    from inspector.jobs import Progress

    yield Progress("Augmenting the preview…")
    return preview_grid(images, settings, count=count, seed=seed)
