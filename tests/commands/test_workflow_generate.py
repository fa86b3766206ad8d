"""``workflow`` offers ``generate`` first when the local database has changes the migrations
lack (real local, staging and replay databases)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rally_gitops.files.migrations import parse


@pytest.fixture
def envs(cli, make_database, pg_server):
    """Local with the sample migrations deployed, fresh staging; replays on the test server."""
    local = make_database("local")
    assert cli("deploy", "--env", "local", "--yes", env={"DATABASE_URL": local}).code == 0
    return {
        "DATABASE_URL": local,
        "DATABASE_STAGING_URL": make_database("staging"),
        "RALLY_REPLAY_DATABASE_URL": pg_server.admin_url,
    }


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('rally_gitops.applied')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()[0]


def new_files(project: Path) -> list[Path]:
    return sorted(p for p in (project / "migrations").glob("*.sql") if p.name >= "2026")


CHANGES = [
    "local has 1 change(s) the migrations lack:",
    "  + column public.users.nickname",
]


def step_one(out: str) -> list[str]:
    """The lines of the workflow's first step."""
    lines = out.splitlines()
    start = lines.index("== 1/7 changes in the local database the migrations lack ==")
    end = next((i for i, line in enumerate(lines) if line.startswith("== 2/7")), len(lines))
    return [line for line in lines[start + 1 : end] if line]


def test_local_changes_are_offered_and_generated_with_the_answer(cli, project, envs) -> None:
    execute(envs["DATABASE_URL"], "ALTER TABLE users ADD COLUMN nickname text")
    # yes to generate, its description, then no to staging
    result = cli("workflow", env=envs, stdin="y\nadd  nickname\nn\n")
    assert result.code == 0, result.text
    assert "Generate a migration for them now? [y/N]" in result.err
    assert "Description of the migration: " in result.err
    [path] = new_files(project)
    assert path.name.endswith("_add_nickname.sql")
    assert step_one(result.out) == [
        *CHANGES,
        f"created {path} (1 statement(s), verified up and down)",
        "local: 1 migration(s) recorded as applied (local already has the change)",
    ]
    # local is in step with the migrations again: nothing pending, nothing to generate
    assert applied(envs["DATABASE_URL"]) == 7
    again = cli("workflow", env=envs, stdin="n\n")
    assert step_one(again.out) == ["local has the schema of the migrations: nothing to generate"]
    migration = parse(path)
    assert [s.sql for s in migration.body()] == [
        "ALTER TABLE public.users ADD COLUMN nickname text"
    ]
    assert [s.sql for s in migration.rollback_statements()] == [
        "ALTER TABLE public.users DROP COLUMN nickname"
    ]
    # the new migration is what staging is offered
    assert "Deploy 7 migration(s) to staging? [y/N]" in result.err
    assert applied(envs["DATABASE_STAGING_URL"]) == 0


def test_auto_with_generate_writes_it_and_deploys_it_to_staging(cli, project, envs) -> None:
    execute(envs["DATABASE_URL"], "ALTER TABLE users ADD COLUMN nickname text")
    result = cli("workflow", "--auto", "--generate", "add nickname", env=envs, stdin="")
    assert result.code == 0, result.text
    assert "[y/N]" not in result.err
    [path] = new_files(project)
    assert step_one(result.out) == [
        *CHANGES,
        f"created {path} (1 statement(s), verified up and down)",
        "local: 1 migration(s) recorded as applied (local already has the change)",
    ]
    assert applied(envs["DATABASE_STAGING_URL"]) == 7
    with psycopg.connect(envs["DATABASE_STAGING_URL"]) as conn:
        assert conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'nickname'"
        ).fetchone() == (1,)


def test_auto_without_generate_only_reports_the_changes(cli, project, envs) -> None:
    execute(envs["DATABASE_URL"], "ALTER TABLE users ADD COLUMN nickname text")
    result = cli("workflow", "--auto", env=envs, stdin="")
    assert result.code == 0, result.text
    assert step_one(result.out) == [
        *CHANGES,
        f"Not generated: the changes stay out of the migrations (`rally-gitops -C {project} "
        "generate DESCRIPTION` writes them).",
    ]
    assert new_files(project) == []
    assert applied(envs["DATABASE_STAGING_URL"]) == 6


def test_a_refused_generate_stops_the_workflow(cli, project, envs) -> None:
    execute(envs["DATABASE_URL"], "ALTER TABLE users DROP COLUMN display_name")
    result = cli("workflow", "--auto", "--generate", "drop name", env=envs, stdin="")
    assert result.code == 1
    assert result.err.startswith("error: refusing to write a migration that loses data")
    assert step_one(result.out)[-1] == (
        "Stopped: no migration was generated; fix the above, then run the workflow again."
    )
    assert new_files(project) == []
    assert applied(envs["DATABASE_STAGING_URL"]) == 0


def test_local_equal_to_the_migrations_is_not_offered(cli, project, envs) -> None:
    result = cli("workflow", env=envs, stdin="n\n")
    assert result.code == 0, result.text
    assert step_one(result.out) == ["local has the schema of the migrations: nothing to generate"]
    assert "Generate a migration" not in result.err
    assert new_files(project) == []


def test_local_behind_the_migrations_is_not_compared(cli, project, envs, make_database) -> None:
    envs = {**envs, "DATABASE_URL": make_database("empty")}
    result = cli("workflow", env=envs, stdin="n\n")
    assert step_one(result.out) == [
        f"local has 6 migration(s) not applied: not compared (run `rally-gitops -C {project} "
        "deploy --env local`)"
    ]
