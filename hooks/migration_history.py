"""pre-commit hook ``rally-migration-history``: committed migrations must not change.

Checks the whole migrations directory against the base branch and HEAD's history (a deleted file
is never among the file names pre-commit passes, so run it with ``always_run: true``); the names
given only narrow which edits are reported.

Fast path: run by pre-commit for a commit (``PRE_COMMIT`` set, no push refs) with no migration
among the files, it first asks git whether the index changes anything under the migrations
directory or in pyproject.toml; when not, the commit cannot edit, rename or delete a committed
migration, and the hook exits 0 before importing gitpython or the linter.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rally_gitops import config
from rally_gitops.commands.validate import print_findings
from rally_gitops.error_handler import run_guarded
from rally_gitops.git import staged_changes_under
from rally_gitops.lint import history

if TYPE_CHECKING:
    from rally_gitops.config import Config


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when no committed migration was edited, renamed or deleted; 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="rally-migration-history", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument("filenames", nargs="*", help="migration files staged for commit")
    parser.add_argument("--base", default=None, help="base ref (default: origin/main)")
    args = parser.parse_args(argv)
    return run_guarded(lambda: _run(args.filenames, args.base))


def _run(filenames: list[str], base: str | None) -> int:
    cfg = config.load()
    if not filenames and _commit_leaves_migrations_alone(cfg):
        return 0

    files = [Path(name) for name in filenames] or None
    findings = history.check(cfg, base=base, files=files)
    return print_findings(
        findings, files=len(filenames) or len(list(cfg.migrations_dir.glob("*.sql")))
    )


def _commit_leaves_migrations_alone(cfg: Config) -> bool:
    """True for a pre-commit commit run whose staged changes touch no migration nor the config.

    Anything else (run by hand, ``pre-commit run --from-ref/--to-ref``, git unable to tell)
    takes the full check.
    """
    if os.environ.get("PRE_COMMIT") != "1" or os.environ.get("PRE_COMMIT_FROM_REF"):
        return False

    touched = staged_changes_under(cfg.root, [cfg.migrations_dir, cfg.root / "pyproject.toml"])
    return touched is False


if __name__ == "__main__":
    raise SystemExit(main())
