"""pre-commit hook ``rally-migration-validate``: replay the staged migrations on PostgreSQL.

Applies every migration older than the staged ones from a cached template database, then the
staged files themselves, through the real deploy engine (see docs/validate.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rally_gitops import config
from rally_gitops.commands.validate import validate
from rally_gitops.error_handler import run_guarded


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when every file replays (warnings allowed), 1 on a failure, 2 on a usage error."""
    parser = argparse.ArgumentParser(
        prog="rally-migration-validate", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument("filenames", nargs="*", help="migration files staged for commit")
    parser.add_argument("--base", default=None, help="base ref when no file is given")
    args = parser.parse_args(argv)
    return run_guarded(lambda: _run(args.filenames, args.base))


def _run(filenames: list[str], base: str | None) -> int:
    return validate(config.load(), files=[Path(name) for name in filenames], base=base)


if __name__ == "__main__":
    raise SystemExit(main())
