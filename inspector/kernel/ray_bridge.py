"""``python -m inspector.kernel FD --ray ADDRESS``: the local relay of a kernel on a Ray cluster.

The window talks to it exactly as to a local kernel process (:mod:`inspector.kernel.client`), so
everything above the socket (the runner, cancel, the death of a kernel and its restart) is the
same for both. The relay connects to the cluster with Ray Client, starts a
:class:`~inspector.kernel.ray_host.KernelHost` actor (which receives the package ``inspector``
with it, so the cluster runs the window's version of every job), and then moves messages without unpickling them: the window's to the actor's ``run`` and
``cancel``, the actor's answers (long-polled) back to the window, large buffers between
shared-memory files here and Ray's object store. Neither Keras nor the jobs' modules are
imported here.

It ends when the window goes away, says ``quit`` or sends SIGTERM, and kills its actor first. When
the actor dies or the connection to the cluster is lost, it sends ``("fatal", 0, reason)`` and
exits with :data:`FATAL_EXIT`; the window shows the reason on the tab and offers a restart.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import socket
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from pathlib import Path

from inspector.priority import NICENESS
from inspector.kernel.transport import read_buffers, write_buffers

FATAL_EXIT = 3
"""The relay's exit code after it has sent its reason (``fatal``)."""

POLL_S = 0.25
"""How long one poll of the actor waits for an answer."""

CONNECT_TIMEOUT_S = 15
"""How long one attempt to connect to the cluster may take."""

ACTOR_LOSS_GRACE_S = 5.0
"""How long after its actor died the relay watches whether the cluster itself goes away (a
cluster that shuts down ends its actors first and closes its ports seconds later)."""

PROBE_TIMEOUT_S = 10
"""How long to wait for the Ray Client port to accept a connection at all."""

CONNECT_ATTEMPTS = 5
"""Attempts to connect when the head node fails to start the client's server."""

ATTEMPT_VARIABLE = "KMI_RAY_RELAY_ATTEMPT"
SYS_PATH_VARIABLE = "KMI_RAY_RELAY_SYS_PATH"

START_TIMEOUT_S = 300
"""How long the actor may take to start (a node to be found, TensorFlow imported there)."""

NAMESPACE = "keras-model-inspector"
"""The Ray namespace of the kernels' actors, which are named ``kernel-HOST-PID`` (the window's
host, the relay's process id): ``ray.get_actor(name, namespace=NAMESPACE)`` finds one."""

ACTOR_THREADS = 4
"""Calls the actor serves at once: a poll waiting, a new job, a cancel."""

_PACKAGE = str(Path(__file__).resolve().parents[1])


