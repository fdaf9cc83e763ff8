"""Runs every benchmark, prints one line per figure and writes ``bench/results.json``.

Usage: ``make bench`` (or ``python bench/run.py [name ...]`` to run some of them).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_explain, bench_extract, bench_graph, bench_open, bench_project, bench_ray, bench_train  # noqa: E402
from bench.common import save_results  # noqa: E402

BENCHMARKS = {
    "open": bench_open.run,
    "graph": bench_graph.run,
    "extract": bench_extract.run,
    "explain": bench_explain.run,
    "train": bench_train.run,
    "project": bench_project.run,
    "ray": bench_ray.run,
}


def main(names: list[str]) -> int:
    """Runs the named benchmarks (all by default) and saves their figures."""
    results: dict = {}
    for name in names or BENCHMARKS:
        BENCHMARKS[name](results)
    save_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
