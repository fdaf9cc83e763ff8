"""Inputs for a model from the user's files: what each model input takes, images, NumPy arrays,
and how per-input data combines into one batch of samples.

Importing this module stays cheap: Keras is only reached through the model that callers pass in.
Images are channels-last, as Keras stores them by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator, Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from inspector.errors import InputDataError
from inspector.jobs import Progress


@dataclass(frozen=True)
class InputSpec:
    """What one model input takes.

    Attributes:
        name: The model input's name, e.g. ``"image_input"`` or ``"tokens"``.
        shape: The shape of one sample, without the batch axis; ``None`` for a free axis.
        dtype: The input's dtype name: ``"float32"``, ``"int32"``, ``"string"``, ...
        kind: ``"image"``, ``"sequence"``, ``"text"``, ``"vector"`` or ``"other"`` (arrays only).
        embedding: The path of the ``Embedding`` layer the input goes into (the one with the
            fewest rows when there are several), or ``None``.
        input_dim: That layer's ``input_dim``: token ids must lie in ``0 … input_dim - 1``.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    kind: str
    embedding: str | None = None
    input_dim: int | None = None


@dataclass
class SampleSet:
    """Inputs ready for the model: one array per model input with the same number of samples.

    Attributes:
        arrays: Input name -> ``(N, *shape)`` array in the input's dtype.
        names: One label per sample: a file name, ``"row 3"``, or the (shortened) text line.
        classes: The class folder of each sample, when images came from class folders.
        skipped: ``(file, reason)`` of each image that could not be read.
        notes: Remarks for the user, e.g. ``"3 unknown tokens mapped to [UNK]: ..."``.
        images: Image input name -> ``uint8`` ``(N, H, W, C)`` pixels as resized, before
            preprocessing (shown beside feature maps).
        tokens: Sequence input name -> per sample, the token text at each padded position
            (``""`` at padding).
    """

    arrays: dict[str, np.ndarray]
    names: list[str]
    classes: list[str] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    tokens: dict[str, list[list[str]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


# ---------------------------------------------------------------------------------------------
# Model inputs
# ---------------------------------------------------------------------------------------------

IMAGE_CHANNELS = (1, 3, 4)


def input_specs(model) -> list[InputSpec]:
    """Describes each input of a model, in ``model.inputs`` order.

    The kind says which data the user can give:

    * ``"image"``: rank 3 ``(H, W, C)``, float (or ``uint8``) with ``C`` in 1, 3 or 4;
    * ``"sequence"``: rank 1 integer, or rank 1 of any number type consumed by an ``Embedding``;
    * ``"text"``: string dtype (the model tokenizes itself);
    * ``"vector"``: rank 1 float;
    * ``"other"``: anything else, fed from arrays only.

    Args:
        model: A built Keras model.

    Returns:
        One spec per model input; none for a subclassed model, which declares no inputs.
    """
    specs = []
    for tensor in getattr(model, "inputs", None) or []:
        shape = tuple(None if d is None else int(d) for d in tensor.shape[1:])
        dtype = dtype_name(tensor.dtype)
        embeddings = sorted(_embeddings_fed(tensor), key=lambda found: found[1])
        embedding, input_dim = embeddings[0] if embeddings else (None, None)
        specs.append(InputSpec(tensor.name, shape, dtype, _kind(shape, dtype, bool(embeddings)), embedding, input_dim))
    return specs


def dtype_name(dtype) -> str:
    """The plain name of a Keras, TensorFlow or NumPy dtype (``"float32"``, ``"string"``)."""
    return str(getattr(dtype, "name", dtype))


def _kind(shape: tuple[int | None, ...], dtype: str, feeds_embedding: bool) -> str:
    if dtype == "string":
        return "text"
    if len(shape) == 3 and shape[2] in IMAGE_CHANNELS and (_is_float(dtype) or dtype == "uint8"):
        return "image"
    if len(shape) == 1:
        if _is_integer(dtype) or (_is_float(dtype) and feeds_embedding):
            return "sequence"
        if _is_float(dtype):
            return "vector"
    return "other"


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "bfloat"))


