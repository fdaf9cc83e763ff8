"""Model input specs, images, NumPy arrays and combining inputs, on real models and real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inspector.errors import InputDataError
from inspector.inputs.input_data import (
    PREPROCESSING,
    InputSpec,
    SampleSet,
    array_samples,
    combine,
    find_images,
    image_samples,
    input_specs,
    preprocess,
    read_image,
)
from inspector.model.loading import load
from inspector.tfimport import keras
from tests import model_factory
from tests.conftest import ROOT, SAMPLES

DIGITS = ROOT / "resources" / "data" / "digits"
IMAGE_SPEC = InputSpec("image_input", (8, 8, 1), "float32", "image")
AUX_SPEC = InputSpec("aux_input", (4,), "float32", "vector")


@pytest.fixture(scope="module")
def two_io():
    return load(SAMPLES / "two_input_two_output.keras").model


def _png(path: Path, pixels: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode=mode).save(path)
    return path


def _rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _kinds(model) -> list[tuple[str, tuple, str, str]]:
    return [(s.name, s.shape, s.dtype, s.kind) for s in input_specs(model)]


# --- input specs -------------------------------------------------------------------------------


def test_specs_of_the_bundled_samples(two_io):
    assert _kinds(two_io) == [
        ("image_input", (8, 8, 1), "float32", "image"),
        ("aux_input", (4,), "float32", "vector"),
    ]
    assert _kinds(load(SAMPLES / "topic_rnn.keras").model) == [("tokens", (None,), "int32", "sequence")]
    assert _kinds(load(SAMPLES / "digits_cnn.keras").model) == [("image", (8, 8, 1), "float32", "image")]


def test_specs_of_factory_models():
    assert [s.kind for s in input_specs(model_factory.two_input_model())] == ["image", "vector"]
    assert _kinds(model_factory.nested_model()) == [("x", (6,), "float32", "vector")]
    assert _kinds(model_factory.sequence_model()) == [("tokens", (None,), "int32", "sequence")]


def test_float_input_into_an_embedding_is_a_sequence_even_through_a_nested_model():
    direct = keras.Sequential([keras.Input((20,)), keras.layers.Embedding(10, 4), keras.layers.Flatten()])
    inner = keras.Sequential([keras.Input((20,)), keras.layers.Embedding(10, 4)], name="inner")
    outer_in = keras.Input((20,), name="ids")
    nested = keras.Model(outer_in, inner(outer_in))
    assert input_specs(direct)[0].kind == "sequence"
    assert input_specs(nested)[0].kind == "sequence"


def test_text_rgb_and_other_kinds():
    text = keras.Input((1,), dtype="string", name="text")
    rgb = keras.Input((None, None, 3), name="photo")
    series = keras.Input((10, 2), name="series")
    flags = keras.Input((3,), dtype="bool", name="flags")
    outputs = [keras.layers.Identity()(t) for t in (text, rgb, series, flags)]
    model = keras.Model([text, rgb, series, flags], outputs)
    assert _kinds(model) == [
        ("text", (1,), "string", "text"),
        ("photo", (None, None, 3), "float32", "image"),
        ("series", (10, 2), "float32", "other"),
        ("flags", (3,), "bool", "other"),
    ]


# --- preprocessing -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode, keras_mode", [("caffe", "caffe"), ("torch", "torch"), ("scale_-1_1", "tf")])
def test_preprocessing_matches_keras_imagenet_utils(mode, keras_mode):
    pixels = np.stack([_rgb(5, 7, seed) for seed in range(3)])
    original = pixels.copy()
    expected = keras.applications.imagenet_utils.preprocess_input(
        pixels.astype("float32"), mode=keras_mode, data_format="channels_last"
    )
    result = preprocess(pixels, mode)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(pixels, original)


def test_simple_preprocessing_and_the_labels():
    pixels = np.array([[[[0], [255]], [[51], [102]]]], dtype=np.uint8)
    assert list(PREPROCESSING) == ["none", "scale_0_1", "scale_-1_1", "caffe", "torch"]
    np.testing.assert_array_equal(preprocess(pixels, "none"), pixels.astype(np.float32))
    np.testing.assert_allclose(preprocess(pixels, "scale_0_1").ravel(), [0, 1, 0.2, 0.4])
    np.testing.assert_allclose(preprocess(pixels, "scale_-1_1").ravel(), [-1, 1, -0.6, -0.2], atol=1e-6)
    floats = pixels.astype(np.float32)
    assert preprocess(floats, "none") is not floats


def test_imagenet_modes_on_grayscale_use_the_mean_constant_and_refuse_rgba():
    gray = np.full((1, 2, 2, 1), 100, dtype=np.uint8)
    caffe = 100 - np.mean([103.939, 116.779, 123.68])
    np.testing.assert_allclose(preprocess(gray, "caffe"), caffe, rtol=1e-6)
    torch = (100 / 255 - np.mean([0.485, 0.456, 0.406])) / np.mean([0.229, 0.224, 0.225])
    np.testing.assert_allclose(preprocess(gray, "torch"), torch, rtol=1e-5)
    with pytest.raises(InputDataError, match="4 channels"):
        preprocess(np.zeros((1, 2, 2, 4), np.uint8), "caffe")
    with pytest.raises(InputDataError, match="Unknown preprocessing 'zscore'"):
        preprocess(gray, "zscore")


# --- finding images ----------------------------------------------------------------------------


def test_class_folders_are_listed_like_image_dataset_from_directory(tmp_path):
    for cls, names in {"dog": ["b.png", "a.jpg"], "cat": ["z.bmp", "sub/c.png"], "empty": []}.items():
        (tmp_path / cls).mkdir()
        for name in names:
            _png(tmp_path / cls / name, _rgb(4, 4))
    (tmp_path / "cat" / "readme.txt").write_text("not an image")
    _png(tmp_path / "top.png", _rgb(4, 4))  # beside class folders: ignored, as Keras does

    files, classes = find_images([tmp_path])

    listed = [f.relative_to(tmp_path).as_posix() for f in files]
    assert listed == ["cat/z.bmp", "cat/sub/c.png", "dog/a.jpg", "dog/b.png"]
    assert classes == ["cat", "cat", "dog", "dog"]
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path, shuffle=False, image_size=(4, 4), verbose=False
    )
    assert [Path(f) for f in dataset.file_paths] == files


def test_the_bundled_digits_are_class_folders():
    files, classes = find_images([DIGITS])
    assert len(files) == 1797
    assert sorted(set(classes)) == [str(d) for d in range(10)]
    assert list(zip(classes, [f.name for f in files])) == sorted(zip(classes, [f.name for f in files]))
    assert all(f.parent.name == c for f, c in zip(files, classes))


def test_flat_folder_and_files_given_directly(tmp_path):
    for name in ["b.PNG", "a.jpg", "c.webp"]:
        Image.fromarray(_rgb(3, 3)).save(tmp_path / name, format="PNG")
    (tmp_path / "notes.txt").write_text("x")
    files, classes = find_images([tmp_path])
    assert [f.name for f in files] == ["a.jpg", "b.PNG", "c.webp"] and classes is None

    given = [tmp_path / "c.webp", tmp_path / "notes.txt", tmp_path / "a.jpg"]
    files, classes = find_images(given)
    assert [f.name for f in files] == ["c.webp", "a.jpg"] and classes is None


def test_a_folder_without_images_is_named(tmp_path):
    empty = tmp_path / "holiday photos"
    empty.mkdir()
    (empty / "list.txt").write_text("x")
    with pytest.raises(InputDataError) as caught:
        find_images([empty])
    assert str(caught.value) == f"{empty} holds no image files (PNG, JPEG, BMP, GIF, TIFF, WebP)"
    with pytest.raises(InputDataError, match="no such file or folder"):
        find_images([tmp_path / "missing"])


# --- reading images ----------------------------------------------------------------------------


def test_grayscale_and_rgb_conversions(tmp_path):
    gray = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    gray_file = _png(tmp_path / "gray.png", gray, "L")
    as_rgb = read_image(gray_file, None, 3)
    assert as_rgb.shape == (4, 6, 3) and as_rgb.dtype == np.uint8
    assert all((as_rgb[..., c] == gray).all() for c in range(3))
    assert read_image(gray_file, None, 4)[..., 3].min() == 255

    rgb = _rgb(4, 6)
    rgb_file = _png(tmp_path / "rgb.png", rgb)
    as_gray = read_image(rgb_file, None, 1)
    assert as_gray.shape == (4, 6, 1)
    np.testing.assert_array_equal(as_gray[..., 0], np.asarray(Image.fromarray(rgb).convert("L")))


def test_resizing_is_bilinear_to_height_and_width(tmp_path):
    rgb = _rgb(10, 20)
    path = _png(tmp_path / "wide.png", rgb)
    resized = read_image(path, (5, 8), 3)
    assert resized.shape == (5, 8, 3)
    expected = np.asarray(Image.fromarray(rgb).resize((8, 5), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(resized, expected)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    path = _png(tmp_path / "deep.png", np.array([[0, 32896, 65535]], dtype=np.uint16))
    np.testing.assert_array_equal(read_image(path, None, 1)[..., 0], [[0, 128, 255]])


def test_unreadable_images_say_why(tmp_path):
    data = (tmp_path / "tmp.png")
    Image.fromarray(_rgb(32, 32)).save(data)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(data.read_bytes()[:200])
    text = tmp_path / "letter.jpg"
    text.write_text("Dear model, this is not a picture.")
    with pytest.raises(InputDataError, match=r"^cut\.png: truncated file$"):
        read_image(truncated, None, 3)
    with pytest.raises(InputDataError, match=r"^letter\.jpg: not an image Pillow can read$"):
        read_image(text, None, 3)


# --- image samples -----------------------------------------------------------------------------


def test_bad_files_are_skipped_and_listed_while_good_ones_load(tmp_path):
    folder = tmp_path / "mixed"
    for i in range(3):
        _png(folder / f"{i}.png", np.full((8, 8), 16 * i, np.uint8), "L")
    whole = _png(tmp_path / "big.png", _rgb(32, 32)).read_bytes()
    (folder / "broken.png").write_bytes(whole[: len(whole) // 2])
    (folder / "fake.jpg").write_text("hello")
    calls = []

    samples = image_samples([folder], IMAGE_SPEC, progress=lambda done, total: calls.append((done, total)))

    assert samples.names == ["0.png", "1.png", "2.png"]
    reasons = {"broken.png": "truncated file", "fake.jpg": "not an image Pillow can read"}
    assert dict(samples.skipped) == reasons
    assert samples.arrays["image_input"].shape == (3, 8, 8, 1)
    assert calls[-1] == (5, 5)


def test_all_bad_files_is_an_error(tmp_path):
    (tmp_path / "a.png").write_text("nope")
    (tmp_path / "b.jpg").write_text("nope")
    with pytest.raises(InputDataError, match="None of the 2 image files could be read; a.png: not an image"):
        image_samples([tmp_path], IMAGE_SPEC)


def test_digit_images_feed_the_two_input_model(two_io):
    files = sorted((DIGITS / "3").glob("*.png"))[:5]
    image, aux = input_specs(two_io)
    samples = image_samples(files, image, "none")
    pixels = np.stack([np.asarray(Image.open(f))[..., None] for f in files])
    np.testing.assert_array_equal(samples.images["image_input"], pixels)
    np.testing.assert_array_equal(samples.arrays["image_input"], pixels.astype(np.float32))
    assert samples.classes is None and samples.names == [f.name for f in files]

    scaled = image_samples(files, image, "scale_0_1")
    np.testing.assert_allclose(scaled.arrays["image_input"], pixels / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(scaled.images["image_input"], pixels)

    vectors = SampleSet({"aux_input": np.full((1, 4), 0.5, np.float32)}, ["row 0"])
    batch = combine(input_specs(two_io), {"images": samples, "aux": vectors})
    main, side = two_io.predict(batch.arrays, verbose=0)
    assert main.shape == (5, 20) and side.shape == (5, 1)


def test_class_folders_give_classes_per_sample():
    samples = image_samples([DIGITS], IMAGE_SPEC)
    assert len(samples) == 1797 and len(samples.classes) == 1797
    assert samples.classes[0] == "0" and samples.classes[-1] == "9"


def test_free_image_size_follows_the_first_image(tmp_path):
    _png(tmp_path / "a.png", _rgb(6, 10))
    _png(tmp_path / "b.png", _rgb(12, 4))
    spec = InputSpec("photo", (None, None, 3), "float32", "image")
    samples = image_samples([tmp_path], spec)
    assert samples.images["photo"].shape == (2, 6, 10, 3)
    assert samples.notes == ["1 of 2 images resized to 6x10 (height x width)"]


# --- arrays ------------------------------------------------------------------------------------


def test_npz_matched_by_name_in_any_order(tmp_path):
    images = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float32)
    aux = np.arange(40, dtype=np.float64).reshape(10, 4)
    np.savez(tmp_path / "data.npz", aux_input=aux, image_input=images)
    samples = array_samples(tmp_path / "data.npz", [IMAGE_SPEC, AUX_SPEC])
    assert list(samples.arrays) == ["image_input", "aux_input"]
    np.testing.assert_array_equal(samples.arrays["image_input"], images)
    np.testing.assert_array_equal(samples.arrays["aux_input"], aux)
    assert samples.arrays["aux_input"].dtype == np.float32
    assert samples.names[:2] == ["row 0", "row 1"] and len(samples) == 10


def test_npz_matched_by_order_when_names_differ(tmp_path):
    images = np.zeros((3, 8, 8, 1), np.float32)
    aux = np.ones((3, 4), np.float32)
    np.savez(tmp_path / "positional.npz", images, aux)
    samples = array_samples(tmp_path / "positional.npz", [IMAGE_SPEC, AUX_SPEC])
    np.testing.assert_array_equal(samples.arrays["aux_input"], aux)
    np.savez(tmp_path / "mixed.npz", aux_input=aux, pictures=images)  # by name first, then in order
    mixed = array_samples(tmp_path / "mixed.npz", [IMAGE_SPEC, AUX_SPEC])
    np.testing.assert_array_equal(mixed.arrays["aux_input"], aux)
    np.savez(tmp_path / "only.npz", pictures=images)
    with pytest.raises(InputDataError, match="Input 'aux_input' has no array in only.npz"):
        array_samples(tmp_path / "only.npz", [IMAGE_SPEC, AUX_SPEC])


def test_wrong_shape_names_the_input_and_both_shapes(tmp_path):
    np.save(tmp_path / "aux.npy", np.zeros((10, 5)))
    with pytest.raises(InputDataError) as caught:
        array_samples(tmp_path / "aux.npy", [AUX_SPEC])
    assert str(caught.value) == "Input 'aux_input' expects (N, 4); aux.npy holds (10, 5)"


def test_a_single_sample_without_batch_axis_and_npy_chosen_by_file_name(tmp_path):
    np.save(tmp_path / "aux_input.npy", np.array([1, 2, 3, 4]))
    samples = array_samples(tmp_path / "aux_input.npy", [IMAGE_SPEC, AUX_SPEC])
    assert list(samples.arrays) == ["aux_input"]
    assert samples.arrays["aux_input"].shape == (1, 4) and samples.names == ["row 0"]


def test_floats_become_integers_only_when_whole(tmp_path):
    spec = InputSpec("tokens", (None,), "int32", "sequence")
    np.save(tmp_path / "whole.npy", np.array([[3.0, 4.0, 0.0]]))
    np.save(tmp_path / "frac.npy", np.array([[3.5, 4.0, 0.0]]))
    assert array_samples(tmp_path / "whole.npy", [spec]).arrays["tokens"].dtype == np.int32
    with pytest.raises(InputDataError, match="whole numbers"):
        array_samples(tmp_path / "frac.npy", [spec])


def test_pickled_and_damaged_files_are_refused(tmp_path):
    objects = np.array([{"a": 1}, None], dtype=object)
    np.save(tmp_path / "objects.npy", objects, allow_pickle=True)
    np.savez(tmp_path / "objects.npz", aux_input=objects)
    (tmp_path / "notes.npy").write_text("1 2 3 4")
    with pytest.raises(InputDataError, match=r"objects\.npy: holds Python objects \(pickled data\)"):
        array_samples(tmp_path / "objects.npy", [AUX_SPEC])
    with pytest.raises(InputDataError, match="objects.npz: 'aux_input' holds Python objects"):
        array_samples(tmp_path / "objects.npz", [AUX_SPEC])
    with pytest.raises(InputDataError, match="notes.npy: not a NumPy .npy or .npz file"):
        array_samples(tmp_path / "notes.npy", [AUX_SPEC])


# --- combining ---------------------------------------------------------------------------------


def _images(n: int) -> SampleSet:
    pixels = np.arange(n * 64, dtype=np.uint8).reshape(n, 8, 8, 1)
    return SampleSet(
        {"image_input": pixels.astype(np.float32)},
        [f"{i}.png" for i in range(n)],
        classes=["a"] * n,
        notes=["from images"],
        images={"image_input": pixels},
    )


def test_one_sample_is_repeated_for_every_other_sample():
    aux = SampleSet({"aux_input": np.array([[1, 2, 3, 4]], np.float32)}, ["row 0"], notes=["from aux"])
    combined = combine([IMAGE_SPEC, AUX_SPEC], {"aux": aux, "images": _images(10)})
    assert len(combined) == 10
    assert combined.arrays["aux_input"].shape == (10, 4)
    assert (combined.arrays["aux_input"] == [1, 2, 3, 4]).all()
    assert combined.names[0] == "0.png" and combined.classes == ["a"] * 10
    assert combined.images["image_input"].shape == (10, 8, 8, 1)
    assert sorted(combined.notes) == ["from aux", "from images"]

    single = combine([IMAGE_SPEC, AUX_SPEC], {"images": _images(1), "aux": _aux_rows(4)})
    assert single.images["image_input"].shape == (4, 8, 8, 1)
    assert single.names == ["row 0", "row 1", "row 2", "row 3"]


def _aux_rows(n: int) -> SampleSet:
    return SampleSet({"aux_input": np.zeros((n, 4), np.float32)}, [f"row {i}" for i in range(n)])


def test_different_counts_and_missing_inputs_are_errors():
    with pytest.raises(InputDataError) as caught:
        combine([IMAGE_SPEC, AUX_SPEC], {"images": _images(10), "aux": _aux_rows(3)})
    assert str(caught.value) == "Inputs have different sample counts: image_input 10, aux_input 3"
    with pytest.raises(InputDataError, match="^Input 'aux_input' has no data$"):
        combine([IMAGE_SPEC, AUX_SPEC], {"images": _images(10)})


def test_a_subclassed_model_declares_no_inputs():
    class Doubler(keras.Model):
        def call(self, x):
            return x * 2

    model = Doubler()
    model(np.zeros((1, 3), np.float32))
    assert input_specs(model) == []
