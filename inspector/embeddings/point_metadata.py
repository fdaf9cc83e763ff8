"""Colouring and searching the points of an embedding plot by their metadata (no Qt).

A column with at most :data:`MAX_CATEGORIES` distinct values, or any non-numeric column, is
categorical: its most frequent values get colours of their own and the rest share "other". A
numeric column with more distinct values, or whose every value is distinct (an id), is a colour
scale cut into :data:`SCALE_STEPS` steps, so the plot needs only that many brushes whatever the
number of points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generator

import numpy as np

from inspector.jobs import Progress

MAX_CATEGORIES = 20
SCALE_STEPS = 64
OTHER = "(other)"
MISSING = "(missing)"


@dataclass
class Colouring:
    """How each point is coloured for one metadata column.

    Attributes:
        kind: ``"categorical"`` or ``"numeric"``.
        codes: Per point, an index into :attr:`labels` (categorical) or a scale step in
            ``[0, SCALE_STEPS)``; :data:`SCALE_STEPS` marks a missing number.
        labels: Categorical: the legend's entries, most frequent first (possibly ending with
            :data:`OTHER` and :data:`MISSING`). Numeric: empty.
        counts: Categorical: how many points each legend entry has.
        low: Numeric: the smallest value.
        high: Numeric: the largest value.
    """

    kind: str
    codes: np.ndarray
    labels: list[str]
    counts: list[int]
    low: float = 0.0
    high: float = 0.0


@dataclass(frozen=True)
class CodedColumn:
    """A metadata column as its distinct values and, per point, which of them it has.

    Coded once when the points arrive (a second for a million distinct values), a column is
    coloured, counted and searched with NumPy over its codes and Python over its distinct
    values only.

    Attributes:
        names: The distinct values, in order of first appearance.
        codes: Per point an index into :attr:`names` (int32).
        numbers: Per name its value as a float (NaN for ``""``), or ``None`` if a name is not
            a number.
        empty: The index of ``""`` in :attr:`names`, or -1.
    """

    names: list[str]
    codes: np.ndarray
    numbers: np.ndarray | None = None
    empty: int = -1

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, indices: np.ndarray) -> CodedColumn:
        """The column for a subset of the points (its names may then include unused ones)."""
        return CodedColumn(self.names, self.codes[indices], self.numbers, self.empty)

    def counts(self) -> np.ndarray:
        """How many points have each of :attr:`names`."""
        return np.bincount(self.codes, minlength=len(self.names))


def code_column(values: list[str]) -> CodedColumn:
    """Codes a column of strings (:class:`CodedColumn`)."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(value, len(index)) for value in values), dtype=np.int32, count=len(values))
    names = list(index)
    return CodedColumn(names, codes, _numbers(names), index.get("", -1))


def coded_columns_job(
    metadata: dict[str, list[str]], columns: list[str], shown: np.ndarray | None
) -> Generator[Progress, None, dict[str, CodedColumn]]:
    """Codes every metadata column, for the points shown.

    Args:
        metadata: Column -> one value per point.
        columns: The columns to code.
        shown: The indices of the points shown, or ``None`` for all.

    Returns:
        Column -> its :class:`CodedColumn` over the points shown.
    """
    coded = {}
    for name in columns:
        yield Progress(f"Reading the values of {name}…")
        column = code_column(metadata[name])
        coded[name] = column if shown is None else column.take(shown)
    return coded


def colouring(column: CodedColumn | list[str], max_categories: int = MAX_CATEGORIES) -> Colouring:
    """Colour codes for one metadata column.

    Args:
        column: The column, coded or as each point's value (``""`` where missing).
        max_categories: How many distinct values a column may have and still be categorical.

    Returns:
        The colouring.
    """
    column = column if isinstance(column, CodedColumn) else code_column(column)
    counts = column.counts()
    numbers = _scale_numbers(column, counts, max_categories)
    if numbers is not None:
        return _scale(numbers[column.codes])
    return _categories(column, counts, max_categories)


