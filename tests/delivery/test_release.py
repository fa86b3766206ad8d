from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from testing.app_server import AppServer, Reply, serve

NEW_SHA = "c0ffee" * 6 + "beef"
OLD_SHA = "0" * 40
HOOK_TOKEN = "hooktok-5e6f7a8b9c"
RELEASE_CONFIG = """
[tool.rally_gitops.release]
health_json_field = "commit"
deadline = 20
health_interval = 0.1

[tool.rally_gitops.release.staging]
deploy_hook_url_env = "HOOK_STAGING"
health_url_env = "HEALTH_STAGING"
"""


@pytest.fixture
def app() -> Iterator[AppServer]:
    with serve() as server:
        yield server


def add_config(project: Path, text: str) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def applied_count(url: str) -> int | None:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('rally_gitops.applied')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()[0]


def staging_env(app: AppServer, database_url: str) -> dict[str, str]:
    return {
        "DATABASE_STAGING_URL": database_url,
        "HOOK_STAGING": app.url(f"/hook?token={HOOK_TOKEN}"),
        "HEALTH_STAGING": app.url("/health"),
        "GIT_SHA": NEW_SHA,
    }


def test_staging_release_runs_every_step(cli, project, app, database_url):
    add_config(project, RELEASE_CONFIG)
    app.script("/hook", Reply(200, {"status": "queued"}))
    app.script(
        "/health",
        Reply(200, {"commit": OLD_SHA}),
        Reply(503, "restarting"),
        Reply(200, {"commit": NEW_SHA}),
    )
    result = cli("release", "--env", "staging", env=staging_env(app, database_url))
    assert result.code == 0, result.text
    hooks = app.received("/hook")
    assert [r.method for r in hooks] == ["POST"]
    assert applied_count(database_url) == 6
    assert len(app.received("/health")) == 3
    assert "[1/5] check ... ok (" in result.out
    assert "[2/5] backup + deploy schema: ok (" in result.out
    assert "      Deploying 6 migration(s) to staging" in result.out
    assert "[3/5] deploy application ... ok (" in result.out
    assert "deploy hook $HOOK_STAGING accepted (HTTP 200)" in result.out
    assert 'waiting: commit = "0000' in result.out
    assert "[4/5] wait for health: ok (" in result.out
    assert f'commit = "{NEW_SHA}" after 3 request(s)' in result.out
    assert "[5/5] smoke ... ok (" in result.out or "[5/5] smoke: ok (" in result.out
    assert "Release to staging done" in result.out
    assert HOOK_TOKEN not in result.text


def test_failing_hook_stops_and_says_how_to_roll_back(cli, project, app, database_url):
    add_config(project, RELEASE_CONFIG)
    app.script("/hook", Reply(500, {"error": f"boom {HOOK_TOKEN}"}))
    app.script("/health", Reply(200, {"commit": NEW_SHA}))
    result = cli("release", "--env", "staging", env=staging_env(app, database_url))
    assert result.code == 1
    assert "[3/5] deploy application ... FAILED" in result.out
    assert "FAILED at step 3/5 (deploy application)" in result.out
    assert "deploy hook $HOOK_STAGING answered HTTP 500" in result.out
    assert "What was done:\n  - check: " in result.out
    assert "  - backup + deploy schema: 6 migration(s) applied" in result.out
    assert "the schema: 6 migration(s) applied by this release" in result.out
    assert "rally-gitops rollback --env staging --steps 6" in result.out
    assert "did not start cleanly" in result.out
    assert "stopped at step 3/5 (deploy application)" in result.err
    assert app.received("/health") == []  # the chain stopped
    assert applied_count(database_url) == 6
    assert HOOK_TOKEN not in result.text


def test_health_deadline_then_rollback_advice(cli, project, app, database_url):
    add_config(project, RELEASE_CONFIG.replace("deadline = 20", "deadline = 0.5"))
    app.script("/hook", Reply(204, ""))
    app.script("/health", Reply(200, {"commit": OLD_SHA}))
    result = cli("release", "--env", "staging", env=staging_env(app, database_url))
    assert result.code == 1
    assert "FAILED at step 4/5 (wait for health)" in result.out
    assert "$HEALTH_STAGING did not become healthy within 0.5s" in result.out
    assert "the application deploy was triggered: roll the application back" in result.out
    assert "rally-gitops rollback --env staging --steps 6" in result.out
    assert "rally-gitops restore --env staging staging_backup_" in result.out
    assert "roll the application back before the schema" in result.out


