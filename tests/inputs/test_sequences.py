"""Vocabularies, tokenizing and padding, checked against Keras' own layers and functions."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.errors import InputDataError
from inspector.inputs.input_data import InputSpec, input_specs
from inspector.model.loading import load
from inspector.inputs.sequences import (
    PadOptions,
    Vocabulary,
    model_sequence_length,
    pad,
    padding_mask,
    parse_sequences,
    read_lines,
    sequence_samples,
)
from inspector.tfimport import keras
from tests.conftest import ROOT, SAMPLES

VOCAB_FILE = SAMPLES / "topic_rnn_vocab.txt"
TOPICS = ROOT / "resources" / "data" / "topics.tsv"
TOKENS = InputSpec("tokens", (None,), "int32", "sequence")
SENTENCES = [
    "The ROCKET, the Orbit & the star!",
    "Bake (cheese) with... 'garlic'; then: SIMMER?",
    "naïve CAFÉ café—music\tjazz\x0bguitar_solo 42 jazz\u00a0rock",
    "   ",
]


@pytest.fixture(scope="module")
def topic_rnn():
    return load(SAMPLES / "topic_rnn.keras").model


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.from_file(VOCAB_FILE)


def _keras_ids(layer, texts: list[str]) -> list[list[int]]:
    return [[int(i) for i in row if i != 0] for row in keras.ops.convert_to_numpy(layer(texts))]


# --- vocabulary --------------------------------------------------------------------------------


def test_vocabulary_file_reads_like_text_vectorization(vocabulary):
    layer = keras.layers.TextVectorization(vocabulary=str(VOCAB_FILE))
    assert vocabulary.tokens == [str(t) for t in layer.get_vocabulary()]
    assert len(vocabulary) == 202
    assert vocabulary.token(0) == "" and vocabulary.token(1) == "[UNK]" and vocabulary.token(2) == "for"
    assert vocabulary.token(202) == "#202" and vocabulary.token(-1) == "#-1"


def test_a_complete_vocabulary_file_is_not_given_reserved_tokens_twice(tmp_path, vocabulary):
    full = tmp_path / "full.txt"
    full.write_text("\n".join(vocabulary.tokens) + "\n", encoding="utf-8")
    from_unk = tmp_path / "from_unk.txt"
    from_unk.write_text("\r\n".join(vocabulary.tokens[1:]), encoding="utf-8")
    assert Vocabulary.from_file(full).tokens == vocabulary.tokens
    assert Vocabulary.from_file(from_unk).tokens == vocabulary.tokens


def test_bad_vocabulary_files_name_the_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    gap = tmp_path / "gap.txt"
    gap.write_text("alpha\n\nbeta\n")
    with pytest.raises(InputDataError, match=f"^{empty}: the vocabulary file is empty$"):
        Vocabulary.from_file(empty)
    with pytest.raises(InputDataError, match="gap.txt: line 2 is empty"):
        Vocabulary.from_file(gap)
    with pytest.raises(InputDataError, match="missing.txt: no such file"):
        Vocabulary.from_file(tmp_path / "missing.txt")


def test_encode_matches_a_text_vectorization_layer(vocabulary):
    tokens = vocabulary.tokens[2:] + ["naïve", "café", "guitarsolo", "42"]
    layer = keras.layers.TextVectorization(vocabulary=tokens)
    local = Vocabulary(["", "[UNK]", *tokens])
    assert [local.encode(text)[0] for text in SENTENCES] == _keras_ids(layer, SENTENCES)
    # Keras lowercases ASCII letters only and splits at ASCII whitespace only (\x0b, not \u00a0).
    ids, unknown = local.encode(SENTENCES[2])
    assert [local.token(i) for i in ids] == ["naïve", "[UNK]", "[UNK]", "jazz", "guitarsolo", "42", "[UNK]"]
    assert unknown == 3


def test_unknown_words_are_counted(vocabulary):
    ids, unknown = vocabulary.encode("The zorblax rocket flew to the zorblax.")
    assert unknown == 3  # zorblax twice, flew once
    assert [vocabulary.token(i) for i in ids] == ["the", "[UNK]", "rocket", "[UNK]", "to", "the", "[UNK]"]


def test_vocabulary_from_a_model_with_text_vectorization_inside_a_nested_model(vocabulary, topic_rnn):
    text = keras.Input((1,), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(vocabulary=vocabulary.tokens[2:], standardize="lower")
    inner = keras.Model(text, vectorize(text), name="inner")
    outer_in = keras.Input((1,), dtype="string", name="sentence")
    model = keras.Model(outer_in, keras.layers.Embedding(len(vocabulary), 4)(inner(outer_in)))
    found = Vocabulary.from_model(model)
    assert found.tokens == vocabulary.tokens
    assert found.encode("Rocket, orbit")[0] == _keras_ids(vectorize, ["Rocket, orbit"])[0]
    assert Vocabulary.from_model(topic_rnn) is None


# --- parsing and padding -----------------------------------------------------------------------


def test_lines_of_integers_are_sequences():
    assert parse_sequences(["5 6 7", "", "5,6,7", "[5, 6, 7]", "(8)", "[]"]) == (
        [[5, 6, 7], [5, 6, 7], [5, 6, 7], [8], []],
        True,
    )
    assert parse_sequences(["5 6 7", "the rocket"]) == ([], False)
    assert parse_sequences(["-1 2"]) == ([], False)
    assert parse_sequences(["", " "]) == ([], False)


@pytest.mark.parametrize("maxlen", [None, 3, 6])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_matches_keras_pad_sequences(maxlen, padding, truncating):
    sequences = [[1, 2, 3, 4, 5], [6], [7, 8, 9], []]
    options = PadOptions(maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    padded, notes = pad(sequences, options)
    expected = keras.utils.pad_sequences(
        sequences, maxlen=maxlen, padding=padding, truncating=truncating, value=-1
    )
    np.testing.assert_array_equal(padded, expected)
    assert padded.dtype == np.int32
    assert notes == (["1 sequence truncated to 3 steps"] if maxlen == 3 else [])


def test_the_model_length_is_the_default_and_the_limit():
    padded, _ = pad([[1, 2], [3]], PadOptions(), model_length=4)
    assert padded.shape == (2, 4)
    padded, notes = pad([[1, 2, 3, 4, 5, 6]] * 2, PadOptions(), model_length=4)
    assert notes == ["2 sequences truncated to 4 steps"]
    with pytest.raises(InputDataError) as caught:
        pad([[1, 2]], PadOptions(maxlen=60), model_length=40)
    assert str(caught.value) == "The model accepts sequences of 40 steps; maxlen 60 is longer"
    with pytest.raises(InputDataError, match="maxlen 20 is shorter"):
        pad([[1, 2]], PadOptions(maxlen=20), model_length=40)


@pytest.mark.parametrize(
    "sequences, options, message",
    [
        ([], PadOptions(), "no sequences"),
        ([[], []], PadOptions(), "Every sequence is empty"),
        ([[1]], PadOptions(padding="middle"), "Padding must be 'pre' or 'post', not 'middle'"),
        ([[1]], PadOptions(truncating="both"), "Truncating must be 'pre' or 'post'"),
        ([[1]], PadOptions(maxlen=0), "maxlen must be a positive whole number"),
        ([[1]], PadOptions(value=0.5), "padding value must be a whole number"),
    ],
)
def test_bad_padding_requests(sequences, options, message):
    with pytest.raises(InputDataError, match=message):
        pad(sequences, options)


def test_padding_mask_marks_real_tokens():
    padded, _ = pad([[4, 5, 6], [7]], PadOptions(padding="pre"))
    np.testing.assert_array_equal(padding_mask(padded), [[True, True, True], [False, False, True]])
    np.testing.assert_array_equal(padding_mask(np.array([[3, 9, 9]]), value=9), [[True, False, False]])


def test_model_sequence_length():
    assert model_sequence_length(TOKENS) is None
    assert model_sequence_length(InputSpec("ids", (40,), "int32", "sequence")) == 40
    assert model_sequence_length(InputSpec("text", (1,), "string", "text")) is None
    assert model_sequence_length(InputSpec("aux", (4,), "float32", "vector")) is None


# --- samples -----------------------------------------------------------------------------------


def test_topics_feed_the_topic_rnn(topic_rnn, vocabulary):
    lines = read_lines(TOPICS)[:32]
    spec = input_specs(topic_rnn)[0]
    samples = sequence_samples(lines, spec, vocabulary, PadOptions())
    ids = samples.arrays["tokens"]
    assert ids.dtype == np.int32 and ids.shape == (32, max(len(line.split()) for line in lines))
    layer = keras.layers.TextVectorization(vocabulary=str(VOCAB_FILE))
    expected = keras.utils.pad_sequences(_keras_ids(layer, lines), padding="post")
    np.testing.assert_array_equal(ids, expected)
    probabilities = topic_rnn.predict(ids, verbose=0)
    assert probabilities.shape == (32, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert samples.names[0] == lines[0][:39] + "…"
    assert samples.notes == []


def test_tokens_follow_padding_and_truncation(vocabulary):
    lines = ["rocket orbit zorblax moon", "", "The star"]
    options = PadOptions(maxlen=3, padding="pre", truncating="pre")
    samples = sequence_samples(lines, TOKENS, vocabulary, options)
    assert samples.tokens["tokens"] == [["orbit", "[UNK]", "moon"], ["", "the", "star"]]
    assert [[vocabulary.token(i) for i in row] for row in samples.arrays["tokens"]] == [
        ["orbit", "[UNK]", "moon"],
        ["", "the", "star"],
    ]
    assert samples.names == ["rocket orbit zorblax moon", "The star"]
    assert samples.notes == ["1 unknown token mapped to [UNK]: zorblax", "1 sequence truncated to 3 steps"]


def test_unknown_tokens_note_lists_a_few(vocabulary):
    lines = ["alpha beta gamma delta", "epsilon zeta alpha rocket"]
    samples = sequence_samples(lines, TOKENS, vocabulary, PadOptions())
    assert samples.notes == ["7 unknown tokens mapped to [UNK]: alpha, beta, gamma, delta, epsilon, …"]


def test_raw_integer_lines_need_no_vocabulary():
    samples = sequence_samples(["5 6 7", "[8, 9]"], TOKENS, None, PadOptions())
    np.testing.assert_array_equal(samples.arrays["tokens"], [[5, 6, 7], [8, 9, 0]])
    assert samples.tokens["tokens"] == [["5", "6", "7"], ["8", "9", ""]]


def test_text_without_a_vocabulary_is_refused():
    with pytest.raises(InputDataError) as caught:
        sequence_samples(["the rocket"], TOKENS, None, PadOptions())
    assert str(caught.value) == (
        "Text needs a vocabulary: the model has no TextVectorization layer; choose a vocabulary file"
    )
    with pytest.raises(InputDataError, match="every line is empty"):
        sequence_samples(["", "  "], TOKENS, None, PadOptions())


def test_a_string_input_gets_the_lines_themselves(vocabulary):
    text = keras.Input((1,), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(vocabulary=vocabulary.tokens[2:], output_sequence_length=8)
    embedded = keras.layers.Embedding(len(vocabulary), 3)(vectorize(text))
    model = keras.Model(text, keras.layers.GlobalAveragePooling1D()(embedded))
    spec = input_specs(model)[0]
    assert spec.kind == "text"
    lines = ["The rocket!", "zorblax moon"]
    samples = sequence_samples(lines, spec, Vocabulary.from_model(model), PadOptions())
    assert samples.arrays["text"].tolist() == ["The rocket!", "zorblax moon"]
    assert samples.tokens["text"] == [["the", "rocket"], ["[UNK]", "moon"]]
    assert model.predict(samples.arrays["text"], verbose=0).shape == (2, 3)


# --- reading lines -----------------------------------------------------------------------------


def test_read_lines_takes_the_text_column_of_a_table(tmp_path):
    lines = read_lines(TOPICS)
    assert len(lines) == 1600
    assert lines[0].startswith("tomorrow at note melody") and "\t" not in lines[0]

    table = tmp_path / "reviews.csv"
    table.write_text('id,text\n1,"Great, really great"\n2,plain\n', encoding="utf-8")
    assert read_lines(table) == ["Great, really great", "plain"]

    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"\xef\xbb\xbfone\r\n\ntwo \xff\n")
    assert read_lines(plain) == ["one", "", "two \ufffd"]


def test_read_lines_names_a_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="nowhere.txt: no such file"):
        read_lines(tmp_path / "nowhere.txt")
