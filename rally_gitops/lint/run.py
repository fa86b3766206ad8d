"""The history layer run beside the checker, or skipped with a note when git cannot run it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.steps import Report

if TYPE_CHECKING:  # the checker loads pglast: not for building the parser
    from rally_gitops.lint.checker import Checker
    from rally_gitops.lint.model import Finding


def history_findings(
    checker: Checker, paths: list[Path], base: str | None, *, note: Report
) -> list[Finding]:
    """The history layer's findings, or none and a note when it cannot run.

    An explicit ``--base`` that cannot be used is an error; the default base missing (a fresh
    clone without ``origin/main``, no git at all) only skips the check with a note.
    """
    # imported here: with many files this runs in a worker (``lint.workers.background``), and
    # git's module (subprocess, hashlib) then loads there, beside the checks
    from rally_gitops import git

    if not git.is_repository(checker.config.root):
        if base:
            raise ConfigError(f"--base {base}: {checker.config.root} is not a git repository")
        note("note: not a git repository; history check skipped")
        return []
    try:
        return checker.history(paths, base)
    except RallyError as exc:
        if base:
            raise
        note(f"note: history check skipped: {exc}")
        return []
