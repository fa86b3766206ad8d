"""The deploy engine: order, atomicity, refusals, no-transaction files, lock-timeout retries."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from rally_gitops import config as config_mod
from rally_gitops.deploy.applier import Applier
from rally_gitops.deploy.ledger import Ledger
from rally_gitops.deploy.status import compare
from rally_gitops.errors import DeployError
from rally_gitops.files.migrations import discover
from testing.migration_files import (
    generate_tables,
    history,
    ledger_rows,
    tables,
    version_at,
    write_migration,
)


def test_sample_migrations_deploy_then_status(staging) -> None:
    result = staging("deploy")
    assert result.code == 0, result.text
    assert result.out.count("  applied 2024") == 6
    assert "Done: 6 migration(s) applied to staging" in result.out
    assert {"teams", "users", "matches", "user_preferences", "match_participants"} <= tables(
        staging.url
    )
    assert len(ledger_rows(staging.url)) == 6
    again = staging("status")
    assert again.code == 0
    assert "6 applied, 0 pending" in again.out
    rerun = staging("deploy")
    assert rerun.code == 0
    assert "up to date (6 applied), nothing to deploy" in rerun.out


def test_deploy_applies_in_version_order(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "log", "CREATE TABLE log (id serial, v text);")
    # written out of order on purpose: file creation order must not matter
    for version in ("20250301_000000", "20250105_000000", "20250201_120000", "20250201_090000"):
        write_migration(mig, version, "step", f"INSERT INTO log (v) VALUES ('{version}');")
    result = staging("deploy")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        logged = [row[0] for row in conn.execute("SELECT v FROM log ORDER BY id")]
    assert logged == sorted(logged) and len(logged) == 4
    lines = [ln for ln in result.out.splitlines() if "applied 2025" in ln]
    assert [ln.split()[1][:15] for ln in lines] == sorted(ln.split()[1][:15] for ln in lines)


def test_failing_migration_rolls_back_entirely_earlier_ones_stay(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "first", "CREATE TABLE first (id int);")
    write_migration(
        mig,
        "20250102_000000",
        "second",
        "CREATE TABLE second (n int CHECK (n > 0));\n"
        "CREATE INDEX second_n ON second (n);\n"
        "INSERT INTO second VALUES (1);\n"
        "INSERT INTO second VALUES (-1);\n"
        "INSERT INTO second VALUES (2);",
    )
    write_migration(mig, "20250103_000000", "third", "CREATE TABLE third (id int);")
    result = staging("deploy")
    assert result.code == 1
    assert "Traceback" not in result.text
    # a CHECK violation has no server position: the failed statement is the first one of the
    # pipeline without a result, and the error names its first line
    assert "20250102_000000_second.sql:9:" in result.err
    assert 'violates check constraint "second_n_check"' in result.err
    assert "the migration was rolled back" in result.err
    assert "1 of 3 migration(s) applied to staging before the failure" in result.err
    assert tables(staging.url) == {"first"}
    assert ledger_rows(staging.url) == [("20250101_000000", "20250101_000000_first")]
    with psycopg.connect(staging.url) as conn:
        assert conn.execute("SELECT to_regclass('second_n')").fetchone() == (None,)
    events = history(staging.url)
    assert ("failure", "20250102_000000", False) in events
    # the failure is not blocking: once the file is fixed, a rerun finishes
    write_migration(mig, "20250102_000000", "second", "CREATE TABLE second (n int);")
    assert staging("deploy").code == 0
    assert tables(staging.url) == {"first", "second", "third"}


def test_syntax_error_names_file_line_and_message(staging, mig: Path) -> None:
    write_migration(
        mig,
        "20250101_000000",
        "broken",
        "CREATE TABLE a (id int);\n"
        "CREATE TABLE b (\n    id int,\n    name txet\n);\n"
        "CREATE TABLE c (id int);",
    )
    result = staging("deploy")
    assert result.code == 1
    # header (2 lines) + blank + BEGIN + blank: the statement starts on line 7, the bad type is on 9
    assert 'error: 20250101_000000_broken.sql:9: type "txet" does not exist' in result.err
    assert tables(staging.url) == set()
    assert ledger_rows(staging.url) == []


def test_error_line_after_multibyte_text(staging, mig: Path) -> None:
    """The server's error position counts characters, not bytes."""
    write_migration(
        mig,
        "20250101_000000",
        "unicode",
        "COMMENT ON SCHEMA public IS 'café ☕ ünïcödé — ✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓';\n"
        "CREATE TABLE a (\n    id int,\n    label txet\n);",
    )
    result = staging("deploy")
    assert result.code == 1
    assert '20250101_000000_unicode.sql:9: type "txet" does not exist' in result.err


