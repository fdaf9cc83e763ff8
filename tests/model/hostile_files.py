"""Builds hostile model files of every kind the safety report names, from a real saved model.

Nothing hostile is shipped: each test builds the file it needs in its temporary folder. Payloads
that could run write a marker file, so a test can check that nothing ran.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from inspector.tfimport import keras

D1_KERNEL = "model_weights/d1/d1/kernel"
"""Where d1's kernel is in the legacy ``.h5`` file of :func:`base_model`."""


def base_model():
    """A small Functional model: input (4,) → Dense d1 (3) → Dense d2 (2)."""
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(3, name="d1")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="d2")(hidden))


def save_base(folder: Path, suffix: str = ".keras") -> Path:
    """Saves :func:`base_model` as ``base.keras`` or ``base.h5`` in ``folder``."""
    path = folder / f"base{suffix}"
    base_model().save(path)
    return path


def rewrite_config(source: Path, target: Path, change: Callable[[dict], object]) -> Path:
    """Copies a ``.keras`` archive with its ``config.json`` changed by ``change`` (in place,
    or by returning the new text or object)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(data)
                result = change(config)
                result = config if result is None else result
                data = result.encode() if isinstance(result, str) else json.dumps(result).encode()
            new.writestr(info, data)
    return target


def layer(config: dict, name: str) -> dict:
    """The entry of layer ``name`` in a Functional model's configuration."""
    return next(entry for entry in config["config"]["layers"] if entry["config"]["name"] == name)


def with_os_system(folder: Path) -> Path:
    """A model whose Dense activation names ``os.system``."""

    def change(config):
        layer(config, "d1")["config"]["activation"] = {
            "module": "os",
            "class_name": "function",
            "config": "system",
            "registered_name": "system",
        }

    return rewrite_config(save_base(folder), folder / "os_system.keras", change)


def with_custom_class(folder: Path) -> Path:
    """A model whose d1 is a registered custom class this process does not define."""

    def change(config):
        entry = layer(config, "d1")
        entry.update(module="private_layers_nowhere", class_name="Scaled", registered_name="Private>Scaled")

    return rewrite_config(save_base(folder), folder / "custom.keras", change)


def with_tfsm_layer(folder: Path, saved_model: Path) -> Path:
    """A model whose d1 is a TFSMLayer loading the SavedModel at ``saved_model``."""

    def change(config):
        entry = layer(config, "d1")
        entry["class_name"] = "TFSMLayer"
        entry["config"] = {"name": "d1", "filepath": str(saved_model), "call_endpoint": "serve", "trainable": True}

    return rewrite_config(save_base(folder), folder / "tfsm.keras", change)


def with_vocabulary_path(folder: Path, vocabulary: Path) -> Path:
    """A model with a StringLookup whose vocabulary is the path ``vocabulary``."""
    inputs = keras.Input((1,), dtype="string", name="words")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")
    path = folder / "lookup.keras"
    keras.Model(inputs, lookup(inputs)).save(path)

    def change(config):
        layer(config, "lookup")["config"]["vocabulary"] = str(vocabulary)

    return rewrite_config(path, folder / "vocabulary_path.keras", change)


def with_lambda(folder: Path, marker: Path) -> Path:
    """A model whose Lambda layer writes ``marker`` when it runs."""
    target = str(marker)
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Lambda(lambda x: x + 0 * len(open(target, "w").name), name="writes_marker")(inputs)
    path = folder / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink(missing_ok=True)  # building the model ran the function once
    return path


def with_deep_nesting(folder: Path, depth: int) -> Path:
    """A model whose ``config.json`` nests lists ``depth`` levels deep under a layer."""

    def change(config):
        text = json.dumps(config)
        return text.replace('"layers": [', '"layers": [' + "[" * depth + "]" * depth + ", ", 1)

    return rewrite_config(save_base(folder), folder / f"deep{depth}.keras", change)


def with_config_bomb(folder: Path, size: int = 2**30) -> Path:
    """An archive whose ``config.json`` inflates to ``size`` bytes of spaces (about 1 MB stored
    per GB declared), with the base model's weights."""
    source = save_base(folder)
    target = folder / "bomb.keras"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as new:
        for info in old.infolist():
            if info.filename != "config.json":
                new.writestr(info.filename, old.read(info.filename))
        with new.open("config.json", "w", force_zip64=True) as member:
            chunk = b" " * (16 << 20)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return target


def with_weights(folder: Path, edit: Callable[[h5py.File], None], name: str) -> Path:
    """A legacy ``.h5`` model whose HDF5 structure ``edit`` changed."""
    path = save_base(folder, ".h5").rename(folder / name)
    with h5py.File(path, "r+") as handle:
        edit(handle)
    return path


def external_storage(folder: Path, outside: Path) -> Path:
    """d1's kernel stored in the external raw file ``outside``."""

    def edit(handle):
        where = D1_KERNEL
        shape = handle[where].shape
        del handle[where]
        handle.create_dataset(where, shape=shape, dtype="float32", external=[(str(outside), 0, h5py.h5f.UNLIMITED)])

    return with_weights(folder, edit, "external_storage.h5")


def external_link(folder: Path, outside: Path) -> Path:
    """d1's kernel replaced by a link into the HDF5 file ``outside``."""

    def edit(handle):
        where = D1_KERNEL
        del handle[where]
        handle[where] = h5py.ExternalLink(str(outside), "/secret")

    return with_weights(folder, edit, "external_link.h5")


def virtual_dataset(folder: Path, outside: Path) -> Path:
    """d1's kernel as a virtual dataset mapping the HDF5 file ``outside``."""

    def edit(handle):
        where = D1_KERNEL
        shape = handle[where].shape
        del handle[where]
        source = h5py.VirtualSource(str(outside), "secret", shape=shape)
        layout = h5py.VirtualLayout(shape=shape, dtype="float32")
        layout[...] = source
        handle.create_virtual_dataset(where, layout)

    return with_weights(folder, edit, "virtual.h5")


def huge_dataset(folder: Path) -> Path:
    """d1's kernel declared as a 40 GB chunked dataset that stores nothing."""

    def edit(handle):
        where = D1_KERNEL
        del handle[where]
        handle.create_dataset(where, shape=(100_000, 100_000), dtype="float32", chunks=(1000, 1000))

    return with_weights(folder, edit, "huge_dataset.h5")


def outside_h5(folder: Path) -> Path:
    """An HDF5 file a hostile model points at."""
    path = folder / "outside.h5"
    with h5py.File(path, "w") as handle:
        handle["secret"] = np.ones((4, 3), "float32")
    return path


def misfit_weights(folder: Path) -> Path:
    """An archive whose d2 declares 5 units while its stored kernel has 2."""

    def change(config):
        layer(config, "d2")["config"]["units"] = 5

    return rewrite_config(save_base(folder), folder / "misfit.keras", change)
