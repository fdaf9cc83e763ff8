"""The core stays free of Qt, and the window starts without TensorFlow."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CORE_MODULES = [
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "inspector").rglob("*.py")
    if p.stem not in ("__init__", "__main__")
]
"""Every core module, however deep in its wing (a flat glob would miss the wings)."""


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


def test_the_core_imports_no_qt():
    modules = _imported_after("; ".join(f"import {name}" for name in CORE_MODULES))
    assert not {m for m in modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")}


def test_the_main_window_module_does_not_import_tensorflow():
    modules = _imported_after("import widgets.shell.main_window")
    assert "tensorflow" not in modules and "keras" not in modules


def test_the_import_contracts_hold():
    """The contracts in pyproject.toml (the core does not import the views or Qt)."""
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
