"""Rehearse the deploy workflows: run their `run:` steps in order, as a runner would, against a
real PostgreSQL and the fake GitHub API (``uses:`` steps are the runner's business: skipped, but
the files an upload step names must exist)."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from testing.fake_github import FakeGitHub, serve
from testing.gitrepo import git

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "ghs_rehearsalTOKEN0123456789"
SHA = "a" * 40


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """The few GitHub expressions the workflows use: contexts, ==, !=, &&, ||, always()."""
    text = expression.strip()
    text = text.removeprefix("${{").removesuffix("}}").strip()

    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match[0].split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return repr(value)

    text = re.sub(r"\b(?:steps|env|vars|secrets|github|job)\.[\w.-]+", lookup, text)
    text = text.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
    return eval(text, {"__builtins__": {}}, {})  # noqa: S307 - our own workflow files only


def substitute(value: str, context: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m[1], context)), str(value))


def rehearse(
    workflow: str,
    project: Path,
    secrets: dict[str, str],
    github_url: str,
    *,
    event: dict[str, Any] | None = None,
    overrides: dict[str, str] | None = None,
) -> dict:
    """Run the jobs in order (a job whose ``needs`` failed is skipped); returns each job's step
    outcomes and status (``steps``, ``status``: the last job's), every failure, the summary."""
    jobs = yaml.safe_load((REPO / ".github/workflows" / workflow).read_text())["jobs"]
    summary = project / f".rally/summary-{workflow}.md"
    results: dict[str, dict[str, Any]] = {}
    logs: list[str] = []
    output: list[str] = []
    for job_id, job in jobs.items():
        needs = job.get("needs", [])
        if any(
            results[n]["status"] != "success"
            for n in ([needs] if isinstance(needs, str) else needs)
        ):
            results[job_id] = {"steps": {}, "status": "skipped"}
            continue
        results[job_id] = _run_job(
            job, project, secrets, github_url, summary, event, overrides, logs, output
        )
    last = list(results.values())[-1]
    return {
        "steps": last["steps"],
        "status": last["status"],
        "jobs": results,
        "failures": logs,
        "output": "".join(output),
        "summary": summary.read_text(encoding="utf-8"),
    }


def _run_job(
    job: dict[str, Any],
    project: Path,
    secrets: dict[str, str],
    github_url: str,
    summary: Path,
    event: dict[str, Any] | None,
    overrides: dict[str, str] | None,
    logs: list[str],
    output: list[str],
) -> dict[str, Any]:
    run = {"server_url": "https://github.example", "run_id": "42", "run_attempt": "1"}
    context: dict[str, Any] = {
        "secrets": secrets, "vars": {}, "steps": {}, "job": {"status": "success"},
        "github": {"token": TOKEN, "repository": "acme/rally", "event": event or {}, **run},
    }  # fmt: skip
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GITHUB_"))},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "CI": "true",
        "GITHUB_SHA": SHA, "GITHUB_REPOSITORY": "acme/rally", "GITHUB_API_URL": github_url,
        "GITHUB_STEP_SUMMARY": str(summary),
    }  # fmt: skip
    context["env"] = {k: substitute(v, context) for k, v in job["env"].items()}
    # e.g. the job's service container
    context["env"].update({k: v for k, v in (overrides or {}).items() if k in context["env"]})
    uploads: list[str] = []
    for step in job["steps"]:
        failed = context["job"]["status"] != "success"
        condition = step.get("if")
        # like GitHub: a condition without always() implies success()
        if (failed and "always()" not in str(condition)) or (
            condition and not evaluate(condition, context)
        ):
            outcome = "skipped"
        elif "uses" in step:
            path = substitute(step.get("with", {}).get("path", ""), context)
            uploads += [line.strip() for line in path.splitlines() if line.strip()]
            outcome = "success"
        else:
            env = {**base_env, **context["env"]}
            env.update({k: substitute(v, context) for k, v in step.get("env", {}).items()})
            proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project, env=env,
                                  capture_output=True, text=True, timeout=300)  # fmt: skip
            outcome = "success" if proc.returncode == 0 else "failure"
            if outcome == "failure" and not step.get("continue-on-error"):
                context["job"]["status"] = "failure"
                logs.append(f"{step.get('name')}: {proc.stdout}{proc.stderr}")
            assert TOKEN not in proc.stdout + proc.stderr
            output.append(proc.stdout + proc.stderr)
        if "id" in step:
            context["steps"][step["id"]] = {"outcome": outcome}
    missing = [p for p in uploads if ".dump" not in p and not glob.glob(str(project / p))]
    assert missing == [], f"artifacts named by the workflow but not produced: {missing}"
    return {
        "steps": {k: v["outcome"] for k, v in context["steps"].items()},
        "status": context["job"]["status"],
    }


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch):
    state = FakeGitHub(token=TOKEN, repos={"acme/rally"})
    with serve(state) as running:
        yield running


