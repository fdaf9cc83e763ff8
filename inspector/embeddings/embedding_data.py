"""Points for an embedding plot: vectors with metadata, from a model or from files.

The points come from an ``Embedding`` layer's weights (one per token), from extracted layer
outputs (one per input), from the two files of the TensorFlow Embedding Projector
(``vectors.tsv`` and an optional ``metadata.tsv``) or from a NumPy array. Projector files are
read as the projector reads them and written so that both the projector and this module read
them back unchanged. Keras is imported only by the functions that take a model.
"""

from __future__ import annotations

import csv
import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generator, TYPE_CHECKING, Iterable, Iterator

import numpy as np

from inspector.jobs import Progress

from inspector.errors import EmbeddingDataError

if TYPE_CHECKING:
    from inspector.activations.extraction import Activations
    from inspector.inputs.sequences import Vocabulary

PAD_LABEL = "[PAD]"
"""The label of token id 0 (padding), whose token is the empty string."""

EMPTY_VALUE = "<empty>"
"""Written in place of a metadata row that would be a blank line: the projector skips those."""

HEADER_RULE = (
    "With more than one column the first line must be a header of column names; "
    "with one column there is no header line."
)

_ROWS_LISTED = 5
_CELL_BREAKS = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
_NOT_NUMBERS = {
    "U": "text", "S": "text", "O": "Python objects", "c": "complex numbers", "M": "dates", "m": "time spans"
}
_REDUCTIONS = {"flatten": "flattened", "mean": "mean-pooled"}
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"
_PICKLED = "holds Python objects; refusing to load pickles, because unpickling can run code."


@dataclass
class EmbeddingSet:
    """Points for an embedding plot: vectors plus metadata columns.

    Attributes:
        vectors: ``(n, d)`` float32, C-contiguous, every value finite, ``n >= 1``.
        columns: The metadata column names, never empty; ``columns[0]`` is the default label.
        metadata: Column -> one string per point (``""`` where missing), in the order of
            ``vectors``.
        title: A short description of the source for the panel, e.g.
            ``"embedding (Embedding): 1,000 × 16"`` or ``"vectors.tsv"``.
        notes: Plain sentences for the user: dropped rows, a guessed header, a short vocabulary…
        rows: The index of each point in the source (int64); ``None`` means ``0..n-1``.
        path: The file the points come from (the vectors file, or the model's file), if known.
    """

    vectors: np.ndarray
    columns: list[str]
    metadata: dict[str, list[str]]
    title: str
    notes: list[str] = field(default_factory=list)
    rows: np.ndarray | None = None
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dims(self) -> int:
        """The number of dimensions of each vector."""
        return int(self.vectors.shape[1])

    def labels(self, column: str | None = None) -> list[str]:
        """One metadata column's values, by default the first column's."""
        return self.metadata[self.columns[0] if column is None else column]


def finite_rows(vectors, metadata: dict[str, list[str]], columns: list[str], title: str, notes=()) -> EmbeddingSet:
    """Builds the points from raw numbers, leaving out rows with NaN or infinite values.

    Args:
        vectors: ``(n, d)`` numbers of any real dtype; converted to C-contiguous float32.
        metadata: Column -> n strings, in the order of ``vectors``.
        columns: The column names to keep, the default label column first.
        title: The source's short description; error messages name the source by it.
        notes: Remarks so far; a remark on dropped rows is added to them.

    Returns:
        The points, with ``rows`` giving each kept row's index in ``vectors``.

    Raises:
        EmbeddingDataError: The numbers are not a 2-D table of real numbers, the table has no
            rows or no dimensions, or every row has a NaN or infinite value.
        ValueError: No columns, or a metadata column without one value per row.
    """
    array = _real_table(vectors, title)
    if not columns:
        raise ValueError("The points need at least one metadata column")
    short = [column for column in columns if len(metadata[column]) != len(array)]
    if short:
        raise ValueError(f"Metadata columns {short} do not have one value for each of {len(array)} vectors")
    finite = finite_row_mask(array)
    kept = np.flatnonzero(finite)
    if not len(kept):
        raise EmbeddingDataError(
            f"{title}: every one of its {len(array):,} vectors has NaN or infinite values, "
            "so there is nothing to plot."
        )
    notes = list(notes)
    if len(kept) < len(array):
        notes.append(_dropped_note(np.flatnonzero(~finite), len(array)))
        array = array[kept]
        indices = kept.tolist()
        metadata = {column: [metadata[column][i] for i in indices] for column in columns}
    picked = {column: metadata[column] for column in columns}
    return EmbeddingSet(array, list(columns), picked, title, notes, kept.astype(np.int64))


