"""``rally-gitops rehearse``: pending migrations measured on a restored copy of a real backup."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from testing.migration_files import history, ledger_rows, write_migration
from testing.process import interruptible

STAGING = "DATABASE_STAGING_URL"
ROWS = 5000
BIGINT = "20250101_000200_n_bigint.sql"
NOT_NULL = "20250101_000300_note_not_null.sql"


def scratch_databases(url: str, pid: int | None = None) -> list[str]:
    """The rehearsal databases (of process ``pid``) on the server of ``url``."""
    pattern = "rally\\_replay\\_rehearse\\_" + (f"{pid}\\_" if pid else "") + "%"
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        ).fetchall()
    return [row[0] for row in rows]


def snapshot(url: str) -> dict[str, Any]:
    """Everything a rehearsal must leave as it was: ledger, history, columns, indexes, rows."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        rows = conn.execute("SELECT count(*), sum(n) FROM items").fetchone()
    return {
        "ledger": ledger_rows(url),
        "history": history(url),
        "columns": columns,
        "indexes": indexes,
        "rows": rows,
    }


@pytest.fixture
def replay_url(make_database, pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The replay server: a maintenance database of the test server (local: a Unix socket)."""
    url = make_database("rehearse")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    return url


@pytest.fixture
def staging(cli, project: Path, database_url: str, replay_url: str) -> str:
    """Staging with a table of ``ROWS`` rows, deployed and backed up; two migrations pending."""
    mig = project / "migrations"
    shutil.rmtree(mig)
    write_migration(
        mig,
        "20250101_000000",
        "items",
        "CREATE TABLE items (id int PRIMARY KEY, n int, note text);\nCREATE TABLE empty (id int);",
    )
    write_migration(
        mig,
        "20250101_000100",
        "fill",
        f"INSERT INTO items SELECT g, g, 'x' FROM generate_series(1, {ROWS}) g;",
    )
    env = {STAGING: database_url}
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    assert cli("backup", "--env", "staging", env=env).code == 0
    write_migration(
        mig, "20250101_000200", "n_bigint", "ALTER TABLE items ALTER COLUMN n TYPE bigint;"
    )
    write_migration(
        mig, "20250101_000300", "note_not_null", "ALTER TABLE items ALTER COLUMN note SET NOT NULL;"
    )
    return database_url


def configure(project: Path, text: str) -> None:
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(f"\n{text}\n")


def test_a_backup_is_rehearsed_and_the_environment_is_untouched(
    cli, staging: str, replay_url: str
) -> None:
    before = snapshot(staging)
    result = cli("rehearse", "--env", "staging")
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("Restoring staging_backup_")
    assert lines[1].startswith("Rehearsed 2 pending migration(s) of staging on a copy of ")
    assert "(2 applied, newest 20250101_000100_fill; full " in lines[1]
    first = lines.index(next(x for x in lines if x.startswith(f"{BIGINT}  (")))
    assert re.fullmatch(rf"{BIGINT}  \(\d+\.\d{{3}}s\)", lines[first])
    assert lines[first + 1].split() == [
        "LINE",
        "STATEMENT",
        "SECONDS",
        *"LOCKS / REWRITE, SCAN / ROWS".split(),
    ]
    row = lines[first + 2]
    assert row.startswith("      6  ALTER TABLE items ALTER COLUMN n TYPE bigint")
    assert row.endswith("  AccessExclusiveLock public.items; rewrite, scan; 5000 row(s) before")
    assert lines[first + 3].strip() == (
        "AccessExclusiveLock public.items_pkey; rewrite; 5000 row(s) before"
    )
    assert re.fullmatch(
        r"  writes blocked until COMMIT: public\.items \d\.\d{3}s", lines[first + 4]
    )
    totals = lines.index(
        "ACCESS EXCLUSIVE (blocks reads and writes) held by the deploy, per table:"
    )
    assert re.fullmatch(r"  public\.items +\d\.\d{3}s", lines[totals + 1])  # not its index
    assert lines[-1].startswith("2 migration(s) applied on the copy in ")
    assert lines[-1].endswith("; no lock blocking writes on a table with rows beyond 5s")
    assert snapshot(staging) == before  # nothing was written to staging, not even history
    assert scratch_databases(replay_url) == []


def test_json_report_shape(cli, staging: str, replay_url: str) -> None:
    result = cli("rehearse", "--env", "staging", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert set(report) == {
        "environment", "pending", "backup", "server", "restore_seconds", "caught_up",
        "not_rehearsed", "migrations", "access_exclusive_seconds", "max_lock_seconds",
        "long_locks", "failure", "ok",
    }  # fmt: skip
    assert report["environment"] == "staging"
    assert report["pending"] == [BIGINT, NOT_NULL]
    assert report["backup"]["kind"] == "full"
    assert report["backup"]["name"].startswith("staging_backup_")
    assert report["caught_up"] == report["not_rehearsed"] == report["long_locks"] == []
    assert report["failure"] is None and report["ok"] is True
    assert report["max_lock_seconds"] == 5.0
    assert [m["filename"] for m in report["migrations"]] == [BIGINT, NOT_NULL]
    bigint, not_null = report["migrations"]
    (statement,) = bigint["statements"]
    assert statement["text"] == "ALTER TABLE items ALTER COLUMN n TYPE bigint"
    assert statement["seconds"] > 0 and bigint["seconds"] >= statement["seconds"]
    items = next(e for e in statement["effects"] if e["relation"].endswith("items"))
    assert items["lock"] == "AccessExclusiveLock"
    assert (items["rewrite"], items["rows_before"]) == (True, ROWS)
    (check,) = not_null["statements"]
    scanned = next(e for e in check["effects"] if e["relation"].endswith("items"))
    assert (scanned["scan"], scanned["rewrite"]) == (True, False)
    relation = items["relation"]
    assert set(report["access_exclusive_seconds"]) >= {relation}
    assert report["access_exclusive_seconds"][relation] == pytest.approx(
        bigint["writes_blocked_seconds"][relation] + not_null["writes_blocked_seconds"][relation],
        abs=1e-5,
    )
    assert scratch_databases(replay_url) == []


def test_a_failing_migration_exits_1_with_the_deploys_message(
    cli, project: Path, staging: str, replay_url: str, make_database
) -> None:
    (project / "migrations" / NOT_NULL).unlink()
    write_migration(
        project / "migrations", "20250101_000300", "broken", "UPDATE items SET n = n / 0;"
    )
    before = snapshot(staging)
    result = cli("rehearse", "--env", "staging")
    assert result.code == 1
    err = result.err.splitlines()
    assert err == [
        "error: 20250101_000300_broken.sql:6: division by zero [SQLSTATE 22012] "
        "(the migration was rolled back)",
        "note: on the copy of staging: 1 of 2 migration(s) applied before the failure",
    ]
    assert f"{BIGINT}  (" in result.out  # the one before it was measured
    assert "20250101_000300_broken.sql  FAILED on the copy (see the error below)" in result.out
    assert snapshot(staging) == before
    assert scratch_databases(replay_url) == []
    # a real deploy of the same state says the same first line
    twin = make_database("twin")
    env = {STAGING: twin}
    hold = project / "hold"
    hold.mkdir()
    for name in (BIGINT, "20250101_000300_broken.sql"):
        (project / "migrations" / name).rename(hold / name)
    assert cli("deploy", "--env", "staging", "--no-backup", env=env).code == 0
    for name in (BIGINT, "20250101_000300_broken.sql"):
        (hold / name).rename(project / "migrations" / name)
    deployed = cli("deploy", "--env", "staging", "--no-backup", env=env)
    assert deployed.code == 1
    assert deployed.err.splitlines()[0] == err[0]


def test_a_lock_on_a_table_with_rows_held_too_long_exits_1(
    cli, project: Path, staging: str, replay_url: str
) -> None:
    configure(project, "[tool.rally_gitops.rehearse]\nmax_lock_seconds = 0.2")
    (project / "migrations" / NOT_NULL).unlink()
    (project / "migrations" / BIGINT).unlink()
    write_migration(
        project / "migrations",
        "20250101_000200",
        "slow",
        "LOCK TABLE empty IN ACCESS EXCLUSIVE MODE;\n"
        "LOCK TABLE items IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.4);",
    )
    result = cli("rehearse", "--env", "staging", "--json")
    assert result.code == 1
    report = json.loads(result.out)
    (long,) = report["long_locks"]  # not the empty table: it has no rows to block
    assert long["migration"] == "20250101_000200_slow.sql"
    assert long["relation"].endswith("items") and long["rows_before"] == ROWS
    assert long["seconds"] >= 0.4
    assert report["ok"] is False and report["failure"] is None
    assert result.err.splitlines()[-1] == (
        f"error: 20250101_000200_slow.sql blocks writes to {long['relation']} ({ROWS} row(s)) "
        f"for {long['seconds']:.2f}s, longer than max_lock_seconds = 0.2"
    )
    assert scratch_databases(replay_url) == []


def test_the_default_limit_passes_the_same_lock(cli, project: Path, staging: str) -> None:
    (project / "migrations" / NOT_NULL).unlink()
    (project / "migrations" / BIGINT).unlink()
    write_migration(
        project / "migrations",
        "20250101_000200",
        "slow",
        "LOCK TABLE items IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(0.4);",
    )
    result = cli("rehearse", "--env", "staging")
    assert result.code == 0, result.err
    assert "no lock blocking writes on a table with rows beyond 5s" in result.out


def test_no_backup_and_no_yes_exits_2(cli, project: Path, staging: str, replay_url: str) -> None:
    shutil.rmtree(project / ".rally" / "backups")
    result = cli("rehearse", "--env", "staging")
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: staging has no backup in {project / '.rally/backups/staging'} to rehearse on; "
        "take one with `rally-gitops backup --env staging`, or pass --yes to take it first"
    ]
    assert not (project / ".rally" / "backups" / "staging").exists()
    taken = cli("rehearse", "--env", "staging", "--yes")
    assert taken.code == 0, taken.err
    assert len(list((project / ".rally/backups/staging").glob("*.json"))) == 1
    assert "Rehearsed 2 pending migration(s) of staging" in taken.out
    assert scratch_databases(replay_url) == []


def test_nothing_pending_needs_no_backup(cli, project: Path, staging: str) -> None:
    for name in (BIGINT, NOT_NULL):
        (project / "migrations" / name).unlink()
    shutil.rmtree(project / ".rally" / "backups")
    result = cli("rehearse", "--env", "staging")
    assert (result.code, result.out, result.err) == (
        0,
        "staging: up to date, nothing to rehearse\n",
        "",
    )


def test_a_copy_older_than_the_environment_is_brought_to_its_state_first(
    cli, project: Path, staging: str, replay_url: str
) -> None:
    hold = project / "hold"
    hold.mkdir()
    (project / "migrations" / NOT_NULL).rename(hold / NOT_NULL)
    assert cli("deploy", "--env", "staging", "--no-backup").code == 0  # after the backup
    (hold / NOT_NULL).rename(project / "migrations" / NOT_NULL)
    before = snapshot(staging)
    result = cli("rehearse", "--env", "staging", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["caught_up"] == [BIGINT]
    assert [m["filename"] for m in report["migrations"]] == [NOT_NULL]
    assert snapshot(staging) == before


def test_refused_as_the_deploy_refuses(cli, project: Path, staging: str) -> None:
    applied = project / "migrations" / "20250101_000100_fill.sql"
    applied.write_text(applied.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    rehearsed = cli("rehearse", "--env", "staging")
    deployed = cli("deploy", "--env", "staging", "--no-backup")
    assert rehearsed.code == deployed.code == 1
    assert rehearsed.err == deployed.err
    assert "already-applied migration(s) were edited: 20250101_000100_fill.sql" in rehearsed.err


def test_a_remote_replay_server_is_refused(cli, staging: str, monkeypatch) -> None:
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", "postgresql://u:secret@db.example.com/postgres")
    result = cli("rehearse", "--env", "staging")
    assert result.code == 2
    assert result.err.splitlines() == [
        "error: rehearse restores a backup's data, which stays on this machine: "
        "RALLY_REPLAY_DATABASE_URL points at db.example.com; use a server on localhost or a Unix "
        "socket, or unset it for the embedded one"
    ]


@pytest.mark.parametrize("value", ['"5s"', "-1", "true"])
def test_a_bad_limit_is_a_configuration_error(cli, project: Path, staging: str, value: str) -> None:
    configure(project, f"[tool.rally_gitops.rehearse]\nmax_lock_seconds = {value}")
    result = cli("rehearse", "--env", "staging")
    assert result.code == 2
    assert result.err.startswith(
        "error: [tool.rally_gitops.rehearse] max_lock_seconds: a number of seconds >= 0"
    )


def test_ctrl_c_drops_the_copy(project: Path, staging: str, replay_url: str) -> None:
    (project / "migrations" / NOT_NULL).unlink()
    write_migration(project / "migrations", "20250101_000300", "sleepy", "SELECT pg_sleep(60);")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({STAGING: staging, "RALLY_REPLAY_DATABASE_URL": replay_url})
    proc = subprocess.Popen(
        [sys.executable, "-m", "rally_gitops", "-C", str(project), "rehearse", "--env", "staging"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        deadline = time.monotonic() + 60
        while not _sleeping(replay_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scratch_databases(replay_url, proc.pid), "the rehearsal never reached the sleep"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.splitlines()[0] == (
        "error: interrupted: the copy was dropped; nothing was written to staging"
    )
    assert scratch_databases(replay_url) == []
    assert ledger_rows(staging) == [
        ("20250101_000000", "20250101_000000_items"),
        ("20250101_000100", "20250101_000100_fill"),
    ]


def _sleeping(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"
        ).fetchone()
    return bool(row and row[0])


class Tty:
    """A stdin that claims to be a terminal and answers ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer


@pytest.mark.parametrize(("answer", "code", "backups"), [("y\n", 0, 1), ("\n", 2, 0)])
def test_on_a_terminal_the_backup_is_asked_for(
    cli, project: Path, staging: str, monkeypatch, answer: str, code: int, backups: int
) -> None:
    shutil.rmtree(project / ".rally" / "backups")
    monkeypatch.setattr(sys, "stdin", Tty(answer))
    result = cli("rehearse", "--env", "staging")
    assert result.code == code, result.err
    assert result.err.startswith(
        f"staging ({staging}) has no backup to rehearse on. Take one now (pg_dump, read only)? "
        "[y/N] "
    )
    assert len(list((project / ".rally").glob("backups/staging/*.json"))) == backups


def test_production_passes_the_promotion_guard_first(cli, staging: str, make_database) -> None:
    env = {"DATABASE_PUBLIC_URL": make_database("prd")}
    rehearsed = cli("rehearse", "--env", "production", "--yes", env=env)
    deployed = cli("deploy", "--env", "production", "--yes", env=env)
    assert rehearsed.code == deployed.code == 1
    assert rehearsed.err.splitlines()[0].startswith(
        "error: promotion guard: 2 migration(s) have not passed staging"
    )
    assert rehearsed.err == deployed.err
    assert ledger_rows(env["DATABASE_PUBLIC_URL"]) == []
