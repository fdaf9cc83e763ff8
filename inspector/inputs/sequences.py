"""Token sequences for a model from the user's text: vocabularies, tokenizing, padding.

The conventions are those of Keras' ``TextVectorization`` layer (id 0 is padding, id 1 is
``[UNK]``) and of ``keras.utils.pad_sequences``. Keras is imported only when padding runs, so
importing this module stays cheap.
"""

from __future__ import annotations

import csv
import io
import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspector.errors import InputDataError
from inspector.inputs.input_data import InputSpec, SampleSet, numpy_dtype, shape_text

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
_DEFAULT_STANDARDIZE = "lower_and_strip_punctuation"
STANDARDIZE_MODES = (None, "lower", "strip_punctuation", "lower_and_strip_punctuation")
SPLIT_MODES = (None, "whitespace", "character")

# TextVectorization's own expressions: tf.strings.lower changes ASCII letters only, the
# punctuation is ASCII punctuation, and tf.strings.split splits on ASCII whitespace.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_WHITESPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")
_INTEGER = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[,\s]+")
_NAME_LENGTH = 40
_UNKNOWN_SHOWN = 5
MODEL_VOCABULARY = "the model's TextVectorization layer"
"""The :attr:`Vocabulary.source` of a vocabulary read from the model itself."""
VOCABULARY_NAMES = ("{stem}_vocab.txt", "{stem}_vocabulary.txt", "vocab.txt", "vocabulary.txt")
"""Names of a vocabulary file saved beside a model file (``{stem}`` is the model file's name
without its suffix), in the order they are looked for."""


class Vocabulary:
    """Token strings by id with Keras TextVectorization's conventions.

    Id 0 is padding (``""``), id 1 is ``"[UNK]"``.

    Args:
        tokens: The full list, ``tokens[0] == ""`` and ``tokens[1] == "[UNK]"`` expected.
        standardize: How :meth:`encode` standardizes text, as ``TextVectorization(standardize=...)``.
        split: How :meth:`encode` splits text, as ``TextVectorization(split=...)``.
        source: Where the tokens come from, for the user: a file name or
            :data:`MODEL_VOCABULARY`.
    """

    def __init__(
        self,
        tokens: list[str],
        *,
        standardize: str | None = _DEFAULT_STANDARDIZE,
        split: str | None = "whitespace",
        source: str = "",
    ):
        if standardize not in STANDARDIZE_MODES or split not in SPLIT_MODES:
            raise ValueError(f"Unsupported standardize={standardize!r} or split={split!r}")
        self.source = source
        self.tokens = [str(t) for t in tokens]
        self.standardize = standardize
        self.split_mode = split
        self._ids: dict[str, int] = {}
        for index, token in enumerate(self.tokens):
            self._ids.setdefault(token, index)

    @classmethod
    def from_file(cls, path: str | Path) -> Vocabulary:
        """Reads a vocabulary file the way ``TextVectorization(vocabulary=path)`` does.

        The file holds one token per line from id 2 on; padding and ``[UNK]`` are added. A file
        that starts with the reserved entries (a first line ``""`` and/or ``"[UNK]"``, as when
        ``get_vocabulary()`` was written whole) is read as complete: they are not added twice.
        (Keras itself would refuse the empty line, and would give a leading ``[UNK]`` id 2.)

        Args:
            path: The text file (UTF-8).

        Returns:
            The vocabulary.

        Raises:
            InputDataError: The file is missing, unreadable, empty or has an empty line.
        """
        path = Path(path)
        lines = _split_lines(_read_text(path))
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            raise InputDataError(f"{path}: the vocabulary file is empty")
        start = 1 if lines[0] == PAD_TOKEN else 0
        start += start < len(lines) and lines[start] == OOV_TOKEN
        body = lines[start:]
        if PAD_TOKEN in body:
            line = start + body.index(PAD_TOKEN) + 1
            raise InputDataError(f"{path}: line {line} is empty; a vocabulary file holds one token per line")
        return cls([PAD_TOKEN, OOV_TOKEN, *body], source=path.name)

    @classmethod
    def from_model(cls, model) -> Vocabulary | None:
        """The vocabulary of the first ``TextVectorization`` layer anywhere in a model.

        Its ``standardize`` and ``split`` settings are kept when they are built-in ones.

        Args:
            model: A Keras model.

        Returns:
            The vocabulary, or ``None`` if the model has no ``TextVectorization`` layer.
        """
        from inspector.model.describe import walk_layers
        from inspector.tfimport import keras

        for _, layer, _ in walk_layers(model):
            if isinstance(layer, keras.layers.TextVectorization):
                config = layer.get_config()
                standardize = config.get("standardize")
                split = config.get("split")
                return cls(
                    [str(t) for t in layer.get_vocabulary()],
                    standardize=standardize if standardize in STANDARDIZE_MODES else _DEFAULT_STANDARDIZE,
                    split=split if split in SPLIT_MODES else "whitespace",
                    source=MODEL_VOCABULARY,
                )
        return None

    def __len__(self) -> int:
        return len(self.tokens)

    def token(self, index: int) -> str:
        """The token of an id: ``""`` for 0, ``"[UNK]"`` for 1, ``"#<id>"`` for ids out of range."""
        return self.tokens[index] if 0 <= index < len(self.tokens) else f"#{index}"

    def id(self, word: str) -> int:
        """The id of a standardized word; 1 (``[UNK]``) when it is not in the vocabulary."""
        return self._ids.get(word, 1)

    def words(self, text: str) -> list[str]:
        """Standardizes and splits text as ``TextVectorization`` does with this vocabulary's settings."""
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if self.split_mode == "whitespace":
            return [word for word in _WHITESPACE.split(text) if word]
        if self.split_mode == "character":
            return list(text)
        return [text]

    def encode(self, text: str) -> tuple[list[int], int]:
        """Token ids of a text; unknown words get id 1.

        Args:
            text: One text.

        Returns:
            ``(ids, unknown)``: the ids and how many words were unknown.
        """
        ids = [self.id(word) for word in self.words(text)]
        return ids, ids.count(1)


