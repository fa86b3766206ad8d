"""``rally-gitops backups --env E``: the backups of an environment, newest first."""

from __future__ import annotations

import argparse
import json

from rally_gitops.backup import store as backup_store
from rally_gitops.backup.settings import settings
from rally_gitops.backup.store import backup_lines
from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("backups", help="list the backups of an environment")
    add_env(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=lambda a: backups(load_config(a), a.env, as_json=a.json))


def backups(config: Config, env: str, *, as_json: bool = False) -> int:
    """Print name, kinds, size, age and captured ledger head of each backup; exit 0."""
    config.environment(env)  # an unknown environment is a usage error, not an empty list
    directory = settings(config).directory(config.root, env)
    sets = list(reversed(backup_store.list_sets(directory, env)))
    if as_json:
        out(
            json.dumps(
                [{"name": s.stem, "directory": str(s.directory), **s.manifest} for s in sets],
                indent=2,
            )
        )
        return 0
    for line in backup_lines(env, directory, sets):
        out(line)
    return 0
