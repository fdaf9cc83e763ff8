"""What a tab shows when its file cannot be opened: the file's safety report first, then the
reason and what the user can do; and the dialog that asks before code from a file runs."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.errors import MissingClassesError, ModelLoadError, UnsafeModelError

KIND_NAMES = {
    "lambda": "Python code",
    "module": "Code from a module",
    "custom_class": "Custom class",
    "tfsm_layer": "TFSMLayer",
    "file_reference": "Path to a file",
    "hdf5_external": "HDF5 link / external data",
    "size": "Declared size",
}
"""How each kind of finding is named in the window."""


class SafetyReportView(QTreeWidget):
    """The findings of a file's safety report, one row each: kind, where, what."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("safetyReport")
        self.setHeaderLabels(["Kind", "Where in the file", "What"])
        self.setRootIsDecorated(False)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)

    def show_findings(self, findings) -> None:
        """Lists ``findings`` (:class:`~inspector.model.file_safety.Finding` items)."""
        self.clear()
        for finding in findings:
            item = QTreeWidgetItem([KIND_NAMES.get(finding.kind, finding.kind), finding.where, finding.detail])
            item.setToolTip(1, finding.where)
            item.setToolTip(2, finding.detail)
            self.addTopLevelItem(item)
        self.resizeColumnToContents(1)
        self.setColumnWidth(1, min(self.columnWidth(1), 320))
        rows = max(1, min(len(findings), 8))
        self.setFixedHeight(self.header().sizeHint().height() + rows * (self.sizeHintForRow(0) + 2) + 6)


class RefusalPage(QWidget):
    """The reason a file could not be opened, its safety report, and the actions that fit."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.report_title = QLabel("Safety report: what opening this file would run or read")
        self.report_title.setStyleSheet("font-weight: bold;")
        self.report = SafetyReportView()
        self.reason = QLabel()
        self.reason.setObjectName("errorReason")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_code = QPushButton("Choose Python file with the classes…")
        self.allow_code = QPushButton("Open anyway and run its code…")
        self.retry = QPushButton("Retry")
        self.close_tab = QPushButton("Close tab")
        buttons = QHBoxLayout()
        for button in (self.choose_code, self.allow_code, self.retry, self.close_tab):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.addWidget(self.title)
        layout.addWidget(self.report_title)
        layout.addWidget(self.report)
        layout.addWidget(self.reason)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def show_error(self, path: Path, error: Exception) -> None:
        """Shows ``error`` for ``path``, with the file's safety report when it has one, and
        offers the actions that fit it."""
        self.title.setText(f"Could not open {path.name}")
        findings = getattr(error, "findings", ())
        self.report_title.setVisible(bool(findings))
        self.report.setVisible(bool(findings))
        self.report.show_findings(findings)
        if isinstance(error, ModelLoadError):
            self.reason.setText(f"{error.path}\n\n{error.reason[0].upper()}{error.reason[1:]}.".replace("..", "."))
        else:
            self.reason.setText(f"{path}\n\nUnexpected error: {type(error).__name__}: {error}")
        self.choose_code.setVisible(isinstance(error, MissingClassesError))
        self.allow_code.setVisible(isinstance(error, UnsafeModelError))


def ask_to_run_code(parent: QWidget, path: Path, findings) -> bool:
    """Asks whether Python code stored in ``path`` may run, listing the file's safety report.

    Returns:
        Whether the user chose Open.
    """
    rows = "".join(
        f"<li><b>{html.escape(KIND_NAMES.get(f.kind, f.kind))}</b> at <code>{html.escape(f.where)}</code>: "
        f"{html.escape(f.detail)}</li>"
        for f in findings
    )
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Run code from this file?",
        f"<p>{html.escape(path.name)} holds Python code. Opening it runs that code with your permissions. "
        "Continue only if you trust where the file came from.</p>"
        + (f"<p>Its safety report:</p><ul>{rows}</ul>" if rows else ""),
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("consentDialog")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Open
