"""Shared pieces of the benchmarks: timing, the GUI stall monitor and the results file."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BENCH_DIR = Path(__file__).resolve().parent
MODELS_DIR = BENCH_DIR / "models"
RESULTS = BENCH_DIR / "results.json"
_APP = None


def median_time(func, repeats: int) -> float:
    """Median wall time of ``func()`` over ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


_FRESH_LOAD = """
import sys, time
import keras
sys.stdout.write("ready\\n"); sys.stdout.flush()
path = sys.stdin.readline().strip()
start = time.perf_counter()
keras.saving.load_model(path)
sys.stdout.write(f"{time.perf_counter() - start}\\n")
"""


def fresh_load_time(path) -> float:
    """Seconds that ``keras.saving.load_model(path)`` takes in a new process that has already
    imported Keras: the state of the app's warm spare kernel, and of a user's new script.

    A second load of the same model in one process is about a quarter faster (TensorFlow keeps
    what the first one set up), which neither a new script nor a new kernel gets; timing the
    bare side in a process that loaded the model before would compare unlike with unlike.
    """
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, "-c", _FRESH_LOAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare Keras process did not start")
        process.stdin.write(f"{path}\n")
        process.stdin.flush()
        return float(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


TRACE_STALLS = os.environ.get("BENCH_STALL_TRACE") == "1"
"""Whether stall monitors print what the GUI thread was doing during their longest stall
(``BENCH_STALL_TRACE=1``; the sampling takes a little of the GIL, so figures are not recorded
from traced runs)."""


class StallMonitor:
    """Measures the GUI thread's longest stall with a fast timer heartbeat.

    The longest gap between two heartbeats, less the heartbeat interval, is how long the event
    loop could not run: what a user feels as a frozen window.
    """

    def __init__(self, interval_ms: int = 2, trace: bool = TRACE_STALLS):
        from PySide6.QtCore import QTimer

        self.interval_ms = interval_ms
        self.longest_ms = 0.0
        self._last = None
        self._last_cpu = 0.0
        self._worst: tuple[float, float, float] | None = None
        self._sampler = StackSampler() if trace else None
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        """Starts measuring (and forgets earlier stalls)."""
        self.longest_ms, self._worst = 0.0, None
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        if self._sampler is not None:
            self._sampler.start()
        self._timer.start()

    def stop(self) -> float:
        """Stops measuring and returns the longest stall in milliseconds."""
        self._timer.stop()
        if self._sampler is not None:
            self._sampler.stop()
            if self._worst is not None:
                print(self._sampler.report(*self._worst), flush=True)
        return self.longest_ms

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = (now - self._last) * 1000.0 - self.interval_ms
        if gap > self.longest_ms:
            self.longest_ms = gap
            self._worst = (self._last, now, (cpu - self._last_cpu) * 1000.0)
        self._last, self._last_cpu = now, cpu


class StackSampler:
    """Samples the GUI thread's Python stack every few milliseconds from a thread of its own, to
    say what the thread was doing during a stall."""

    def __init__(self, interval_s: float = 0.002, depth: int = 5):
        import threading

        self._gui_thread = threading.get_ident()
        self._interval_s, self._depth = interval_s, depth
        self._samples: list[tuple[float, str]] = []
        self._running = threading.Event()

    def start(self) -> None:
        """Forgets earlier samples and starts sampling."""
        import threading

        self._samples = []
        self._running.set()
        threading.Thread(target=self._sample, name="stall-sampler", daemon=True).start()

    def stop(self) -> None:
        """Stops sampling."""
        self._running.clear()

    def _sample(self) -> None:
        import sys
        import traceback

        while self._running.is_set():
            frame = sys._current_frames().get(self._gui_thread)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-self._depth:]
                where = " < ".join(f"{Path(entry.filename).name}:{entry.lineno} {entry.name}" for entry in reversed(stack))
                self._samples.append((time.perf_counter(), where))
            time.sleep(self._interval_s)

    def report(self, start: float, end: float, cpu_ms: float) -> str:
        """What the GUI thread was sampled doing between ``start`` and ``end`` (perf_counter
        seconds), with how long it had the CPU meanwhile. Samples in the event loop's wait mean
        Qt's own work (painting, layout) or waiting for a core or the GIL."""
        lines = [f"  longest stall {(end - start) * 1000:.1f} ms, GUI thread on a core for {cpu_ms:.1f} ms:"]
        runs: list[list] = []
        for _, where in (sample for sample in self._samples if start <= sample[0] <= end):
            if runs and runs[-1][0] == where:
                runs[-1][1] += 1
            else:
                runs.append([where, 1])
        lines += [f"    {count:3d} x {where}" for where, count in runs]
        return "\n".join(lines)


def interleaved_medians(app, bare, wait, repeats: int) -> tuple[float, float]:
    """Median seconds of ``app()`` (which times itself and returns its seconds) and of
    ``bare()``, run in turn ``repeats`` times after one warm-up each (tracing belongs to
    neither side), so a busy moment of the machine hits both sides.

    Returns:
        ``(app, bare)``.
    """
    app()
    bare()
    app_times, bare_times = [], []
    for _ in range(repeats):
        wait_for_spare(wait)
        bare_times.append(median_time(bare, 1))
        app_times.append(app())
    return statistics.median(app_times), statistics.median(bare_times)


