"""Colouring and searching the points of an embedding plot by their metadata (no Qt).

A column with at most :data:`MAX_CATEGORIES` distinct values, or any non-numeric column, is
categorical: its most frequent values get colours of their own and the rest share "other". A
numeric column with more distinct values, or whose every value is distinct (an id), is a colour
scale cut into :data:`SCALE_STEPS` steps, so the plot needs only that many brushes whatever the
number of points.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

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


def colouring(values: list[str], max_categories: int = MAX_CATEGORIES) -> Colouring:
    """Colour codes for one metadata column.

    Args:
        values: The column's value for each point (``""`` where missing).
        max_categories: How many distinct values a column may have and still be categorical.

    Returns:
        The colouring.
    """
    counts = Counter(values)
    numbers = _scale_numbers(values, counts, max_categories)
    if numbers is not None:
        return _scale(numbers)
    return _categories(values, counts, max_categories)


def is_scale(values: list[str], max_categories: int = MAX_CATEGORIES) -> bool:
    """Whether :func:`colouring` colours this column by a scale rather than by categories."""
    return _scale_numbers(values, Counter(values), max_categories) is not None


def _scale_numbers(values: list[str], counts: Counter, max_categories: int) -> np.ndarray | None:
    """The values as numbers if the column is a scale: numeric, with some finite value, and with
    more than ``max_categories`` distinct values or every value distinct (an id); else ``None``."""
    ids = len(counts) == len(values) > 1
    if len(counts) <= max_categories and not ids:
        return None
    numbers = _numbers(values)
    return numbers if numbers is not None and np.isfinite(numbers).any() else None


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


def _categories(values: list[str], counts: Counter, max_categories: int) -> Colouring:
    missing = counts.pop("", 0)
    order = sorted(counts, key=lambda value: (-counts[value], value))
    shown = order if len(order) <= max_categories else order[: max_categories - 1]
    code = {value: i for i, value in enumerate(shown)}
    labels, entry_counts = list(shown), [counts[value] for value in shown]
    rest = len(order) - len(shown)
    if rest:
        labels.append(OTHER)
        entry_counts.append(sum(counts[value] for value in order[len(shown) :]))
    if missing:
        code[""] = len(labels)
        labels.append(MISSING)
        entry_counts.append(missing)
    other = len(shown)
    codes = np.fromiter((code.get(value, other) for value in values), dtype=np.int64, count=len(values))
    return Colouring("categorical", codes, labels, entry_counts)


def search(labels: list[str], text: str, regex: bool = False) -> np.ndarray:
    """The points whose label matches a search.

    Args:
        labels: Each point's label.
        text: A substring (case-insensitive) or a regular expression.
        regex: Treat ``text`` as a regular expression (case-insensitive, matched anywhere).

    Returns:
        The indices of the matching points, ascending; empty for an empty ``text``.

    Raises:
        ValueError: ``text`` is not a valid regular expression; the message says why.
    """
    if not text:
        return np.zeros(0, dtype=np.int64)
    if regex:
        try:
            pattern = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"Not a valid regular expression: {exc}") from None
        return np.array([i for i, label in enumerate(labels) if pattern.search(label)], dtype=np.int64)
    needle = text.casefold()
    return np.array([i for i, label in enumerate(labels) if needle in label.casefold()], dtype=np.int64)
