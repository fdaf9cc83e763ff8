"""Build the sample data sets and sample Keras models of Keras Model Inspector.

Run from the repository root::

    python resources/build_samples.py [--out DIR]

``DIR`` defaults to the folder that holds this script (``resources/``).
Everything is generated offline and reproducibly (fixed seeds); nothing is
downloaded. The script writes:

* ``data/digits/<class>/<index>.png`` -- the 1797 scikit-learn ``load_digits``
  images as 8x8, 8-bit grayscale PNGs. The original values 0..16 are scaled
  to 0..255 (``round(v * 255 / 16)``); ``<index>`` is the zero-padded
  position of the image in ``load_digits()``.
* ``data/topics.tsv`` -- a synthetic, deterministic topic corpus with a
  ``text<TAB>label`` header and one sentence per row (4 topics).
* ``samples/two_input_two_output.keras`` and ``.h5`` -- two-input,
  two-output functional model (the Functional API guide's multi-input,
  multi-output example, adapted to the digits).
* ``samples/digits_cnn.keras`` -- small CNN digit classifier.
* ``samples/topic_rnn.keras`` -- Embedding + BiLSTM + GRU topic classifier.
* ``samples/transfer_digits.keras`` -- frozen, pretrained nested functional
  model (``digits_base``) plus a new classification head.
* ``samples/topic_rnn_vocab.txt`` -- the vocabulary of ``topic_rnn``: one
  token per line, in index order, WITHOUT the two reserved entries. Index 0
  is padding (``""``) and index 1 is out-of-vocabulary (``"[UNK]"``), so the
  token on line ``n`` (0-based) has index ``n + 2``.
* ``samples/topic_rnn_labels.txt`` -- the topic of each ``topic_rnn`` output
  unit, one per line.
* ``samples/two_input_two_output_labels.txt`` -- the meaning of each of the
  20 ``main_output`` units of ``two_input_two_output``, one per line.

Input conventions: every image model takes ``float32`` images of shape
``(8, 8, 1)`` with values 0..16 (as ``load_digits`` returns them; from the
PNGs use ``pixel * 16 / 255``); the models rescale internally. ``topic_rnn``
takes ``int32`` token ids, padded with 0 at the end ("post").

After saving, every file is reloaded with
``keras.saving.load_model(path, safe_mode=True)`` and its predictions are
compared with the in-memory model.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

SEED = 0
NUM_DIGITS = 10
IMAGE_SHAPE = (8, 8, 1)
DIGIT_MAX = 16.0
VALIDATION_FRACTION = 0.2

TOPIC_MAXLEN = 20
SENTENCES_PER_TOPIC = 400

# Meaning of units 10..19 of ``two_input_two_output``'s ``main_output``; each
# entry is (name, set of digits having that property).
DIGIT_PROPERTIES = (
    ("even", {0, 2, 4, 6, 8}),
    ("odd", {1, 3, 5, 7, 9}),
    ("prime", {2, 3, 5, 7}),
    ("perfect_square", {0, 1, 4, 9}),
    ("perfect_cube", {0, 1, 8}),
    ("power_of_two", {1, 2, 4, 8}),
    ("multiple_of_three", {0, 3, 6, 9}),
    ("fibonacci", {0, 1, 2, 3, 5, 8}),
    ("triangular", {0, 1, 3, 6}),
    ("at_least_five", {5, 6, 7, 8, 9}),
)

TOPIC_WORDS = {
    "space": (
        "rocket orbit planet star galaxy comet asteroid astronaut telescope "
        "nebula moon mars jupiter saturn venus satellite launch gravity "
        "cosmos universe meteor eclipse lunar solar spacecraft shuttle "
        "capsule module nasa crater supernova quasar pulsar constellation "
        "spacewalk booster payload probe observatory blackhole"
    ).split(),
    "cooking": (
        "recipe oven bake flour sugar butter garlic onion simmer boil fry "
        "roast kitchen chef spoon knife pan pot sauce soup salad pepper "
        "salt dough bread pastry grill spice herb basil tomato cheese cream "
        "whisk stir chop dessert dinner lunch breakfast"
    ).split(),
    "sport": (
        "football soccer tennis basketball goal score team coach player "
        "match referee stadium league championship tournament ball racket "
        "court pitch sprint marathon medal trophy athlete training fitness "
        "defender striker goalkeeper penalty foul victory defeat season "
        "cup olympics relay hurdle dribble"
    ).split(),
    "music": (
        "guitar piano violin drum song melody rhythm chord concert band "
        "orchestra singer album lyrics tempo harmony bass note scale jazz "
        "rock opera symphony choir composer conductor audience stage "
        "festival playlist vinyl record microphone amplifier keyboard "
        "trumpet saxophone flute cello ballad"
    ).split(),
}

FILLER_WORDS = (
    "the a an and or but with for of in on at to from by about after "
    "before during today yesterday tomorrow really very quite new old big "
    "small good great best first last my our their this that some every"
).split()


def parse_args(argv=None):
    """Parses the command line.

    Args:
        argv: Argument list without the program name; ``None`` means
            ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: Parsed arguments with an ``out`` attribute.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="Output folder (default: the folder of this script).",
    )
    return parser.parse_args(argv)


