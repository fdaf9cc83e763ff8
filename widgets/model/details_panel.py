"""The details panel: everything about the selected layer."""

from __future__ import annotations

import html
import json
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from inspector.model.model_info import LayerInfo, LoraInfo, ModelInfo
from inspector.model.trainable_state import lora_params
from widgets.common.formatting import count, frozen_state

STYLE = """
<style>
 h2 { margin: 0 0 2px 0; }
 .cls { color: #555; }
 table { border-collapse: collapse; }
 td, th { padding: 1px 8px 1px 0; vertical-align: top; }
 th { text-align: left; color: #444; }
 .frozen { color: #2f5f8a; font-weight: bold; }
 .trainable { color: #2d7a3a; font-weight: bold; }
 pre { background: #f4f4f4; }
 .warning { color: #a93226; background: #fbeeee; padding: 4px; }
 .note { color: #1d4f73; background: #eef4fa; padding: 4px; }
</style>
"""
FORMAT_NAMES = {"keras": "Keras 3 archive (.keras)", "h5": "legacy HDF5 (.h5)"}
NOT_SAVED = "not saved yet (built in this session; File ▸ Save As writes it)"


class DetailsPanel(QTextBrowser):
    """Shows class, configuration, shapes, dtype policy, training state, counts and variables of
    one layer, with a link to freeze or unfreeze it.

    Signals:
        trainable_requested(str, bool): The user clicked Freeze (False) or Unfreeze (True) for
            the layer with this path.
    """

    trainable_requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("detailsPanel")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._link_clicked)
        self._info: ModelInfo | None = None
        self._layers: dict[str, LayerInfo] = {}
        self._warnings: dict[str, str] = {}
        self.layer: LayerInfo | None = None
        self.needs_recompile = False
        self.value_text: Callable[[str], str] | None = None  # the graph's colouring value of a layer

    def set_model(self, info: ModelInfo) -> None:
        """Uses ``info`` for later selections and shows the model overview."""
        self._info = info
        self._layers = info.layer_index()
        self.layer = None
        self.setHtml(STYLE + self._model_html(info))

    def set_warnings(self, warnings: dict[str, str]) -> None:
        """Warnings to show for layers (BatchNormalization pitfalls), by layer path."""
        self._warnings = dict(warnings)

    def refresh(self, info: ModelInfo) -> None:
        """Shows ``info`` (a new description of the same model) for the current layer."""
        self._info = info
        self._layers = info.layer_index()
        if self.layer is not None and self.layer.path in self._layers:
            self.show_layer(self.layer.path)
        else:
            self.setHtml(STYLE + self._model_html(info))

    def _link_clicked(self, url) -> None:
        if self.layer is not None and url.scheme() in ("freeze", "unfreeze"):
            self.trainable_requested.emit(self.layer.path, url.scheme() == "unfreeze")

    def show_layer(self, path: str, layer: LayerInfo | None = None) -> None:
        """Shows the layer with this path (or ``layer``, a block of the graph described as one)."""
        layer = layer or self._layers.get(path)
        if layer is None or self._info is None:
            return
        self.layer = layer
        self.setHtml(STYLE + self._layer_html(layer))

    def _model_html(self, info: ModelInfo) -> str:
        rows = [
            ("File", html.escape(info.file) if info.file else NOT_SAVED),
            ("Format", FORMAT_NAMES.get(info.format, NOT_SAVED)),
            ("Model class", info.class_name),
            ("Compiled", "yes" if info.compiled else "no (no training configuration)"),
            ("Needs recompile", "<b>yes</b>: trainable flags changed since compile" if self.needs_recompile else "no"),
            ("Inputs", "<br>".join(html.escape(f"{t.name}: {t.shape} {t.dtype}") for t in info.inputs)),
            ("Outputs", "<br>".join(html.escape(f"{t.name}: {t.shape} {t.dtype}" if t.shape else f"{t.name}: …") for t in info.outputs)),
            ("Total params", _loading(info) or count(info.params.total)),
            ("Trainable params", _loading(info) or count(info.params.trainable)),
            ("Non-trainable params", _loading(info) or count(info.params.non_trainable)),
            ("Layers", count(sum(1 for top in info.layers for _ in top.walk()))),
        ]
        lora = lora_params(info)
        if lora:
            adapted = sum(1 for layer in info.layer_index().values() if layer.lora is not None)
            rows.insert(len(rows) - 1, ("LoRA", f"<b>{count(lora)}</b> trainable of {count(info.params.total)} ({adapted} layers adapted)"))
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in info.notes)
        return (
            f"<h2>{html.escape(info.name)}</h2><p class='cls'>Select a layer to see its details.</p>"
            + _table(rows)
            + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        )

    def _layer_html(self, layer: LayerInfo) -> str:
        state = frozen_state(layer.params, layer.trainable_params, layer.partly_frozen)
        rows = [
            ("Path", html.escape(layer.path)),
            ("Kind", {"input": "input", "model": "nested model", "wrapper": "wrapper", "block": "block of layers"}.get(layer.kind, "layer")),
            ("trainable flag", str(layer.trainable)),
            ("State", _loading(self._info) or f"<span class='{state.split()[-1]}'>{state}</span>"),
            ("Params", _loading(self._info) or count(layer.params)),
            ("Trainable params", _loading(self._info) or count(layer.trainable_params)),
            ("Non-trainable params", _loading(self._info) or count(layer.non_trainable_params)),
            ("dtype policy", html.escape(layer.dtype_policy)),
            ("Calls", str(layer.calls)),
            ("Inbound", html.escape(", ".join(layer.inbound)) or "—"),
            ("Input shapes", "<br>".join(map(html.escape, layer.input_shapes)) or "—"),
            ("Output shapes", "<br>".join(map(html.escape, layer.output_shapes)) or "—"),
        ]
        if layer.children:
            rows.append(("Inner layers", ", ".join(html.escape(c.name) for c in layer.children)))
        value = self.value_text(layer.path) if self.value_text is not None else ""
        if value:
            rows.append(("Coloured by", html.escape(value)))
        if layer.lora is not None:
            rows.append(("LoRA", f"rank {layer.lora.rank}, alpha {layer.lora.alpha:g}"))
        if layer.quantization is not None:
            quant = layer.quantization
            rows.append(
                (
                    "Quantization",
                    f"{html.escape(quant.mode)} ({html.escape(quant.policy)}): {count(quant.bytes)} bytes, "
                    f"{count(quant.float32_bytes)} as float32",
                )
            )
        warning = self._warnings.get(layer.path)
        return (
            f"<h2>{html.escape(layer.name)}</h2><p class='cls'>{html.escape(layer.class_name)}</p>"
            + (f"<p class='warning'>⚠ {html.escape(warning)}</p>" if warning else "")
            + _lora_html(layer.lora)
            + _training_links(layer)
            + _table(rows)
            + self._variables_html(layer)
            + "<h3>Config</h3><pre>"
            + html.escape(json.dumps(layer.config, indent=2, default=str))
            + "</pre>"
        )

    def _variables_html(self, layer: LayerInfo) -> str:
        own = set(layer.variables)
        variables = [v for v in self._info.variables if v.path in own]
        if not variables:
            return "<h3>Variables</h3><p>None.</p>"
        rows = "".join(
            f"<tr><td>{html.escape(v.path)}</td><td>{v.shape}</td><td>{v.dtype}</td>"
            f"<td>{'trainable' if v.trainable else 'non-trainable'}</td><td align='right'>{count(v.size)}</td></tr>"
            for v in variables
        )
        return (
            "<h3>Variables</h3><table><tr><th>Path</th><th>Shape</th><th>dtype</th>"
            f"<th>Training</th><th>Size</th></tr>{rows}</table>"
        )