def test_statement_ending_in_a_comment(staging, mig: Path) -> None:
    path = mig / "20250101_000000_comments.sql"
    path.write_text(
        "BEGIN;\nCREATE TABLE a (id int) -- first table\n;\nCREATE TABLE b (id int);\nCOMMIT;\n"
    )
    result = staging("deploy")
    assert result.code == 0, result.text
    assert tables(staging.url) == {"a", "b"}


def test_messy_file_deploys(staging, mig: Path) -> None:
    text = (
        "-- Migration: 20250101_000000_messy\r\n-- Migration starts here\r\n"
        "CREATE FUNCTION plus(a int) RETURNS int LANGUAGE sql\r\nBEGIN ATOMIC\r\n"
        "  SELECT a + 1;\r\nEND;\r\n"
        "CREATE FUNCTION t() RETURNS int LANGUAGE plpgsql AS $$\r\n"
        "BEGIN\r\n  RETURN 1;\r\nEND;\r\n$$;\r\n"
        "CREATE TABLE a (id int)\r\n-- Migration ends here\r\n"
    )
    (mig / "20250101_000000_messy.sql").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = staging("deploy")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        assert conn.execute("SELECT plus(1), t()").fetchone() == (2, 1)
    assert tables(staging.url) == {"a"}


def test_out_of_order_is_refused_unless_allowed(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int);")
    write_migration(mig, "20250301_000000", "c", "CREATE TABLE c (id int);")
    assert staging("deploy").code == 0
    write_migration(mig, "20250201_000000", "b", "CREATE TABLE b (id int);")
    refused = staging("deploy")
    assert refused.code == 1
    assert "older than the newest applied one: 20250201_000000_b.sql" in refused.err
    assert "--allow-out-of-order" in refused.err
    assert "b" not in tables(staging.url)
    plan = staging("plan")
    assert plan.code == 1 and "20250201_000000_b.sql" in plan.err
    allowed = staging("deploy", "--allow-out-of-order")
    assert allowed.code == 0, allowed.text
    assert "b" in tables(staging.url)


def test_edited_applied_file_is_refused_naming_it(staging, mig: Path) -> None:
    path = write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int);")
    assert staging("deploy").code == 0
    path.write_text(path.read_text().replace("(id int)", "(id bigint)"))
    write_migration(mig, "20250102_000000", "b", "CREATE TABLE b (id int);")
    refused = staging("deploy")
    assert refused.code == 1
    assert "were edited: 20250101_000000_a.sql" in refused.err
    assert "b" not in tables(staging.url)
    status = staging("status")
    assert "CHANGED" in status.out and "20250101_000000_a.sql" in status.out
    # a CRLF/BOM re-save of the same content is not an edit
    path.write_bytes(
        b"\xef\xbb\xbf"
        + path.read_text().replace("(id bigint)", "(id int)").replace("\n", "\r\n").encode()
    )
    assert staging("deploy").code == 0


def test_deleted_applied_file_is_refused(staging, mig: Path) -> None:
    path = write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int);")
    write_migration(mig, "20250102_000000", "b", "CREATE TABLE b (id int);")
    assert staging("deploy").code == 0
    path.unlink()
    write_migration(mig, "20250103_000000", "c", "CREATE TABLE c (id int);")
    refused = staging("deploy")
    assert refused.code == 1
    assert "no longer exist in the repository: 20250101_000000_a.sql" in refused.err
    assert "c" not in tables(staging.url)
    assert "MISSING" in staging("status").out


