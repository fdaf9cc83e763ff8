"""Points for embedding plots: projector files read and written, NumPy files, Embedding layers
of real Keras models and extracted activations."""

from __future__ import annotations

import csv
import pickle
import subprocess
import sys

import numpy as np
import pytest

from inspector.embeddings.embedding_data import (
    EMPTY_VALUE,
    EmbeddingSet,
    embedding_layers,
    finite_rows,
    from_activations,
    from_embedding_layer,
    read_metadata,
    read_npy,
    read_projector_tsv,
    read_vectors_tsv,
    write_coordinates_csv,
    write_projector_tsv,
)
from inspector.errors import EmbeddingDataError
from inspector.activations.extraction import Extractor, extract_job, plan_extraction
from inspector.inputs.input_data import SampleSet
from inspector.jobs import run_job
from inspector.model.loading import load
from inspector.inputs.sequences import Vocabulary
from inspector.tfimport import keras
from tests import model_factory
from tests.conftest import ROOT, SAMPLES

WORDS = ["rocket", "orbit", "cheese", "jazz"]


@pytest.fixture(scope="module")
def topic_rnn():
    return load(SAMPLES / "topic_rnn.keras").model


def awkward_floats(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Finite float32 values from random bit patterns (every exponent, subnormals, -0.0)."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**32, size=(n, d), dtype=np.uint64).astype(np.uint32).view(np.float32)
    values = np.where(np.isfinite(values), values, np.float32(1.5))
    values[0, :3] = [-0.0, np.finfo(np.float32).max, np.finfo(np.float32).smallest_subnormal]
    return values


def write(path, text: str):
    path.write_text(text, encoding="utf-8", newline="")
    return path


# --- projector TSV files: round trip ---------------------------------------------------------


def test_multi_column_round_trip_is_exact(tmp_path):
    vectors = awkward_floats(6, 5)
    metadata = {
        "word": ["naïve", "日本語", "", "a b", "tab\there", "line\nbreak"],
        "count": ["1", "", "3", "4", "5", "6"],
    }
    points = EmbeddingSet(vectors, ["word", "count"], metadata, "test")
    write_projector_tsv(points, tmp_path / "vectors.tsv", tmp_path / "metadata.tsv")
    again = read_projector_tsv(tmp_path / "vectors.tsv", tmp_path / "metadata.tsv")
    assert again.vectors.dtype == np.float32 and again.vectors.flags.c_contiguous
    np.testing.assert_array_equal(again.vectors.view(np.uint32), vectors.view(np.uint32))  # bit for bit
    assert again.columns == ["word", "count"]
    assert again.metadata["word"] == ["naïve", "日本語", "", "a b", "tab here", "line break"]
    assert again.metadata["count"] == metadata["count"]
    assert again.notes == [] and again.title == "vectors.tsv"
    assert (tmp_path / "metadata.tsv").read_text(encoding="utf-8").splitlines()[0] == "word\tcount"


def test_single_column_round_trip_has_no_header_and_keeps_every_row(tmp_path):
    vectors = awkward_floats(5, 3, seed=1)
    labels = ["ünïcode", "", "  ", "[PAD]", "last"]
    points = EmbeddingSet(vectors, ["token"], {"token": labels}, "t")
    write_projector_tsv(points, tmp_path / "v.tsv", tmp_path / "m.tsv")
    lines = (tmp_path / "m.tsv").read_text(encoding="utf-8").split("\n")
    assert lines == ["ünïcode", EMPTY_VALUE, EMPTY_VALUE, "[PAD]", "last", ""]  # the projector skips blank lines
    again = read_projector_tsv(tmp_path / "v.tsv", tmp_path / "m.tsv")
    np.testing.assert_array_equal(again.vectors.view(np.uint32), vectors.view(np.uint32))
    assert again.columns == ["label"]
    assert again.labels() == ["ünïcode", EMPTY_VALUE, EMPTY_VALUE, "[PAD]", "last"]


def test_a_multi_column_row_of_empty_values_stays_a_line(tmp_path):
    points = EmbeddingSet(np.eye(2, dtype=np.float32), ["a", "b"], {"a": ["x", ""], "b": ["1", ""]}, "t")
    write_projector_tsv(points, tmp_path / "v.tsv", tmp_path / "m.tsv")
    assert (tmp_path / "m.tsv").read_text(encoding="utf-8") == f"a\tb\nx\t1\n{EMPTY_VALUE}\t\n"
    again = read_projector_tsv(tmp_path / "v.tsv", tmp_path / "m.tsv")
    assert again.metadata == {"a": ["x", EMPTY_VALUE], "b": ["1", ""]}


def test_without_metadata_points_are_labelled_by_index(tmp_path):
    points = read_projector_tsv(write(tmp_path / "vectors.tsv", "1\t2\n3\t4\n5\t6\n"))
    assert points.columns == ["index"] and points.labels() == ["0", "1", "2"]
    assert len(points) == 3 and points.dims == 2


# --- metadata header rules -------------------------------------------------------------------


def test_a_tab_in_the_first_line_makes_it_a_header(tmp_path):
    path = write(tmp_path / "metadata.tsv", "word\tcount\tnote\r\n\r\ncat\t3\n  \ndog\n")
    columns, metadata, notes = read_metadata(path)
    assert columns == ["word", "count", "note"]
    assert metadata == {"word": ["cat", "dog"], "count": ["3", ""], "note": ["", ""]}
    assert notes == []


def test_without_a_tab_there_is_one_label_column_and_no_header(tmp_path):
    path = write(tmp_path / "metadata.tsv", "word\ncat\n\ndog\n")
    assert read_metadata(path, rows=3) == (["label"], {"label": ["word", "cat", "dog"]}, [])


def test_one_line_more_than_vectors_in_one_column_is_a_header(tmp_path):
    path = write(tmp_path / "metadata.tsv", "word\ncat\ndog\n")
    columns, metadata, notes = read_metadata(path, rows=2)
    assert columns == ["word"] and metadata == {"word": ["cat", "dog"]}
    assert len(notes) == 1 and "first line, 'word', is read as the column name" in notes[0]


def test_wrong_row_counts_name_both_counts_and_the_header_rule(tmp_path):
    path = write(tmp_path / "metadata.tsv", "cat\t1\n" + "dog\t2\n" * 1000)
    with pytest.raises(EmbeddingDataError) as error:
        read_metadata(path, rows=1001)
    assert str(error.value).startswith("metadata.tsv has 1,000 rows of metadata for 1,001 vectors.")
    assert "first line must be a header" in str(error.value)
    with pytest.raises(EmbeddingDataError, match="has 4 rows of metadata for 2 vectors"):
        read_metadata(write(tmp_path / "labels.tsv", "a\nb\nc\nd\n"), rows=2)


def test_empty_and_repeated_column_names_are_made_unique(tmp_path):
    columns, metadata, notes = read_metadata(write(tmp_path / "m.tsv", "word\t\tword\na\tb\tc\n"))
    assert columns == ["word", "column 2", "word (2)"]
    assert metadata == {"word": ["a"], "column 2": ["b"], "word (2)": ["c"]}
    assert "'column 2', 'word (2)'" in notes[0]


def test_unreadable_metadata_names_the_file(tmp_path):
    (tmp_path / "latin1.tsv").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(EmbeddingDataError, match="latin1.tsv is not UTF-8 text"):
        read_metadata(tmp_path / "latin1.tsv")
    with pytest.raises(EmbeddingDataError, match="missing.tsv cannot be read: there is no such file"):
        read_metadata(tmp_path / "missing.tsv")
    with pytest.raises(EmbeddingDataError, match="blank.tsv holds no metadata"):
        read_metadata(write(tmp_path / "blank.tsv", "\n \n"), rows=2)


# --- vectors.tsv -----------------------------------------------------------------------------


def test_vectors_are_read_like_the_projector(tmp_path):
    path = write(tmp_path / "vectors.tsv", "\ufeff1\t2.5\t-3e-2\r\n\n  \n 4\t5\t6\t\r\nnan\tinf\t-inf\n")
    vectors = read_vectors_tsv(path)
    assert vectors.dtype == np.float32
    expected = np.array([[1, 2.5, -3e-2], [4, 5, 6], [np.nan, np.inf, -np.inf]], np.float32)
    np.testing.assert_array_equal(vectors, expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\t2\t3\n4\t5\t6\n\n7\t8\n", "vectors.tsv line 4 has 2 values; line 1 has 3."),
        ("1\t2\n3\t4\t5\n", "vectors.tsv line 2 has 3 values; line 1 has 2."),
        ("1\t2\n3\tabc\n", "vectors.tsv line 2: value 2, 'abc', is not a number."),
        ("1\t\t2\n", "vectors.tsv line 1: value 2, '', is not a number."),
        ("\n  \n", "vectors.tsv holds no vectors: every line is blank."),
    ],
)
def test_bad_vectors_files_name_the_line(tmp_path, text, message):
    with pytest.raises(EmbeddingDataError) as error:
        read_vectors_tsv(write(tmp_path / "vectors.tsv", text))
    assert str(error.value) == message


