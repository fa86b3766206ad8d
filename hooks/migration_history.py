"""pre-commit hook ``rally-migration-history``: committed migrations must not change.

Checks the whole migrations directory against the base branch and HEAD's history (a deleted file
is never among the file names pre-commit passes, so run it with ``always_run: true``); the names
given only narrow which edits are reported.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rally_gitops.error_handler import run_guarded


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
    from rally_gitops import config
    from rally_gitops.commands.validate import print_findings
    from rally_gitops.lint import history

    cfg = config.load()
    files = [Path(name) for name in filenames] or None
    findings = history.check(cfg, base=base, files=files)
    return print_findings(
        findings, files=len(filenames) or len(list(cfg.migrations_dir.glob("*.sql")))
    )


if __name__ == "__main__":
    raise SystemExit(main())