def set_seeds(seed=SEED):
    """Seeds Python, NumPy and the Keras backend.

    Args:
        seed: The seed to use.
    """
    keras.utils.set_random_seed(seed)
    np.random.seed(seed)


def file_kb(path):
    """Returns the size of a file in kilobytes.

    Args:
        path: Path of the file.

    Returns:
        float: Size in KB (1 KB = 1024 bytes).
    """
    return Path(path).stat().st_size / 1024.0


def report(path, history=None, note=""):
    """Prints one summary line for a written output.

    Args:
        path: Path of the written file or folder.
        history: Optional ``keras.callbacks.History``; its last-epoch
            metrics are printed.
        note: Optional extra text.
    """
    path = Path(path)
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        size_kb = size / 1024.0
    else:
        size_kb = file_kb(path)
    metrics = ""
    if history is not None:
        last = {k: v[-1] for k, v in history.history.items()}
        metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted(last.items()))
    print(f"{path}: {size_kb:.1f} KB {metrics} {note}".rstrip(), flush=True)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def digits_to_uint8(images):
    """Scales ``load_digits`` images from 0..16 to 0..255.

    Args:
        images: Array of shape ``(n, 8, 8)`` with values 0..16.

    Returns:
        np.ndarray: ``uint8`` array of the same shape with values 0..255.
    """
    return np.round(images * (255.0 / DIGIT_MAX)).astype(np.uint8)


def write_digit_pngs(pixels, labels, folder):
    """Writes every digit image as ``<folder>/<label>/<index>.png``.

    Args:
        pixels: ``uint8`` array of shape ``(n, 8, 8)``.
        labels: Integer class of each image.
        folder: Destination folder.
    """
    for digit in range(NUM_DIGITS):
        (folder / str(digit)).mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(pixels, labels)):
        path = folder / str(int(label)) / f"{index:04d}.png"
        Image.fromarray(image, mode="L").save(path, optimize=True)


def load_digit_data(out_dir):
    """Writes the digit PNGs and returns the training arrays.

    The training images are decoded from the same 8-bit values that are
    written to the PNGs, so the models are trained on exactly that data.

    Args:
        out_dir: Output root; PNGs go to ``out_dir/data/digits``.

    Returns:
        tuple: ``(x, y)`` with ``x`` of shape ``(n, 8, 8, 1)``, ``float32``,
        values 0..16, and ``y`` the ``int32`` class labels.
    """
    digits = load_digits()
    pixels = digits_to_uint8(digits.images)
    folder = out_dir / "data" / "digits"
    write_digit_pngs(pixels, digits.target, folder)
    report(folder, note=f"({len(pixels)} PNG files)")
    x = pixels.astype(np.float32)[..., None] * np.float32(DIGIT_MAX / 255.0)
    return x, digits.target.astype(np.int32)


def split_indices(n, rng):
    """Returns a shuffled train/validation split of ``range(n)``.

    Args:
        n: Number of samples.
        rng: ``numpy.random.Generator``.

    Returns:
        tuple: ``(train_idx, val_idx)`` index arrays.
    """
    order = rng.permutation(n)
    n_val = int(round(n * VALIDATION_FRACTION))
    return order[n_val:], order[:n_val]


