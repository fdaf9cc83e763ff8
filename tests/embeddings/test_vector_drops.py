"""Which dropped files are vectors to plot and which label them."""

from pathlib import Path

from widgets.embeddings.projector_window import pair_vector_files


def test_a_metadata_file_dropped_with_its_vectors_labels_them(tmp_path):
    vectors, metadata = tmp_path / "vectors.tsv", tmp_path / "metadata.tsv"
    assert pair_vector_files([metadata, vectors]) == [(vectors, metadata)]


def test_files_of_their_own_each_open(tmp_path):
    first, second = tmp_path / "a.tsv", tmp_path / "b.npy"
    other = tmp_path / "c.npy"
    assert pair_vector_files([first, second, other]) == [(first, None), (second, None), (other, None)]


def test_one_array_and_one_table_are_vectors_and_their_labels(tmp_path):
    words, labels = tmp_path / "words.npy", Path(tmp_path / "topics.tsv")
    assert pair_vector_files([labels, words]) == [(words, labels)]


def test_named_metadata_pairs_with_its_own_vectors(tmp_path):
    words, words_meta, other = tmp_path / "words.npy", tmp_path / "words_metadata.tsv", tmp_path / "other.npy"
    assert pair_vector_files([words, words_meta, other]) == [(words, words_meta), (other, None)]
