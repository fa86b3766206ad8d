"""``compare --sql`` and ``generate``: the SQL between two schemas, and the verified migration."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rally_gitops.files.migrations import parse
from testing.schema_cases import drop_replay_databases


@pytest.fixture
def replay_url(make_database, pg_server, monkeypatch):
    url = make_database("replay")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    yield url
    drop_replay_databases(pg_server.admin_url)


@pytest.fixture
def local(cli, database_url):
    """The local database (DATABASE_URL) with the sample migrations deployed."""
    env = {"DATABASE_URL": database_url}
    assert cli("deploy", "--env", "local", "--yes", env=env).code == 0
    return database_url


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def new_files(project: Path) -> list[Path]:
    return sorted(p for p in (project / "migrations").glob("*.sql") if p.name >= "2026")


def test_compare_sql_exits_1_with_the_sql_and_0_when_identical(cli, make_database) -> None:
    staging, production = make_database("stg"), make_database("prd")
    execute(staging, "CREATE TABLE users (id int, nickname varchar(40), old int)")
    execute(production, "CREATE TABLE users (id int, nickname varchar(80));")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}
    result = cli("compare", "staging", "production", "--sql", env=env)
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        "ALTER TABLE public.users ALTER COLUMN nickname TYPE character varying(80);",
        "-- hazard: data loss: drops column public.users.old and its values",
        "ALTER TABLE public.users DROP COLUMN old;",
    ]
    same = cli("compare", "staging", "staging", "--sql", env=env)
    assert (same.code, same.out, same.err) == (0, "", "")


def test_generate_writes_a_verified_migration(cli, project, local, replay_url) -> None:
    execute(
        local,
        "ALTER TABLE users ADD COLUMN nickname text; CREATE INDEX users_nick ON users (nickname)",
    )
    env = {"DATABASE_URL": local}
    result = cli("generate", "add nickname", "--no-online", env=env)
    assert (result.code, result.err) == (0, "")
    [path] = new_files(project)
    assert path.name.endswith("_add_nickname.sql")
    assert result.out.splitlines() == [f"created {path} (2 statement(s), verified up and down)"]
    migration = parse(path)
    assert [s.sql for s in migration.body()] == [
        "ALTER TABLE public.users ADD COLUMN nickname text",
        "CREATE INDEX users_nick ON public.users USING btree (nickname)",
    ]
    assert [s.sql for s in migration.rollback_statements()] == [
        "DROP INDEX public.users_nick",
        "ALTER TABLE public.users DROP COLUMN nickname",
    ]
    assert migration.description == "add nickname"
    # the migrations now hold the change: nothing more to generate
    again = cli("generate", "again", "--no-online", env=env)
    assert (again.code, again.out.strip()) == (
        0,
        f"nothing to generate: migrations and local ({local}) have the same schema",
    )
    assert len(new_files(project)) == 1


def test_generate_refuses_data_loss_and_reports_renames(cli, project, local, replay_url) -> None:
    execute(local, "ALTER TABLE users RENAME COLUMN display_name TO shown_name")
    env = {"DATABASE_URL": local}
    refused = cli("generate", "rename", env=env)
    assert refused.code == 1
    assert "possible rename: --rename column:public.users.display_name=shown_name" in refused.out
    assert refused.err.strip() == (
        "error: refusing to write a migration that loses data (data loss: drops column "
        "public.users.display_name and its values); pass --allow-data-loss to write it anyway"
    )
    assert new_files(project) == []
    dry = cli(
        "generate",
        "rename",
        "--dry-run",
        "--rename",
        "column:public.users.display_name=shown_name",
        env=env,
    )
    assert dry.code == 0
    assert "ALTER TABLE public.users RENAME COLUMN display_name TO shown_name;" in dry.out
    assert "-- ALTER TABLE public.users RENAME COLUMN shown_name TO display_name;" in dry.out
    assert new_files(project) == []


def test_generate_online_splits_the_locks_and_lints_clean(cli, project, local, replay_url) -> None:
    execute(
        local,
        "CREATE INDEX users_email_idx ON users (email);"
        "ALTER TABLE users ADD CONSTRAINT email_shape CHECK (email LIKE '%@%');"
        "UPDATE users SET team_id = NULL; ALTER TABLE users ALTER COLUMN team_id SET NOT NULL;",
    )
    env = {"DATABASE_URL": local}
    result = cli("generate", "tighten users", env=env)
    assert (result.code, result.err) == (0, "")
    main, index, later = new_files(project)
    assert [p.name[16:] for p in (main, index, later)] == [
        "tighten_users.sql",
        "tighten_users_concurrently.sql",
        "tighten_users_validate.sql",
    ]
    assert [s.sql for s in parse(main).body()] == [
        "ALTER TABLE public.users ADD CONSTRAINT users_team_id_not_null CHECK (team_id IS NOT "
        "NULL) NOT VALID",
        "ALTER TABLE public.users ADD CONSTRAINT email_shape CHECK ((email ~~ '%@%'::text)) "
        "NOT VALID",
    ]
    assert parse(index).no_transaction
    assert [s.sql for s in parse(index).body()] == [
        "CREATE INDEX CONCURRENTLY users_email_idx ON public.users USING btree (email)"
    ]
    assert [s.sql for s in parse(index).rollback_statements()] == [
        "DROP INDEX CONCURRENTLY public.users_email_idx"
    ]
    assert [s.sql for s in parse(later).body()] == [
        "ALTER TABLE public.users VALIDATE CONSTRAINT users_team_id_not_null",
        "ALTER TABLE public.users ALTER COLUMN team_id SET NOT NULL",
        "ALTER TABLE public.users DROP CONSTRAINT users_team_id_not_null",
        "ALTER TABLE public.users VALIDATE CONSTRAINT email_shape",
    ]
    lint = cli("lint", str(main), str(index), str(later))
    assert (lint.code, lint.out.strip()) == (0, "3 files, 0 errors, 0 warnings")


def test_compare_sql_online_prints_the_files_in_order(cli, make_database) -> None:
    staging, production = make_database("stg"), make_database("prd")
    execute(staging, "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, p_id int)")
    execute(
        production,
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, p_id int REFERENCES p);"
        "CREATE INDEX c_p ON c (p_id)",
    )
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}
    result = cli("compare", "staging", "production", "--sql", "--online", env=env)
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        "-- file 1 of 3",
        "ALTER TABLE public.c ADD CONSTRAINT c_p_id_fkey FOREIGN KEY (p_id) REFERENCES "
        "public.p(id) NOT VALID;",
        "-- file 2 of 3 (-- rally:no-transaction)",
        "CREATE INDEX CONCURRENTLY c_p ON public.c USING btree (p_id);",
        "-- file 3 of 3",
        "ALTER TABLE public.c VALIDATE CONSTRAINT c_p_id_fkey;",
    ]
    alone = cli("compare", "staging", "production", "--online", env=env)
    assert (alone.code, alone.err.strip()) == (2, "error: --online goes with --sql")


def test_compare_sql_commits_new_enum_values_before_using_them(cli, make_database) -> None:
    staging, production = make_database("stg"), make_database("prd")
    execute(staging, "CREATE TYPE mood AS ENUM ('ok'); CREATE TABLE e (m mood DEFAULT 'ok')")
    execute(production, "CREATE TYPE mood AS ENUM ('ok', 'meh'); CREATE TABLE e (m mood)")
    execute(production, "ALTER TABLE e ALTER COLUMN m SET DEFAULT 'meh'")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}
    result = cli("compare", "staging", "production", "--sql", env=env)
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        "ALTER TYPE public.mood ADD VALUE 'meh' AFTER 'ok';",
        "COMMIT;  -- the new enum values are used below",
        "ALTER TABLE public.e ALTER COLUMN m SET DEFAULT 'meh'::public.mood;",
    ]
    execute(staging, result.out)  # one script, as psql -f runs it
    assert cli("compare", "staging", "production", "--sql", env=env).code == 0


def test_a_new_enum_value_the_change_uses_is_committed_in_a_file_before(
    cli, project, local, replay_url
) -> None:
    execute(local, "ALTER TYPE match_status ADD VALUE 'postponed'")
    execute(local, "ALTER TABLE matches ALTER COLUMN status SET DEFAULT 'postponed'")
    env = {"DATABASE_URL": local}
    result = cli("generate", "postpone", "--no-online", env=env)
    assert (result.code, result.err) == (0, "")
    values, main = new_files(project)
    assert [p.name[16:] for p in (values, main)] == ["postpone_enum_values.sql", "postpone.sql"]
    assert result.out.splitlines() == [
        f"created {values} (1 statement(s), verified up and down)",
        f"created {main} (1 statement(s), verified up and down)",
    ]
    assert [s.sql for s in parse(values).body()] == [
        "ALTER TYPE public.match_status ADD VALUE 'postponed' AFTER 'cancelled'"
    ]
    assert [s.sql for s in parse(main).body()] == [
        "ALTER TABLE public.matches ALTER COLUMN status SET DEFAULT "
        "'postponed'::public.match_status"
    ]
    # the rollback of the main file rebuilds the enum without the value
    assert "DROP TYPE public.match_status__rally_old" in [
        s.sql for s in parse(main).rollback_statements()
    ]


def test_a_table_that_cannot_be_seeded_is_named(cli, project, database_url, replay_url) -> None:
    (project / "migrations" / "20250101_000000_pairs.sql").write_text(
        "-- Migration: 20250101_000000_pairs\n-- Description: pairs\n"
        "-- Generated: 2025-01-01T00:00:00\n\nBEGIN;\n\n"
        "CREATE TYPE pair AS (x int, y int);\nCREATE TABLE pairs (v pair NOT NULL);\n\n"
        "COMMIT;\n\n-- Rollback script (uncomment if needed):\n-- BEGIN;\n"
        "-- DROP TABLE pairs;\n-- DROP TYPE pair;\n-- COMMIT;\n",
        encoding="utf-8",
    )
    env = {"DATABASE_URL": database_url}
    assert cli("deploy", "--env", "local", "--yes", env=env).code == 0
    execute(database_url, "ALTER TABLE users ADD COLUMN nickname text")
    result = cli("generate", "add nickname", "--no-online", env=env)
    assert (result.code, result.err) == (0, "")
    [path] = new_files(project)
    assert result.out.splitlines() == [
        f"created {path} (1 statement(s), verified up and down)",
        "note: no row could be seeded in public.pairs (no value for NOT NULL column v of type "
        "pair): its rows were not checked",
    ]
