"""The ledger: its tables, atomicity with the migration, history, export and baseline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from rally_gitops import __version__
from rally_gitops.deploy import ledger as ledger_mod
from rally_gitops.deploy.ledger import Ledger
from testing.migration_files import history, ledger_rows, tables, write_migration


@pytest.fixture
def mig(project: Path) -> Path:
    shutil.rmtree(project / "migrations")
    (project / "migrations").mkdir()
    return project / "migrations"


def staging_env(url: str) -> dict[str, str]:
    return {"DATABASE_STAGING_URL": url}


def test_ledger_is_created_on_first_use_with_the_applied_columns(cli, database_url) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        ledger = Ledger(conn)
        assert not ledger.exists()
        assert ledger.applied() == {} and ledger.blocking_event() is None
        assert ledger.ensure() is True
        assert ledger.ensure() is False
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'rally_gitops' AND table_name = 'applied'"
                " ORDER BY ordinal_position"
            )
        ]
    assert columns == [
        "version",
        "name",
        "checksum",
        "applied_at",
        "applied_by",
        "execution_ms",
        "git_sha",
        "tool_version",
    ]


def test_history_is_append_only(cli, database_url) -> None:
    result = cli("deploy", "--env", "staging", env=staging_env(database_url))
    assert result.code == 0, result.text
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in (
            "UPDATE rally_gitops.history SET actor = 'someone else'",
            "DELETE FROM rally_gitops.history",
            "TRUNCATE rally_gitops.history",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        count = conn.execute(
            "SELECT count(*) FROM rally_gitops.history WHERE event = 'apply'"
        ).fetchone()
    assert count == (6,)


def test_ledger_row_and_migration_commit_together(cli, mig: Path, database_url) -> None:
    """When the ledger insert fails, the migration's schema changes are rolled back with it."""
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int);")
    write_migration(mig, "20250102_000000", "b", "CREATE TABLE b (id int);")
    assert cli("deploy", "--env", "staging", env=staging_env(database_url)).code == 0
    write_migration(mig, "20250103_000000", "c", "CREATE TABLE c (id int);")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'ledger write refused'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON rally_gitops.applied"
            " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    result = cli("deploy", "--env", "staging")
    assert result.code == 1
    assert "ledger write refused" in result.err
    assert "c" not in tables(database_url)
    assert [v for v, _ in ledger_rows(database_url)] == ["20250101_000000", "20250102_000000"]


def test_applied_rows_and_history_record_who_what_and_where(cli, database_url, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_REPOSITORY", "rally/app")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    ledger_mod.context.cache_clear()
    try:
        assert cli("deploy", "--env", "staging", env=staging_env(database_url)).code == 0
    finally:
        ledger_mod.context.cache_clear()
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT applied_by, git_sha, tool_version, execution_ms >= 0, applied_at IS NOT NULL"
            " FROM rally_gitops.applied ORDER BY version LIMIT 1"
        ).fetchone()
        event = conn.execute(
            "SELECT actor, git_sha, ci_run_url FROM rally_gitops.history ORDER BY id LIMIT 1"
        ).fetchone()
    assert row == ("octocat", "a" * 40, __version__, True, True)
    assert event == ("octocat", "a" * 40, "https://github.com/rally/app/actions/runs/42")


