"""The promotion guard: production only gets migrations that staging already has, unchanged.

A production deploy refuses every pending migration that is not in staging's applied set with the
same checksum (staging read through its URL variable, ``DATABASE_STAGING_URL`` by default). Turn
it off with ``[tool.rally_gitops.backup] require_staging = false``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rally_gitops.backup.settings import settings
from rally_gitops.config import Config, Environment
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.errors import ConfigError, DeployError
from rally_gitops.files.migrations import Migration
from rally_gitops.postgres.db import connect, validate_url

STAGING = "staging"


@dataclass(frozen=True)
class Unpromoted:
    """A pending production migration that staging does not vouch for, and why."""

    migration: Migration
    reason: str


def required(config: Config, env: Environment) -> bool:
    """True when deploys to ``env`` must pass the guard (production, ``require_staging``)."""
    return env.production and env.name != STAGING and settings(config).require_staging


def unpromoted(config: Config, pending: list[Migration]) -> list[Unpromoted]:
    """The pending migrations that are missing on staging or differ from what staging ran."""
    staging = config.environment(STAGING)
    url = os.environ.get(staging.url_env, "").strip()
    if not url:
        raise ConfigError(
            f"the promotion guard reads the staging ledger, but {staging.url_env} is not set; "
            "set it (read access is enough), or set [tool.rally_gitops.backup] "
            "require_staging = false"
        )
    validate_url(url, staging.url_env)
    with connect(url, autocommit=True, purpose="promotion guard") as conn:
        applied = Ledger.for_config(conn, config).applied()
    found = []
    for migration in pending:
        row = applied.get(migration.version)
        if row is None:
            found.append(Unpromoted(migration, "not applied on staging"))
        elif row.checksum != migration.checksum:
            found.append(
                Unpromoted(migration, "applied on staging with a different checksum (edited since)")
            )
    return found


def check(config: Config, env: Environment, pending: list[Migration]) -> None:
    """Raise ``DeployError`` naming every pending migration staging does not vouch for."""
    if not pending or not required(config, env):
        return
    refused = unpromoted(config, pending)
    if refused:
        lines = "\n".join(f"  {u.migration.filename}: {u.reason}" for u in refused)
        raise DeployError(
            f"promotion guard: {len(refused)} migration(s) have not passed staging:\n{lines}\n"
            f"Deploy them to staging first (`rally-gitops deploy --env {STAGING}`); nothing was "
            f"applied to {env.name}."
        )
