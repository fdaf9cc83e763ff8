"""LoRA adapters on a live model: which layers can take one, adding and removing them, and their
weights on their own. No Qt in here.

Keras 3 facts this module relies on (checked on Keras 3.15 by ``tests/model/test_lora.py``):

- ``enable_lora(rank, lora_alpha)`` exists on Dense, EinsumDense, Embedding and the Conv layers
  of a built model. It adds two float32 matrices (``lora_kernel_a`` / ``_b``, or
  ``lora_embeddings_a`` / ``_b`` for Embedding), freezes the kernel (or embeddings) variable
  and leaves the bias trainable. It can run once per layer and Keras has no way back.
- Keras merges the matrices into the kernel when it saves the model, writes ``lora_rank`` into
  the layer's configuration, and sets the matrices to zero when it loads the file again.

Removing an adapter (for undo) untracks its two variables the way ``del layer.attr`` does in
Keras, gives the base variable back its trainable flag and clears ``lora_enabled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LORA_CLASSES = ("Dense", "EinsumDense", "Embedding", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
"""Keras layer classes that take a LoRA adapter (and their subclasses do too)."""
LORA_SUFFIX = ".lora.h5"
"""How a file of LoRA weights on their own is named (KerasHub asks for it)."""


class LoraError(Exception):
    """LoRA cannot be added or loaded as asked; the message says why in one sentence."""


@dataclass(frozen=True)
class Adapter:
    """One layer's LoRA adapter as the editor records it, to remove and add it again.

    Attributes:
        path: The layer's path.
        rank: The rank of the two matrices.
        alpha: The scale numerator.
        base_trainable: The base variable's trainable flag before the adapter froze it.
        values: The two matrices' values when the adapter was removed (for redo), else ``None``.
    """

    path: str
    rank: int
    alpha: float
    base_trainable: bool = True
    values: tuple[np.ndarray, np.ndarray] | None = None


def _base_name(layer) -> str:
    """What LoRA adapts in ``layer``: its ``embeddings`` (Embedding) or its ``kernel``."""
    return "embeddings" if hasattr(layer, "_embeddings") else "kernel"


def matrix_names(layer) -> tuple[str, str]:
    """The attribute names of a layer's two LoRA matrices."""
    base = _base_name(layer)
    return f"lora_{base}_a", f"lora_{base}_b"


def base_variable(layer):
    """The variable a LoRA adapter adapts: the layer's kernel or embeddings."""
    return getattr(layer, f"_{_base_name(layer)}")


def why_not(layer) -> str | None:
    """Why ``layer`` cannot take a LoRA adapter now, or ``None`` when it can."""
    if not callable(getattr(layer, "enable_lora", None)):
        return f"{layer.name} is a {type(layer).__name__}; LoRA goes on Dense, EinsumDense, Embedding and Conv layers"
    if getattr(layer, "lora_enabled", False):
        return f"{layer.name} already has LoRA"
    if not layer.built:
        return f"{layer.name} is not built"
    if getattr(layer, "kernel_constraint", None) is not None:
        return f"{layer.name} has a kernel constraint, which LoRA cannot keep"
    if getattr(layer, "quantization_mode", None) == "gptq":
        return f"{layer.name} is GPTQ-quantized, which LoRA does not support"
    return None


def attach(layer, adapter: Adapter) -> None:
    """Adds ``adapter`` to ``layer`` (with its saved values, when it has them).

    Raises:
        LoraError: The layer cannot take it.
    """
    problem = why_not(layer)
    if problem is not None:
        raise LoraError(problem)
    layer.enable_lora(adapter.rank, lora_alpha=adapter.alpha)
    if adapter.values is not None:
        for name, value in zip(matrix_names(layer), adapter.values):
            getattr(layer, name).assign(value)


def detach(layer, adapter: Adapter) -> Adapter:
    """Removes ``layer``'s LoRA adapter, as if ``enable_lora`` had never run.

    Returns:
        ``adapter`` with the matrices' values, to attach it again as it was.
    """
    names = matrix_names(layer)
    values = tuple(np.array(getattr(layer, name).numpy()) for name in names)
    layer._tracker.unlock()
    for name in names:
        delattr(layer, name)  # Keras untracks a variable attribute when it is deleted
    base_variable(layer).trainable = adapter.base_trainable
    layer._tracker.lock()
    layer.lora_enabled = False
    layer.lora_rank = None
    layer.lora_alpha = None
    return Adapter(adapter.path, adapter.rank, adapter.alpha, adapter.base_trainable, values)


