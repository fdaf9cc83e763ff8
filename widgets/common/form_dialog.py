"""The layout the app's small option dialogs share: a sentence, a form, extra options, buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget


def lay_out_form_dialog(
    dialog: QDialog, intro: QLabel, rows: list[tuple[str, QWidget]], extras: list[QWidget], ok_text: str, width: int
) -> QDialogButtonBox:
    """Lays out ``dialog``: ``intro`` on top, then ``rows`` as a form, then ``extras``, then OK
    (labelled ``ok_text``) and Cancel, at ``width`` pixels.

    Returns:
        The button box (OK accepts, Cancel rejects).
    """
    form = QFormLayout()
    for label, field in rows:
        form.addRow(label, field)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(intro)
    layout.addLayout(form)
    for extra in extras:
        layout.addWidget(extra)
    layout.addWidget(buttons)
    dialog.resize(width, dialog.sizeHint().height())
    return buttons
