"""The GitHub Actions workflows and the composite action: linted, parsed and checked."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rally_gitops.commands.init import WORKFLOWS, render_workflow

REPO = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = REPO / ".github" / "workflows"
BIN = Path(sys.executable).parent
# Values for the shell variables the `run:` steps pass to rally-gitops.
SAMPLE = {"STATE": "success", "PR_NUMBER": "7", "RALLY_ENV": "staging"}
_SHELL_END = re.compile(r"\s(?:\||\|\||&&|;|>>?|2>&1)(?:\s|$)")


def tool(name: str) -> str:
    """A linter installed with the test extra (next to this python, else on PATH)."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


def actionlint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run actionlint in the repository ``root`` (shellcheck on PATH checks `run:` scripts)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [tool("actionlint"), "-no-color"], cwd=root, env=env, capture_output=True, text=True
    )


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOW_DIR / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def job(name: str, job_id: str = "") -> dict[str, Any]:
    """The job ``job_id`` of a workflow; without it, the workflow's last job (the deploy)."""
    jobs = load(name)["jobs"]
    return jobs[job_id] if job_id else list(jobs.values())[-1]


def all_jobs(name: str) -> list[dict[str, Any]]:
    return list(load(name)["jobs"].values())


def rally_commands(script: str) -> list[list[str]]:
    """Each ``rally-gitops ...`` command of a shell script, as argv with variables filled in."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        start = line.find("rally-gitops ")
        if start < 0 or line.lstrip().startswith("#") or "`rally-gitops" in line:
            continue
        text = _SHELL_END.split(line[start:])[0]
        argv = shlex.split(text)[1:]
        commands.append(
            [re.sub(r"\$\{?(\w+)\}?", lambda m: SAMPLE.get(m[1], "x"), a) for a in argv]
        )
    return commands


def test_actionlint_passes_on_the_workflows_and_the_action() -> None:
    assert tool("shellcheck")  # actionlint checks every run: script with it when it is on PATH
    result = actionlint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $X\n"
    (tmp_path / ".github" / "workflows" / "x.yml").write_text(broken, encoding="utf-8")
    result = actionlint(tmp_path)
    assert result.returncode == 1 and "SC2086" in result.stdout


def test_migrations_check_triggers_replays_and_comments() -> None:
    data = load("migrations-check.yml")
    assert data["on"] == {"pull_request": {"paths": ["migrations/**"]}}
    assert data["permissions"]["pull-requests"] == "write"
    check = job("migrations-check.yml")
    assert "postgres" in check["services"]
    assert check["env"]["RALLY_REPLAY_DATABASE_URL"].startswith("postgresql://")
    argv = [c for s in check["steps"] for c in rally_commands(s.get("run", ""))]
    assert ["lint", "--base", "x", "--format", "github"] in argv
    assert ["validate", "--base", "x", "--markdown", "x/measured.md"] in argv
    assert ["plan", "--env", "staging"] in argv and ["plan", "--env", "production"] in argv
    assert ["github", "comment", "--pr", "7", "--file", "x/report.md"] in argv
    # the comment's "Schema changes": the base branch's migrations against the branch's
    assert ["compare", "migrations@x", "migrations", "--markdown"] in argv
    report = next(s["run"] for s in check["steps"] if s.get("name") == "Write the report")
    assert 'cat "$REPORT_DIR/schema.md"' in report
    # the comment's measured findings: the replay's locks, rewrites and scans
    assert 'cat "$REPORT_DIR/measured.md"' in report


@pytest.mark.parametrize(
    ("name", "branch", "env"),
    [("deploy-staging.yml", "staging", "staging"), ("deploy-production.yml", "main", "production")],
)
def test_deploy_workflows_gate_serialize_and_order_steps(name: str, branch: str, env: str) -> None:
    data = load(name)
    assert data["on"]["push"] == {"branches": [branch]}
    deploy = job(name)
    assert deploy["environment"] == env  # production: the required reviewers' approval gate
    assert deploy["concurrency"] == {"group": f"db-deploy-{env}", "cancel-in-progress": False}
    assert deploy["env"]["RALLY_ENV"] == env
    names = [cmd[0] for s in deploy["steps"] for cmd in rally_commands(s.get("run", ""))]
    order = [names.index(c) for c in ("check", "backup", "deploy", "smoke", "release")]
    assert order == sorted(order), names
    uploads = [s for s in deploy["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    manifest, dump = uploads
    assert ".json" in manifest["with"]["path"] and ".dump" not in manifest["with"]["path"]
    assert "vars.RALLY_UPLOAD_DUMP == 'true'" in dump["if"]  # data leaves only if configured
    summary = next(s["run"] for s in deploy["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert ["drift", "--env", "staging"] in rally_commands(summary)  # drift in the job summary


def test_production_has_the_promotion_guard_and_post_deployment_validation() -> None:
    deploy = job("deploy-production.yml")
    assert deploy["env"]["DATABASE_PUBLIC_URL"] == "${{ secrets.DATABASE_PUBLIC_URL }}"
    assert deploy["env"]["DATABASE_STAGING_URL"] == "${{ secrets.DATABASE_STAGING_URL }}"
    runs = [s.get("run", "") for s in deploy["steps"]]
    deploy_cmd = next(c for r in runs for c in rally_commands(r) if c[0] == "deploy")
    assert "--no-backup" not in deploy_cmd
    validation = next(s for s in deploy["steps"] if s.get("name") == "Post-deployment validation")
    assert rally_commands(validation["run"]) == [
        ["smoke", "--env", "staging"],
        ["status", "--env", "staging"],
    ]


def test_production_plans_and_rehearses_before_anyone_approves() -> None:
    data = load("deploy-production.yml")
    assert list(data["jobs"]) == ["plan", "deploy"]
    plan, deploy = job("deploy-production.yml", "plan"), job("deploy-production.yml", "deploy")
    assert "environment" not in plan  # it runs before the approval, which it informs
    assert (deploy["environment"], deploy["needs"]) == ("production", "plan")
    assert plan["permissions"] == {"contents": "read", "actions": "read"}
    assert deploy["permissions"] == {"contents": "read", "deployments": "write"}
    # only reads, without the production environment's secrets
    assert plan["env"]["DATABASE_PUBLIC_URL"] == (
        "${{ secrets.DATABASE_PUBLIC_READONLY_URL || secrets.DATABASE_PUBLIC_URL }}"
    )
    # the rehearsal's scratch database: the job's own server, on this machine
    assert "postgres" in plan["services"]
    assert plan["env"]["RALLY_REPLAY_DATABASE_URL"].startswith("postgresql://postgres:")
    assert "@localhost:5432/" in plan["env"]["RALLY_REPLAY_DATABASE_URL"]
    commands = [c for s in plan["steps"] for c in rally_commands(s.get("run", ""))]
    assert commands == [
        ["check", "--env", "staging", "--read-only"],  # its role need not write
        ["plan", "--env", "staging", "--hazards"],
        ["rehearse", "--env", "staging", "--backup", "x"],
    ]
    download = next(s for s in plan["steps"] if str(s.get("uses", "")).startswith("actions/down"))
    assert download["with"]["pattern"] == "rally-staging-*"  # staging's, never production's
    finder = next(s for s in plan["steps"] if s.get("id") == "staging")
    assert "vars.RALLY_UPLOAD_DUMP == 'true'" in finder["if"]  # the dump is an opt-in artifact
    summary = plan["steps"][-1]
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
    for report in ("check.txt", "plan.txt", "rehearse.txt"):
        assert f'"$REPORT_DIR/{report}"' in summary["run"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_rally_command_parses_with_the_live_cli(name: str) -> None:
    from rally_gitops.main import build_parser

    parser = build_parser()
    steps = [step for each in all_jobs(name) for step in each["steps"]]
    commands = [c for s in steps for c in rally_commands(s.get("run", ""))]
    assert commands
    for argv in commands:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: `rally-gitops {' '.join(argv)}` is not a valid command")
        assert callable(args.run)


@pytest.mark.parametrize("name", WORKFLOWS)
def test_secrets_reach_steps_only_through_env_and_actions_are_pinned(name: str) -> None:
    steps = [step for each in all_jobs(name) for step in each["steps"]]
    for each in all_jobs(name):
        assert "GITHUB_TOKEN" not in each.get("env", {})  # not for deploy hooks and commands
    for step in steps:
        talks_to_github = any(c[0] == "github" for c in rally_commands(step.get("run", "")))
        assert ("GITHUB_TOKEN" in step.get("env", {})) == talks_to_github, step.get("name")
        assert "secrets." not in step.get("run", "")
        uses = step.get("uses")
        if uses:
            assert uses == "./" or re.fullmatch(r"actions/[\w-]+@v\d+", uses), uses


@pytest.mark.parametrize("name", WORKFLOWS)
def test_templates_differ_from_the_workflows_only_in_the_action(name: str) -> None:
    ours = (WORKFLOW_DIR / name).read_text(encoding="utf-8")
    assert render_workflow(name, "./") == ours
    theirs = render_workflow(name, "acme/rally-gitops@v1").splitlines()
    changed = [(a, b) for a, b in zip(ours.splitlines(), theirs, strict=True) if a != b]
    # once per job
    assert changed == [("        uses: ./", "        uses: acme/rally-gitops@v1")] * len(
        all_jobs(name)
    )


def _action() -> dict[str, Any]:
    return yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))


def test_action_installs_from_its_own_path_and_runs_a_command(tmp_path: Path) -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"command", "python-version"}
    steps = {s["name"]: s for s in action["runs"]["steps"]}
    assert "github.action_path" in steps["Install rally-gitops"]["env"]["RALLY_ACTION_PATH"]
    runner = next(s for s in action["runs"]["steps"] if s.get("if") == "inputs.command != ''")
    target = tmp_path / "a project"
    target.mkdir()
    command = f"-C {shlex.quote(str(target))} new 'first table' --no-transaction"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", RALLY_COMMAND=command)
    result = subprocess.run(["bash", "-c", runner["run"]], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert [p.name[16:] for p in (target / "migrations").glob("*.sql")] == ["first_table.sql"]


def test_action_masks_url_passwords_in_both_forms() -> None:
    step = next(s for s in _action()["runs"]["steps"] if s["name"] == "Mask database passwords")
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        DATABASE_STAGING_URL="postgresql://app:p%40ss%2Fw0rd@db.example:5432/rally",
        DATABASE_PUBLIC_URL="postgresql://db.example/rally?user=app&password=s3cr3t",
        GITHUB_API_URL="https://api.github.com",
    )
    result = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "::add-mask::p%40ss%2Fw0rd",
        "::add-mask::p@ss/w0rd",
        "::add-mask::s3cr3t",
    ]


def test_commands_in_the_github_guide_parse() -> None:
    from rally_gitops.main import build_parser

    text = (REPO / "docs" / "github.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = [line.split(" #")[0] for block in blocks for line in block.splitlines()]
    commands = [c for line in lines for c in rally_commands(line)]
    assert len(commands) >= 3
    for argv in commands:
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"docs/github.md: `rally-gitops {' '.join(argv)}` does not parse")
