from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from rally_gitops.backup import store as backup_store
from testing.backups import row_counts, schema_dump
from testing.pg import TEST_PASSWORD


@pytest.fixture
def pw_url(pg_server, make_database) -> str:
    return pg_server.password_url(urlsplit(make_database("rs")).path.lstrip("/"))


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO teams (name, slug) SELECT 't' || g, 's' || g FROM generate_series(1, 50) g"
        )
        conn.execute(
            "INSERT INTO users (email, display_name, team_id)"
            " SELECT 'u' || g || '@x.org', 'U' || g, 1 + g % 50"
            " FROM generate_series(1, 200) g"
        )


def damage(url: str) -> None:
    """Change data and schema in ways a restore must undo."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id % 3 = 0")
        conn.execute("INSERT INTO teams (name, slug) VALUES ('new', 'new')")
        conn.execute("ALTER TABLE users DROP COLUMN last_seen_at")
        conn.execute("CREATE TABLE stray (id int PRIMARY KEY)")
        conn.execute("CREATE SCHEMA extra")
        conn.execute("CREATE TABLE extra.t (x int)")
        conn.execute("DROP TABLE user_preferences")


def latest(project: Path, env: str = "staging") -> backup_store.BackupSet:
    return backup_store.list_sets(project / ".rally" / "backups" / env, env)[-1]


def test_restore_brings_back_schema_and_rows_exactly(cli, project, pw_url):
    env = {"DATABASE_STAGING_URL": pw_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    seed(pw_url)
    original_schema = schema_dump(pw_url)
    original_rows = row_counts(pw_url, exclude=("rally_gitops",))
    taken = cli("backup", "--env", "staging")
    assert taken.code == 0, taken.text
    chosen = latest(project)
    damage(pw_url)
    assert schema_dump(pw_url) != original_schema
    wrong = cli("restore", "--env", "staging", chosen.stem, stdin="YES\n")
    assert wrong.code == 1 and "did not match" in wrong.err
    assert "stray" in schema_dump(pw_url)  # nothing happened
    database = urlsplit(pw_url).path.lstrip("/")
    result = cli("restore", "--env", "staging", chosen.stem, stdin=f"{database}\n")
    assert result.code == 0, result.text
    assert f"Type {database} to continue" in result.err
    assert schema_dump(pw_url) == original_schema
    assert row_counts(pw_url, exclude=("rally_gitops",)) == original_rows
    with psycopg.connect(pw_url) as conn:
        event = conn.execute(
            "SELECT event, detail FROM rally_gitops.history ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert event[0] == "restore" and chosen.stem in event[1]
    # the state it replaced was backed up first: restoring that one undoes the restore
    undo = latest(project)
    assert undo.stem != chosen.stem and undo.manifest["reason"].startswith("before restore")
    assert f"To undo: rally-gitops restore --env staging {undo.stem}" in result.out
    back = cli("restore", "--env", "staging", undo.stem, "--yes", stdin="")
    assert back.code == 0, back.text
    assert "stray" in schema_dump(pw_url)
    assert TEST_PASSWORD not in result.text + back.text + wrong.text


def test_restore_into_a_scratch_database_leaves_the_source_alone(
    cli,
    project,
    database_url,
    make_database,
):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    seed(database_url)
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    damage(database_url)
    scratch = make_database("scratch")
    result = cli("restore", "--env", "staging", "latest", "--into", scratch, "--yes", stdin="")
    assert result.code == 0, result.text
    assert row_counts(scratch)["public.users"] == 200
    assert row_counts(database_url)["public.users"] < 200  # the source was not touched
    assert "stray" in schema_dump(database_url)
    assert len(backup_store.list_sets(project / ".rally/backups/staging", "staging")) == 2


def test_a_damaged_backup_is_refused_before_anything_changes(cli, project, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    assert cli("backup", "--env", "staging").code == 0
    chosen = latest(project)
    dump = chosen.path("full")
    assert dump is not None
    data = bytearray(dump.read_bytes())
    data[-10] ^= 0xFF
    dump.write_bytes(bytes(data))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE after_backup (id int)")
    result = cli("restore", "--env", "staging", str(dump), "--yes", stdin="")
    assert result.code == 1
    assert "does not match the sha256 in its manifest" in result.err
    assert "after_backup" in schema_dump(database_url)


def test_a_failing_restore_rolls_back_completely(cli, project, database_url, tmp_path):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    assert cli("backup", "--env", "staging", "--kind", "schema").code == 0
    chosen = latest(project)
    sql_path = chosen.path("schema")
    assert sql_path is not None
    # a snapshot that fails halfway (its manifest updated, so only the replay can catch it)
    broken = sql_path.read_text().replace(
        "CREATE TABLE public.users",
        "CREATE TABLE public.users (broken int);\nCREATE TABLE nonsense_syntax !!",
        1,
    )
    sql_path.write_text(broken)
    entry = chosen.manifest["files"][0]
    entry["sha256"] = backup_store.sha256_of(sql_path)
    entry["size"] = sql_path.stat().st_size
    backup_store.write_manifest(chosen.directory, chosen.stem, chosen.manifest)
    before = schema_dump(database_url)
    result = cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="")
    assert result.code == 1
    assert "failed and was rolled back" in result.err
    assert schema_dump(database_url) == before


def test_an_unreadable_dump_is_abandoned_before_psql_can_commit(cli, project, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO teams (name, slug) SELECT md5(g::text), md5((-g)::text)"
            " FROM generate_series(1, 20000) g"
        )
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    chosen = latest(project)
    dump = chosen.path("full")
    assert dump is not None
    # cut inside the table data: the TOC reads, the replay starts, then pg_restore fails
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size * 3 // 4])
    entry = chosen.manifest["files"][0]
    entry["sha256"], entry["size"] = backup_store.sha256_of(dump), dump.stat().st_size
    backup_store.write_manifest(chosen.directory, chosen.stem, chosen.manifest)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE after_backup (id int)")
    before, rows = schema_dump(database_url), row_counts(database_url)
    result = cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="")
    assert result.code == 1
    assert f"pg_restore could not read {dump.name}" in result.err
    assert "the database is unchanged" in result.err
    assert schema_dump(database_url) == before
    assert row_counts(database_url) == rows


def history_rows(url: str) -> list[tuple[int, str, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, event, version FROM rally_gitops.history ORDER BY id"
        ).fetchall()


def test_restore_keeps_the_history_newer_than_the_backup(cli, project, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    chosen = latest(project)
    at_backup = history_rows(database_url)
    assert [e for _, e, _ in at_backup] == ["apply"] * 5 + ["start", "apply"]  # one no-tx
    (project / "migrations" / "20250101_000000_add_scores.sql").write_text(
        "ALTER TABLE teams ADD COLUMN score int;\n\n-- Rollback:\n"
        "-- ALTER TABLE teams DROP COLUMN score;\n"
    )
    assert cli("deploy", "--env", "staging", "--no-backup").code == 0
    assert cli("rollback", "--env", "staging", "--steps", "1", "--no-backup").code == 0
    assert cli("deploy", "--env", "staging", "--no-backup").code == 0
    before = history_rows(database_url)
    newer = before[len(at_backup) :]
    assert [(e, v) for _, e, v in newer] == [
        ("apply", "20250101_000000"),
        ("rollback", "20250101_000000"),
        ("apply", "20250101_000000"),
    ]
    result = cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="")
    assert result.code == 0, result.text
    after = history_rows(database_url)
    # the backup's events, then the newer ones with their ids, then the restore
    assert after[:-1] == before
    restore_id, event, version = after[-1]
    assert (event, version) == ("restore", None) and restore_id == before[-1][0] + 1
    shown = cli("ledger", "history", "--env", "staging", "-n", "5")
    assert shown.code == 0
    assert [ln.split()[2] for ln in shown.out.splitlines()[:4]] == [
        "restore",
        "apply",
        "rollback",
        "apply",
    ], shown.out
    # the schema is the backup's: the later migration is pending again, not lost from history
    status = cli("status", "--env", "staging")
    assert "6 applied, 1 pending" in status.out, status.out
    # undoing the restore keeps growing the same history
    undo = latest(project)
    back = cli("restore", "--env", "staging", undo.stem, "--yes", stdin="")
    assert back.code == 0, back.text
    again = history_rows(database_url)
    assert again[:-1] == after and again[-1][1] == "restore"


def test_a_cut_short_schema_backup_is_not_reported_as_restored(cli, project, database_url):
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    assert cli("backup", "--env", "staging", "--kind", "schema").code == 0
    chosen = latest(project)
    sql_path = chosen.path("schema")
    assert sql_path is not None
    whole = sql_path.read_bytes()
    # a whole schema-only backup restores its ledger too: 6 applied, nothing pending
    assert cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="").code == 0
    assert "6 applied, 0 pending" in cli("status", "--env", "staging").out
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE after_backup (id int)")
    # cut at 80% (every statement before the cut is valid SQL) and re-sign it in the manifest
    sql_path.write_bytes(whole[: whole.rindex(b";\n", 0, len(whole) * 8 // 10) + 2])
    entry = chosen.manifest["files"][0]
    entry["sha256"], entry["size"] = backup_store.sha256_of(sql_path), sql_path.stat().st_size
    backup_store.write_manifest(chosen.directory, chosen.stem, chosen.manifest)
    before = schema_dump(database_url)
    result = cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="")
    assert result.code == 1, result.text
    assert "Restored" not in result.out
    (line,) = [ln for ln in result.err.splitlines() if ln.startswith("error:")]
    assert f"restore of {sql_path.name} is incomplete and was rolled back" in line
    assert (
        "the restored ledger has 0 applied migration(s) (newest none), the manifest says 6" in line
    )
    assert schema_dump(database_url) == before  # after_backup still there: nothing changed


def test_restore_puts_no_password_on_any_command_line(cli, project, pw_url, started_argv):
    env = {"DATABASE_STAGING_URL": pw_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    chosen = latest(project)
    started_argv.clear()  # the restore's programs only
    result = cli("restore", "--env", "staging", chosen.stem, "--yes", stdin="")
    assert result.code == 0, result.text
    programs = [Path(argv[0]).name for argv in started_argv]
    # the pre-restore backup (pg_dump, its read-back), then pg_restore piped into psql
    assert programs[-2:] == ["pg_restore", "psql"], programs
    psql = started_argv[-1]
    assert "host=127.0.0.1" in psql[psql.index("--dbname") + 1]  # it does connect
    for argv in started_argv:
        assert TEST_PASSWORD not in " ".join(argv), argv


def test_a_restore_brings_back_the_backups_blocked_state_not_a_later_one(
    cli, project, database_url
):
    from rally_gitops.deploy.ledger import Ledger

    def blocked_version() -> str | None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            event = Ledger(conn).blocking_event()
        return event.version if event else None

    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    clean = latest(project)
    (project / "migrations" / "20250101_000000_bad_index.sql").write_text(
        "-- rally:no-transaction\nCREATE INDEX CONCURRENTLY bad_idx ON no_such_table (id);\n"
    )
    assert cli("deploy", "--env", "staging", "--no-backup").code == 1
    assert blocked_version() == "20250101_000000"
    assert cli("backup", "--env", "staging", "--kind", "full").code == 0
    blocked = latest(project)
    # the block came after the clean backup: restoring it clears the block, history kept
    assert cli("restore", "--env", "staging", clean.stem, "--yes", stdin="").code == 0
    assert blocked_version() is None
    events = [e for _, e, _ in history_rows(database_url)]
    assert events[-3:] == ["start", "failure", "restore"], events
    # the blocked backup's own state comes back with it, for `repair` to clear
    assert cli("restore", "--env", "staging", blocked.stem, "--yes", stdin="").code == 0
    assert blocked_version() == "20250101_000000"
    repaired = cli("repair", "--env", "staging")
    assert repaired.code == 0 and "repaired 20250101_000000_bad_index" in repaired.out
    assert blocked_version() is None
