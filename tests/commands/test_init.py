"""``rally-gitops init`` on real git repositories, then pre-commit and actionlint on the result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rally_gitops.commands.init import render_workflow
from testing.gitrepo import IDENTITY, git
from testing.lint_support import good

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


ACTION = "acme/rally-gitops@v1"


def test_init_scaffolds_then_is_idempotent_and_keeps_changes(clone: Path, capsys) -> None:
    code, text = run_init(clone, capsys, "--action-ref", ACTION)
    assert code == 0, text
    made = files(clone)
    migrations = [name for name in made if name.startswith("migrations/")]
    assert len(migrations) == 1 and migrations[0].endswith("_initial_schema.sql")
    assert sorted(set(made) - {"README.md", *migrations}) == EXPECTED
    assert text.count("created ") == 7
    assert "installed    git hook  (pre-commit installed at .git/hooks/pre-commit)" in text
    assert (clone / ".git/hooks/pre-commit").is_file()
    assert made[".gitignore"].decode().endswith(".rally/\n")
    workflow = made[".github/workflows/deploy-staging.yml"].decode()
    assert "uses: acme/rally-gitops@v1" in workflow
    assert workflow == render_workflow("deploy-staging.yml", ACTION)

    code, again = run_init(clone, capsys, "--action-ref", ACTION)
    assert code == 0
    assert files(clone) == made
    assert "created" not in again and again.count("unchanged") == 7

    staging = clone / ".github/workflows/deploy-staging.yml"
    staging.write_text(workflow.replace("timeout-minutes: 60", "timeout-minutes: 90"), "utf-8")
    code, kept = run_init(clone, capsys, "--action-ref", ACTION)
    assert code == 0
    assert "kept (changed) .github/workflows/deploy-staging.yml" in kept
    assert "timeout-minutes: 90" in staging.read_text(encoding="utf-8")

    code, forced = run_init(clone, capsys, "--action-ref", ACTION, "--force")
    assert code == 0
    assert "overwritten  .github/workflows/deploy-staging.yml" in forced
    assert files(clone) == made


def test_init_writes_no_workflow_without_an_action_ref(tmp_path: Path, capsys) -> None:
    code, text = run_init(tmp_path, capsys)
    assert code == 0, text
    assert not (tmp_path / ".github").exists()
    assert (
        "skipped      .github/workflows/  (pass --action-ref OWNER/REPO@REF: the rally-gitops "
        "action your CI can reach, e.g. a tag of your fork)\n" in text
    )
    assert "skipped      git hook  (not a git repository: run `pre-commit install` in one)" in text
    config = (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert "github.com" not in config and "rev:" not in config


def test_init_appends_to_an_existing_pyproject_and_gitignore(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    (tmp_path / ".gitignore").write_text("node_modules", encoding="utf-8")
    code, text = run_init(
        tmp_path,
        capsys,
        "--action-ref",
        "acme/rally-gitops@v2.1.0",
        "--hooks-repo",
        "https://github.com/acme/rally-gitops@v2.1.0",
    )
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


@pytest.mark.parametrize("remote", [None, "git@example.com:acme/rally gitops.git@release/1.0"])
def test_init_follows_a_configured_migrations_dir(tmp_path: Path, capsys, remote) -> None:
    import yaml

    pyproject = '[tool.rally_gitops]\nmigrations_dir = "db/migrations"\n'
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    code, text = run_init(
        tmp_path, capsys, "--action-ref", ACTION, *(["--hooks-repo", remote] if remote else [])
    )
    assert code == 0, text
    assert "created      db/migrations/" in text
    assert len(list((tmp_path / "db/migrations").glob("*_initial_schema.sql"))) == 1
    check = yaml.safe_load((tmp_path / ".github/workflows/migrations-check.yml").read_text())
    assert check[True]["pull_request"]["paths"] == ["db/migrations/**"]
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == ("git@example.com:acme/rally gitops.git" if remote else "local")
    assert repo.get("rev") == ("release/1.0" if remote else None)
    hooks = repo["hooks"]
    assert [h["files"] for h in hooks] == [r"^db/migrations/.*\.sql$"] * 3
    assert [h["verbose"] for h in hooks] == [True] * 3
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == pyproject


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--action-ref", "not a ref", "error: --action-ref 'not a ref': expected OWNER/REPO@REF"),
        ("--hooks-repo", "https://example.com/x", "error: --hooks-repo 'https://example.com/x'"),
        ("--hooks-repo", "https://example.com/x@", "error: --hooks-repo 'https://example.com/x@'"),
    ],
)
def test_init_refuses_bad_references_before_writing(
    tmp_path: Path, capsys, option: str, value: str, message: str
) -> None:
    code, text = run_init(tmp_path, capsys, option, value)
    assert code == 2
    assert text.startswith(message) and text.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_local_hooks_match_the_exported_hooks() -> None:
    """What init writes as local hooks is what .pre-commit-hooks.yaml exports, run from PATH."""
    import yaml

    from rally_gitops.commands.init import render_pre_commit

    exported = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (local,) = yaml.safe_load(render_pre_commit())["repos"]
    assert local["repo"] == "local"
    keep = ("id", "name", "entry", "files", "require_serial", "always_run", "verbose")
    assert [{k: h[k] for k in keep if k in h} for h in local["hooks"]] == [
        {k: h[k] for k in keep if k in h} for h in exported
    ]
    assert {h["language"] for h in local["hooks"]} == {"system"}
    assert all(h["verbose"] is True for h in exported)


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """This checkout's hooks as a git repository pre-commit can install (it needs a commit)."""
    target = tmp_path / "rally-gitops"
    target.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / name, target / name)
    for name in ("rally_gitops", "hooks"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(tmp_path, "init", "-q", str(target))
    git(target, "add", "-A")
    git(target, "commit", "-qm", "snapshot")
    return target, git(target, "rev-parse", "HEAD").strip()


def offline_env(tmp_path: Path, pg_server) -> dict[str, str]:
    """The environment of a commit: this venv on PATH, a fresh pre-commit cache, git allowed
    only local protocols (no fetch from the network), replay on the test server."""
    return {
        **os.environ,
        **IDENTITY,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_ALLOW_PROTOCOL": "file",
        # the replay hook's throwaway server, as in CI (migrations-check sets the same variable)
        "RALLY_REPLAY_DATABASE_URL": pg_server.url("postgres"),
    }


def commit(clone: Path, env: dict[str, str], message: str) -> tuple[int, str]:
    """``git commit`` (its hooks run): exit code and output (git sends a hook's to stderr)."""
    git(clone, "add", "-A")
    done = subprocess.run(
        ["git", "commit", "-m", message],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_first_commit_runs_the_local_hooks_offline(
    clone: Path, tmp_path: Path, capsys, pg_server
) -> None:
    assert run_init(clone, capsys)[0] == 0
    env = offline_env(tmp_path, pg_server)
    code, first = commit(clone, env, "adopt rally-gitops")
    assert code == 0, first
    for hook in ("lint", "replay", "history"):
        assert re.search(rf"^rally-gitops migration {hook}\.+Passed$", first, re.M), first
    assert first.count("Passed") == 3

    # a warning of a passing hook is shown (verbose): here, a missing rollback section
    name = "20300101_000000_add_things"
    text = good(name).split("-- Rollback script")[0]
    (clone / f"migrations/{name}.sql").write_text(text, encoding="utf-8")
    code, warned = commit(clone, env, "a migration without rollback")
    assert code == 0, warned
    assert re.search(rf"^migrations/{name}\.sql:\d+:\d+: warning ", warned, re.M), warned

    bad = "20300102_000000_broken"
    (clone / f"migrations/{bad}.sql").write_text(good(bad, "DROP TABLEE things;"), "utf-8")
    code, failed = commit(clone, env, "broken")
    assert code == 1
    assert (
        f'migrations/{bad}.sql:4:6: error syntax-error syntax error at or near "TABLEE"' in failed
    )
    assert git(clone, "log", "--format=%s").splitlines() == [
        "a migration without rollback",
        "adopt rally-gitops",
        "first",
    ]


def test_pre_commit_and_actionlint_pass_on_a_hooks_repo(
    clone: Path,
    tmp_path: Path,
    capsys,
    pg_server,
) -> None:
    local, rev = hook_repo(tmp_path)
    code, text = run_init(clone, capsys, "--hooks-repo", f"{local}@{rev}", "--action-ref", ACTION)
    assert code == 0, text
    config = (clone / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert f"  - repo: {local}\n    rev: {rev}\n" in config
    git(clone, "add", "-A")

    env = offline_env(tmp_path, pg_server)
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


THEIRS = """\
# our team's hooks
default_stages: [pre-commit]
repos:
    # no tabs in SQL
    -   repo: local
        hooks:
        -   id: no-tabs   # keep this comment
            name: no tabs in sql
            entry: "\\t"
            language: pygrep
            types: [sql]
# the end of the list
fail_fast: false
"""


def test_init_merges_into_an_existing_pre_commit_config(
    clone: Path, tmp_path: Path, capsys, pg_server
) -> None:
    import yaml

    from rally_gitops.commands.init import render_pre_commit

    (clone / ".pre-commit-config.yaml").write_text(THEIRS, encoding="utf-8")
    code, text = run_init(clone, capsys)
    assert code == 0, text
    assert (
        "merged       .pre-commit-config.yaml  (the rally-gitops hooks added, every other line "
        "kept)" in text
    )
    merged = (clone / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    ours = render_pre_commit()
    cut = THEIRS.index("# the end of the list")
    assert merged.startswith(THEIRS[:cut]) and merged.endswith(THEIRS[cut:])
    added = merged[len(THEIRS[:cut]) : len(merged) - len(THEIRS) + cut]
    assert added.splitlines()[0] == (
        "    # rally-gitops: checks of the migrations (added by `rally-gitops init`)"
    )
    data = yaml.safe_load(merged)
    assert data["repos"] == yaml.safe_load(THEIRS)["repos"] + yaml.safe_load(ours)["repos"]
    assert data["fail_fast"] is False

    again = run_init(clone, capsys)
    assert again[0] == 0 and "merged" not in again[1]
    assert (clone / ".pre-commit-config.yaml").read_text(encoding="utf-8") == merged
    forced = run_init(clone, capsys, "--force")  # --force must not drop the team's hooks
    assert forced[0] == 0
    assert (
        "kept (other hooks) .pre-commit-config.yaml  (edit the rally-migration hooks in it by "
        "hand)" in forced[1]
    )
    assert (clone / ".pre-commit-config.yaml").read_text(encoding="utf-8") == merged

    # both their hook and ours run at the commit
    (clone / "migrations/20300101_000000_tabbed.sql").write_text(
        good("20300101_000000_tabbed", "CREATE TABLE things (\tid bigint PRIMARY KEY);"), "utf-8"
    )
    code, result = commit(clone, offline_env(tmp_path, pg_server), "tabs")
    assert code == 1, result
    assert re.search(r"^no tabs in sql\.+Failed$", result, re.M), result
    assert re.search(r"^rally-gitops migration lint\.+Passed$", result, re.M), result


def test_init_prints_the_snippet_when_it_cannot_merge(clone: Path, capsys) -> None:
    from rally_gitops.commands.init import render_pre_commit
    from rally_gitops.templates.precommit import entry

    flow = "repos: [{repo: meta, hooks: [{id: check-useless-excludes}]}]\n"
    (clone / ".pre-commit-config.yaml").write_text(flow, encoding="utf-8")
    code, text = run_init(clone, capsys)
    assert code == 1
    assert (clone / ".pre-commit-config.yaml").read_text(encoding="utf-8") == flow
    head = "not merged   .pre-commit-config.yaml  (not a block-style `repos:` list); add under "
    snippet = text.split(head + "`repos:`:\n", 1)[1]
    assert snippet.startswith(entry(render_pre_commit()))
    assert text.endswith(
        "error: .pre-commit-config.yaml was kept as it is and has no rally-gitops hook: add the "
        "lines above to it, then run `rally-gitops init` again\n"
    )
    assert not (clone / ".git/hooks/pre-commit").exists()
