"""Every command ``workflow`` prints runs as printed, from wherever the workflow was started
(issue 14, point 19): the echoed lint and validate lines and the hints in backquotes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testing.process import URL_VARIABLES, run_process

BIN = Path(sys.executable).parent


def printed_commands(output: str) -> list[str]:
    """``$ rally-gitops ...`` lines and `rally-gitops ...` in backquotes, in order."""
    found = []
    for line in output.splitlines():
        if line.startswith("$ rally-gitops "):
            found.append(line[2:])
        found += re.findall(r"`(rally-gitops [^`]+)`", line)
    return found


def run_printed(command: str, cwd: Path, env: dict[str, str], stdin: str = "") -> int:
    argv = shlex.split(command)
    assert argv[0] == "rally-gitops"
    full = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES} | env
    done = subprocess.run(
        [str(BIN / "rally-gitops"), *argv[1:]],
        cwd=cwd, env=full, input=stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
    return done.returncode


@pytest.mark.parametrize("where", ["root", "subdirectory", "elsewhere"])
def test_every_printed_command_runs_as_printed(
    project: Path, tmp_path: Path, make_database, pg_server, where: str
) -> None:
    env = {
        "DATABASE_STAGING_URL": make_database("staging"),
        "DATABASE_PUBLIC_URL": make_database("production"),
        "RALLY_REPLAY_DATABASE_URL": pg_server.admin_url,
        "CI": "true",
    }
    elsewhere = tmp_path / "elsewhere"  # beside the project, not above it
    elsewhere.mkdir()
    cwd = {"root": project, "subdirectory": project / "migrations", "elsewhere": elsewhere}[where]
    project_args = ["-C", str(project)] if where == "elsewhere" else []
    result = run_process([*project_args, "workflow", "--auto"], cwd=cwd, env=env)
    assert result.code == 0, result.text

    commands = printed_commands(result.out)
    assert [shlex.split(c)[len(project_args) + 1] for c in commands] == [
        "lint",
        "validate",
        "workflow",
    ]
    first = sorted(p.name for p in (project / "migrations").glob("*.sql"))[0]
    shown = {
        "root": f"migrations/{first}",
        "subdirectory": first,
        "elsewhere": str(project / "migrations" / first),
    }[where]
    assert shlex.split(commands[0])[: len(project_args) + 3] == [
        "rally-gitops",
        *project_args,
        "lint",
        shown,
    ]
    for command in commands[:2]:
        run_printed(command, cwd, env)
    if where == "elsewhere":  # the promotion hint deploys production when run as printed
        assert commands[2] == f"rally-gitops -C {project} workflow --production"
        run_printed(commands[2] + " --yes", cwd, env)
        status = run_process(
            ["-C", str(project), "status", "--env", "production"], cwd=cwd, env=env
        )
        assert ": 6 applied, 0 pending" in status.out
