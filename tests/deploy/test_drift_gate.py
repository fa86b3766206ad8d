"""Deploy and smoke look at drift: ``[tool.rally_gitops] drift = "warn" | "fail" | "off"``."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from testing.schema_cases import drop_replay_databases, migration_file

NEW = "20250101_000000_venues"


def set_drift(project: Path, line: str) -> None:
    """Set the scratch project's drift to ``line`` (empty: the default)."""
    pyproject = project / "pyproject.toml"
    text = re.sub(r"(?m)^drift = .*\n", "", pyproject.read_text())
    pyproject.write_text(text.replace("[tool.rally_gitops]\n", f"[tool.rally_gitops]\n{line}"))


@pytest.fixture
def drifted(cli, project: Path, make_database, pg_server, monkeypatch):
    """Staging deployed, then a column dropped by hand, and one new migration pending."""
    monkeypatch.delenv("RALLY_DRIFT")  # the tests' default: off
    set_drift(project, 'drift = "off"\n')
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", make_database("replay"))
    env = {"DATABASE_STAGING_URL": make_database("stg")}
    assert cli("deploy", "--env", "staging", env=env).code == 0
    with psycopg.connect(env["DATABASE_STAGING_URL"], autocommit=True) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN last_seen_at")
    body = "CREATE TABLE venues (id int PRIMARY KEY);"
    (project / "migrations" / f"{NEW}.sql").write_text(migration_file(NEW, body))
    yield env
    drop_replay_databases(pg_server.admin_url)


def applied(env: dict[str, str]) -> list[str]:
    with psycopg.connect(env["DATABASE_STAGING_URL"]) as conn:
        rows = conn.execute("SELECT name FROM rally_gitops.applied ORDER BY version").fetchall()
    return [row[0] for row in rows]


def test_warn_by_default_says_what_drifted_and_deploys(cli, project: Path, drifted) -> None:
    set_drift(project, "")
    result = cli("deploy", "--env", "staging", env=drifted)
    assert result.code == 0
    lines = result.out.splitlines()
    before = lines.index(
        "drift check before the deploy: staging differs from its migrations: "
        "1 difference: 0 added, 0 changed, 1 dropped"
    )
    assert lines[before + 1 : before + 3] == [
        "  - column public.users.last_seen_at",
        '  drift = "warn": going on',
    ]
    after = lines.index(
        "drift check after the deploy: staging differs from its migrations: "
        "1 difference: 0 added, 0 changed, 1 dropped"
    )
    assert after > before
    assert applied(drifted)[-1] == NEW


def test_fail_refuses_before_anything_is_applied(cli, project: Path, drifted) -> None:
    set_drift(project, 'drift = "fail"\n')
    result = cli("deploy", "--env", "staging", env=drifted)
    assert result.code == 1
    assert result.err == (
        "error: staging has drifted from the migrations its ledger records (before the deploy): "
        "1 difference: 0 added, 0 changed, 1 dropped; see `rally-gitops drift --env staging`, "
        'or set drift = "warn" in [tool.rally_gitops]\n'
    )
    assert NEW not in applied(drifted)


def test_a_clean_deploy_checks_before_and_after(cli, project: Path, drifted) -> None:
    set_drift(project, 'drift = "fail"\n')
    with psycopg.connect(drifted["DATABASE_STAGING_URL"], autocommit=True) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN last_seen_at timestamptz")  # undo the drift
    result = cli("deploy", "--env", "staging", env=drifted)
    assert result.code == 0
    assert "drift check before the deploy: none (staging matches its 6 migration(s))" in result.out
    assert "drift check after the deploy: none (staging matches its 7 migration(s))" in result.out