def finite_row_mask(array: np.ndarray) -> np.ndarray:
    """Which rows of a float32 table hold only finite numbers.

    One matrix-vector product instead of ``np.isfinite(array).all(axis=1)``: twenty times faster
    on a million rows, and BLAS does not hold the GIL. A NaN or infinity anywhere in a row makes
    its sum NaN or infinite; the factor keeps the sum of finite float32 values far from overflow.
    """
    return np.isfinite(array @ np.full(array.shape[1], 1e-30, dtype=np.float32))


def _real_table(vectors, source: str) -> np.ndarray:
    array = np.asarray(vectors)
    if array.dtype.kind not in "biuf":
        held = _NOT_NUMBERS.get(array.dtype.kind, f"{array.dtype} values")
        raise EmbeddingDataError(f"{source} holds {held}; the vectors must be real numbers.")
    if array.ndim != 2:
        raise EmbeddingDataError(
            f"{source} holds an array of shape {array.shape}; the vectors need two axes, points × dimensions."
        )
    if 0 in array.shape:
        raise EmbeddingDataError(f"{source} holds no vectors: its array has shape {array.shape}.")
    with np.errstate(over="ignore"):  # float64 values beyond float32 become infinite, and are dropped
        return np.ascontiguousarray(array, dtype=np.float32)


def _dropped_note(dropped: np.ndarray, total: int) -> str:
    listed = ", ".join(str(i) for i in dropped[:_ROWS_LISTED]) + (", …" if len(dropped) > _ROWS_LISTED else "")
    rows = "row" if len(dropped) == 1 else "rows"
    return (
        f"Dropped {len(dropped):,} of {total:,} rows with NaN or infinite values "
        f"({rows} {listed}, counting from 0)."
    )


# ---------------------------------------------------------------------------------------------
# From a model
# ---------------------------------------------------------------------------------------------


def embedding_layers(model) -> list[str]:
    """The paths of a model's ``Embedding`` layers at any depth, in the order of
    :func:`~inspector.model.describe.walk_layers`."""
    from inspector.model.describe import walk_layers
    from inspector.tfimport import keras

    return [path for path, layer, _ in walk_layers(model) if isinstance(layer, keras.layers.Embedding)]


def embedding_choices_job(model) -> Generator[Progress, None, tuple[list[str], bool]]:
    """What the Embeddings view can plot from the model, read where the model is.

    Returns:
        The paths of the model's ``Embedding`` layers (:func:`embedding_layers`), and whether
        the model has its own ``TextVectorization`` vocabulary to label their rows.
    """
    from inspector.inputs.sequences import Vocabulary

    yield Progress("Listing the Embedding layers…")
    return embedding_layers(model), Vocabulary.from_model(model) is not None


def from_embedding_layer(model, path: str, vocabulary: Vocabulary | None = None) -> EmbeddingSet:
    """One point per row of an ``Embedding`` layer's weight matrix, labelled by its token.

    Args:
        model: A Keras model.
        path: The layer's path, as from :func:`embedding_layers`.
        vocabulary: The tokens by id; by default the model's ``TextVectorization`` vocabulary,
            if it has one. Padding (id 0) is labelled ``"[PAD]"``.

    Returns:
        The points, with columns ``["token", "id"]``, or ``["id"]`` without a vocabulary. A
        vocabulary shorter or longer than the embedding gets a note.

    Raises:
        EmbeddingDataError: No layer at ``path``, it is not an ``Embedding``, or it has no
            weights yet.
    """
    from inspector.inputs.sequences import Vocabulary
    from inspector.tfimport import keras

    layer = _embedding_layer(model, path)
    # A copy: training the model later cannot change the points.
    weights = np.array(keras.ops.convert_to_numpy(layer.embeddings), dtype=np.float32)
    count = len(weights)
    title = f"{path} ({type(layer).__name__} weights)"
    ids = [str(i) for i in range(count)]
    if vocabulary is None:
        vocabulary = Vocabulary.from_model(model)
    if vocabulary is None:
        return finite_rows(weights, {"id": ids}, ["id"], title)
    tokens = [vocabulary.token(i) or PAD_LABEL for i in range(count)]
    notes = _vocabulary_notes(len(vocabulary), count)
    return finite_rows(weights, {"token": tokens, "id": ids}, ["token", "id"], title, notes)