def test_staging_then_production_deploy_workflows(
    project: Path,
    make_database,
    pg_server,
    github,
) -> None:
    from testing.pg import TEST_PASSWORD

    # password URLs (TCP, scram): the password must not show up in any output or artifact
    staging, production = (
        pg_server.password_url(urlsplit(make_database(prefix)).path.lstrip("/"))
        for prefix in ("stg", "prd")
    )
    secrets = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}

    first = rehearse("deploy-staging.yml", project, secrets, github.url)
    assert first["status"] == "success", first["failures"]
    assert first["steps"] == dict.fromkeys(
        ("check", "backup", "deploy", "smoke", "release"), "success"
    )
    assert "| success | success | success | success | success |" in first["summary"]
    assert "6 applied, 0 pending" in first["summary"]
    exported = (project / ".rally/applied_migrations.json").read_text(encoding="utf-8")
    assert exported.count('"version"') == 6
    assert glob.glob(str(project / ".rally/backups/staging/*.json"))

    replay = {"RALLY_REPLAY_DATABASE_URL": make_database("replay")}  # the service container
    second = rehearse("deploy-production.yml", project, secrets, github.url, overrides=replay)
    assert second["status"] == "success", second["failures"]
    # the plan job rehearsed production's six on staging's backup (taken before its deploy)
    assert second["jobs"]["plan"] == {
        "status": "success",
        "steps": {
            "check": "success",
            "plan": "success",
            "staging": "skipped",
            "rehearse": "success",
        },
    }
    assert "| success | success | success |" in second["summary"]
    assert (
        "Rehearsed 6 pending migration(s) of production on a copy of staging_backup_"
        in (second["summary"])
    )
    assert "6 migration(s) applied on the copy in " in second["summary"]
    assert second["steps"]["validate"] == "success"
    assert "production (" in second["summary"] and "6 applied, 0 pending" in second["summary"]

    for run in (first, second):
        assert TEST_PASSWORD not in run["output"] + run["summary"]
    for path in (project / ".rally").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".sql", ".md"):
            assert TEST_PASSWORD not in path.read_text(encoding="utf-8", errors="replace"), path
    assert "rally_pw_user:***@" in first["summary"] or "rally_pw_user@" in first["summary"]

    # one schema deployment per environment on GitHub, each with in_progress then success
    assert sorted(d["environment"] for d in github.deployments) == ["production", "staging"]
    for dep in github.deployments:
        assert [s["state"] for s in github.statuses[dep["id"]]] == ["success", "in_progress"]
        assert github.statuses[dep["id"]][0]["log_url"] == (
            "https://github.example/acme/rally/actions/runs/42"
        )


def test_production_refuses_what_staging_has_not_and_reports_failure(
    project: Path,
    make_database,
    github,
) -> None:
    staging, production = make_database("stg"), make_database("prd")
    secrets = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}
    result = rehearse("deploy-production.yml", project, secrets, github.url)
    assert result["status"] == "failure"
    # no staging backup here to rehearse on: the plan says so and the deploy job decides
    assert result["jobs"]["plan"]["status"] == "success"
    assert "not rehearsed: no dump of staging here" in result["summary"]
    assert result["steps"]["deploy"] == "failure"
    assert result["steps"]["smoke"] == result["steps"]["release"] == "skipped"
    assert "promotion guard: 6 migration(s) have not passed staging" in result["failures"][0]
    assert "| success | success | failure | skipped | skipped | skipped |" in result["summary"]
    assert "0 applied, 6 pending" in result["summary"]
    (dep,) = github.deployments
    assert [s["state"] for s in github.statuses[dep["id"]]] == ["failure", "in_progress"]


def test_pull_request_check_comments_lint_replay_and_plans(
    project: Path,
    make_database,
    pg_server,
    github,
) -> None:
    newest = sorted((project / "migrations").glob("*.sql"))[-1]
    text = newest.read_text(encoding="utf-8")
    newest.unlink()
    origin = project.parent / "origin.git"
    git(project.parent, "init", "-q", "--bare", "-b", "main", str(origin))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "five migrations")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    git(project, "checkout", "-q", "-b", "feature")
    newest.write_text(text, encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "index")
    git(project, "fetch", "-q", "origin")
    staging = make_database("stg")
    event = {"pull_request": {"number": 7, "base": {"ref": "main"},
                              "head": {"repo": {"full_name": "acme/rally"}}}}  # fmt: skip
    result = rehearse(
        "migrations-check.yml", project, {"DATABASE_STAGING_URL": staging}, github.url,
        event=event, overrides={"RALLY_REPLAY_DATABASE_URL": pg_server.url("postgres")},
    )  # fmt: skip
    assert result["status"] == "success", result["failures"]
    assert result["steps"] == {"lint": "success", "validate": "success"}
    (comment,) = github.comments[7]
    body = comment["body"]
    assert body.startswith("<!-- rally-gitops:report -->\n### rally-gitops: migrations check")
    assert "| lint | success |" in body and "| replay | success |" in body
    assert f"{newest.name}" in body.split("Plan: staging")[1]  # staging would run all six
    assert "Plan: production" in body and "(not run)" in body  # no production secret here
    assert body == "<!-- rally-gitops:report -->\n" + result["summary"]

    again = rehearse(
        "migrations-check.yml", project, {"DATABASE_STAGING_URL": staging}, github.url,
        event=event, overrides={"RALLY_REPLAY_DATABASE_URL": pg_server.url("postgres")},
    )  # fmt: skip
    assert again["status"] == "success"
    assert len(github.comments[7]) == 1  # updated in place, not a second comment
