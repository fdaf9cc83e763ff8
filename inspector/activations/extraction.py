"""Extracting what chosen layers compute for the user's inputs.

One extractor model, ``keras.Model(model.inputs, [outputs…])``, computes every chosen layer in
one pass per batch. A layer inside a nested model is reached by calling a small sub-model of
the nested graph on the tensors that feed the nested model, so it too is part of the same
extractor. The Keras mask that reaches each output (padding in sequences) is read in the same
compiled call.

Results go to memory, or, when they would be large, to one ``.npy`` file per layer opened as a
memory map, so memory use stays bounded whatever the number of inputs.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator

import numpy as np

from inspector.activations.channel_stats import ChannelStats, ChannelStatsAccumulator, channel_sums
from inspector.errors import InputDataError
from inspector.inputs.input_data import SampleSet, read_samples_job
from inspector.jobs import Progress
from inspector.memory import collection_paused, freeze_long_lived

MEMORY_FRACTION = 0.25
"""Results may use at most this part of the available memory before they go to disk."""

MEMORY_CAP = 2 << 30
"""Results above this many bytes go to disk whatever the available memory."""


@dataclass(frozen=True)
class Target:
    """One output of one layer call that can be extracted.

    Attributes:
        key: Unique key: the graph node id (see :class:`~inspector.model.model_info.GraphNode`), with
            ``":k"`` appended for output ``k`` of a layer that returns several tensors.
        node: The graph node id.
        output: Which output of the call.
        layer: Path of the layer (a key of :meth:`ModelInfo.layer_index`).
        class_name: The layer's class.
        shape: The output's shape without the batch axis (``None`` where it depends on input).
        activation: The layer's activation function, for saturation statistics.
        halves: Labels of the two halves of the last axis of a Bidirectional layer that
            concatenates its directions, else ``None``.
    """

    key: str
    node: str
    output: int
    layer: str
    class_name: str
    shape: tuple
    activation: str | None = None
    halves: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        """What the user sees: the layer path, and which output when there are several."""
        return self.key.replace("@", " call ")


def extraction_targets(model) -> list[Target]:
    """Every layer output the model's graph computes, in graph order, input layers excluded.

    Args:
        model: A functional or Sequential Keras model.

    Returns:
        The targets at every nesting level (a nested model's inner layers follow it).
    """
    from inspector.model.describe import inner_graph_model

    graph = inner_graph_model(model)
    return [] if graph is None else _targets(graph, "", "")


def _targets(graph, prefix: str, layer_prefix: str) -> list[Target]:
    from inspector.model.describe import graph_calls, inner_graph_model
    from inspector.tfimport import keras

    targets = []
    for op, node, node_id, _, _ in graph_calls(graph, prefix):
        if isinstance(op, keras.layers.InputLayer):
            continue
        outputs = keras.tree.flatten(node.outputs)
        for index, tensor in enumerate(outputs):
            targets.append(
                Target(
                    key=node_id + (f":{index}" if len(outputs) > 1 else ""),
                    node=node_id,
                    output=index,
                    layer=f"{layer_prefix}{op.name}",
                    class_name=type(op).__name__,
                    shape=tuple(tensor.shape[1:]),
                    activation=_activation_name(op),
                    halves=_halves(op),
                )
            )
        inner = inner_graph_model(op)
        if inner is not None:
            targets += _targets(inner, f"{node_id}/", f"{layer_prefix}{op.name}/")
    return targets


def _activation_name(layer) -> str | None:
    """The name of the function a layer ends with (``"relu"``, ``"tanh"``…), if any."""
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    if type(layer).__name__ in ("Bidirectional", "TimeDistributed") and inner is not None:
        return _activation_name(inner)
    if type(layer).__name__ == "ReLU":
        return "relu"
    function = getattr(layer, "activation", None)
    name = getattr(function, "__name__", None) if callable(function) else function
    return None if name in (None, "linear") else str(name)


def _halves(layer) -> tuple[str, str] | None:
    if type(layer).__name__ == "Bidirectional" and getattr(layer, "merge_mode", None) == "concat":
        return ("forward", "backward")
    return None


class Extractor:
    """A model that returns the chosen layer outputs, with a compiled step that runs it.

    Args:
        model: The Keras model.
        keys: Keys of the chosen :class:`Target` s.

    Raises:
        KeyError: A key that names no target of the model.
    """

    def __init__(self, model, keys: list[str]):
        from inspector.model.describe import inner_graph_model
        from inspector.tfimport import keras

        by_key = {target.key: target for target in extraction_targets(model)}
        missing = [key for key in keys if key not in by_key]
        if missing:
            raise KeyError(f"No layer output named {', '.join(missing)} in {model.name}")
        self.targets = [by_key[key] for key in keys]
        graph = inner_graph_model(model)
        tensors = _resolve(graph, sorted({t.node for t in self.targets}))
        outputs = [tensors[t.node][t.output] for t in self.targets]
        self.input_names = [tensor.name for tensor in graph.inputs]
        self.model = keras.Model(graph.inputs, outputs, name=f"{model.name}_extractor")
        self._step = None

    def output_shapes(self, samples: SampleSet) -> list[tuple[int, ...]]:
        """The shape of one sample's output of each target, for inputs shaped like ``samples``.

        Unlike :attr:`Target.shape`, every axis is known.
        """
        from inspector.tfimport import keras

        if all(d is not None for target in self.targets for d in target.shape):
            return [tuple(int(d) for d in target.shape) for target in self.targets]
        # Keras' shape inference runs through the graph in Python, holding the GIL for tens of
        # milliseconds at a time: only when an output's shape depends on the inputs.
        specs = [
            keras.KerasTensor((1,) + samples.arrays[name].shape[1:], dtype=_dtype(samples.arrays[name]))
            for name in self.input_names
        ]
        outputs = keras.tree.flatten(self.model.compute_output_spec(specs))
        return [tuple(int(d) for d in output.shape[1:]) for output in outputs]

    def run(self, batch: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray | None], list[tuple]]:
        """Computes the chosen outputs, the masks that reach them and their per-channel sums for
        one batch.

        Args:
            batch: One array per model input, in :attr:`input_names` order.

        Returns:
            The outputs; per output, its mask (``None`` for outputs without one); per output,
            the sums of :func:`~inspector.activations.channel_stats.channel_sums`.
        """
        if self._step is None:
            self._step = self._compile()
        outputs, masks, sums = self._step(batch)
        return (
            [np.asarray(output) for output in outputs],  # no copy: the arrays share the tensors' memory
            [None if mask is None else np.asarray(mask) for mask in masks],
            [tuple(np.asarray(value) for value in target_sums) for target_sums in sums],
        )

    @property
    def traced(self) -> bool:
        """Whether the compiled step exists (the first batch traces it)."""
        return self._step is not None

    def _compile(self):
        import tensorflow as tf
        from keras.src.backend import get_keras_mask

        model, activations = self.model, [target.activation for target in self.targets]

        @tf.function(reduce_retracing=True)
        def step(batch):
            outputs = model(batch, training=False)
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            masks = [get_keras_mask(output) for output in outputs]
            sums = [channel_sums(tf, o, m, a) for o, m, a in zip(outputs, masks, activations)]
            return outputs, masks, sums

        return step


def _resolve(graph, node_ids: list[str]) -> dict[str, list]:
    """The output tensors of graph nodes, as tensors of ``graph`` (whose inputs feed them).

    A node inside a nested model is computed by a sub-model of the nested graph, called on
    the tensors that feed the nested model; all nodes inside one nested call share one
    sub-model.
    """
    from inspector.model.describe import graph_calls, inner_graph_model
    from inspector.tfimport import keras

    calls = {node_id: (op, node) for op, node, node_id, _, _ in graph_calls(graph)}
    resolved, nested = {}, {}
    for node_id in node_ids:
        if node_id in calls:
            resolved[node_id] = keras.tree.flatten(calls[node_id][1].outputs)
            continue
        group = max((g for g in calls if node_id.startswith(g + "/")), key=len, default=None)
        if group is None or inner_graph_model(calls[group][0]) is None:
            raise KeyError(f"No layer call {node_id} in {graph.name}")
        nested.setdefault(group, []).append(node_id[len(group) + 1 :])
    for group, inner_ids in nested.items():
        op, node = calls[group]
        inner = inner_graph_model(op)
        inner_tensors = _resolve(inner, inner_ids)
        flat = [tensor for inner_id in inner_ids for tensor in inner_tensors[inner_id]]
        sub_model = keras.Model(inner.inputs, flat, name=f"{op.name}_part")
        computed = keras.tree.flatten(sub_model(list(node.input_tensors)))
        start = 0
        for inner_id in inner_ids:
            count = len(inner_tensors[inner_id])
            resolved[f"{group}/{inner_id}"] = computed[start : start + count]
            start += count
    return resolved


def _dtype(array: np.ndarray) -> str:
    return "string" if array.dtype.kind in "OUS" else str(array.dtype)


@dataclass
class ExtractionPlan:
    """How much a request produces and where its results go.

    Attributes:
        shapes: One sample's output shape per target.
        bytes_total: Size of all results.
        to_disk: Whether results are streamed to ``.npy`` files instead of kept in memory.
        folder: Where the files go when ``to_disk``.
        warning: Why the request may not fit (memory or disk), for the user to confirm; else
            ``None``.
    """

    shapes: list[tuple[int, ...]]
    bytes_total: int
    to_disk: bool
    folder: Path | None
    warning: str | None = None


def available_memory() -> int:
    """Bytes of memory the system can still give (Linux ``MemAvailable``, else free pages)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def plan_extraction(
    extractor: Extractor,
    samples: SampleSet,
    *,
    folder: str | Path | None = None,
    memory_limit: int | None = None,
) -> ExtractionPlan:
    """Works out the size of a request and whether its results go to disk.

    Args:
        extractor: The extractor for the chosen layers.
        samples: The inputs.
        folder: Where results that go to disk are written (a new folder inside the system's
            temporary folder by default).
        memory_limit: Bytes of results kept in memory at most (by default a quarter of the
            available memory, and never more than 2 GiB).

    Returns:
        The plan; its ``warning`` says when the request exceeds the free disk space.
    """
    shapes = extractor.output_shapes(samples)
    per_sample = sum(int(np.prod(shape)) * 4 for shape in shapes)
    total = per_sample * len(samples)
    available = available_memory()
    limit = memory_limit if memory_limit is not None else min(int(available * MEMORY_FRACTION), MEMORY_CAP)
    to_disk = total > limit
    root = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    warning = None
    if to_disk:
        free = shutil.disk_usage(_existing_parent(root)).free
        if total > free:
            warning = (
                f"The activations need {format_bytes(total)} ({format_bytes(per_sample)} per input) but "
                f"{_existing_parent(root)} has {format_bytes(free)} free. Choose fewer layers or inputs."
            )
    return ExtractionPlan(shapes, total, to_disk, root if to_disk else None, warning)


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def format_bytes(count: float) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


class BatchArrays:
    """One target's outputs for every input, kept as the batches the model returned.

    Copying each batch into one big array would cost as much as a tenth of the model's own time
    for large feature maps; the batches are joined only when the whole array is asked for
    (``numpy.asarray``, slicing), and one input is read from its batch.
    """

    def __init__(self):
        self._batches: list[np.ndarray] = []
        self._starts: list[int] = []
        self._count = 0
        self._joined: np.ndarray | None = None

    def append(self, batch: np.ndarray) -> None:
        """Adds the next batch (inputs along the first axis)."""
        self._starts.append(self._count)
        self._batches.append(batch)
        self._count += len(batch)
        self._joined = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the joined array."""
        return (self._count,) + tuple(self._batches[0].shape[1:]) if self._batches else (0,)

    @property
    def ndim(self) -> int:
        """The number of axes of the joined array."""
        return len(self.shape)

    @property
    def dtype(self):
        """The element type."""
        return self._batches[0].dtype if self._batches else np.dtype("float32")

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            if not -self._count <= index < self._count:
                raise IndexError(f"input {index} out of {self._count}")
            index %= self._count
            batch = int(np.searchsorted(self._starts, index, side="right")) - 1
            return self._batches[batch][index - self._starts[batch]]
        return np.asarray(self)[index]

    def __array__(self, dtype=None, copy=None):
        if self._joined is None:
            self._joined = self._batches[0] if len(self._batches) == 1 else np.concatenate(self._batches)
            self._batches, self._starts = [self._joined], [0]
        return self._joined if dtype is None else self._joined.astype(dtype)


@dataclass
class ExtractedOutputs:
    """What is known of an extraction besides the outputs themselves.

    Attributes:
        targets: The chosen layer outputs.
        samples: The inputs (names, classes, images and tokens for the views).
        masks: Per target key, the boolean mask over (sample, time) that reached the output,
            or ``None``.
        stats: Per target key, per-channel statistics over every sample (masked steps left out).
        folder: The folder holding the ``.npy`` files when results went to disk.
        complete: How many samples were extracted (fewer than ``len(samples)`` if cancelled).
    """

    targets: list[Target]
    samples: SampleSet
    masks: dict[str, np.ndarray | None] = field(default_factory=dict)
    stats: dict[str, ChannelStats | None] = field(default_factory=dict)
    folder: Path | None = None
    complete: int = 0

    def target(self, key: str) -> Target:
        """The target with ``key``."""
        return next(target for target in self.targets if target.key == key)

    def mask(self, key: str, index: int) -> np.ndarray | None:
        """One sample's mask of one target, or ``None``."""
        mask = self.masks.get(key)
        return None if mask is None else np.array(mask[index])


@dataclass
class Activations(ExtractedOutputs):
    """Extracted outputs of the chosen layers for a set of inputs.

    Attributes:
        values: Per target key, the outputs with the sample axis first: a memory map when the
            results went to disk, else :class:`BatchArrays` (``numpy.asarray`` joins them).
    """

    values: dict[str, np.ndarray] = field(default_factory=dict)

    def sample(self, key: str, index: int) -> np.ndarray:
        """One sample's output of one target, in memory."""
        return np.array(self.values[key][index])

    def close(self) -> None:
        """Drops the results and deletes their files, if they went to disk."""
        self.values.clear()
        self.masks.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def extract_job(
    extractor: Extractor,
    samples: SampleSet,
    plan: ExtractionPlan,
    batch_size: int = 32,
) -> Generator[Progress, None, Activations]:
    """Runs the extractor over the inputs in batches.

    Args:
        extractor: The extractor for the chosen layers.
        samples: The inputs.
        plan: From :func:`plan_extraction`; says whether results go to disk.
        batch_size: Inputs per model call.

    Returns:
        The activations, masks and per-channel statistics.

    Raises:
        InputDataError: When the model rejects the inputs; the message says why.
    """
    total = len(samples)
    result = Activations(extractor.targets, samples)
    if plan.to_disk:
        plan.folder.mkdir(parents=True, exist_ok=True)
        result.folder = Path(tempfile.mkdtemp(prefix="activations-", dir=plan.folder))
    accumulators = [ChannelStatsAccumulator(target.activation) for target in extractor.targets]
    arrays = [samples.arrays[name] for name in extractor.input_names]
    yield Progress(f"Extracting {len(extractor.targets)} layer outputs for {total} inputs…", 0.0)
    try:
        for start in range(0, total, batch_size):
            stop = min(start + batch_size, total)
            with collection_paused():
                traced = extractor.traced
                # A copy made by NumPy lets other threads run; TensorFlow would copy a slice of a
                # memory-mapped input while holding the GIL.
                batch = [np.array(array[start:stop]) if isinstance(array, np.memmap) else array[start:stop] for array in arrays]
                outputs, masks, sums = _run_batch(extractor, batch)
                if not traced:
                    freeze_long_lived()  # the compiled step lives as long as the extractor
                for target, accumulator, output, mask, target_sums in zip(
                    extractor.targets, accumulators, outputs, masks, sums
                ):
                    _store(result, target.key, output, mask, start, total)
                    accumulator.add(*target_sums)
            result.complete = stop
            yield Progress(f"Extracted {stop} of {total} inputs", stop / total)
    except BaseException:
        result.close()
        raise
    result.stats = {target.key: acc.result() for target, acc in zip(extractor.targets, accumulators)}
    for values in result.values.values():
        if isinstance(values, np.memmap):
            values.flush()
    return result


def _run_batch(extractor: Extractor, batch: list[np.ndarray]):
    try:
        return extractor.run(batch)
    except (ValueError, TypeError) as error:
        message = str(error).strip().splitlines()
        raise InputDataError(f"The model rejected the inputs: {message[0] if message else error}") from error
    except Exception as error:  # TensorFlow's InvalidArgumentError and its kin
        if type(error).__module__.startswith("tensorflow"):
            message = getattr(error, "message", str(error)).strip().splitlines()
            raise InputDataError(f"The model rejected the inputs: {message[0] if message else error}") from error
        raise


def _store(result: Activations, key: str, output, mask, start: int, total: int) -> None:
    """Keeps one batch of one target in memory, or writes it into its ``.npy`` memory map."""
    values = result.values.get(key)
    if values is None:
        if result.folder is not None:
            values = np.lib.format.open_memmap(
                result.folder / f"{_file_name(key)}.npy",
                mode="w+",
                dtype=output.dtype,
                shape=(total,) + tuple(output.shape[1:]),
            )
        else:
            values = BatchArrays()
        result.values[key] = values
        result.masks[key] = None if mask is None else np.zeros((total,) + mask.shape[1:], dtype=bool)
    if isinstance(values, BatchArrays):
        values.append(output)
    else:
        values[start : start + len(output)] = output
    if mask is not None and result.masks[key] is not None:
        result.masks[key][start : start + len(output)] = mask


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def export_npy(activations: Activations, key: str, path: str | Path) -> Path:
    """Saves one target's outputs (every sample) as a ``.npy`` file.

    Args:
        activations: Extracted activations.
        key: The target.
        path: The file to write.

    Returns:
        The written file.
    """
    path = Path(path)
    np.save(path, activations.values[key][: activations.complete])
    return path


def export_npz(activations: Activations, keys: list[str], path: str | Path) -> Path:
    """Saves several targets' outputs, their masks and the sample names in one ``.npz`` file.

    Arrays are named after the target keys with characters other than letters, digits,
    ``_``, ``.`` and ``-`` replaced by ``_``; a mask is ``<name>__mask``; the sample names are
    ``sample_names``.
    """
    path = Path(path)
    done = activations.complete
    arrays: dict[str, Any] = {"sample_names": np.array(activations.samples.names[:done])}
    for key in keys:
        arrays[_file_name(key)] = activations.values[key][:done]
        if activations.masks.get(key) is not None:
            arrays[f"{_file_name(key)}__mask"] = activations.masks[key][:done]
    np.savez(path, **arrays)
    return path


def embedding_vectors(activations: Activations, key: str, reduce: str = "flatten") -> np.ndarray:
    """One vector per input from a target's outputs, for an embedding plot.

    Args:
        activations: Extracted activations.
        key: The target.
        reduce: ``"flatten"`` keeps every value; ``"mean"`` averages over every axis but the
            last (global average pooling; masked time steps left out).

    Returns:
        A ``(samples, features)`` float32 array.
    """
    values = activations.values[key][: activations.complete]
    if reduce == "flatten":
        return np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    if reduce != "mean":
        raise ValueError(f"Unknown reduction {reduce!r}; use 'flatten' or 'mean'")
    values = np.asarray(values, dtype=np.float32)
    if values.ndim <= 2:
        return values.reshape(len(values), -1)
    mask = activations.masks.get(key)
    if mask is not None and mask.ndim == 2 and values.ndim == 3:
        weights = mask[: activations.complete].astype(np.float32)[..., None]
        return (values * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1)
    return values.reshape(len(values), -1, values.shape[-1]).mean(axis=1)


@dataclass
class ExtractionSetup:
    """What the activations panel needs to know about a model before the user picks inputs.

    Attributes:
        specs: The model's inputs.
        targets: Every layer output that can be extracted.
        vocabulary: The vocabulary of the model's TextVectorization layer, else the one saved
            beside the model's file, if any.
        notes: Remarks for the user, e.g. why the vocabulary file beside the model was not used.
    """

    specs: list
    targets: list[Target]
    vocabulary: Any = None
    notes: list[str] = field(default_factory=list)


def extraction_setup_job(model, file: str | Path | None = None) -> Generator[Progress, None, ExtractionSetup]:
    """Lists the model's inputs, its extractable layer outputs and its vocabulary.

    Args:
        model: The Keras model.
        file: The model's file; without a TextVectorization layer, a vocabulary file beside it
            (:func:`~inspector.inputs.sequences.vocabulary_beside`) gives the tokens.
    """
    from inspector.inputs.input_data import input_specs
    from inspector.inputs.sequences import Vocabulary, vocabulary_beside

    yield Progress("Listing the layer outputs…")
    setup = ExtractionSetup(input_specs(model), extraction_targets(model), Vocabulary.from_model(model))
    found = vocabulary_beside(file) if file is not None and setup.vocabulary is None else None
    if found is not None:
        try:
            setup.vocabulary = Vocabulary.from_file(found)
        except InputDataError as error:
            setup.notes.append(f"The vocabulary beside the model was not used: {error}.")
    return setup


@dataclass
class PreparedExtraction:
    """Inputs read and checked, the extractor built and the size of the results worked out."""

    samples: SampleSet
    extractor: Extractor
    plan: ExtractionPlan


def prepare_extraction_job(
    model,
    specs: list,
    sources: dict,
    keys: list[str],
    extractors: dict | None = None,
    *,
    folder: str | Path | None = None,
) -> Generator[Progress, None, PreparedExtraction]:
    """Reads the user's inputs, builds (or reuses) the extractor and plans the request.

    Args:
        model: The Keras model.
        specs: The model's inputs (:func:`inspector.inputs.input_data.input_specs`).
        sources: Per input name, a callable that reads that input's data and returns a
            :class:`~inspector.inputs.input_data.SampleSet` (one callable may cover several inputs).
        keys: The chosen targets.
        extractors: A cache of extractors by their keys, kept by the caller between requests.
        folder: Where results go when they are too big for memory.

    Returns:
        The inputs, the extractor and the plan.

    Raises:
        InputDataError: When the inputs cannot be read or do not fit the model.
    """
    samples = yield from read_samples_job(specs, sources)
    yield Progress(f"Building the extractor for {len(keys)} layer outputs…")
    cache = extractors if extractors is not None else {}
    extractor = cache.get(tuple(keys))
    if extractor is None:
        with collection_paused():
            extractor = cache[tuple(keys)] = Extractor(model, keys)
            freeze_long_lived()  # kept for later requests with the same layers
    try:
        plan = plan_extraction(extractor, samples, folder=folder)
    except (ValueError, TypeError) as error:
        raise InputDataError(f"The inputs do not fit the model: {str(error).strip().splitlines()[0]}") from error
    return PreparedExtraction(samples, extractor, plan)

