"""``rally-gitops compare``: environments, URLs, the migrations and the migrations at a ref."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from testing.gitrepo import git
from testing.pg import TEST_PASSWORD
from testing.process import run_process
from testing.schema_cases import drop_replay_databases, migration_file

NEW = "20250101_000000_nickname.sql"


@pytest.fixture
def replay_url(make_database, pg_server, monkeypatch):
    """``migrations`` sources replay on a fresh database of the test server."""
    url = make_database("replay")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    yield url
    drop_replay_databases(pg_server.admin_url)


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_a_deployed_database_equals_its_migrations(cli, database_url, replay_url) -> None:
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    result = cli("compare", "migrations", "staging", env=env)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [f"no differences (migrations → staging ({database_url}))"]


def test_differences_exit_1_with_one_line_each(cli, make_database) -> None:
    staging, production = make_database("stg"), make_database("prd")
    execute(staging, 'CREATE TABLE users (id int, nickname varchar(40)); CREATE TABLE "Old" ()')
    execute(production, "CREATE TABLE users (id int, nickname varchar(80));")
    execute(production, "CREATE INDEX users_id_idx ON users (id)")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production}
    result = cli("compare", "staging", "production", env=env)
    assert result.code == 1
    assert result.out.splitlines() == [
        '- table public."Old"',
        "",
        "~ column public.users.nickname: type character varying(40) → character varying(80)",
        "",
        "+ index public.users_id_idx",
        f"3 differences: 1 added, 1 changed, 1 dropped (staging ({staging}) → production "
        f"({production}))",
    ]
    data = json.loads(cli("compare", "staging", "production", "--json", env=env).out)
    assert data["identical"] is False
    assert data["summary"] == {"added": 1, "changed": 1, "dropped": 1}
    changed = [c for c in data["changes"] if c["action"] == "changed"]
    assert changed == [
        {
            "action": "changed",
            "kind": "column",
            "name": "public.users.nickname",
            "identity": {"schema": "public", "table": "users", "name": "nickname"},
            "fields": [
                {
                    "field": "type",
                    "source": "character varying(40)",
                    "target": "character varying(80)",
                }
            ],
        }
    ]


def test_urls_are_redacted_everywhere(project: Path, pg_server, make_database) -> None:
    database_url, empty = make_database("pw"), make_database("empty")
    name = urlsplit(database_url).path.lstrip("/")
    url = pg_server.password_url(name)
    execute(database_url, "CREATE TABLE t (a int)")
    result = run_process(["compare", url, empty], cwd=project)
    assert result.code == 1
    assert TEST_PASSWORD not in result.text
    assert result.out.splitlines()[-1].startswith("1 difference: 0 added, 0 changed, 1 dropped")
    assert ":***@" in result.out
    bad = url.replace(f"/{name}", "/no_such_database")
    failed = run_process(["compare", bad, empty], cwd=project)
    assert failed.code == 1
    assert TEST_PASSWORD not in failed.text
    assert failed.err.startswith("error: cannot connect to postgresql://rally_pw_user:***@")
    assert len(failed.err.splitlines()) == 1


def test_migrations_at_a_ref_against_the_work_tree(cli, project: Path, replay_url) -> None:
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")
    body = "ALTER TABLE users ADD COLUMN nickname varchar(40);\nDROP INDEX users_team_id_idx;"
    (project / "migrations" / NEW).write_text(migration_file(NEW[:-4], body))
    result = cli("compare", "migrations@HEAD", "migrations")
    assert result.code == 1
    assert result.out.splitlines() == [
        "+ column public.users.nickname",
        "",
        "- index public.users_team_id_idx",
        "2 differences: 1 added, 0 changed, 1 dropped (migrations@HEAD → migrations)",
    ]
    assert cli("compare", "migrations@HEAD", "migrations@HEAD").code == 0
    missing = cli("compare", "migrations@no-such-ref", "migrations")
    assert (missing.code, missing.err) == (
        2,
        "error: migrations@no-such-ref: 'no-such-ref' is not a commit in this repository\n",
    )


def test_a_migration_that_fails_to_replay_is_one_error(cli, project: Path, replay_url) -> None:
    (project / "migrations" / NEW).write_text(migration_file(NEW[:-4], "SELECT nope;"))
    result = cli("compare", "migrations", "migrations")
    assert result.code == 1
    assert result.err == (
        f"error: the migrations do not replay: migrations/{NEW}:5: "
        'column "nope" does not exist [SQLSTATE 42703]\n'
    )


def test_schema_and_exclude_select_objects(cli, project: Path, make_database) -> None:
    left, right = make_database("l"), make_database("r")
    execute(
        right, "CREATE SCHEMA audit; CREATE TABLE audit.log (a int); CREATE TABLE tmp_x (a int)"
    )
    execute(
        right,
        "CREATE TABLE kept (a int); CREATE SCHEMA rally_gitops; CREATE TABLE rally_gitops.x ()",
    )
    everything = cli("compare", left, right)
    assert [ln for ln in everything.out.splitlines() if ln][:-1] == [
        "+ schema audit",
        "+ table audit.log",
        "+ table public.kept",
        "+ table public.tmp_x",
    ]  # the ledger schema is never compared
    only = cli("compare", left, right, "--schema", "audit")
    assert only.out.splitlines()[:-1] == ["+ schema audit", "", "+ table audit.log"]
    excluded = cli("compare", left, right, "--exclude", "audit", "--exclude", "public.tmp_*")
    assert excluded.out.splitlines()[:-1] == ["+ table public.kept"]
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.rally_gitops.schema]\nexclude = ["public.k*"]\n'
    )
    configured = cli("compare", left, right, "--exclude", "audit")
    assert configured.out.splitlines()[:-1] == ["+ table public.tmp_x"]
    pyproject.write_text(pyproject.read_text().replace('["public.k*"]', '"public.k*"'))
    wrong = cli("compare", left, right)
    assert wrong.code == 2
    assert wrong.err.startswith("error: [tool.rally_gitops.schema] exclude must be a list")


def test_privileges_and_owners_only_on_request(cli, make_database, pg_server) -> None:
    left, right = make_database("l"), make_database("r")
    for url in (left, right):
        execute(url, "CREATE TABLE t (a int)")
    execute(right, "GRANT SELECT ON t TO PUBLIC")
    assert cli("compare", left, right).code == 0
    result = cli("compare", left, right, "--with-privileges")
    assert result.code == 1
    with psycopg.connect(left) as conn:
        me = conn.execute("SELECT current_user").fetchone()[0]
        # all of the owner's rights: arwdDxt, and m (MAINTAIN) since PostgreSQL 17
        mine = conn.execute(
            "SELECT acldefault('r', relowner)::text[] FROM pg_class WHERE relname = 't'"
        ).fetchone()[0][0]
    assert result.out.splitlines()[0] == f"~ table public.t: acl ({mine}) → (=r/{me}, {mine})"
    role = "rally_schema_owner"
    execute(pg_server.admin_url, f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role}")
    try:
        execute(left, f"ALTER TABLE t OWNER TO {role}")
        assert cli("compare", left, right).code == 0
        owners = cli("compare", left, right, "--with-owners")
        assert owners.out.splitlines()[0] == f"~ table public.t: owner {role} → {me}"
    finally:
        execute(left, "DROP TABLE t")
        execute(pg_server.admin_url, f"DROP ROLE {role}")


def test_usage_errors_exit_2(cli) -> None:
    result = cli("compare", "local", "qa")
    assert (result.code, result.err) == (
        2,
        "error: 'qa' is not an environment (local, staging, production), a postgresql:// URL, "
        "'migrations' or 'migrations@REF'\n",
    )
    unset = cli("compare", "staging", "production")
    assert unset.code == 2
    assert unset.err.startswith("error: environment 'staging': DATABASE_STAGING_URL is not set")
    with pytest.raises(SystemExit) as exc:
        cli("compare", "local")
    assert exc.value.code == 2