# --- dropping rows that are not finite ---------------------------------------------------------


def test_rows_with_nan_or_inf_are_dropped_with_their_metadata(tmp_path):
    write(tmp_path / "vectors.tsv", "1\t2\nnan\t1\n3\t4\n5\t-inf\n6\t7\n")
    write(tmp_path / "metadata.tsv", "word\tn\na\t0\nb\t1\nc\t2\nd\t3\ne\t4\n")
    points = read_projector_tsv(tmp_path / "vectors.tsv", tmp_path / "metadata.tsv")
    np.testing.assert_array_equal(points.vectors, [[1, 2], [3, 4], [6, 7]])
    assert points.labels() == ["a", "c", "e"] and points.labels("n") == ["0", "2", "4"]
    assert points.rows.tolist() == [0, 2, 4] and points.rows.dtype == np.int64
    assert points.notes == ["Dropped 2 of 5 rows with NaN or infinite values (rows 1, 3, counting from 0)."]


def test_finite_rows_lists_at_most_five_rows_and_converts_to_float32():
    vectors = np.arange(2000, dtype=np.float64).reshape(1000, 2)
    vectors[[4, 17, 99, 120, 300, 301], 1] = np.nan
    vectors[500, 0] = 1e300  # beyond float32: infinite
    points = finite_rows(vectors, {"id": [str(i) for i in range(1000)]}, ["id"], "source")
    assert points.vectors.dtype == np.float32 and points.vectors.flags.c_contiguous
    assert len(points) == 993 and "500" not in points.labels()
    assert points.notes == [
        "Dropped 7 of 1,000 rows with NaN or infinite values (rows 4, 17, 99, 120, 300, …, counting from 0)."
    ]


