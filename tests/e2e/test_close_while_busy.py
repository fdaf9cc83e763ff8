"""Close a tab or the whole window while a model loads or trains: the app asks what it should,
stops its background work and ends without errors."""

import shutil

import pytest

from tests.conftest import ROOT, SAMPLES
from tests.e2e.model_steps import LOAD_TIMEOUT_MS, picture, tab_title, wait_for_model
from tests.e2e.user import (
    DIALOG_TIMEOUT_MS,
    answer_file_dialog,
    answer_message_box,
    click,
    error_messages,
    menu_action,
    press,
    type_into,
    use_menu,
)

DEPTH = 150
"""Dense layers in the model that takes a few seconds to load."""
DIGITS = ROOT / "resources" / "data" / "digits"
IMAGES_PER_CLASS = 12


@pytest.fixture(scope="module")
def deep_model(tmp_path_factory):
    """A functional stack of many small Dense layers: few weights, but slow to load."""
    import keras

    inputs = keras.Input((8,), name="features")
    x = inputs
    for i in range(DEPTH):
        x = keras.layers.Dense(8, activation="relu", name=f"dense_{i:03d}")(x)
    path = tmp_path_factory.mktemp("deep") / "deep_stack.keras"
    keras.Model(inputs, x, name="deep_stack").save(path)
    return path


@pytest.fixture
def digit_folders(tmp_path):
    """A few of the bundled digit images, one sub-folder per class."""
    folder = tmp_path / "digits"
    for class_folder in sorted(DIGITS.iterdir()):
        (folder / class_folder.name).mkdir(parents=True)
        for image in sorted(class_folder.glob("*.png"))[:IMAGES_PER_CLASS]:
            shutil.copy(image, folder / class_folder.name / image.name)
    return folder


def wait_until_loading(qtbot, window):
    """Waits until the tab in front shows its busy page with Cancel, and returns the tab."""
    qtbot.waitUntil(lambda: window.current_tab() is not None and window.current_tab().busy_page.isVisible(), timeout=10_000)
    return window.current_tab()


def quit_app(qtbot, window) -> None:
    """File ▸ Quit, then waits until the window is gone."""
    use_menu(window, "File", "Quit")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_TIMEOUT_MS)


def recent_files(window) -> list[str]:
    """The file names File ▸ Open Recent lists."""
    menu = menu_action(window, "File", "Open Recent").menu()
    return [action.text() for action in menu.actions() if not action.isSeparator()]


def test_cancel_a_load_then_open_another_model_and_quit(qtbot, launch, deep_model):
    window = launch(deep_model)
    tab = wait_until_loading(qtbot, window)
    assert tab_title(window) == "deep_stack.keras"
    assert "deep_stack.keras" in tab.busy_page.message.text()
    picture(window, "loading_deep_stack")
    click(qtbot, tab.busy_page.cancel)
    assert window.tabs.count() == 0 and window.pages.currentWidget() is window.start_page

    use_menu(window, "File", "Open Sample", "digits_cnn.keras")
    wait_for_model(qtbot, window, "digits_cnn.keras")
    assert str(deep_model) not in recent_files(window)
    assert not error_messages()
    quit_app(qtbot, window)
    assert not error_messages()


def test_quit_while_a_model_loads(qtbot, launch, deep_model):
    window = launch(deep_model)
    wait_until_loading(qtbot, window)
    quit_app(qtbot, window)
    assert not error_messages()


def start_training(qtbot, window, images) -> object:
    """Opens the Training view of the tab in front, chooses the image folder, sets many epochs
    and starts; returns the tab once the first batches have been reported."""
    tab = window.current_tab()
    press(qtbot, window, "Ctrl+4")
    training = tab.training
    qtbot.waitUntil(lambda: training.data_editor is not None and training.data_editor.isVisible(), timeout=LOAD_TIMEOUT_MS)
    editor = training.data_editor
    assert editor.kind_combo.currentText().startswith("Image folder")
    answered = answer_file_dialog(qtbot, images)
    click(qtbot, editor.folder_button)
    qtbot.waitUntil(lambda: bool(answered), timeout=DIALOG_TIMEOUT_MS)
    assert editor.summary.text().startswith("10 class folders: 0, 1, 2")
    type_into(qtbot, training.epochs, "200")
    click(qtbot, training.start_button)
    qtbot.waitUntil(lambda: training.progress.isVisible() and training.progress.value() > 0, timeout=LOAD_TIMEOUT_MS)
    assert training.stop_button.isEnabled() and not training.start_button.isEnabled()
    picture(window, "training_running")
    return tab


def test_close_the_tab_while_training_asks_first(qtbot, launch, digit_folders):
    window = launch(SAMPLES / "digits_cnn.keras")
    wait_for_model(qtbot, window, "digits_cnn.keras")
    tab = start_training(qtbot, window, digit_folders)

    asked = answer_message_box(qtbot, "Cancel")
    press(qtbot, window, "Ctrl+W")
    qtbot.waitUntil(lambda: bool(asked), timeout=DIALOG_TIMEOUT_MS)
    assert "digits_cnn.keras is being trained" in asked[0]
    assert window.tabs.count() == 1 and tab.training.stop_button.isEnabled()

    asked = answer_message_box(qtbot, "Yes")
    press(qtbot, window, "Ctrl+W")
    qtbot.waitUntil(lambda: bool(asked), timeout=DIALOG_TIMEOUT_MS)
    assert window.tabs.count() == 0 and window.pages.currentWidget() is window.start_page
    quit_app(qtbot, window)
    assert not error_messages()


def test_quit_while_training_asks_first(qtbot, launch, digit_folders):
    window = launch(SAMPLES / "digits_cnn.keras")
    wait_for_model(qtbot, window, "digits_cnn.keras")
    start_training(qtbot, window, digit_folders)

    asked = answer_message_box(qtbot, "Yes")
    use_menu(window, "File", "Quit")
    qtbot.waitUntil(lambda: bool(asked), timeout=DIALOG_TIMEOUT_MS)
    assert "digits_cnn.keras is being trained" in asked[0]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_TIMEOUT_MS)
    assert not error_messages()
