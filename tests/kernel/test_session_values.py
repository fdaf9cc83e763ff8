"""The per-layer values the graph is coloured by, computed in a session as the kernel does:
weight norms and the loss gradient's norm on one batch, against plain TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from inspector.jobs import run_job
from inspector.kernel.session import Session, gradient_norms_job, weight_norms_job
from inspector.model.describe import describe
from inspector.training.training_data import TrainingData
from tests.model_factory import two_input_model


@pytest.fixture
def session():
    model = two_input_model()
    model.get_layer("conv").trainable = False
    return Session(model=model, info=describe(model))


def test_weight_norms_are_each_layers_own_variables(session):
    norms = run_job(weight_norms_job(session))
    hidden = session.model.get_layer("hidden")
    expected = np.sqrt(sum(np.square(v.numpy().astype(np.float64)).sum() for v in hidden.weights))
    assert norms["hidden"] == pytest.approx(expected, rel=1e-12)
    assert "flatten" not in norms  # no variables, no value


def test_gradient_norms_on_one_batch_equal_a_tape_and_skip_frozen_layers(session):
    model = session.model
    rng = np.random.default_rng(0)
    x = {"image_input": rng.uniform(0, 1, (6, 8, 8, 1)).astype("float32"), "aux_input": rng.normal(size=(6, 4)).astype("float32")}
    y = {"main_output": (rng.uniform(size=(6, 20)) > 0.5).astype("float32"), "aux_output": rng.normal(size=(6, 1)).astype("float32")}
    data = TrainingData(train=[(x, y)], validation=None)
    norms = run_job(gradient_norms_job(session, lambda model: data))
    assert "conv" not in norms, "a frozen layer gets no gradient"
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=False), training=False)
    kernel, bias = model.get_layer("hidden").kernel, model.get_layer("hidden").bias
    grads = tape.gradient(loss, [kernel, bias])
    expected = np.sqrt(sum(np.square(g.numpy().astype(np.float64)).sum() for g in grads))
    assert norms["hidden"] == pytest.approx(expected, rel=1e-5)
