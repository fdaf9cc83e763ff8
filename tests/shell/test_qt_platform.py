"""Start-up on Linux without the system libraries that Qt's X11 plugin needs: a clear message with
the packages to install instead of Qt's abort."""

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from widgets.shell.qt_platform import debian_package, missing_libraries, qt_uses_xcb, xcb_plugin, xcb_problem

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt uses xcb only on Linux")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build a plugin stand-in")


def _gcc(*args: str) -> None:
    subprocess.run(["gcc", "-shared", "-fPIC", *args], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def broken_plugin(tmp_path_factory):
    """A stand-in ``libqxcb.so`` whose libraries are gone: one it links directly
    (``libkmi-absent-x11.so.0``) and one that a library it finds needs (``libkmi_absent_core.so.2``)."""
    folder = tmp_path_factory.mktemp("platforms")
    source = folder / "empty.c"
    source.write_text("int kmi_stand_in(void) { return 0; }\n")
    for soname in ("libkmi-absent-x11.so.0", "libkmi_absent_core.so.2"):
        _gcc(str(source), f"-Wl,-soname,{soname}", "-o", str(folder / soname))
    _gcc(str(source), "-Wl,-soname,libkmi-middle.so.1", "-Wl,--no-as-needed", f"-L{folder}",
         "-l:libkmi_absent_core.so.2", "-o", str(folder / "libkmi-middle.so.1"))
    _gcc(str(source), "-Wl,--no-as-needed", f"-L{folder}", "-Wl,-rpath,$ORIGIN",
         "-l:libkmi-absent-x11.so.0", "-l:libkmi-middle.so.1", "-o", str(folder / "libqxcb.so"))
    for soname in ("libkmi-absent-x11.so.0", "libkmi_absent_core.so.2"):
        (folder / soname).unlink()
    return folder / "libqxcb.so"


@pytest.mark.parametrize(
    ("platform", "environ", "uses_xcb"),
    [
        ("linux", {}, True),
        ("linux", {"QT_QPA_PLATFORM": "xcb"}, True),
        ("linux", {"QT_QPA_PLATFORM": "xcb:nomitshm"}, True),
        ("linux", {"QT_QPA_PLATFORM": "offscreen"}, False),
        ("linux", {"QT_QPA_PLATFORM": "wayland;xcb"}, False),
        ("darwin", {}, False),
        ("win32", {}, False),
    ],
)
def test_the_check_runs_only_where_qt_would_use_xcb(platform, environ, uses_xcb):
    assert qt_uses_xcb(platform, environ) is uses_xcb


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libEGL.so.1", "libegl1"),
        ("libfontconfig.so.1", "libfontconfig1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
    ],
)
def test_libraries_are_named_by_their_debian_package(soname, package):
    assert debian_package(soname) == package


@linux_only
@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg to know the packages")
def test_every_library_the_plugin_uses_maps_to_the_package_that_installed_it():
    ldd = subprocess.run(["ldd", str(xcb_plugin())], capture_output=True, text=True, check=True)
    paths = {line.split()[2] for line in ldd.stdout.splitlines() if "=> /" in line and "site-packages" not in line}
    spellings = sorted(paths | {"/usr" + path for path in paths if not path.startswith("/usr/")})  # merged /usr
    owners = subprocess.run(["dpkg", "-S", *spellings], capture_output=True, text=True).stdout
    installed = {}
    for line in owners.splitlines():
        package, _, path = line.partition(": ")
        installed[os.path.basename(path)] = package.split(":")[0]
    names = sorted(os.path.basename(path) for path in paths)
    assert len(installed) == len(names)
    assert {name: debian_package(name) for name in names} == installed


@linux_only
def test_the_check_passes_on_this_machine(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM_PLUGIN_PATH", raising=False)
    assert xcb_plugin() is not None and xcb_plugin().name == "libqxcb.so"
    assert missing_libraries(xcb_plugin()) == []
    assert xcb_problem() is None


@linux_only
@needs_gcc
def test_missing_libraries_are_named_with_the_install_line(broken_plugin, monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert missing_libraries(broken_plugin) == ["libkmi-absent-x11.so.0", "libkmi_absent_core.so.2"]
    message = xcb_problem(broken_plugin)
    first, *rest = message.splitlines()
    assert str(broken_plugin) in first
    assert "missing: libkmi-absent-x11.so.0, libkmi_absent_core.so.2." in first
    assert rest[-1].strip() == "sudo apt-get install libkmi-absent-x11-0 libkmi-absent-core2"


@linux_only
@needs_gcc
def test_the_app_exits_with_the_message_instead_of_aborting(broken_plugin):
    environ = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    environ["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(broken_plugin.parent)
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120
    )
    assert run.returncode == 1
    assert run.stderr.startswith(f"error: Qt's X11 platform plugin {broken_plugin} cannot load")
    assert "sudo apt-get install libkmi-absent-x11-0 libkmi-absent-core2" in run.stderr
    assert "Aborted" not in run.stderr and run.stdout == ""


@needs_gcc
def test_other_platforms_are_not_checked(broken_plugin, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert xcb_problem(broken_plugin) is None
