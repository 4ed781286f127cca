"""`mbja-run`: placeholder entry point until the runtime issue lands its subcommands."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    print("mbja-run: no subcommands yet (see issue: torch-free runtime)", file=sys.stderr)
    return 2
