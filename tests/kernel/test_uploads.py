"""Files and folders of the window's computer travel to a kernel on another one as copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from inspector.kernel.transport import decode, encode
from inspector.kernel.uploads import FileUpload, uploads_folder


@pytest.fixture(autouse=True)
def node(tmp_path, monkeypatch):
    """The receiving computer's temporary folder (where the copies arrive)."""
    folder = tmp_path / "node"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def sent(upload: FileUpload, *, in_memory: bool = False):
    """The upload as the kernel's job receives it: through the same encoding as a job's arguments."""
    data, buffers = encode((upload,), in_memory=in_memory)
    return decode(data, buffers=buffers)[0] if in_memory else decode(data, buffers)[0]


def test_a_file_arrives_as_a_copy_whatever_its_size(tmp_path):
    for size in (0, 10, 200_000):  # empty, in the pickle, in a buffer of its own
        original = tmp_path / f"data_{size}.npy"
        original.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
        for in_memory in (False, True):
            copy = sent(FileUpload(original), in_memory=in_memory)
            assert copy != original and copy.name == original.name
            assert copy.read_bytes() == original.read_bytes()


def test_a_folder_arrives_with_its_subfolders_and_only_the_files_asked_for(tmp_path):
    folder = tmp_path / "digits"
    (folder / "3").mkdir(parents=True)
    (folder / "7").mkdir()
    (folder / "3" / "a.png").write_bytes(b"png 3")
    (folder / "7" / "b.JPG").write_bytes(b"jpg 7")
    (folder / "notes.txt").write_text("not an image")
    upload = FileUpload(folder, (".png", ".jpg"))
    data, buffers = encode((upload,))
    shutil.rmtree(folder)  # the bytes left with the message
    copy = decode(data, buffers)[0]
    assert copy.name == "digits"
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()) == ["3/a.png", "7/b.JPG"]
    assert (copy / "7" / "b.JPG").read_bytes() == b"jpg 7"


def test_the_same_bytes_arrive_as_one_copy_and_other_bytes_as_another(tmp_path):
    images = tmp_path / "images.npy"
    images.write_bytes(b"first" * 20_000)
    first, again = sent(FileUpload(images)), sent(FileUpload(images), in_memory=True)
    assert first == again and first.read_bytes() == images.read_bytes()
    images.write_bytes(b"other" * 20_000)
    other = sent(FileUpload(images))
    assert other != first and other.read_bytes() == b"other" * 20_000
    assert first.read_bytes() == b"first" * 20_000, "an earlier job's copy changed"
    renamed = tmp_path / "renamed.npy"
    shutil.copy(images, renamed)
    assert sent(FileUpload(renamed)).name == "renamed.npy"
    folder = tmp_path / "digits"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"png")
    assert sent(FileUpload(folder)) == sent(FileUpload(folder))
    assert len(list(uploads_folder().iterdir())) == 3, "one folder per content"


def test_uploads_of_kernels_that_have_ended_are_removed(tmp_path, node):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = node / f"kmi-uploads-{ended.stdout.strip()}", node / f"kmi-uploads-{os.getppid()}"
    for folder in (dead, alive):
        (folder / "digest").mkdir(parents=True)
        (folder / "digest" / "images.npy").write_bytes(b"x")
    original = tmp_path / "a.npy"
    original.write_bytes(b"a")
    copy = sent(FileUpload(original))
    assert copy.is_relative_to(uploads_folder()) and copy.read_bytes() == b"a"
    assert not dead.exists(), "the uploads of a kernel that has ended were kept"
    assert (alive / "digest" / "images.npy").exists(), "the uploads of a running kernel were removed"
