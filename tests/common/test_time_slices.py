"""GUI-thread work spread over event-loop turns."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStackedWidget

from tests.conftest import shown
from widgets.common.time_slices import paint_next_turn


def test_a_page_shown_with_its_paint_held_is_laid_out_now_and_painted_on_the_next_turn(qtbot):
    stack = shown(qtbot, QStackedWidget(), 400, 300)
    first, second = QLabel("first"), QLabel("second")
    stack.addWidget(first)
    stack.addWidget(second)
    paint_next_turn(stack, lambda: stack.setCurrentWidget(second))
    assert stack.currentWidget() is second and second.isVisible(), "the change is made at once"
    assert not stack.updatesEnabled(), "its paint waits for the next turn"
    qtbot.waitUntil(stack.updatesEnabled, timeout=2000)
