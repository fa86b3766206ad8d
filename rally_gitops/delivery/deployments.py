"""GitHub deployments of the schema: the latest ones of an environment, and recording a status.

Our deployments carry the task ``deploy:schema``, apart from those Actions creates for
``environment:`` jobs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from rally_gitops.delivery.github import GitHub

STATES = ("queued", "pending", "in_progress", "success", "failure", "error", "inactive")
TASK = "deploy:schema"  # apart from the deployments Actions creates for `environment:` jobs


def latest_deployments(gh: GitHub, repo: str, env: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` deployments to ``env``, each with its latest status."""
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
    return rows


def record_deployment(
    gh: GitHub,
    *,
    repo: str,
    env: str,
    ref: str,
    state: str,
    log_url: str | None = None,
    description: str = "",
) -> int:
    """Post ``state`` on the schema deployment of ``ref`` to ``env``, creating it if needed;
    returns the deployment's id."""
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
    return int(deployment_id)
