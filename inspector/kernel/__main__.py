"""``python -m inspector.kernel FD``: the kernel process (see :mod:`inspector.kernel.process`)."""

import sys

from inspector.kernel.process import main

main(int(sys.argv[1]))
