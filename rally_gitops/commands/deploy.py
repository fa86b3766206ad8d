"""``rally-gitops deploy --env E``: apply pending migrations, each with its ledger row."""

from __future__ import annotations

import argparse

from rally_gitops.cli import add_env, add_yes, confirm_deploy, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.pipeline import deploy_pending


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("deploy", help="apply pending migrations to an environment")
    add_env(parser)
    add_yes(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would run; change nothing"
    )
    parser.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="apply pending migrations older than the newest applied one",
    )
    parser.add_argument(
        "--no-backup",
        action="store_true",
        help="skip the backup before applying (refused for production unless allowed)",
    )
    parser.set_defaults(
        run=lambda a: deploy(
            load_config(a),
            a.env,
            yes=a.yes,
            dry_run=a.dry_run,
            allow_out_of_order=a.allow_out_of_order,
            no_backup=a.no_backup,
        )
    )


def deploy(
    config: Config,
    env: str,
    *,
    yes: bool = False,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    no_backup: bool = False,
) -> int:
    """Apply every pending migration of ``env``, asking first for production; exit 0 or raise."""
    deploy_pending(
        config,
        env,
        report=out,
        approve=confirm_deploy(config, yes=yes),
        dry_run=dry_run,
        allow_out_of_order=allow_out_of_order,
        no_backup=no_backup,
    )
    return 0
