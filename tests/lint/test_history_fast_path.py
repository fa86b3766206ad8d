"""The history hook's fast path: a commit touching no migration skips the check; any staged
change under the migrations directory (edit, delete, rename, rename away) still gets it.

Each case is a real ``git commit`` through hooks installed by ``pre-commit install``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import IDENTITY
from testing.gitrepo import git as git_run

FIRST = "20240101_000000_create_teams.sql"
SECOND = "20240102_000000_create_users.sql"
CONFIG = f"""repos:
  - repo: local
    hooks:
      - id: rally-migration-history
        name: history
        entry: {Path(sys.executable).parent / "rally-migration-history"}
        language: system
        files: ^migrations/.*\\.sql$
        always_run: true
"""


def sql(name: str, body: str) -> str:
    return f"-- Migration: {name[:-4]}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``main`` holds two migrations; branch ``feature`` has the history hook installed."""
    root = tmp_path / "repo"
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.rally_gitops.lint]\nbase = "main"\n')
    (root / ".pre-commit-config.yaml").write_text(CONFIG)
    (root / "README.md").write_text("hello\n")
    (root / "migrations" / FIRST).write_text(sql(FIRST, "CREATE TABLE teams (id int);"))
    (root / "migrations" / SECOND).write_text(sql(SECOND, "CREATE TABLE users (id int);"))
    git_run(root, "init", "-q", "-b", "main")
    git_run(root, "add", ".")
    git_run(root, "commit", "-q", "-m", "start")
    git_run(root, "checkout", "-q", "-b", "feature")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    subprocess.run(
        [Path(sys.executable).parent / "pre-commit", "install"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return root


def commit(repo: Path, message: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRE_COMMIT")}
    env.update(IDENTITY, PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"))
    return subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def edit_first(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    path.write_text(path.read_text().replace("(id int)", "(id bigint)"))


def test_commit_touching_no_migration_skips_the_check(repo: Path) -> None:
    # an edit slipped in with --no-verify would fail the full check: the README commit after it
    # passes because the fast path does not look at the history at all
    edit_first(repo)
    git_run(repo, "commit", "-q", "-a", "--no-verify", "-m", "sneak")
    (repo / "README.md").write_text("hello again\n")
    git_run(repo, "add", "README.md")
    result = commit(repo, "docs")
    assert result.returncode == 0, result.stderr
    assert "Passed" in result.stderr


def test_staged_edit_is_blocked(repo: Path) -> None:
    (repo / "README.md").write_text("hello again\n")
    edit_first(repo)
    git_run(repo, "add", ".")
    result = commit(repo, "edit")
    assert result.returncode == 1
    assert f"migrations/{FIRST}:5:1: error edited-committed-migration" in result.stderr


def test_staged_deletion_is_blocked(repo: Path) -> None:
    git_run(repo, "rm", "-q", f"migrations/{SECOND}")
    result = commit(repo, "delete")
    assert result.returncode == 1
    assert f"migrations/{SECOND}:1:1: error deleted-committed-migration" in result.stderr


def test_staged_rename_is_blocked(repo: Path) -> None:
    git_run(repo, "mv", f"migrations/{SECOND}", "migrations/20240102_000000_create_people.sql")
    result = commit(repo, "rename")
    assert result.returncode == 1
    assert "error renamed-committed-migration" in result.stderr


def test_rename_out_of_the_migrations_directory_is_blocked(repo: Path) -> None:
    (repo / "old").mkdir()
    git_run(repo, "mv", f"migrations/{SECOND}", f"old/{SECOND}")
    result = commit(repo, "move away")
    assert result.returncode == 1
    assert f"migrations/{SECOND}:1:1: error deleted-committed-migration" in result.stderr


def test_rename_to_another_extension_is_blocked(repo: Path) -> None:
    git_run(repo, "mv", f"migrations/{SECOND}", "migrations/create_users.txt")
    result = commit(repo, "hide it")
    assert result.returncode == 1
    assert f"migrations/{SECOND}:1:1: error deleted-committed-migration" in result.stderr


def test_config_change_takes_the_full_check(repo: Path) -> None:
    # pyproject.toml may move migrations_dir or the base: the check runs, and finds the sneak
    edit_first(repo)
    git_run(repo, "commit", "-q", "-a", "--no-verify", "-m", "sneak")
    with (repo / "pyproject.toml").open("a") as config:
        config.write("# a comment\n")
    git_run(repo, "add", "pyproject.toml")
    result = commit(repo, "config")
    assert result.returncode == 1
    assert f"migrations/{FIRST}:5:1: error edited-committed-migration" in result.stderr


def add_migration(repo: Path, name: str) -> None:
    (repo / "migrations" / name).write_text(sql(name, "CREATE TABLE extra (id int);"))
    git_run(repo, "add", f"migrations/{name}")


def test_commit_adding_the_newest_migration_takes_the_quick_confirmation(repo: Path) -> None:
    # a deletion slipped in with --no-verify would fail the full check (deletions are reported
    # whatever files are named): passing shows the quick confirmation ran instead
    git_run(repo, "rm", "-q", f"migrations/{FIRST}")
    git_run(repo, "commit", "-q", "--no-verify", "-m", "sneak")
    add_migration(repo, "20240103_000000_add_extra.sql")
    result = commit(repo, "new migration")
    assert result.returncode == 0, result.stderr


def test_added_migration_older_than_the_newest_is_blocked(repo: Path) -> None:
    add_migration(repo, "20240101_120000_add_extra.sql")
    result = commit(repo, "old version")
    assert result.returncode == 1
    assert "error version-older-than-committed" in result.stderr


def test_addition_with_an_edit_takes_the_full_check(repo: Path) -> None:
    add_migration(repo, "20240103_000000_add_extra.sql")
    edit_first(repo)
    git_run(repo, "add", f"migrations/{FIRST}")
    result = commit(repo, "new and edit")
    assert result.returncode == 1
    assert f"migrations/{FIRST}:5:1: error edited-committed-migration" in result.stderr


FAST_PATH_PROBE = """\
import sys
before = set(sys.modules)
from rally_gitops_hooks import warm
try:
    warm.history()
except SystemExit as exc:
    loaded = sorted(set(sys.modules) - before)
    import json
    print(json.dumps({"code": exc.code, "modules": loaded}))
"""


def test_fast_path_loads_no_parser_and_no_package(repo: Path) -> None:
    # the console script as pre-commit runs it for a commit that stages only a README change:
    # what it loads beyond the interpreter's start-up
    (repo / "README.md").write_text("hello again\n")
    git_run(repo, "add", "README.md")
    env = {**os.environ, "PRE_COMMIT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", FAST_PATH_PROBE],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["code"] == 0
    loaded = set(result["modules"])
    assert loaded.isdisjoint({"argparse", "gettext", "pathlib", "socket", "typing"})
    # only the child environment without database URLs, for the one git call
    assert {name for name in loaded if name.startswith(("rally_gitops.", "pglast"))} == {
        "rally_gitops.redact"
    }
