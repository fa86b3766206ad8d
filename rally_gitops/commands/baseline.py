"""``rally-gitops baseline --env E --version V``: adopt an existing database at version V."""

from __future__ import annotations

import argparse

from rally_gitops.cli import add_env, add_yes, confirm, load_config, load_migrations, out
from rally_gitops.config import Config
from rally_gitops.deploy.adopt import record_without_running
from rally_gitops.errors import ConfigError
from rally_gitops.files.migrations import VERSION_RE
from rally_gitops.postgres.db import resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("baseline", help="mark an existing database as being at VERSION")
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "--version",
        required=True,
        dest="version",
        help="the last migration already in the database (YYYYMMDD_HHMMSS)",
    )
    parser.set_defaults(run=lambda a: baseline(load_config(a), a.env, a.version, yes=a.yes))


def baseline(config: Config, env: str, version: str, *, yes: bool = False) -> int:
    """Record every migration up to ``version`` as applied, without running any SQL."""
    if not VERSION_RE.match(version):
        raise ConfigError(f"--version {version!r}: expected YYYYMMDD_HHMMSS")
    migrations = load_migrations(config)
    chosen = [m for m in migrations if m.version <= version]
    if not any(m.version == version for m in migrations):
        raise ConfigError(f"no migration file has version {version}")
    target = resolve(config, env)
    if target.env.production:
        confirm(
            f"Mark {len(chosen)} migration(s) as applied on {target.label} without running them.",
            "YES",
            yes=yes,
        )
    record_without_running(config, target, chosen, fresh_only=True)
    out(f"{target.label}: baselined at {version} ({len(chosen)} migration(s) marked as applied)")
    return 0
