"""``rally-gitops new DESCRIPTION``: create a migration file from the template."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from rally_gitops.cli import load_config, out
from rally_gitops.files.template import write_new


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("new", help="create a new migration file from the template")
    parser.add_argument("description", help="what the migration does, e.g. 'add user preferences'")
    parser.add_argument(
        "--no-transaction",
        action="store_true",
        help="mark it -- rally:no-transaction (for CREATE INDEX CONCURRENTLY)",
    )
    parser.set_defaults(
        run=lambda a: new(
            load_config(a).migrations_dir, a.description, no_transaction=a.no_transaction
        )
    )


def new(
    directory: Path,
    description: str,
    *,
    no_transaction: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Write the new migration file from the template and say where; exit 0."""
    path = write_new(directory, description, no_transaction=no_transaction, now=now)
    out(f"created {path}")
    return 0
