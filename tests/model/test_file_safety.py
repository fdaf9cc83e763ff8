"""The safety report and the refusals it drives, on hostile files the tests build themselves.

Each refusal is checked for its reason (the same words in ``load`` and in ``--summary``), that
nothing the file holds ran (a marker file the payload would create does not exist), and, for the
size kinds, the memory and time a refusal costs (in a child process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inspector.errors import MissingClassesError, ModelLoadError, UnsafeModelError
from inspector.model.loading import load
from inspector.model.model_file import scan_file
from tests.model import hostile_files as hostile

ROOT = Path(__file__).resolve().parents[2]


def refusal(path: Path) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as caught:
        load(path)
    return caught.value


def kinds(path: Path) -> list[str]:
    return [finding["kind"] for finding in scan_file(path)["findings"]]


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_a_plain_model_is_safe(tmp_path):
    for suffix in (".keras", ".h5"):
        report = scan_file(hostile.save_base(tmp_path, suffix))
        assert report["safe"] is True and report["findings"] == [] and "error" not in report
        assert report["format"] == suffix[1:]


def test_a_function_from_os_is_refused_as_code_from_module_os(tmp_path):
    path = hostile.with_os_system(tmp_path)
    error = refusal(path)
    assert not isinstance(error, (MissingClassesError, UnsafeModelError))  # no "choose the Python file", no consent
    assert "code from module os" in error.reason and "system" in error.reason
    finding = scan_file(path)["findings"][0]
    assert finding["kind"] == "module" and "module os" in finding["detail"] and finding["where"].startswith("/config/layers/")


def test_a_custom_class_is_named_by_its_registered_name(tmp_path):
    path = hostile.with_custom_class(tmp_path)
    error = refusal(path)
    assert isinstance(error, MissingClassesError) and error.names == ["Private>Scaled"]
    assert [finding.kind for finding in error.findings] == ["custom_class"]
    assert kinds(path) == ["custom_class"]


def test_a_tfsm_layer_is_named_and_its_saved_model_is_not_read(tmp_path):
    saved_model = tmp_path / "elsewhere"  # not there: reading it would fail differently
    path = hostile.with_tfsm_layer(tmp_path, saved_model)
    error = refusal(path)
    assert "TFSMLayer" in error.reason and "Lambda" not in error.reason
    assert not isinstance(error, UnsafeModelError)
    assert kinds(path) == ["tfsm_layer"] and str(saved_model) in scan_file(path)["findings"][0]["detail"]


def test_a_vocabulary_path_is_a_file_reference_and_is_not_read(tmp_path):
    vocabulary = tmp_path / "vocabulary.fifo"
    os.mkfifo(vocabulary)  # reading a FIFO with no writer would block: the load would hang
    path = hostile.with_vocabulary_path(tmp_path, vocabulary)
    error = refusal(path)
    assert "vocabulary.fifo" in error.reason and "does not read files a model points at" in error.reason
    assert kinds(path) == ["file_reference"]


def test_lambda_code_does_not_run_and_the_report_lists_it(tmp_path):
    marker = tmp_path / "ran"
    path = hostile.with_lambda(tmp_path, marker)
    error = refusal(path)
    assert isinstance(error, UnsafeModelError) and error.layers == ["writes_marker"]
    assert [finding.kind for finding in error.findings] == ["lambda"]
    assert not marker.exists()
    assert kinds(path) == ["lambda"]


@pytest.mark.parametrize(
    "build, words",
    [
        (hostile.external_storage, "dataset stored in external file"),
        (hostile.external_link, "external link to /secret"),
        (hostile.virtual_dataset, "virtual dataset"),
    ],
)
def test_hdf5_external_data_is_refused_naming_the_dataset(tmp_path, build, words):
    outside = hostile.outside_h5(tmp_path)
    path = build(tmp_path, outside)
    error = refusal(path)
    assert words in error.reason and hostile.D1_KERNEL in error.reason
    report = scan_file(path)
    assert report["safe"] is False
    assert report["findings"][0]["kind"] == "hdf5_external" and report["findings"][0]["where"] == "/" + hostile.D1_KERNEL


def test_a_config_naming_layers_as_a_string_is_not_a_valid_model_configuration(tmp_path):
    def change(config):
        config["config"]["layers"] = "oops"

    path = hostile.rewrite_config(hostile.save_base(tmp_path), tmp_path / "oops.keras", change)
    error = refusal(path)
    assert "not a valid model configuration" in error.reason and "/config/layers" in error.reason
    assert not isinstance(error, MissingClassesError)


def test_a_module_that_is_not_a_string_is_not_a_valid_model_configuration(tmp_path):
    def change(config):
        hostile.layer(config, "d1")["module"] = {"x": 1}

    error = refusal(hostile.rewrite_config(hostile.save_base(tmp_path), tmp_path / "module.keras", change))
    assert "not a valid model configuration" in error.reason and "module is an object" in error.reason


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_json_is_refused_as_too_deeply_nested(tmp_path, depth):
    path = hostile.with_deep_nesting(tmp_path, depth)
    assert "nested too deeply" in refusal(path).reason
    assert "nested too deeply" in scan_file(path)["error"]


def test_weights_that_do_not_fit_name_the_variable_and_both_shapes(tmp_path):
    error = refusal(hostile.misfit_weights(tmp_path))
    assert "d2/kernel has shape (3, 5) in the model and (3, 2) in the file" in error.reason
    assert "layers not loaded: d2" in error.reason


def test_summary_prints_the_same_reason_as_the_window(tmp_path):
    path = hostile.with_os_system(tmp_path)
    result = run_main("--summary", str(path))
    assert result.returncode == 1
    assert f"error: {path}: {refusal(path).reason}" in result.stderr


def test_scan_prints_one_json_object_per_file(tmp_path):
    safe, unsafe = hostile.save_base(tmp_path), hostile.with_tfsm_layer(tmp_path, tmp_path / "sm")
    result = run_main("--scan", str(safe), str(unsafe), str(tmp_path / "missing.keras"))
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [report["file"] for report in reports] == [str(safe), str(unsafe), str(tmp_path / "missing.keras")]
    assert [report["safe"] for report in reports] == [True, False, False]
    assert set(reports[1]) == {"file", "format", "safe", "findings"}
    assert set(reports[1]["findings"][0]) == {"kind", "where", "detail"}
    assert reports[2]["error"] == "the file does not exist"
    assert result.returncode == 1
    assert "tensorflow" not in result.stderr.lower()


def _peak_memory(path: Path) -> dict:
    """Loads ``path`` in a child process and reports its reason, time and peak memory growth."""
    script = textwrap.dedent(
        f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from inspector.errors import ModelLoadError
        from inspector.model.loading import load
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            load({str(path)!r})
            reason = None
        except ModelLoadError as error:
            reason = error.reason
        seconds = time.perf_counter() - start
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"reason": reason, "seconds": seconds, "grown_mb": grown / 1024}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    outcome = json.loads(result.stdout.splitlines()[-1])
    print(f"{path.name}: refused in {outcome['seconds']:.2f} s, peak memory +{outcome['grown_mb']:.0f} MB")
    return outcome


@pytest.fixture(scope="module")
def config_bomb(tmp_path_factory):
    return hostile.with_config_bomb(tmp_path_factory.mktemp("bomb"))


def test_a_config_bomb_is_refused_before_it_is_decompressed(config_bomb):
    outcome = _peak_memory(config_bomb)
    assert "config.json declares 1,073,741,824 bytes uncompressed" in outcome["reason"]
    assert outcome["grown_mb"] <= 200  # the time is printed: no timing assertions in tests
    assert kinds(config_bomb) == ["size"]


def test_a_huge_hdf5_dataset_is_refused_without_reading_it(tmp_path):
    path = hostile.huge_dataset(tmp_path)
    outcome = _peak_memory(path)
    assert "declares 40,000,000,000 bytes" in outcome["reason"] and hostile.D1_KERNEL in outcome["reason"]
    assert outcome["grown_mb"] <= 200
    assert kinds(path) == ["size"]


def test_an_hdf5_read_that_never_ends_or_crashes_is_stopped_and_the_reader_comes_back():
    import time

    from inspector.model import hdf5_child

    with pytest.raises(hdf5_child.ReadFailed, match="did not finish reading it in 0.5 s"):
        hdf5_child.call(time.sleep, 30, time_limit=0.5)  # as libhdf5 spins on some damaged headers
    with pytest.raises(hdf5_child.ReadFailed, match="crashed"):
        hdf5_child.call(os.abort)
    assert hdf5_child.call(os.getpid) != os.getpid()