def category_column(coded: dict[str, CodedColumn], columns: list[str]) -> str | None:
    """The first of ``columns`` with few enough values to colour by as categories (a class
    folder, a topic), or ``None``."""
    for name in columns:
        column = coded[name]
        counts = column.counts()
        if np.count_nonzero(counts) <= MAX_CATEGORIES and _scale_numbers(column, counts, MAX_CATEGORIES) is None:
            return name
    return None


def _scale_numbers(column: CodedColumn, counts: np.ndarray, max_categories: int) -> np.ndarray | None:
    """Per name its number if the column is a scale: numeric, with some finite value, and with
    more than ``max_categories`` distinct values or every value distinct (an id); else ``None``."""
    present = np.flatnonzero(counts)
    ids = len(present) == len(column) > 1
    if (len(present) <= max_categories and not ids) or column.numbers is None:
        return None
    return column.numbers if np.isfinite(column.numbers[present]).any() else None


def _numbers(values: list[str]) -> np.ndarray | None:
    """The values as floats (NaN where missing), or ``None`` if any present value is not a number."""
    try:
        return np.array([float(value) if value != "" else np.nan for value in values], dtype=np.float64)
    except ValueError:
        return None


def _scale(numbers: np.ndarray) -> Colouring:
    finite = np.isfinite(numbers)
    low, high = float(np.min(numbers[finite])), float(np.max(numbers[finite]))
    span = high - low or 1.0
    codes = np.full(len(numbers), SCALE_STEPS, dtype=np.int64)
    codes[finite] = np.minimum(((numbers[finite] - low) / span * SCALE_STEPS).astype(np.int64), SCALE_STEPS - 1)
    return Colouring("numeric", codes, [], [], low, high)


def _categories(column: CodedColumn, counts: np.ndarray, max_categories: int) -> Colouring:
    """The most frequent values get colours (ties in order of appearance), the rest "other"."""
    present = np.flatnonzero(counts)
    present = present[present != column.empty]
    shown = _most_frequent(present, counts, max_categories if len(present) <= max_categories else max_categories - 1)
    lookup = np.full(len(column.names), len(shown), dtype=np.int64)  # everything else is "other"
    lookup[shown] = np.arange(len(shown))
    labels, entry_counts = [column.names[i] for i in shown], counts[shown].tolist()
    if len(shown) < len(present):
        labels.append(OTHER)
        entry_counts.append(int(counts[present].sum()) - sum(entry_counts))
    if column.empty >= 0 and counts[column.empty]:
        lookup[column.empty] = len(labels)
        labels.append(MISSING)
        entry_counts.append(int(counts[column.empty]))
    return Colouring("categorical", lookup[column.codes], labels, entry_counts)


def _most_frequent(names: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` most frequent of ``names`` (ascending indices), most frequent first, ties in
    order of appearance; without sorting them all (a million distinct values)."""
    if len(names) > k:
        frequency = counts[names]
        threshold = np.partition(frequency, len(names) - k)[len(names) - k]  # the k-th largest
        above = names[frequency > threshold]
        names = np.concatenate([above, names[frequency == threshold][: k - len(above)]])
    return names[np.lexsort((names, -counts[names]))]


def search(column: CodedColumn | list[str], text: str, regex: bool = False) -> np.ndarray:
    """The points whose label matches a search.

    Args:
        column: The labels, coded or as each point's label.
        text: A substring (case-insensitive) or a regular expression.
        regex: Treat ``text`` as a regular expression (case-insensitive, matched anywhere).

    Returns:
        The indices of the matching points, ascending; empty for an empty ``text``.

    Raises:
        ValueError: ``text`` is not a valid regular expression; the message says why.
    """
    if not text:
        return np.zeros(0, dtype=np.int64)
    column = column if isinstance(column, CodedColumn) else code_column(column)
    if regex:
        try:
            pattern = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"Not a valid regular expression: {exc}") from None
        matched = [pattern.search(name) is not None for name in column.names]
    else:
        needle = text.casefold()
        matched = [needle in name.casefold() for name in column.names]
    return np.flatnonzero(np.array(matched, dtype=bool)[column.codes]) if column.names else np.zeros(0, dtype=np.int64)
