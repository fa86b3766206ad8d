"""pre-commit hook ``rally-migration-history``: committed migrations must not change.

Checks the whole migrations directory against the base branch and HEAD's history (a deleted file
is never among the file names pre-commit passes, so run it with ``always_run: true``); the names
given only narrow which edits are reported.

Fast paths, when run by pre-commit for a commit (``PRE_COMMIT`` set, no push refs): it first asks
git for the staged changes. When none of them (either side of a rename) is a ``.sql`` file or a
``pyproject.toml`` (which may move the migrations directory), the commit cannot edit, rename or
delete a committed migration: the hook exits 0 before loading the configuration, gitpython or the
linter. When they only add migrations newer than every committed one, a few git calls confirm
it (``history.only_newest_additions``) instead of the full check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when no committed migration was edited, renamed or deleted; 1 otherwise."""
    args = _parse(argv)
    staged = _staged_changes()
    if _unconcerned(args.filenames, staged):
        return 0
    from rally_gitops.error_handler import run_guarded  # after the fast path, like _run's

    return run_guarded(lambda: _run(args.filenames, args.base, staged))


def quick(argv: Sequence[str]) -> int | None:
    """0 when the fast path decides (no staged change concerns a migration), else None: the
    hook server's client asks this before handing the run over (``warm.history``)."""
    return 0 if _unconcerned(_parse(argv).filenames, _staged_changes()) else None


class Arguments:
    """The hook's arguments: the file names pre-commit passes and ``--base``."""

    def __init__(self, filenames: list[str], base: str | None) -> None:
        self.filenames = filenames
        self.base = base


def _parse(argv: Sequence[str] | None) -> Arguments:
    words = list(sys.argv[1:] if argv is None else argv)
    if not any(word.startswith("-") for word in words):
        # what pre-commit passes: file names only; argparse (3 ms with the gettext it imports)
        # would be a tenth of a commit's history check, as in migration_lint
        return Arguments(words, None)
    import argparse

    parser = argparse.ArgumentParser(
        prog="rally-migration-history", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument("filenames", nargs="*", help="migration files staged for commit")
    parser.add_argument("--base", default=None, help="base ref (default: origin/main)")
    args = parser.parse_args(words)
    return Arguments(args.filenames, args.base)


def _unconcerned(filenames: list[str], staged: dict[str, str] | None) -> bool:
    return staged is not None and not filenames and not any(map(_matters, staged))


def _run(filenames: list[str], base: str | None, staged: dict[str, str] | None) -> int:
    # imported here, not at the top: the fast path above must decide before any of it loads
    from rally_gitops import config
    from rally_gitops.lint import history

    cfg = config.load()
    if staged is not None:
        changed = [path for path, status in staged.items() if _matters(path)]
        additions = all(staged[path] == "A" for path in changed)
        # every file named is among those additions (``pre-commit run --all-files`` names the
        # committed ones too, and does not stash their unstaged edits: the full check then)
        if additions and set(filenames) <= set(changed):
            if history.only_newest_additions(cfg, base, changed):
                return 0
    from pathlib import Path  # 2 ms: not for the fast path

    from rally_gitops.commands.validate import print_findings  # loads the replay: only now

    files = [Path(name) for name in filenames] or None
    findings = history.check(cfg, base=base, files=files)
    return print_findings(
        findings, files=len(filenames) or len(list(cfg.migrations_dir.glob("*.sql")))
    )


def _matters(path: str) -> bool:
    """A path that may concern migrations: a ``.sql`` file or the configuration."""
    return path.endswith(".sql") or path.rsplit("/", 1)[-1] == "pyproject.toml"


def _staged_changes() -> dict[str, str] | None:
    """Path → status letter (A, M, D, T...) of every staged change, for a pre-commit commit run;
    None when run otherwise (by hand, ``pre-commit run --from-ref/--to-ref``) or git cannot tell.
    """
    if os.environ.get("PRE_COMMIT") != "1" or os.environ.get("PRE_COMMIT_FROM_REF"):
        return None
    from rally_gitops.redact import child_environ  # light: re and urllib.parse

    # --no-renames: a rename shows as a deletion and an addition, so both names are listed;
    # against an unborn HEAD git compares with the empty tree
    argv = ["git", "diff", "--cached", "--name-status", "--no-renames", "--no-ext-diff", "-z"]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            env=child_environ(),  # no database URL for a child (rally_gitops.redact)
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return {path: status[:1] for status, path in zip(fields[::2], fields[1::2], strict=False)}


if __name__ == "__main__":
    raise SystemExit(main())
