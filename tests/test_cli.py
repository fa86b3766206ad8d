"""The command line: bad input as one clear line, confirmations, new, check, status, plan."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from rally_gitops import __version__
from rally_gitops.files.migrations import discover, parse
from rally_gitops.postgres.embedded import bin_dir
from testing.migration_files import ledger_rows, tables
from testing.pg import TEST_PASSWORD
from testing.process import run_process


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_line_error(result, code: int, *needles: str) -> None:
    assert result.code == code, result.text
    assert "Traceback" not in result.text
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


class Tty(io.StringIO):
    """A stdin that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


# --- bad input: real processes, one line, no traceback, the right exit code -------------------


def test_unreachable_host(project: Path) -> None:
    port = closed_port()
    result = run_process(
        ["status", "--env", "staging"],
        cwd=project,
        env={"DATABASE_STAGING_URL": f"postgresql://app:hunter22@127.0.0.1:{port}/app"},
    )
    assert_one_line_error(
        result, 1, f"cannot connect to postgresql://app:***@127.0.0.1:{port}/app", "refused"
    )
    assert "hunter22" not in result.text


def test_wrong_password(project: Path, pg_server, database_url: str) -> None:
    url = pg_server.password_url(urlsplit(database_url).path.lstrip("/"))
    wrong = url.replace("Pw-s3cret-4711", "Wrong-pw-0815")
    result = run_process(
        ["deploy", "--env", "staging"], cwd=project, env={"DATABASE_STAGING_URL": wrong}
    )
    assert_one_line_error(result, 1, "password authentication failed", "rally_pw_user:***@")
    assert "Wrong-pw-0815" not in result.text


def test_missing_variable(project: Path) -> None:
    result = run_process(["deploy", "--env", "production"], cwd=project)
    assert_one_line_error(result, 2, "DATABASE_PUBLIC_URL is not set")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://app:hunter22@db/app", "must be a postgresql:// URL"),
        ("postgresql://app:hunter22@db:notaport/app", "not a valid PostgreSQL URL"),
        ("postgresql://app:hunter22@db/app?sslmode=sometimes", "not a valid PostgreSQL URL"),
        ("hunter22", "must be a postgresql:// URL"),
        ("postgresql://app:hunter22@db:99999/app", "not a number from 1 to 65535"),
    ],
)
def test_malformed_url(project: Path, url: str, needle: str) -> None:
    result = run_process(
        ["status", "--env", "staging"], cwd=project, env={"DATABASE_STAGING_URL": url}
    )
    assert_one_line_error(result, 2, needle, "DATABASE_STAGING_URL")
    assert "hunter22" not in result.text


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("add_users.sql", b"SELECT 1;", "add_users.sql: bad migration file name"),
        ("20241201_090000_again.sql", b"SELECT 1;", "version 20241201_090000 is also used by"),
        ("20250101_000000_latin1.sql", b"-- caf\xe9\nSELECT 1;", "not UTF-8"),
        ("20250101_000000_empty.sql", b"", "empty migration file"),
        ("20250101_000000_blank.sql", b"\n  \n", "empty migration file"),
    ],
)
def test_bad_migration_files(
    project: Path, database_url: str, name: str, data: bytes, needle: str
) -> None:
    (project / "migrations" / name).write_bytes(data)
    env = {"DATABASE_STAGING_URL": database_url}
    result = run_process(["deploy", "--env", "staging"], cwd=project, env=env)
    assert_one_line_error(result, 2, needle)
    # status names the file and still shows the environment (tests/commands/test_status.py)
    result = run_process(["status", "--env", "staging"], cwd=project, env=env)
    assert_one_line_error(result, 2, "1 bad migration file(s), listed above")
    assert needle in result.out.splitlines()[0] and "staging (" in result.out
    assert ledger_rows(database_url) == []


def test_migrations_dir_missing(project: Path, database_url: str) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.rally_gitops]\nmigrations_dir = "db/migrations"\n'
    )
    result = run_process(
        ["deploy", "--env", "staging"], cwd=project, env={"DATABASE_STAGING_URL": database_url}
    )
    assert_one_line_error(result, 2, "migrations directory", "db/migrations does not exist")