def test_no_transaction_migration_success(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int, v int);")
    write_migration(
        mig,
        "20250102_000000",
        "idx",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE INDEX CONCURRENTLY a_v ON a (v)",
        no_transaction=True,
    )
    result = staging("deploy")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        valid = conn.execute(
            "SELECT count(*) FROM pg_index WHERE indisvalid"
            " AND indexrelid::regclass::text IN ('a_id', 'a_v')"
        ).fetchone()
    assert valid == (2,)
    assert [v for v, _ in ledger_rows(staging.url)] == ["20250101_000000", "20250102_000000"]
    assert ("start", "20250102_000000", True) in history(staging.url)
    assert staging("status").code == 0


def test_no_transaction_failure_blocks_until_repair(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int, v int);")
    path = write_migration(
        mig,
        "20250102_000000",
        "idx",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE INDEX CONCURRENTLY a_v ON a (nope);",
        no_transaction=True,
    )
    write_migration(mig, "20250103_000000", "later", "CREATE TABLE later (id int);")
    failed = staging("deploy")
    assert failed.code == 1
    assert '20250102_000000_idx.sql:6: column "nope" does not exist' in failed.err
    assert "runs outside a transaction" in failed.err
    assert "rally-gitops repair" in failed.err
    assert [v for v, _ in ledger_rows(staging.url)] == ["20250101_000000"]
    # blocked: even a fixed file does not run until a human says the database is fixed
    path.write_text(path.read_text().replace("(nope)", "(v)"))
    blocked = staging("deploy")
    assert blocked.code == 1
    assert "no-transaction migration 20250102_000000_idx failed" in blocked.err
    assert "rally-gitops repair --env staging" in blocked.err
    assert "later" not in tables(staging.url)
    status = staging("status")
    assert "BLOCKED" in status.out and "repair" in status.out
    assert staging("status", "--json").out.count('"blocked": "20250102_000000_idx"') == 1
    with psycopg.connect(staging.url, autocommit=True) as conn:
        conn.execute("DROP INDEX a_id")  # the human clean-up
    repaired = staging("repair")
    assert repaired.code == 0, repaired.text
    assert "will run again" in repaired.out
    assert staging("repair").out.strip().endswith("nothing to repair")
    redeploy = staging("deploy")
    assert redeploy.code == 0, redeploy.text
    assert [v for v, _ in ledger_rows(staging.url)] == [
        "20250101_000000",
        "20250102_000000",
        "20250103_000000",
    ]
    assert [e for e, *_ in history(staging.url)].count("repair") == 1


def test_repair_mark_applied(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int, v int);")
    write_migration(
        mig,
        "20250102_000000",
        "idx",
        "CREATE INDEX CONCURRENTLY a_id ON a (id);\nCREATE INDEX CONCURRENTLY a_v ON a (nope);",
        no_transaction=True,
    )
    assert staging("deploy").code == 1
    with psycopg.connect(staging.url, autocommit=True) as conn:
        conn.execute("CREATE INDEX CONCURRENTLY a_v ON a (v)")  # finished by hand
    result = staging("repair", "--mark-applied")
    assert result.code == 0, result.text
    assert "marked as applied" in result.out
    assert [v for v, _ in ledger_rows(staging.url)] == ["20250101_000000", "20250102_000000"]
    # the file still has the bug, but it is applied now: a deploy has nothing to do
    assert "nothing to deploy" in staging("deploy").out


def test_interrupted_no_transaction_migration_blocks(staging, mig: Path) -> None:
    """A ``start`` event without its apply (the process died) blocks like a failure."""
    path = write_migration(mig, "20250101_000000", "idx", "SELECT 1;", no_transaction=True)
    config = config_mod.load(path.parent.parent)
    (migration,) = discover(mig)
    with psycopg.connect(staging.url, autocommit=True) as conn:
        ledger = Ledger(conn)
        ledger.ensure()
        ledger.record_event("start", migration=migration, blocking=True)
    refused = staging("deploy")
    assert refused.code == 1
    assert "was interrupted" in refused.err and "repair" in refused.err
    assert config.ledger_schema == "rally_gitops"