def test_already_deployed_schema_and_smoke_failure(cli, project, app, database_url):
    add_config(project, RELEASE_CONFIG)
    env = staging_env(app, database_url)
    assert cli("deploy", "--env", "staging", env=env).code == 0
    (project / "migrations" / "checks").mkdir()
    (project / "migrations" / "checks" / "has_team.sql").write_text(
        "SELECT EXISTS (SELECT 1 FROM teams)", encoding="utf-8"
    )
    app.script("/hook", Reply(200, {}))
    app.script("/health", Reply(200, {"commit": NEW_SHA}))
    result = cli("release", "--env", "staging", env=env)
    assert result.code == 1
    assert "0 migration(s) applied" in result.out
    assert "FAILED at step 5/5 (smoke)" in result.out
    assert "1 of 2 smoke check(s) failed: sql checks/has_team.sql" in result.out
    assert "the schema was not changed by this release" in result.out
    assert "--steps" not in result.out


def test_production_needs_the_word_production(cli, project, app, make_database):
    staging_url, production_url = make_database(), make_database()
    add_config(
        project,
        '[tool.rally_gitops.release.production]\ndeploy_hook_url_env = "HOOK_PRODUCTION"\n',
    )
    app.script("/hook", Reply(200, {}))
    env = {
        "DATABASE_STAGING_URL": staging_url,
        "DATABASE_PUBLIC_URL": production_url,
        "HOOK_PRODUCTION": app.url("/hook"),
        "GIT_SHA": NEW_SHA,
    }
    unpromoted = cli("release", "--env", "production", env=env, stdin="PRODUCTION\n")
    assert unpromoted.code == 1
    assert "promotion guard: 6 migration(s) have not passed staging" in unpromoted.text
    assert "Type PRODUCTION" not in unpromoted.err  # refused before asking
    assert cli("deploy", "--env", "staging", env=env).code == 0
    wrong = cli("release", "--env", "production", env=env, stdin="YES\n")
    assert wrong.code == 1
    assert "Type PRODUCTION to continue" in wrong.err
    assert "cancelled" in wrong.err
    assert applied_count(production_url) is None
    assert app.received("/hook") == []
    eof = cli("release", "--env", "production", env=env, stdin="")
    assert eof.code == 1
    assert applied_count(production_url) is None
    right = cli("release", "--env", "production", env=env, stdin="PRODUCTION\n")
    assert right.code == 0, right.text
    assert applied_count(production_url) == 6
    assert len(app.received("/hook")) == 1
    assert "[4/5] wait for health ... ok" in right.out and "skipped" in right.out


def test_deploy_command_variant(cli, project, database_url, tmp_path):
    script = tmp_path / "fake_platform.py"
    record = tmp_path / "deployed.txt"
    script.write_text(
        "import os, sys\n"
        "print('uploading build for', os.environ['RALLY_ENV'])\n"
        f"open({str(record)!r}, 'w').write(os.environ['RALLY_GIT_SHA'] + ' ' + sys.argv[1])\n"
        "sys.exit(int(os.environ.get('FAKE_EXIT', '0')))\n",
        encoding="utf-8",
    )
    add_config(
        project,
        "[tool.rally_gitops.release.staging]\n"
        f'deploy_command = [{str(sys.executable)!r}, {str(script)!r}, "${{SERVICE}}"]\n'.replace(
            "'", '"'
        ),
    )
    env = {"DATABASE_STAGING_URL": database_url, "GIT_SHA": NEW_SHA, "SERVICE": "api"}
    result = cli("release", "--env", "staging", env=env)
    assert result.code == 0, result.text
    assert "      uploading build for staging" in result.out
    assert record.read_text() == f"{NEW_SHA} api"
    assert "[4/5] wait for health ... ok" in result.out
    failed = cli("release", "--env", "staging", env={**env, "FAKE_EXIT": "3"})
    assert failed.code == 1
    assert "fake_platform.py ${SERVICE}` exited with status 3" in failed.out
    assert "the schema was not changed by this release" in failed.out


def test_missing_hook_variable_is_a_config_error(cli, project, database_url):
    add_config(project, RELEASE_CONFIG)
    result = cli("release", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 2
    assert "deploy_hook_url_env names $HOOK_STAGING, which is not set" in result.err
    assert applied_count(database_url) is None


def test_unknown_release_key(cli, project, database_url):
    add_config(project, '[tool.rally_gitops.release]\ndeploy_hook = "x"\n')
    result = cli("release", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 2
    assert "unknown key 'deploy_hook'" in result.err


def test_dry_run_changes_nothing(cli, project, app, database_url):
    add_config(project, RELEASE_CONFIG)
    app.script("/hook", Reply(200, {}))
    result = cli("release", "--env", "staging", "--dry-run", env=staging_env(app, database_url))
    assert result.code == 0, result.text
    assert "[1/5] check ... ok" in result.out
    assert "2. back up staging, then apply 6 migration(s)" in result.out
    assert "      20241201_090000_create_teams_and_users.sql" in result.out
    assert "3. deploy the application: deploy hook $HOOK_STAGING" in result.out
    assert f"4. poll $HEALTH_STAGING for up to 20s, until commit = {NEW_SHA}" in result.out
    assert "5. smoke-test staging: the ledger, 0 SQL check(s), 0 HTTP check(s)" in result.out
    assert applied_count(database_url) is None
    assert app.requests == []
