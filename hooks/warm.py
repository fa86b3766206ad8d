"""The console scripts of the three hooks: run the hook in a warm process when one is there.

A hook's own work on one staged migration takes a few milliseconds; starting Python and
importing pglast, sqlglot, psycopg and the rules takes ten times that, at every commit and for
every hook. So, as ``dmypy``, ``eslint_d`` and Gradle's daemon do, the first run also starts a
*hook server* (``rally_gitops_hooks.server``) that imports all of it once and waits; every later
run connects to it over a Unix socket, hands over its standard streams, working directory,
arguments and environment, and the server forks a fresh copy of itself to run the hook there
(nothing is shared between runs: each is a new process, forked from the imports). The exit code
and signals (Ctrl-C) travel back and forth; the output goes straight to the caller's streams.

This module is what the client imports, so it stays small: no json, no subprocess until a server
must be started. Anything unusual (no server yet, a stale one, another user's socket, an old
platform) and the hook simply runs here, as it would without a server. ``RALLY_HOOK_SERVER=0``
turns the server off.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself costs 5 ms of every run; mypy knows this name
if TYPE_CHECKING:
    from typing import NoReturn

# module of each console script's ``main(argv) -> int``
HOOKS = {
    "lint": "rally_gitops_hooks.migration_lint",
    "validate": "rally_gitops_hooks.migration_validate",
    "history": "rally_gitops_hooks.migration_history",
}
OFF = "RALLY_HOOK_SERVER"


def lint() -> NoReturn:
    """``rally-migration-lint``."""
    _exit("lint")


def validate() -> NoReturn:
    """``rally-migration-validate``."""
    _exit("validate")


def history() -> NoReturn:
    """``rally-migration-history``: its fast path (no staged change concerns a migration) runs
    here first, since it needs no import a server could save."""
    from .migration_history import quick

    code = quick(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    _exit("history")


def _exit(hook: str) -> NoReturn:
    if os.environ.get(OFF, "1") != "0":
        from . import client

        code = client.run(hook, sys.argv[1:])
        if code is not None:
            sys.exit(code)
    sys.exit(run_here(hook, sys.argv[1:]))


def run_here(hook: str, argv: list[str]) -> int:
    """The hook in this process (a served run gets its collector from the server)."""
    import importlib

    from rally_gitops import tune_collector

    tune_collector()
    code: int = importlib.import_module(HOOKS[hook]).main(argv)
    return code
