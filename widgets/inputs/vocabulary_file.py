"""Choosing a vocabulary file (one token per line, as ``TextVectorization`` writes it), shared by
the sequence inputs of Activations, the text data of Training and the Embeddings source."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

from widgets.common.dialog_folders import DialogFolders

VOCABULARY_FILTER = "Text (*.txt *.tsv);;All files (*)"


def ask_vocabulary_file(parent: QWidget, folders: DialogFolders) -> str | None:
    """Asks for a vocabulary file, starting in the folder last used for one (else the model's).

    Returns:
        The chosen file, remembered for the next dialog, or ``None`` when the user cancelled.
    """
    path, _ = QFileDialog.getOpenFileName(parent, "Vocabulary file (one token per line)", folders.start("vocabulary"), VOCABULARY_FILTER)
    if not path:
        return None
    folders.remember("vocabulary", path)
    return path