def make_sentence(topic, rng):
    """Generates one synthetic sentence about a topic.

    Words are ~45% topic words, ~45% shared filler words and ~10% words of
    a random other topic (noise), so the task is easy but not trivial.

    Args:
        topic: Key of ``TOPIC_WORDS``.
        rng: ``numpy.random.Generator``.

    Returns:
        str: A lower-case sentence of 5..20 words ending with a period.
    """
    others = [t for t in TOPIC_WORDS if t != topic]
    words = []
    for _ in range(int(rng.integers(5, 21))):
        draw = rng.random()
        if draw < 0.45:
            words.append(str(rng.choice(TOPIC_WORDS[topic])))
        elif draw < 0.90:
            words.append(str(rng.choice(FILLER_WORDS)))
        else:
            words.append(str(rng.choice(TOPIC_WORDS[str(rng.choice(others))])))
    return " ".join(words) + "."


def build_topic_corpus(rng):
    """Generates the synthetic topic corpus.

    Args:
        rng: ``numpy.random.Generator``.

    Returns:
        tuple: ``(texts, labels)`` lists, shuffled together.
    """
    all_words = [w for words in TOPIC_WORDS.values() for w in words]
    assert len(all_words) == len(set(all_words) - set(FILLER_WORDS))
    rows = [
        (make_sentence(topic, rng), topic)
        for topic in TOPIC_WORDS
        for _ in range(SENTENCES_PER_TOPIC)
    ]
    order = rng.permutation(len(rows))
    texts = [rows[i][0] for i in order]
    labels = [rows[i][1] for i in order]
    return texts, labels