def test_bad_configuration(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.rally_gitops]\nlock_timeout = "soon"\n')
    result = run_process(["status", "--env", "staging"], cwd=project)
    assert_one_line_error(result, 2, "lock_timeout", "expected a duration")


def test_structural_error_in_a_pending_file_stops_before_anything_runs(
    cli, project: Path, database_url: str
) -> None:
    (project / "migrations" / "20991231_000000_two_tx.sql").write_text(
        "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n"
    )
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert_one_line_error(result, 2, "20991231_000000_two_tx.sql:3: transaction control (COMMIT)")
    assert tables(database_url) == set()


def test_unknown_environment_and_usage(cli) -> None:
    result = cli("status", "--env", "qa")
    assert_one_line_error(result, 2, "unknown environment 'qa'", "local, staging, production")
    with pytest.raises(SystemExit) as exc:
        cli("deploy")  # --env is required: argparse's own usage error
    assert exc.value.code == 2


def test_version_help_and_no_command(project: Path) -> None:
    version = run_process(["--version"], cwd=project)
    assert version.code == 0 and version.out.strip() == f"rally-gitops {__version__}"
    help_ = run_process(["--help"], cwd=project)
    assert help_.code == 0
    for command in ("new", "status", "plan", "deploy", "check", "baseline", "repair", "ledger"):
        assert command in help_.out
    bare = run_process([], cwd=project)
    assert bare.code == 2 and "usage:" in bare.err


# --- confirmation ------------------------------------------------------------------------------


@pytest.fixture
def no_promotion_guard(project: Path) -> None:
    """Production deploys here need no staging database (the guard has its own tests)."""
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("\n[tool.rally_gitops.backup]\nrequire_staging = false\n")


def test_yes_is_refused_on_a_terminal_without_ci(
    cli, no_promotion_guard, database_url: str, monkeypatch
) -> None:
    monkeypatch.setattr(sys, "stdin", Tty(""))
    result = cli(
        "deploy", "--env", "production", "--yes", env={"DATABASE_PUBLIC_URL": database_url}
    )
    assert_one_line_error(result, 2, "--yes is only accepted in CI")
    assert tables(database_url) == set()
    accepted = cli("deploy", "--env", "production", "--yes", env={"CI": "true"})
    assert accepted.code == 0, accepted.text
    assert len(ledger_rows(database_url)) == 6


def test_yes_is_accepted_without_a_terminal(cli, no_promotion_guard, database_url: str) -> None:
    result = cli(
        "deploy",
        "--env",
        "production",
        "--yes",
        env={"DATABASE_PUBLIC_URL": database_url},
        stdin="",
    )
    assert result.code == 0, result.text
    assert len(ledger_rows(database_url)) == 6


def test_production_needs_typed_yes(
    cli, no_promotion_guard, database_url: str, monkeypatch
) -> None:
    env = {"DATABASE_PUBLIC_URL": database_url}
    for answer, needle in (
        ("yes\n", "did not match"),
        ("", "stdin closed"),
        ("no\n", "did not match"),
    ):
        monkeypatch.setattr(sys, "stdin", Tty(answer))
        result = cli("deploy", "--env", "production", env=env)
        assert result.code == 1 and needle in result.err, result.text
        assert "Type YES to continue" in result.err
        assert tables(database_url) == set()
    monkeypatch.setattr(sys, "stdin", Tty("YES\n"))
    result = cli("deploy", "--env", "production")
    assert result.code == 0, result.text
    assert "About to apply 6 migration(s) to production" in result.err
    assert len(ledger_rows(database_url)) == 6


