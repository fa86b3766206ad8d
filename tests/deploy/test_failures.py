"""How a deploy fails: one ``error:`` line and ``note:`` lines, nothing of psycopg's, an unknown
outcome said as such, refusals before anything runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from testing.migration_files import ledger_rows, tables, write_migration
from testing.process import URL_VARIABLES, interruptible, run_process

A, B = "20250101_000000", "20250102_000000"


def one_error_then_notes(err: str) -> list[str]:
    """stderr as the README promises it: exactly one ``error:`` line, first, then ``note:``."""
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    assert lines[0].startswith("error: "), lines
    assert all(line.startswith("note: ") for line in lines[1:]), lines
    return lines


def test_a_failed_pipeline_prints_only_the_tools_lines_on_stderr(
    project: Path, mig: Path, database_url: str
) -> None:
    # the statements after the error are still being sent when it arrives: psycopg then logs
    # "error ignored terminating <psycopg.Pipeline ...>" unless the tool silences its logger
    statements = "SELECT 1 / 0;\n" + "SELECT 1;\n" * 3000
    write_migration(mig, A, "big", statements)
    result = run_process(
        ["deploy", "--env", "staging", "--no-backup"],
        cwd=project,
        env={"DATABASE_STAGING_URL": database_url},
    )
    assert result.code == 1
    assert one_error_then_notes(result.err) == [
        f"error: {A}_big.sql:6: division by zero [SQLSTATE 22012] (the migration was rolled back)",
        "note: nothing was applied to staging",
    ]


def test_every_failure_is_one_error_line_and_notes(
    cli, project: Path, mig: Path, make_database
) -> None:
    staging, production = make_database("stg"), make_database("prd")
    env = {"DATABASE_STAGING_URL": staging, "DATABASE_PUBLIC_URL": production, "CI": "true"}
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    write_migration(mig, B, "broken", "CREATE TABLE second_t (id int);\nSELECT 1 / 0;")
    failed = cli("deploy", "--env", "staging", "--no-backup", env=env)
    assert (failed.code, one_error_then_notes(failed.err)) == (
        1,
        [
            f"error: {B}_broken.sql:7: division by zero [SQLSTATE 22012] (the migration was "
            "rolled back)",
            "note: 1 of 2 migration(s) applied to staging before the failure; they stay applied "
            "and recorded",
        ],
    )
    guarded = cli("deploy", "--env", "production", "--yes")
    assert (guarded.code, one_error_then_notes(guarded.err)) == (
        1,
        [
            "error: promotion guard: 1 migration(s) have not passed staging:",
            f"note: {B}_broken.sql: not applied on staging",
            "note: Deploy them to staging first (`rally-gitops deploy --env staging`); nothing "
            "was applied to production.",
        ],
    )
    first = mig / f"{A}_first.sql"
    first.write_text(first.read_text().replace("first_t", "first_table"))
    edited = cli("deploy", "--env", "staging")
    assert edited.code == 1
    assert len(one_error_then_notes(edited.err)) == 1
    usage = cli("deploy", "--env", "nowhere")
    assert (usage.code, one_error_then_notes(usage.err)) == (
        2,
        ["error: unknown environment 'nowhere' (configured: local, staging, production)"],
    )


@pytest.mark.parametrize("how", ["terminate", "interrupt"])
def test_a_deploy_cut_off_mid_migration_says_only_what_is_known(
    how: str, project: Path, mig: Path, database_url: str
) -> None:
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    write_migration(mig, B, "slow", "CREATE TABLE slow_t (id int);\nSELECT pg_sleep(60);")
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    env["DATABASE_STAGING_URL"] = database_url
    child = subprocess.Popen(
        [sys.executable, "-m", "rally_gitops", "deploy", "--env", "staging", "--no-backup"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        pid = wait_for_sleeping_deploy(database_url)
        if how == "terminate":  # the server ends the session, as a restart or failover would
            with psycopg.connect(database_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        else:
            child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    lines = one_error_then_notes(err)
    assert "psycopg" not in err and "Traceback" not in err
    assert f"applied {A}_first.sql" in out and f"applied {B}_slow.sql" not in out
    if how == "terminate":
        assert child.returncode == 1
        assert lines == [
            f"error: lost the connection to the database while applying {B}_slow.sql: whether "
            "it committed is unknown",
            "note: run `rally-gitops status --env staging` to see whether it is applied; the 1 "
            "migration(s) before it are applied and recorded",
        ]
    else:
        assert child.returncode == 130
        assert lines[0].startswith("error: interrupted")
    assert ledger_rows(database_url) == [(A, f"{A}_first")]  # the slow one did not commit
    assert tables(database_url) == {"first_t"}


def wait_for_sleeping_deploy(url: str) -> int:
    """The backend pid of the deploy once it runs ``pg_sleep``."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active'"
                " AND application_name LIKE 'rally-gitops deploy%' AND query LIKE '%pg_sleep%'"
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the deploy never reached pg_sleep")


def test_two_phase_commit_is_refused_before_anything_runs(staging, mig: Path) -> None:
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    write_migration(mig, B, "prepared", "CREATE TABLE p_t (id int);\nPREPARE TRANSACTION 'rally';")
    result = staging("deploy")
    assert result.code == 1
    assert result.err == (
        f"error: {B}_prepared.sql:7: PREPARE TRANSACTION in a migration: the ledger row would "
        "commit while the migration's transaction stays prepared; remove it (nothing was "
        "applied)\n"
    )
    assert (ledger_rows(staging.url), tables(staging.url)) == ([], set())


def test_a_no_transaction_migration_may_not_drop_the_ledger(staging, mig: Path) -> None:
    write_migration(mig, A, "first", "CREATE TABLE first_t (id int);")
    assert staging("deploy").code == 0
    write_migration(mig, B, "wipe", "DROP SCHEMA rally_gitops CASCADE;", no_transaction=True)
    result = staging("deploy")
    assert result.code == 1
    assert result.err == (
        f"error: {B}_wipe.sql:5: the statement touches the ledger schema rally_gitops, which only "
        "rally-gitops may change (`repair`, `baseline`); remove it (nothing was applied)\n"
    )
    assert ledger_rows(staging.url) == [(A, f"{A}_first")]


def test_a_renamed_applied_file_is_changed_in_status_and_refused_by_deploy(
    staging, mig: Path
) -> None:
    path = write_migration(mig, A, "add_users", "CREATE TABLE users (id int);")
    assert staging("deploy").code == 0
    path.rename(mig / f"{A}_create_users.sql")
    status = staging("status")
    assert status.code == 0, status.text  # status reports; deploy refuses
    assert f"CHANGED  (renamed, applied as {A}_add_users.sql) {A}_create_users.sql" in status.out
    assert "1 applied, 0 pending, 1 changed" in status.out
    result = staging("deploy")
    assert result.code == 1
    assert result.err == (
        f"error: staging: already-applied migration(s) were edited: {A}_create_users.sql "
        f"(renamed from {A}_add_users.sql). Revert the edit (or the rename) and put the change in "
        "a new migration (`rally-gitops new`).\n"
    )
