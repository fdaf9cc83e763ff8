"""The recipe for training data that the window builds and the model's kernel runs.

:class:`DataSource` names a data source by kind; called in the kernel with the model, it runs
the source's function (:mod:`~inspector.training.image_folder_data`,
:mod:`~inspector.training.array_data`, :mod:`~inspector.training.text_data` or
:mod:`~inspector.training.generator_data`). Importing this module stays cheap: Keras is
imported when the data is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.training.array_data import array_data
from inspector.training.generator_data import generator_data
from inspector.training.image_folder_data import image_folder_data
from inspector.training.text_data import text_data
from inspector.training.training_data import TrainingData


@dataclass(frozen=True)
class DataSource:
    """A recipe for training data that travels to the model's kernel and runs there as
    ``source(model, batch_size)``.

    Attributes:
        kind: ``"images"``, ``"arrays"``, ``"text"`` or ``"generator"``.
        path: The folder or file.
        options: Keyword arguments of the core function for the kind.
    """

    kind: str
    path: Path
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, model, batch_size: int = 32) -> TrainingData:
        """Builds the training data (reads the data set; call it where the model is)."""
        if self.kind == "images":
            return image_folder_data(self.path, model, batch_size=batch_size, **self.options)
        if self.kind == "arrays":
            return array_data(self.path, model, batch_size=batch_size, **self.options)
        if self.kind == "text":
            return text_data(self.path, model, batch_size=batch_size, **self.options)
        return generator_data(self.path, **self.options)
