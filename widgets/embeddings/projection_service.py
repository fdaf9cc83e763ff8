"""The application's one projection process (t-SNE and UMAP) and the thread that drives it.

Every Embeddings view and projector window runs t-SNE and UMAP here, one run at a time in the
order asked: one process compiles UMAP's numba code once for all of them (a minute on two
cores), and two views never fight over the cores. Cancelling a run ends the process's current
work at once; the next run starts a fresh process (see
:class:`~inspector.embeddings.projection_worker.ProjectionWorker`).
"""

from __future__ import annotations

from inspector.embeddings.projection_worker import ProjectionWorker
from widgets.common.job_runner import JobRunner
from widgets.common.paths import cache_folder


class ProjectionService:
    """The projection process and its job thread, shared by every view of the application.

    Attributes:
        runner: Runs the t-SNE and UMAP jobs, one after another.
        worker: The child process they run in.
    """

    _shared: ProjectionService | None = None

    def __init__(self):
        self.runner = JobRunner()
        self.worker = ProjectionWorker(numba_cache=cache_folder() / "numba")
        self.worker.start()

    @classmethod
    def shared(cls) -> ProjectionService:
        """The application's service, started on first use."""
        if cls._shared is None:
            cls._shared = ProjectionService()
        return cls._shared

    @classmethod
    def running(cls) -> ProjectionService | None:
        """The application's service if it has been started."""
        return cls._shared

    @classmethod
    def close_shared(cls) -> None:
        """Cancels its runs and ends the process (the application is quitting)."""
        service, cls._shared = cls._shared, None
        if service is not None:
            service.runner.shutdown(2000)
            service.worker.close()
