"""Every migration starts from the same session, holds the deploy lock, and gets its BEGIN's modes.

Each test deploys through the CLI to a real database (the ``staging`` fixture).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg

from testing.migration_files import ledger_rows, tables, write_migration

A, B = "20250101_000000", "20250102_000000"


def value(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


def write(mig: Path, version: str, slug: str, text: str) -> Path:
    """A migration written as is (its own BEGIN, modes and all)."""
    path = mig / f"{version}_{slug}.sql"
    path.write_text(f"-- Migration: {version}_{slug}\n-- Description: {slug}\n\n{text}\n")
    return path


def test_search_path_set_in_one_migration_does_not_reach_the_next(staging, mig: Path) -> None:
    write_migration(mig, A, "other", "CREATE SCHEMA other;\nSET search_path = other;")
    write_migration(mig, B, "leak", "CREATE TABLE leak_t (id int);")
    result = staging("deploy")
    assert result.code == 0, result.text
    # as when A and B are deployed one at a time
    assert (tables(staging.url, "public"), tables(staging.url, "other")) == ({"leak_t"}, set())


def test_set_role_in_one_migration_does_not_own_the_next_ones_objects(staging, mig: Path) -> None:
    role = f"rally_other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(staging.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} SUPERUSER")
        login = conn.execute("SELECT current_user").fetchone()[0]
    try:
        write_migration(mig, A, "role", f"SET ROLE {role};\nCREATE TABLE by_role (id int);")
        write_migration(mig, B, "owned", "CREATE TABLE owned_t (id int);")
        result = staging("deploy")
        assert result.code == 0, result.text
        owners = dict(
            psycopg.connect(staging.url)
            .execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
            .fetchall()
        )
        assert owners == {"by_role": role, "owned_t": login}
    finally:
        with psycopg.connect(staging.url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_timezone_set_in_one_migration_does_not_reach_the_next(staging, mig: Path) -> None:
    server_default = value(staging.url, "SHOW TimeZone")
    assert server_default != "Asia/Tokyo"
    write_migration(mig, A, "tz", "SET timezone = 'Asia/Tokyo';")
    write_migration(mig, B, "seen", "CREATE TABLE seen AS SELECT current_setting('TimeZone') tz;")
    result = staging("deploy")
    assert result.code == 0, result.text
    assert value(staging.url, "SELECT tz FROM seen") == server_default


def test_reset_all_in_a_migration_keeps_the_tools_lock_timeout(staging, mig: Path) -> None:
    write_migration(
        mig,
        A,
        "reset",
        "RESET ALL;\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') lt;",
    )
    result = staging("deploy")
    assert result.code == 0, result.text
    assert value(staging.url, "SELECT lt FROM seen") == "2s"  # the scratch project's setting


def test_a_migration_that_releases_the_deploy_lock_is_rolled_back_and_stops_the_deploy(
    staging,
    mig: Path,
) -> None:
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    write_migration(
        mig, B, "unlock", "CREATE TABLE unlock_t (id int);\nSELECT pg_advisory_unlock_all();"
    )
    write_migration(mig, "20250103_000000", "after", "CREATE TABLE after_t (id int);")
    result = staging("deploy")
    assert result.code == 1, result.text
    assert result.err.splitlines()[0] == (
        f"error: {B}_unlock.sql released the deploy lock (pg_advisory_unlock_all(), "
        "pg_advisory_unlock or DISCARD ALL); it was rolled back, and the deploy stopped"
    )
    assert ledger_rows(staging.url) == [(A, f"{A}_first")]
    assert tables(staging.url) == {"first_t"}


def test_discard_all_in_a_no_transaction_migration_stops_the_deploy(staging, mig: Path) -> None:
    write_migration(
        mig, A, "discard", "CREATE TABLE d_t (id int);\nDISCARD ALL;", no_transaction=True
    )
    write_migration(mig, B, "after", "CREATE TABLE after_t (id int);")
    result = staging("deploy")
    assert result.code == 1, result.text
    assert result.err.splitlines()[0] == (
        f"error: {A}_discard.sql released the deploy lock (pg_advisory_unlock_all(), "
        "pg_advisory_unlock or DISCARD ALL); it ran outside a transaction and is applied and "
        "recorded, and the deploy stopped"
    )
    assert ledger_rows(staging.url) == [(A, f"{A}_discard")]
    assert tables(staging.url) == {"d_t"}


def test_the_files_begin_modes_are_honoured(staging, mig: Path) -> None:
    write(
        mig,
        A,
        "serializable",
        "BEGIN ISOLATION LEVEL SERIALIZABLE;\n"
        "CREATE TABLE iso AS SELECT current_setting('transaction_isolation') AS level;\nCOMMIT;",
    )
    write(mig, B, "check", "START TRANSACTION READ ONLY;\nSELECT 1;\nCOMMIT;")
    result = staging("deploy")
    assert result.code == 0, result.text
    assert value(staging.url, "SELECT level FROM iso") == "serializable"
    assert [row[0] for row in ledger_rows(staging.url)] == [A, B]  # the ledger row still written


def test_a_read_only_begin_refuses_writes_as_psql_would(staging, mig: Path) -> None:
    write(mig, A, "ro", "START TRANSACTION READ ONLY;\nCREATE TABLE nope (id int);\nCOMMIT;")
    result = staging("deploy")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"error: {A}_ro.sql:5: cannot execute CREATE TABLE in a read-only transaction "
        "[SQLSTATE 25006] (the migration was rolled back)"
    )
    assert ledger_rows(staging.url) == []


PG_DUMP_DATA = (
    "BEGIN;\nCREATE TABLE teams (id int PRIMARY KEY, name text);\n"
    "COPY public.teams (id, name) FROM stdin;\n1\tRed; Blue\n2\t\\N\n\\.\n\n"
    "SELECT setval('seq', 2);\nCOMMIT;"
)


def test_a_pg_dump_copy_block_loads_its_rows(staging, mig: Path) -> None:
    write_migration(mig, A, "first", "CREATE SEQUENCE seq;")
    write(mig, B, "teams", PG_DUMP_DATA)
    write_migration(mig, "20250103_000000", "after", "CREATE TABLE after_t (id int);")
    result = staging("deploy")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        rows = conn.execute("SELECT id, name FROM teams ORDER BY id").fetchall()
    assert rows == [(1, "Red; Blue"), (2, None)]
    assert [row[0] for row in ledger_rows(staging.url)] == [A, B, "20250103_000000"]


def test_a_failing_copy_block_is_reported_at_its_line_and_rolled_back(staging, mig: Path) -> None:
    write(mig, A, "teams", PG_DUMP_DATA.replace("2\t\\N", "two\tx"))
    result = staging("deploy")
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: {A}_teams.sql:6: invalid input syntax for type integer: ")
    assert first.endswith("(the migration was rolled back)")
    assert ledger_rows(staging.url) == [] and tables(staging.url) == set()


def test_the_urls_own_options_are_kept_and_are_what_reset_all_restores(
    cli, mig: Path, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
    url = database_url + ("&" if "?" in database_url else "?") + "options=-csearch_path%3Dapp"
    write_migration(
        mig, A, "reset", "SET search_path = public;\nRESET ALL;\nCREATE TABLE in_app (id int);"
    )
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": url})
    assert result.code == 0, result.text
    assert (tables(database_url, "app"), tables(database_url, "public")) == ({"in_app"}, set())


def test_a_copy_migration_that_releases_the_lock_is_rolled_back(staging, mig: Path) -> None:
    write_migration(mig, A, "first", "CREATE SEQUENCE seq;")
    write(
        mig,
        B,
        "teams",
        PG_DUMP_DATA.replace("COMMIT;", "SELECT pg_advisory_unlock_all();\nCOMMIT;"),
    )
    result = staging("deploy")
    assert result.code == 1, result.text
    assert result.err.splitlines()[0] == (
        f"error: {B}_teams.sql released the deploy lock (pg_advisory_unlock_all(), "
        "pg_advisory_unlock or DISCARD ALL); it was rolled back, and the deploy stopped"
    )
    assert ledger_rows(staging.url) == [(A, f"{A}_first")]
    assert tables(staging.url) == set()
