"""A seeded mutator of model files, and the check that the loader is total on what it makes.

Each case starts from a real saved model (a ``.keras`` archive or a legacy ``.h5``) and breaks
it one way: a node of the configuration replaced, removed or nested deeply; bytes of the weights
changed; a member missing; bytes of the file itself changed. Opening it must end in an opened
model or a :class:`~inspector.errors.ModelLoadError` with a reason (never another exception,
never a hang), and the window's preview must return a preview or ``None``.

``make test`` runs a few hundred cases; ``make fuzz`` runs ten thousand (``FUZZ_CASES``).
"""

from __future__ import annotations

import copy
import json
import random
import signal
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import h5py

from inspector.errors import ModelLoadError
from inspector.jobs import run_job
from inspector.model.config_graph import preview_job
from inspector.model.jobs import open_model_job

HANG_SECONDS = 60
"""A case that takes longer than this is a hang."""


DEEP = "\u0000deep:"
"""A replacement that :func:`dump_config` writes as lists nested that many levels (too deep
for Python's own ``json`` to build or write)."""


def dump_config(config: dict) -> str:
    """``config`` as JSON, with each :data:`DEEP` marker written as nested lists."""
    text = json.dumps(config)
    marker = json.dumps(DEEP)[:-1]
    while marker in text:
        start = text.index(marker)
        end = text.index('"', start + len(marker))
        depth = int(text[start + len(marker) : end])
        text = text[:start] + "[" * depth + "]" * depth + text[end + 1 :]
    return text


class Hang(BaseException):
    """A case ran past :data:`HANG_SECONDS`."""


@dataclass
class Outcome:
    """What opening one mutated file did.

    Attributes:
        case: The case number (its seed).
        how: The mutation, in words.
        result: ``"opened"``, ``"refused"``, ``"raw"`` (another exception) or ``"hang"``.
        detail: The reason, or the raw exception.
    """

    case: int
    how: str
    result: str
    detail: str = ""


def _nodes(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every node in a JSON value."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_nodes(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_nodes(child, (*path, index)))
    return found


def _replacement(rng: random.Random, config: dict) -> Any:
    choices = [
        "oops",
        "",
        None,
        0,
        -1,
        2**70,
        1.5e308,
        True,
        {},
        [],
        {"class_name": "Dense"},
        {"module": {"x": 1}, "class_name": "Dense", "config": {}},
        {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"},
        "../../../etc/passwd",
        "deep",
        copy.deepcopy(_pick(rng, config)),
    ]
    choice = rng.choice(choices)
    if choice == "deep":
        return f"{DEEP}{rng.choice([5, 150, 100_000])}"  # written out by dump_config
    return choice


def _pick(rng: random.Random, config: dict) -> Any:
    value = config
    for key in rng.choice(_nodes(config)):
        value = value[key]
    return value


def mutate_config(rng: random.Random, config: dict) -> tuple[dict, str]:
    """A copy of ``config`` with one node replaced or removed."""
    config = copy.deepcopy(config)
    path = rng.choice(_nodes(config)[1:])
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    if rng.random() < 0.2:
        del parent[path[-1]]
        return config, f"removed {'/'.join(map(str, path))}"
    parent[path[-1]] = _replacement(rng, config)
    return config, f"replaced {'/'.join(map(str, path))}"


def _flip(rng: random.Random, data: bytes, count: int) -> bytes:
    data = bytearray(data)
    for _ in range(count):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info, data)


def mutate_archive(rng: random.Random, source: Path, target: Path) -> str:
    """Writes ``target``: the ``.keras`` archive ``source`` broken one way. Returns how."""
    kind = rng.choice(["config", "config", "config", "weights", "member", "bytes"])
    if kind == "config":
        how = []

        def change(name, data):
            if name != "config.json":
                return data
            config, what = mutate_config(rng, json.loads(data))
            how.append(what)
            return dump_config(config).encode()

        _rewrite(source, target, change)
        return f"config.json: {how[0]}"
    if kind == "weights":
        count = rng.choice([1, 8, 64])
        _rewrite(source, target, lambda name, data: _flip(rng, data, count) if name.endswith(".h5") else data)
        return f"model.weights.h5: {count} bytes changed"
    if kind == "member":
        with zipfile.ZipFile(source) as archive:
            missing = rng.choice(archive.namelist())
        _rewrite(source, target, lambda name, data: None if name == missing else data)
        return f"member {missing} missing"
    count = rng.choice([1, 8, 64])
    target.write_bytes(_flip(rng, source.read_bytes(), count))
    return f"archive: {count} bytes changed"


def mutate_h5(rng: random.Random, source: Path, target: Path) -> str:
    """Writes ``target``: the legacy ``.h5`` model ``source`` broken one way. Returns how."""
    if rng.random() < 0.5:
        target.write_bytes(source.read_bytes())
        with h5py.File(target, "r+") as handle:
            config, how = mutate_config(rng, json.loads(handle.attrs["model_config"]))
            handle.attrs["model_config"] = dump_config(config)
        return f"model_config: {how}"
    count = rng.choice([1, 8, 64])
    target.write_bytes(_flip(rng, source.read_bytes(), count))
    return f"file: {count} bytes changed"


def run_case(case: int, sources: dict[str, Path], folder: Path) -> Outcome:
    """Mutates one of ``sources`` (``.keras`` or ``.h5`` files, by any names) with seed
    ``case`` and opens the result."""
    rng = random.Random(case)
    source = sources[rng.choice(sorted(sources))]
    target = folder / f"case{case}{source.suffix}"
    mutate = mutate_archive if source.suffix == ".keras" else mutate_h5
    how = f"{source.name}, {mutate(rng, source, target)}"
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(HANG_SECONDS)
    try:
        run_job(preview_job(target))
        try:
            run_job(open_model_job(target))
        except ModelLoadError as error:
            result = Outcome(case, how, "refused" if error.reason else "raw", error.reason)
        else:
            result = Outcome(case, how, "opened")
    except Hang:
        result = Outcome(case, how, "hang")
    except Exception as error:  # noqa: BLE001 - exactly what the fuzzer looks for
        result = Outcome(case, how, "raw", f"{type(error).__name__}: {error}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        target.unlink(missing_ok=True)
    return result


def _hang(*_):
    raise Hang()
