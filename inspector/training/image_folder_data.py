"""Training data from image class folders: one sub-folder of images per class.

:func:`image_folder_data` reads the images per batch (resized, augmented, preprocessed) for
``model.fit``; :func:`sample_images` reads the first few for a preview.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

from inspector.errors import InputDataError, TrainingDataError
from inspector.inputs.input_data import (
    InputSpec,
    _check_mode,
    _is_image_name,
    find_images,
    input_specs,
    numpy_dtype,
    preprocess,
    read_image,
    shape_text,
)
from inspector.training.augmentation import AugmentationSettings, apply_augmentation, build_augmentation
from inspector.training.training_data import (
    Order,
    Reader,
    Tracker,
    TrainingData,
    batches,
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


class _ImageReader(Reader):
    def __init__(self, files, labels, names, order, spec, size, preprocessing, tracker, pipeline=None, rescale=None):
        self.files, self.labels, self.names, self.order = files, labels, names, order
        self.spec, self.size, self.preprocessing, self.tracker = spec, size, preprocessing, tracker
        self.pipeline, self.rescale = pipeline, rescale
        self.dtype = numpy_dtype(spec.dtype)

    def _load(self, j: int) -> np.ndarray:
        return read_image(self.files[j], self.size, self.spec.shape[2])

    def batch(self, index: int) -> tuple:
        pixels, labels = [], []
        for i in self.order.batch(index):
            used, image = read_or_replace(int(i), self.names, self._load, self.tracker, "images")
            pixels.append(image)
            labels.append(self.labels[used])
        x = apply_augmentation(self.pipeline, np.stack(pixels)) if self.pipeline is not None else np.stack(pixels)
        x = preprocess(x, self.preprocessing)
        if self.rescale is not None:
            x *= np.float32(self.rescale)
        return x.astype(self.dtype, copy=False), np.asarray(labels, dtype=np.int32)


def image_folder_data(
    folder: str | Path,
    model,
    *,
    validation_split: float = 0.2,
    validation_folder: str | Path | None = None,
    batch_size: int = 32,
    preprocessing: str = "none",
    augmentation: AugmentationSettings | None = None,
    seed: int = 0,
    input_name: str | None = None,
    output_name: str | None = None,
) -> TrainingData:
    """Training batches from a folder with one sub-folder of images per class.

    Classes are the sub-folder names in Keras' order (sorted), labels their indices (``int32``),
    as ``keras.utils.image_dataset_from_directory`` gives them. Images are read per batch with
    :func:`~inspector.inputs.input_data.read_image`, resized to the model's image input, augmented
    (training batches only, on the 0-255 pixels), preprocessed, then rescaled (training and
    validation) when the augmentation settings hold a rescale. Unreadable images are recorded
    in ``skipped`` when met and replaced by the next readable one. Training batches are
    reshuffled every epoch.

    Args:
        folder: The folder of class sub-folders.
        model: The Keras model; it must take one image input and give one output.
        validation_split: Fraction of each class kept for validation (stratified, seeded).
        validation_folder: A separate folder of the same classes for validation; the split is
            then not used.
        batch_size: Images per batch.
        preprocessing: A key of :data:`~inspector.inputs.input_data.PREPROCESSING`.
        augmentation: Random changes for training images, or ``None``.
        seed: Seeds the split, the shuffling and the augmentation.
        input_name: The image input, when the model has several inputs.
        output_name: The output the classes are for, when the model has several.

    Returns:
        The data; ``class_weight`` holds balanced weights from the training counts.

    Raises:
        TrainingDataError: No images, a single class, a split that leaves a class without
            images, a model without an image input or with other inputs or outputs, more
            classes than the output has units.
    """
    folder = Path(folder)
    converted(_check_mode, preprocessing)
    check_split(validation_split)
    spec = _image_input(model, input_name)
    output = single_output(model, output_name, str(folder), "use an .npz with all outputs or your own generator")
    files, labels, class_names = _class_folder(folder)
    notes = check_classes(output, class_names, str(folder))
    if validation_folder is not None:
        train_idx = np.arange(len(files))
        v_files, v_labels = _validation_folder(Path(validation_folder), class_names, notes)
    else:
        train_idx, val_idx = split_by_class(labels, validation_split, seed, class_names, str(folder))
        v_files, v_labels = None, None
    skipped: list[tuple[str, str]] = []
    tracker = Tracker(skipped)
    size = _image_size(files, spec, folder, tracker)
    settings = augmentation or AugmentationSettings()
    rescale = settings.rescale
    pipeline = build_augmentation(settings.without_rescale(), seed=seed) if settings.random else None
    names = [relative(f, folder) for f in files]
    common = dict(spec=spec, size=size, preprocessing=preprocessing, tracker=tracker, rescale=rescale)
    train = batches(
        _ImageReader(files, labels, names, Order(train_idx, batch_size, seed, True), pipeline=pipeline, **common),
        tracker,
    )
    if v_files is not None:
        v_names = [relative(f, Path(validation_folder).parent) for f in v_files]
        v_reader = _ImageReader(v_files, v_labels, v_names, Order(np.arange(len(v_files)), batch_size, seed, False), **common)
        n_val = len(v_files)
    else:
        v_reader = _ImageReader(files, labels, names, Order(val_idx, batch_size, seed, False), **common) if len(val_idx) else None
        n_val = len(val_idx)
    counts = dict(Counter(labels[train_idx].tolist()))
    notes += class_notes(counts, class_names)
    if settings.random:
        notes.append(f"Training images are augmented: {settings.without_rescale().describe()}")
    if rescale is not None:
        notes.append(f"Training and validation images are rescaled ×{rescale:.4g} after preprocessing")
    if size != spec.shape[:2]:
        notes.append(f"Images are resized to {size[0]}x{size[1]} (height x width), the size of the first one")
    return TrainingData(
        train=train,
        validation=batches(v_reader, tracker) if v_reader is not None else None,
        class_names=class_names,
        class_weight=class_weights(counts),
        description=split_description(len(train_idx), n_val, "image", len(class_names)),
        skipped=skipped,
        notes=notes,
        preprocessing=preprocessing,
        _tracker=tracker,
    )


def _image_input(model, input_name: str | None) -> InputSpec:
    specs = input_specs(model)
    images = [s for s in specs if s.kind == "image"]
    if input_name is not None:
        images = [s for s in specs if s.name == input_name]
        if not images:
            raise TrainingDataError(f"The model has no input '{input_name}'")
        if images[0].kind != "image":
            raise TrainingDataError(
                f"Input '{input_name}' takes {shape_text(('N',) + images[0].shape)} arrays, not images"
            )
    if not images:
        raise TrainingDataError(
            f"This model has no image input (its inputs: {listed_inputs(specs)}): use arrays or your own generator"
        )
    return only_input(specs, images[0])


def _class_folder(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    files, classes = converted(find_images, [folder])
    if classes is None:
        raise TrainingDataError(
            f"{folder} holds images but no class sub-folders: put each class's images in its own sub-folder"
        )
    class_names = sorted(set(classes))
    if len(class_names) < 2:
        raise TrainingDataError(
            f"{folder} has a single class ('{class_names[0]}'): training a classifier needs at least two classes"
        )
    index = {name: i for i, name in enumerate(class_names)}
    return files, np.array([index[c] for c in classes], dtype=np.int32), class_names


def _validation_folder(folder: Path, class_names: list[str], notes: list[str]) -> tuple[list[Path], np.ndarray]:
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    files, classes = converted(find_images, [folder])
    if classes is None:
        raise TrainingDataError(f"{folder}: the validation folder needs the same class sub-folders as the training folder")
    unknown = sorted(set(classes) - set(class_names))
    if unknown:
        raise TrainingDataError(f"{folder}: validation class '{unknown[0]}' is not among the training classes")
    missing = [name for name in class_names if name not in set(classes)]
    if missing:
        notes.append(f"The validation folder has no images of {', '.join(repr(m) for m in missing)}")
    index = {name: i for i, name in enumerate(class_names)}
    return files, np.array([index[c] for c in classes], dtype=np.int32)


def _image_size(files: list[Path], spec: InputSpec, folder: Path, tracker: Tracker) -> tuple[int, int]:
    """The model's image size, or (for free sizes) the first readable image's."""
    known = spec.shape[:2]
    if None not in known:
        return known
    names = [relative(f, folder) for f in files]
    _, pixels = read_or_replace(0, names, lambda j: read_image(files[j], None, spec.shape[2]), tracker, "images")
    return (known[0] or pixels.shape[0], known[1] or pixels.shape[1])


def sample_images(folder: str | Path, spec: InputSpec, count: int = 4) -> np.ndarray:
    """The first image of each of the first class sub-folders, for a preview; quick on any folder.

    Only the first few files are listed and read, never the whole folder.

    Args:
        folder: A folder of class sub-folders (or of images).
        spec: The image input the images are for (size and channels).
        count: How many images at most.

    Returns:
        ``uint8`` ``(n, H, W, C)`` pixels, ``n <= count``.

    Raises:
        TrainingDataError: The folder is missing or none of the first images can be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: no such folder")
    size = spec.shape[:2] if None not in spec.shape[:2] else None
    pixels, failures = [], []
    for path in itertools.islice(_first_images(folder), 4 * count):
        try:
            image = read_image(path, size, spec.shape[2])
        except InputDataError as exc:
            failures.append(str(exc))
            continue
        size = size or image.shape[:2]
        pixels.append(image)
        if len(pixels) == count:
            break
    if not pixels:
        reason = f": {failures[0]}" if failures else ""
        raise TrainingDataError(f"{folder}: no readable images among the first files{reason}")
    return np.stack(pixels)


def _first_images(folder: Path) -> Iterator[Path]:
    """Image files, taking the first of each class sub-folder in turn, then the folder's own."""
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    per_class = [_images_in(sub) for sub in subs]
    for round_ in itertools.zip_longest(*per_class):
        yield from (p for p in round_ if p is not None)
    yield from _images_in(folder, recursive=False)


def _images_in(folder: Path, recursive: bool = True) -> Iterator[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and _is_image_name(p))
    yield from files
    if recursive and not files:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            yield from _images_in(sub)
