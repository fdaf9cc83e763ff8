"""A child process that runs t-SNE and UMAP away from the application's window.

UMAP's numba code holds the GIL (another thread of the same process waited up to 87 ms at a
time during a 10,000-point run), its first run compiles for a minute or more, and it cannot be
stopped mid-run. So UMAP runs here, in one persistent child process started with the "spawn"
method: a fresh interpreter that imports NumPy and this module, never TensorFlow or Qt. t-SNE
(openTSNE) runs here too, so that cancelling either ends at once: cancelling ends the process,
and the next run starts a new one.

The settings of t-SNE and UMAP are defined here, not in :mod:`inspector.embeddings.projection` (which
re-exports them), so that the child can unpickle them without importing the app's job module.
The vectors travel through shared memory; progress, live layouts and results through a pipe.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import sys
import time
import traceback
import warnings
from collections import deque
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path
from threading import RLock
from typing import Any, Callable, Generator

import numpy as np

from inspector.errors import ProjectionError
from inspector.priority import NICENESS

METRICS = ("euclidean", "cosine")
EARLY_EXAGGERATION_ITERATIONS = 250
WARM_UP_POINTS = 300
POLL_SECONDS = 0.1
# UMAP's first compilation, import included, measured on 2 cores: 65 s with numba's cache filled,
# 130 s with it empty. pynndescent's search is compiled again in every process, for each metric.
FIRST_COMPILE_SECONDS = 60
METRIC_COMPILE_SECONDS = 20


@dataclass(frozen=True)
class TsneSettings:
    """Parameters of a t-SNE run (openTSNE).

    Attributes:
        perplexity: The effective number of neighbours each point attends to.
        learning_rate: The optimiser's step size; ``None`` lets openTSNE choose ("auto").
        iterations: All iterations: 250 of early exaggeration, then ``iterations - 250`` normal.
        metric: ``"euclidean"`` or ``"cosine"`` distance in the original space.
        seed: Random seed; the same seed gives the same layout.
    """

    perplexity: float = 30.0
    learning_rate: float | None = None
    iterations: int = 750
    metric: str = "euclidean"
    seed: int = 0


@dataclass(frozen=True)
class UmapSettings:
    """Parameters of a UMAP run (umap-learn).

    Attributes:
        n_neighbors: The size of the neighbourhood that shapes the layout.
        min_dist: How tightly points may be packed in the layout, from 0 to 1.
        metric: ``"euclidean"`` or ``"cosine"`` distance in the original space.
        seed: Random seed; the same seed gives the same layout (and makes UMAP single-threaded).
    """

    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "euclidean"
    seed: int = 0


def perplexity_problem(perplexity: float, n_points: int) -> str | None:
    """Why ``n_points`` points are too few for a t-SNE ``perplexity``, or ``None`` if they suffice.

    openTSNE looks at ``3 * perplexity`` neighbours of each point, so it needs
    ``n_points - 1 >= 3 * perplexity``; a perplexity below 1 finds no neighbour at all.
    """
    if perplexity < 1:
        return f"The t-SNE perplexity must be at least 1; it is set to {perplexity:g}."
    if n_points < 4:
        return f"t-SNE needs at least 4 points; {_there_are(n_points)}."
    if n_points - 1 < 3 * perplexity:
        return (
            f"t-SNE with perplexity {perplexity:g} needs at least {math.ceil(3 * perplexity) + 1:,} points; "
            f"{_there_are(n_points)}. Lower the perplexity to {(n_points - 1) // 3} or less."
        )
    return None


def _there_are(n_points: int) -> str:
    return "there is 1" if n_points == 1 else f"there are {n_points:,}"


def tsne_estimator(
    settings: TsneSettings, n_points: int, callbacks: Callable | None = None, callbacks_every_iters: int = 25
):
    """openTSNE's ``TSNE`` with the app's parameters, for the worker and for direct comparison.

    Args:
        settings: The t-SNE parameters.
        n_points: How many points it will embed. openTSNE would quietly lower a perplexity that
            is too large for them (see :func:`perplexity_problem`); it is refused here instead.
        callbacks: Called as ``callback(iteration, error, embedding)`` during the optimisation.
        callbacks_every_iters: How many iterations pass between calls of ``callbacks``.

    Returns:
        An unfitted ``openTSNE.TSNE``.

    Raises:
        ProjectionError: The perplexity is too large for ``n_points``.
    """
    from openTSNE import TSNE

    problem = perplexity_problem(settings.perplexity, n_points)
    if problem:
        raise ProjectionError(problem)
    return TSNE(
        n_components=2,
        perplexity=settings.perplexity,
        learning_rate="auto" if settings.learning_rate is None else settings.learning_rate,
        early_exaggeration_iter=EARLY_EXAGGERATION_ITERATIONS,
        n_iter=settings.iterations - EARLY_EXAGGERATION_ITERATIONS,
        metric=settings.metric,
        random_state=settings.seed,
        n_jobs=-1,  # all cores
        callbacks=callbacks,
        callbacks_every_iters=callbacks_every_iters,
    )


def umap_estimator(settings: UmapSettings, progress_file=None):
    """umap-learn's ``UMAP`` with the app's parameters, for the worker and for direct comparison.

    The approximate neighbour search (pynndescent) is used at every size: UMAP's exact search
    for fewer than 4,096 points calls a Python distance function for every pair (about 40 s for
    4,000 points, against 10 s), and this way the warm-up compiles the code every run uses.

    Args:
        settings: The UMAP parameters.
        progress_file: A file-like object that receives the epoch counter as ``"n/total"``
            text; ``None`` shows no progress.

    Returns:
        An unfitted ``umap.UMAP``.
    """
    import umap

    progress = None
    if progress_file is not None:
        progress = {"disable": False, "file": progress_file, "bar_format": "{n}/{total}", "mininterval": 0.25}
    return umap.UMAP(
        n_components=2,
        n_neighbors=settings.n_neighbors,
        min_dist=settings.min_dist,
        metric=settings.metric,
        random_state=settings.seed,
        force_approximation_algorithm=True,
        tqdm_kwds=progress,
    )


class ProjectionWorker:
    """A persistent child process that runs t-SNE and UMAP; thread-safe enough for one job at a time.

    The GUI thread may call :meth:`start`, :meth:`warm_up`, :attr:`warm` and :meth:`close` while a
    job thread iterates :meth:`run`; none of them waits for the child.

    Args:
        numba_cache: Folder for numba's compiled code, so that later sessions start faster.
    """

    def __init__(self, numba_cache: str | Path | None = None):
        self._numba_cache = None if numba_cache is None else str(numba_cache)
        self._lock = RLock()
        self._process = None
        self._conn = None
        self._inbox: deque[tuple] = deque()
        self._warm = False
        self._warming = False  # a warm-up was sent to the current child and has not finished
        self._warm_at = 0.0  # when the parent heard that the warm-up finished (perf_counter)
        self._want_warm = False

    def start(self) -> None:
        """Starts the child process if it is not running; returns at once (it imports its
        libraries in the background)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            self._stop()
            context = multiprocessing.get_context("spawn")
            self._conn, child_end = context.Pipe()
            self._process = context.Process(
                target=_serve, args=(child_end, self._numba_cache), name="projection-worker", daemon=True
            )
            self._process.start()
            child_end.close()  # so that the child's end closing shows as end-of-file here

    def warm_up(self) -> None:
        """Asks the child to compile UMAP now, in the background; returns at once.

        Harmless to call again. If a t-SNE run interrupts the warm-up, it resumes afterwards.
        """
        with self._lock:
            self._want_warm = True
            self._send_warm_up()

    @property
    def warm(self) -> bool:
        """Whether the child has compiled UMAP (for the euclidean metric)."""
        if self._lock.acquire(blocking=False):  # never wait for the job thread
            try:
                self._receive()
            finally:
                self._lock.release()
        return self._warm

    def run(
        self, method: str, vectors: np.ndarray, settings, *, layout_every: int = 25
    ) -> Generator[tuple, None, tuple[np.ndarray, float]]:
        """Runs t-SNE or UMAP in the child process.

        Closing the generator before it returns ends the child process (the next run starts a
        new one). A t-SNE run does not wait for a warm-up in progress: it ends that process and
        the warm-up starts again after the run.

        Args:
            method: ``"t-SNE"`` or ``"UMAP"``.
            vectors: The points, shape ``(n, d)``; sent as float32.
            settings: :class:`TsneSettings` or :class:`UmapSettings`.
            layout_every: For t-SNE, how many iterations pass between live layouts.

        Yields:
            ``("progress", message, fraction, payload)`` from the child, and ``("wait",)`` at
            least every 0.1 s while there is no news, so that the caller can be cancelled.

        Returns:
            ``(coords, seconds, compile_seconds)``: the layout as float32 ``(n, 2)``, the
            computation's time, and the time this run spent on UMAP's numba compilation before
            it: waiting for a warm-up under way, then compiling for its metric.

        Raises:
            ProjectionError: The computation failed (the child's traceback is in ``details``)
                or the child process ended unexpectedly.
        """
        started = time.perf_counter()
        with self._lock:
            self._receive()
            if self._warming and method != "UMAP":
                self._stop()  # the user's run comes before a background warm-up
            waits_for_warm_up = self._warming
            self.start()
            self._inbox.clear()
        shared = _SharedVectors(vectors)
        finished = False
        try:
            self._send(("run", method, settings, shared.spec, layout_every))
            while True:
                message = self._next_message()
                if message is None:
                    yield ("wait",)
                    continue
                shared.release()  # the child has copied the vectors once it speaks
                if message[0] == "progress":
                    yield message
                    continue
                finished = True
                if message[0] == "result":
                    coords, seconds, compile_seconds = message[1:]
                    if waits_for_warm_up:  # the child read the run once the warm-up was over
                        compile_seconds += max(self._warm_at - started, 0.0)
                    return coords, seconds, compile_seconds
                error = ProjectionError(message[1])
                error.details = message[2]
                raise error
        finally:
            shared.release()
            with self._lock:
                if not finished:
                    self._stop()
                if self._want_warm:
                    self._send_warm_up()

    def close(self) -> None:
        """Ends the child process and waits for it; harmless to call again."""
        with self._lock:
            self._want_warm = False
            self._stop()

    def _send_warm_up(self) -> None:
        if self._warm or self._warming:
            return
        self.start()
        try:
            self._conn.send(("warm_up",))
        except OSError:
            return  # the child has just ended; the next run starts another
        self._warming = True

    def _send(self, message: tuple) -> None:
        """Sends a command to the child.

        Raises:
            ProjectionError: The child process has ended.
        """
        with self._lock:
            try:
                self._connection().send(message)
            except OSError:
                self._raise_ended()

    def _stop(self) -> None:
        """Ends the child (if any) and forgets its state."""
        if self._process is not None:
            self._process.terminate()
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process.close()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        self._inbox.clear()
        self._warm = self._warming = False

    def _next_message(self) -> tuple | None:
        """The child's next message for the running task, waiting up to :data:`POLL_SECONDS`.

        Raises:
            ProjectionError: The child process has ended, or the worker was closed.
        """
        message = self._take()
        conn = self._conn
        if message is None and conn is not None:
            try:
                conn.poll(POLL_SECONDS)  # outside the lock: the GUI thread may look at `warm`
            except (OSError, ValueError):
                pass  # closed meanwhile by close(); _take reports it
            message = self._take()
        return message

    def _take(self) -> tuple | None:
        """The oldest message that has arrived, if any.

        Raises:
            ProjectionError: The child process has ended, or the worker was closed.
        """
        with self._lock:
            connected = self._receive()
            if self._inbox:
                return self._inbox.popleft()
            if not connected or not self._process.is_alive():
                self._raise_ended()
            return None

    def _receive(self) -> bool:
        """Moves the child's waiting messages into the inbox, noting the warm-up's end.

        Returns:
            False when the pipe to the child is closed (the child ended, or the worker was
            closed); only the running job reports that, so the GUI thread never stops a child.
        """
        if self._conn is None:
            return False
        try:
            while self._conn.poll(0):
                message = self._conn.recv()
                if message[0] == "warm":
                    self._warm, self._warming = True, False
                    self._warm_at = time.perf_counter()
                else:
                    self._inbox.append(message)
        except (EOFError, OSError):
            return False
        return True

    def _connection(self):
        if self._conn is None:
            raise ProjectionError("The projection process was closed.")
        return self._conn

    def _raise_ended(self) -> None:
        self._connection()  # closed by close(): say so rather than "ended unexpectedly"
        self._process.join(5)
        code = self._process.exitcode
        self._stop()
        raise ProjectionError(f"The projection process ended unexpectedly (exit code {code}).")