@dataclass(frozen=True)
class LoraSaved:
    """What :func:`save_lora_weights` wrote.

    Attributes:
        count: How many layers' adapters.
        keras_hub: Whether it is KerasHub's file (``Backbone.load_lora_weights`` reads it), not
            the app's own (by layer path, with each adapter's rank and alpha).
    """

    count: int
    keras_hub: bool

    def text(self, file: str | Path) -> str:
        """One sentence for the status line."""
        layers = f"{self.count} layer{'s' if self.count != 1 else ''}"
        if self.keras_hub:
            return f"Saved the LoRA weights of {layers} to {file} in KerasHub's format (backbone.load_lora_weights reads it)"
        return f"Saved the LoRA weights of {layers} to {file}"


def keras_hub_backbone(model):
    """The KerasHub ``Backbone`` that ``model`` is or holds (a task's backbone), or ``None``."""
    for layer in (model, *model._flatten_layers(include_self=False)):
        if any(cls.__name__ == "Backbone" and cls.__module__.startswith("keras_hub") for cls in type(layer).__mro__):
            return layer
    return None


def _numbered_layers(backbone) -> list:
    """How KerasHub's LoRA files number a backbone's layers: those with weights, in
    ``_flatten_layers`` order (``Backbone.save_lora_weights``)."""
    return [layer for layer in backbone._flatten_layers(include_self=False) if layer.weights]


def _keras_hub_numbers(backbone, adapted: dict[str, object]) -> tuple[int, list[int]] | None:
    """The rank and KerasHub's numbers of the adapted layers, when KerasHub's file can hold
    them: all in ``backbone``, adapters on kernels, one rank, and alpha equal to the rank (the
    file holds no alpha, and KerasHub's ``enable_lora`` takes the rank for it)."""
    number = {id(layer): index for index, layer in enumerate(_numbered_layers(backbone))}
    ranks = {int(layer.lora_rank) for layer in adapted.values()}
    fits = len(ranks) == 1 and all(
        id(layer) in number and hasattr(layer, "lora_kernel_a") and float(layer.lora_alpha) == float(layer.lora_rank)
        for layer in adapted.values()
    )
    return (ranks.pop(), sorted(number[id(layer)] for layer in adapted.values())) if fits else None


def save_lora_weights(layers: dict[str, object], path: str | Path, model=None) -> LoraSaved:
    """Writes the LoRA matrices of ``layers`` (by path) to an HDF5 file.

    When ``model`` is or holds a KerasHub backbone whose adapters KerasHub's file can hold
    (see :func:`_keras_hub_numbers`) and ``path`` ends in :data:`LORA_SUFFIX`, the backbone's
    own ``save_lora_weights`` writes it, so ``backbone.load_lora_weights`` reads it in a script;
    otherwise the file is the app's: each layer's matrices by path, with its rank and alpha.

    Raises:
        LoraError: No layer has LoRA.
    """
    import h5py

    adapted = {name: layer for name, layer in layers.items() if getattr(layer, "lora_enabled", False)}
    if not adapted:
        raise LoraError("no layer has LoRA: enable LoRA on some layers first")
    backbone = keras_hub_backbone(model) if model is not None else None
    numbers = _keras_hub_numbers(backbone, adapted) if backbone is not None else None
    if numbers is not None and str(path).endswith(LORA_SUFFIX):
        _save_with_keras_hub(backbone, *numbers, path)
        return LoraSaved(len(adapted), keras_hub=True)
    with h5py.File(path, "w") as handle:
        group = handle.create_group("lora_adapters")
        for layer_path, layer in adapted.items():
            entry = group.create_group(layer_path.replace("/", "\\"))
            entry.attrs["path"] = layer_path
            entry.attrs["rank"] = int(layer.lora_rank)
            entry.attrs["alpha"] = float(layer.lora_alpha)
            for name in matrix_names(layer):
                entry[name] = np.asarray(getattr(layer, name).numpy())
    return LoraSaved(len(adapted), keras_hub=False)


