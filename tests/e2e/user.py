"""What a user can do with the window, as test steps: click, type, press keys, use menus,
answer file dialogs and message boxes, drop files. Every step first checks that what it
touches is visible and enabled, the way a person could only click what they can see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRect, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QStyle,
    QStyleOptionViewItem,
    QTabBar,
    QTabWidget,
    QWidget,
)

DIALOG_TIMEOUT_MS = 20_000


def _plain(text: str) -> str:
    """A menu or button text without its mnemonic ampersands and trailing dots."""
    return text.replace("&", "").rstrip(".…").strip()


def reachable(widget: QWidget) -> None:
    """Fails unless a user could click ``widget``: it is visible and enabled."""
    assert widget.isVisible(), f"{_describe(widget)} is not visible"
    assert widget.isEnabled(), f"{_describe(widget)} is not enabled"


def _describe(widget: QWidget) -> str:
    text = widget.text() if hasattr(widget, "text") else ""
    return f"{type(widget).__name__} {widget.objectName() or ''} {text!r}".strip()


def click(qtbot, widget: QWidget, pos: QPoint | None = None) -> None:
    """Clicks ``widget`` (at ``pos``, else its centre) with the left mouse button."""
    reachable(widget)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos if pos is not None else widget.rect().center())


def button(parent: QWidget, text: str) -> QAbstractButton:
    """The visible button in ``parent`` whose text starts with ``text`` (mnemonics ignored)."""
    wanted = _plain(text)
    found = [b for b in parent.findChildren(QAbstractButton) if b.isVisible() and _plain(b.text()).startswith(wanted)]
    assert found, f"no visible button {text!r} in {_describe(parent)}"
    return found[0]


def click_button(qtbot, parent: QWidget, text: str) -> QAbstractButton:
    """Clicks the visible button in ``parent`` whose text starts with ``text``."""
    target = button(parent, text)
    click(qtbot, target)
    return target


def type_into(qtbot, line_edit: QLineEdit, text: str, *, clear: bool = True) -> None:
    """Types ``text`` into a line edit as keystrokes (after selecting what it holds)."""
    reachable(line_edit)
    line_edit.setFocus()
    if clear:
        line_edit.selectAll()
        QTest.keyClick(line_edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(line_edit, text)


def press(qtbot, widget: QWidget, sequence: str) -> None:
    """Presses a key sequence such as ``"Ctrl+3"`` with ``widget`` focused."""
    reachable(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.window().isActiveWindow, timeout=DIALOG_TIMEOUT_MS)  # shortcuts need it
    widget.setFocus()
    QTest.keySequence(widget, QKeySequence(sequence))


def menu_action(window: QMainWindow, *path: str) -> QAction:
    """The action at ``path`` in the window's menu bar, e.g. ``("File", "Open Recent", "x.keras")``."""
    actions = window.menuBar().actions()
    action = None
    for depth, name in enumerate(path):
        matches = [a for a in actions if not a.isSeparator() and _plain(a.text()).startswith(_plain(name))]
        assert matches, f"no menu item {name!r} under {' ▸ '.join(path[:depth]) or 'the menu bar'}"
        action = matches[0]
        if depth < len(path) - 1:
            menu = action.menu()
            assert isinstance(menu, QMenu), f"{name!r} is not a menu"
            menu.aboutToShow.emit()  # menus that fill themselves when opened
            actions = menu.actions()
    return action


def use_menu(window: QMainWindow, *path: str) -> None:
    """Chooses a menu item the way a user does: only when every step is visible and enabled."""
    action = menu_action(window, *path)
    for depth in range(1, len(path) + 1):
        step = menu_action(window, *path[:depth])
        assert step.isVisible(), f"menu item {' ▸ '.join(path[:depth])} is hidden"
        assert step.isEnabled(), f"menu item {' ▸ '.join(path[:depth])} is disabled"
    action.trigger()


def _when_modal(qtbot, kind: type, answer: Callable[[QWidget], None]) -> list[bool]:
    """Answers the next modal widget of type ``kind`` with ``answer`` once it appears."""
    done: list[bool] = []

    def poll() -> None:
        widget = QApplication.activeModalWidget()
        if isinstance(widget, kind) and widget.isVisible():
            answer(widget)
            done.append(True)
            return
        QTimer.singleShot(50, poll)

    QTimer.singleShot(0, poll)
    return done


