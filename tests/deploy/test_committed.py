"""``require_committed``: staging and production take only migrations committed at HEAD."""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import git
from testing.migration_files import ledger_rows, write_migration

A, B, C = "20250101_000000", "20250102_000000", "20250103_000000"


def default_settings(root: Path) -> None:
    """The project with require_committed at its default (the tests' projects turn it off)."""
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("require_committed = []\n", ""))


def committed_project(mig: Path) -> Path:
    """The project as a git repository with A and B committed."""
    root = mig.parent
    default_settings(root)
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    write_migration(mig, B, "second", "CREATE TABLE second_t (id int);")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "migrations")
    return root


def test_staging_refuses_untracked_and_edited_files_naming_them(
    cli, mig: Path, make_database
) -> None:
    committed_project(mig)
    second = mig / f"{B}_second.sql"
    second.write_text(second.read_text().replace("second_t", "second_table"))
    write_migration(mig, C, "third", "CREATE TABLE third_t (id int);")  # untracked
    staging, local = make_database("stg"), make_database("loc")
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": staging})
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: staging only takes committed migrations (require_committed): 2 pending file(s) "
        "are not:",
        f"note: {B}_second.sql: differs from the committed version at HEAD",
        f"note: {C}_third.sql: not committed",
        "note: commit them (after lint and review), or deploy them to local first; nothing was "
        "applied to staging",
    ]
    assert ledger_rows(staging) == []
    assert cli("deploy", "--env", "local", env={"DATABASE_URL": local}).code == 0  # local is free
    assert [row[0] for row in ledger_rows(local)] == [A, B, C]


def test_a_staged_but_uncommitted_file_is_refused_until_committed(
    cli, mig: Path, database_url: str
) -> None:
    root = committed_project(mig)
    write_migration(mig, C, "third", "CREATE TABLE third_t (id int);")
    git(root, "add", ".")
    env = {"DATABASE_STAGING_URL": database_url}
    refused = cli("deploy", "--env", "staging", env=env)
    assert refused.code == 1
    assert f"note: {C}_third.sql: not committed" in refused.err.splitlines()
    git(root, "commit", "-q", "-m", "third")
    deployed = cli("deploy", "--env", "staging", env=env)
    assert deployed.code == 0, deployed.text
    assert [row[0] for row in ledger_rows(database_url)] == [A, B, C]


def test_require_committed_is_configurable_per_environment(
    cli, mig: Path, database_url: str
) -> None:
    root = committed_project(mig)
    write_migration(mig, C, "third", "CREATE TABLE third_t (id int);")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'require_committed = ["production"]\n')
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0, result.text
    pyproject.write_text(pyproject.read_text().replace('["production"]', '["qa"]'))
    bad = cli("deploy", "--env", "staging")
    assert (bad.code, bad.err) == (
        2,
        "error: [tool.rally_gitops] require_committed: unknown environment(s) qa (configured: "
        "local, staging, production)\n",
    )


def test_outside_git_the_check_warns_and_lets_the_deploy_go(staging, mig: Path) -> None:
    default_settings(mig.parent)
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    result = staging("deploy")
    assert result.code == 0, result.text
    assert (
        f"warning: {mig.parent} is not in a git repository; require_committed not checked"
        in result.out.splitlines()
    )