def test_dry_run_and_plan_change_nothing(staging, mig: Path) -> None:
    write_migration(
        mig, "20250101_000000", "a", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);"
    )
    dry = staging("deploy", "--dry-run")
    assert dry.code == 0
    assert "20250101_000000_a.sql" in dry.out and "nothing was applied" in dry.out
    plan = staging("plan")
    assert plan.code == 0
    assert "CREATE TABLE a (id int)" in plan.out and "-- line 6" in plan.out
    assert tables(staging.url) == set()
    with psycopg.connect(staging.url) as conn:
        assert conn.execute("SELECT to_regnamespace('rally_gitops')").fetchone() == (None,)


def test_lock_timeout_is_retried(project: Path, mig: Path, database_url: str) -> None:
    """A conflicting ACCESS EXCLUSIVE lock makes the first attempt time out; the retry succeeds."""
    (project / "pyproject.toml").write_text(
        '[tool.rally_gitops]\nlock_timeout = "200ms"\nlock_retries = 2\n'
    )
    write_migration(mig, "20250101_000000", "alter", "ALTER TABLE busy ADD COLUMN extra int;")
    config = config_mod.load(project)
    (migration,) = discover(mig)
    holder = psycopg.connect(database_url)
    holder.execute("CREATE TABLE busy (id int)")
    holder.commit()
    holder.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")  # held until commit
    reports: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        holder.commit()  # the other session finishes while we back off

    with psycopg.connect(database_url, autocommit=True) as conn:
        Ledger(conn).ensure()
        applier = Applier(conn, config, report=reports.append, sleep=sleep)
        applier.apply(migration)
    holder.close()
    assert sleeps == [1]
    assert any("lock timeout in 20250101_000000_alter.sql (200ms); retry 1/2" in r for r in reports)
    assert ledger_rows(database_url) == [("20250101_000000", "20250101_000000_alter")]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM busy WHERE extra IS NULL").fetchone() == (0,)


def test_lock_timeout_gives_up_after_the_retries(
    project: Path, mig: Path, database_url: str
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.rally_gitops]\nlock_timeout = "100ms"\nlock_retries = 2\n'
    )
    write_migration(mig, "20250101_000000", "alter", "ALTER TABLE busy ADD COLUMN extra int;")
    config = config_mod.load(project)
    (migration,) = discover(mig)
    with psycopg.connect(database_url) as holder:
        holder.execute("CREATE TABLE busy (id int)")
        holder.commit()
        holder.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        sleeps: list[float] = []
        with psycopg.connect(database_url, autocommit=True) as conn:
            Ledger(conn).ensure()
            applier = Applier(conn, config, report=lambda _: None, sleep=sleeps.append)
            with pytest.raises(
                DeployError, match=r"_alter.sql:6: canceling statement due to lock timeout"
            ):
                applier.apply(migration)
        holder.rollback()
    assert sleeps == [1, 2]
    assert ledger_rows(database_url) == []


def test_lock_timeout_retry_through_the_cli(staging, project: Path, mig: Path) -> None:
    """The real backoff (1 s): the holder lets go after half a second."""
    (project / "pyproject.toml").write_text(
        '[tool.rally_gitops]\ndrift = "off"\nrequire_committed = []\nlock_timeout = "100ms"\n'
    )
    write_migration(mig, "20250101_000000", "alter", "ALTER TABLE busy ADD COLUMN extra int;")
    holder = psycopg.connect(staging.url)
    holder.execute("CREATE TABLE busy (id int)")
    holder.commit()
    holder.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(0.5, holder.commit)
    release.start()
    try:
        result = staging("deploy", "--no-backup")  # pg_dump would wait for the lock instead
    finally:
        release.join()
        holder.close()
    assert result.code == 0, result.text
    assert "retry 1/3 in 1s" in result.out
    assert "applied 20250101_000000_alter.sql" in result.out