def vocabulary_beside(model_file: str | Path) -> Path | None:
    """The vocabulary file saved next to a model: the first of :data:`VOCABULARY_NAMES` there.

    Args:
        model_file: The model's file, e.g. ``topic_rnn.keras`` (beside it ``topic_rnn_vocab.txt``).

    Returns:
        The file, or ``None`` when there is none.
    """
    model_file = Path(model_file)
    beside = (model_file.with_name(name.format(stem=model_file.stem)) for name in VOCABULARY_NAMES)
    return next((path for path in beside if path.is_file()), None)


@dataclass(frozen=True)
class PadOptions:
    """How sequences are padded, as in ``keras.utils.pad_sequences``.

    Attributes:
        maxlen: The length; ``None`` means the model's fixed length if it has one, else the
            longest sequence.
        padding: ``"pre"`` or ``"post"``: where padding goes.
        truncating: ``"pre"`` or ``"post"``: where longer sequences lose their tokens.
        value: The padding id.
    """

    maxlen: int | None = None
    padding: str = "post"
    truncating: str = "post"
    value: int = 0


def model_sequence_length(spec: InputSpec) -> int | None:
    """The fixed number of steps a sequence input accepts, or ``None`` when it is free.

    A string input's shape counts texts, not tokens, so ``"text"`` inputs have no length here.
    """
    if spec.kind == "sequence" and spec.shape:
        return spec.shape[0]
    return None


def parse_sequences(lines: list[str]) -> tuple[list[list[int]], bool]:
    """Decides whether lines are raw token ids (``5 6 7``, ``5,6,7``, ``[5, 6, 7]``) or text.

    Args:
        lines: The lines; empty ones are ignored.

    Returns:
        ``(ids, True)`` with the ids of each non-empty line when every one of them is a list of
        non-negative integers, else ``([], False)``: the lines are text.
    """
    sequences = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line[:1] + line[-1:] in ("[]", "()"):
            line = line[1:-1]
        items = [item for item in _SEPARATORS.split(line) if item]
        if not all(_INTEGER.fullmatch(item) for item in items):
            return [], False
        sequences.append([int(item) for item in items])
    return sequences, bool(sequences)


