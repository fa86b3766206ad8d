from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from testing.app_server import AppServer, Reply, serve

NEW_SHA = "c0ffee" * 6 + "beef"
OLD_SHA = "0" * 40


@pytest.fixture
def app() -> Iterator[AppServer]:
    with serve() as server:
        yield server


@pytest.fixture
def staging(cli, database_url):
    """Staging with the sample migrations deployed; returns the env for ``cli``."""
    env = {"DATABASE_STAGING_URL": database_url}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    return env


def add_config(project: Path, text: str) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def write_check(project: Path, name: str, sql: str) -> None:
    checks = project / "migrations" / "checks"
    checks.mkdir(exist_ok=True)
    (checks / name).write_text(sql, encoding="utf-8")


def test_ledger_matches_repository(cli, staging):
    result = cli("smoke", "--env", "staging")
    assert result.code == 0, result.text
    assert "ok    ledger: 6 applied, matches the repository" in result.out
    assert "all 1 check(s) passed" in result.out


def test_pending_migration_fails_naming_it(cli, project, staging):
    (project / "migrations" / "20250101_000000_add_team_color.sql").write_text(
        "ALTER TABLE teams ADD COLUMN color text;\n", encoding="utf-8"
    )
    result = cli("smoke", "--env", "staging")
    assert result.code == 1
    assert "pending: 20250101_000000_add_team_color.sql" in result.out
    assert "FAILED 1 of 1 check(s)" in result.out


def test_changed_applied_file_fails(cli, project, staging):
    path = project / "migrations" / "20241203_101500_create_matches.sql"
    path.write_text(path.read_text(encoding="utf-8").replace("CREATE TABLE", "CREATE TABLE\n", 1))
    result = cli("smoke", "--env", "staging")
    assert result.code == 1
    assert "changed after applied: 20241203_101500_create_matches.sql" in result.out