def test_nothing_finite_or_no_table_is_an_error():
    with pytest.raises(EmbeddingDataError, match="every one of its 2 vectors has NaN"):
        finite_rows(np.full((2, 3), np.nan), {"id": ["0", "1"]}, ["id"], "layer x: 2 × 3")
    with pytest.raises(EmbeddingDataError, match=r"shape \(6,\); the vectors need two axes"):
        finite_rows(np.zeros(6), {"id": ["0"] * 6}, ["id"], "flat")
    with pytest.raises(EmbeddingDataError, match=r"holds no vectors: its array has shape \(3, 0\)"):
        finite_rows(np.zeros((3, 0)), {"id": ["0"] * 3}, ["id"], "empty")
    with pytest.raises(EmbeddingDataError, match="text holds text; the vectors must be real numbers"):
        finite_rows(np.array([["a"]]), {"id": ["0"]}, ["id"], "text")


# --- NumPy files -------------------------------------------------------------------------------


def test_npy_with_metadata(tmp_path):
    vectors = awkward_floats(4, 3, seed=2)
    np.save(tmp_path / "vectors.npy", vectors)
    write(tmp_path / "metadata.tsv", "w\nx\ny\nz\n")
    points = read_npy(tmp_path / "vectors.npy", tmp_path / "metadata.tsv")
    np.testing.assert_array_equal(points.vectors.view(np.uint32), vectors.view(np.uint32))
    assert points.labels() == ["w", "x", "y", "z"] and points.title == "vectors.npy"


def test_npy_with_more_axes_is_flattened_with_a_note(tmp_path):
    array = np.arange(1000 * 16, dtype=np.float64).reshape(1000, 4, 4)
    np.save(tmp_path / "maps.npy", array)
    points = read_npy(tmp_path / "maps.npy")
    assert points.vectors.shape == (1000, 16)
    np.testing.assert_array_equal(points.vectors[3], array[3].ravel())
    assert points.notes == ["The array of shape (1000, 4, 4) was flattened to 1,000 × 16."]


def test_npz_with_one_array_is_read_and_with_several_is_refused(tmp_path):
    np.savez(tmp_path / "one.npz", vectors=np.ones((3, 2), dtype=np.float16))
    assert read_npy(tmp_path / "one.npz").vectors.tolist() == [[1, 1]] * 3
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones(3))
    with pytest.raises(EmbeddingDataError, match=r"two.npz holds 2 arrays \(a, b\); it must hold exactly one"):
        read_npy(tmp_path / "two.npz")


