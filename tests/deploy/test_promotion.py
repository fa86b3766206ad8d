from __future__ import annotations

import shutil
from pathlib import Path

from testing.backups import ledger_rows


def only_first(project: Path, keep: int, tmp_path: Path) -> Path:
    """Move all but the first ``keep`` migrations aside; returns where they went."""
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in sorted((project / "migrations").glob("*.sql"))[keep:]:
        shutil.move(path, aside / path.name)
    return aside


def restore_files(project: Path, aside: Path) -> None:
    for path in aside.glob("*.sql"):
        shutil.move(path, project / "migrations" / path.name)


def test_production_refuses_what_staging_has_not_run(cli, project, make_database, tmp_path):
    staging, production = make_database("stg"), make_database("prd")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production, "CI": "true"}
    aside = only_first(project, 3, tmp_path)
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    restore_files(project, aside)
    result = cli("deploy", "--env", "production", "--yes")
    assert result.code == 1
    assert "promotion guard: 3 migration(s) have not passed staging" in result.err
    for name in (
        "20241208_143000_add_user_preferences.sql",
        "20241210_120000_add_match_participants.sql",
        "20241212_080000_index_matches_status.sql",
    ):
        assert f"{name}: not applied on staging" in result.err
    assert "20241201_090000" not in result.err
    assert ledger_rows(production) is None  # refused before the lock: nothing touched
    assert not (project / ".rally" / "backups" / "production").exists()


def test_production_deploys_what_staging_has_run(cli, project, make_database):
    staging, production = make_database("stg"), make_database("prd")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production, "CI": "true"}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    result = cli("deploy", "--env", "production", "--yes")
    assert result.code == 0, result.text
    assert ledger_rows(production) == 6
    assert "Backup production_backup_" in result.out


def test_production_refuses_a_migration_edited_after_staging_ran_it(cli, project, make_database):
    staging, production = make_database("stg"), make_database("prd")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production, "CI": "true"}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    path = project / "migrations" / "20241208_143000_add_user_preferences.sql"
    path.write_text(path.read_text().replace("DEFAULT true", "DEFAULT false"))
    result = cli("deploy", "--env", "production", "--yes")
    assert result.code == 1
    assert (
        "20241208_143000_add_user_preferences.sql: applied on staging with a different checksum"
    ) in result.err
    assert "20241203_101500" not in result.err
    assert ledger_rows(production) is None


def test_the_guard_needs_the_staging_url_unless_turned_off(cli, project, database_url):
    env = {"DATABASE_PUBLIC_URL": database_url, "CI": "true"}
    result = cli("deploy", "--env", "production", "--yes", env=env)
    assert result.code == 2
    assert "DATABASE_STAGING_URL is not set" in result.err and "require_staging" in result.err
    assert ledger_rows(database_url) is None
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text()
        + "\n[tool.rally_gitops.backup]\nrequire_staging = false\n"
    )
    assert cli("deploy", "--env", "production", "--yes").code == 0
    assert ledger_rows(database_url) == 6


def test_staging_deploys_are_not_guarded(cli, database_url):
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0, result.text
