"""Script entry point: ``python benchmarks/run.py`` (same options as ``python -m benchmarks``)."""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> int:
    """Make the ``benchmarks`` package importable when run as a script, then run it."""
    if not __package__:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.runner import main

    return main()


if __name__ == "__main__":
    raise SystemExit(_main())