def test_the_recorded_commit_is_the_projects_not_the_working_directorys(
    cli, project: Path, database_url
) -> None:
    # the cli fixture runs with -C PROJECT from this repository's checkout: two different HEADs
    git = ["git", "-C", str(project), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "project"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    ledger_mod.context.cache_clear()
    try:
        assert cli("deploy", "--env", "staging", env=staging_env(database_url)).code == 0
    finally:
        ledger_mod.context.cache_clear()
    with psycopg.connect(database_url) as conn:
        shas = conn.execute("SELECT DISTINCT git_sha FROM rally_gitops.applied").fetchall()
    assert shas == [(head.strip(),)]


def test_ledger_export_json_shape(cli, project: Path, database_url) -> None:
    env = staging_env(database_url)
    empty = cli("ledger", "export", "--env", "staging", env=env)
    assert empty.code == 0 and json.loads(empty.out) == []
    assert cli("deploy", "--env", "staging", env=env).code == 0
    exported = cli("ledger", "export", "--env", "staging")
    assert exported.code == 0
    rows = json.loads(exported.out)
    assert isinstance(rows, list) and len(rows) == 6
    assert [r["version"] for r in rows] == sorted(r["version"] for r in rows)
    first = rows[0]
    assert set(first) == {
        "version",
        "name",
        "filename",
        "checksum",
        "applied_at",
        "applied_by",
        "execution_ms",
        "git_sha",
        "tool_version",
    }
    assert first["filename"] == "20241201_090000_create_teams_and_users.sql"
    assert first["name"] == "20241201_090000_create_teams_and_users"
    assert len(first["checksum"]) == 64 and isinstance(first["execution_ms"], int)
    assert "T" in first["applied_at"]
    target = project / "applied_migrations.json"
    to_file = cli("ledger", "export", "--env", "staging", "-o", str(target))
    assert to_file.code == 0 and to_file.out == ""
    assert "wrote 6 applied migration(s)" in to_file.err
    assert json.loads(target.read_text()) == rows
    bad = cli("ledger", "export", "--env", "staging", "-o", str(project / "no" / "such" / "x.json"))
    assert bad.code == 2 and "cannot write" in bad.err


def test_ledger_history_lists_events(cli, database_url) -> None:
    assert cli("deploy", "--env", "staging", env=staging_env(database_url)).code == 0
    result = cli("ledger", "history", "--env", "staging", "-n", "3")
    assert result.code == 0
    lines = result.out.strip().splitlines()
    assert len(lines) == 3
    assert "apply" in lines[0] and "20241212_080000_index_matches_status" in lines[0]


def test_baseline_marks_an_existing_database(cli, database_url) -> None:
    env = staging_env(database_url)
    bad = cli("baseline", "--env", "staging", "--version", "2024-12-05", env=env)
    assert bad.code == 2 and "expected YYYYMMDD_HHMMSS" in bad.err
    unknown = cli("baseline", "--env", "staging", "--version", "20241204_000000")
    assert unknown.code == 2 and "no migration file has version 20241204_000000" in unknown.err
    result = cli("baseline", "--env", "staging", "--version", "20241205_143000")
    assert result.code == 0, result.text
    assert "baselined at 20241205_143000 (3 migration(s)" in result.out
    assert [v for v, _ in ledger_rows(database_url)] == [
        "20241201_090000",
        "20241203_101500",
        "20241205_143000",
    ]
    assert tables(database_url) == set()  # no SQL was run
    assert [e for e, *_ in history(database_url)] == ["baseline"] * 3
    again = cli("baseline", "--env", "staging", "--version", "20241205_143000")
    assert again.code == 1 and "already has applied migrations" in again.err
    status = cli("status", "--env", "staging")
    assert "3 applied, 3 pending" in status.out


def test_baseline_then_deploy_runs_only_the_later_ones(cli, database_url) -> None:
    env = staging_env(database_url)
    with psycopg.connect(
        database_url, autocommit=True
    ) as conn:  # the schema made by hand, long ago
        conn.execute("CREATE TABLE teams (id bigint PRIMARY KEY)")
        conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, updated_at timestamptz)")
        conn.execute(
            "CREATE TABLE matches (id bigint PRIMARY KEY, status text, scheduled_at timestamptz)"
        )
    assert cli("baseline", "--env", "staging", "--version", "20241203_101500", env=env).code == 0
    result = cli("deploy", "--env", "staging")
    assert result.code == 0, result.text
    assert result.out.count("  applied ") == 4
    assert "applied 20241201" not in result.out
