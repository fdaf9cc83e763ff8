"""Quantized layers: what each holds against float32, quantizing a copy of a model, and comparing
the copy with the original on the user's inputs. No Qt in here.

Keras 3 facts this module relies on (checked on Keras 3.15 by ``tests/model/test_quantization.py``):

- ``model.quantize(mode, filters=...)`` quantizes, in place, every layer that implements it
  (Dense, EinsumDense, Embedding, and Conv for some modes) whose name the filters match; each
  such layer gets ``quantization_mode`` and a dtype policy named like ``"int8_from_float32"``.
- int8 stores the kernel as int8 with a float32 ``kernel_scale``; int4 packs two values per byte
  along the kernel's first axis; float8 keeps float8 kernels with scale and amax-history
  variables for inputs, kernel and gradients.
- A quantized model saves to ``.keras`` and loads back quantized.
"""

from __future__ import annotations

import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import numpy as np

from inspector.jobs import Progress
from inspector.model.model_info import QuantInfo

MODES = ("int8", "int4", "float8")
"""The quantization modes the window offers (Keras' ``gptq`` needs calibration data and a
tokenizer, and is left to scripts)."""
_ADDED = ("scale", "amax_history", "zero", "g_idx")
"""Variables whose names hold these are added by quantization and have no float32 counterpart."""


def quant_info(layer) -> QuantInfo | None:
    """How ``layer`` is quantized and what its own variables take against float32, or ``None``
    for a layer that is not quantized."""
    mode = getattr(layer, "quantization_mode", None)
    if not mode:
        return None
    stored = float32 = 0
    variables = []
    for variable in layer._trainable_variables + layer._non_trainable_variables:
        shape = tuple(int(d) for d in variable.shape)
        size = int(np.prod(shape)) if shape else 1
        stored += size * np.dtype(_numpy_dtype(variable.dtype)).itemsize
        variables.append(variable.path)
        if any(word in variable.name for word in _ADDED):
            continue
        packed = mode == "int4" and variable.dtype == "int8" and variable.name in ("kernel", "embeddings")
        float32 += (size * 2 if packed else size) * 4
    policy = getattr(layer.dtype_policy, "name", str(layer.dtype_policy))
    return QuantInfo(mode=str(mode), policy=policy, variables=tuple(variables), bytes=stored, float32_bytes=float32)


def _numpy_dtype(dtype: str) -> str:
    return {"float8_e4m3fn": "uint8", "float8_e5m2": "uint8", "bfloat16": "uint16"}.get(str(dtype), str(dtype))


def quantize_copy_job(model, folder: str | Path, mode: str, filters: str = "") -> Generator[Progress, None, Path]:
    """Quantizes a copy of ``model`` and saves it as ``<name>_<mode>.keras`` in ``folder``.

    The copy is the model saved and loaded again (so the original is untouched, nested models
    and shared layers included), then quantized in place.

    Args:
        model: The model.
        folder: Where the copy is saved (the window opens it in a new tab).
        mode: One of :data:`MODES`.
        filters: A regular expression; only layers whose name matches are quantized (empty:
            every layer Keras can quantize).

    Returns:
        The copy's file.

    Raises:
        ValueError: Nothing in the model can be quantized as asked; the message says why.
    """
    from inspector.model.saving import save_model
    from inspector.tfimport import keras

    if mode not in MODES:
        raise ValueError(f"unknown quantization mode {mode!r}; choose one of {', '.join(MODES)}")
    folder = Path(folder)
    yield Progress(f"Copying {model.name}…")
    original = save_model(model, folder / f".{model.name}_original.keras")
    copy = keras.saving.load_model(original, compile=False)
    original.unlink()
    yield Progress(f"Quantizing the copy to {mode}…")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have a `quantize` method")
        copy.quantize(mode, filters=filters or None)
    if not any(getattr(layer, "quantization_mode", None) for layer in _all_layers(copy)):
        which = f"whose name matches {filters!r}" if filters else "in it"
        raise ValueError(f"no layer {which} can be quantized to {mode} (Keras quantizes Dense, EinsumDense, Embedding and some Conv layers)")
    yield Progress("Saving the quantized copy…")
    return save_model(copy, folder / f"{model.name}_{mode}.keras")


def _all_layers(model) -> list:
    return model._flatten_layers(include_self=False)


@dataclass(frozen=True)
class OutputComparison:
    """How one output of the quantized copy differs from the original's.

    Attributes:
        name: The output's name.
        max_abs_diff: The largest absolute difference over the batch.
        top1_agreement: The fraction of samples whose top class is the same, for an output with
            more than one class (``None`` otherwise).
    """

    name: str
    max_abs_diff: float
    top1_agreement: float | None


@dataclass(frozen=True)
class Comparison:
    """The quantized copy against the original on one batch of the user's data.

    Attributes:
        samples: How many samples the batch had.
        bytes_original: The original's variables, in bytes.
        bytes_quantized: The copy's variables, in bytes.
        seconds_original: Median time of one forward pass of the batch through the original.
        seconds_quantized: The same for the copy.
        outputs: Per output.
    """

    samples: int
    bytes_original: int
    bytes_quantized: int
    seconds_original: float
    seconds_quantized: float
    outputs: tuple[OutputComparison, ...]


def compare(original, quantized, inputs: list[np.ndarray], repeats: int = 3) -> Comparison:
    """Runs both models on the same batch and compares their outputs, sizes and speeds.

    Args:
        original: The model.
        quantized: Its quantized copy (same inputs and outputs).
        inputs: One array per model input, in the model's input order.
        repeats: Timed passes per model (after one untimed warm-up pass); the median is kept.
    """
    results, seconds = [], []
    for model in (original, quantized):
        outputs = _predict(model, inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            _predict(model, inputs)
            times.append(time.perf_counter() - start)
        results.append(outputs)
        seconds.append(statistics.median(times))
    names = list(getattr(original, "output_names", None) or [f"output {i + 1}" for i in range(len(results[0]))])
    outputs = tuple(_compare_output(name, a, b) for name, a, b in zip(names, *results))
    return Comparison(
        samples=len(inputs[0]),
        bytes_original=_variable_bytes(original),
        bytes_quantized=_variable_bytes(quantized),
        seconds_original=seconds[0],
        seconds_quantized=seconds[1],
        outputs=outputs,
    )


def _predict(model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from inspector.tfimport import keras

    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(keras.ops.convert_to_numpy(output), dtype=np.float64) for output in outputs]


def _compare_output(name: str, a: np.ndarray, b: np.ndarray) -> OutputComparison:
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    top1 = None
    if a.ndim >= 2 and a.shape[-1] > 1:
        top1 = float(np.mean(np.argmax(a, axis=-1) == np.argmax(b, axis=-1)))
    return OutputComparison(name, diff, top1)


def _variable_bytes(model) -> int:
    return sum(int(np.prod(v.shape)) * np.dtype(_numpy_dtype(v.dtype)).itemsize for v in model.weights)
