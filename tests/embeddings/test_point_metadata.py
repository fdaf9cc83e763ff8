"""Colouring points by a metadata column and searching their labels."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.embeddings.point_metadata import MISSING, OTHER, SCALE_STEPS, colouring, search


def test_categories_most_frequent_first_with_missing_last():
    result = colouring(["cat", "dog", "cat", "", "bird", "cat", "dog"])
    assert result.kind == "categorical"
    assert result.labels == ["cat", "dog", "bird", MISSING]
    assert result.counts == [3, 2, 1, 1]
    assert result.codes.tolist() == [0, 1, 0, 3, 2, 0, 1]


def test_many_categories_share_other():
    values = [f"class{i % 30}" for i in range(300)] + ["class0"] * 5
    result = colouring(values, max_categories=20)
    assert len(result.labels) == 20 and result.labels[-1] == OTHER
    assert result.labels[0] == "class0"
    assert sum(result.counts) == len(values)
    other = result.labels.index(OTHER)
    assert result.counts[other] == int((result.codes == other).sum()) == 11 * 10


def test_numbers_with_few_values_stay_categories():
    result = colouring(["1", "2", "2", "3"])
    assert result.kind == "categorical"
    assert result.labels == ["2", "1", "3"]


def test_numeric_scale_spans_low_to_high_and_marks_missing():
    values = [str(v) for v in np.linspace(-5, 5, 101)] + ["", "nan"]
    result = colouring(values)
    assert result.kind == "numeric"
    assert (result.low, result.high) == (-5.0, 5.0)
    assert result.codes[0] == 0 and result.codes[100] == SCALE_STEPS - 1
    assert np.all(np.diff(result.codes[:101]) >= 0)
    assert result.codes[101] == result.codes[102] == SCALE_STEPS


def test_text_with_many_values_is_categorical_not_numeric():
    result = colouring([f"word{i}" for i in range(100)])
    assert result.kind == "categorical"
    assert result.labels[-1] == OTHER and result.counts[-1] == 81


def test_search_substring_ignores_case():
    labels = ["Apple", "banana", "cherry", "BANANA split", ""]
    assert search(labels, "an").tolist() == [1, 3]
    assert search(labels, "").tolist() == []


def test_search_regular_expression():
    labels = ["cat", "catalog", "concat", "dog"]
    assert search(labels, "^cat", regex=True).tolist() == [0, 1]
    assert search(labels, "t$", regex=True).tolist() == [0, 2]


def test_search_bad_expression_says_why():
    with pytest.raises(ValueError, match="regular expression"):
        search(["a"], "(unclosed", regex=True)


def test_a_coded_column_colours_and_searches_like_its_values():
    from inspector.embeddings.point_metadata import code_column

    values = ["cat", "dog", "cat", "", "bird", "cat", "dog"]
    column = code_column(values)
    assert column.names == ["cat", "dog", "", "bird"]
    assert column.codes.tolist() == [0, 1, 0, 2, 3, 0, 1]
    coded, plain = colouring(column), colouring(values)
    assert (coded.labels, coded.counts, coded.codes.tolist()) == (plain.labels, plain.counts, plain.codes.tolist())
    assert search(column, "A").tolist() == search(values, "A").tolist() == [0, 2, 5]


def test_a_sample_of_a_coded_column_forgets_the_values_it_does_not_hold():
    from inspector.embeddings.point_metadata import category_column, code_column

    column = code_column(["a", "b", "c", "a", "b", "c"]).take(np.array([0, 1, 3]))
    result = colouring(column)
    assert (result.labels, result.counts) == (["a", "b"], [2, 1])
    ids = code_column([str(i) for i in range(50)])
    assert category_column({"id": ids, "kind": column}, ["id", "kind"]) == "kind"
    assert category_column({"id": ids}, ["id"]) is None
    assert search(column, "c").tolist() == []


def test_coding_every_column_for_the_points_shown():
    from inspector.embeddings.point_metadata import coded_columns_job
    from inspector.jobs import run_job

    metadata = {"word": ["x", "y", "z"], "class": ["1", "2", "1"]}
    coded = run_job(coded_columns_job(metadata, ["word", "class"], np.array([2, 0])))
    assert [coded["word"].names[i] for i in coded["word"].codes] == ["z", "x"]
    assert [coded["class"].names[i] for i in coded["class"].codes] == ["1", "1"]
