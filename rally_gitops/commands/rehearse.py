"""``rally-gitops rehearse --env E``: the pending migrations, measured on a copy of a backup."""

from __future__ import annotations

import argparse
import json
import sys

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config, env_flag
from rally_gitops.errors import DeployError
from rally_gitops.postgres.db import Target
from rally_gitops.replay import rehearse_report
from rally_gitops.replay.rehearse import rehearse as rehearse_pending
from rally_gitops.replay.settings import max_lock_seconds


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "rehearse",
        help="apply pending migrations to a copy of a backup and measure locks and times",
    )
    add_env(parser)
    parser.add_argument(
        "--backup",
        metavar="BACKUP",
        help="backup name (see `backups`) or the path of its file (default: the newest that "
        "verifies)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--yes",
        action="store_true",
        help="take a backup first when the environment has none (asked on a terminal)",
    )
    parser.set_defaults(
        run=lambda a: rehearse(load_config(a), a.env, backup=a.backup, as_json=a.json, yes=a.yes)
    )


def rehearse(
    config: Config, env: str, *, backup: str | None = None, as_json: bool = False, yes: bool = False
) -> int:
    """Rehearse, print the report; exit 1 when a migration fails on the copy or holds a lock
    blocking writes to a table with rows longer than ``max_lock_seconds``."""
    limit = max_lock_seconds(config)
    # progress goes to stderr with --json, so that stdout is one JSON document
    report = _stderr if as_json else out
    result = rehearse_pending(
        config, env, backup=backup, agree=lambda target: _agree(target, yes), report=report
    )
    if as_json:
        out(json.dumps(rehearse_report.as_json(result, limit), indent=2))
    else:
        for line in rehearse_report.text_lines(result, limit):
            out(line)
    if result.failure is not None:
        raise DeployError(result.failure)
    over = rehearse_report.long_locks(result, limit)
    if over:
        first = over[0]
        raise DeployError(
            f"{first.migration} blocks writes to {first.relation} ({first.rows_before} row(s)) "
            f"for {first.seconds:.2f}s, longer than max_lock_seconds = {limit:g}"
            + (f"\n{len(over) - 1} more lock(s) over the limit: see the report" if over[1:] else "")
        )
    return 0


def _agree(target: Target, yes: bool) -> bool:
    """May we take a backup of ``target`` first? ``--yes``, or a yes typed on a terminal."""
    if yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty() or env_flag("CI"):
        return False
    print(
        f"{target.label} has no backup to rehearse on. Take one now (pg_dump, read only)? [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
