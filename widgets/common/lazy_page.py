"""A page whose widget is made the first time it is shown or asked for.

A model tab has views that many users never open (training, embeddings). Making them costs tens
of milliseconds of the GUI thread each; made while a model opens, that is a frozen window. A
:class:`LazyPage` stands in their place and makes its widget when the page is first shown, or when
code first needs the widget.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """A container that makes its one widget on first show or first use.

    Args:
        make: Makes the widget (called once).
        parent: The parent widget.
    """

    def __init__(self, make: Callable[[], QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self._make = make
        self._widget: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def made(self) -> QWidget | None:
        """The widget, or None when it has not been made."""
        return self._widget

    @property
    def widget(self) -> QWidget:
        """The widget, made now if it has not been."""
        return self.make()

    def make(self) -> QWidget:
        """Makes the widget if it has not been made.

        Returns:
            The widget.
        """
        if self._widget is None:
            self._widget = self._make()
            self._layout.addWidget(self._widget)
            if self.isVisible():
                self._widget.show()  # a layout shows a new child of a shown page only later
        return self._widget

    def showEvent(self, event) -> None:
        self.make()
        super().showEvent(event)
