"""Where a model's kernel runs: in a process on this computer (the default) or as a Ray actor
on a cluster, reached through Ray Client (``ray://HOST:PORT``)."""

from __future__ import annotations

import dataclasses
import re

RAY_SCHEME = "ray://"
_ADDRESS = re.compile(r"^ray://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


@dataclasses.dataclass(frozen=True)
class KernelLocation:
    """Where kernels start.

    Attributes:
        address: ``None`` for this computer, else a Ray Client address ``ray://HOST:PORT``.
        num_gpus: GPUs the Ray actor asks for (0: none; it runs where Ray places it).
    """

    address: str | None = None
    num_gpus: float = 0

    @property
    def remote(self) -> bool:
        """Whether the kernel runs on a Ray cluster."""
        return self.address is not None

    def __str__(self) -> str:
        if self.address is None:
            return "this computer"
        gpus = f", {self.num_gpus:g} GPU" if self.num_gpus else ""
        return f"{self.address}{gpus}"


LOCAL = KernelLocation()


def parse_location(text: str, num_gpus: float = 0) -> KernelLocation:
    """The location a user typed: ``local`` (or nothing), or ``ray://HOST:PORT``.

    Raises:
        ValueError: Not one of these, with the reason.
    """
    text = text.strip()
    if text in ("", "local"):
        return LOCAL
    if not text.startswith(RAY_SCHEME):
        raise ValueError(f"{text!r} is not a Ray Client address: write ray://HOST:PORT (Ray Client's port is 10001 by default)")
    match = _ADDRESS.match(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{text!r} is not a Ray Client address: write ray://HOST:PORT with a port number")
    if num_gpus < 0:
        raise ValueError(f"the number of GPUs cannot be negative ({num_gpus:g})")
    return KernelLocation(text, float(num_gpus))
