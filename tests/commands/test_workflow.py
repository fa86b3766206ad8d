from __future__ import annotations

from pathlib import Path

import psycopg
import pytest


@pytest.fixture
def envs(make_database, pg_server):
    """Fresh staging and production databases; validate replays on the test server."""
    return {
        "DATABASE_STAGING_URL": make_database("staging"),
        "DATABASE_PUBLIC_URL": make_database("production"),
        "RALLY_REPLAY_DATABASE_URL": pg_server.admin_url,
    }


def applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('rally_gitops.applied')").fetchone()[0] is None:
            return 0
        return conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()[0]


def deployed(envs: dict[str, str]) -> tuple[int, int]:
    return applied(envs["DATABASE_STAGING_URL"]), applied(envs["DATABASE_PUBLIC_URL"])


def test_interactive_all_the_way(cli, envs):
    result = cli("workflow", env=envs, stdin="y\nYES\n")
    assert result.code == 0, result.text
    assert deployed(envs) == (6, 6)
    assert "Deploy 6 migration(s) to staging? [y/N]" in result.err
    assert "Type YES to continue" in result.err
    assert "== 2/7 status of every environment ==" in result.out
    # no DATABASE_URL and no embedded server running: local is not compared (nor started)
    assert (
        "local: DATABASE_URL is not set and no embedded server runs: nothing to compare"
        in result.out
    )
    assert "0 applied, 6 pending" in result.out
    assert "lint: ok" in result.out and "validate: ok" in result.out
    assert "Backup staging_backup_" in result.out
    assert "Backup production_backup_" in result.out
    assert "smoke staging: all 1 check(s) passed" in result.out
    assert "smoke production: all 1 check(s) passed" in result.out
    assert "Workflow done" in result.out


def test_answer_no_to_staging(cli, envs):
    result = cli("workflow", env=envs, stdin="n\n")
    assert result.code == 0
    assert "Stopped before staging: nothing was deployed." in result.out
    assert deployed(envs) == (0, 0)


def test_end_of_input_means_no(cli, envs):
    result = cli("workflow", env=envs, stdin="")
    assert result.code == 0
    assert "(no answer: no)" in result.err
    assert deployed(envs) == (0, 0)


def test_production_needs_typed_yes(cli, envs):
    result = cli("workflow", env=envs, stdin="y\nyes\n")
    assert result.code == 0
    assert "Production skipped: nothing was deployed there." in result.out
    assert deployed(envs) == (6, 0)
    # a second run: staging is up to date, only production is offered; EOF declines it
    again = cli("workflow", env=envs, stdin="")
    assert again.code == 0
    assert "nothing pending on staging: skipped" in again.out
    assert "staging is up to date" in again.out
    assert "Production skipped" in again.out
    assert deployed(envs) == (6, 0)


def test_auto_is_staging_only_without_questions(cli, envs):
    result = cli("workflow", "--auto", env=envs, stdin="")
    assert result.code == 0, result.text
    assert deployed(envs) == (6, 0)
    assert "[y/N]" not in result.err and "Type YES" not in result.err
    assert "--auto: production is left alone" in result.out


def test_production_yes_in_ci(cli, envs):
    result = cli("workflow", "--production", "--yes", env={**envs, "CI": "true"}, stdin="")
    assert result.code == 0, result.text
    assert deployed(envs) == (6, 6)
    assert "[y/N]" not in result.err and "Type YES" not in result.err


def test_production_flag_asks_for_the_word(cli, envs):
    wrong = cli("workflow", "--production", env=envs, stdin="y\n")
    assert wrong.code == 1
    assert "cancelled" in wrong.err
    assert deployed(envs) == (6, 0)
    right = cli("workflow", "--production", env=envs, stdin="YES\n")
    assert right.code == 0, right.text
    assert deployed(envs) == (6, 6)


def test_yes_without_production_is_a_usage_error(cli, envs):
    result = cli("workflow", "--yes", env={**envs, "CI": "true"})
    assert result.code == 2
    assert "--yes only applies with --production" in result.err


def test_lint_failure_stops_before_staging(cli, project: Path, envs):
    (project / "migrations" / "20250101_000000_broken.sql").write_text(
        "CREATE TABLE broken (id int;\n", encoding="utf-8"
    )
    declined = cli("workflow", env=envs, stdin="n\n")
    assert declined.code == 1
    assert "lint: FAILED (exit 1)" in declined.out
    assert "lint failed. Deploy to staging anyway? [y/N]" in declined.err
    assert "Stopped before staging" in declined.out
    assert deployed(envs) == (0, 0)
    auto = cli("workflow", "--auto", env=envs)
    assert auto.code == 1
    assert deployed(envs) == (0, 0)


def test_staging_smoke_failure_stops_before_production(cli, project: Path, envs):
    # an HTTP check for the application is not run: the workflow deploys the schema only
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[[tool.rally_gitops.smoke.http]]\nurl = "http://127.0.0.1:9/health"\n')
    checks = project / "migrations" / "checks"
    checks.mkdir()
    (checks / "has_team.sql").write_text("SELECT EXISTS (SELECT 1 FROM teams)", encoding="utf-8")
    result = cli("workflow", "--production", "--yes", env={**envs, "CI": "true"})
    assert result.code == 1
    assert "staging failed its smoke tests, so production is not offered" in result.out
    assert "has_team.sql: returned false" in result.out
    assert "127.0.0.1:9" not in result.out
    assert deployed(envs) == (6, 0)


def test_lint_and_validate_run_without_reentering_the_cli(cli, envs, monkeypatch):
    import rally_gitops.main as main_mod

    def reentered(argv=None):
        raise AssertionError(f"workflow re-entered the CLI with {argv}")

    monkeypatch.setattr(main_mod, "main", reentered)
    result = cli("workflow", "--auto", env=envs)
    assert result.code == 0, result.text
    # run from elsewhere: the echoed command names the project (see test_workflow_commands.py)
    assert "$ rally-gitops -C /" in result.out and "/migrations/20" in result.out
    assert "lint: ok" in result.out
    assert "validate: ok" in result.out
    assert "re-entered" not in result.text


def test_staging_must_be_configured(cli):
    result = cli("workflow", "--auto")
    assert result.code == 2
    assert "set DATABASE_STAGING_URL" in result.err


def test_real_process_driven_through_stdin(project: Path, envs):
    from testing.process import run_process

    result = run_process(["workflow"], cwd=project, env=envs, stdin="y\nno\n")
    assert result.code == 0, result.text
    assert "Deploy 6 migration(s) to staging? [y/N]" in result.err
    assert "Production skipped" in result.out
    assert "Traceback" not in result.text
    assert deployed(envs) == (6, 0)


def test_yes_at_a_terminal_is_refused_before_anything(cli, envs, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    result = cli("workflow", "--production", "--yes", env=envs)
    assert result.code == 2
    assert "--yes is only accepted in CI" in result.err
    assert deployed(envs) == (0, 0)
