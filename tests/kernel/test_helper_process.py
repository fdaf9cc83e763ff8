"""The helper process runs pure-Python jobs (the graph preview) away from the window's GIL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from inspector.helper_process import in_helper_process
from inspector.jobs import run_job
from inspector.model.config_graph import preview_job
from tests.conftest import ROOT, SAMPLES
from tests.kernel import kernel_jobs


def test_a_job_runs_in_a_process_without_tensorflow_or_qt_and_returns_its_result():
    pid, imported = run_job(in_helper_process(kernel_jobs.whereabouts_job))
    assert pid != os.getpid()
    assert imported == []
    assert run_job(in_helper_process(kernel_jobs.echo_job, {"a": [1, 2]})) == {"a": [1, 2]}


def test_the_preview_is_the_one_the_window_would_compute_itself():
    path = SAMPLES / "digits_cnn.keras"
    there = run_job(in_helper_process(preview_job, path))
    here = run_job(preview_job(path))
    assert there.info == here.info
    assert there.layout.positions == here.layout.positions


def test_a_helper_that_dies_fails_its_job_and_the_next_job_gets_a_new_helper():
    before, _ = run_job(in_helper_process(kernel_jobs.whereabouts_job))
    with pytest.raises(BrokenProcessPool):
        run_job(in_helper_process(kernel_jobs.exit_job))
    after, _ = run_job(in_helper_process(kernel_jobs.whereabouts_job))
    assert after not in (before, os.getpid())


def test_the_helper_ends_when_the_application_is_killed(qtbot):
    script = (
        "from inspector.helper_process import in_helper_process\n"
        "from inspector.jobs import run_job\n"
        "from tests.kernel import kernel_jobs\n"
        "if __name__ == '__main__':\n"
        "    print(run_job(in_helper_process(kernel_jobs.whereabouts_job))[0], flush=True)\n"
        "    import signal; signal.pause()  # lives until the test kills it\n"
    )
    application = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        helper = int(application.stdout.readline())
        assert Path(f"/proc/{helper}").exists()
    finally:
        application.kill()  # as a crash or kill -9 would: the pool is never shut down
        application.wait()
    try:
        qtbot.waitUntil(lambda: not Path(f"/proc/{helper}").exists(), timeout=20_000)
    finally:
        if Path(f"/proc/{helper}").exists():  # the helper outlived the killed application
            os.kill(helper, signal.SIGKILL)
