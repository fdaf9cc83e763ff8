"""``python -m inspector.kernel FD --ray ADDRESS``: the local relay of a kernel on a Ray cluster.

The window talks to it exactly as to a local kernel process (:mod:`inspector.kernel.client`), so
everything above the socket (the runner, cancel, the death of a kernel and its restart) is the
same for both. The relay connects to the cluster with Ray Client, starts a
:class:`~inspector.kernel.ray_actor.KernelActor` (the package ``inspector`` is shipped with it as
a ``py_modules`` runtime environment, so the cluster runs the window's version of every job), and
then moves messages without unpickling them: the window's to the actor's ``run`` and
``cancel``, the actor's answers (long-polled) back to the window, large buffers between
shared-memory files here and Ray's object store. Neither Keras nor the jobs' modules are
imported here.

It ends when the window goes away, says ``quit`` or sends SIGTERM, and kills its actor first. When
the actor dies or the connection to the cluster is lost, it sends ``("fatal", 0, reason)`` and
exits with :data:`FATAL_EXIT`; the window shows the reason on the tab and offers a restart.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from inspector.kernel.transport import read_buffers, write_buffers

FATAL_EXIT = 3
"""The relay's exit code after it has sent its reason (``fatal``)."""

POLL_S = 0.25
"""How long one poll of the actor waits for an answer."""

START_TIMEOUT_S = 300
"""How long the actor may take to start (a node to be found, TensorFlow imported there)."""

ACTOR_THREADS = 4
"""Calls the actor serves at once: a poll waiting, a new job, a cancel."""

_PACKAGE = str(Path(__file__).resolve().parents[1])


class Relay:
    """The connection to the window and the actor on the cluster.

    Args:
        connection: The socket to the window.
        address: The Ray Client address (``ray://HOST:PORT``).
    """

    def __init__(self, connection: Connection, address: str):
        self.connection = connection
        self.address = address
        self.actor = None
        self._lock = threading.Lock()

    def send(self, kind: str, job_id: int, data: bytes = b"", files: list[str] | None = None) -> None:
        """Sends one message to the window; ends the relay when the window has gone."""
        with self._lock:
            try:
                self.connection.send((kind, job_id, data, files or []))
            except (OSError, EOFError):
                self.end(0)

    def fail(self, reason: str) -> None:
        """Tells the window why the kernel ends, and ends."""
        self.send("fatal", 0, reason.encode())
        self.end(FATAL_EXIT)

    def end(self, code: int) -> None:
        """Kills the actor (when there is one) and leaves."""
        if self.actor is not None:
            try:
                import ray

                ray.kill(self.actor, no_restart=True)
            except Exception:  # noqa: BLE001 - the cluster may be gone already
                pass
        os._exit(code)

    def start(self, sys_path: list[str], num_gpus: float) -> None:
        """Connects to the cluster and starts the actor; fails with the reason when it cannot."""
        try:
            import ray
        except ImportError:
            self.fail('Ray is not installed (pip install "keras-model-inspector[ray]")')
        from inspector.kernel.ray_actor import KernelActor

        try:
            ray.init(
                self.address,
                runtime_env={"py_modules": [_PACKAGE]},
                logging_level=logging.ERROR,
                log_to_driver=False,
            )
        except Exception as exc:  # noqa: BLE001 - every reason reaches the user
            self.fail(f"could not connect to the Ray cluster at {self.address}: {_short(exc)}")
        if num_gpus:
            total = ray.cluster_resources().get("GPU", 0)
            if total < num_gpus:
                self.fail(f"the Ray cluster at {self.address} has {total:g} GPUs; the kernel asked for {num_gpus:g}")
        try:
            options = {"max_concurrency": ACTOR_THREADS, "num_gpus": num_gpus or 0}
            self.actor = ray.remote(KernelActor).options(**options).remote(sys_path)
            ray.get(self.actor.poll.remote(0), timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            self.fail(f"the Ray cluster at {self.address} did not start a kernel within {START_TIMEOUT_S} s (no free node?)")
        except Exception as exc:  # noqa: BLE001
            self.fail(f"the Ray cluster at {self.address} could not start a kernel: {_short(exc)}")

    def pump(self) -> None:
        """Moves the actor's answers to the window until the actor or the cluster is gone."""
        import ray

        while True:
            try:
                messages = ray.get(self.actor.poll.remote(POLL_S))
            except ray.exceptions.RayActorError as exc:
                self.fail(f"its Ray actor ended ({_short(exc)})")
            except Exception as exc:  # noqa: BLE001
                self.fail(f"the connection to the Ray cluster at {self.address} was lost ({_short(exc)})")
            for kind, job_id, data, buffers in messages:
                self.send(kind, job_id, data, write_buffers(buffers))

    def serve(self) -> None:
        """Hands the window's messages to the actor, in order, until the window goes away."""
        import ray

        while True:
            try:
                kind, job_id, data, files = self.connection.recv()
            except (EOFError, OSError):
                self.end(0)
            try:
                if kind == "run":
                    ray.get(self.actor.run.remote(job_id, data, read_buffers(files)))
                elif kind == "cancel":
                    ray.get(self.actor.cancel.remote(job_id))
                elif kind == "quit":
                    self.end(0)
            except ray.exceptions.RayActorError as exc:
                self.fail(f"its Ray actor ended ({_short(exc)})")
            except Exception as exc:  # noqa: BLE001
                self.fail(f"the connection to the Ray cluster at {self.address} was lost ({_short(exc)})")


def _short(exc: BaseException) -> str:
    """The first line of an error's message (Ray's carry whole tracebacks)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def main(fd: int, address: str, num_gpus: float) -> None:
    """Entry point: reads the window's ``sys.path`` from stdin, starts the actor, relays."""
    sys_path = pickle.load(sys.stdin.buffer)
    sys.stdin.close()
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's notes would reach the window's terminal
    logging.getLogger("ray").setLevel(logging.ERROR)
    relay = Relay(Connection(fd), address)
    relay.start(sys_path, num_gpus)
    signal.signal(signal.SIGTERM, lambda *_: relay.end(0))  # after ray.init, which sets its own
    relay.send("ready", 0)
    threading.Thread(target=relay.pump, name="ray-relay-pump", daemon=True).start()
    relay.serve()