def test_compare_is_pure() -> None:
    sample = discover(Path(__file__).resolve().parents[2] / "migrations")
    status = compare(sample, {})
    assert [m.version for m in status.pending] == sorted(m.version for m in sample)
    assert status.out_of_order == [] and not status.clean


def test_many_migrations_deploy_and_status(staging, mig: Path, capsys) -> None:
    """300 small migrations apply in one run and status reads them (timings go to bench/)."""
    import time

    versions = generate_tables(mig, 300)
    started = time.perf_counter()
    result = staging("deploy")
    deploy_s = time.perf_counter() - started
    assert result.code == 0, result.text[-2000:]
    assert [v for v, _ in ledger_rows(staging.url)] == versions
    assert len(tables(staging.url)) == 300
    started = time.perf_counter()
    status = staging("status", "--json")
    status_s = time.perf_counter() - started
    assert status.code == 0
    assert '"pending": []' in status.out and version_at(299) in status.out
    with capsys.disabled():
        print(f"\n[perf] deploy 300: {deploy_s:.2f}s, status 300 (in-process): {status_s:.3f}s")


def test_statement_timeout_from_config(staging, project: Path, mig: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.rally_gitops]\ndrift = "off"\nrequire_committed = []\nstatement_timeout = "200ms"\n'
    )
    write_migration(mig, "20250101_000000", "a", "CREATE TABLE a (id int);")
    write_migration(mig, "20250102_000000", "slow", "CREATE TABLE b (id int);\nSELECT pg_sleep(5);")
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert "20250102_000000_slow.sql:7: canceling statement due to statement timeout" in result.err
    assert "retry" not in result.out  # only lock timeouts are retried
    assert tables(staging.url) == {"a"}
    with psycopg.connect(staging.url) as conn:  # SET LOCAL: the setting did not outlive the run
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_a_failure_without_position_runs_nothing_twice(staging, mig: Path) -> None:
    """Locating a CHECK violation must not re-run the statements before it (on production, a
    slow UPDATE would run twice); a sequence counts the runs, as nextval ignores rollbacks."""
    with psycopg.connect(staging.url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE probe")
        conn.execute("CREATE TABLE t (n int CHECK (n > 0))")
    write_migration(
        mig,
        "20250101_000000",
        "check",
        "SELECT nextval('probe');\nSELECT '100% literal %s';\nINSERT INTO t VALUES (-1);",
    )
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert "20250101_000000_check.sql:8: new row for relation" in result.err
    with psycopg.connect(staging.url) as conn:
        assert conn.execute("SELECT last_value FROM probe").fetchone() == (1,)


def test_percent_signs_and_many_repeats_are_plain_sql(staging, mig: Path) -> None:
    write_migration(mig, "20250101_000000", "log", "CREATE TABLE log (v text);")
    for index in range(1, 8):  # the same statement text, again and again: never prepared
        write_migration(
            mig, version_at(index), f"step_{index}", "INSERT INTO log VALUES ('100% %s done');"
        )
    result = staging("deploy", "--no-backup")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        assert conn.execute("SELECT count(*), min(v) FROM log").fetchone() == (7, "100% %s done")


def _seen_setting(url: str, mig: Path, count: int) -> None:
    """``count`` migrations, each noting the synchronous_commit it ran under; the database's
    default is ``on`` (the test server's is ``off``, for speed)."""
    with psycopg.connect(url, autocommit=True) as conn:
        (name,) = conn.execute("SELECT current_database()").fetchone()
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    write_migration(mig, version_at(0), "seen", "CREATE TABLE seen (n int, s text);")
    for index in range(1, count):
        write_migration(
            mig,
            version_at(index),
            f"note_{index}",
            f"INSERT INTO seen VALUES ({index}, current_setting('synchronous_commit'));",
        )


def test_only_the_last_commit_of_a_run_waits_for_its_flush(staging, mig: Path) -> None:
    _seen_setting(staging.url, mig, 6)
    result = staging("deploy", "--no-backup")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        rows = conn.execute("SELECT s FROM seen ORDER BY n").fetchall()
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)  # SET LOCAL only
    assert [s for (s,) in rows] == ["off", "off", "off", "off", "on"]
    assert len(ledger_rows(staging.url)) == 6