def answer_file_dialog(qtbot, path: str | Path) -> list[bool]:
    """Arranges for the next file dialog to be answered with ``path``: the path is typed into
    its file-name field and Enter is pressed, as a user would. Call it before the action that
    opens the dialog; after that action, ``qtbot.waitUntil(lambda: bool(done))`` confirms it.

    Returns:
        A list that gets one item once the dialog was answered.
    """

    def answer(dialog: QFileDialog) -> None:
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        assert edit is not None, "the file dialog has no file-name field (a native dialog?)"
        edit.setText(str(path))
        QTest.keyClick(edit, Qt.Key.Key_Return)
        if dialog.isVisible():  # a folder typed into an open-file dialog only navigates
            dialog.selectFile(str(path))
            dialog.accept()

    return _when_modal(qtbot, QFileDialog, answer)


def answer_message_box(qtbot, button_text: str) -> list[str]:
    """Arranges for the next message box to be answered by clicking its button ``button_text``.

    Returns:
        A list that gets the box's text once it was answered.
    """
    seen: list[str] = []

    def answer(box: QMessageBox) -> None:
        for candidate in box.buttons():
            if _plain(candidate.text()).startswith(_plain(button_text)):
                seen.append(box.text())
                qtbot.mouseClick(candidate, Qt.MouseButton.LeftButton)
                return
        raise AssertionError(f"no button {button_text!r} in message box {box.text()!r}")

    _when_modal(qtbot, QMessageBox, answer)
    return seen


def drop_files(widget: QWidget, paths: Iterable[str | Path]) -> None:
    """Drops files on ``widget`` as a file manager does: a drag enter, then a drop with URLs."""
    reachable(widget)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(Path(p).absolute())) for p in paths])
    where = QPointF(widget.rect().center())
    enter = QDragEnterEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), f"{_describe(widget)} refused the drag"
    drop = QDropEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def choose_from_popup(qtbot, text: str) -> list[str]:
    """Arranges for the next popup menu (a context menu) to be answered by clicking its item
    ``text``. Call it before the right-click that opens the menu.

    Returns:
        A list that gets the chosen item's text once it was clicked.
    """
    chosen: list[str] = []

    def poll() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu) and menu.isVisible():
            for action in menu.actions():
                if not action.isSeparator() and _plain(action.text()).startswith(_plain(text)):
                    assert action.isVisible() and action.isEnabled(), f"menu item {text!r} is disabled"
                    chosen.append(action.text())
                    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
                    return
            names = [a.text() for a in menu.actions() if not a.isSeparator()]
            menu.close()
            raise AssertionError(f"no item {text!r} in the menu {names}")
        QTimer.singleShot(50, poll)

    QTimer.singleShot(0, poll)
    return chosen


def right_click(qtbot, widget: QWidget, pos: QPoint) -> None:
    """Right-clicks ``widget`` at ``pos``: the context-menu event a right click makes Qt send.
    (Call :func:`choose_from_popup` first: the menu blocks until it is answered.)"""
    from PySide6.QtGui import QContextMenuEvent

    reachable(widget)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)


def use_layer_menu(qtbot, tab, name: str, item: str) -> None:
    """Right-clicks layer ``name`` in the tab's layer list (on its name, scrolled to) and clicks
    ``item`` in the menu that pops up."""
    tree = tab.layer_tree._tree
    row = tab.layer_tree._items[name]
    tree.scrollToItem(row)
    cell = tree.visualRect(tree.indexFromItem(row, 0)).intersected(tree.viewport().rect())
    assert not cell.isEmpty(), f"{name} is not visible in the layer list"
    chosen = choose_from_popup(qtbot, item)
    right_click(qtbot, tree.viewport(), cell.center())
    qtbot.waitUntil(lambda: bool(chosen), timeout=DIALOG_TIMEOUT_MS)


def check_item(qtbot, view: QListWidget, text: str) -> QListWidgetItem:
    """Clicks the check box of the shown list item whose text starts with ``text``.

    Returns:
        The item clicked (its check state has toggled if the click hit the box).
    """
    reachable(view)
    rows = (view.item(row) for row in range(view.count()))
    found = [item for item in rows if not item.isHidden() and item.text().startswith(text)]
    assert found, f"no item {text!r} shown in {_describe(view)}"
    item = found[0]
    assert item.flags() & Qt.ItemFlag.ItemIsEnabled, f"list item {text!r} is disabled"
    view.scrollToItem(item)
    option = QStyleOptionViewItem()
    option.initFrom(view.viewport())
    option.rect = view.visualItemRect(item)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = view.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, view)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=box.center())
    return item


