"""A real Ray instance on 127.0.0.1 for the tests and benchmarks of kernels on Ray.

``ray start --head --block`` runs in its own session with free ports and its own temporary
folder, so it neither meets nor stops a Ray instance the user already runs (``ray stop`` would
stop every instance on the machine); ending the ``--block`` process stops the instance's own.

Token authentication is off (``RAY_AUTH_MODE=disabled``) for the instance and for this process'
clients (the kernels' relays inherit it): Ray turns it on by itself when ``~/.ray/auth_token``
exists, and with it on, Ray 2.60's client server did not start (``Starting Ray client server
failed``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RayCluster:
    """One head node with Ray Client's server, started and stopped by its owner.

    Attributes:
        address: ``ray://127.0.0.1:PORT``.
    """

    def __init__(self, num_cpus: int = 2):
        os.environ["RAY_AUTH_MODE"] = "disabled"
        ray = Path(sys.executable).with_name("ray")
        self._temp = tempfile.mkdtemp(prefix="kmi-ray-")
        self.client_port, self.gcs_port = _free_port(), _free_port()
        self.address = f"ray://127.0.0.1:{self.client_port}"
        self._log = open(Path(self._temp) / "ray-start.log", "w+")
        self._process = subprocess.Popen(
            [
                str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                f"--port={self.gcs_port}", f"--ray-client-server-port={self.client_port}",
                "--include-dashboard=false", "--disable-usage-stats", f"--num-cpus={num_cpus}",
                f"--temp-dir={self._temp}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.client_port), 0.2).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self._log.seek(0)
                    output = self._log.read()
                    self.stop()
                    raise RuntimeError(f"ray start did not start a head node:\n{output}")
                try:  # the pause between attempts also notices a head node that ended
                    self._process.wait(0.1)
                except subprocess.TimeoutExpired:
                    pass

    def stop(self) -> None:
        """Stops the instance and removes its folder."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._log.close()
        shutil.rmtree(self._temp, ignore_errors=True)

    def kill_actor(self, name: str) -> None:
        """``ray.kill`` of a kernel's actor, as the cluster's operator would do it on the head
        node (a driver of its own, not Ray Client)."""
        from inspector.kernel.ray_bridge import NAMESPACE

        script = (
            "import ray, sys; ray.init(address=sys.argv[1], namespace=sys.argv[2], log_to_driver=False); "
            "ray.kill(ray.get_actor(sys.argv[3]), no_restart=True)"
        )
        run = subprocess.run(
            [sys.executable, "-c", script, f"127.0.0.1:{self.gcs_port}", NAMESPACE, name],
            capture_output=True, text=True, timeout=120,
        )
        if run.returncode:
            raise RuntimeError(f"could not kill actor {name}:\n{run.stderr[-2000:]}")
