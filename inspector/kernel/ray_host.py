"""The Ray actor class of a kernel, sent to the cluster by value with the app's own package.

Ray can ship a local package only as a job-wide runtime environment (``ray.init(runtime_env=
{"py_modules": …})``), and through Ray Client that makes the head node set up the environment for
each client's own server process; with Ray 2.60 that failed here every few connections
("Starting Ray client server failed"). So the relay (:mod:`inspector.kernel.ray_bridge`) pickles
this module by value (``cloudpickle.register_pickle_by_value``), and the actor receives the package
``inspector`` as a zip archive, unpacks it once per node and version into the node's temporary
folder, puts it first on ``sys.path`` and only then imports the kernel
(:class:`~inspector.kernel.ray_actor.KernelActor`). The cluster runs the window's version of every
job, whether or not the app is installed there. This module imports only the standard library.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path


def package_archive(package: str | Path) -> tuple[bytes, str]:
    """The Python files of a package folder as a zip archive, and the archive's digest."""
    package = Path(package)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            info = zipfile.ZipInfo(str(path.relative_to(package.parent)), date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:16]


def _unpacked(archive: bytes, digest: str) -> str:
    """The folder on this node that holds the archive's package (unpacked on first use)."""
    folder = os.path.join(tempfile.gettempdir(), f"kmi-package-{digest}")
    if not os.path.isdir(folder):
        staging = tempfile.mkdtemp(prefix="kmi-package-")
        zipfile.ZipFile(io.BytesIO(archive)).extractall(staging)
        try:
            os.rename(staging, folder)
        except OSError:  # another actor unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


class KernelHost:
    """A kernel on a Ray node: unpacks the app's package, then serves a
    :class:`~inspector.kernel.ray_actor.KernelActor`.

    Args:
        archive: The package ``inspector``, from :func:`package_archive`.
        digest: The archive's digest.
        sys_path: The window's ``sys.path`` (see ``KernelActor``).
        name: The actor's name.
    """

    def __init__(self, archive: bytes, digest: str, sys_path: list[str], name: str):
        folder = _unpacked(archive, digest)
        sys.path.insert(0, folder)
        from inspector.kernel.ray_actor import KernelActor

        self._kernel = KernelActor(sys_path, name)

    def run(self, job_id: int, data: bytes, buffers: list[bytes]) -> None:
        """See :meth:`KernelActor.run`."""
        self._kernel.run(job_id, data, buffers)

    def cancel(self, job_id: int) -> None:
        """See :meth:`KernelActor.cancel`."""
        self._kernel.cancel(job_id)

    def poll(self, timeout: float) -> list[tuple]:
        """See :meth:`KernelActor.poll`."""
        return self._kernel.poll(timeout)