def _embedding_layer(model, path: str):
    from inspector.model.describe import walk_layers
    from inspector.tfimport import keras

    layer = next((layer for layer_path, layer, _ in walk_layers(model) if layer_path == path), None)
    if layer is None:
        raise EmbeddingDataError(f"The model {model.name} has no layer {path}.")
    if not isinstance(layer, keras.layers.Embedding):
        raise EmbeddingDataError(f"Layer {path} is a {type(layer).__name__}, not an Embedding layer.")
    if not layer.built:
        raise EmbeddingDataError(f"Embedding layer {path} has no weights yet: it was never built.")
    return layer


def _vocabulary_notes(tokens: int, rows: int) -> list[str]:
    if tokens < rows:
        unlabelled = f"row {tokens:,} is" if rows - tokens == 1 else f"rows {tokens:,}–{rows - 1:,} are"
        return [f"The vocabulary has {tokens:,} tokens for {rows:,} embedding rows; {unlabelled} labelled by id."]
    if tokens > rows:
        hidden = "token is" if tokens - rows == 1 else f"{tokens - rows:,} tokens are"
        return [
            f"The vocabulary has {tokens:,} tokens but the embedding only {rows:,} rows; the last {hidden} not shown."
        ]
    return []


def from_activations(activations: Activations, key: str, reduce: str = "flatten") -> EmbeddingSet:
    """One point per input from one layer output's extracted values.

    Args:
        activations: Extracted activations.
        key: The layer output (a :class:`~inspector.activations.extraction.Target` key).
        reduce: ``"flatten"`` or ``"mean"``, as in :func:`~inspector.activations.extraction.embedding_vectors`.

    Returns:
        The points (a copy of the values), with columns ``["name", "class"]`` when the inputs
        have classes, else ``["name"]``.

    Raises:
        EmbeddingDataError: No input was extracted, or every vector has NaN or infinite values.
    """
    from inspector.activations.extraction import embedding_vectors

    target, samples, done = activations.target(key), activations.samples, activations.complete
    if not done:
        raise EmbeddingDataError(f"No inputs were extracted for {target.label}, so there is nothing to plot.")
    vectors = np.array(embedding_vectors(activations, key, reduce), dtype=np.float32)
    metadata = {"name": list(samples.names[:done])}
    if samples.classes is not None:
        metadata["class"] = list(samples.classes[:done])
    reduced = f", {_REDUCTIONS[reduce]}" if len(target.shape) > 1 else ""
    title = f"{target.label} output{reduced}"
    return finite_rows(vectors, metadata, list(metadata), title)



def kept_points_job(kept: dict, number: int, key: str, reduce: str = "flatten") -> Generator[Progress, None, EmbeddingSet]:
    """:func:`from_activations` on an extraction kept in a model's kernel.

    Args:
        kept: The kernel's ``KEPT`` dict.
        number: The extraction (:attr:`~inspector.activations.kept_results.ExtractionSummary.number`).
        key: The layer output.
        reduce: ``"flatten"`` or ``"mean"``.
    """
    from inspector.activations.kept_results import kept_activations

    activations = kept_activations(kept, number)
    yield Progress("Reading the points…")
    return from_activations(activations, key, reduce)

# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


