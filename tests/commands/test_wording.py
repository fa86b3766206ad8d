"""Messages that said something twice, in the wrong order or about the wrong thing
(issue 14, point 21)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg

from testing.lint_support import good
from testing.migration_files import generate_tables, make_project, start_deploy
from testing.process import run_process


def test_smoke_names_the_ledger_check_once(cli, database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    assert cli("deploy", "--env", "local", "--no-backup", env=env).code == 0
    result = cli("smoke", "--env", "local", "--db-only", env=env)
    assert result.code == 0, result.text
    assert "  ok    ledger: 6 applied, matches the repository\n" in result.out
    assert "ledger ledger" not in result.out


def test_an_empty_backup_is_described_without_double_parentheses(
    cli, project: Path, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    assert cli("backup", "--env", "local", "--kind", "schema", env=env).code == 0
    listing = cli("backups", "--env", "local", env=env)
    assert listing.out.rstrip().endswith("  no migrations applied  [manual]")
    restored = cli("restore", "--env", "local", "latest", "--yes", env=env)
    assert restored.code == 0, restored.text
    assert "((" not in restored.text and "))" not in restored.text
    line = next(x for x in restored.out.splitlines() if x.startswith("Restored "))
    assert line.endswith(" (no migrations applied).")

    assert cli("deploy", "--env", "local", "--no-backup", env=env).code == 0
    assert cli("backup", "--env", "local", "--kind", "schema", env=env).code == 0
    listing = cli("backups", "--env", "local", env=env)
    assert "  6 applied, newest 20241212_080000_index_matches_status  [manual]" in listing.out


def test_missing_backup_lists_the_newest_first(cli, project: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    for _ in range(4):
        assert cli("backup", "--env", "local", "--kind", "schema", env=env).code == 0
    stems = sorted(p.stem for p in (project / ".rally/backups/local").glob("*.json"))
    result = cli("restore", "--env", "local", "nosuch", "--yes", env=env)
    assert result.code == 2
    assert f"(newest: {stems[3]}, {stems[2]}, {stems[1]}); " in result.err


def test_self_referencing_foreign_key_names_its_table_once(cli, project: Path) -> None:
    name = "20300101_000000_add_manager"
    sql = (
        "ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) "
        "REFERENCES users (id);\n"
        "ALTER TABLE matches ADD COLUMN parent_id bigint REFERENCES matches (id);"
    )
    (project / f"migrations/{name}.sql").write_text(
        good(name, sql).replace("DROP TABLE things", "ALTER TABLE users DROP CONSTRAINT x"),
        encoding="utf-8",
    )
    result = cli("lint", str(project / f"migrations/{name}.sql"), "--no-history")
    found = [x.split(" require-not-valid-foreign-key ")[1] for x in result.out.splitlines()
             if " require-not-valid-foreign-key " in x]  # fmt: skip
    assert found == [
        "adding FOREIGN KEY users_manager_fk scans users and blocks writes to users until every "
        "row is validated",
        "ADD COLUMN ... REFERENCES validates matches and blocks writes to matches while it does",
    ]


def test_ctrl_c_says_the_running_migration_was_rolled_back(
    tmp_path: Path, database_url: str
) -> None:
    project = make_project(tmp_path / "proj")
    generate_tables(project / "migrations", 2)
    slow = project / "migrations" / "20250101_000100_create_t_1.sql"
    slow.write_text(slow.read_text().replace("\nCOMMIT;", "\nSELECT pg_sleep(30);\nCOMMIT;", 1))
    proc = start_deploy(project, database_url)
    # wait for the signal that matters: the server is inside pg_sleep (no fixed sleep)
    with psycopg.connect(database_url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while not conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
        ).fetchone()[0]:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err == (
        "error: interrupted: the migration in progress was rolled back; the ones committed "
        f"before it stay applied (`rally-gitops -C {project} status --env staging` lists them)\n"
    )


def test_outside_a_project_says_so(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    result = run_process(["status"], cwd=nowhere)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"error: no project found (pyproject.toml or .git) in {nowhere} or above; use -C DIR\n"
    )
