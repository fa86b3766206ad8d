"""pre-commit hook ``rally-migration-history``: committed migrations must not change.

Checks the whole migrations directory against the base branch and HEAD's history (a deleted file
is never among the file names pre-commit passes, so run it with ``always_run: true``); the names
given only narrow which edits are reported.

Fast path: run by pre-commit for a commit (``PRE_COMMIT`` set, no push refs) with no migration
among the files, it first asks git for the staged paths; when none of them (either side of a
rename) is a ``.sql`` file or a ``pyproject.toml`` (which may move the migrations directory), the
commit cannot edit, rename or delete a committed migration, and the hook exits 0 before loading
the configuration, gitpython or the linter.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when no committed migration was edited, renamed or deleted; 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="rally-migration-history", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument("filenames", nargs="*", help="migration files staged for commit")
    parser.add_argument("--base", default=None, help="base ref (default: origin/main)")
    args = parser.parse_args(argv)
    if not args.filenames and _commit_leaves_migrations_alone():
        return 0
    from rally_gitops.error_handler import run_guarded  # after the fast path, like _run's

    return run_guarded(lambda: _run(args.filenames, args.base))


def _run(filenames: list[str], base: str | None) -> int:
    # imported here, not at the top: the fast path above must decide before any of it loads
    from rally_gitops import config
    from rally_gitops.commands.validate import print_findings
    from rally_gitops.lint import history

    cfg = config.load()
    files = [Path(name) for name in filenames] or None
    findings = history.check(cfg, base=base, files=files)
    return print_findings(
        findings, files=len(filenames) or len(list(cfg.migrations_dir.glob("*.sql")))
    )


def _commit_leaves_migrations_alone() -> bool:
    """True for a pre-commit commit run whose staged paths include no ``.sql`` file and no
    ``pyproject.toml``. Anything else (run by hand, ``pre-commit run --from-ref/--to-ref``, git
    unable to tell) takes the full check."""
    if os.environ.get("PRE_COMMIT") != "1" or os.environ.get("PRE_COMMIT_FROM_REF"):
        return False
    # --no-renames: a rename shows as a deletion and an addition, so both names are listed;
    # against an unborn HEAD git compares with the empty tree
    argv = ["git", "diff", "--cached", "--name-only", "--no-renames", "--no-ext-diff", "-z"]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:
        return False
    paths = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return not any(p.endswith(".sql") or p.rsplit("/", 1)[-1] == "pyproject.toml" for p in paths)


if __name__ == "__main__":
    raise SystemExit(main())
