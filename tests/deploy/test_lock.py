"""The deploy lock: concurrent deploys apply each migration once; a stuck holder is named."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from rally_gitops.deploy.lock import deploy_lock, holder, lock_key
from rally_gitops.errors import DeployError
from testing.migration_files import (
    generate_tables,
    history,
    ledger_rows,
    make_project,
    start_deploy,
)

ROUNDS = 10


def advisory_locks(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def test_two_concurrent_deploys_apply_each_migration_once(tmp_path: Path, make_database) -> None:
    project = make_project(tmp_path / "proj")
    versions = generate_tables(project / "migrations", 12)
    for path in (project / "migrations").glob("*.sql"):  # widen the window the two runs overlap
        path.write_text(path.read_text().replace("\nCOMMIT;", "\nSELECT pg_sleep(0.02);\nCOMMIT;"))
    raced = 0
    for _ in range(ROUNDS):
        url = make_database("lock")
        first, second = start_deploy(project, url), start_deploy(project, url)
        results = [(*proc.communicate(timeout=120), proc.returncode) for proc in (first, second)]
        for out, err, code in results:
            assert code == 0, out + err
            assert "Traceback" not in err
        assert sum(out.count("  applied ") for out, _, _ in results) == len(versions)
        # the loser read "pending" before the winner finished, then waited for the lock
        raced += any("another deploy applied everything meanwhile" in out for out, _, _ in results)
        applies = Counter(v for event, v, _ in history(url) if event == "apply")
        assert applies == Counter(versions), applies
        assert [v for v, _ in ledger_rows(url)] == versions
        assert advisory_locks(url) == 0
    # the test proves nothing unless the two runs really raced for the lock at least once
    assert raced >= 1


def test_lock_wait_timeout_names_the_holder(cli, project: Path, database_url: str) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.rally_gitops]\ndrift = 'off'\nrequire_committed = []\ndeploy_lock_wait = 0.3\n"
    )
    with psycopg.connect(database_url, autocommit=True, application_name="ci-deployer-7") as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", lock_key("rally_gitops"))
        result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
        pid, user = other.info.backend_pid, other.info.user
    assert result.code == 1
    assert "another deploy holds the lock on this database" in result.err
    assert f"held by ci-deployer-7 (backend pid {pid}, user {user}" in result.err
    assert "waited 0.3s" in result.err
    assert ledger_rows(database_url) == []


def test_lock_is_released_after_success_and_failure(cli, project: Path, database_url: str) -> None:
    env = {"DATABASE_STAGING_URL": database_url}
    bad = project / "migrations" / "20991231_000000_broken.sql"
    bad.write_text("SELECT * FROM no_such_table;\n")
    failed = cli("deploy", "--env", "staging", env=env)
    assert failed.code == 1
    assert advisory_locks(database_url) == 0
    bad.unlink()
    assert cli("deploy", "--env", "staging").code == 0
    assert advisory_locks(database_url) == 0


def test_deploy_lock_waits_for_the_holder(database_url: str) -> None:
    keys = lock_key("rally_gitops")
    with (
        psycopg.connect(database_url, autocommit=True) as other,
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        other.execute("SELECT pg_advisory_lock(%s, %s)", keys)
        assert "backend pid" in holder(conn, "rally_gitops")
        release = threading.Timer(
            0.3, lambda: other.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
        )
        release.start()
        with deploy_lock(conn, "rally_gitops", wait_seconds=10):
            got = conn.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            ).fetchone()
        release.join()
        assert got == (1,)
        assert holder(conn, "rally_gitops") == "holder unknown"
        # another ledger schema is another lock: no waiting
        other.execute("SELECT pg_advisory_lock(%s, %s)", keys)
        with deploy_lock(conn, "other_ledger", wait_seconds=0):
            pass
        with pytest.raises(DeployError, match="another deploy holds the lock"):
            with deploy_lock(conn, "rally_gitops", wait_seconds=0):
                pass
