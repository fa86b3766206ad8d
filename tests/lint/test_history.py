"""Layer 5: the history guard, against real git repositories built in temp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rally_gitops import config as config_mod
from rally_gitops import git
from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.lint import history
from testing.gitrepo import git as git_run

FIRST = "20240101_000000_create_teams.sql"
SECOND = "20240102_000000_create_users.sql"


def sql(name: str, body: str, rollback: str = "DROP TABLE x;") -> str:
    return (
        f"-- Migration: {name[:-4]}\n-- Description: test\n\nBEGIN;\n{body}\nCOMMIT;\n\n"
        f"-- Rollback script (uncomment if needed):\n-- BEGIN;\n-- {rollback}\n-- COMMIT;\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo whose `main` holds two committed migrations; the check's base is `main`."""
    root = tmp_path / "repo"
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.rally_gitops.lint]\nbase = "main"\n', encoding="utf-8"
    )
    git_run(root, "init", "-q", "-b", "main")
    (root / "migrations" / FIRST).write_text(sql(FIRST, "CREATE TABLE teams (id int);"))
    git_run(root, "add", ".")
    git_run(root, "commit", "-q", "-m", "Add teams")
    (root / "migrations" / SECOND).write_text(sql(SECOND, "CREATE TABLE users (id int);"))
    git_run(root, "add", ".")
    git_run(root, "commit", "-q", "-m", "Add users")
    git_run(root, "checkout", "-q", "-b", "feature")
    return root


def check(repo: Path, **kwargs) -> list:
    return history.check(config_mod.load(repo), **kwargs)


def short(repo: Path, ref: str) -> str:
    return git_run(repo, "rev-parse", "--short", ref).strip()


def test_untouched_history_is_clean(repo: Path) -> None:
    assert check(repo) == []


