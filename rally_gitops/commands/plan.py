"""``rally-gitops plan --env E``: what deploy would run, with its SQL; changes nothing."""

from __future__ import annotations

import argparse

from rally_gitops.cli import add_env, load_config, load_migrations, out, plan_with_hazards
from rally_gitops.config import Config
from rally_gitops.deploy.pipeline import plan_lines
from rally_gitops.deploy.status import read_status, refuse_unsafe
from rally_gitops.postgres.db import connect, resolve


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("plan", help="show what deploy would run, with SQL (changes nothing)")
    add_env(parser)
    parser.add_argument("--allow-out-of-order", action="store_true")
    parser.add_argument(
        "--hazards",
        action="store_true",
        help="then each pending migration with the hazards lint finds in it",
    )
    parser.set_defaults(
        run=lambda a: plan(
            load_config(a), a.env, allow_out_of_order=a.allow_out_of_order, hazards=a.hazards
        )
    )


def plan(
    config: Config, env: str, *, allow_out_of_order: bool = False, hazards: bool = False
) -> int:
    """Print the pending migrations and their statements; exit 1 if deploy would refuse."""
    migrations = load_migrations(config)
    target = resolve(config, env)
    with connect(target.url, autocommit=True, purpose="plan") as conn:
        status = read_status(conn, config, migrations)
    refuse_unsafe(status, allow_out_of_order=allow_out_of_order, env=env)
    if not status.pending:
        out(f"{target.label}: up to date ({len(status.applied)} applied), nothing to deploy")
        return 0
    for line in plan_lines(target, status.pending, with_sql=True):
        out(line)
    if hazards:  # what the production prompt shows, for a reviewer who sees no prompt
        out("Hazards lint finds in them:")
        for line in plan_with_hazards(config, status.pending):
            out(line)
    return 0
