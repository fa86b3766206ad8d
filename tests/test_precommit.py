"""The pre-commit hooks as users get them: ``pre-commit try-repo`` and this repo's own config.

Both run on a snapshot of the current working tree (tracked and untracked files, as committed
by the lead later), so that the test sees the code under test rather than the last commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import git
from testing.lint_support import good

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command; output captured as text, never raising on a non-zero exit."""
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the current working tree of this project, committed."""
    target = tmp_path_factory.mktemp("snapshot") / "rally-gitops"
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO)
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return target


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pre-commit with its own cache dir and the dev venv first on PATH (for language: system)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RALLY_"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return env


def test_hooks_file_exports_the_three_hooks() -> None:
    import yaml  # pre-commit depends on PyYAML

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {
        "rally-migration-lint",
        "rally-migration-validate",
        "rally-migration-history",
    }
    for hook_id, hook in hooks.items():
        assert hook["entry"] == hook_id and hook["language"] == "python"
        assert hook["files"] == r"^migrations/.*\.sql$"
    assert hooks["rally-migration-validate"]["require_serial"] is True
    # each can warn, and pre-commit shows a passing hook's output only with verbose
    assert [hook["verbose"] for hook in hooks.values()] == [True] * 3


def test_try_repo_good_passes_bad_fails(snapshot: Path, hook_env: dict, tmp_path: Path) -> None:
    scratch = tmp_path / "app"
    (scratch / "migrations").mkdir(parents=True)
    git(scratch, "init", "-q", "-b", "main")
    ok = scratch / "migrations" / "20250101_120000_add_things.sql"
    ok.write_text(good())
    bad = scratch / "migrations" / "20250102_120000_broken.sql"
    bad.write_text(good("20250102_120000_broken", "DROP TABLEE things;"))
    git(scratch, "add", "-A")

    def try_repo(path: Path) -> subprocess.CompletedProcess:
        return run(
            [
                str(VENV_BIN / "pre-commit"),
                "try-repo",
                str(snapshot),
                "rally-migration-lint",
                "--files",
                str(path.relative_to(scratch)),
            ],
            scratch,
            hook_env,
        )

    passed = try_repo(ok)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    failed = try_repo(bad)
    assert failed.returncode == 1
    assert (
        "migrations/20250102_120000_broken.sql:4:6: error syntax-error "
        'syntax error at or near "TABLEE"' in failed.stdout
    )
    assert "Traceback" not in failed.stdout + failed.stderr


@pytest.fixture(scope="module")
def run_all_files(
    snapshot: Path, hook_env: dict, tmp_path_factory: pytest.TempPathFactory, pg_server
) -> str:
    """``pre-commit run --all-files`` with this repo's own config, in a clone of the snapshot."""
    clone = tmp_path_factory.mktemp("clone") / "rally-gitops"
    git(clone.parent, "clone", "-q", str(snapshot), str(clone))  # origin/main exists, as usual
    env = dict(hook_env, RALLY_REPLAY_DATABASE_URL=pg_server.admin_url)
    result = run([str(VENV_BIN / "pre-commit"), "run", "--all-files"], clone, env)
    return result.stdout + result.stderr


def hook_status(output: str, name: str) -> str:
    """``Passed``, ``Failed`` or ``Skipped`` from pre-commit's ``name.....Passed`` line."""
    for line in output.splitlines():
        if line.startswith(name + "."):
            return line.rsplit(".", 1)[-1].split("(")[0].strip()
    return "missing"


@pytest.mark.parametrize(
    "hook",
    [
        "rally-gitops migration lint",
        "rally-gitops migration replay",
        "rally-gitops migration history",
    ],
)
def test_run_all_files_migration_hooks_pass(run_all_files: str, hook: str) -> None:
    assert hook_status(run_all_files, hook) == "Passed", run_all_files
    assert "Traceback" not in run_all_files


@pytest.mark.parametrize("hook", ["ruff check", "ruff format --check"])
def test_run_all_files_ruff_hooks_pass(run_all_files: str, hook: str) -> None:
    assert hook_status(run_all_files, hook) == "Passed", run_all_files[-5000:]
