"""A deploy killed with SIGKILL at random moments never leaves schema and ledger disagreeing."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import psycopg

from testing.migration_files import (
    generate_tables,
    history,
    ledger_rows,
    make_project,
    start_deploy,
    tables,
)

ROUNDS = 15
MIGRATIONS = 40


def wait_for_backends_to_go(url: str, timeout: float = 30) -> None:
    """The killed client's server backend finishes (rolls back) on its own; wait for it."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            if left == 0:
                return
            time.sleep(0.02)
    raise AssertionError("the killed deploy's backend did not go away")


def wait_for_statement(url: str, text: str, proc: object, timeout: float = 60) -> None:
    """Until the server runs a statement containing ``text``: the child's own signal that it is
    there (no guess at how long start-up takes under load)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            running = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND pid <> pg_backend_pid() AND strpos(query, %s) > 0",
                (text,),
            ).fetchone()
            if running and running[0]:
                return
            assert proc.poll() is None, "the deploy ended before the statement ran"
            assert time.monotonic() < deadline, f"no statement with {text!r} after {timeout}s"
            time.sleep(0.02)


def assert_schema_matches_ledger(url: str) -> int:
    rows = ledger_rows(url)
    in_ledger = {f"t_{int(name.rsplit('_', 1)[1])}" for _, name in rows}
    assert tables(url) == in_ledger
    if rows:  # each applied row has its history event: written in the same transaction
        applies = [version for event, version, _ in history(url) if event == "apply"]
        assert applies == [version for version, _ in rows]
    return len(rows)


def test_sigkill_at_random_moments(tmp_path: Path, make_database) -> None:
    project = make_project(tmp_path / "proj")
    generate_tables(project / "migrations", MIGRATIONS)
    # ~10 ms each, 0.4 s in all: the engine batches migrations, so without a pause most kills
    # would land after the last commit and prove little
    for path in (project / "migrations").glob("*.sql"):
        path.write_text(path.read_text().replace("\nCOMMIT;", "\nSELECT pg_sleep(0.01);\nCOMMIT;"))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    partial = 0
    for round_ in range(ROUNDS):
        url = make_database("kill")
        proc = start_deploy(project, url)
        if round_ % 2:
            time.sleep(rng.uniform(0.0, 0.8))  # anywhere: start-up, ledger creation, applying
        else:
            assert proc.stdout is not None
            line = "-"
            while line and not line.startswith("Deploying"):  # applying has started
                line = proc.stdout.readline()
            time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        wait_for_backends_to_go(url)
        count = assert_schema_matches_ledger(url)
        partial += 0 < count < MIGRATIONS
        rerun = start_deploy(project, url)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, f"seed {seed}: {out}{err}"
        assert assert_schema_matches_ledger(url) == MIGRATIONS, f"seed {seed}"
    # most kills must land mid-run, or this test proves little
    assert partial >= ROUNDS // 3, f"seed {seed}: only {partial} kills landed mid-deploy"


def test_ctrl_c_mid_migration_rolls_it_back(tmp_path: Path, database_url: str) -> None:
    """SIGINT during a long statement: it is cancelled, rolled back, exit 130, no traceback."""
    project = make_project(tmp_path / "proj")
    generate_tables(project / "migrations", 2)
    slow = project / "migrations" / "20250101_000100_create_t_1.sql"
    slow.write_text(slow.read_text().replace("\nCOMMIT;", "\nSELECT pg_sleep(30);\nCOMMIT;", 1))
    proc = start_deploy(project, database_url)
    assert proc.stdout is not None
    wait_for_statement(database_url, "pg_sleep(30)", proc)  # the child is inside pg_sleep now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)  # well before pg_sleep(30) would end
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert "interrupted" in err
    wait_for_backends_to_go(database_url)
    assert assert_schema_matches_ledger(database_url) == 1
    with psycopg.connect(database_url) as conn:
        failure = conn.execute(
            "SELECT count(*) FROM rally_gitops.history WHERE event = 'apply'"
        ).fetchone()
    assert failure == (1,)