class _SharedVectors:
    """A float32 copy of the vectors in shared memory, for the child to copy out."""

    def __init__(self, vectors: np.ndarray):
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        self._memory = shared_memory.SharedMemory(create=True, size=max(array.nbytes, 1))
        np.ndarray(array.shape, np.float32, buffer=self._memory.buf)[...] = array
        self.spec = (self._memory.name, array.shape)

    def release(self) -> None:
        """Frees the shared memory; harmless to call again."""
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
            self._memory = None


def _copy_shared(spec: tuple[str, tuple[int, ...]]) -> np.ndarray:
    """The child's own copy of vectors the parent put in shared memory."""
    name, shape = spec
    memory = shared_memory.SharedMemory(name=name)
    view = np.ndarray(shape, np.float32, buffer=memory.buf)
    vectors = view.copy()
    del view  # the memory cannot close while a view of it exists
    memory.close()
    return vectors


# The child process ---------------------------------------------------------------------------


def _serve(conn, numba_cache: str | None) -> None:
    """The child process: runs the parent's commands until the parent goes away."""
    if numba_cache:
        os.environ["NUMBA_CACHE_DIR"] = numba_cache
    os.nice(NICENESS)  # the window's painting comes first
    # umap imports TensorFlow (for ParametricUMAP) when it can: 10 s and a GB for nothing.
    sys.modules["tensorflow"] = None
    warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # seeded UMAP
    # A daemon process cannot start joblib's worker processes; openTSNE's exact neighbour search
    # (under 1,000 points) runs on one core then, and scikit-learn says so each time.
    warnings.filterwarnings("ignore", message="Loky-backed parallel loops", category=UserWarning)
    _use_thread_lock_for_tqdm()
    child = _Child(conn)
    child.preload()
    while True:
        try:
            command = conn.recv()
        except EOFError:
            return  # the parent ended
        if command[0] == "warm_up":
            child.warm_up()
        else:
            child.run(*command[1:])


