"""pre-commit hook ``rally-migration-lint``: file, grammar and safety-rule checks of migrations.

pre-commit passes the staged files matching ``^migrations/.*\\.sql$``; the history layer has its
own hook (``rally-migration-history``), so it is not repeated here.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from rally_gitops import config
from rally_gitops.error_handler import run_guarded
from rally_gitops.lint.output import render, summarise


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when no file has an error (warnings allowed), 1 otherwise, 2 on a config error."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not any(word.startswith("-") for word in words):
        # what pre-commit passes: file names only, which argparse would hand back as they are;
        # building its parser imports gettext, locale and shutil, a twentieth of the hook's time
        return run_guarded(lambda: _run(words, "text"))
    import argparse

    parser = argparse.ArgumentParser(prog="rally-migration-lint", description=__doc__)
    parser.add_argument("filenames", nargs="*", help="migration files to check")
    parser.add_argument(
        "--format", choices=("text", "github", "json", "sarif"), default="text", help="output"
    )
    args = parser.parse_args(words)
    return run_guarded(lambda: _run(args.filenames, args.format))


def _run(filenames: list[str], fmt: str) -> int:
    if not filenames:
        return 0
    # importing pglast and the rules allocates thousands of objects and no garbage: a collection
    # there only costs time (a tenth of the import), so none runs until the rules are loaded
    gc.disable()
    try:
        from rally_gitops.lint.checker import Checker  # loads pglast: not when there is no file

        checker = Checker(config.load())
    finally:
        gc.enable()
    findings = checker.check([Path(name) for name in filenames])
    summary = summarise(findings, len(filenames))
    sys.stdout.write(render(fmt, findings, summary, checker.codes))
    return 1 if summary.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
