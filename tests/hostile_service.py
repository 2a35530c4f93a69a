"""``pagewire`` whose extractor children act out a hostile file (see :mod:`hostile_child`).

Test-only: ``python hostile_service.py HOOK serve --port ...`` runs the real CLI,
with every worker's default extractor and fork server commands swapped for the
hostile ones.
"""

from __future__ import annotations

import sys

import hostile_child
from pagewire.cli.main import main
from pagewire.worker import runner

if __name__ == "__main__":
    runner.EXTRACTOR_COMMAND = hostile_child.command(sys.argv[1])
    runner.ZYGOTE_COMMAND = hostile_child.zygote_command(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
