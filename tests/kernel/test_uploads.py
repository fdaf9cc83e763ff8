"""Files and folders of the window's computer travel to a kernel on another one as copies."""

from __future__ import annotations

import shutil

from inspector.kernel.transport import decode, encode
from inspector.kernel.uploads import FileUpload


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