def _loading(info: ModelInfo | None) -> str:
    """What a count shows while Keras loads the model (the preview has none), else nothing."""
    return "<i>loading…</i>" if info is not None and info.preview else ""


def _lora_html(lora: LoraInfo | None) -> str:
    """What the layer's LoRA matrices hold and what training will do with them."""
    if lora is None:
        return ""
    matrices = [path.rpartition("/")[2] for path in lora.variables]
    names = " and ".join(matrices)
    if not lora.zero:
        text = (
            f"LoRA rank {lora.rank}: training changes {names} (the kernel is frozen); saving "
            "merges them into the kernel."
        )
    else:
        text = (
            f"LoRA rank {lora.rank}: the LoRA matrices {names} are zero because Keras merged them "
            "into the kernel when the model was saved (loading sets them to zero). Training starts "
            "them from there, but with both at zero neither gets a gradient, so fit leaves them at "
            f"zero: give {matrices[0]} random values (as enable_lora does) before "
            "fine-tuning with LoRA again."
        )
    return f"<p class='note'>{html.escape(text)}</p>"


def _training_links(layer: LayerInfo) -> str:
    """Freeze / Unfreeze links for a layer that has weights."""
    if layer.params == 0:
        return ""
    links = []
    if layer.trainable_params:
        links.append("<a href='freeze:'>Freeze</a>")
    container_frozen = layer.kind in ("model", "wrapper") and layer.trainable_params == 0
    if not layer.trainable or layer.partly_frozen or container_frozen:
        links.append("<a href='unfreeze:'>Unfreeze</a>")
    return f"<p>{' · '.join(links)}</p>" if links else ""


def _table(rows: list[tuple[str, str]]) -> str:
    """A two-column table of names and values; the values are HTML already."""
    cells = "".join(f"<tr><th>{html.escape(key)}</th><td>{value}</td></tr>" for key, value in rows)
    return f"<table>{cells}</table>"