def longest_stall(action, wait, runs: int = 2) -> float:
    """The GUI thread's longest stall over ``runs`` runs of ``action()`` of their own (the
    monitor's heartbeat takes a little of the cores, so timed runs go without it), each after
    the warm spare kernel is ready.

    Returns:
        Milliseconds.
    """
    monitor, stall = StallMonitor(), 0.0
    for _ in range(runs):
        wait_for_spare(wait)
        monitor.start()
        action()
        stall = max(stall, monitor.stop())
    return stall


def model_file(application: str) -> Path:
    """Builds (once) and returns a saved ``keras.applications`` model with ``weights=None``.

    Args:
        application: The constructor's name, e.g. ``"ResNet50"``.
    """
    from inspector.tfimport import keras

    MODELS_DIR.mkdir(exist_ok=True)
    path = MODELS_DIR / f"{application.lower()}.keras"
    if not path.exists():
        print(f"building {path.name} (first run only)…", flush=True)
        model = getattr(keras.applications, application)(weights=None)
        tmp = path.with_suffix(".tmp.keras")
        model.save(tmp)
        tmp.rename(path)
        keras.backend.clear_session()
    return path


def app_window():
    """A shown main window with throw-away settings, and a ``wait(condition)`` that runs the
    event loop until ``condition()`` is true."""
    import tempfile

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from widgets.shell.main_window import MainWindow

    global _APP
    _APP = QApplication.instance() or QApplication([])  # kept alive for the whole run
    settings = QSettings(tempfile.mkstemp(suffix=".ini")[1], QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.show()

    def wait(condition, timeout_s: float = 600.0):
        # A real event loop that sleeps between events, as the app's does; polling in a busy
        # loop would take a core from TensorFlow and slow down what is measured.
        deadline = time.perf_counter() + timeout_s
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: (condition() or time.perf_counter() > deadline) and loop.quit())
        timer.start(5)
        if not condition():
            loop.exec()
        timer.stop()
        if not condition():
            raise TimeoutError("timed out")

    return window, wait


def wait_for_spare(wait, location=None) -> None:
    """Waits until the app's warm spare kernel (at ``location``, this computer by default) has
    imported TensorFlow, so that its start-up (a core busy for seconds) does not land in what
    the benchmark times next."""
    from inspector.kernel.client import KernelPool
    from inspector.kernel.location import LOCAL

    location = location or LOCAL
    pool = KernelPool.shared()
    pool.replenish(location)
    wait(lambda: pool.spare(location) is not None and pool.spare(location).ready.is_set())


CLOSE_SETTLE_S = 1.5
"""How long after a tab's close the window has collected what the tab left (a second after the
close; see ``widgets.shell.main_window.COLLECT_AFTER_CLOSE_MS``)."""


def close_and_settle(window, index: int, wait) -> None:
    """Closes the tab at ``index`` and waits until the window has collected what it left, as
    it has before a user's next action: in this process, which has TensorFlow imported for the
    plain side, that collection takes hundreds of milliseconds, and it must not land in the next
    figure. The caller must hold no reference to the tab or its views."""
    window.close_tab(index)
    end = time.perf_counter() + CLOSE_SETTLE_S
    wait(lambda: time.perf_counter() > end)


AFTER_OPEN_S = 0.2
"""How long stalls are still counted as the open's after the model is shown."""


def timed_open(window, wait, path, monitor: StallMonitor):
    """Opens ``path`` in a new tab of ``window`` (its kernel from the warm spare, which the
    caller has waited for) and waits until the model is shown.

    Returns:
        The tab, the seconds taken and the longest GUI stall meanwhile (ms).

    Raises:
        RuntimeError: The app could not open the file.
    """
    monitor.start()
    start = time.perf_counter()
    tab = window.open_file(path)
    wait(lambda: tab.is_loaded or tab.error is not None)
    elapsed = time.perf_counter() - start
    if tab.error is not None:
        raise RuntimeError(f"the app could not open {path} on {window.kernel_location}: {tab.error}")
    settled = time.perf_counter() + AFTER_OPEN_S  # the shown model's first paints are the open's too
    wait(lambda: time.perf_counter() > settled)
    return tab, elapsed, monitor.stop()


def process_tree_mb(pid: int | None = None) -> float:
    """Resident memory of a process and all its descendants (the app's kernels), in MB."""
    pid = pid or os.getpid()
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total_kb / 1024


def record(results: dict, name: str, value: float, target: float, unit: str) -> None:
    """Adds a figure to ``results`` and prints it as one line."""
    results[name] = {"value": round(value, 3), "target": target, "unit": unit}
    verdict = "ok" if value <= target else "ABOVE TARGET"
    print(f"{name:28s} {value:10.3f} {unit:6s} (target <= {target}) {verdict}", flush=True)


def save_results(results: dict) -> None:
    """Merges ``results`` into ``bench/results.json``."""
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged.update(results)
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n")
