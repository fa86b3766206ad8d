"""``rally-gitops github setup|comment|deployment``: environments, PR comment, deploy statuses."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

from rally_gitops.cli import load_config, out
from rally_gitops.delivery.deployments import STATES, record_deployment
from rally_gitops.delivery.github import GitHub, default_repo, split_repo
from rally_gitops.errors import ConfigError, RallyError

MARKER = "<!-- rally-gitops:{name} -->"
MAX_COMMENT = 65_000  # GitHub refuses bodies over 65,536 characters
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class Reviewer(NamedTuple):
    """A required reviewer as given (``alice`` or ``team:org/slug``) and as the API wants it."""

    spec: str
    type: str  # "User" or "Team"
    id: int


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("github", help="set up GitHub environments, PR comments, deployments")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    setup_p = actions.add_parser(
        "setup", help="create/update the staging and production environments"
    )
    _add_repo(setup_p)
    setup_p.add_argument(
        "--reviewers", required=True, help="who approves production: user1,team:org/slug (max 6)"
    )
    setup_p.add_argument(
        "--wait-timer", type=int, default=0, metavar="MIN", help="production delay"
    )
    setup_p.add_argument("--staging-branch", default="staging")
    setup_p.add_argument("--production-branch", default="main")
    setup_p.add_argument("--dry-run", action="store_true", help="show the changes; change nothing")
    setup_p.set_defaults(run=lambda a: setup(**_common(a), **_pick(a, _SETUP)))
    comment_p = actions.add_parser("comment", help="create or update the rally-gitops PR comment")
    _add_repo(comment_p)
    comment_p.add_argument("--pr", type=int, required=True, metavar="N")
    comment_p.add_argument("--file", required=True, metavar="F", help="Markdown body ('-': stdin)")
    comment_p.add_argument("--marker", default="report", help="tells this comment from others")
    comment_p.set_defaults(run=lambda a: comment(**_common(a), **_pick(a, _COMMENT)))
    dep_p = actions.add_parser("deployment", help="record a deployment status for a commit")
    _add_repo(dep_p)
    dep_p.add_argument("--env", required=True, metavar="ENV")
    dep_p.add_argument("--ref", required=True, metavar="SHA")
    dep_p.add_argument("--state", required=True, choices=STATES)
    dep_p.add_argument("--log-url", metavar="URL")
    dep_p.add_argument("--description", default="")
    dep_p.set_defaults(run=lambda a: deployment(**_common(a), **_pick(a, _DEPLOY)))


_SETUP = ("reviewers", "wait_timer", "staging_branch", "production_branch", "dry_run")
_COMMENT = ("pr", "file", "marker")
_DEPLOY = ("env", "ref", "state", "log_url", "description")


def _add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", metavar="OWNER/NAME", help="default: GITHUB_REPOSITORY or origin")


def _pick(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names}


def _common(args: argparse.Namespace) -> dict[str, Any]:
    repo = args.repo or default_repo(load_config(args).root)
    split_repo(repo)
    return {"repo": repo}


def _client() -> GitHub:
    return GitHub.from_env()


def parse_reviewers(text: str) -> list[tuple[str, str, str]]:
    """``alice,team:org/slug`` → ``[("User", "alice", ""), ("Team", "slug", "org")]``."""
    parsed = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.startswith("team:"):
            org, _, slug = item[5:].partition("/")
            if not org or not slug:
                raise ConfigError(f"reviewer {item!r}: a team is written team:ORG/SLUG")
            parsed.append(("Team", slug, org))
        else:
            parsed.append(("User", item.lstrip("@"), ""))
    for _, name, org in parsed:
        if not all(_NAME.match(part) for part in (name, org or "x")):
            raise ConfigError(f"reviewer {name!r}: not a GitHub login or team slug")
    if not 1 <= len(parsed) <= 6:
        raise ConfigError("--reviewers: give between 1 and 6 users or teams (GitHub's limit)")
    return parsed


def resolve_reviewers(gh: GitHub, wanted: list[tuple[str, str, str]]) -> list[Reviewer]:
    """Numeric ids for each login (``GET /users/{login}``) or team (``GET /orgs/{o}/teams/{s}``)."""
    reviewers = []
    for kind, name, org in wanted:
        path = f"/orgs/{org}/teams/{name}" if kind == "Team" else f"/users/{name}"
        reply = gh.get(path, ok_404=True)
        if reply.status == 404:
            what = f"team {org}/{name}" if kind == "Team" else f"user {name}"
            raise ConfigError(f"reviewer {what} not found on GitHub (or the token cannot see it)")
        spec = f"team:{org}/{name}" if kind == "Team" else name
        reviewers.append(Reviewer(spec, kind, int(reply.data["id"])))
    return reviewers


def setup(
    *,
    repo: str,
    reviewers: str,
    wait_timer: int = 0,
    staging_branch: str = "staging",
    production_branch: str = "main",
    dry_run: bool = False,
) -> int:
    """Create or update ``staging`` and ``production`` (approval gate); idempotent."""
    if not 0 <= wait_timer <= 43_200:
        raise ConfigError("--wait-timer: minutes between 0 and 43200")
    wanted = parse_reviewers(reviewers)  # usage errors before any request
    gh = _client()
    found = gh.get(f"/repos/{repo}", ok_404=True)
    if found.status == 404:
        raise RallyError(f"repository {repo} not found, or the token has no access to it")
    if (found.data.get("permissions") or {}).get("admin") is False:
        raise RallyError(
            f"the token has no admin rights on {repo}: environments need them (classic token: "
            "repo scope of an admin; fine-grained: Administration write)"
        )
    approvers = resolve_reviewers(gh, wanted)
    policy = {"protected_branches": False, "custom_branch_policies": True}
    plans = {
        "staging": ({"deployment_branch_policy": policy}, staging_branch),
        "production": (
            {
                "wait_timer": wait_timer,
                "prevent_self_review": True,
                "reviewers": [{"type": r.type, "id": r.id} for r in approvers],
                "deployment_branch_policy": policy,
            },
            production_branch,
        ),
    }
    base = f"/repos/{repo}/environments"
    for env, (body, branch) in plans.items():
        exists = gh.get(f"{base}/{env}", ok_404=True).status != 404
        if dry_run:
            verb = "update" if exists else "create"
            out(f"{env}: would {verb} the environment: {json.dumps(body, sort_keys=True)}")
        else:
            gh.request("PUT", f"{base}/{env}", json=body)
            out(f"{env}: environment {'updated' if exists else 'created'}")
        names = set()
        if exists:
            names = {
                p["name"]
                for p in gh.paginate(
                    f"{base}/{env}/deployment-branch-policies", "branch_policies", ok_404=dry_run
                )
                if p.get("type", "branch") == "branch"
            }
        if branch in names:
            out(f"{env}: deploys only from branch {branch} (policy already present)")
        elif dry_run:
            out(f"{env}: would allow deploys from branch {branch}")
        else:
            gh.request(
                "POST",
                f"{base}/{env}/deployment-branch-policies",
                json={"name": branch, "type": "branch"},
            )
            out(f"{env}: deploys only from branch {branch} (policy added)")
    who = ", ".join(r.spec for r in approvers)
    out(
        f"production: {'would need' if dry_run else 'needs'} approval by {who}; "
        f"self-review prevented; wait {wait_timer} min"
    )
    if dry_run:
        out("dry run: nothing was changed on GitHub")
    return 0


def comment(*, repo: str, pr: int, file: str, marker: str = "report") -> int:
    """Update the PR comment carrying the hidden marker, or post it; one comment per marker."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    if not _NAME.match(marker):
        raise ConfigError(f"--marker {marker!r}: letters, digits, '.', '_' and '-' only")
    tag = MARKER.format(name=marker)
    body = text if tag in text else f"{tag}\n{text}"
    if len(body) > MAX_COMMENT:
        body = body[:MAX_COMMENT] + "\n\n… (truncated: see the job log for the full report)"
    gh = _client()
    for existing in gh.paginate(f"/repos/{repo}/issues/{pr}/comments"):
        if tag in (existing.get("body") or ""):
            gh.request(
                "PATCH", f"/repos/{repo}/issues/comments/{existing['id']}", json={"body": body}
            )
            out(f"updated comment {existing['id']} on #{pr}")
            return 0
    reply = gh.request("POST", f"/repos/{repo}/issues/{pr}/comments", json={"body": body})
    out(f"posted comment {reply.data['id']} on #{pr}")
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
    """Post ``state`` on the schema deployment of ``ref`` to ``env`` (created if needed); exit 0."""
    deployment_id = record_deployment(
        _client(),
        repo=repo,
        env=env,
        ref=ref,
        state=state,
        log_url=log_url,
        description=description,
    )
    out(f"deployment {deployment_id} of {ref[:12]} to {env}: {state}")
    return 0