def test_off_and_bad_values(cli, project: Path, drifted, monkeypatch) -> None:
    result = cli("deploy", "--env", "staging", env=drifted)  # the fixture set "off"
    assert result.code == 0
    assert "drift" not in result.out
    # RALLY_DRIFT wins over the configuration
    set_drift(project, 'drift = "fail"\n')
    monkeypatch.setenv("RALLY_DRIFT", "off")
    (project / "migrations" / "20250103_000000_x.sql").write_text(
        migration_file("20250103_000000_x", "SELECT 1;")
    )
    assert cli("deploy", "--env", "staging", env=drifted).code == 0
    monkeypatch.setenv("RALLY_DRIFT", "sometimes")
    (project / "migrations" / "20250104_000000_y.sql").write_text(
        migration_file("20250104_000000_y", "SELECT 1;")
    )
    wrong = cli("deploy", "--env", "staging", env=drifted)
    assert (wrong.code, wrong.err) == (
        2,
        "error: RALLY_DRIFT = 'sometimes': expected one of 'warn', 'fail', 'off'\n",
    )
    monkeypatch.delenv("RALLY_DRIFT")
    set_drift(project, 'drift = "loud"\n')
    (project / "migrations" / "20250105_000000_more.sql").write_text(
        migration_file("20250105_000000_more", "SELECT 1;")
    )
    bad = cli("deploy", "--env", "staging", env=drifted)
    assert (bad.code, bad.err) == (
        2,
        "error: [tool.rally_gitops] drift = 'loud': expected one of 'warn', 'fail', 'off'\n",
    )


def test_smoke_fails_on_drift(cli, project: Path, drifted) -> None:
    set_drift(project, "")
    (project / "migrations" / f"{NEW}.sql").unlink()  # nothing pending: only the drift is wrong
    result = cli("smoke", "--env", "staging", "--db-only", env=drifted)
    assert result.code == 1
    assert (
        "  FAIL  schema drift: 1 difference: 0 added, 0 changed, 1 dropped: "
        "- column public.users.last_seen_at"
    ) in result.out.splitlines()
    with psycopg.connect(drifted["DATABASE_STAGING_URL"], autocommit=True) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN last_seen_at timestamptz")
    clean = cli("smoke", "--env", "staging", "--db-only", env=drifted)
    assert clean.code == 0
    assert "  ok    schema drift: matches its 6 migration(s)" in clean.out.splitlines()


def test_both_checks_of_a_deploy_use_its_own_login(
    cli, project: Path, drifted, monkeypatch
) -> None:
    """The deploy's connection serves the drift checks before and after it (each was a login of
    its own, 0.05-0.1 s apiece on a small machine): drift's own connect is never called."""
    from rally_gitops.schema import drift

    def own_login(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the drift check of a deploy logged in on its own")

    monkeypatch.setattr(drift, "connect", own_login)
    set_drift(project, "")
    result = cli("deploy", "--env", "staging", env=drifted)
    assert result.code == 0, result.err
    assert [line.split(":")[0] for line in result.out.splitlines() if "drift check" in line] == [
        "drift check before the deploy",
        "drift check after the deploy",
    ]
    assert applied(drifted)[-1] == NEW


def test_the_schema_expected_after_a_deploy_is_replayed_while_it_applies(
    cli, project: Path, drifted, monkeypatch
) -> None:
    """The check after a deploy compares with the replay of every recorded file plus the pending
    ones; that replay starts before they are applied (on a fresh CI runner it builds the whole
    history's template) and the check uses it: one replay of the full set, begun when the
    ledger still lacked the pending file."""
    from rally_gitops.schema import drift

    replayed: list[tuple[int, list[str]]] = []
    real = drift.replayed_model

    def counted(config: object, migrations: list[object], selection: object) -> object:
        replayed.append((len(migrations), applied(drifted)))
        return real(config, migrations, selection)

    monkeypatch.setattr(drift, "replayed_model", counted)
    set_drift(project, "")
    files = sorted(p.stem for p in (project / "migrations").glob("*.sql"))
    result = cli("deploy", "--env", "staging", env=drifted)
    assert result.code == 0, result.err
    assert "drift check after the deploy: staging differs" in result.out  # the column dropped
    full = [(count, ledger) for count, ledger in replayed if count == len(files)]
    assert full == [(len(files), files[:-1])]  # once, before NEW was applied
    assert applied(drifted) == files
