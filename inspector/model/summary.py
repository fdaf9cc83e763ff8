"""The JSON summary printed by ``main.py --summary``."""

from __future__ import annotations

from typing import Any

from inspector.model.model_info import LayerInfo, ModelInfo


def summary_dict(info: ModelInfo) -> dict[str, Any]:
    """Turns a model description into the summary's JSON-ready dictionary.

    Args:
        info: The description of a loaded model.

    Returns:
        A dictionary with ``file``, ``format``, ``inputs``, ``outputs``, ``params``, ``layers``
        and ``variables``.
    """
    return {
        "file": info.file,
        "format": info.format,
        "name": info.name,
        "class_name": info.class_name,
        "compiled": info.compiled,
        "notes": info.notes,
        "inputs": [{"name": t.name, "shape": t.shape, "dtype": t.dtype} for t in info.inputs],
        "outputs": [{"name": t.name, "shape": t.shape, "dtype": t.dtype} for t in info.outputs],
        "params": {
            "total": info.params.total,
            "trainable": info.params.trainable,
            "non_trainable": info.params.non_trainable,
        },
        "layers": [_layer_dict(layer) for layer in info.layers],
        "variables": [
            {"path": v.path, "shape": list(v.shape), "dtype": v.dtype, "trainable": v.trainable}
            for v in info.variables
        ],
    }


def _layer_dict(layer: LayerInfo) -> dict[str, Any]:
    entry = {
        "name": layer.name,
        "class_name": layer.class_name,
        "inbound": layer.inbound,
        "output_shape": layer.output_shapes[0] if len(layer.output_shapes) == 1 else layer.output_shapes,
        "params": layer.params,
        "trainable_params": layer.trainable_params,
        "trainable": layer.trainable,
    }
    if layer.kind == "model":
        entry["layers"] = [_layer_dict(child) for child in layer.children]
    return entry