def choose_in_combo(qtbot, combo: QComboBox, text: str) -> None:
    """Opens a combo box's list with a click and chooses the item whose text starts with
    ``text`` with the arrow keys and Enter (Qt ignores a click in a list just opened)."""
    reachable(combo)
    index = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    assert index >= 0, f"no item {text!r} in {_describe(combo)}: {[combo.itemText(i) for i in range(combo.count())]}"
    assert combo.model().flags(combo.model().index(index, combo.modelColumn())) & Qt.ItemFlag.ItemIsEnabled, (
        f"item {text!r} of {_describe(combo)} is disabled"
    )
    click(qtbot, combo)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=DIALOG_TIMEOUT_MS)
    current = view.currentIndex().row()
    key = Qt.Key.Key_Down if index > current else Qt.Key.Key_Up
    for _ in range(abs(index - current)):
        QTest.keyClick(view, key)
    assert view.currentIndex().row() == index, f"the arrow keys did not reach {text!r} in {_describe(combo)}"
    QTest.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=DIALOG_TIMEOUT_MS)
    assert combo.currentIndex() == index, f"{_describe(combo)} shows {combo.currentText()!r}, not {text!r}"


def click_tab(qtbot, tabs: QTabWidget | QTabBar, text: str) -> None:
    """Clicks the tab (of a tab widget, or a bare tab bar) whose title starts with ``text``."""
    bar = tabs if isinstance(tabs, QTabBar) else tabs.tabBar()
    reachable(bar)
    found = [i for i in range(bar.count()) if _plain(bar.tabText(i)).startswith(_plain(text))]
    assert found, f"no tab {text!r}: {[bar.tabText(i) for i in range(bar.count())]}"
    assert bar.isTabVisible(found[0]) and bar.isTabEnabled(found[0]), f"tab {text!r} is hidden or disabled"
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(found[0]).center())


def type_number(qtbot, spin: QAbstractSpinBox, text: str) -> None:
    """Types a number into a spin box over its current value, then presses Enter."""
    reachable(spin)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    QTest.keyClick(spin, Qt.Key.Key_Return)


def click_plot(qtbot, plot, x: float, y: float) -> None:
    """Clicks a pyqtgraph ``PlotWidget`` at the data coordinates ``(x, y)``."""
    reachable(plot)
    scene_pos = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(x, y))
    pos = plot.mapFromScene(scene_pos)
    assert plot.viewport().rect().contains(pos), f"({x}, {y}) is outside the shown part of the plot"
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def answer_dialog(qtbot, kind: type, answer: Callable[[QWidget], None]) -> list[bool]:
    """Arranges for the next modal dialog of class ``kind`` (the app's own dialogs, such as the
    transfer builder) to be answered by ``answer(dialog)``, which clicks and types in it with the
    other steps. Call it before the step that opens the dialog.

    Returns:
        A list that gets one item once ``answer`` has run.
    """

    def answer_or_reject(dialog: QWidget) -> None:
        try:
            answer(dialog)
        except BaseException:
            dialog.reject()  # a failed step must not leave the test waiting on the dialog
            raise

    return _when_modal(qtbot, kind, answer_or_reject)


def error_messages() -> list[str]:
    """The texts of the error messages on screen (a failed job, an unexpected exception)."""
    return [
        widget.text()
        for widget in QApplication.topLevelWidgets()
        if isinstance(widget, QMessageBox) and widget.objectName() == "errorMessage" and widget.isVisible()
    ]


def shown_rect(widget: QWidget) -> QRect:
    """The part of ``widget`` inside every pane that holds it, in window coordinates."""
    window = widget.window()
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None and not parent.isWindow():
        rect &= QRect(parent.mapTo(window, QPoint(0, 0)), parent.size())
        parent = parent.parentWidget()
    return rect & window.rect()


def on_screen(qtbot, widget: QWidget, timeout: int = 5000) -> None:
    """Waits until part of ``widget`` shows on screen, not clipped away by the panes that hold
    it (``isVisible`` alone is true for a widget pushed out of sight)."""

    def shown() -> None:
        assert widget.isVisible(), f"{_describe(widget)} is not visible"
        assert not shown_rect(widget).isEmpty(), f"{_describe(widget)} is clipped out of sight"

    qtbot.waitUntil(shown, timeout=timeout)


def scroll_to(qtbot, widget: QWidget) -> None:
    """Scrolls the scroll areas holding ``widget`` until it shows, as a user scrolls a pane."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget)
        parent = parent.parentWidget()
    on_screen(qtbot, widget)
