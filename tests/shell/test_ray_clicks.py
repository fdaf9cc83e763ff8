"""A model on a Ray cluster (a real Ray instance on 127.0.0.1), clicked through as a user does:
connect, open, freeze and undo, extract, train and stop, save, lose the actor and reconnect; the
numbers equal the local kernel's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from inspector.jobs import KEPT, MODEL
from tests.conftest import ROOT, SAMPLES, kernel_result
from tests.e2e.user import (
    answer_dialog,
    answer_file_dialog,
    answer_message_box,
    check_item,
    click,
    drop_files,
    type_into,
    use_menu,
)
from tests.kernel import kernel_jobs
from tests.shell.test_kernel_faults import freeze_from_layer_list, idle
from tests.shell.test_main_window import wait_loaded
from widgets.shell.cluster_dialog import ClusterDialog, ClusterPathDialog

TIMEOUT = 120_000
DIGITS = ROOT / "resources" / "data" / "digits"


def connect(qtbot, window, address: str) -> None:
    """File ▸ Connect to Ray Cluster…, the address typed, Connect clicked; waits until new
    models open there."""

    def answer(dialog: ClusterDialog) -> None:
        type_into(qtbot, dialog.address.lineEdit(), address)
        click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))

    answered = answer_dialog(qtbot, ClusterDialog, answer)
    use_menu(window, "File", "Connect to Ray Cluster…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    qtbot.waitUntil(lambda: window.kernel_location.remote, timeout=TIMEOUT)
    assert window.statusBar().currentMessage().startswith(f"Connected to {address}: new models open on ")


def extract_threes(qtbot, window, tab, folder, *, delete_after_click: bool = False) -> dict:
    """View ▸ Activations, a folder of images dropped, the conv layer extracted; its outputs.

    Args:
        delete_after_click: Delete the folder once Extract is clicked and the request has left
            the window: a kernel on another computer has no such folder, so the images must
            travel with the request.
    """
    window.tabs.setCurrentWidget(tab)
    use_menu(window, "View", "Activations")
    panel = tab.activations
    qtbot.waitUntil(lambda: panel.inputs is not None and panel.inputs.isVisible(), timeout=TIMEOUT)
    drop_files(panel, [folder])
    type_into(qtbot, panel.inputs.editors["aux_input"].values, "0.5, 0.5, 0.3, 0.3")
    check_item(qtbot, panel.layer_list, "conv")
    with qtbot.waitSignal(panel.extracted, timeout=TIMEOUT):
        click(qtbot, panel.extract_button)
        if delete_after_click:
            qtbot.waitUntil(lambda: not tab.runner.sending, timeout=TIMEOUT)
            shutil.rmtree(folder)
    return kernel_result(qtbot, tab, kernel_jobs.kept_outputs_job, KEPT, panel.activations.number)[1]


def test_a_model_on_ray_works_as_a_local_one_and_survives_losing_its_actor(qtbot, window, ray_cluster, tmp_path):
    sample = SAMPLES / "two_input_two_output.keras"
    local = wait_loaded(qtbot, window.open_file(sample))
    connect(qtbot, window, ray_cluster.address)
    remote = wait_loaded(qtbot, window.open_file(sample))
    assert remote is not local and remote.runner.location.remote
    qtbot.waitUntil(lambda: remote.place is not None, timeout=TIMEOUT)
    assert window.kernel_label.text().startswith(f"Kernel: {ray_cluster.address} · ")
    assert "CPU" in window.kernel_label.text()
    assert remote.info == local.info

    idle(qtbot, remote)
    freeze_from_layer_list(qtbot, remote, "conv")
    use_menu(window, "Edit", "Undo Freeze conv")
    qtbot.waitUntil(lambda: remote.info.layer_index()["conv"].trainable_params > 0, timeout=TIMEOUT)
    freeze_from_layer_list(qtbot, remote, "conv")  # kept in the journal for the reconnect

    folder = tmp_path / "threes"
    folder.mkdir()
    for png in sorted((DIGITS / "3").glob("*.png"))[:3]:
        shutil.copy(png, folder / png.name)
    here = extract_threes(qtbot, window, local, folder)
    there = extract_threes(qtbot, window, remote, folder, delete_after_click=True)
    assert here["conv"].shape == there["conv"].shape == (3, 8, 8, 16)
    assert np.array_equal(here["conv"], there["conv"]), "activations differ between the local and the Ray kernel"

    # Save As downloads the model from the cluster to this computer.
    target = tmp_path / "saved_from_ray.keras"
    window.tabs.setCurrentWidget(remote)
    answered = answer_file_dialog(qtbot, target)
    use_menu(window, "File", "Save As…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    qtbot.waitUntil(lambda: target.exists() and remote.path == target, timeout=TIMEOUT)
    idle(qtbot, remote)
    freeze_from_layer_list(qtbot, remote, "dense_1")  # an unsaved edit, for the reconnect to re-apply

    # The actor is killed on the cluster: the tab says so, the local tab keeps working.
    ray_cluster.kill_actor(remote.place.actor)
    qtbot.waitUntil(lambda: remote.banner.isVisible() and remote.banner.restart.isVisible(), timeout=TIMEOUT)
    assert "its Ray actor ended" in remote.banner.message.text()
    assert remote.banner.restart.text() == "Reconnect"
    assert window.kernel_label.text().startswith("Kernel: stopped")
    idle(qtbot, local)
    window.tabs.setCurrentWidget(local)
    freeze_from_layer_list(qtbot, local, "dense_1")
    window.tabs.setCurrentWidget(remote)
    click(qtbot, remote.banner.restart)
    qtbot.waitUntil(lambda: not remote.banner.isVisible(), timeout=TIMEOUT)
    idle(qtbot, remote)
    assert remote.info.layer_index()["dense_1"].trainable_params == 0, "the unsaved edit was not re-applied"
    assert kernel_result(qtbot, remote, kernel_jobs.layer_trainable_job, MODEL, "dense_1") is False
    assert remote.runner.location.remote


def test_training_on_ray_reports_progress_and_stops(qtbot, window, ray_cluster):
    connect(qtbot, window, ray_cluster.address)
    tab = wait_loaded(qtbot, window.open_file(SAMPLES / "digits_cnn.keras"))
    use_menu(window, "View", "Training")
    panel = tab.training
    qtbot.waitUntil(lambda: panel.data_editor is not None and panel.data_editor.isVisible(), timeout=TIMEOUT)
    editor = panel.data_editor
    note = panel.findChild(QLabel, "remoteDataNote")
    assert note is not None and note.isVisible() and ray_cluster.address in note.text()
    answered = answer_file_dialog(qtbot, DIGITS)
    click(qtbot, editor.folder_button)
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    type_into(qtbot, panel.epochs, "200")
    before = kernel_result(qtbot, tab, kernel_jobs.weights_job, MODEL)
    qtbot.waitUntil(panel.start_button.isEnabled, timeout=TIMEOUT)
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.progress.isVisible() and panel.progress.value() > 0, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.trained, timeout=TIMEOUT):
        click(qtbot, panel.stop_button)
    assert panel.result.epochs_done < 200
    after = kernel_result(qtbot, tab, kernel_jobs.weights_job, MODEL)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "training changed nothing"


def test_a_file_on_the_cluster_side_opens_and_is_saved_there(qtbot, window, ray_cluster, tmp_path):
    on_cluster = tmp_path / "on_cluster.keras"  # the cluster is this machine here
    shutil.copy(SAMPLES / "transfer_digits.keras", on_cluster)
    connect(qtbot, window, ray_cluster.address)

    def answer(dialog: ClusterPathDialog) -> None:
        type_into(qtbot, dialog.path.lineEdit(), str(on_cluster))
        click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))

    answered = answer_dialog(qtbot, ClusterPathDialog, answer)
    use_menu(window, "File", "Open Path on Cluster…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    tab = wait_loaded(qtbot, window.current_tab())
    assert tab.on_cluster and tab.path == on_cluster
    idle(qtbot, tab)
    freeze_from_layer_list(qtbot, tab, "head")
    before = on_cluster.stat().st_mtime_ns
    asked = answer_message_box(qtbot, "Save")
    use_menu(window, "File", "Save")
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    qtbot.waitUntil(lambda: not tab.modified, timeout=TIMEOUT)
    assert on_cluster.stat().st_mtime_ns != before
    summary = subprocess.run(
        [sys.executable, "main.py", "--summary", str(on_cluster)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    head = next(layer for layer in json.loads(summary.stdout)["layers"] if layer["name"] == "head")
    assert head["trainable"] is False

    # Save As asks for a path on the cluster's side (not this computer's file dialog).
    elsewhere = tmp_path / "saved_on_cluster.keras"

    def save_there(dialog: ClusterPathDialog) -> None:
        assert dialog.windowTitle() == "Save on cluster"
        type_into(qtbot, dialog.path.lineEdit(), str(elsewhere))
        click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))

    answered = answer_dialog(qtbot, ClusterPathDialog, save_there)
    use_menu(window, "File", "Save As…")
    qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
    qtbot.waitUntil(lambda: elsewhere.exists() and tab.path == elsewhere, timeout=TIMEOUT)
    assert tab.on_cluster


def test_a_cluster_that_goes_away_is_named_on_its_tabs_and_the_others_keep_working(qtbot, window):
    from tests.ray_cluster import RayCluster

    local = wait_loaded(qtbot, window.open_file(SAMPLES / "digits_cnn.keras"))
    cluster = RayCluster()
    try:
        connect(qtbot, window, cluster.address)
        remote = wait_loaded(qtbot, window.open_file(SAMPLES / "transfer_digits.keras"))
        idle(qtbot, remote)
    finally:
        cluster.stop()
    qtbot.waitUntil(lambda: remote.banner.isVisible() and remote.banner.restart.isVisible(), timeout=TIMEOUT)
    assert f"the connection to the Ray cluster at {cluster.address} was lost" in remote.banner.message.text()
    assert remote.stack.currentWidget() is remote.content, "the tab lost its views"

    click(qtbot, remote.banner.restart)  # Reconnect, with nothing there any more
    qtbot.waitUntil(lambda: "The restart failed" in remote.banner.message.text(), timeout=TIMEOUT)
    text = remote.banner.message.text()
    # The new kernel may be the spare started before the cluster went away, which then finds it gone.
    assert (
        f"could not connect to the Ray cluster at {cluster.address}: nothing answers there" in text
        or f"the connection to the Ray cluster at {cluster.address} was lost" in text
    ), text

    window.tabs.setCurrentWidget(local)
    idle(qtbot, local)
    freeze_from_layer_list(qtbot, local, "probs")
