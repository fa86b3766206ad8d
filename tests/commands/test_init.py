"""``rally-gitops init`` on real git repositories, then pre-commit and actionlint on the result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rally_gitops.commands.init import render_workflow
from testing.gitrepo import git

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPECTED = [
    ".github/workflows/deploy-production.yml",
    ".github/workflows/deploy-staging.yml",
    ".github/workflows/migrations-check.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "pyproject.toml",
]


def run_init(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from rally_gitops.main import main

    capsys.readouterr()
    code = main(["-C", str(root), "init", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def files(root: Path) -> dict[str, bytes]:
    """Every file of the work tree (``.git`` excluded) and its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != ".git"
    }


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A repository as a user has it: cloned from an ``origin`` whose ``main`` has one commit."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "README.md").write_text("# app\n", encoding="utf-8")
    git(work, "add", "README.md")
    git(work, "commit", "-qm", "first")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    git(work, "fetch", "-q", "origin")
    return work


def test_init_scaffolds_then_is_idempotent_and_keeps_changes(clone: Path, capsys) -> None:
    code, text = run_init(clone, capsys)
    assert code == 0, text
    made = files(clone)
    migrations = [name for name in made if name.startswith("migrations/")]
    assert len(migrations) == 1 and migrations[0].endswith("_initial_schema.sql")
    assert sorted(set(made) - {"README.md", *migrations}) == EXPECTED
    assert text.count("created ") == 7
    assert made[".gitignore"].decode().endswith(".rally/\n")
    workflow = made[".github/workflows/deploy-staging.yml"].decode()
    assert "uses: rally-gitops/rally-gitops@v0.1.0" in workflow
    assert workflow == render_workflow("deploy-staging.yml", "rally-gitops/rally-gitops@v0.1.0")

    code, again = run_init(clone, capsys)
    assert code == 0
    assert files(clone) == made
    assert "created" not in again and again.count("unchanged") == 7

    staging = clone / ".github/workflows/deploy-staging.yml"
    staging.write_text(workflow.replace("timeout-minutes: 60", "timeout-minutes: 90"), "utf-8")
    code, kept = run_init(clone, capsys)
    assert code == 0
    assert "kept (changed) .github/workflows/deploy-staging.yml" in kept
    assert "timeout-minutes: 90" in staging.read_text(encoding="utf-8")

    code, forced = run_init(clone, capsys, "--force")
    assert code == 0
    assert "overwritten  .github/workflows/deploy-staging.yml" in forced
    assert files(clone) == made


def test_init_appends_to_an_existing_pyproject_and_gitignore(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    (tmp_path / ".gitignore").write_text("node_modules", encoding="utf-8")
    code, text = run_init(tmp_path, capsys, "--action-ref", "acme/rally-gitops@v2.1.0")
    assert code == 0, text
    import tomllib

    data = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"] == {"name": "app"}
    assert data["tool"]["rally_gitops"]["migrations_dir"] == "migrations"
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()[0] == "node_modules"
    hooks = (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert "repo: https://github.com/acme/rally-gitops\n    rev: v2.1.0\n" in hooks
    assert "uses: acme/rally-gitops@v2.1.0" in (
        tmp_path / ".github/workflows/deploy-production.yml"
    ).read_text(encoding="utf-8")


def test_init_follows_a_configured_migrations_dir(tmp_path: Path, capsys) -> None:
    import yaml

    pyproject = '[tool.rally_gitops]\nmigrations_dir = "db/migrations"\n'
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    code, text = run_init(tmp_path, capsys)
    assert code == 0, text
    assert "created      db/migrations/" in text
    assert len(list((tmp_path / "db/migrations").glob("*_initial_schema.sql"))) == 1
    check = yaml.safe_load((tmp_path / ".github/workflows/migrations-check.yml").read_text())
    assert check[True]["pull_request"]["paths"] == ["db/migrations/**"]
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = config["repos"][0]["hooks"]
    assert [h["files"] for h in hooks] == [r"^db/migrations/.*\.sql$"] * 3
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == pyproject


def test_init_refuses_a_bad_action_ref_before_writing(tmp_path: Path, capsys) -> None:
    code, text = run_init(tmp_path, capsys, "--action-ref", "not a ref")
    assert code == 2
    assert "expected OWNER/REPO@REF" in text
    assert list(tmp_path.iterdir()) == []


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """This checkout's hooks as a git repository pre-commit can install (it needs a commit)."""
    target = tmp_path / "rally-gitops"
    target.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / name, target / name)
    for name in ("rally_gitops", "hooks"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(tmp_path, "init", "-q", str(target))
    git(target, "add", "-A")
    git(target, "commit", "-qm", "snapshot")
    return target, git(target, "rev-parse", "HEAD").strip()


def test_pre_commit_and_actionlint_pass_on_the_result(
    clone: Path,
    tmp_path: Path,
    capsys,
    pg_server,
) -> None:
    assert run_init(clone, capsys)[0] == 0
    # The generated config names the public repository, out of reach here: point it at a
    # snapshot of this checkout instead; every other line stays as generated.
    config = clone / ".pre-commit-config.yaml"
    generated = config.read_text(encoding="utf-8")
    local, rev = hook_repo(tmp_path)
    rewritten = generated.replace(
        "repo: https://github.com/rally-gitops/rally-gitops", f"repo: {local}"
    ).replace("rev: v0.1.0", f"rev: {rev}")
    changed = [
        a for a, b in zip(generated.splitlines(), rewritten.splitlines(), strict=True) if a != b
    ]
    assert [line.split(":")[0].strip() for line in changed] == ["- repo", "rev"]
    config.write_text(rewritten, encoding="utf-8")
    git(clone, "add", "-A")

    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        # the replay hook's throwaway server, as in CI (migrations-check sets the same variable)
        "RALLY_REPLAY_DATABASE_URL": pg_server.url("postgres"),
    }
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for hook in ("migration lint", "migration replay", "migration history"):
        assert f"rally-gitops {hook}" in result.stdout
    assert result.stdout.count("Passed") == 3, result.stdout

    lint = subprocess.run(
        [str(BIN / "actionlint"), "-no-color"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
