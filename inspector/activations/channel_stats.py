"""Per-channel statistics of a layer's activations, accumulated batch by batch.

The last axis of an activation is its channel (unit) axis, as in Keras' ``channels_last``. The
per-batch sums are computed by TensorFlow in the same compiled call that computes the
activations (:func:`channel_sums`), which costs far less than more passes over the outputs in
NumPy; this module adds them up over batches.
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


def channel_sums(tf, values, mask, activation: str | None):
    """TensorFlow ops that sum one batch per channel: values, zeros, saturated values, count.

    Args:
        tf: The ``tensorflow`` module (passed in so this module imports no TensorFlow).
        values: The batch's activations, batch axis first, channels last.
        mask: Boolean mask over the leading axes (batch, time) or ``None``; masked positions
            (padding) are left out.
        activation: The layer's activation function name, for saturation.

    Returns:
        ``(sums, zeros, saturated, count)``: three float32 vectors over channels and the
        number of positions counted.
    """
    values = tf.cast(values, tf.float32)
    if values.shape.rank == 1:
        values = values[:, None]
    flat = tf.reshape(values, [-1, tf.shape(values)[-1]])
    # Each sum is a (1, positions) × (positions, channels) product: one pass of the matrix code
    # over the outputs, about twice as fast as TensorFlow's column reductions.
    if mask is None:
        weights = tf.ones([1, tf.shape(flat)[0]])
    else:
        mask = tf.cast(mask, tf.float32)
        mask = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([values.shape.rank - 1 - mask.shape.rank], tf.int32)], 0))
        weights = tf.reshape(tf.broadcast_to(mask, tf.shape(values)[:-1]), [1, -1])

    def weighted_sum(matrix):
        return tf.matmul(weights, matrix)[0]

    sums = weighted_sum(flat)
    zeros = weighted_sum(tf.cast(tf.equal(flat, 0.0), tf.float32))
    bounds = SATURATING.get(activation or "")
    if bounds is None:
        saturated = tf.zeros_like(sums)
    else:
        saturated = weighted_sum(tf.cast(tf.logical_or(flat <= bounds[0], flat >= bounds[1]), tf.float32))
    return sums, zeros, saturated, tf.reduce_sum(weights)


class ChannelStatsAccumulator:
    """Adds up the per-batch sums of :func:`channel_sums` over batches.

    Args:
        activation: Name of the layer's activation function (``"relu"``, ``"tanh"``…) or ``None``.
    """

    def __init__(self, activation: str | None = None):
        self.activation = activation
        self._saturates = activation in SATURATING
        self._sum = self._zeros = self._saturated = None
        self._count = 0.0

    def add(self, sums, zeros, saturated, count) -> None:
        """Adds one batch's sums (NumPy arrays or anything ``numpy.asarray`` takes)."""
        if self._sum is None:
            self._sum, self._zeros, self._saturated = (np.zeros(np.shape(sums)) for _ in range(3))
        self._sum += np.asarray(sums, dtype=np.float64)
        self._zeros += np.asarray(zeros, dtype=np.float64)
        self._saturated += np.asarray(saturated, dtype=np.float64)
        self._count += float(count)

    def result(self) -> ChannelStats | None:
        """The statistics so far, or ``None`` before the first batch."""
        if self._sum is None:
            return None
        count = max(self._count, 1.0)
        return ChannelStats(
            mean=(self._sum / count).astype(np.float32),
            zero_fraction=(self._zeros / count).astype(np.float32),
            saturation=(self._saturated / count).astype(np.float32) if self._saturates else None,
            activation=self.activation,
            count=int(self._count),
        )
