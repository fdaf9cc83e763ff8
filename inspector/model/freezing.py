"""Changes which layers of a model train, with undo and redo. No Qt in here.

Keras 3 facts this module relies on (checked on Keras 3.15 by ``tests/model/test_freezing.py``):

- ``layer.trainable = value`` sets the layer's own flag, the ``trainable`` flag of the variables
  it created, and then recurses into every tracked sublayer (the layers of a nested model, the
  forward and backward layers of a Bidirectional, the layer inside a TimeDistributed, the cell of
  an RNN). Restoring a mixed state must therefore set parents before children.
- With the TensorFlow backend, assigning the value a layer already has does nothing at all
  (``KerasAutoTrackable.__setattr__`` skips ``self.x = v`` when ``self.x is v``): setting
  ``base.trainable = True`` on a trainable base leaves its frozen inner layers frozen. So this
  module computes the wanted flag of every layer and sets each one itself, parents first,
  instead of relying on the recursion.
- A frozen model's own ``trainable_weights`` is empty, yet a layer that is trainable inside it
  still appears in the outer model's ``trainable_weights`` and is trained by ``fit``.
- ``fit`` traces its train function once, with the trainable variables of that moment, and
  keeps it until ``compile()`` runs again. Freezing a layer after the model has trained once
  does not stop ``fit`` from changing it; compiling again does.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass, replace

from inspector.model.describe import param_counts, sublayers
from inspector.jobs import Progress
from inspector.model.lora import (
    Adapter,
    LoraError,
    attach,
    base_variable,
    check_fits,
    detach,
    matrix_names,
    read_lora_weights,
    why_not,
)
from inspector.model.model_info import ParamCounts


class RecompileError(Exception):
    """The model cannot be compiled again; the message says why in one sentence."""


@dataclass(frozen=True)
class Change:
    """One recorded change of trainable flags.

    Attributes:
        description: What the Edit menu shows, e.g. ``"Freeze up to block_3"``.
        before: Every layer's own ``trainable`` flag before the change, in the editor's layer
            order (parents before children).
        after: The same flags after the change.
        adapters: The LoRA adapters the change added, each with its layer's position in the
            editor's layer order.
    """

    description: str
    before: tuple[bool, ...]
    after: tuple[bool, ...]
    adapters: tuple[tuple[int, Adapter], ...] = ()


class TrainableEditor:
    """Changes the ``trainable`` flags of one model, as an undo stack of :class:`Change`.

    Every change records every layer's own flag (all depths, including layers Keras tracks but
    the inspector does not list, such as RNN cells) before and after, so undo and redo restore
    mixed nested states exactly. A request that changes no flag records nothing.

    Unfreezing a layer inside a frozen nested model or wrapper also sets the own flag of the
    models and wrappers that hold it (their other layers stay as they are): Keras reports a
    container whose own flag is False as having no trainable weights, while ``fit`` still trains
    the trainable layers inside it, so the per-layer counts would hide what trains.

    Two states are tracked against a reference point, by value: :attr:`modified` against the
    flags at the last :meth:`mark_saved`, and :attr:`needs_recompile` against the flags at the
    last :meth:`recompile` (or at construction). Undoing back to that point clears them.

    Args:
        model: The model to edit. Compile it through :meth:`recompile` afterwards, so that
            :attr:`needs_recompile` stays true to the model.
    """

    def __init__(self, model):
        self.model = model
        self._order = _parents_first(model)
        self._position = {id(layer): index for index, layer in enumerate(self._order)}
        self._parents: dict[int, list] = {}
        for layer in self._order:
            for child in layer._flatten_layers(include_self=False, recursive=False):
                self._parents.setdefault(id(child), []).append(layer)
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        self._saved = self._compiled = self._snapshot()

    # Looking layers up

    def layer(self, path: str):
        """The layer at ``path``.

        Args:
            path: Names of the enclosing layers and the layer, joined by ``/``: a nested model's
                layers (``"digits_base/base_bn_1"``) or a wrapper's inner layers
                (``"bilstm/forward_lstm"``, ``"per_step/dense"``).

        Returns:
            The Keras layer.

        Raises:
            KeyError: No layer has that path.
        """
        return self._chain(path)[-1]

    def counts(self) -> ParamCounts:
        """The model's total, trainable and non-trainable parameter counts, as Keras sees them."""
        return param_counts(self.model)

    # Changes

    def set_trainable(
        self, paths: str | Iterable[str], trainable: bool, description: str | None = None
    ) -> Change | None:
        """Freezes or unfreezes layers and everything inside them.

        Args:
            paths: One layer path or several.
            trainable: The new flag.
            description: Name of the change for the Edit menu; by default ``"Freeze conv_1"``,
                ``"Unfreeze digits_base"`` or ``"Freeze 3 layers"``.

        Returns:
            The recorded change, or ``None`` if every flag already had that value.

        Raises:
            KeyError: A path names no layer; then nothing is changed.
        """
        paths = [paths] if isinstance(paths, str) else list(paths)
        chains = [self._chain(path) for path in paths]
        flags = list(self._flags())
        for chain in chains:
            if trainable:
                for container in [self.model, *chain[:-1]]:
                    flags[self._position[id(container)]] = True
            self._set_subtree(flags, chain[-1], trainable)
        verb = "Unfreeze" if trainable else "Freeze"
        what = paths[0] if len(paths) == 1 else f"{len(paths)} layers"
        return self._record(flags, description or f"{verb} {what}")

    def freeze_up_to(self, path: str) -> Change | None:
        """Freezes every layer before ``path`` and unfreezes it and every layer after it.

        "Before" follows ``model.layers`` order. For a path inside a nested model
        (``"base/block_3"``) the rule applies at each level: the top-level layers before
        ``base`` are frozen, inside ``base`` the layers before ``block_3`` are frozen, and
        ``block_3``, the layers after it in ``base`` and the top-level layers after ``base``
        train. The model and the nested models on the path keep ``trainable=True`` themselves.

        Args:
            path: The first layer that trains.

        Returns:
            The recorded change (named ``"Freeze up to <path>"``), or ``None`` if nothing changed.

        Raises:
            KeyError: The path names no layer; then nothing is changed.
        """
        flags = [True] * len(self._order)
        container = self.model
        for selected in self._chain(path):
            siblings = sublayers(container)
            for layer in siblings[: _index(siblings, selected)]:
                self._set_subtree(flags, layer, False)
            container = selected
        return self._record(flags, f"Freeze up to {path}")

    def set_all(self, trainable: bool) -> Change | None:
        """Freezes or unfreezes the whole model (its own flag and every layer in it).

        Returns:
            The recorded change, or ``None`` if nothing changed.
        """
        verb = "Unfreeze" if trainable else "Freeze"
        return self._record([trainable] * len(self._order), f"{verb} all layers")

    def enable_lora(
        self, paths: str | Iterable[str], rank: int, alpha: float | None = None, freeze_rest: bool = True
    ) -> Change | None:
        """Adds LoRA adapters to the layers at ``paths`` and every layer inside them that can
        take one (Dense, EinsumDense, Embedding, Conv), as one undoable change.

        Like KerasHub's ``Backbone.enable_lora``, the adapted layers train and, with
        ``freeze_rest``, every other layer is frozen; Keras itself freezes each adapted kernel
        and leaves its bias trainable.

        Args:
            paths: One layer path or several (a layer, a nested model, a wrapper).
            rank: The rank of the LoRA matrices.
            alpha: The scale numerator (``alpha / rank``); the rank when ``None``, as in Keras.
            freeze_rest: Freeze every layer that gets no adapter.

        Returns:
            The recorded change (``"Enable LoRA (rank 8) on 12 layers"``).

        Raises:
            KeyError: A path names no layer; then nothing is changed.
            LoraError: No layer there can take an adapter; the message says why.
        """
        paths = [paths] if isinstance(paths, str) else list(paths)
        if int(rank) < 1:
            raise LoraError(f"the rank must be 1 or more, not {rank}")
        roots = [self.layer(path) for path in paths]
        targets = {}
        for root in roots:
            for inner in _parents_first(root):
                if why_not(inner) is None:
                    targets.setdefault(id(inner), inner)
        if not targets:
            reason = why_not(roots[0]) if len(roots) == 1 else None
            where = paths[0] if len(paths) == 1 else f"the {len(paths)} selected layers"
            raise LoraError(reason or f"no layer in {where} can take LoRA (Dense, EinsumDense, Embedding or Conv)")
        flags = [False] * len(self._order) if freeze_rest else list(self._flags())
        for layer in targets.values():
            for container in [layer, *self._ancestors(layer)]:
                flags[self._position[id(container)]] = True
        alpha = float(alpha if alpha is not None else rank)
        adapters = tuple(
            (self._position[id(layer)], Adapter(self._path_of(layer), int(rank), alpha, bool(base_variable(layer).trainable)))
            for layer in targets.values()
        )
        count = len(adapters)
        what = adapters[0][1].path if count == 1 else f"{count} layers"
        return self._record(flags, f"Enable LoRA (rank {rank}) on {what}", adapters)

    def load_lora(self, path) -> Change | None:
        """Loads LoRA weights written by :func:`~inspector.model.lora.save_lora_weights`.

        A layer without an adapter gets one with the file's rank, alpha and values, as one
        undoable change (the other layers frozen, as :meth:`enable_lora` does); a layer that
        has one takes the file's values.

        Returns:
            The change that added adapters, or ``None`` when every layer had one.

        Raises:
            LoraError: The file is not LoRA weights, names a layer the model lacks, or its
                matrices do not fit.
        """
        adapters = read_lora_weights(path, self.model, self._path_of)
        layers = {self._path_of(layer): layer for layer in self._order}
        missing = [adapter.path for adapter in adapters if adapter.path not in layers]
        if missing:
            raise LoraError(f"the model has no layer {missing[0]}, which the file holds LoRA weights for")
        new = [adapter for adapter in adapters if not getattr(layers[adapter.path], "lora_enabled", False)]
        for adapter in adapters:
            layer = layers[adapter.path]
            if getattr(layer, "lora_enabled", False):
                check_fits(layer, adapter)
        for adapter in adapters:
            layer = layers[adapter.path]
            if getattr(layer, "lora_enabled", False):
                for name, value in zip(matrix_names(layer), adapter.values):
                    getattr(layer, name).assign(value)
        if not new:
            return None
        flags = [False] * len(self._order)
        for adapter in new:
            layer = layers[adapter.path]
            for container in [layer, *self._ancestors(layer)]:
                flags[self._position[id(container)]] = True
        count = len(new)
        return self._record(
            flags,
            f"Load LoRA weights ({count} layer{'s' if count != 1 else ''})",
            tuple((self._position[id(layers[a.path])], replace(a, base_trainable=bool(base_variable(layers[a.path]).trainable))) for a in new),
        )

    def lora_layers(self) -> dict[str, object]:
        """Every layer with a LoRA adapter, by path."""
        return {self._path_of(layer): layer for layer in self._order if getattr(layer, "lora_enabled", False)}

    def _ancestors(self, layer) -> list:
        """Every layer that holds ``layer``, at any depth."""
        found, queue = [], list(self._parents.get(id(layer), []))
        while queue:
            parent = queue.pop()
            if all(parent is not seen for seen in found):
                found.append(parent)
                queue.extend(self._parents.get(id(parent), []))
        return found

    def _path_of(self, layer) -> str:
        """``layer``'s path: the names of the layers that hold it and its own, joined by ``/``
        (through its first holder, for a layer held twice)."""
        names = []
        while layer is not self.model:
            names.append(layer.name)
            parents = self._parents.get(id(layer))
            if not parents:
                break
            layer = parents[0]
        return "/".join(reversed(names))

    # Undo and redo

    @property
    def can_undo(self) -> bool:
        """Whether there is a change to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone change to redo."""
        return bool(self._redo)

    @property
    def undo_description(self) -> str | None:
        """Name of the change :meth:`undo` would revert, or ``None``."""
        return self._undo[-1].description if self._undo else None

    @property
    def redo_description(self) -> str | None:
        """Name of the change :meth:`redo` would apply again, or ``None``."""
        return self._redo[-1].description if self._redo else None

    def undo(self) -> Change | None:
        """Restores the flags from before the last change.

        Returns:
            The change undone, or ``None`` if there was nothing to undo.
        """
        if not self._undo:
            return None
        change = self._undo.pop()
        adapters = tuple((index, detach(self._order[index], adapter)) for index, adapter in reversed(change.adapters))
        self._restore(change.before)
        change = Change(change.description, change.before, change.after, adapters[::-1])
        self._redo.append(change)
        return change

    def redo(self) -> Change | None:
        """Applies the last undone change again.

        Returns:
            The change redone, or ``None`` if there was nothing to redo.
        """
        if not self._redo:
            return None
        change = self._redo.pop()
        self._restore(change.after)
        for index, adapter in change.adapters:
            attach(self._order[index], adapter)
        self._undo.append(change)
        return change

    # Saved and compiled states

    @property
    def modified(self) -> bool:
        """Whether any flag or adapter differs from the last :meth:`mark_saved` (or from
        construction)."""
        return self._snapshot() != self._saved

    def mark_saved(self) -> None:
        """Makes the current flags the clean point, after the model was saved."""
        self._saved = self._snapshot()

    @property
    def needs_recompile(self) -> bool:
        """Whether training would use stale trainable flags.

        True for a compiled model whose flags differ from those at the last :meth:`recompile`
        (or at construction). A model that was never compiled needs a first ``compile()``, not a
        recompile, and gives False.
        """
        return bool(getattr(self.model, "compiled", False)) and self._snapshot() != self._compiled

    def recompile(self) -> None:
        """Compiles the model again with its own compile configuration.

        Uses ``model.get_compile_config()`` and ``model.compile_from_config()``: the same
        optimizer class and settings, losses, loss weights and metrics. The optimizer starts
        afresh: its state (moment estimates, iteration count) and the metrics are reset.

        Raises:
            RecompileError: The model was never compiled, so there is no configuration to reuse.
        """
        config = self.model.get_compile_config()
        if not config:
            raise RecompileError(
                f"Model '{self.model.name}' was never compiled, so it has no training "
                "configuration to compile again; compile it with an optimizer and a loss first."
            )
        self.model.compile_from_config(config)
        self.mark_compiled()

    def mark_compiled(self) -> None:
        """Records that the model was just compiled (by :meth:`recompile` or for training)."""
        self._compiled = self._snapshot()

    # Internals

    def _chain(self, path: str) -> list:
        """The layers along ``path``, from the top-level one to the layer it names."""
        chain = []
        container = self.model
        for name in path.split("/"):
            container = _child(container, name, path)
            chain.append(container)
        return chain

    def _set_subtree(self, flags: list[bool], layer, trainable: bool) -> None:
        for inner in _parents_first(layer):
            flags[self._position[id(inner)]] = trainable

    def _record(self, flags: list[bool], description: str, adapters: tuple[tuple[int, Adapter], ...] = ()) -> Change | None:
        before = self._flags()
        if tuple(flags) == before and not adapters:
            return None
        self._restore(tuple(flags))  # first: Keras makes a frozen layer's new variables frozen
        for index, adapter in adapters:
            attach(self._order[index], adapter)
        change = Change(description, before, self._flags(), adapters)
        self._undo.append(change)
        self._redo.clear()
        return change

    def _flags(self) -> tuple[bool, ...]:
        return tuple(bool(layer.trainable) for layer in self._order)

    def _snapshot(self) -> tuple:
        """The flags and which layers have LoRA: what "modified" and "needs recompile" compare."""
        return self._flags(), tuple(bool(getattr(layer, "lora_enabled", False)) for layer in self._order)

    def _restore(self, flags: tuple[bool, ...]) -> None:
        # Parents first: a setter that changes a flag recurses, so each layer is set after its
        # parents; setting the value a layer already has is skipped by Keras, which is harmless
        # here because every layer is visited.
        for layer, trainable in zip(self._order, flags):
            layer.trainable = trainable


def _child(container, name: str, path: str):
    for layer in sublayers(container):
        if layer.name == name:
            return layer
    raise KeyError(f"no layer at path '{path}'")


def _index(layers: list, layer) -> int:
    return next(i for i, candidate in enumerate(layers) if candidate is layer)


def _parents_first(root) -> list:
    """``root`` and every layer Keras tracks under it, each after all its parents.

    Follows the same links as Keras' recursive ``trainable`` setter; a layer held by two parents
    comes after both (reverse post-order of a depth-first walk).
    """
    seen: set[int] = set()
    post_order: list = []

    def visit(layer) -> None:
        seen.add(id(layer))
        for child in layer._flatten_layers(include_self=False, recursive=False):
            if id(child) not in seen:
                visit(child)
        post_order.append(layer)

    visit(root)
    return post_order[::-1]


def recompile_job(editor: TrainableEditor) -> Generator[Progress, None, None]:
    """Recompiles the editor's model on the model's worker thread.

    Args:
        editor: The editor of the model to recompile.

    Raises:
        RecompileError: The model was never compiled.
    """
    yield Progress("Recompiling…")
    editor.recompile()
