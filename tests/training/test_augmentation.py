"""Augmentation settings become Keras preprocessing layers that change training images."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.training.augmentation import AugmentationSettings, augment, build_augmentation, preview_grid
from inspector.errors import TrainingDataError


def _asymmetric(count=4, size=8):
    """Images whose left half is bright and right half dark, so any flip shows."""
    images = np.zeros((count, size, size, 1), dtype=np.float32)
    images[:, :, : size // 2] = 200.0
    images[:, 0, 0] = 255.0
    return images


def test_inactive_settings_build_no_pipeline():
    settings = AugmentationSettings()
    assert not settings.active
    assert build_augmentation(settings) is None
    images = _asymmetric()
    np.testing.assert_array_equal(augment(images, settings), images)


def test_a_horizontal_flip_mirrors_each_image_or_leaves_it():
    images = _asymmetric(count=16)
    flipped = augment(images, AugmentationSettings(flip="horizontal"), seed=1)
    mirrored = [np.array_equal(a, np.flip(b, axis=1)) for a, b in zip(flipped, images)]
    unchanged = [np.array_equal(a, b) for a, b in zip(flipped, images)]
    assert all(m or u for m, u in zip(mirrored, unchanged))
    assert any(mirrored) and any(unchanged)


def test_a_vertical_flip_mirrors_rows():
    images = _asymmetric(count=16)
    flipped = augment(images, AugmentationSettings(flip="vertical"), seed=2)
    assert all(np.array_equal(a, np.flip(b, axis=0)) or np.array_equal(a, b) for a, b in zip(flipped, images))
    assert any(not np.array_equal(a, b) for a, b in zip(flipped, images))


def test_each_setting_adds_its_keras_layer_in_order():
    settings = AugmentationSettings(
        flip="horizontal_and_vertical", rotation=0.1, zoom=0.2, translation=0.1, contrast=0.3, brightness=0.2, rescale=1 / 255
    )
    pipeline = build_augmentation(settings, seed=0)
    names = [type(layer).__name__ for layer in pipeline.layers]
    assert names == [
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "Rescaling",
    ]
    out = augment(_asymmetric(), settings, seed=0)
    assert out.dtype == np.float32 and out.max() <= 1.0 + 1e-6


def test_the_same_seed_gives_the_same_augmentation():
    settings = AugmentationSettings(rotation=0.2, zoom=0.1)
    images = _asymmetric()
    np.testing.assert_array_equal(augment(images, settings, seed=5), augment(images, settings, seed=5))


def test_the_preview_has_the_requested_copies_and_shows_the_change():
    images = _asymmetric(count=4).astype(np.uint8)
    still = preview_grid(images, AugmentationSettings(), count=16)
    assert still.shape == (16, 8, 8, 1)
    np.testing.assert_array_equal(still[:4], np.repeat(images[:1], 4, axis=0))  # one image per row
    moving = preview_grid(images, AugmentationSettings(rotation=0.25, rescale=0.5), count=16)
    assert moving.shape == (16, 8, 8, 1) and moving.max() > 128  # the rescale is left out
    assert not np.array_equal(moving, still)


def test_settings_out_of_range_are_refused():
    with pytest.raises(TrainingDataError, match="rotation"):
        AugmentationSettings(rotation=1.5)
    with pytest.raises(TrainingDataError, match="Flip"):
        AugmentationSettings(flip="diagonal")
