"""The job runner: a view that goes away takes its jobs' reports with it; a cancel reaches inside a
long call that the job marked interruptible."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer
from shiboken6 import delete

from inspector.cancel import interruptible
from inspector.jobs import Progress
from widgets.common.job_runner import JobRunner


def test_reports_sent_before_the_owner_is_deleted_reach_nobody(qtbot):
    owner = QObject()
    runner = JobRunner(owner)
    go, sent, gate, seen = threading.Event(), threading.Event(), threading.Event(), []

    def job():
        go.wait(30)
        yield Progress("first")
        sent.set()  # "first" is posted; the GUI thread has not delivered it
        gate.wait(30)
        yield Progress("second")
        return "result"

    handle = runner.submit("Job", job)
    handle.progress.connect(lambda progress: seen.append(progress.message))
    handle.succeeded.connect(seen.append)
    handle.finished.connect(lambda: seen.append("finished"))
    qtbot.waitUntil(lambda: runner.thread_active, timeout=10_000)
    go.set()
    assert sent.wait(30)  # without running the event loop
    delete(owner)  # the owner, and its runner with it, are gone before the report arrives
    gate.set()
    qtbot.waitUntil(lambda: handle.done, timeout=10_000)
    delivered = []  # posted after the job's last report, so delivered after it
    QTimer.singleShot(0, lambda: delivered.append(True))
    qtbot.waitUntil(lambda: bool(delivered), timeout=10_000)
    assert seen == []


def test_cancel_interrupts_an_interruptible_call(qtbot):
    runner = JobRunner()
    inside, ran_to_end = threading.Event(), threading.Event()

    def job():
        yield Progress("starting")
        with interruptible():
            inside.set()
            end = time.monotonic() + 20
            while time.monotonic() < end:
                pass
            ran_to_end.set()
        yield Progress("not reached")

    handle = runner.submit("Long call", job)
    with qtbot.waitSignal(handle.cancelled, timeout=10_000):
        qtbot.waitUntil(inside.is_set, timeout=10_000)
        handle.cancel()
    assert not ran_to_end.is_set()
    assert runner.shutdown(10_000)
