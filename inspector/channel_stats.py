"""Per-channel statistics of a layer's activations, accumulated batch by batch.

The last axis of an activation is its channel (unit) axis, as in Keras' ``channels_last``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SATURATING = {"sigmoid": (0.01, 0.99), "hard_sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99), "softsign": (-0.99, 0.99)}
"""Activations that saturate, with the values beyond which an output counts as saturated."""


@dataclass(frozen=True)
class ChannelStats:
    """Statistics of each channel over every sample and position (masked steps excluded).

    Attributes:
        mean: Mean activation per channel.
        zero_fraction: Fraction of exact zeros per channel (dead ReLU units are all zeros).
        saturation: Fraction of saturated outputs per channel, or ``None`` when the layer's
            activation does not saturate.
        activation: Name of the layer's activation function, if it has one.
        count: How many values each channel's figures are computed from.
    """

    mean: np.ndarray
    zero_fraction: np.ndarray
    saturation: np.ndarray | None
    activation: str | None
    count: int


class ChannelStatsAccumulator:
    """Adds up per-channel sums over batches, so statistics need no second pass over the data.

    Args:
        activation: Name of the layer's activation function (``"relu"``, ``"tanh"``…) or ``None``.
    """

    def __init__(self, activation: str | None = None):
        self.activation = activation
        self._bounds = SATURATING.get(activation or "")
        self._sum = self._zeros = self._saturated = None
        self._count = 0

    def add(self, values: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Adds one batch.

        Args:
            values: Activations with the batch axis first and channels last.
            mask: Optional boolean mask over the leading axes (batch, time); ``False`` entries
                (padding) are left out.
        """
        values = np.asarray(values)
        if values.ndim == 1:
            values = values[:, None]
        channels = values.shape[-1]
        if mask is not None and mask.shape == values.shape[: mask.ndim] and mask.ndim < values.ndim:
            flat = values[mask.astype(bool)].reshape(-1, channels)
        else:
            flat = values.reshape(-1, channels)
        if self._sum is None:
            self._sum = np.zeros(channels)
            self._zeros = np.zeros(channels)
            self._saturated = np.zeros(channels)
        self._sum += flat.sum(axis=0, dtype=np.float64)
        self._zeros += np.count_nonzero(flat == 0, axis=0)
        if self._bounds is not None:
            low, high = self._bounds
            self._saturated += np.count_nonzero((flat <= low) | (flat >= high), axis=0)
        self._count += flat.shape[0]

    def result(self) -> ChannelStats | None:
        """The statistics so far, or ``None`` before the first batch."""
        if self._sum is None:
            return None
        count = max(self._count, 1)
        return ChannelStats(
            mean=(self._sum / count).astype(np.float32),
            zero_fraction=(self._zeros / count).astype(np.float32),
            saturation=(self._saturated / count).astype(np.float32) if self._bounds is not None else None,
            activation=self.activation,
            count=self._count,
        )