def read_metadata(path, rows: int | None = None) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Reads a projector metadata file as the TensorFlow Embedding Projector does.

    Blank lines are skipped. A first line with a tab is a header of column names; otherwise
    there is no header and the one column is called ``"label"``. Rows are split at tabs;
    missing cells are ``""`` and extra cells are ignored. Line ends may be ``\\r\\n``. Empty or
    repeated column names are made unique (``"column 2"``, ``"word (2)"``), with a note.

    Args:
        path: The UTF-8 text file.
        rows: The number of vectors the metadata belongs to, if known. A one-column file with
            exactly one line more is read as having a header line, with a note.

    Returns:
        ``(columns, metadata, notes)``.

    Raises:
        EmbeddingDataError: The file cannot be read, is not UTF-8, or its number of rows
            differs from ``rows``.
    """
    path = Path(path)
    lines = [line.removesuffix("\r") for line in _read_text(path).split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines and rows:
        raise EmbeddingDataError(f"{path.name} holds no metadata: every line is blank.")
    header = bool(lines) and "\t" in lines[0]
    columns, body = (lines[0].split("\t"), lines[1:]) if header else (["label"], lines)
    notes = []
    if rows is not None and len(body) != rows:
        if header or len(body) != rows + 1:
            raise EmbeddingDataError(
                f"{path.name} has {len(body):,} rows of metadata for {rows:,} vectors. {HEADER_RULE}"
            )
        columns, body = [body[0]], body[1:]
        notes.append(
            f"{path.name} has one line more than there are vectors, so its first line, "
            f"{columns[0]!r}, is read as the column name."
        )
    columns, renamed = _unique_names(columns)
    if renamed:
        notes.append(f"{path.name} has empty or repeated column names; they are shown as {', '.join(renamed)}.")
    cells = [line.split("\t") for line in body]
    metadata = {column: [row[i] if i < len(row) else "" for row in cells] for i, column in enumerate(columns)}
    return columns, metadata, notes


def _unique_names(names: list[str]) -> tuple[list[str], list[str]]:
    """The names with empty ones numbered by position and repeats numbered, and those renamed."""
    unique, renamed = [], []
    for position, name in enumerate(names, 1):
        base = name or f"column {position}"
        new, copy = base, 1
        while new in unique:
            copy += 1
            new = f"{base} ({copy})"
        unique.append(new)
        if new != name:
            renamed.append(repr(new))
    return unique, renamed


def read_vectors_tsv(path) -> np.ndarray:
    """Reads a projector ``vectors.tsv``: one vector per non-blank line, values separated by tabs.

    Whitespace around a line is ignored, as the projector does. ``nan`` and ``inf`` are read as
    numbers (:func:`finite_rows` drops them later).

    Args:
        path: The UTF-8 text file.

    Returns:
        ``(n, d)`` float32 values.

    Raises:
        EmbeddingDataError: The file cannot be read, is not UTF-8, has no vectors, has lines
            with different numbers of values, or has a value that is not a number; the message
            names the line.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            lines = _vector_lines(handle, path.name)
            first = next(lines, None)
            if first is None:
                raise EmbeddingDataError(f"{path.name} holds no vectors: every line is blank.")
            return np.loadtxt(
                itertools.chain([first], lines), dtype=np.float32, delimiter="\t", comments=None, ndmin=2
            )
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except ValueError as exc:
        raise _bad_value(path, exc) from None


def _vector_lines(lines: Iterable[str], name: str) -> Iterator[str]:
    """The non-blank lines, stripped, after checking that each has as many values as the first."""
    width = first = None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        count = line.count("\t") + 1
        if width is None:
            width, first = count, number
        elif count != width:
            raise EmbeddingDataError(f"{name} line {number:,} has {count:,} values; line {first:,} has {width:,}.")
        yield line


def _bad_value(path: Path, error: ValueError) -> EmbeddingDataError:
    """Names the line and value of a vectors file that NumPy could not read as a number."""
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if line and not _numbers(line):
                column, value = next((i, v) for i, v in enumerate(line.split("\t"), 1) if not _numbers(v))
                return EmbeddingDataError(f"{path.name} line {number:,}: value {column:,}, {value!r}, is not a number.")
    return EmbeddingDataError(f"{path.name} cannot be read as numbers: {error}")


