"""``rally-gitops check``: can each environment be reached and deployed to?"""

from __future__ import annotations

import argparse
import os

from rally_gitops.cli import add_env, load_config, out
from rally_gitops.config import Config
from rally_gitops.deploy.check import check_one
from rally_gitops.errors import RallyError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("check", help="check connection, version, latency and rights")
    add_env(parser, multiple=True)
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="check the rights of a read-only role (plan, status, drift, rehearse): "
        "reading the ledger, not writing or creating it",
    )
    parser.set_defaults(run=lambda a: check(load_config(a), envs=a.env, write=not a.read_only))


def check(config: Config, *, envs: list[str] | None, write: bool = True) -> int:
    """Check every environment named (or every configured one); exit 1 if one fails.
    ``write``: the rights a deploy needs; else those of the commands that only read."""
    failures = 0
    for name in envs or list(config.environments):
        env = config.environment(name)
        if not envs and not env.embedded and not os.environ.get(env.url_env):
            out(f"{name}: not configured ({env.url_env} is not set), skipped")
            continue
        try:
            out(f"{name}: " + check_one(config, name, write=write))
        except RallyError as exc:
            if envs and exc.exit_code == 2:
                raise
            failures += 1
            out(f"{name}: FAILED: {exc}")
    return 1 if failures else 0
