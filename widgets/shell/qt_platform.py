"""Checks, before Qt starts, that its xcb platform plugin can load.

PySide6 from PyPI brings Qt but not the X11 libraries that Qt's xcb plugin links against
(``libxcb-cursor0``, ``libxcb-icccm4``, ``libxkbcommon-x11-0``, …). Without them Qt prints a
long hint and aborts the process. This module loads the plugin first (work Qt would do a moment
later anyway, so start-up is not slower) and, when that fails, asks ``ldd`` (which resolves
dependencies transitively) for everything the plugin lacks, so that start-up can name the
libraries and the Debian/Ubuntu packages that provide them. It imports neither Qt nor TensorFlow.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

_PLUGIN = "libqxcb.so"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_SONAME = re.compile(r"^(lib.+?)\.so\.(\d+)")

# Debian names a library's package after its soname (libxcb-cursor.so.0 -> libxcb-cursor0,
# libxkbcommon-x11.so.0 -> libxkbcommon-x11-0); these are the ones Qt needs that do not follow it.
_PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libGLdispatch.so.0": "libglvnd0",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libgcc_s.so.1": "libgcc-s1",
    "libz.so.1": "zlib1g",
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
}


def qt_uses_xcb(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether Qt will try its xcb (X11) platform plugin first.

    Args:
        platform: The operating system, as ``sys.platform`` names it.
        environ: The environment Qt will see.

    Returns:
        True on Linux when ``QT_QPA_PLATFORM`` is unset or starts with ``xcb``.
    """
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    return not chosen or chosen.split(";")[0].split(":")[0] == "xcb"


def xcb_plugin(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The ``libqxcb.so`` Qt will load, found without importing PySide6.

    Args:
        environ: The environment Qt will see; Qt looks in ``QT_QPA_PLATFORM_PLUGIN_PATH`` first.

    Returns:
        The plugin's path, or None if there is none.
    """
    folders = [Path(environ["QT_QPA_PLATFORM_PLUGIN_PATH"])] if environ.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms")
    return next((folder / _PLUGIN for folder in folders if (folder / _PLUGIN).exists()), None)


def load_error(library: Path) -> str | None:
    """Loads a shared object the way Qt loads a plugin, and says why that failed.

    Args:
        library: A shared object.

    Returns:
        The dynamic loader's error, or None when ``library`` loaded.
    """
    try:
        ctypes.CDLL(str(library))
    except OSError as error:
        return str(error)
    return None


def missing_libraries(library: Path) -> list[str]:
    """The shared libraries that ``library`` or its dependencies need and the system lacks.

    Args:
        library: A shared object.

    Returns:
        The sonames ``ldd`` reports as not found, in its order, without repeats; empty when
        ``ldd`` is not available.
    """
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    run = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30, check=False)
    return list(dict.fromkeys(_NOT_FOUND.findall(run.stdout)))


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that provides the library ``soname``.

    Args:
        soname: A library name such as ``libxcb-cursor.so.0``.

    Returns:
        The package name, e.g. ``libxcb-cursor0``.
    """
    if soname in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[soname]
    match = _SONAME.match(soname)
    if match is None:
        return soname
    name, version = match.group(1).lower().replace("_", "-"), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_libraries_message(plugin: Path, missing: list[str]) -> str:
    """What the user reads when the plugin lacks libraries: their names and the install line.

    Args:
        plugin: The platform plugin that cannot load.
        missing: The sonames it lacks (at least one).

    Returns:
        One sentence naming the plugin and the libraries, then the ``apt-get`` line.
    """
    packages = " ".join(dict.fromkeys(debian_package(soname) for soname in missing))
    return (
        f"error: Qt's X11 platform plugin {plugin} cannot load because these system libraries are "
        f"missing: {', '.join(missing)}.\n"
        f"On Debian or Ubuntu, install them with:\n"
        f"  sudo apt-get install {packages}"
    )


def xcb_problem(plugin: Path | None = None) -> str | None:
    """Checks that Qt's xcb plugin can load, when Qt is going to use it.

    Args:
        plugin: The plugin to check; PySide6's ``libqxcb.so`` by default.

    Returns:
        The message to show when the plugin cannot load, else None.
    """
    if not qt_uses_xcb():
        return None
    plugin = plugin or xcb_plugin()
    error = None if plugin is None else load_error(plugin)
    if error is None:
        return None
    missing = missing_libraries(plugin)
    if missing:
        return missing_libraries_message(plugin, missing)
    return f"error: Qt's X11 platform plugin {plugin} cannot load: {error}"
