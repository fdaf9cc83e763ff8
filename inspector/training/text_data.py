"""Training data from labelled text: class folders of ``.txt`` files or a CSV / TSV table.

:func:`text_data` tokenizes and pads the texts per batch with the vocabulary and padding of
:mod:`inspector.inputs.sequences`, as for activations.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

from inspector.errors import InputDataError, TrainingDataError
from inspector.inputs.input_data import InputSpec, input_specs, numpy_dtype
from inspector.inputs.sequences import (
    TEXT_NEEDS_VOCABULARY,
    PadOptions,
    Vocabulary,
    _read_text,
    _unknown_notes,
    encode_all,
    model_sequence_length,
    pad,
)
from inspector.training.training_data import (
    Order,
    Reader,
    Tracker,
    TrainingData,
    batches,
    check_batch,
    check_classes,
    check_split,
    class_notes,
    class_weights,
    converted,
    listed_inputs,
    only_input,
    read_or_replace,
    relative,
    single_output,
    split_by_class,
    split_description,
)

TEXT_SCAN = 2000  # texts read when a source is built, for the padded length and unknown tokens


class _TextReader(Reader):
    def __init__(self, items, labels, names, order, spec, vocabulary, options, tracker):
        self.items, self.labels, self.names, self.order = items, labels, names, order
        self.spec, self.vocabulary, self.options, self.tracker = spec, vocabulary, options, tracker

    def _load(self, j: int) -> str:
        return _text_item(self.items, j)

    def batch(self, index: int) -> tuple:
        texts, labels = [], []
        for i in self.order.batch(index):
            used, text = read_or_replace(int(i), self.names, self._load, self.tracker, "texts")
            texts.append(text)
            labels.append(self.labels[used])
        return _encode_texts(texts, self.spec, self.vocabulary, self.options), np.asarray(labels, dtype=np.int32)


def _text_item(items: list[str | Path], j: int) -> str:
    """Item ``j``: a text from a table, or the text of a ``.txt`` file."""
    item = items[j]
    return item if isinstance(item, str) else _read_text_file(item)


def _read_text_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputDataError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc


def _encode_texts(texts: list[str], spec: InputSpec, vocabulary: Vocabulary | None, options: PadOptions) -> np.ndarray:
    if spec.kind == "text":
        return np.array(texts, dtype=object)
    sequences = [vocabulary.encode(text)[0] for text in texts]
    if not any(sequences):  # every text empty: nothing for pad_sequences to measure
        return np.full((len(texts), options.maxlen), options.value, dtype=numpy_dtype(spec.dtype))
    padded, _ = pad(sequences, options, model_sequence_length(spec))
    return padded.astype(numpy_dtype(spec.dtype), copy=False)


def text_data(
    path: str | Path,
    model,
    vocabulary: Vocabulary | None,
    options: PadOptions,
    *,
    validation_split: float = 0.2,
    batch_size: int = 32,
    seed: int = 0,
) -> TrainingData:
    """Training batches of labelled text, tokenized and padded per batch.

    ``path`` is a folder with one sub-folder of ``.txt`` files per class (one example per
    file, read per batch), or a ``.csv`` / ``.tsv`` file whose header has ``text`` and
    ``label`` columns. Classes are the sorted labels (numerically when every label is a whole
    number), labels their indices. Texts are encoded with ``vocabulary`` and padded with
    ``options`` as for activations; when neither the options nor the model fix the length, it
    is the longest of the first texts (see :data:`TEXT_SCAN`), so every batch has one shape.

    Args:
        path: The folder or the table.
        model: The Keras model: one sequence (or string) input, one output.
        vocabulary: Token ids for the text; not needed for a string input.
        options: How to pad.
        validation_split: Fraction of each class kept for validation (stratified, seeded).
        batch_size: Texts per batch.
        seed: Seeds the split and the shuffling.

    Returns:
        The data, with unknown-token counts of the first texts in ``notes``.

    Raises:
        TrainingDataError: No texts, a single class, no vocabulary for a token input, padding
            options the model cannot take, or a model that takes no text.
    """
    path = Path(path)
    check_split(validation_split)
    spec = _text_input(model)
    if spec.kind == "sequence" and vocabulary is None:
        raise TrainingDataError(TEXT_NEEDS_VOCABULARY)
    output = single_output(model, None, str(path), "use an .npz with all outputs or your own generator")
    items, raw_labels, names = _text_examples(path)
    class_names = sorted(set(raw_labels), key=_label_order(raw_labels))
    if len(class_names) < 2:
        raise TrainingDataError(f"{path} has a single class ('{class_names[0]}'): training needs at least two classes")
    index = {name: i for i, name in enumerate(class_names)}
    labels = np.array([index[name] for name in raw_labels], dtype=np.int32)
    notes = check_classes(output, class_names, str(path))
    train_idx, val_idx = split_by_class(labels, validation_split, seed, class_names, str(path))
    skipped: list[tuple[str, str]] = []
    tracker = Tracker(skipped)
    options, scan_notes = _fixed_length(items, names, spec, vocabulary, options, tracker)
    notes += scan_notes

    def reader(indices, shuffle):
        order = Order(indices, batch_size, seed, shuffle)
        return _TextReader(items, labels, names, order, spec, vocabulary, options, tracker)

    counts = dict(Counter(labels[train_idx].tolist()))
    notes += class_notes(counts, class_names)
    train_reader = reader(train_idx, True)
    check_batch(model, train_reader.batch(0))
    return TrainingData(
        train=batches(train_reader, tracker),
        validation=batches(reader(val_idx, False), tracker) if len(val_idx) else None,
        class_names=class_names,
        class_weight=class_weights(counts),
        description=split_description(len(train_idx), len(val_idx), "text", len(class_names)),
        skipped=skipped,
        notes=notes,
        _tracker=tracker,
    )


def _text_input(model) -> InputSpec:
    specs = input_specs(model)
    texts = [s for s in specs if s.kind in ("sequence", "text")]
    if not texts:
        raise TrainingDataError(f"This model takes no token sequences or text (its inputs: {listed_inputs(specs)})")
    return only_input(specs, texts[0])


def _text_examples(path: Path) -> tuple[list[str | Path], list[str], list[str]]:
    """``(items, labels, names)``: texts (tables) or ``.txt`` files (folders), with their labels."""
    if path.is_dir():
        return _text_folder(path)
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise TrainingDataError(
            f"{path.name}: choose a folder of class sub-folders of .txt files, or a .csv / .tsv file with "
            "'text' and 'label' columns"
        )
    texts, labels = _text_table(path)
    return list(texts), labels, [f"{path.name} row {i + 2}" for i in range(len(texts))]


def _text_folder(folder: Path) -> tuple[list[str | Path], list[str], list[str]]:
    items, labels = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            (p for p in sub.rglob("*.txt") if p.is_file() and not p.name.startswith(".")),
            key=lambda p: (p.parent.as_posix(), p.name),
        )
        items += files
        labels += [sub.name] * len(files)
    if not items:
        raise TrainingDataError(f"{folder} holds no class sub-folders with .txt files (one example per file)")
    return items, labels, [relative(p, folder) for p in items]


def _text_table(path: Path) -> tuple[list[str], list[str]]:
    text = converted(_read_text, path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting))
    except csv.Error as exc:
        raise TrainingDataError(f"{path.name}: not a readable table ({exc})") from exc
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if "text" not in header or "label" not in header:
        raise TrainingDataError(f"{path.name}: the first row must name a 'text' and a 'label' column")
    t, lab = header.index("text"), header.index("label")
    body = [row for row in rows[1:] if len(row) > max(t, lab) and row[t].strip() and row[lab].strip()]
    if not body:
        raise TrainingDataError(f"{path.name}: no rows with both a text and a label")
    return [row[t] for row in body], [row[lab].strip() for row in body]


def _label_order(labels: list[str]) -> Callable[[str], Any]:
    if all(label.lstrip("-").isdigit() for label in labels):
        return int
    return str


def _fixed_length(items, names, spec, vocabulary, options, tracker) -> tuple[PadOptions, list[str]]:
    """Options with a fixed ``maxlen``, from the options, the model or the first texts; notes."""
    if spec.kind == "text":
        return options, []
    load = functools.partial(_text_item, items)
    scanned = [read_or_replace(i, names, load, tracker, "texts")[1] for i in range(min(len(items), TEXT_SCAN))]
    sequences, unknown = encode_all(scanned, vocabulary)
    padded, pad_notes = converted(pad, sequences, options, model_sequence_length(spec))
    length = padded.shape[1]
    notes = []
    where = f"the first {len(scanned):,} texts" if len(scanned) < len(items) else f"the {len(scanned):,} texts"
    if options.maxlen is None and model_sequence_length(spec) is None:
        notes.append(f"Texts are padded to {length} tokens, the longest of {where}")
    notes += [f"In {where}: {note}" for note in _unknown_notes(unknown) + pad_notes]
    return PadOptions(length, options.padding, options.truncating, options.value), notes
