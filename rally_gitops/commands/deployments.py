"""``rally-gitops deployments --env E``: the latest GitHub deployments of an environment.

Also ``deployment()``, behind ``rally-gitops github deployment``: record a deployment status.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlencode

from rally_gitops.cli import load_config, out
from rally_gitops.delivery.github import GitHub, default_repo, split_repo
from rally_gitops.errors import ConfigError

STATES = ("queued", "pending", "in_progress", "success", "failure", "error", "inactive")
TASK = "deploy:schema"  # apart from the deployments Actions creates for `environment:` jobs


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
    rows: list[dict[str, Any]] = []
    query = urlencode({"environment": env, "per_page": limit})
    for item in gh.get(f"/repos/{repo}/deployments?{query}").data:
        statuses = gh.get(f"/repos/{repo}/deployments/{item['id']}/statuses?per_page=1").data
        latest = statuses[0] if statuses else {}
        rows.append(
            {
                "id": item["id"],
                "sha": item.get("sha", ""),
                "ref": item.get("ref", ""),
                "task": item.get("task", ""),
                "created_at": item.get("created_at", ""),
                "creator": (item.get("creator") or {}).get("login", ""),
                "state": latest.get("state", "no status"),
                "updated_at": latest.get("created_at", ""),
                "log_url": latest.get("log_url") or latest.get("target_url") or "",
            }
        )
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


def deployment(
    *,
    repo: str,
    env: str,
    ref: str,
    state: str,
    log_url: str | None = None,
    description: str = "",
) -> int:
    """Post ``state`` on the schema deployment of ``ref`` to ``env``, creating it if needed."""
    gh = GitHub.from_env()
    query = urlencode({"sha": ref, "environment": env, "task": TASK})
    found = gh.get(f"/repos/{repo}/deployments?{query}").data
    if found:
        deployment_id = found[0]["id"]
    else:
        deployment_id = gh.request(
            "POST",
            f"/repos/{repo}/deployments",
            json={
                "ref": ref,
                "environment": env,
                "task": TASK,
                "auto_merge": False,
                "required_contexts": [],
                "production_environment": env == "production",
                "description": "database migrations by rally-gitops",
            },
        ).data["id"]
    status: dict[str, Any] = {"state": state, "description": description[:140]}
    if log_url:
        status["log_url"] = log_url
    gh.request("POST", f"/repos/{repo}/deployments/{deployment_id}/statuses", json=status)
    out(f"deployment {deployment_id} of {ref[:12]} to {env}: {state}")
    return 0