def _is_integer(dtype: str) -> bool:
    return dtype.startswith(("int", "uint"))


def _embeddings_fed(tensor, prefix: str = "", depth: int = 0) -> list[tuple[str, int]]:
    """The ``Embedding`` layers an input tensor goes into, directly or as a nested model's input.

    Returns:
        ``(path, input_dim)`` of each, the path counting nested models (``"encoder/embedding"``).
    """
    from inspector.tfimport import keras

    history = getattr(tensor, "_keras_history", None)
    if history is None or depth > 8:
        return []
    found = []
    for node in getattr(history.operation, "_outbound_nodes", []):
        layer = node.operation
        if isinstance(layer, keras.layers.Embedding):
            found.append((prefix + layer.name, int(layer.input_dim)))
        elif isinstance(layer, keras.Model):
            for inner in layer.inputs:
                if len(inner.shape) == 2:
                    found += _embeddings_fed(inner, f"{prefix}{layer.name}/", depth + 1)
    return found


def out_of_range_ids(ids: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Where token ids lie outside ``0 … input_dim - 1`` of the ``Embedding`` the input goes into.

    Args:
        ids: The input's array, any shape.
        spec: The input.

    Returns:
        Booleans shaped like ``ids``; all ``False`` when the input goes into no ``Embedding``.
    """
    ids = np.asarray(ids)
    if spec.input_dim is None or ids.dtype.kind not in "biuf" or not ids.size:
        return np.zeros(ids.shape, dtype=bool)
    if ids.min() >= 0 and ids.max() < spec.input_dim:  # reductions only: no temporary array
        return np.zeros(ids.shape, dtype=bool)
    return (ids < 0) | (ids >= spec.input_dim)


def token_id_problem(ids: np.ndarray, spec: InputSpec) -> str | None:
    """The sentence that names the first token id the input's ``Embedding`` cannot look up.

    Args:
        ids: The input's ``(N, ...)`` array.
        spec: The input.

    Returns:
        For example ``"Token id 600 (input 2) is out of range for Embedding 'embedding'
        (input_dim 500): ids go from 0 to 499."``, or ``None`` when every id fits.
    """
    bad = out_of_range_ids(ids, spec)
    if not bad.any():
        return None
    where = tuple(np.argwhere(bad)[0])
    count = int(bad.sum())
    more = f"; {count - 1:,} more ids are out of range" if count > 1 else ""
    return (
        f"Token id {ids[where]:g} (input {where[0] + 1}) is out of range for Embedding '{spec.embedding}' "
        f"(input_dim {spec.input_dim}): ids go from 0 to {spec.input_dim - 1}{more}."
    )


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype to build an input's array in; ``float32`` for dtypes NumPy lacks."""
    if dtype == "string":
        return np.dtype(object)
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(np.float32)  # e.g. bfloat16: Keras casts on the way in


def shape_text(dims: Iterable) -> str:
    """A shape as the user reads it: ``(N, 8, 8, 1)``, ``(10,)``."""
    dims = [str(d) for d in dims]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def spec_shape_text(spec: InputSpec) -> str:
    """An input's shape as the user reads it, unknown sizes as ``?``: ``(?, 28, 28, 1)``."""
    return shape_text("?" if d is None else d for d in spec.shape)


# ---------------------------------------------------------------------------------------------
# Image preprocessing
# ---------------------------------------------------------------------------------------------

PREPROCESSING: dict[str, str] = {
    "none": "None (raw 0-255 pixels)",
    "scale_0_1": "Scale to [0, 1]",
    "scale_-1_1": "Scale to [-1, 1]",
    "caffe": "ImageNet caffe: BGR, mean subtracted",
    "torch": "ImageNet torch: [0, 1], mean/std normalised",
}

# The constants of keras.applications.imagenet_utils.preprocess_input, in RGB order.
_CAFFE_MEAN_RGB = np.array([123.68, 116.779, 103.939], dtype=np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def preprocess(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Turns 0-255 pixels into what a model expects, as a new ``float32`` array.

    ``"caffe"`` and ``"torch"`` give the same numbers as
    ``keras.applications.imagenet_utils.preprocess_input(x, mode=...)`` for RGB images. For
    1-channel images they use the mean of the three ImageNet constants on the single channel
    (there is no colour order to swap).

    Args:
        pixels: ``(N, H, W, C)`` (or ``(H, W, C)``) pixels, ``uint8`` or float, 0..255.
        mode: A key of :data:`PREPROCESSING`.

    Returns:
        The preprocessed ``float32`` array; ``pixels`` is not changed.

    Raises:
        InputDataError: Unknown mode, or ImageNet modes on images with 2 or 4 channels.
    """
    _check_mode(mode)
    x = np.array(pixels, dtype=np.float32)
    if mode == "none":
        return x
    if mode == "scale_0_1":
        return x / np.float32(255.0)
    if mode == "scale_-1_1":
        return x / np.float32(127.5) - np.float32(1.0)
    channels = x.shape[-1]
    if channels not in (1, 3):
        raise InputDataError(
            f"{PREPROCESSING[mode]} preprocessing needs RGB or grayscale images; "
            f"these have {channels} channels"
        )
    if mode == "caffe":
        mean = _CAFFE_MEAN_RGB[::-1] if channels == 3 else _CAFFE_MEAN_RGB.mean(keepdims=True)
        bgr = x[..., ::-1] if channels == 3 else x
        return bgr - mean
    mean, std = _TORCH_MEAN, _TORCH_STD
    if channels == 1:
        mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
    return (x / np.float32(255.0) - mean) / std


def _check_mode(mode: str) -> None:
    if mode not in PREPROCESSING:
        raise InputDataError(f"Unknown preprocessing {mode!r}; choose one of: {', '.join(PREPROCESSING)}")


# ---------------------------------------------------------------------------------------------
# Image files
# ---------------------------------------------------------------------------------------------

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_IMAGE_KINDS = "PNG, JPEG, BMP, GIF, TIFF, WebP"
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def find_images(paths: list[str | Path]) -> tuple[list[Path], list[str] | None]:
    """Lists the image files among files and folders the user chose.

    A folder whose sub-folders hold images is read as class folders, like
    ``keras.utils.image_dataset_from_directory``: the images anywhere under each sub-folder, in
    Keras' order (by class, then folder, then name), with the sub-folder name as class; images
    directly in the top folder are then ignored, as Keras does. Any other folder gives its own
    image files, sorted.
    Files given directly stay in the given order. Files without an image suffix are skipped.

    Args:
        paths: Files and/or folders.

    Returns:
        ``(files, classes)``: ``classes`` holds the class of each file when every file came
        from class folders, else ``None``.

    Raises:
        InputDataError: A path does not exist, or no image file was found.
    """
    files: list[Path] = []
    classes: list[str] = []
    all_classed = True
    empty_folders: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found, found_classes = _folder_images(path)
            if not found:
                empty_folders.append(path)
            files += found
            classes += found_classes or []
            all_classed = all_classed and (found_classes is not None or not found)
        elif path.exists():
            if _is_image_name(path):
                files.append(path)
                all_classed = False
        else:
            raise InputDataError(f"{path}: no such file or folder")
    if not files:
        raise InputDataError(_no_images_message(paths, empty_folders))
    return files, (classes if all_classed else None)


def _no_images_message(paths: list[str | Path], empty_folders: list[Path]) -> str:
    if not paths:
        return "No files or folders were chosen"
    if empty_folders:
        verb = "holds" if len(empty_folders) == 1 else "hold"
        return f"{', '.join(map(str, empty_folders))} {verb} no image files ({_IMAGE_KINDS})"
    return f"None of the chosen files is an image ({_IMAGE_KINDS})"


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _folder_images(folder: Path) -> tuple[list[Path], list[str] | None]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise InputDataError(f"{folder}: cannot be read ({exc.strerror or exc})") from exc
    files: list[Path] = []
    classes: list[str] = []
    for sub in (e for e in entries if e.is_dir() and not e.name.startswith(".")):
        found = sorted(
            (p for p in sub.rglob("*") if p.is_file() and _is_image_name(p)),
            key=lambda p: (p.parent.as_posix(), p.name),  # Keras' order: folder by folder
        )
        files += found
        classes += [sub.name] * len(found)
    if files:
        return files, classes
    return [p for p in entries if p.is_file() and _is_image_name(p)], None


class _Unreadable(Exception):
    """An image file that cannot be read; ``args[0]`` is the short reason."""


def read_image(path: str | Path, size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """Reads an image file as ``uint8`` pixels.

    Args:
        path: The image file.
        size: ``(height, width)`` to resize to (bilinear), or ``None`` to keep the file's size.
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA); the image is converted to it.

    Returns:
        ``uint8`` array ``(H, W, channels)``.

    Raises:
        InputDataError: ``"<file name>: <reason>"`` when the file cannot be read.
    """
    path = Path(path)
    try:
        return _load_image(path, size, channels)[0]
    except _Unreadable as exc:
        raise InputDataError(f"{path.name}: {exc.args[0]}") from exc


def _load_image(
    path: Path, size: tuple[int, int] | None, channels: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """Reads an image; returns its pixels and its size in the file as ``(height, width)``."""
    if channels not in _PIL_MODES:
        raise InputDataError(f"Images can have 1, 3 or 4 channels, not {channels}")
    try:
        with Image.open(path) as image:
            original = (image.height, image.width)
            image = _to_8bit(image).convert(_PIL_MODES[channels])
            if size is not None and (image.height, image.width) != tuple(size):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - image decoders raise many types
        raise _Unreadable(_read_failure(exc)) from exc
    return (pixels[..., None] if pixels.ndim == 2 else pixels), original


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit grayscale scaled to 8 bits (Pillow's own conversion would clip at 255)."""
    if image.mode.startswith("I;16") or image.mode == "I":
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "I" and values.max(initial=0) <= 255:
            return image.convert("L")
        return Image.fromarray(np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8), mode="L")
    return image


def _read_failure(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can read"
    if isinstance(exc, Image.DecompressionBombError):
        return "image too large to open safely"
    if "truncated" in str(exc):
        return "truncated file"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"damaged image ({text[:120]})"


def image_samples(
    paths: list[str | Path],
    spec: InputSpec,
    preprocessing: str = "none",
    progress: Callable[[int, int], None] | None = None,
) -> SampleSet:
    """Reads images for an image input.

    Images are resized to the input's height and width; when the model leaves them free, to
    the size of the first readable image. Unreadable files are skipped and listed.

    Args:
        paths: Image files and/or folders, see :func:`find_images`.
        spec: The image input.
        preprocessing: A key of :data:`PREPROCESSING`.
        progress: Called as ``progress(done, total)`` every few files and at the end.

    Returns:
        The samples, with the pixels before preprocessing in ``images``.

    Raises:
        InputDataError: The input takes no images, no image was found, or none could be read.
    """
    _check_mode(preprocessing)
    if spec.kind != "image":
        expected = shape_text(("N",) + spec.shape)
        raise InputDataError(f"Input '{spec.name}' takes {expected} arrays, not images")
    files, classes = find_images(paths)
    known = spec.shape[:2]
    size = known if None not in known else None
    pixels, names, kept_classes, skipped = [], [], [], []
    resized = 0
    step = max(1, len(files) // 50)
    for index, path in enumerate(files):
        try:
            image, original = _load_image(path, size, spec.shape[2])
            if size is None:  # the first readable image fixes the sizes the model leaves free
                size = (known[0] or original[0], known[1] or original[1])
                image = image if image.shape[:2] == size else _load_image(path, size, spec.shape[2])[0]
        except _Unreadable as exc:
            skipped.append((path.name, exc.args[0]))
        else:
            pixels.append(image)
            names.append(path.name)
            resized += original != tuple(size)
            if classes is not None:
                kept_classes.append(classes[index])
        if progress is not None and ((index + 1) % step == 0 or index + 1 == len(files)):
            progress(index + 1, len(files))
    if not pixels:
        name, reason = skipped[0]
        raise InputDataError(f"None of the {len(files)} image files could be read; {name}: {reason}")
    batch = np.stack(pixels)
    notes = []
    if resized:
        notes.append(f"{resized} of {len(pixels)} images resized to {size[0]}x{size[1]} (height x width)")
    return SampleSet(
        arrays={spec.name: preprocess(batch, preprocessing).astype(numpy_dtype(spec.dtype), copy=False)},
        names=names,
        classes=kept_classes if classes is not None else None,
        skipped=skipped,
        notes=notes,
        images={spec.name: batch},
    )


# ---------------------------------------------------------------------------------------------
# NumPy files
# ---------------------------------------------------------------------------------------------

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLED = "holds Python objects (pickled data), which are not loaded because unpickling can run code"


def array_samples(path: str | Path, specs: list[InputSpec]) -> SampleSet:
    """Reads samples for one or more inputs from a ``.npy`` or ``.npz`` file.

    A ``.npy`` file holds one array, for one input: the only spec, else the spec named like the
    file (``aux_input.npy``), else the only spec its shape fits. A ``.npz`` file's arrays are
    matched to the specs by input name; specs without a same-named array take the remaining
    arrays in file order. Each array must be ``(N, *spec.shape)`` (``None`` matches any size);
    an array of exactly ``spec.shape`` is one sample. Arrays are cast to the input's dtype
    (floats to integers only when they hold whole numbers).

    Args:
        path: The ``.npy`` or ``.npz`` file.
        specs: The inputs the file is meant for.

    Returns:
        The samples, named ``"row 0"``, ``"row 1"``, ...

    Raises:
        InputDataError: The file cannot be read, holds pickled objects, lacks an input, or an
            array's shape or values do not fit.
    """
    path = Path(path)
    if not specs:
        raise InputDataError(f"{path.name}: there is no model input to read it for")
    with open_numpy(path) as data:
        if isinstance(data, np.ndarray):
            spec = _spec_for_npy(path, data, specs)
            chosen = {spec.name: (spec, data, path.name)}
        else:
            chosen = {
                spec.name: (spec, _npz_array(path, data, key), f"{key} in {path.name}")
                for spec, key in _match_npz(path, list(data.files), specs).items()
            }
    parts = {}
    for name, (spec, array, source) in chosen.items():
        fitted = _fit_array(array, spec, source)
        parts[name] = SampleSet({name: fitted}, [f"row {i}" for i in range(len(fitted))])
    return combine([spec for spec, _, _ in chosen.values()], parts)


class _Opened:
    """``np.load``'s result as a context manager, whether it is an array or an ``NpzFile``."""

    def __init__(self, data):
        self.data = data

    def __enter__(self):
        return self.data

    def __exit__(self, *exc_info):
        if hasattr(self.data, "close"):
            self.data.close()


def open_numpy(path: Path) -> _Opened:
    """Opens a ``.npy`` (memory-mapped) or ``.npz`` file safely, as a context manager.

    Raises:
        InputDataError: The file cannot be read, is not NumPy's, holds pickled objects or is
            damaged.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
    except OSError as exc:
        raise InputDataError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if not magic.startswith((_NPY_MAGIC, _ZIP_MAGIC)):
        raise InputDataError(f"{path.name}: not a NumPy .npy or .npz file")
    try:
        # A .npy file is mapped, not read: inputs larger than memory are read batch by batch.
        return _Opened(np.load(path, allow_pickle=False, mmap_mode="r"))
    except ValueError as exc:
        if "pickle" in str(exc) or "Python objects" in str(exc):
            raise InputDataError(f"{path.name}: {_PICKLED}") from exc
        raise InputDataError(f"{path.name}: damaged NumPy file ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - zipfile, EOF and format errors
        raise InputDataError(f"{path.name}: damaged NumPy file ({exc})") from exc


def _npz_array(path: Path, data, key: str) -> np.ndarray:
    try:
        return data[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputDataError(f"{path.name}: '{key}' {_PICKLED}") from exc
        raise InputDataError(f"{path.name}: '{key}' cannot be read ({exc})") from exc
    except Exception as exc:  # noqa: BLE001
        raise InputDataError(f"{path.name}: '{key}' cannot be read ({exc})") from exc


def _spec_for_npy(path: Path, array: np.ndarray, specs: list[InputSpec]) -> InputSpec:
    if len(specs) == 1:
        return specs[0]
    named = [s for s in specs if s.name == path.stem]
    fitting = [s for s in specs if _batch_size(array.shape, s.shape) is not None]
    if named or len(fitting) == 1:
        return (named or fitting)[0]
    names = ", ".join(s.name for s in specs)
    raise InputDataError(f"{path.name} holds one array; choose which input it is for ({names})")


def _match_npz(path: Path, keys: list[str], specs: list[InputSpec]) -> dict[InputSpec, str]:
    matched = {spec: spec.name for spec in specs if spec.name in keys}
    rest = iter([key for key in keys if key not in matched.values()])
    for spec in specs:
        if spec not in matched:
            key = next(rest, None)
            if key is None:
                held = ", ".join(keys) or "no arrays"
                raise InputDataError(f"Input '{spec.name}' has no array in {path.name} (it holds {held})")
            matched[spec] = key
    return {spec: matched[spec] for spec in specs}


def _batch_size(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> int | None:
    """The number of samples in an array of ``shape`` for an input, or ``None`` if it does not fit."""

    def fits(dims):
        return len(dims) == len(expected) and all(e is None or e == d for d, e in zip(dims, expected))

    if len(shape) == len(expected) + 1 and fits(shape[1:]):
        return shape[0]
    if fits(shape):
        return 1
    return None


def _fit_array(array: np.ndarray, spec: InputSpec, source: str) -> np.ndarray:
    count = _batch_size(array.shape, spec.shape)
    if count is None:
        raise InputDataError(
            f"Input '{spec.name}' expects {shape_text(('N',) + spec.shape)}; "
            f"{source} holds {shape_text(array.shape)}"
        )
    if count == 0:
        raise InputDataError(f"{source} holds no samples for input '{spec.name}'")
    batch = array if array.ndim == len(spec.shape) + 1 else array[None]
    return _cast(batch, spec, source)


def _cast(batch: np.ndarray, spec: InputSpec, source: str) -> np.ndarray:
    if spec.dtype == "string":
        if batch.dtype.kind not in "US":
            raise InputDataError(f"Input '{spec.name}' expects text; {source} holds {batch.dtype} values")
        return batch.astype(object)
    if batch.dtype.kind not in "biuf":
        raise InputDataError(f"Input '{spec.name}' expects numbers; {source} holds {batch.dtype} values")
    target = numpy_dtype(spec.dtype)
    if target.kind in "iu" and batch.dtype.kind in "iuf" and batch.size:
        if batch.dtype.kind == "f" and not (np.isfinite(batch).all() and (batch == np.round(batch)).all()):
            raise InputDataError(
                f"Input '{spec.name}' expects whole numbers ({spec.dtype}); {source} holds fractions"
            )
        info = np.iinfo(target)
        if batch.min() < info.min or batch.max() > info.max:
            raise InputDataError(
                f"Input '{spec.name}' expects {spec.dtype} values; {source} holds values outside "
                f"{info.min}..{info.max}"
            )
    return batch.astype(target, copy=False)


# ---------------------------------------------------------------------------------------------
# Combining inputs
# ---------------------------------------------------------------------------------------------


def combine(specs: list[InputSpec], parts: dict[str, SampleSet]) -> SampleSet:
    """Merges per-input sample sets into one that feeds every input of the model.

    A part with a single sample is repeated to the others' count (one ``aux_input`` vector for
    ten images). Names and classes come from the first part with the full count, preferring one
    with images or text; skipped files and notes of all parts are kept.

    Args:
        specs: The model's inputs.
        parts: Sample sets by any label; each holds one or more inputs' arrays.

    Returns:
        One sample set with an array for every spec, in spec order.

    Raises:
        InputDataError: An input has no data, the parts' sample counts disagree, or a token id
            lies outside the range of the ``Embedding`` it goes into (:func:`token_id_problem`).
    """
    sources = {}
    for spec in specs:
        part = next((p for p in parts.values() if spec.name in p.arrays), None)
        if part is None:
            raise InputDataError(f"Input '{spec.name}' has no data")
        if len(part) == 0:
            raise InputDataError(f"Input '{spec.name}' has no samples")
        sources[spec.name] = part
    count = _common_count({name: len(part) for name, part in sources.items()})
    used = list({id(p): p for p in sources.values()}.values())
    lead = _lead_part(used, count)
    combined = SampleSet(
        arrays={},
        names=list(lead.names),
        classes=list(lead.classes) if lead.classes is not None else None,
    )
    for part in used:
        combined.skipped += part.skipped
        combined.notes += part.notes
    for spec in specs:
        part = sources[spec.name]
        problem = token_id_problem(part.arrays[spec.name], spec)
        if problem is not None:
            raise InputDataError(problem)
        combined.arrays[spec.name] = _repeat(part.arrays[spec.name], count)
        if spec.name in part.images:
            combined.images[spec.name] = _repeat(part.images[spec.name], count)
        if spec.name in part.tokens:
            rows = part.tokens[spec.name]
            combined.tokens[spec.name] = rows if len(rows) == count else [list(rows[0]) for _ in range(count)]
    return combined


def _common_count(counts: dict[str, int]) -> int:
    sizes = {n for n in counts.values() if n != 1}
    if len(sizes) > 1:
        listed = ", ".join(f"{name} {n}" for name, n in counts.items())
        raise InputDataError(f"Inputs have different sample counts: {listed}")
    return sizes.pop() if sizes else 1


def _lead_part(parts: list[SampleSet], count: int) -> SampleSet:
    full = [p for p in parts if len(p) == count]
    rich = [p for p in full if p.images or p.tokens or any(a.dtype == object for a in p.arrays.values())]
    return (rich or full)[0]


def _repeat(array: np.ndarray, count: int) -> np.ndarray:
    return np.repeat(array, count, axis=0) if len(array) == 1 and count > 1 else array


def typed_samples(text: str, spec: InputSpec) -> SampleSet:
    """One input typed by the user as comma- or space-separated numbers.

    Raises:
        InputDataError: When the text holds something else than numbers, or too few or too many.
    """
    try:
        values = np.array([float(v) for v in text.replace(",", " ").split()], dtype=np.float64)
    except ValueError:
        raise InputDataError(f"Input '{spec.name}': type numbers separated by commas, not {text!r}") from None
    expected = int(np.prod([d for d in spec.shape if d is not None]))
    if None not in spec.shape and values.size != expected:
        raise InputDataError(f"Input '{spec.name}' expects {expected} values {spec_shape_text(spec)}; {values.size} typed")
    shape = tuple(d if d is not None else -1 for d in spec.shape)
    array = values.reshape((1, *shape)).astype(spec.dtype if spec.dtype != "string" else "float32")
    return SampleSet(arrays={spec.name: array}, names=["typed values"])


def read_samples_job(specs: list, sources: dict) -> Generator[Progress, None, SampleSet]:
    """Reads the user's inputs (as the Activations view sends them) into one sample set.

    Args:
        specs: The model's inputs.
        sources: Per input name, a callable that reads that input's data.

    Raises:
        InputDataError: When the inputs cannot be read or do not fit the model.
    """
    parts = {}
    for name, source in sources.items():
        yield Progress(f"Reading the data for {name}…")
        parts[name] = source()
    return combine(specs, parts)
