"""``rally-gitops backup --env E [--kind full|schema]``: take a verified backup now."""

from __future__ import annotations

import argparse

from rally_gitops.backup.take import take_backup
from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.postgres.db import resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("backup", help="take a verified backup (pg_dump) of an environment")
    add_env(parser)
    parser.add_argument(
        "--kind",
        choices=("full", "schema"),
        action="append",
        help="full (pg_dump -Fc) or schema (plain schema-only SQL); default: the configured "
        "kinds, full + schema",
    )
    parser.set_defaults(run=lambda a: backup(load_config(a), a.env, kinds=a.kind))


def backup(config: Config, env: str, *, kinds: list[str] | None = None) -> int:
    """Dump ``env``, verify it, write the manifest, apply retention; exit 0 or raise."""
    target = resolve(config, env)
    take_backup(config, target, kinds=tuple(kinds) if kinds else None, report=out)
    return 0