def test_empty_database_reports_every_pending(cli, database_url):
    result = cli("smoke", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 1
    assert "20241201_090000_create_teams_and_users.sql" in result.out
    assert "20241212_080000_index_matches_status.sql" in result.out


def test_sql_checks_true_false_error(cli, project, staging):
    write_check(
        project,
        "a_users_exist.sql",
        "-- the table is there\nSELECT to_regclass('public.users') IS NOT NULL;\n",
    )
    write_check(project, "b_has_teams.sql", "SELECT count(*) > 0 FROM teams")
    write_check(project, "c_broken.sql", "SELECT no_such_column FROM users")
    write_check(project, "d_count.sql", "SELECT count(*) FROM users")
    write_check(project, "e_two.sql", "SELECT true; SELECT true;")
    write_check(
        project,
        "f_writes.sql",
        "WITH x AS (INSERT INTO teams (name, slug) VALUES ('a', 'a') RETURNING 1)\n"
        "SELECT true FROM x",
    )
    result = cli("smoke", "--env", "staging")
    assert result.code == 1, result.text
    assert "ok    sql    checks/a_users_exist.sql: returned true" in result.out
    assert "FAIL  sql    checks/b_has_teams.sql: returned false, expected true" in result.out
    assert 'checks/c_broken.sql: error: column "no_such_column" does not exist' in result.out
    assert "checks/d_count.sql: returned 0, expected true" in result.out
    assert "checks/e_two.sql: must hold exactly one query, found 2 statements" in result.out
    assert "checks/f_writes.sql: error: cannot execute SELECT in a read-only transaction" in (
        result.out
    )
    assert "FAILED 5 of 7 check(s)" in result.out
    # the check that tried to write changed nothing
    with psycopg.connect(staging["DATABASE_STAGING_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM teams").fetchone() == (0,)


def test_checks_dir_is_configurable(cli, project, staging):
    (project / "db_checks").mkdir()
    (project / "db_checks" / "ok.sql").write_text("SELECT 1 = 1", encoding="utf-8")
    add_config(project, '[tool.rally_gitops.smoke]\nchecks_dir = "db_checks"\n')
    result = cli("smoke", "--env", "staging")
    assert result.code == 0, result.text
    assert "db_checks/ok.sql: returned true" in result.out


def test_http_status_mismatch(cli, project, staging, app):
    app.script("/health", Reply(503, {"status": "starting"}))
    add_config(
        project,
        '[[tool.rally_gitops.smoke.http]]\nname = "api"\nurl = "${APP_HEALTH_URL}"\ndeadline = 0\n',
    )
    result = cli("smoke", "--env", "staging", env={"APP_HEALTH_URL": app.url("/health")})
    assert result.code == 1
    assert "FAIL  http   api: HTTP 503, expected 200" in result.out
    assert len(app.received("/health")) == 1


def test_http_json_field_matches_after_retries(cli, project, staging, app):
    app.script(
        "/version",
        Reply(503, "starting"),
        Reply(200, {"build": {"commit": OLD_SHA}}),
        Reply(200, {"build": {"commit": NEW_SHA}}),
    )
    add_config(
        project,
        "[[tool.rally_gitops.smoke.http]]\n"
        'url = "${APP_URL}/version"\njson_field = "build.commit"\nexpect = "${GIT_SHA}"\n'
        "deadline = 20\ninterval = 0.1\n",
    )
    env = {"APP_URL": app.url(""), "GIT_SHA": NEW_SHA}
    result = cli("smoke", "--env", "staging", env=env)
    assert result.code == 0, result.text
    assert f'ok    http   ${{APP_URL}}/version: build.commit = "{NEW_SHA}"' in result.out
    assert "HTTP 503, expected 200; retrying" in result.out
    assert f'build.commit = "{OLD_SHA}", expected "{NEW_SHA}"; retrying' in result.out
    assert len(app.received("/version")) == 3


def test_http_deadline_exceeded(cli, project, staging, app):
    app.script("/version", Reply(200, {"commit": OLD_SHA}))
    add_config(
        project,
        '[[tool.rally_gitops.smoke.http]]\nname = "version"\nurl = "${APP_URL}/version"\n'
        'json_field = "commit"\nexpect = "${GIT_SHA}"\ndeadline = 0.5\ninterval = 0.1\n',
    )
    result = cli("smoke", "--env", "staging", env={"APP_URL": app.url(""), "GIT_SHA": NEW_SHA})
    assert result.code == 1
    assert f'version: commit = "{OLD_SHA}", expected "{NEW_SHA}" (after' in result.out
    assert len(app.received("/version")) >= 2
    assert "- http version:" in result.out


def test_http_unset_variable_is_a_config_error(cli, project, staging):
    add_config(project, '[[tool.rally_gitops.smoke.http]]\nurl = "${APP_HEALTH_URL}"\n')
    result = cli("smoke", "--env", "staging")
    assert result.code == 2
    assert "${APP_HEALTH_URL} is not set" in result.err


def test_http_unreachable_and_token_never_printed(cli, project, staging, app):
    token = "tok-9f8e7d6c5b4a"
    app.script("/health", Reply(200, {"ok": True}))
    add_config(
        project,
        "[[tool.rally_gitops.smoke.http]]\n"
        'url = "${APP_HEALTH_URL}"\njson_field = "ok"\nexpect = true\n'
        'headers = { Authorization = "Bearer ${APP_TOKEN}" }\n\n'
        "[[tool.rally_gitops.smoke.http]]\n"
        'name = "down"\nurl = "http://127.0.0.1:9/x?token=${APP_TOKEN}"\ndeadline = 0\n'
        'envs = ["staging"]\n\n'
        "[[tool.rally_gitops.smoke.http]]\n"
        'name = "production only"\nurl = "${UNSET_FOR_STAGING}"\nenvs = ["production"]\n',
    )
    env = {"APP_HEALTH_URL": app.url("/health?token=" + token), "APP_TOKEN": token}
    result = cli("smoke", "--env", "staging", env=env)
    assert result.code == 1
    assert "ok    http   ${APP_HEALTH_URL}: ok = true" in result.out
    assert "FAIL  http   down: request failed: Connection refused" in result.out
    assert "production only" not in result.text
    assert token not in result.text
    assert app.received("/health")[0].headers["Authorization"] == f"Bearer {token}"


def test_unknown_key_is_a_config_error(cli, project, staging):
    add_config(project, '[[tool.rally_gitops.smoke.http]]\nurl = "http://x"\nexpected = 1\n')
    result = cli("smoke", "--env", "staging")
    assert result.code == 2
    assert "unknown key(s) expected" in result.err


def test_json_output(cli, staging):
    import json

    result = cli("smoke", "--env", "staging", "--json")
    assert result.code == 0
    assert json.loads(result.out) == [
        {
            "kind": "ledger",
            "name": "ledger",
            "ok": True,
            "detail": "6 applied, matches the repository",
        }
    ]


def test_sql_timeout(cli, project, staging):
    write_check(project, "slow.sql", "SELECT pg_sleep(5) IS NOT NULL")
    add_config(project, '[tool.rally_gitops.smoke]\nsql_timeout = "100ms"\n')
    result = cli("smoke", "--env", "staging")
    assert result.code == 1
    assert "checks/slow.sql: error: canceling statement due to statement timeout" in result.out
    add_config(project, "[tool.rally_gitops.smoke.x]\n")
    assert cli("smoke", "--env", "staging").code == 2


def test_db_only_skips_http_checks(cli, project, staging, app):
    app.script("/version", Reply(200, {"commit": OLD_SHA}))
    add_config(
        project,
        '[[tool.rally_gitops.smoke.http]]\nurl = "${APP_URL}/version"\njson_field = "commit"\n'
        'expect = "${GIT_SHA}"\ndeadline = 0\n',
    )
    env = {"APP_URL": app.url(""), "GIT_SHA": NEW_SHA}
    assert cli("smoke", "--env", "staging", env=env).code == 1
    requests_before = len(app.received("/version"))
    result = cli("smoke", "--env", "staging", "--db-only")
    assert result.code == 0, result.text
    assert "Smoke tests of staging (database only):" in result.out
    assert len(app.received("/version")) == requests_before