def test_edited_committed_migration_names_the_introducing_commit(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    path.write_text(path.read_text().replace("(id int)", "(id bigint)"))
    findings = check(repo)
    assert [f.code for f in findings] == ["edited-committed-migration"]
    finding = findings[0]
    assert finding.severity == "error"
    assert finding.line == 5  # the CREATE TABLE line
    assert short(repo, "main~1") in finding.message and "Add teams" in finding.message
    assert "git restore" in finding.help


def test_edit_committed_on_the_branch_is_caught_too(repo: Path) -> None:
    path = repo / "migrations" / SECOND
    path.write_text(path.read_text().replace("(id int)", "(id int, email text)"))
    git_run(repo, "commit", "-qam", "Sneak a column in")
    findings = check(repo)
    assert [(f.code, Path(f.path).name) for f in findings] == [
        ("edited-committed-migration", SECOND)
    ]
    assert "Add users" in findings[0].message


def test_staged_edit_reverted_in_worktree_is_still_an_edit(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    original = path.read_text()
    path.write_text(original.replace("teams", "squads"))
    git_run(repo, "add", str(path))
    path.write_text(original)
    assert [f.code for f in check(repo)] == ["edited-committed-migration"]


def test_line_ending_and_bom_change_is_not_an_edit(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    git_run(repo, "add", str(path))
    assert check(repo) == []


def test_rollback_only_edit_is_a_warning(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    path.write_text(path.read_text().replace("-- DROP TABLE x;", "-- DROP TABLE teams;"))
    findings = check(repo)
    assert [(f.code, f.severity) for f in findings] == [("edited-committed-rollback", "warning")]
    assert findings[0].line == path.read_text().split("\n").index("-- DROP TABLE teams;") + 1


def test_deleted_committed_migration(repo: Path) -> None:
    (repo / "migrations" / SECOND).unlink()
    findings = check(repo)
    assert [f.code for f in findings] == ["deleted-committed-migration"]
    assert "Add users" in findings[0].message


def test_deletion_committed_on_the_branch(repo: Path) -> None:
    git_run(repo, "rm", "-q", f"migrations/{SECOND}")
    git_run(repo, "commit", "-qm", "Drop users migration")
    assert [f.code for f in check(repo)] == ["deleted-committed-migration"]


def test_renamed_committed_migration(repo: Path) -> None:
    git_run(repo, "mv", f"migrations/{SECOND}", "migrations/20240102_000000_create_people.sql")
    findings = check(repo)
    assert [f.code for f in findings] == ["renamed-committed-migration"]
    assert SECOND in findings[0].message
    assert findings[0].path.endswith("20240102_000000_create_people.sql")


def test_new_file_older_than_newest_committed(repo: Path) -> None:
    name = "20240101_120000_add_scores.sql"
    (repo / "migrations" / name).write_text(sql(name, "CREATE TABLE scores (id int);"))
    findings = check(repo)
    assert [f.code for f in findings] == ["version-older-than-committed"]
    assert SECOND[:-4] in findings[0].message


def test_new_newer_file_is_fine_committed_or_not(repo: Path) -> None:
    name = "20240103_000000_add_scores.sql"
    (repo / "migrations" / name).write_text(sql(name, "CREATE TABLE scores (id int);"))
    assert check(repo) == []
    git_run(repo, "add", ".")
    git_run(repo, "commit", "-qm", "Add scores")
    assert check(repo) == []


def test_file_added_on_base_after_the_fork_counts_as_newest(repo: Path) -> None:
    git_run(repo, "checkout", "-q", "main")
    later = "20240110_000000_add_matches.sql"
    (repo / "migrations" / later).write_text(sql(later, "CREATE TABLE matches (id int);"))
    git_run(repo, "add", ".")
    git_run(repo, "commit", "-qm", "Add matches")
    git_run(repo, "checkout", "-q", "feature")
    mine = "20240105_000000_add_scores.sql"
    (repo / "migrations" / mine).write_text(sql(mine, "CREATE TABLE scores (id int);"))
    findings = check(repo)
    # the base file missing on the branch is not a deletion; the older new file is flagged
    assert [f.code for f in findings] == ["version-older-than-committed"]
    assert "Add matches" in findings[0].message


def test_files_argument_limits_edit_findings(repo: Path) -> None:
    path = repo / "migrations" / FIRST
    path.write_text(path.read_text().replace("teams", "squads"))
    other = repo / "migrations" / SECOND
    assert check(repo, files=[other]) == []
    assert len(check(repo, files=[path])) == 1


def test_base_given_as_a_local_ref(repo: Path) -> None:
    git_run(repo, "branch", "release", "main~1")
    path = repo / "migrations" / SECOND
    path.write_text(path.read_text().replace("users", "people"))
    # SECOND is not on `release`, but it is in HEAD's history: still committed
    findings = check(repo, base="release")
    assert [f.code for f in findings] == ["edited-committed-migration"]


def test_missing_base_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        check(repo, base="origin/main")
    assert "git fetch origin main" in str(info.value)
    assert "--base" in str(info.value)


def test_missing_default_base_falls_back_to_head_history(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a fresh repository without a remote: no origin/main, and no base configured
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    path = repo / "migrations" / FIRST
    path.write_text(path.read_text().replace("teams", "squads"))
    findings = check(repo)
    assert [f.code for f in findings] == ["edited-committed-migration"]
    assert "'origin/main' not found" in capsys.readouterr().err


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    with pytest.raises(RallyError, match="not inside a git repository"):
        history.check(config_mod.load(tmp_path))


def test_git_helpers(repo: Path) -> None:
    cfg = config_mod.load(repo)
    assert git.newest_committed_version(cfg) == SECOND[:15]
    committed = git.committed_migrations(cfg)
    assert committed[FIRST].subject == "Add teams"
    assert git.changed_migrations(cfg) == []
    new = repo / "migrations" / "20240103_000000_x.sql"
    new.write_text(sql(new.name, "SELECT 1;"))
    (repo / "migrations" / FIRST).write_text("-- changed\n")
    assert [p.name for p in git.changed_migrations(cfg)] == [FIRST, new.name]


def test_history_hook(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from rally_gitops_hooks import migration_history

    monkeypatch.chdir(repo)
    assert migration_history.main([]) == 0
    (repo / "migrations" / SECOND).unlink()
    assert migration_history.main([f"migrations/{FIRST}"]) == 1
    out = capsys.readouterr().out
    assert f"migrations/{SECOND}:1:1: error deleted-committed-migration" in out


def test_first_commit_of_a_new_repository_is_not_blocked(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    git_run(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "migrations" / FIRST).write_text(sql(FIRST, "CREATE TABLE teams (id int);"))
    git_run(tmp_path, "add", ".")
    cfg = config_mod.load(tmp_path)
    assert history.check(cfg) == []
    assert [p.name for p in git.changed_migrations(cfg)] == [FIRST]


def test_lint_and_hook_fall_back_to_head_alike_when_origin_main_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 14, point 17: no origin/main (a new repository), a committed migration edited
    from rally_gitops_hooks import migration_history

    from rally_gitops.main import main

    root = tmp_path / "repo"
    (root / "migrations").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    git_run(root, "init", "-q", "-b", "main")
    path = root / "migrations" / FIRST
    path.write_text(sql(FIRST, "CREATE TABLE teams (id int);"))
    git_run(root, "add", ".")
    git_run(root, "commit", "-q", "-m", "Add teams")
    path.write_text(sql(FIRST, "CREATE TABLE teams (id bigint);"))
    monkeypatch.chdir(root)
    note = "note: base ref 'origin/main' not found; checking against HEAD's history only\n"
    for argv in (["lint", f"migrations/{FIRST}"], ["lint"]):
        capsys.readouterr()
        assert main(["-C", str(root), *argv]) == 1, argv
        out, err = capsys.readouterr()
        assert f"migrations/{FIRST}:5:1: error edited-committed-migration" in out, argv
        assert err.count("note:") == 1 and note in err, (argv, err)
    capsys.readouterr()
    assert migration_history.main([f"migrations/{FIRST}"]) == 1
    out, err = capsys.readouterr()
    assert f"migrations/{FIRST}:5:1: error edited-committed-migration" in out
    assert err.count("note:") == 1 and note in err