def write_topic_tsv(texts, labels, path):
    """Writes the corpus as a ``text<TAB>label`` TSV file.

    Args:
        texts: Sentences.
        labels: Topic name of each sentence.
        path: Destination file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("text\tlabel\n")
        for text, label in zip(texts, labels):
            handle.write(f"{text}\t{label}\n")


def write_lines(lines, path):
    """Writes one item per line.

    Args:
        lines: Strings to write.
        path: Destination file.
    """
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{line}\n" for line in lines)


# --------------------------------------------------------------------------
# Model 1: two inputs, two outputs
# --------------------------------------------------------------------------


def aux_features(x):
    """Computes 4 ink statistics per image for ``aux_input``.

    Args:
        x: Images of shape ``(n, 8, 8, 1)`` with values 0..16.

    Returns:
        np.ndarray: ``float32`` array ``(n, 4)``: ink row centroid, ink
        column centroid (both scaled to 0..1), ink row spread and ink column
        spread (standard deviations divided by 4).
    """
    ink = x[..., 0] / DIGIT_MAX
    total = ink.sum(axis=(1, 2)) + 1e-6
    pos = np.arange(8, dtype=np.float32)
    rows, cols = ink.sum(axis=2), ink.sum(axis=1)
    row_c = (rows * pos).sum(axis=1) / total
    col_c = (cols * pos).sum(axis=1) / total
    row_s = np.sqrt((rows * (pos - row_c[:, None]) ** 2).sum(axis=1) / total)
    col_s = np.sqrt((cols * (pos - col_c[:, None]) ** 2).sum(axis=1) / total)
    feats = np.stack([row_c / 7.0, col_c / 7.0, row_s / 4.0, col_s / 4.0], 1)
    return feats.astype(np.float32)


def multi_hot_targets(y):
    """Builds the 20-unit ``main_output`` targets.

    Units 0..9 are the one-hot digit; units 10..19 are the binary digit
    properties of ``DIGIT_PROPERTIES`` (even, odd, prime, ...).

    Args:
        y: Integer digit labels.

    Returns:
        np.ndarray: ``float32`` array of shape ``(n, 20)``.
    """
    one_hot = np.eye(NUM_DIGITS, dtype=np.float32)[y]
    props = np.array(
        [[d in digits for _, digits in DIGIT_PROPERTIES] for d in range(10)],
        dtype=np.float32,
    )
    return np.concatenate([one_hot, props[y]], axis=1)


def main_output_labels():
    """Returns the names of the 20 ``main_output`` units.

    Returns:
        list[str]: ``digit_0`` .. ``digit_9`` then the property names.
    """
    return [f"digit_{d}" for d in range(NUM_DIGITS)] + [
        name for name, _ in DIGIT_PROPERTIES
    ]


def build_two_input_two_output():
    """Builds the two-input, two-output functional model.

    Mirrors the Functional API guide's multi-input/multi-output example:
    the image branch produces an auxiliary output before it is merged with
    the auxiliary input.

    * ``image_input`` (8, 8, 1), values 0..16 -> ``rescale`` -> ``conv``
      -> ``pool`` -> ``flatten``.
    * ``aux_output``: Dense(1) regression of the mean ink (0..1) from the
      image branch only.
    * ``aux_input`` (4,): ink centroids and spreads (see ``aux_features``).
    * ``merge`` = Concatenate(flatten, aux_input) -> ``dense_1`` ->
      ``dense_2`` -> ``main_output``: Dense(20, sigmoid), multi-hot:
      one-hot digit (units 0..9) + digit properties (units 10..19).

    Returns:
        keras.Model: The compiled model.
    """
    image_input = keras.Input(shape=IMAGE_SHAPE, name="image_input")
    aux_input = keras.Input(shape=(4,), name="aux_input")
    x = layers.Rescaling(1.0 / DIGIT_MAX, name="rescale")(image_input)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    features = layers.Flatten(name="flatten")(x)
    aux_output = layers.Dense(1, name="aux_output")(features)
    x = layers.Concatenate(name="merge")([features, aux_input])
    x = layers.Dense(32, activation="relu", name="dense_1")(x)
    x = layers.Dense(32, activation="relu", name="dense_2")(x)
    main_output = layers.Dense(20, activation="sigmoid", name="main_output")(x)
    model = keras.Model(
        inputs=[image_input, aux_input],
        outputs=[main_output, aux_output],
        name="two_input_two_output",
    )
    # "mean_squared_error", not its alias "mse": Keras 3.15 cannot restore
    # the alias from a legacy .h5 file ("Could not deserialize
    # 'keras.metrics.mse'"); the .keras format accepts both.
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss={
            "main_output": "binary_crossentropy",
            "aux_output": "mean_squared_error",
        },
        loss_weights={"main_output": 1.0, "aux_output": 0.4},
    )
    return model


def train_two_input_two_output(x, y, train, val):
    """Builds and trains the two-input, two-output model.

    Args:
        x: Digit images ``(n, 8, 8, 1)``.
        y: Digit labels.
        train: Training indices.
        val: Validation indices.

    Returns:
        tuple: ``(model, history, sample_inputs)``.
    """
    inputs = {"image_input": x, "aux_input": aux_features(x)}
    targets = {
        "main_output": multi_hot_targets(y),
        "aux_output": (x[..., 0].mean(axis=(1, 2)) / DIGIT_MAX)[:, None],
    }
    model = build_two_input_two_output()
    history = model.fit(
        {k: v[train] for k, v in inputs.items()},
        {k: v[train] for k, v in targets.items()},
        validation_data=(
            {k: v[val] for k, v in inputs.items()},
            {k: v[val] for k, v in targets.items()},
        ),
        epochs=3,
        batch_size=32,
        verbose=0,
    )
    sample = {k: v[val[:8]] for k, v in inputs.items()}
    return model, history, sample


# --------------------------------------------------------------------------
# Model 2: digits CNN
# --------------------------------------------------------------------------


def fit_split(model, x, y, train, val, epochs):
    """Trains on the training indices, validating on the others.

    Args:
        model: A compiled model.
        x: All inputs.
        y: All labels.
        train: Training indices.
        val: Validation indices.
        epochs: Number of epochs.

    Returns:
        tuple: ``(model, history, sample_inputs)`` with eight validation inputs.
    """
    history = model.fit(
        x[train], y[train],
        validation_data=(x[val], y[val]),
        epochs=epochs,
        batch_size=32,
        verbose=0,
    )
    return model, history, x[val[:8]]


def build_digits_cnn():
    """Builds the small Sequential CNN digit classifier.

    Returns:
        keras.Sequential: The compiled model (input 8x8x1, values 0..16,
        output ``probs``: 10 softmax probabilities).
    """
    model = keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, name="image"),
            layers.Rescaling(1.0 / DIGIT_MAX, name="rescale"),
            layers.Conv2D(16, 3, padding="same", name="conv_1"),
            layers.BatchNormalization(name="bn_1"),
            layers.ReLU(name="relu_1"),
            layers.MaxPooling2D(2, name="pool_1"),
            layers.Conv2D(32, 3, padding="same", activation="relu",
                          name="conv_2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.3, name="dropout"),
            layers.Dense(NUM_DIGITS, activation="softmax", name="probs"),
        ],
        name="digits_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_digits_cnn(x, y, train, val):
    """Builds and trains the digits CNN.

    Args:
        x: Digit images ``(n, 8, 8, 1)``.
        y: Digit labels.
        train: Training indices.
        val: Validation indices.

    Returns:
        tuple: ``(model, history, sample_inputs)``.
    """
    model = build_digits_cnn()
    return fit_split(model, x, y, train, val, epochs=8)


# --------------------------------------------------------------------------
# Model 3: topic RNN
# --------------------------------------------------------------------------


def vectorize_topics(texts, labels):
    """Turns the corpus into padded token ids and label ids.

    Args:
        texts: Sentences.
        labels: Topic names.

    Returns:
        tuple: ``(tokens, y, vocabulary, topics)``: ``int32`` token ids
        ``(n, TOPIC_MAXLEN)`` padded with 0 at the end, ``int32`` labels,
        the full vocabulary (including ``""`` and ``"[UNK]"``) and the
        sorted topic names (label id order).
    """
    vectorizer = layers.TextVectorization(output_mode="int")
    vectorizer.adapt(texts)
    vocabulary = vectorizer.get_vocabulary()
    sequences = [
        [int(t) for t in row if t != 0]
        for row in keras.ops.convert_to_numpy(vectorizer(texts))
    ]
    tokens = keras.utils.pad_sequences(
        sequences, maxlen=TOPIC_MAXLEN, padding="post", truncating="post",
        dtype="int32",
    )
    topics = sorted(TOPIC_WORDS)
    y = np.array([topics.index(label) for label in labels], dtype=np.int32)
    return tokens, y, vocabulary, topics


def build_topic_rnn(vocab_size):
    """Builds the recurrent topic classifier.

    Args:
        vocab_size: Number of token ids, including padding (0) and OOV (1).

    Returns:
        keras.Model: The compiled model: ``tokens`` -> ``embedding`` ->
        ``bilstm`` -> ``gru_1`` -> ``gru_2`` -> ``topic`` (4 softmax).
    """
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, 16, mask_zero=True, name="embedding")(
        tokens
    )
    x = layers.Bidirectional(
        layers.LSTM(16, return_sequences=True), name="bilstm"
    )(x)
    x = layers.GRU(16, return_sequences=True, name="gru_1")(x)
    x = layers.GRU(16, name="gru_2")(x)
    outputs = layers.Dense(len(TOPIC_WORDS), activation="softmax",
                           name="topic")(x)
    model = keras.Model(tokens, outputs, name="topic_rnn")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_topic_rnn(tokens, y, vocab_size, rng):
    """Builds and trains the topic RNN.

    Args:
        tokens: Padded token ids.
        y: Topic label ids.
        vocab_size: Number of token ids.
        rng: ``numpy.random.Generator`` for the train/validation split.

    Returns:
        tuple: ``(model, history, sample_inputs)``.
    """
    train, val = split_indices(len(tokens), rng)
    model = build_topic_rnn(vocab_size)
    return fit_split(model, tokens, y, train, val, epochs=3)


# --------------------------------------------------------------------------
# Model 4: transfer learning with a nested functional base
# --------------------------------------------------------------------------


def build_digits_base():
    """Builds the functional feature extractor ``digits_base``.

    The BatchNormalization layers use ``momentum=0.9`` (instead of 0.99) so
    that their moving statistics converge during the short pretraining; the
    frozen base runs in inference mode, where only those statistics count.

    Returns:
        keras.Model: Uncompiled model mapping (8, 8, 1) images with values
        0..16 to a (4, 4, 32) feature map.
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="base_image")
    x = layers.Rescaling(1.0 / DIGIT_MAX, name="base_rescale")(inputs)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False,
                      name="base_conv_1")(x)
    x = layers.BatchNormalization(momentum=0.9, name="base_bn_1")(x)
    x = layers.Activation("relu", name="base_relu_1")(x)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False,
                      name="base_conv_2")(x)
    x = layers.BatchNormalization(momentum=0.9, name="base_bn_2")(x)
    x = layers.Activation("relu", name="base_relu_2")(x)
    outputs = layers.MaxPooling2D(2, name="base_pool")(x)
    return keras.Model(inputs, outputs, name="digits_base")