def test_pickles_are_refused(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(EmbeddingDataError, match="objects.npy holds Python objects; refusing to load pickles"):
        read_npy(tmp_path / "objects.npy")
    np.savez(tmp_path / "objects.npz", v=np.array([[1, None]], dtype=object))
    with pytest.raises(EmbeddingDataError, match="objects.npz holds Python objects"):
        read_npy(tmp_path / "objects.npz")
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(np.ones((2, 2))))
    with pytest.raises(EmbeddingDataError, match="raw.npy holds Python objects"):
        read_npy(tmp_path / "raw.npy")


def test_bad_npy_arrays(tmp_path):
    np.save(tmp_path / "flat.npy", np.ones(5))
    with pytest.raises(EmbeddingDataError, match=r"flat.npy holds an array of shape \(5,\)"):
        read_npy(tmp_path / "flat.npy")
    np.save(tmp_path / "words.npy", np.array([["a", "b"]]))
    with pytest.raises(EmbeddingDataError, match="words.npy holds text; the vectors must be real numbers"):
        read_npy(tmp_path / "words.npy")
    write(tmp_path / "text.npy", "1\t2\n")
    with pytest.raises(EmbeddingDataError, match="text.npy is not a NumPy .npy or .npz file"):
        read_npy(tmp_path / "text.npy")


# --- Embedding layers --------------------------------------------------------------------------


def text_model(embedding_rows: int):
    """Text → TextVectorization(WORDS) → Embedding(embedding_rows, 3) → pooled."""
    text = keras.Input((1,), dtype="string", name="text")
    ids = keras.layers.TextVectorization(vocabulary=WORDS, output_sequence_length=4)(text)
    embedded = keras.layers.Embedding(embedding_rows, 3, name="words")(ids)
    return keras.Model(text, keras.layers.GlobalAveragePooling1D()(embedded))


def test_embedding_rows_are_labelled_with_the_models_text_vectorization():
    model = text_model(len(WORDS) + 2)
    points = from_embedding_layer(model, "words")
    np.testing.assert_array_equal(points.vectors, model.get_layer("words").embeddings.numpy())
    assert points.columns == ["token", "id"]
    assert points.labels() == ["[PAD]", "[UNK]", *WORDS]
    assert points.labels("id") == ["0", "1", "2", "3", "4", "5"]
    assert points.title == "words (Embedding weights)"
    assert points.notes == []


def test_a_shorter_vocabulary_labels_the_rest_by_id():
    points = from_embedding_layer(text_model(9), "words")
    assert points.labels()[-4:] == ["jazz", "#6", "#7", "#8"]
    assert points.notes == ["The vocabulary has 6 tokens for 9 embedding rows; rows 6–8 are labelled by id."]
    one_short = from_embedding_layer(text_model(7), "words")
    assert one_short.notes == ["The vocabulary has 6 tokens for 7 embedding rows; row 6 is labelled by id."]


def test_a_longer_vocabulary_is_cut_with_a_note():
    points = from_embedding_layer(text_model(4), "words")
    assert points.labels() == ["[PAD]", "[UNK]", "rocket", "orbit"]
    assert points.notes == [
        "The vocabulary has 6 tokens but the embedding only 4 rows; the last 2 tokens are not shown."
    ]


def test_bundled_model_with_a_vocabulary_file(topic_rnn):
    vocabulary = Vocabulary.from_file(SAMPLES / "topic_rnn_vocab.txt")
    points = from_embedding_layer(topic_rnn, "embedding", vocabulary)
    assert len(points) == 202 and points.dims == 16 and points.notes == []
    first_word = (SAMPLES / "topic_rnn_vocab.txt").read_text(encoding="utf-8").split("\n")[0]
    assert points.labels()[:3] == ["[PAD]", "[UNK]", first_word]
    assert points.title == "embedding (Embedding weights)"


def test_without_a_vocabulary_rows_are_labelled_by_id(topic_rnn):
    points = from_embedding_layer(model_factory.sequence_model(), "embedding")
    assert points.columns == ["id"] and points.labels()[:3] == ["0", "1", "2"]
    assert points.vectors.shape == (50, 8)
    assert from_embedding_layer(topic_rnn, "embedding").columns == ["id"]


