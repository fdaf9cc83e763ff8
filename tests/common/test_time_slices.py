"""GUI-thread work spread over event-loop turns."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from tests.conftest import shown
from widgets.common.time_slices import paint_in_turns


def test_a_page_shown_with_its_paint_held_is_laid_out_now_and_painted_on_the_next_turn(qtbot):
    stack = shown(qtbot, QStackedWidget(), 400, 300)
    first, second = QLabel("first"), QLabel("second")
    stack.addWidget(first)
    stack.addWidget(second)
    paint_in_turns(stack, lambda: stack.setCurrentWidget(second))
    assert stack.currentWidget() is second and second.isVisible(), "the change is made at once"
    assert not stack.updatesEnabled(), "its paint waits for the next turn"
    qtbot.waitUntil(stack.updatesEnabled, timeout=2000)


class PaintLog(QObject):
    """Numbers a window's paint passes and records in which pass each watched widget painted."""

    def __init__(self, window: QWidget, widgets: dict[str, QWidget]):
        super().__init__(window)
        self.passes = 0
        self.painted: dict[str, list[int]] = {name: [] for name in widgets}
        self._names = {id(widget): name for name, widget in widgets.items()}
        window.installEventFilter(self)
        for widget in widgets.values():
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.UpdateRequest:
            self.passes += 1
        elif event.type() == QEvent.Type.Paint and id(watched) in self._names:
            self.painted[self._names[id(watched)]].append(self.passes)
        return False


def test_a_page_painted_in_turns_paints_itself_and_then_each_big_part_in_passes_of_their_own(qtbot):
    window = shown(qtbot, QStackedWidget(), 400, 300)
    page = QWidget()
    layout = QVBoxLayout(page)
    parts = [QLabel(f"part {n}") for n in range(2)]
    frame = QLabel("frame")
    for widget in (frame, *parts):
        widget.setAutoFillBackground(True)  # painted whenever its area is
        layout.addWidget(widget)
    window.addWidget(page)
    log = PaintLog(window, {"frame": frame, "part 0": parts[0], "part 1": parts[1]})
    paint_in_turns(window, lambda: window.setCurrentWidget(page), parts)
    assert page.isVisible() and not any(log.painted.values()), "laid out now, painted later"
    qtbot.waitUntil(lambda: all(log.painted.values()), timeout=2000)
    first = {name: passes[0] for name, passes in log.painted.items()}
    assert first["frame"] < first["part 0"] < first["part 1"], f"paint passes: {log.painted}"
