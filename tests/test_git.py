"""The helpers of ``rally_gitops.git`` (the git CLI, gitpython for the work-tree diff), against real
repositories in temp dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rally_gitops import config as config_mod
from rally_gitops import git
from rally_gitops.errors import RallyError
from testing.gitrepo import git as git_run

FIRST = "20240101_000000_create_teams.sql"
SECOND = "20240102_000000_create_users.sql"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits on `main`, one migration each."""
    root = tmp_path / "repo"
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.rally_gitops.lint]\nbase = "main"\n', encoding="utf-8"
    )
    git_run(root, "init", "-q", "-b", "main")
    for name, subject in ((FIRST, "Add teams"), (SECOND, "Add users\n\nwith a body")):
        (root / "migrations" / name).write_text(f"-- Migration: {name[:-4]}\nSELECT 1;\n")
        git_run(root, "add", ".")
        git_run(root, "commit", "-q", "-m", subject)
    return root


def test_trees_index_and_blobs_match_git(repo: Path) -> None:
    cfg = config_mod.load(repo)
    head = git.resolve(repo, "HEAD")
    assert head == git_run(repo, "rev-parse", "HEAD").strip()
    blobs = git.tree_blobs(cfg, head or "")
    assert blobs == git.index_blobs(cfg)
    assert blobs[FIRST] == git_run(repo, "rev-parse", f"HEAD:migrations/{FIRST}").strip()
    contents = git.read_blobs(cfg, [*blobs.values(), "0" * 40])
    assert contents[blobs[SECOND]] == (repo / "migrations" / SECOND).read_bytes()
    assert "0" * 40 not in contents  # a missing blob is left out, not an error
    assert git.tree_blobs(cfg, git.resolve(repo, "HEAD~1") or "") == {FIRST: blobs[FIRST]}


def test_added_in_names_commit_short_sha_and_subject(repo: Path) -> None:
    cfg = config_mod.load(repo)
    added = git.committed_migrations(cfg)
    assert added[SECOND].short == git_run(repo, "rev-parse", "--short", "HEAD").strip()
    assert added[SECOND].subject == "Add users"
    assert added[FIRST].subject == "Add teams"


def test_ref_syntax_gitpython_lacks_falls_back_to_git(repo: Path) -> None:
    first, second = git_run(repo, "rev-parse", "HEAD~1", "HEAD").split()
    git_run(repo, "checkout", "-q", "-b", "feature")
    assert git.resolve(repo, "HEAD@{now}") == second  # gitpython: NotImplementedError
    assert git.resolve(repo, "@{-1}") == second  # gitpython: IndexError; git: "main"
    assert git.resolve(repo, "HEAD~1") == first
    assert git.resolve(repo, "no-such-branch") is None
    assert git.resolve(repo, "--all") is None


def test_hook_index_named_by_git_index_file_is_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `git commit FILE` runs hooks against a temporary index named by GIT_INDEX_FILE
    temp_index = repo / ".git" / "temp-index"
    env = {"GIT_INDEX_FILE": str(temp_index)}
    git_run(repo, "read-tree", "HEAD", env=env)
    (repo / "migrations" / FIRST).write_text("-- changed\n")
    git_run(repo, "update-index", "--add", f"migrations/{FIRST}", env=env)
    staged = git_run(repo, "ls-files", "-s", f"migrations/{FIRST}", env=env).split()[1]
    cfg = config_mod.load(repo)
    monkeypatch.setenv("GIT_INDEX_FILE", str(temp_index))
    assert git.index_blobs(cfg)[FIRST] == staged
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git.index_blobs(cfg)[FIRST] != staged


def test_index_format_4_is_read_through_git(repo: Path) -> None:
    cfg = config_mod.load(repo)
    before = git.index_blobs(cfg)
    git_run(repo, "update-index", "--index-version", "4")  # gitpython reads only versions 1-3
    assert git.index_blobs(cfg) == before


def test_changed_migrations_lists_staged_unstaged_and_untracked(repo: Path) -> None:
    git_run(repo, "checkout", "-q", "-b", "feature")
    cfg = config_mod.load(repo)
    assert git.changed_migrations(cfg) == []
    (repo / "migrations" / FIRST).write_text("-- edited\n")
    new = repo / "migrations" / "20240103_000000_new.sql"
    new.write_text("SELECT 1;\n")
    assert [p.name for p in git.changed_migrations(cfg)] == [FIRST, new.name]


def test_bare_repository_and_git_dir_are_no_work_tree(repo: Path, tmp_path: Path) -> None:
    git_run(tmp_path, "init", "-q", "--bare", "bare.git")
    assert not git.is_repository(tmp_path / "bare.git")
    assert not git.is_repository(repo / ".git")
    assert git.is_repository(repo / "migrations")


@pytest.mark.parametrize("refresh", ["quiet", "error"])
def test_missing_git_executable_is_a_clear_error(repo: Path, refresh: str) -> None:
    hook = Path(sys.executable).parent / "rally-migration-history"
    proc = subprocess.run(
        [str(hook), f"migrations/{FIRST}"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(repo / "no-bin"), "GIT_PYTHON_REFRESH": refresh},
    )
    assert proc.returncode == 1, proc.stderr
    assert "cannot run git" in proc.stderr and "Traceback" not in proc.stderr


def test_not_a_repository_raises_the_rally_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(RallyError, match="not inside a git repository"):
        git.committed_migrations(config_mod.load(tmp_path))


def test_head_sha_prefers_the_ci_variables_then_head(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = git_run(repo, "rev-parse", "HEAD").strip()
    assert git.head_sha(repo) == head
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    assert git.head_sha(repo) == "a" * 40
    monkeypatch.setenv("GIT_SHA", "b" * 40)
    assert git.head_sha(repo) == "b" * 40
    monkeypatch.delenv("GIT_SHA")
    monkeypatch.delenv("GITHUB_SHA")
    assert git.head_sha(tmp_path / "not-a-repo") is None


def test_history_reads_run_without_gitpython(repo: Path) -> None:
    # importing gitpython and parsing trees and the index in Python cost more than the checks:
    # what the history check (and lint --all's history worker) reads comes from the git CLI
    (repo / "migrations" / FIRST).write_text("-- edited\nSELECT 2;\n")
    code = (
        "import sys\nfrom pathlib import Path\nfrom rally_gitops import config\n"
        "from rally_gitops.lint import history\n"
        f"found = history.check(config.load(Path({str(repo)!r})))\n"
        "print([f.code for f in found], 'git' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    assert proc.stdout.strip() == "['edited-committed-migration'] False", proc.stderr


def test_blobs_are_read_in_one_batch_in_order(repo: Path) -> None:
    cfg = config_mod.load(repo)
    binary = bytes(range(256)) * 3 + b"\n\n"  # newlines and every byte inside a blob
    (repo / "migrations" / "data.sql").write_bytes(binary)
    git_run(repo, "add", ".")
    blobs = git.index_blobs(cfg)
    wanted = [blobs["data.sql"], "0" * 40, "not a sha\nHEAD", blobs[FIRST], blobs["data.sql"]]
    contents = git.read_blobs(cfg, wanted)
    assert dict(contents) == {
        blobs["data.sql"]: binary,
        blobs[FIRST]: (repo / "migrations" / FIRST).read_bytes(),
    }
    assert len(contents) == 2
    assert git.tree_blobs(cfg, "HEAD") == {FIRST: blobs[FIRST], SECOND: blobs[SECOND]}
    with pytest.raises(RallyError, match="^git ls-tree failed: not a valid commit name nope$"):
        git.tree_blobs(cfg, "nope")
