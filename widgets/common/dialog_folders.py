"""Where a view's file dialogs start: the folder last used for that dialog, else the open
model's folder, else the home folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings


class DialogFolders:
    """Remembers, per dialog, the folder last used, in the app's settings.

    Args:
        settings: Where folders are remembered (nothing is remembered when ``None``).
        prefix: The settings group, e.g. ``"training_data/folders"``.

    Attributes:
        model_folder: The open model's folder, where a dialog starts the first time.
    """

    def __init__(self, settings: QSettings | None, prefix: str):
        self.settings = settings
        self.prefix = prefix
        self.model_folder: Path | None = None

    def start(self, dialog: str) -> str:
        """The folder a dialog opens in."""
        saved = self.settings.value(f"{self.prefix}/{dialog}", "") if self.settings is not None else ""
        if saved and Path(str(saved)).is_dir():
            return str(saved)
        if self.model_folder is not None and self.model_folder.is_dir():
            return str(self.model_folder)
        return str(Path.home())

    def remember(self, dialog: str, path: str | Path) -> None:
        """Records the folder of a path chosen in a dialog (the path itself for a folder)."""
        path = Path(path)
        if self.settings is not None:
            self.settings.setValue(f"{self.prefix}/{dialog}", str(path if path.is_dir() else path.parent))