def _use_thread_lock_for_tqdm() -> None:
    """Gives tqdm (UMAP's progress bar) a thread lock instead of its default semaphore shared
    between processes, which would leak whenever the parent ends this process."""
    try:
        from tqdm import tqdm
    except ImportError:
        return  # then UMAP is missing too, and its runs say so
    tqdm.set_lock(RLock())


class _Child:
    """The child's state: the pipe to the parent and the metrics UMAP is compiled for."""

    def __init__(self, conn):
        self.conn = conn
        self.compiled: set[str] = set()

    @staticmethod
    def preload() -> None:
        """Imports openTSNE before the first command arrives.

        UMAP is imported by the warm-up or the first UMAP run instead: importing it compiles
        numba code (40 s with an empty numba cache), which would hold up a t-SNE run.
        """
        try:
            import openTSNE  # noqa: F401
        except ImportError:
            pass  # the t-SNE run reports it

    def progress(self, message: str, fraction: float | None = None, payload: Any = None) -> None:
        """Sends a progress report to the parent."""
        self.conn.send(("progress", message, fraction, payload))

    def warm_up(self) -> None:
        """Compiles UMAP for the euclidean metric."""
        try:
            self.compile_umap("euclidean")
        except Exception:  # noqa: BLE001 - the next UMAP run compiles again and reports it
            pass

    def compile_umap(self, metric: str) -> None:
        """Runs UMAP on a few random points so that numba compiles its code for ``metric``."""
        if metric in self.compiled:
            return
        points = np.random.default_rng(0).normal(size=(WARM_UP_POINTS, 8)).astype(np.float32)
        umap_estimator(UmapSettings(metric=metric)).fit_transform(points)
        self.compiled.add(metric)
        if metric == "euclidean":
            self.conn.send(("warm",))

    def run(self, method: str, settings, spec: tuple, layout_every: int) -> None:
        """Runs one projection and sends its result or its error."""
        try:
            vectors = _copy_shared(spec)
            if method == "t-SNE":
                result = self.tsne(vectors, settings, layout_every)
            else:
                result = self.umap(vectors, settings)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent
            self.conn.send(("error", _describe(method, exc), traceback.format_exc()))
            return
        self.conn.send(("result", *result))

    def tsne(
        self, vectors: np.ndarray, settings: TsneSettings, layout_every: int
    ) -> tuple[np.ndarray, float, float]:
        """Runs t-SNE, sending the layout every ``layout_every`` iterations (nothing to compile)."""
        self.progress("t-SNE: finding neighbours…")
        reporter = _LayoutReporter(self.progress, settings.iterations)
        estimator = tsne_estimator(settings, len(vectors), reporter, layout_every)
        start = time.perf_counter()
        embedding = estimator.fit(vectors)
        return np.asarray(embedding, dtype=np.float32), time.perf_counter() - start, 0.0

    def umap(self, vectors: np.ndarray, settings: UmapSettings) -> tuple[np.ndarray, float, float]:
        """Runs UMAP (compiling it first if needed), sending the epoch counter."""
        start = time.perf_counter()
        if settings.metric not in self.compiled:
            seconds = METRIC_COMPILE_SECONDS if self.compiled else FIRST_COMPILE_SECONDS
            self.progress(f"UMAP: compiling numba code (first run only, about {seconds} s)…")
            self.compile_umap(settings.metric)
        compiled = time.perf_counter()
        self.progress("UMAP: finding neighbours…")
        estimator = umap_estimator(settings, _EpochReporter(self.progress))
        coords = estimator.fit_transform(vectors)
        return np.asarray(coords, dtype=np.float32), time.perf_counter() - compiled, compiled - start


