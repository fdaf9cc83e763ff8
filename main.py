"""Keras Model Inspector: start-up only (arguments, application, main window, files to open)."""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog="keras-inspector",
        description="Open saved Keras models (.keras, .h5) and inspect their layers and variables.",
    )
    parser.add_argument(
        "files", nargs="*", help="model files to open, each in its own tab, and embedding vectors (.npy, .npz, .tsv) to plot"
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print a JSON summary of each file to stdout and exit (no window)",
    )
    parser.add_argument(
        "--kernel",
        metavar="ADDRESS",
        default="local",
        help="where models' kernels run: local (this computer, the default) or a Ray cluster, ray://HOST:PORT "
        '(Ray Client; needs pip install "keras-model-inspector[ray]")',
    )
    parser.add_argument(
        "--gpus", type=float, default=0, metavar="N", help="GPUs each kernel on a Ray cluster asks for (default 0)"
    )
    parser.add_argument(
        "--scan",
        action="store_true",
        help="print each file's safety report as one JSON object per line, without building the model, "
        "and exit (1 if any file is not safe)",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="compare two model files (A B) layer by layer and print one JSON object (status of each "
        "layer, what changed, each variable's relative change), then exit",
    )
    return parser.parse_args(argv)


def print_diff(files: list[str]) -> int:
    """Prints the comparison of two model files as one JSON object
    (:meth:`inspector.model.model_diff.ModelDiff.as_dict`).

    Returns:
        The exit code: 0 when both files opened (whatever their differences), else 1.
    """
    from inspector.errors import ModelLoadError
    from inspector.jobs import run_job
    from inspector.model.model_diff import diff_files_job

    try:
        diff = run_job(diff_files_job(*files))
    except ModelLoadError as exc:
        print(f"error: {exc.path}: {exc.reason}", file=sys.stderr)
        return 1
    print(json.dumps(diff.as_dict()))
    return 0


def print_scans(files: list[str]) -> int:
    """Prints one JSON safety report per file (see :func:`inspector.model.model_file.scan_file`).

    Returns:
        The exit code: 0 if every file is safe, 1 otherwise.
    """
    from inspector.model.model_file import scan_file

    status = 0
    for path in files:
        report = scan_file(path)
        print(json.dumps(report), flush=True)
        status = max(status, 0 if report["safe"] else 1)
    return status


def print_summaries(files: list[str], location=None) -> int:
    """Prints one JSON summary per file; errors go to stderr as ``error: FILE: reason``.

    Args:
        files: Model files of this computer.
        location: A Ray cluster to open them on (each file is uploaded to one kernel there), or
            ``None`` to open them in this process.

    Returns:
        The exit code: 0 if every file was summarised, 1 otherwise.
    """
    from inspector.errors import KernelDied, ModelLoadError
    from inspector.model.summary import summary_dict

    opener = _opener(location)
    status = 0
    for path in files:
        try:
            info = opener(path)
        except ModelLoadError as exc:
            print(f"error: {exc.path}: {exc.reason}", file=sys.stderr)
            status = 1
            continue
        except KernelDied as exc:
            print(f"error: {path}: {exc.reason}", file=sys.stderr)
            return 1
        print(json.dumps(summary_dict(info)))
    return status


def _opener(location):
    """A function that opens a model file and returns its description: here, or in one kernel
    on the Ray cluster at ``location``."""
    if location is None:
        from inspector.jobs import run_job
        from inspector.model.jobs import open_model_job

        return lambda path: run_job(open_model_job(path)).info

    from inspector.jobs import SESSION
    from inspector.kernel.client import KernelProcess, call_in_kernel
    from inspector.kernel.session import open_job
    from inspector.kernel.uploads import FileUpload

    kernel = KernelProcess(location)

    def open_there(path: str):
        local = os.path.abspath(path)
        if not os.path.isfile(local):  # the load names the reason, as it does here
            return call_in_kernel(kernel, open_job, SESSION, local).info
        return call_in_kernel(kernel, open_job, SESSION, FileUpload(local), origin=local).info

    return open_there


def main(argv: list[str] | None = None) -> int:
    """Runs the application, or the headless summary with ``--summary``.

    The window does not start when Qt's X11 plugin lacks system libraries: the user reads which
    ones and the command that installs them, instead of Qt's abort.
    """
    args = parse_args(argv)
    from inspector.kernel.location import parse_location

    try:
        location = parse_location(args.kernel, args.gpus)
    except ValueError as exc:
        print(f"error: --kernel: {exc}", file=sys.stderr)
        return 2
    if args.scan:
        if not args.files:
            print("error: --scan needs at least one model file", file=sys.stderr)
            return 2
        return print_scans(args.files)
    if args.diff:
        if len(args.files) != 2:
            print("error: --diff needs two model files, A and B", file=sys.stderr)
            return 2
        return print_diff(args.files)
    if args.summary:
        if not args.files:
            print("error: --summary needs at least one model file", file=sys.stderr)
            return 2
        return print_summaries(args.files, location if location.remote else None)

    from widgets.shell.qt_platform import xcb_problem

    problem = xcb_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    from widgets.shell.app import run_app

    return run_app(args.files, location)


if __name__ == "__main__":
    sys.exit(main())
