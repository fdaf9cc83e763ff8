"""Small real Keras models for tests, built in the test process and saved to a folder.

Every layer and input is named: Keras' automatic names (``dense``, ``dense_1``, …) count the
layers made before, so they would depend on which tests ran first.
"""

from __future__ import annotations

from pathlib import Path

from inspector.tfimport import keras


def two_input_model():
    """A compiled two-input / two-output functional model with named outputs."""
    image = keras.Input((8, 8, 1), name="image_input")
    aux = keras.Input((4,), name="aux_input")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Concatenate(name="concat")([x, aux])
    x = keras.layers.Dense(8, activation="relu", name="hidden")(x)
    main = keras.layers.Dense(20, activation="sigmoid", name="main_output")(x)
    side = keras.layers.Dense(1, name="aux_output")(x)
    model = keras.Model([image, aux], [main, side], name="two_io")
    model.compile(
        optimizer="adam",
        loss={"main_output": "binary_crossentropy", "aux_output": "mse"},
        loss_weights={"main_output": 1.0, "aux_output": 0.4},
    )
    return model


def nested_model():
    """A model with a frozen nested functional base, a nested Sequential and a shared layer."""
    base_in = keras.Input((6,), name="base_in")
    base_out = keras.layers.BatchNormalization(name="base_bn")(keras.layers.Dense(5, name="base_dense")(base_in))
    base = keras.Model(base_in, base_out, name="base")
    base.trainable = False
    head = keras.Sequential([keras.Input((5,), name="head_in"), keras.layers.Dense(4, name="head_dense")], name="head")
    inp = keras.Input((6,), name="x")
    shared = keras.layers.Dense(6, name="shared")
    y = head(base(shared(shared(inp))))
    return keras.Model(inp, y, name="nested")


def sequence_model():
    """Embedding with masking, Bidirectional LSTM, TimeDistributed Dense, GRU."""
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(50, 8, mask_zero=True, name="embedding")(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True, name="lstm"), name="bilstm")(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(4, name="step_dense"), name="per_step")(x)
    x = keras.layers.GRU(5, name="gru")(x)
    out = keras.layers.Dense(3, activation="softmax", name="topic")(x)
    return keras.Model(tokens, out, name="seq")


def save(model, folder: Path, name: str) -> Path:
    """Saves ``model`` as ``folder/name`` and returns the path."""
    path = Path(folder) / name
    model.save(path)
    return path