def pretrain_base(base, x, y):
    """Pretrains ``base`` on digits 0..4 with a temporary head.

    Args:
        base: The ``digits_base`` model (trained in place).
        x: Digit images.
        y: Digit labels.

    Returns:
        keras.callbacks.History: History of the pretraining.
    """
    subset = y < 5
    inputs = keras.Input(shape=IMAGE_SHAPE, name="pretrain_image")
    h = base(inputs)
    h = layers.GlobalAveragePooling2D(name="pretrain_gap")(h)
    outputs = layers.Dense(5, activation="softmax", name="pretrain_head")(h)
    pretrain = keras.Model(inputs, outputs, name="digits_base_pretraining")
    pretrain.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return pretrain.fit(x[subset], y[subset], epochs=5, batch_size=32,
                        verbose=0)


def build_transfer_model(base):
    """Builds the transfer model around the frozen, pretrained base.

    Args:
        base: The pretrained ``digits_base`` model; it is frozen here.

    Returns:
        keras.Model: Compiled model ``image`` -> ``digits_base`` (frozen,
        inference mode) -> ``gap`` -> ``dropout`` -> ``head`` (10 softmax).
    """
    base.trainable = False
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(NUM_DIGITS, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="transfer_digits")
    model.compile(
        optimizer=keras.optimizers.Adam(3e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_transfer_digits(x, y, train, val):
    """Pretrains the base, then trains the head of the transfer model.

    Args:
        x: Digit images.
        y: Digit labels.
        train: Training indices (also used for pretraining).
        val: Validation indices.

    Returns:
        tuple: ``(model, history, sample_inputs)``.
    """
    base = build_digits_base()
    pre = pretrain_base(base, x[train], y[train])
    print(f"digits_base pretraining (digits 0-4): "
          f"accuracy={pre.history['accuracy'][-1]:.4f}", flush=True)
    model = build_transfer_model(base)
    return fit_split(model, x, y, train, val, epochs=2)


# --------------------------------------------------------------------------
# Saving and verification
# --------------------------------------------------------------------------


def predict(model, inputs):
    """Runs a model in inference mode and returns NumPy outputs.

    Args:
        model: A Keras model.
        inputs: Model inputs (array or dict of arrays).

    Returns:
        list[np.ndarray]: The outputs, always as a list.
    """
    outputs = model(inputs, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [keras.ops.convert_to_numpy(o) for o in outputs]


def save_and_verify(model, path, sample, history):
    """Saves a model, reloads it safely and compares predictions.

    Args:
        model: The trained model.
        path: Destination (``.keras`` or legacy ``.h5``).
        sample: A few inputs to compare predictions on.
        history: Training history, for the report line.

    Raises:
        AssertionError: If the reloaded model's predictions differ.
    """
    model.save(path)
    start = time.perf_counter()
    loaded = keras.saving.load_model(path, safe_mode=True)
    load_s = time.perf_counter() - start
    pairs = zip(predict(model, sample), predict(loaded, sample))
    for expected, actual in pairs:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    report(path, history, note=f"(reload {load_s:.2f}s, predictions match)")


def main(argv=None):
    """Builds all sample data and models.

    Args:
        argv: Command-line arguments without the program name.
    """
    args = parse_args(argv)
    out_dir = args.out.resolve()
    samples = out_dir / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    set_seeds()
    rng = np.random.default_rng(SEED)

    x, y = load_digit_data(out_dir)
    texts, topic_labels = build_topic_corpus(rng)
    write_topic_tsv(texts, topic_labels, out_dir / "data" / "topics.tsv")
    report(out_dir / "data" / "topics.tsv", note=f"({len(texts)} sentences)")
    train, val = split_indices(len(x), rng)

    set_seeds()
    model, hist, sample = train_two_input_two_output(x, y, train, val)
    for suffix in (".keras", ".h5"):
        path = samples / f"two_input_two_output{suffix}"
        save_and_verify(model, path, sample, hist)
    write_lines(main_output_labels(),
                samples / "two_input_two_output_labels.txt")

    set_seeds()
    model, hist, sample = train_digits_cnn(x, y, train, val)
    save_and_verify(model, samples / "digits_cnn.keras", sample, hist)

    set_seeds()
    tokens, topic_y, vocabulary, topics = vectorize_topics(texts, topic_labels)
    assert vocabulary[:2] == ["", "[UNK]"], vocabulary[:2]
    write_lines(vocabulary[2:], samples / "topic_rnn_vocab.txt")
    write_lines(topics, samples / "topic_rnn_labels.txt")
    model, hist, sample = train_topic_rnn(tokens, topic_y, len(vocabulary),
                                          rng)
    save_and_verify(model, samples / "topic_rnn.keras", sample, hist)

    set_seeds()
    model, hist, sample = train_transfer_digits(x, y, train, val)
    save_and_verify(model, samples / "transfer_digits.keras", sample, hist)

    print(f"done in {time.perf_counter() - start:.1f}s", flush=True)


if __name__ == "__main__":
    main()
