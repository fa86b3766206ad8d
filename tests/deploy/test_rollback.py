from __future__ import annotations

from pathlib import Path

import psycopg

from testing.backups import ledger_rows, schema_dump


def write(project: Path, name: str, text: str) -> None:
    (project / "migrations" / name).write_text(text)


def events(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT event, version FROM rally_gitops.history ORDER BY id"
        ).fetchall()


def test_rollback_n_steps_then_deploy_again_gives_the_same_schema(cli, project, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    deployed = schema_dump(database_url, exclude=("rally_gitops",))
    dry = cli("rollback", "--env", "staging", "--steps", "3", "--dry-run")
    assert dry.code == 0 and "dry run" in dry.out
    assert ledger_rows(database_url) == 6
    result = cli("rollback", "--env", "staging", "--steps", "3")
    assert result.code == 0, result.text
    order = [line.split()[2] for line in result.out.splitlines() if "rolled back 2" in line]
    assert order == [
        "20241212_080000_index_matches_status.sql",  # no-transaction: DROP INDEX CONCURRENTLY
        "20241210_120000_add_match_participants.sql",
        "20241208_143000_add_user_preferences.sql",
    ]
    assert ledger_rows(database_url) == 3
    rolled = schema_dump(database_url, exclude=("rally_gitops",))
    assert "user_preferences" not in rolled and "matches_open_status_idx" not in rolled
    assert [e for e in events(database_url) if e[0] == "rollback"] == [
        ("rollback", "20241212_080000"),
        ("rollback", "20241210_120000"),
        ("rollback", "20241208_143000"),
    ]
    status = cli("status", "--env", "staging")
    assert "3 applied, 3 pending" in status.out
    again = cli("deploy", "--env", "staging")
    assert again.code == 0, again.text
    assert schema_dump(database_url, exclude=("rally_gitops",)) == deployed


def test_rollback_to_a_version(cli, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    result = cli("rollback", "--env", "staging", "--to", "20241203_101500", "--no-backup")
    assert result.code == 0, result.text
    assert ledger_rows(database_url) == 2
    unknown = cli("rollback", "--env", "staging", "--to", "20991231_000000")
    assert unknown.code == 2 and "not an applied migration" in unknown.err


def test_rollback_stops_before_a_migration_without_a_rollback_section(cli, project, database_url):
    write(
        project,
        "20250101_000000_add_scores.sql",
        "-- Migration: 20250101_000000_add_scores\nALTER TABLE teams ADD COLUMN score int;\n",
    )
    write(
        project,
        "20250102_000000_add_logo.sql",
        "ALTER TABLE teams ADD COLUMN logo text;\n\n-- Rollback:\n"
        "-- ALTER TABLE teams DROP COLUMN logo;\n",
    )
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    listing = cli("rollback", "--env", "staging")
    assert listing.code == 0
    assert "STOP: it has no rollback section" in listing.out
    assert "By script: up to 1 step(s)" in listing.out
    result = cli("rollback", "--env", "staging", "--steps", "3", "--no-backup")
    assert result.code == 1
    assert "rolled back 20250102_000000_add_logo.sql" in result.out
    assert "rollback stopped before 20250101_000000_add_scores.sql" in result.err
    assert "no rollback section" in result.err and "rally-gitops restore" in result.err
    assert "(1 of 3 step(s) done)" in result.err
    assert ledger_rows(database_url) == 7
    with psycopg.connect(database_url) as conn:
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'teams'"
            )
        }
    assert "score" in columns and "logo" not in columns
    stuck = cli("rollback", "--env", "staging", "--steps", "1", "--no-backup")
    assert stuck.code == 1 and "(0 of 1 step(s) done)" in stuck.err
    assert ledger_rows(database_url) == 7


def test_a_failing_rollback_changes_nothing(cli, project, database_url):
    write(
        project,
        "20250101_000000_two_tables.sql",
        "CREATE TABLE a1 (id int);\nCREATE TABLE a2 (id int);\n\n-- Rollback:\n"
        "-- DROP TABLE a2;\n-- DROP TABLE does_not_exist;\n-- DROP TABLE a1;\n",
    )
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    result = cli("rollback", "--env", "staging", "--steps", "1", "--no-backup")
    assert result.code == 1
    assert "20250101_000000_two_tables.sql" in result.err and "does_not_exist" in result.err
    assert "nothing of it was undone" in result.err
    assert ledger_rows(database_url) == 7
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('a2')").fetchone()[0] == "a2"
    assert ("rollback_failure", "20250101_000000") in events(database_url)


def test_production_rollback_needs_the_typed_confirmation_and_a_backup(cli, project, database_url):
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text()
        + "\n[tool.rally_gitops.backup]\nrequire_staging = false\n"
    )
    env = {"DATABASE_PUBLIC_URL": database_url}
    assert cli("deploy", "--env", "production", stdin="YES\n", env=env).code == 0
    refused = cli("rollback", "--env", "production", "--steps", "1", stdin="yes please\n")
    assert refused.code == 1 and "did not match" in refused.err
    assert ledger_rows(database_url) == 6
    no_backup = cli(
        "rollback", "--env", "production", "--steps", "1", "--no-backup", stdin="ROLLBACK\n"
    )
    assert no_backup.code == 2 and "--no-backup is refused" in no_backup.err
    done = cli("rollback", "--env", "production", "--steps", "1", stdin="ROLLBACK\n")
    assert done.code == 0, done.text
    assert "Backup production_backup_" in done.out
    assert ledger_rows(database_url) == 5


def test_rollback_stops_before_a_migration_edited_after_it_was_applied(cli, project, database_url):
    """Its rollback section may no longer undo what was applied: only a restore can."""
    path = project / "migrations" / "20250101_000000_add_logo.sql"
    write(
        project,
        path.name,
        "ALTER TABLE teams ADD COLUMN logo text;\n\n-- Rollback:\n"
        "-- ALTER TABLE teams DROP COLUMN logo;\n",
    )
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    # edited after deploy: the rollback now names a column the database never got
    write(
        project,
        path.name,
        "ALTER TABLE teams ADD COLUMN banner text;\n\n-- Rollback:\n"
        "-- ALTER TABLE teams DROP COLUMN banner;\n",
    )
    result = cli("rollback", "--env", "staging", "--steps", "1", "--no-backup")
    assert result.code == 1
    assert (
        "rollback stopped before 20250101_000000_add_logo.sql: its file was edited after it was "
        "applied" in result.err
    )
    assert "(0 of 1 step(s) done)" in result.err
    assert ledger_rows(database_url) == 7
    assert ("rollback", "20250101_000000") not in events(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('teams')").fetchone()[0] == "teams"
        logo = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'logo'"
        ).fetchone()
    assert logo == (1,)