def test_synchronous_commit_each(staging, project: Path, mig: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.rally_gitops]\ndrift = 'off'\nrequire_committed = []\n"
        "synchronous_commit_each = true\n"
    )
    _seen_setting(staging.url, mig, 4)
    assert staging("deploy", "--no-backup").code == 0
    with psycopg.connect(staging.url) as conn:
        rows = conn.execute("SELECT s FROM seen ORDER BY n").fetchall()
    assert [s for (s,) in rows] == ["on", "on", "on"]


def test_synchronous_commit_each_must_be_a_boolean(staging, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.rally_gitops]\nsynchronous_commit_each = "no"\n')
    result = staging("deploy", "--no-backup")
    assert result.code == 2
    assert "synchronous_commit_each = 'no': expected true or false" in result.err


def test_execution_ms_is_measured_by_the_server(staging, mig: Path) -> None:
    write_migration(mig, version_at(0), "slow", "CREATE TABLE a (id int);\nSELECT pg_sleep(0.2);")
    result = staging("deploy", "--no-backup")
    assert result.code == 0, result.text
    with psycopg.connect(staging.url) as conn:
        (applied,) = conn.execute("SELECT execution_ms FROM rally_gitops.applied").fetchone()
        events = conn.execute(
            "SELECT execution_ms FROM rally_gitops.history WHERE event = 'apply'"
        ).fetchall()
    assert 200 <= applied < 60_000
    assert events == [(applied,)]
    assert f"applied {version_at(0)}_slow.sql ({applied} ms)" in result.out


def test_a_failure_inside_a_batch_stops_the_ones_after_it(staging, mig: Path) -> None:
    """Batches grow 1, 2, 4...: the fourth of five shares a pipeline with the fifth, which the
    server must skip; the three before stay applied."""
    for index in range(5):
        sql = f"CREATE TABLE t_{index} (n int CHECK (n > 0));"
        if index == 3:
            sql += "\nINSERT INTO t_3 VALUES (1);\nINSERT INTO t_3 VALUES (-1);"
        write_migration(mig, version_at(index), f"t_{index}", sql)
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f"{version_at(3)}_t_3.sql:8: new row for relation" in result.err
    assert f"FAILED  {version_at(3)}_t_3.sql" in result.out
    assert "3 of 5 migration(s) applied to staging before the failure" in result.err
    assert tables(staging.url) == {"t_0", "t_1", "t_2"}
    assert [v for v, _ in ledger_rows(staging.url)] == [version_at(i) for i in range(3)]
    write_migration(mig, version_at(3), "t_3", "CREATE TABLE t_3 (n int);")
    assert staging("deploy", "--no-backup").code == 0
    assert len(ledger_rows(staging.url)) == 5


def test_a_failing_commit_rolls_back_the_migration_and_its_row(staging, mig: Path) -> None:
    """A deferred constraint fails at COMMIT, after every statement succeeded."""
    write_migration(mig, version_at(0), "parent", "CREATE TABLE parent (id int PRIMARY KEY);")
    write_migration(
        mig,
        version_at(1),
        "child",
        "CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO child VALUES (42);",
    )
    write_migration(mig, version_at(2), "after", "CREATE TABLE after (id int);")
    result = staging("deploy", "--no-backup")
    assert result.code == 1
    assert f"{version_at(1)}_child.sql:7: insert or update on table" in result.err
    assert "the migration was rolled back" in result.err
    assert tables(staging.url) == {"parent"}
    assert [v for v, _ in ledger_rows(staging.url)] == [version_at(0)]
    assert ("failure", version_at(1), False) in history(staging.url)