class _LayoutReporter:
    """An openTSNE callback that sends the current layout, counting iterations over both phases.

    openTSNE counts the early-exaggeration and the normal phase from 1 each; it calls
    :meth:`optimization_about_to_start` before each phase.
    """

    def __init__(self, progress: Callable, total: int):
        self._progress = progress
        self._total = total
        self._phase_starts = iter((0, EARLY_EXAGGERATION_ITERATIONS))
        self._offset = 0

    def optimization_about_to_start(self) -> None:
        """Notes that the next phase starts."""
        self._offset = next(self._phase_starts)

    def __call__(self, iteration: int, error: float, embedding) -> None:
        done = self._offset + iteration
        layout = np.array(embedding, dtype=np.float32)
        self._progress(f"t-SNE iteration {done}/{self._total}", done / self._total, layout)


class _EpochReporter:
    """A file for UMAP's tqdm progress bar (formatted ``"{n}/{total}"``) that sends each new count."""

    _COUNT = re.compile(r"(\d+)/(\d+)")

    def __init__(self, progress: Callable):
        self._progress = progress
        self._last = None

    def write(self, text: str) -> None:
        """Receives the bar's text and sends its latest count if it changed."""
        counts = self._COUNT.findall(text)
        if not counts or counts[-1] == self._last:
            return
        self._last = counts[-1]
        done, total = (int(value) for value in self._last)
        self._progress(f"UMAP epoch {done}/{total}", done / total if total else None)

    def flush(self) -> None:
        """Nothing to flush; tqdm calls it."""


def _describe(method: str, exc: Exception) -> str:
    """One sentence for the user about why ``method`` failed."""
    if isinstance(exc, ProjectionError):
        return str(exc)
    reason = str(exc).strip() or type(exc).__name__
    return f"{method} failed: {reason}"