def test_staging_needs_no_confirmation(cli, database_url: str, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", Tty(""))
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0 and "Type YES" not in result.err


def test_production_confirmation_through_a_real_process(
    no_promotion_guard, project: Path, database_url: str
) -> None:
    env = {"DATABASE_PUBLIC_URL": database_url}
    refused = run_process(["deploy", "--env", "production"], cwd=project, env=env, stdin="nope\n")
    assert refused.code == 1 and "cancelled" in refused.err
    done = run_process(["deploy", "--env", "production"], cwd=project, env=env, stdin="YES\n")
    assert done.code == 0, done.text
    assert len(ledger_rows(database_url)) == 6


# --- new -----------------------------------------------------------------------------------------


def test_new_creates_a_file_that_parses_and_deploys(cli, project: Path, database_url: str) -> None:
    result = cli("new", "Add user avatars!")
    assert result.code == 0, result.text
    (path,) = (project / "migrations").glob("*_add_user_avatars.sql")
    assert result.out.strip() == f"created {path}"
    migration = parse(path)
    assert migration.description == "Add user avatars!"
    assert migration.header["migration"] == migration.name
    assert migration.body() == ()
    assert migration.rollback is not None
    notx = cli("new", "index avatars", "--no-transaction")
    assert notx.code == 0
    (notx_path,) = (project / "migrations").glob("*_index_avatars.sql")
    assert parse(notx_path).no_transaction
    path.write_text(
        path.read_text().replace("-- Write the migration here.", "CREATE TABLE avatars (id int);")
    )
    notx_text = notx_path.read_text().replace(
        "-- Rollback script",
        "CREATE INDEX CONCURRENTLY avatars_id ON avatars (id);\n\n-- Rollback script",
    )
    notx_path.write_text(notx_text)
    assert len(discover(project / "migrations")) == 8
    deployed = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert deployed.code == 0, deployed.text
    assert "avatars" in tables(database_url)
    assert len(ledger_rows(database_url)) == 8


def test_new_never_reuses_a_version(cli, project: Path) -> None:
    for _ in range(3):
        assert cli("new", "same second").code == 0
    versions = [p.name[:15] for p in (project / "migrations").glob("*_same_second.sql")]
    assert len(set(versions)) == 3
    discover(project / "migrations")  # no duplicate version


def test_new_needs_a_usable_description(cli) -> None:
    assert_one_line_error(cli("new", "!!!"), 2, "no letters or digits")


def test_sample_and_new_files_run_under_plain_psql(cli, project: Path, database_url: str) -> None:
    """The manual-recovery path: every file's up part runs with psql -v ON_ERROR_STOP=1 -f."""
    assert cli("new", "add avatars").code == 0
    for path in sorted((project / "migrations").glob("*.sql")):
        proc = subprocess.run(
            [
                str(bin_dir() / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database_url,
                "-f",
                str(path),
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
    assert {"teams", "users", "matches", "user_preferences", "match_participants"} <= tables(
        database_url
    )


# --- status, check, plan ------------------------------------------------------------------------


def test_status_json(cli, project: Path, database_url: str) -> None:
    env = {"DATABASE_STAGING_URL": database_url}
    before = json.loads(cli("status", "--env", "staging", "--json", env=env).out)
    assert before["staging"]["applied"] == [] and len(before["staging"]["pending"]) == 6
    assert cli("deploy", "--env", "staging").code == 0
    (project / "migrations" / "20991231_000000_next.sql").write_text("SELECT 1;\n")
    result = cli("status", "--env", "staging", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    staging = data["staging"]
    assert set(staging) == {
        "database",
        "applied",
        "pending",
        "changed",
        "missing",
        "out_of_order",
        "blocked",
    }
    assert len(staging["applied"]) == 6
    assert staging["pending"] == ["20991231_000000_next"]
    assert staging["changed"] == staging["missing"] == staging["out_of_order"] == []
    assert staging["blocked"] is None
    assert staging["database"].startswith("staging (postgresql://")


def test_status_of_every_configured_environment(cli, database_url: str) -> None:
    port = closed_port()
    result = cli(
        "status",
        env={
            "DATABASE_URL": database_url,
            "DATABASE_STAGING_URL": f"postgresql://u:pw12@127.0.0.1:{port}/x",
        },
    )
    assert result.code == 1  # one environment could not be read
    assert "local (postgresql://" in result.out and "0 applied, 6 pending" in result.out
    assert "staging: cannot connect" in result.out
    assert "production" not in result.out  # not configured: not shown


def test_check_output(cli, database_url: str) -> None:
    result = cli("check", env={"DATABASE_URL": database_url})
    assert result.code == 0, result.text
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("local: ok, local (postgresql://")
    assert "PostgreSQL 1" in lines[0] and "latency" in lines[0] and "no ledger yet" in lines[0]
    assert lines[1] == "staging: not configured (DATABASE_STAGING_URL is not set), skipped"
    assert lines[2] == "production: not configured (DATABASE_PUBLIC_URL is not set), skipped"
    assert cli("deploy", "--env", "local").code == 0
    assert "ledger present (6 applied)" in cli("check", "--env", "local").out


def test_check_reports_an_unreachable_environment(cli, database_url: str) -> None:
    port = closed_port()
    result = cli(
        "check",
        env={
            "DATABASE_URL": database_url,
            "DATABASE_STAGING_URL": f"postgresql://u@127.0.0.1:{port}/x",
        },
    )
    assert result.code == 1
    assert "local: ok" in result.out
    assert "staging: FAILED: cannot connect to" in result.out


def test_check_reports_missing_rights(cli, pg_server, database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rally_readonly")
        conn.execute(
            sql.SQL("CREATE ROLE rally_readonly LOGIN PASSWORD {}").format(
                sql.Literal(TEST_PASSWORD)
            )
        )
    url = (
        f"postgresql://rally_readonly:{TEST_PASSWORD}@{pg_server.tcp_host}:{pg_server.tcp_port}"
        f"/{name}"
    )
    try:
        result = cli("check", "--env", "staging", env={"DATABASE_STAGING_URL": url})
    finally:
        pg_server.drop_database(name)  # before the role: it may not be dropped while connected
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute("DROP ROLE rally_readonly")
    assert result.code == 1
    assert result.out.endswith(
        f"reachable, but role rally_readonly may not create the ledger schema rally_gitops in "
        f"database {name}: GRANT CREATE ON DATABASE {name} TO rally_readonly; (or deploy once "
        "with the database owner's role)\n"
    )


def test_check_read_only_asks_for_the_rights_of_a_reader(cli, pg_server, database_url) -> None:
    """``check --read-only`` (the production workflow's plan job, with a read-only role) asks
    for reading the ledger, where a plain ``check`` asks for writing it."""
    assert cli("deploy", "--env", "staging", "--yes", env={"DATABASE_STAGING_URL": database_url})
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rally_reader")
        conn.execute(
            sql.SQL("CREATE ROLE rally_reader LOGIN PASSWORD {}").format(sql.Literal(TEST_PASSWORD))
        )
    url = (
        f"postgresql://rally_reader:{TEST_PASSWORD}@{pg_server.tcp_host}:{pg_server.tcp_port}"
        f"/{name}"
    )
    env = {"DATABASE_STAGING_URL": url}
    try:
        unreadable = cli("check", "--env", "staging", "--read-only", env=env)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("GRANT USAGE ON SCHEMA rally_gitops TO rally_reader")
            conn.execute(
                "GRANT SELECT ON rally_gitops.applied, rally_gitops.history TO rally_reader"
            )
        readable = cli("check", "--env", "staging", "--read-only", env=env)
        writing = cli("check", "--env", "staging", env=env)
    finally:
        pg_server.drop_database(name)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute("DROP ROLE rally_reader")
    owner = urlsplit(database_url).username  # who deployed, so owns the ledger schema
    assert unreadable.code == 1
    assert unreadable.out.endswith(
        "reachable, but role rally_reader may not read the ledger schema rally_gitops: GRANT USAGE "
        "ON SCHEMA rally_gitops TO rally_reader; GRANT SELECT ON rally_gitops.applied, "
        f"rally_gitops.history TO rally_reader; (as {owner}, the schema's owner)\n"
    )
    assert readable.code == 0, readable.text
    assert readable.out.rstrip().endswith("ledger present (6 applied), read-only check")
    assert writing.code == 1
    assert "may not write the ledger schema rally_gitops" in writing.out
    assert TEST_PASSWORD not in unreadable.text + readable.text + writing.text


def test_plan_shows_sql_and_changes_nothing(cli, database_url: str) -> None:
    result = cli("plan", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0, result.text
    assert "6 migration(s) would be applied, in this order" in result.out
    assert "CREATE TABLE teams (" in result.out
    assert "20241212_080000_index_matches_status.sql [no-transaction]" in result.out
    assert result.out.index("20241201_090000") < result.out.index("20241212_080000")
    assert tables(database_url) == set() and ledger_rows(database_url) == []
