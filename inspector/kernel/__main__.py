"""``python -m inspector.kernel FD [--ray ADDRESS [--gpus N]]``: a kernel process (see
:mod:`inspector.kernel.process`), or the relay of one on a Ray cluster
(:mod:`inspector.kernel.ray_bridge`)."""

import argparse

parser = argparse.ArgumentParser(prog="python -m inspector.kernel")
parser.add_argument("fd", type=int)
parser.add_argument("--ray", metavar="ADDRESS")
parser.add_argument("--gpus", type=float, default=0)
arguments = parser.parse_args()
if arguments.ray:
    from inspector.kernel.ray_bridge import main

    main(arguments.fd, arguments.ray, arguments.gpus)
else:
    from inspector.kernel.process import main

    main(arguments.fd)
