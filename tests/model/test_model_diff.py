"""Model and checkpoint diff: a model against itself, against an edited copy, a transfer model
against its base, and ``keras-inspector --diff`` on real files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from inspector.jobs import run_job
from inspector.model.model_diff import diff_files_job
from inspector.tfimport import keras
from tests.conftest import ROOT, SAMPLES
from tests.model_factory import save, two_input_model


def by_path(diff):
    return {layer.path: layer for layer in diff.layers}


def test_a_model_against_itself_is_all_same():
    diff = run_job(diff_files_job(SAMPLES / "two_input_two_output.keras", SAMPLES / "two_input_two_output.keras"))
    assert diff.summary == {"same": len(diff.layers), "changed": 0, "added": 0, "removed": 0}
    conv = by_path(diff)["conv"]
    assert [(v.path, v.relative_change) for v in conv.variables] == [("conv/kernel", 0.0), ("conv/bias", 0.0)]


def test_a_copy_with_one_layer_frozen_and_one_kernel_changed(tmp_path):
    model = two_input_model()
    a = save(model, tmp_path, "a.keras")
    model.get_layer("conv").trainable = False
    kernel = model.get_layer("hidden").kernel
    before = kernel.numpy()
    kernel.assign(before * 1.5)
    b = save(model, tmp_path, "b.keras")
    layers = by_path(run_job(diff_files_job(a, b)))
    assert layers["conv"].status == "changed" and layers["conv"].changes == ["trainable"]
    assert [v.relative_change for v in layers["conv"].variables] == [0.0, 0.0]
    hidden = layers["hidden"]
    assert hidden.status == "changed" and hidden.changes == ["weights"]
    kernel_diff = next(v for v in hidden.variables if v.path.endswith("kernel"))
    assert kernel_diff.relative_change == pytest.approx(0.5, rel=1e-6)
    assert kernel_diff.shape_a == kernel_diff.shape_b == before.shape
    assert {path for path, layer in layers.items() if layer.status == "same"} >= {"flatten", "main_output", "aux_output"}


def test_a_transfer_model_against_its_base_matches_layers_by_name(tmp_path):
    base_in = keras.Input((6,), name="base_in")
    base = keras.Model(base_in, keras.layers.Dense(5, name="features")(keras.layers.Dense(8, name="first")(base_in)), name="base")
    a = save(base, tmp_path, "base.keras")
    base.trainable = False
    inputs = keras.Input((6,), name="x")
    transfer = keras.Model(inputs, keras.layers.Dense(3, name="head")(base(inputs)), name="transfer")
    b = save(transfer, tmp_path, "transfer.keras")
    diff = run_job(diff_files_job(a, b))
    layers = by_path(diff)
    first = layers["first"]
    assert first.path_b == "base/first" and first.status == "changed" and first.changes == ["trainable"]
    assert all(v.relative_change == 0 for v in first.variables), "the base's weights came along unchanged"
    assert layers["head"].status == "added" and [v.shape_b for v in layers["head"].variables] == [(5, 3), (3,)]
    assert diff.summary["removed"] == 0 and diff.summary["added"] >= 3  # x, base, head
    assert json.loads(json.dumps(diff.as_dict()))["layers"][1]["path_b"] == "base/first"


def test_the_command_line_prints_one_json_object(tmp_path):
    model = two_input_model()
    a = save(model, tmp_path, "a.keras")
    model.get_layer("aux_output").bias.assign(np.ones(1, "float32"))
    b = save(model, tmp_path, "b.keras")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--diff", str(a), str(b)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["a"].endswith("a.keras") and report["b"].endswith("b.keras")
    aux = next(layer for layer in report["layers"] if layer["path"] == "aux_output")
    assert aux["status"] == "changed" and aux["changes"] == ["weights"]
    bias = next(v for v in aux["variables"] if v["path"].endswith("bias"))
    assert bias["shape_a"] == [1] and bias["relative_change"] is None, "A's bias was all zeros"
    assert report["summary"]["changed"] == 1
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--diff", str(a), str(broken)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith(f"error: {broken}: ")