def test_embedding_layers_are_found_at_any_depth():
    tokens = keras.Input((4,), dtype="int32", name="tokens")
    inner_layers = [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 2, name="inner_emb")]
    inner = keras.Sequential(inner_layers, name="inner")
    outer = keras.layers.Embedding(10, 3, name="outer_emb")
    joined = keras.layers.Concatenate()([inner(tokens), outer(tokens)])
    model = keras.Model(tokens, keras.layers.GlobalAveragePooling1D()(joined))
    assert sorted(embedding_layers(model)) == ["inner/inner_emb", "outer_emb"]
    assert from_embedding_layer(model, "inner/inner_emb").vectors.shape == (10, 2)
    assert embedding_layers(model_factory.two_input_model()) == []


def test_layers_that_are_not_embeddings_are_refused(topic_rnn):
    with pytest.raises(EmbeddingDataError, match="has no layer nowhere"):
        from_embedding_layer(topic_rnn, "nowhere")
    with pytest.raises(EmbeddingDataError, match="Layer topic is a Dense, not an Embedding layer"):
        from_embedding_layer(topic_rnn, "topic")
    unbuilt = keras.Sequential([keras.layers.Embedding(5, 2, name="later")])
    with pytest.raises(EmbeddingDataError, match="later has no weights yet"):
        from_embedding_layer(unbuilt, "later")


# --- activations -------------------------------------------------------------------------------


def extracted(classes: list[str] | None):
    """Activations of a Dense layer applied at each of 5 steps, for 6 inputs."""
    steps = keras.Input((5, 4), name="steps")
    model = keras.Model(steps, keras.layers.Dense(2, name="head")(keras.layers.Dense(3, name="dense")(steps)))
    arrays = {"steps": np.random.default_rng(0).normal(size=(6, 5, 4)).astype(np.float32)}
    samples = SampleSet(arrays, [f"input {i}" for i in range(6)], classes)
    extractor = Extractor(model, ["dense"])
    return run_job(extract_job(extractor, samples, plan_extraction(extractor, samples), batch_size=4))


def test_activations_are_labelled_by_name_and_class():
    activations = extracted(["cat", "dog"] * 3)
    points = from_activations(activations, "dense", "mean")
    assert points.columns == ["name", "class"]
    assert points.labels() == [f"input {i}" for i in range(6)] and points.labels("class") == ["cat", "dog"] * 3
    np.testing.assert_allclose(points.vectors, np.asarray(activations.values["dense"]).mean(axis=1), rtol=1e-6)
    assert points.title == "dense output, mean-pooled"


def test_activations_are_cut_to_the_extracted_inputs():
    activations = extracted(None)
    activations.complete = 4  # as when the user cancelled after the first batch
    points = from_activations(activations, "dense")
    assert points.columns == ["name"] and points.labels() == ["input 0", "input 1", "input 2", "input 3"]
    assert points.vectors.shape == (4, 15) and points.title == "dense output, flattened"
    activations.complete = 0
    with pytest.raises(EmbeddingDataError, match="No inputs were extracted for dense"):
        from_activations(activations, "dense")


# --- coordinates CSV ---------------------------------------------------------------------------


def test_coordinates_csv_has_axes_then_metadata_for_the_plotted_points(tmp_path):
    metadata = {"word": ["a,b", "ü", 'say "hi"', "d"], "n": ["1", "2", "3", "4"]}
    points = EmbeddingSet(np.zeros((4, 3), np.float32), ["word", "n"], metadata, "t")
    coords = np.array([[0.1, -2.0], [3.5, 1e-7]], dtype=np.float32)
    write_coordinates_csv(tmp_path / "coords.csv", points, coords, ["UMAP1", "UMAP2"], np.array([2, 1]))
    with open(tmp_path / "coords.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["UMAP1", "UMAP2", "word", "n"], ["0.1", "-2.0", 'say "hi"', "3"], ["3.5", "1e-07", "ü", "2"]]
    write_coordinates_csv(tmp_path / "all.csv", points, np.ones((4, 2)), ["PC1", "PC2"])
    assert (tmp_path / "all.csv").read_text(encoding="utf-8").splitlines()[1] == '1.0,1.0,"a,b",1'
    with pytest.raises(ValueError):
        write_coordinates_csv(tmp_path / "bad.csv", points, np.ones((3, 2)), ["PC1", "PC2"])


def test_unwritable_files_name_the_file(tmp_path):
    points = EmbeddingSet(np.ones((1, 2), np.float32), ["id"], {"id": ["0"]}, "t")
    with pytest.raises(EmbeddingDataError, match="cannot be written"):
        write_projector_tsv(points, tmp_path / "no" / "vectors.tsv", tmp_path / "metadata.tsv")


def test_importing_the_module_does_not_import_tensorflow():
    code = "import sys, inspector.embeddings.embedding_data; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