def _numbers(text: str) -> bool:
    """Whether NumPy reads tab-separated text as numbers, exactly as in :func:`read_vectors_tsv`."""
    if not text.strip():
        return False  # NumPy would skip it as a blank line
    try:
        np.loadtxt([text], dtype=np.float32, delimiter="\t", comments=None)
    except ValueError:
        return False
    return True


def read_projector_tsv(vectors_path, metadata_path=None) -> EmbeddingSet:
    """Reads the projector's ``vectors.tsv`` and, if given, its ``metadata.tsv``.

    Args:
        vectors_path: The vectors file.
        metadata_path: The metadata file; without one the points are labelled by their row
            number in a column ``"index"``.

    Returns:
        The points, rows with NaN or infinite values left out.

    Raises:
        EmbeddingDataError: Either file cannot be used; the message names it and says why.
    """
    path = Path(vectors_path)
    return _with_metadata(read_vectors_tsv(path), metadata_path, path, [])


def read_npy(vectors_path, metadata_path=None) -> EmbeddingSet:
    """Reads vectors from a ``.npy`` file, or a ``.npz`` file holding one array.

    An array with more than two axes is flattened to one vector per entry of its first axis,
    with a note. Files with Python objects (pickles) are refused.

    Args:
        vectors_path: The NumPy file.
        metadata_path: A projector metadata file; without one the points are labelled by their
            row number in a column ``"index"``.

    Returns:
        The points, rows with NaN or infinite values left out.

    Raises:
        EmbeddingDataError: The file cannot be read, holds pickles, several arrays, an array
            with fewer than two axes or not numbers, or the metadata does not fit.
    """
    path = Path(vectors_path)
    array = _load_array(path)
    if array.ndim < 2:
        raise EmbeddingDataError(
            f"{path.name} holds an array of shape {array.shape}; the vectors need two axes, points × dimensions."
        )
    notes = []
    if array.ndim > 2:
        flat = array.reshape(array.shape[0], int(np.prod(array.shape[1:])))
        notes.append(f"The array of shape {array.shape} was flattened to {flat.shape[0]:,} × {flat.shape[1]:,}.")
        array = flat
    return _with_metadata(array, metadata_path, path, notes)


def _load_array(path: Path) -> np.ndarray:
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if magic.startswith(_PICKLE_MAGIC):
        raise EmbeddingDataError(f"{path.name} {_PICKLED}")
    if not magic.startswith((_NPY_MAGIC, _ZIP_MAGIC)):
        raise EmbeddingDataError(f"{path.name} is not a NumPy .npy or .npz file.")
    with _numpy_errors(path):
        # A .npy is memory-mapped: a million vectors open at once and use no memory of their own.
        data = np.load(path, allow_pickle=False, mmap_mode=None if magic.startswith(_ZIP_MAGIC) else "r")
    if not isinstance(data, np.lib.npyio.NpzFile):
        return data
    with data:
        names = list(data.files)
        if len(names) != 1:
            held = f"{len(names)} arrays ({', '.join(names)})" if names else "no arrays"
            raise EmbeddingDataError(f"{path.name} holds {held}; it must hold exactly one, the vectors.")
        with _numpy_errors(path):
            return data[names[0]]


@contextmanager
def _numpy_errors(path: Path) -> Iterator[None]:
    """Turns NumPy's errors on loading a file into messages for the user."""
    try:
        yield
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Python objects" in str(exc):  # loaded, or memory-mapped
            raise EmbeddingDataError(f"{path.name} {_PICKLED}") from None
        raise EmbeddingDataError(f"{path.name} is a damaged NumPy file ({exc}).") from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except Exception as exc:  # noqa: BLE001 - zipfile and end-of-file errors of a damaged file
        raise EmbeddingDataError(f"{path.name} is a damaged NumPy file ({exc}).") from None


def _with_metadata(vectors: np.ndarray, metadata_path, path: Path, notes: list[str]) -> EmbeddingSet:
    if metadata_path is None:
        columns, metadata = ["index"], {"index": [str(i) for i in range(len(vectors))]}
    else:
        columns, metadata, more = read_metadata(metadata_path, rows=len(vectors))
        notes = notes + more
    points = finite_rows(vectors, metadata, columns, path.name, notes)
    points.path = path
    return points


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> EmbeddingDataError:
    return EmbeddingDataError(f"{path.name} is not UTF-8 text ({error.reason}); save it with UTF-8 encoding.")


