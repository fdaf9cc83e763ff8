"""The trainable state of a model as plain data: what the window shows after every edit.

The kernel computes it (:func:`inspector.kernel.session.trainable_state`) from the live model
and its editor; the window applies it to its copy of the description with :func:`apply_state`.
No Keras here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from inspector.model.model_info import ModelInfo, ParamCounts


@dataclass(frozen=True)
class EditorState:
    """What the Edit menu and the title bar need to know about the undo history.

    Attributes:
        can_undo: There is a change to undo.
        can_redo: There is an undone change to redo.
        undo_description: The change that Undo would undo.
        redo_description: The change that Redo would redo.
        modified: The flags differ from the last save (or the file).
        needs_recompile: The flags differ from the last compile.
    """

    can_undo: bool = False
    can_redo: bool = False
    undo_description: str | None = None
    redo_description: str | None = None
    modified: bool = False
    needs_recompile: bool = False


@dataclass(frozen=True)
class TrainableState:
    """Every trainable flag and count after an edit, with the undo history.

    Attributes:
        layers: By layer path: ``(trainable, trainable_params, non_trainable_params)``.
        variables: Each variable's trainable flag, in ``model.weights`` order.
        params: The model's totals.
        warnings: BatchNormalization warnings by layer path.
        editor: The undo history and the modified / needs-recompile flags.
        change: What the edit did (``"Freeze dense_1"``), or ``None`` when nothing changed.
        info: A new description when the edit changed the model's variables (LoRA adapters
            added or removed), else ``None``.
    """

    layers: dict[str, tuple[bool, int, int]]
    variables: tuple[bool, ...]
    params: ParamCounts
    warnings: dict[str, str]
    editor: EditorState
    change: str | None = None
    info: ModelInfo | None = None


def lora_params(info: ModelInfo, trainable_only: bool = True) -> int:
    """How many (trainable) parameters are in LoRA matrices."""
    return sum(
        v.size for v in info.variables if (v.trainable or not trainable_only) and v.path.rpartition("/")[2].startswith("lora_")
    )


def apply_state(info: ModelInfo, state: TrainableState) -> None:
    """Updates a description in place to a :class:`TrainableState`.

    Args:
        info: The window's description of the model.
        state: The state the kernel reported.
    """
    for path, layer in info.layer_index().items():
        flags = state.layers.get(path)
        if flags is None:
            continue
        layer.trainable, layer.trainable_params, layer.non_trainable_params = flags
        if "trainable" in layer.config:
            layer.config["trainable"] = layer.trainable
    info.variables = [dataclasses.replace(v, trainable=flag) for v, flag in zip(info.variables, state.variables)]
    info.params = state.params