class Relay:
    """The connection to the window and the actor on the cluster.

    Args:
        connection: The socket to the window.
        address: The Ray Client address (``ray://HOST:PORT``).
        attempt: How many times the relay has tried to connect, this time included.
    """

    def __init__(self, connection: Connection, address: str, attempt: int = 1):
        self.connection = connection
        self.address = address
        self.attempt = attempt
        self.actor = None
        self._lock = threading.Lock()

    def send(self, kind: str, job_id: int, data: bytes = b"", files: list[str] | None = None) -> None:
        """Sends one message to the window; ends the relay when the window has gone."""
        with self._lock:
            try:
                self.connection.send((kind, job_id, data, files or []))
            except (OSError, EOFError):
                self.end(0)

    def lost(self, exc: BaseException) -> None:
        """Ends the relay after the actor or the connection went away, saying which: a cluster
        that shuts down ends its actors first, so a dead actor whose cluster no longer answers
        is reported as the lost cluster."""
        if self._survives(exc):
            self.fail(f"its Ray actor ended ({_short(exc)})")
        self.fail(f"the connection to the Ray cluster at {self.address} was lost ({_short(exc)})")

    def _survives(self, exc: BaseException) -> bool:
        """Whether the cluster still answers after ``exc``: when the actor died, the port is
        watched for :data:`ACTOR_LOSS_GRACE_S`, because a cluster shutting down ends its actors
        before it stops answering."""
        import ray

        if not isinstance(exc, ray.exceptions.RayActorError):
            return False
        deadline = time.monotonic() + ACTOR_LOSS_GRACE_S
        while time.monotonic() < deadline:
            if not self._answers():
                return False
            time.sleep(0.25)
        return self._answers()

    def _answers(self) -> bool:
        """Whether the cluster's Ray Client port accepts a connection."""
        host, _, port = self.address.removeprefix("ray://").rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), PROBE_TIMEOUT_S).close()
        except OSError:
            return False
        return True

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
        from inspector.kernel import ray_host

        ray.cloudpickle.register_pickle_by_value(ray_host)  # the cluster need not have the app
        archive, digest = ray_host.package_archive(_PACKAGE)
        self._connect(ray)
        if num_gpus:
            total = ray.cluster_resources().get("GPU", 0)
            if total < num_gpus:
                self.fail(f"the Ray cluster at {self.address} has {total:g} GPUs; the kernel asked for {num_gpus:g}")
        try:
            name = f"kernel-{socket.gethostname()}-{os.getpid()}"
            actor_class = ray.remote(ray_host.KernelHost).options(name=name, max_concurrency=ACTOR_THREADS, num_gpus=num_gpus or 0)
            self.actor = actor_class.remote(archive, digest, sys_path, name)
            ray.get(self.actor.poll.remote(0), timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            self.fail(f"the Ray cluster at {self.address} did not start a kernel within {START_TIMEOUT_S} s (no free node?)")
        except Exception as exc:  # noqa: BLE001
            if not (self._survives(exc) or self._answers()):  # the cluster went away while the actor started
                self.fail(f"could not connect to the Ray cluster at {self.address}: nothing answers there")
            self.fail(f"the Ray cluster at {self.address} could not start a kernel: {_short(exc)}")

    def _connect(self, ray) -> None:
        """``ray.init`` through Ray Client. The head node starts a server process for each
        client; with Ray 2.60 that start failed here now and then ("SpecificServer startup
        failed"), and the failed ``ray.init`` then waited on its own clean-up for a minute. So it
        runs on a thread: when it fails that way or does not return within
        :data:`CONNECT_TIMEOUT_S`, the relay starts over as a new program in the same process
        (:func:`_start_over`), up to :data:`CONNECT_ATTEMPTS` times."""
        if not self._answers():  # a quick answer when nothing listens there (Ray Client waits 30 s)
            self.fail(f"could not connect to the Ray cluster at {self.address}: nothing answers there")
        outcome: list = []

        def connect() -> None:
            try:
                ray.init(self.address, namespace=NAMESPACE, logging_level=logging.ERROR, log_to_driver=False)
                outcome.append(None)
            except Exception as exc:  # noqa: BLE001 - every reason reaches the user
                outcome.append(exc)

        thread = threading.Thread(target=connect, name="ray-connect", daemon=True)
        thread.start()
        thread.join(CONNECT_TIMEOUT_S)
        error = outcome[0] if outcome else TimeoutError(f"no answer within {CONNECT_TIMEOUT_S} s")
        if error is None:
            return
        server_failed = not outcome or "Initialization failure from server" in str(error)
        if server_failed and self.attempt < CONNECT_ATTEMPTS:
            _start_over(self.attempt + 1)
        self.fail(f"could not connect to the Ray cluster at {self.address}: {_short(error)}")

    def pump(self) -> None:
        """Moves the actor's answers to the window until the actor or the cluster is gone."""
        import ray

        while True:
            try:
                messages = ray.get(self.actor.poll.remote(POLL_S))
            except Exception as exc:  # noqa: BLE001 - the actor or the cluster is gone
                self.lost(exc)
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
            except Exception as exc:  # noqa: BLE001 - the actor or the cluster is gone
                self.lost(exc)


def _short(exc: BaseException) -> str:
    """The first line of an error's message (Ray's carry whole tracebacks)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _start_over(attempt: int) -> None:
    """Runs the relay again in this process (``exec``): same socket, same arguments, no state of
    the failed connection."""
    os.environ[ATTEMPT_VARIABLE] = str(attempt)
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def main(fd: int, address: str, num_gpus: float) -> None:
    """Entry point: reads the window's ``sys.path`` from stdin (or, when started over, from the
    environment), starts the actor, relays."""
    if SYS_PATH_VARIABLE in os.environ:
        sys_path = json.loads(os.environ[SYS_PATH_VARIABLE])
    else:
        sys_path = pickle.load(sys.stdin.buffer)
        sys.stdin.close()
        os.environ[SYS_PATH_VARIABLE] = json.dumps(sys_path)
    os.set_inheritable(fd, True)
    if ATTEMPT_VARIABLE not in os.environ:
        os.nice(NICENESS)  # copying buffers never comes before the window's painting
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's notes would reach the window's terminal
    warnings.filterwarnings("ignore", module="ray")  # the reason reaches the window instead
    logging.getLogger("ray").setLevel(logging.ERROR)
    relay = Relay(Connection(fd), address, int(os.environ.get(ATTEMPT_VARIABLE, "1")))
    relay.start(sys_path, num_gpus)
    signal.signal(signal.SIGTERM, lambda *_: relay.end(0))  # after ray.init, which sets its own
    relay.send("ready", 0)
    threading.Thread(target=relay.pump, name="ray-relay-pump", daemon=True).start()
    relay.serve()