def _unreadable(path: Path, error: OSError) -> EmbeddingDataError:
    if isinstance(error, FileNotFoundError):
        return EmbeddingDataError(f"{path} cannot be read: there is no such file.")
    if isinstance(error, IsADirectoryError):
        return EmbeddingDataError(f"{path} cannot be read: it is a folder.")
    return EmbeddingDataError(f"{path} cannot be read: {error.strerror or error}.")


# ---------------------------------------------------------------------------------------------
# Writing files
# ---------------------------------------------------------------------------------------------


def write_projector_tsv(points: EmbeddingSet, vectors_path, metadata_path) -> None:
    """Writes the points as the projector's ``vectors.tsv`` and ``metadata.tsv``.

    Both the TensorFlow Embedding Projector and :func:`read_projector_tsv` read them back
    unchanged, with these exceptions the format imposes: tabs and line breaks inside values
    become spaces; a row that would be a blank line (the projector skips those) gets
    :data:`EMPTY_VALUE` in its first column; and a single column is written without a header,
    so it is read back as ``"label"``. Vectors are written with 9 significant digits, which
    gives back every float32 exactly.

    Args:
        points: The points.
        vectors_path: The vectors file to write.
        metadata_path: The metadata file to write.

    Raises:
        EmbeddingDataError: A file cannot be written.
    """
    _write_lines(Path(vectors_path), _vector_text(points.vectors))
    _write_lines(Path(metadata_path), _metadata_text(points))


def _vector_text(vectors: np.ndarray) -> Iterator[str]:
    row_format = "\t".join(["%.9g"] * vectors.shape[1])
    for row in vectors:
        yield row_format % tuple(row.tolist())


def _metadata_text(points: EmbeddingSet) -> Iterator[str]:
    if len(points.columns) > 1:
        yield "\t".join(_cell(name) for name in points.columns)
    for row in zip(*(points.metadata[column] for column in points.columns)):
        cells = [_cell(value) for value in row]
        line = "\t".join(cells)
        yield line if line.strip() else "\t".join([EMPTY_VALUE, *cells[1:]])


def _cell(value: str) -> str:
    return value.translate(_CELL_BREAKS)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(f"{line}\n" for line in lines)
    except OSError as exc:
        raise _unwritable(path, exc) from None


def _unwritable(path: Path, error: OSError) -> EmbeddingDataError:
    return EmbeddingDataError(f"{path} cannot be written: {error.strerror or error}.")


def write_coordinates_csv(
    path, points: EmbeddingSet, coords: np.ndarray, axis_names: list[str], indices: np.ndarray | None = None
) -> None:
    """Writes projected coordinates with the points' metadata as CSV (UTF-8).

    The header is the axis names followed by every metadata column; each row is one plotted
    point. Numbers are written in their shortest exact form.

    Args:
        path: The CSV file to write.
        points: The points that were projected.
        coords: ``(m, len(axis_names))`` coordinates, one row per plotted point.
        axis_names: The name of each coordinate, e.g. ``["PC1", "PC2"]``.
        indices: The index in ``points`` of each row of ``coords`` (a sample); ``None`` when
            every point was plotted, in order.

    Raises:
        EmbeddingDataError: The file cannot be written.
        ValueError: ``coords`` does not have one row per point and one column per axis name.
    """
    path = Path(path)
    coords = np.asarray(coords)
    picked = np.arange(len(points)) if indices is None else np.asarray(indices, dtype=np.int64)
    if coords.shape != (len(picked), len(axis_names)):
        raise ValueError(
            f"Coordinates of shape {coords.shape} do not fit {len(picked)} points × {len(axis_names)} axes"
        )
    columns = [points.metadata[column] for column in points.columns]
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*axis_names, *points.columns])
            for index, numbers in zip(picked.tolist(), coords.astype(str).tolist()):
                writer.writerow([*numbers, *(column[index] for column in columns)])
    except OSError as exc:
        raise _unwritable(path, exc) from None
