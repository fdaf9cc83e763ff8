"""Models built with Keras' own optional packages (KerasHub, KerasCV, KerasNLP) open like any
Keras model in safe mode, and a missing package is named with what to install."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

import main
from tests.conftest import ROOT
from widgets.shell.app import create_window

LOAD_TIMEOUT = 60_000
BUILD_BERT = """
import sys
import keras_hub
backbone = keras_hub.models.BertBackbone(
    vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
    max_sequence_length=16, name="tiny_bert",
)
backbone.save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def bert_file(tmp_path_factory):
    """A tiny KerasHub BertBackbone built offline from its configuration (nothing downloaded).

    It is built in another process, so that this one has not imported ``keras_hub`` (which
    registers its classes) before the app opens the file.
    """
    if not _installed("keras_hub"):
        pytest.skip("keras-hub is not installed (it is in the test extra)")
    path = tmp_path_factory.mktemp("hub") / "tiny_bert.keras"
    subprocess.run([sys.executable, "-c", BUILD_BERT, str(path)], check=True, cwd=ROOT, timeout=600)
    return path


@pytest.fixture
def keras_cv_file(bert_file, tmp_path):
    """The same archive, but its model class claims to come from KerasCV (not installed here)."""
    path = tmp_path / "cv_model.keras"
    with zipfile.ZipFile(bert_file) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["module"] = "keras_cv.src.models.fake.fake_backbone"
                config["class_name"] = config["registered_name"] = "FakeBackbone"
                data = json.dumps(config).encode()
            target.writestr(item, data)
    return path


def wait_settled(qtbot, tab):
    qtbot.waitUntil(lambda: tab.is_loaded or tab.error is not None, timeout=LOAD_TIMEOUT)
    return tab


def assert_bert_shown(tab):
    assert tab.error is None, tab.error
    assert tab.stack.currentWidget() is tab.content
    assert tab.info.class_name == "BertBackbone"
    assert {"token_ids", "token_embedding", "transformer_layer_0", "pooled_dense"} <= set(tab.graph.node_ids())
    assert tab.layer_tree._items["transformer_layer_1"].text(0) == "transformer_layer_1"


def test_a_keras_hub_backbone_opens_from_the_command_line(qtbot, tmp_path, bert_file):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = create_window([str(bert_file)], settings)
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: len(win.model_tabs()) == 1, timeout=5000)
        tab = wait_settled(qtbot, win.model_tabs()[0])
        assert_bert_shown(tab)
        assert win.tabs.tabText(0) == "tiny_bert.keras"
        assert "6,640 params" in win.statusBar().currentMessage()
    finally:
        win.reporter.uninstall()
        win.shutdown()


def test_a_keras_hub_backbone_dropped_on_the_window_opens(qtbot, window, bert_file):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bert_file))])
    position = QPointF(window.width() / 2, window.height() / 2)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(position.toPoint(), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    window.dropEvent(QDropEvent(position, Qt.DropAction.CopyAction, mime, buttons, modifiers))
    tab = wait_settled(qtbot, window.model_tabs()[0])
    assert_bert_shown(tab)


def test_the_summary_of_a_keras_hub_backbone(bert_file):
    run = subprocess.run(
        [sys.executable, "main.py", "--summary", str(bert_file)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["class_name"] == "BertBackbone"
    assert summary["params"]["total"] == 6640
    assert [t["name"] for t in summary["inputs"]] == ["padding_mask", "segment_ids", "token_ids"]
    assert "transformer_layer_0" in [layer["name"] for layer in summary["layers"]]


def test_a_model_from_a_missing_keras_package_says_what_to_install(qtbot, window, keras_cv_file, capsys):
    if _installed("keras_cv"):
        pytest.skip("keras_cv is installed here")
    tab = wait_settled(qtbot, window.open_file(keras_cv_file))
    assert tab.stack.currentWidget() is tab.error_page
    reason = tab.error_page.reason.text()
    assert str(keras_cv_file) in reason
    assert "install keras-cv" in reason and "FakeBackbone" in reason
    assert not tab.error_page.choose_code.isVisibleTo(tab.error_page)  # no Python file would help

    assert main.main(["--summary", str(keras_cv_file)]) == 1
    assert "install keras-cv" in capsys.readouterr().err


def _installed(package: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(package) is not None


def test_lora_on_an_encoder_block_of_a_backbone_is_saved_in_keras_hubs_format(qtbot, window, bert_file, tmp_path):
    import h5py

    from tests.conftest import settled
    from tests.e2e.user import answer_file_dialog, use_menu
    from tests.shell.test_lora_clicks import enable_lora_from_the_layer_list

    tab = wait_settled(qtbot, window.open_file(bert_file))
    assert_bert_shown(tab)
    settled(qtbot, tab)
    described = enable_lora_from_the_layer_list(qtbot, tab, "transformer_layer_0", "4", "4")
    assert "to every Dense, EinsumDense, Embedding and Conv layer in <b>transformer_layer_0</b>" in described, described
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Enable LoRA (rank 4) on 6 layers"), timeout=LOAD_TIMEOUT)

    target = tmp_path / "bert.lora.h5"
    done = answer_file_dialog(qtbot, target)
    use_menu(window, "&Model", "Save LoRA &Weights…")
    qtbot.waitUntil(lambda: bool(done) and target.exists(), timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: "in KerasHub's format" in window.statusBar().currentMessage(), timeout=LOAD_TIMEOUT)
    assert window.statusBar().currentMessage().startswith("Saved the LoRA weights of 6 layers to ")
    with h5py.File(target) as saved:  # Backbone.save_lora_weights' layout: the rank, then one group per layer
        assert int(saved["lora/vars/rank"][()]) == 4
        assert sum(key.isdigit() for key in saved["lora"]) == 6