def pad(
    sequences: list[list[int]], options: PadOptions, model_length: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """Pads (and truncates) sequences to one length with ``keras.utils.pad_sequences``.

    Args:
        sequences: Token ids per sample.
        options: How to pad.
        model_length: The fixed length the model accepts, if any.

    Returns:
        ``(padded, notes)``: ``int32`` ``(N, T)`` ids and remarks on truncated sequences.

    Raises:
        InputDataError: No tokens at all, bad options, or a ``maxlen`` the model cannot take.
    """
    _check_options(options)
    if not sequences:
        raise InputDataError("There are no sequences to pad")
    if not any(sequences):
        raise InputDataError("Every sequence is empty: there are no tokens to feed the model")
    largest = max(max(s) for s in sequences if s)
    if largest > np.iinfo(np.int32).max:
        raise InputDataError(f"Token id {largest} is too large for int32")
    padded = _keras_pad(sequences, _length(options.maxlen, model_length), options, options.value)
    steps = padded.shape[1]
    truncated = sum(len(s) > steps for s in sequences)
    notes = []
    if truncated:
        notes.append(f"{truncated} sequence{'s' if truncated > 1 else ''} truncated to {steps} steps")
    return padded, notes


def _check_options(options: PadOptions) -> None:
    for name in ("padding", "truncating"):
        value = getattr(options, name)
        if value not in ("pre", "post"):
            raise InputDataError(f"{name.capitalize()} must be 'pre' or 'post', not {value!r}")
    maxlen = options.maxlen
    if maxlen is not None and (not _is_whole(maxlen) or maxlen < 1):
        raise InputDataError(f"maxlen must be a positive whole number, not {maxlen!r}")
    if not _is_whole(options.value):
        raise InputDataError(f"The padding value must be a whole number, not {options.value!r}")


def _is_whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _length(maxlen: int | None, model_length: int | None) -> int | None:
    if model_length is None or maxlen is None or maxlen == model_length:
        return model_length if maxlen is None else maxlen
    relation = "longer" if maxlen > model_length else "shorter"
    raise InputDataError(
        f"The model accepts sequences of {model_length} steps; maxlen {maxlen} is {relation}"
    )


def _keras_pad(
    sequences: list[list[int]], maxlen: int | None, options: PadOptions, value: int
) -> np.ndarray:
    from inspector.tfimport import keras

    return keras.utils.pad_sequences(
        sequences,
        maxlen=maxlen,
        dtype="int32",
        padding=options.padding,
        truncating=options.truncating,
        value=value,
    )


def padding_mask(padded: np.ndarray, value: int = 0) -> np.ndarray:
    """``True`` where a real token is, ``False`` at padding: bool ``(N, T)``."""
    return np.asarray(padded) != value


TEXT_NEEDS_VOCABULARY = (
    "Text needs a vocabulary: the model has no TextVectorization layer; choose a vocabulary file"
)


def sequence_samples(
    lines: list[str], spec: InputSpec, vocabulary: Vocabulary | None, options: PadOptions
) -> SampleSet:
    """Turns lines of text or of token ids into samples for a sequence or text input.

    Lines of integers are used as token ids; other lines are text, encoded with ``vocabulary``.
    The ids are checked against the ``input_dim`` of the ``Embedding`` the input goes into when
    the inputs are combined (:func:`~inspector.inputs.input_data.combine`). A string (``"text"``) input
    gets the lines themselves, unpadded: the model tokenizes them.

    Args:
        lines: The lines; empty ones are ignored.
        spec: A rank-1 sequence input or a string input.
        vocabulary: The vocabulary for text and for showing tokens, if any.
        options: How to pad.

    Returns:
        The samples, with the token text at each padded position in ``tokens``.

    Raises:
        InputDataError: No lines, text without a vocabulary, an input that takes neither
            sequences nor text, or padding problems (see :func:`pad`).
    """
    texts = [line.rstrip("\r\n") for line in lines if line.strip()]
    if not texts:
        raise InputDataError("There is no text: every line is empty")
    if spec.kind == "text":
        return _text_samples(texts, spec, vocabulary)
    if len(spec.shape) != 1:
        expected = shape_text(("N",) + spec.shape)
        raise InputDataError(f"Input '{spec.name}' takes {expected} arrays, not token sequences")
    sequences, numeric = parse_sequences(texts)
    notes = []
    if numeric:
        token_text = vocabulary.token if vocabulary is not None else str
    elif vocabulary is None:
        raise InputDataError(TEXT_NEEDS_VOCABULARY)
    else:
        sequences, unknown = encode_all(texts, vocabulary)
        notes += _unknown_notes(unknown)
        token_text = vocabulary.token
    padded, pad_notes = pad(sequences, options, model_sequence_length(spec))
    positions = _keras_pad([list(range(1, len(s) + 1)) for s in sequences], padded.shape[1], options, 0)
    tokens = [[token_text(seq[p - 1]) if p else "" for p in row] for seq, row in zip(sequences, positions)]
    return SampleSet(
        arrays={spec.name: padded.astype(numpy_dtype(spec.dtype), copy=False)},
        names=[_shorten(text) for text in texts],
        notes=notes + pad_notes,
        tokens={spec.name: tokens},
    )


def _text_samples(texts: list[str], spec: InputSpec, vocabulary: Vocabulary | None) -> SampleSet:
    samples = SampleSet({spec.name: np.array(texts, dtype=object)}, [_shorten(t) for t in texts])
    if vocabulary is not None:
        sequences, unknown = encode_all(texts, vocabulary)
        samples.notes += _unknown_notes(unknown)
        samples.tokens[spec.name] = [[vocabulary.token(i) for i in seq] for seq in sequences]
    return samples


def encode_all(texts: list[str], vocabulary: Vocabulary) -> tuple[list[list[int]], list[str]]:
    """Token ids of each text, and every unknown word in order of appearance.

    Args:
        texts: The texts.
        vocabulary: Standardizes, splits and looks up their words (unknown words get id 1).

    Returns:
        ``(sequences, unknown)``: the ids of each text, and every word not in the vocabulary
        (repeated as often as it occurs).
    """
    sequences, unknown = [], []
    for text in texts:
        words = vocabulary.words(text)
        ids = [vocabulary.id(word) for word in words]
        unknown += [word for word, i in zip(words, ids) if i == 1]
        sequences.append(ids)
    return sequences, unknown


def _unknown_notes(unknown: list[str]) -> list[str]:
    if not unknown:
        return []
    distinct = list(dict.fromkeys(unknown))
    shown = ", ".join(distinct[:_UNKNOWN_SHOWN]) + (", …" if len(distinct) > _UNKNOWN_SHOWN else "")
    plural = "s" if len(unknown) > 1 else ""
    return [f"{len(unknown)} unknown token{plural} mapped to {OOV_TOKEN}: {shown}"]


def _shorten(text: str, limit: int = _NAME_LENGTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_lines(path: str | Path) -> list[str]:
    """Reads the lines of a text file (UTF-8, undecodable bytes replaced).

    A ``.tsv`` or ``.csv`` file whose header has a ``text`` column gives that column's values.

    Args:
        path: The file.

    Returns:
        The lines (or ``text`` values), without line ends; empty lines are kept.

    Raises:
        InputDataError: The file is missing or unreadable.
    """
    path = Path(path)
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".csv"):
        column = _text_column(text, "\t" if suffix == ".tsv" else ",")
        if column is not None:
            return column
    lines = _split_lines(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def _text_column(text: str, delimiter: str) -> list[str] | None:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting))
    except csv.Error:
        return None  # not a table after all: read it as plain lines
    if not rows:
        return None
    header = [name.strip().lower() for name in rows[0]]
    if "text" not in header:
        return None
    index = header.index("text")
    return [row[index] if index < len(row) else "" for row in rows[1:]]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except FileNotFoundError as exc:
        raise InputDataError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputDataError(f"{path}: is a folder, not a text file") from exc
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _split_lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (as TensorFlow reads vocabulary files), without ``\\r``."""
    return [line.rstrip("\r") for line in text.split("\n")]