_KERAS_HUB_STATE = ("_lora_enabled_layers", "_lora_rank")


def _save_with_keras_hub(backbone, rank: int, numbers: list[int], path: str | Path) -> None:
    """``backbone.save_lora_weights(path)``, told which layers carry adapters: KerasHub knows
    only those its own ``enable_lora`` added, and the window adds them layer by layer."""
    before = {name: getattr(backbone, name) for name in _KERAS_HUB_STATE if hasattr(backbone, name)}
    backbone._lora_enabled_layers, backbone._lora_rank = list(numbers), rank
    try:
        backbone.save_lora_weights(str(path))
    finally:
        for name in _KERAS_HUB_STATE:
            if name in before:
                setattr(backbone, name, before[name])
            else:
                delattr(backbone, name)


def read_lora_weights(path: str | Path, model=None, path_of=None) -> list[Adapter]:
    """The adapters in a file written by :func:`save_lora_weights`: the app's, or KerasHub's
    (``Backbone.save_lora_weights``), which numbers the layers of ``model``'s backbone.

    Args:
        path: The file.
        model: The model the weights are for (needed for KerasHub's files).
        path_of: Gives a layer's path in ``model`` (needed for KerasHub's files).

    Raises:
        LoraError: The file is not such a file, or is KerasHub's and does not fit ``model``.
    """
    import h5py

    name = Path(path).name
    try:
        with h5py.File(path, "r") as handle:
            if isinstance(handle.get("lora/vars/rank"), h5py.Dataset):
                return _read_keras_hub(handle, name, model, path_of)
            group = handle.get("lora_adapters")
            if not isinstance(group, h5py.Group):
                raise LoraError(f"{name} holds no LoRA weights written by this app or by KerasHub")
            adapters = []
            for entry in group.values():
                a, b = (np.asarray(entry[key]) for key in sorted(entry.keys()))
                adapters.append(Adapter(str(entry.attrs["path"]), int(entry.attrs["rank"]), float(entry.attrs["alpha"]), values=(a, b)))
    except (OSError, KeyError, ValueError) as exc:
        raise LoraError(f"{name} cannot be read as LoRA weights ({exc})") from None
    return adapters


def _read_keras_hub(handle, name: str, model, path_of) -> list[Adapter]:
    """The adapters of KerasHub's file ``handle``: ``lora/vars/rank`` and, per numbered layer,
    ``lora/N/vars/lora_kernel_a`` and ``_b`` (alpha is the rank, as KerasHub's ``enable_lora``
    takes it)."""
    backbone = keras_hub_backbone(model) if model is not None else None
    if backbone is None:
        raise LoraError(f"{name} holds KerasHub LoRA weights, which are for a KerasHub backbone, and this model has none")
    rank = int(handle["lora/vars/rank"][()])
    numbered = _numbered_layers(backbone)
    adapters = []
    for key in sorted((key for key in handle["lora"] if key.isdigit()), key=int):
        if int(key) >= len(numbered) or not hasattr(numbered[int(key)], "enable_lora"):
            raise LoraError(
                f"{name} holds LoRA weights for layer number {key} of a KerasHub backbone, and in "
                f"{backbone.name} that number is not a layer that takes LoRA"
            )
        matrices = handle[f"lora/{key}/vars"]
        values = (np.asarray(matrices["lora_kernel_a"]), np.asarray(matrices["lora_kernel_b"]))
        adapters.append(Adapter(path_of(numbered[int(key)]), rank, float(rank), values=values))
    return adapters


def check_fits(layer, adapter: Adapter) -> None:
    """Raises :class:`LoraError` unless ``adapter``'s saved matrices fit ``layer``'s adapter."""
    names = matrix_names(layer)
    for name, value in zip(names, adapter.values or ()):
        expected = tuple(getattr(layer, name).shape)
        if tuple(value.shape) != expected:
            raise LoraError(
                f"the file's {adapter.path}/{name} has shape {tuple(value.shape)} and the model's has {expected}"
            )
