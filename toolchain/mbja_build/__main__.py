"""`mbja-build` / `python -m mbja_build`: the toolchain's CLI, or one line saying what is missing.

The runtime-only install (`pip install 'mobilebert-ja-sdk[runtime]'`) has the mbja_build package
and this script but not the toolchain's libraries; it used to crash with an ImportError traceback.
"""
from __future__ import annotations

import sys
from importlib.util import find_spec

#: Imported by the CLI or by every build; their absence means the build extra is not installed.
TOOLCHAIN = ("click", "torch", "transformers")


def main(argv=None) -> int:
    missing = [name for name in TOOLCHAIN if find_spec(name) is None]
    if missing:
        print(f"mbja-build: error: this install has the runtime only ({', '.join(missing)} not installed); "
              "the toolchain needs: pip install 'mobilebert-ja-sdk[build]'", file=sys.stderr)
        return 2
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
