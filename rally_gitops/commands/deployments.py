"""``rally-gitops deployments --env E``: the latest GitHub deployments of an environment."""

from __future__ import annotations

import argparse
import json

from rally_gitops.cli import load_config, out
from rally_gitops.delivery.deployments import latest_deployments
from rally_gitops.delivery.github import GitHub, default_repo, split_repo
from rally_gitops.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("deployments", help="latest GitHub deployments and their state")
    parser.add_argument("--env", required=True, metavar="ENV", help="GitHub environment name")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="default: GITHUB_REPOSITORY or origin")
    parser.add_argument("--limit", type=int, default=5, metavar="N", help="how many (1-100)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    repo = args.repo or default_repo(load_config(args).root)
    split_repo(repo)
    return deployments(repo=repo, env=args.env, limit=args.limit, as_json=args.json)


def deployments(*, repo: str, env: str, limit: int = 5, as_json: bool = False) -> int:
    """List the newest ``limit`` deployments to ``env`` with their latest status; exit 0."""
    if not 1 <= limit <= 100:
        raise ConfigError("--limit: between 1 and 100")
    gh = GitHub.from_env()
    rows = latest_deployments(gh, repo, env, limit)
    if as_json:
        out(json.dumps(rows, indent=2))
        return 0
    if not rows:
        out(f"{repo}: no deployments to {env}")
        return 0
    out(f"{repo}: latest {len(rows)} deployment(s) to {env}, newest first")
    for row in rows:
        when = row["created_at"].replace("T", " ").rstrip("Z")[:16]
        out(
            f"  {when}  {row['sha'][:7]:<7}  {row['state']:<11} {row['task']:<14} "
            f"{row['creator']}" + (f"  {row['log_url']}" if row["log_url"] else "")
        )
    return 0
