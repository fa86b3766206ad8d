"""``local`` without DATABASE_URL: the tool starts its own PostgreSQL in .rally/ and reuses it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from testing.migration_files import make_project
from testing.process import SAMPLE_MIGRATIONS, run_process


@pytest.fixture
def local_project() -> Iterator[Path]:
    """A project outside pytest's basetemp (see pg_server in conftest); its server stopped after."""
    base = Path(tempfile.mkdtemp(prefix="rally-embedded-"))
    root = make_project(base / "proj")
    shutil.rmtree(root / "migrations")
    shutil.copytree(SAMPLE_MIGRATIONS, root / "migrations")
    try:
        yield root
    finally:
        run_process(["server", "stop"], cwd=root)
        shutil.rmtree(base, ignore_errors=True)


def postmaster(root: Path) -> tuple[str, str]:
    lines = (root / ".rally" / "pgdata" / "postmaster.pid").read_text().split("\n")
    return lines[0], lines[3]  # pid, port


def test_local_default_starts_and_reuses_an_embedded_server(local_project: Path) -> None:
    root = local_project
    before = run_process(["server", "status"], cwd=root)
    assert before.code == 0 and before.out.startswith("local: not running")
    deployed = run_process(["deploy", "--env", "local", "--no-backup"], cwd=root)
    assert deployed.code == 0, deployed.text
    assert "local (embedded PostgreSQL)" in deployed.out
    assert deployed.out.count("  applied ") == 6
    assert (root / ".rally" / "pgdata" / "PG_VERSION").is_file()
    first = postmaster(root)
    status = run_process(["status"], cwd=root)
    assert status.code == 0, status.text
    assert "local (embedded PostgreSQL): 6 applied, 0 pending" in status.out
    assert postmaster(root) == first  # the same server, not a new one
    running = run_process(["server", "status"], cwd=root)
    assert running.out.startswith(f"local: running on port {first[1]}")
    # the printed connection reaches the deployed database (the everyday "design locally" step)
    url = running.out.split("connect: psql '", 1)[1].split("'", 1)[0]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone() == (6,)
    stopped = run_process(["server", "stop"], cwd=root)
    assert stopped.code == 0 and stopped.out.splitlines()[0] == "local: stopped"
    assert not (root / ".rally" / "pgdata" / "postmaster.pid").exists()
    assert run_process(["server", "stop"], cwd=root).out.splitlines()[0] == "local: not running"
    # data survives a restart: the next command starts the server again on the same data
    again = run_process(["status", "--env", "local"], cwd=root)
    assert again.code == 0 and "6 applied, 0 pending" in again.out


STATUS_MODULES = """
import sys
from rally_gitops.main import main
code = main(["status", "--env", "local"])
print("MODULES:", *sorted(m for m in sys.modules if m.startswith(("psycopg", "subprocess"))))
sys.exit(code)
"""


def test_status_on_the_running_embedded_server_imports_no_driver(local_project: Path) -> None:
    """The embedded default's database check and the reads go through libpq directly, and a
    running server is found without starting anything (docs/benchmarks.md, issue 9)."""
    import subprocess
    import sys

    root = local_project
    assert run_process(["deploy", "--env", "local", "--no-backup"], cwd=root).code == 0
    # the local database is made again when it is gone (the probe says it does not exist)
    url = run_process(["server", "status"], cwd=root).out.split("connect: psql '")[1].split("'")[0]
    with psycopg.connect(url.replace("/rally_local", "/postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE rally_local WITH (FORCE)")
    for _ in range(2):  # the first run creates it, the second finds it
        proc = subprocess.run(
            [sys.executable, "-c", STATUS_MODULES], cwd=root, capture_output=True, text=True
        )
        shown, _, modules = proc.stdout.rpartition("MODULES:")
        assert proc.returncode == 0, proc.stderr
        assert "local (embedded PostgreSQL): 0 applied, 6 pending" in shown
        assert modules.split() == []


def test_a_process_killed_during_initdb_leaves_nothing_half_made() -> None:
    """initdb writes into a directory of its own, renamed into place when complete: a process
    killed half-way with its initdb (Ctrl-C; or a deploy that exits while a background replay
    starts the replay server) leaves no data directory that the next start would take for a
    finished one (PG_VERSION is among initdb's first files)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from rally_gitops.postgres.embedded import EmbeddedServer

    base = Path(tempfile.mkdtemp(prefix="rally-initdb-"))
    data = base / "pgdata"
    start = "import sys; from pathlib import Path\n"
    start += "from rally_gitops.postgres.embedded import EmbeddedServer\n"
    start += "EmbeddedServer(Path(sys.argv[1]), fast=True).ensure_running()"
    proc = subprocess.Popen([sys.executable, "-c", start, str(data)], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not [*base.glob(".pgdata.initdb-*/global"), *data.glob("global")]:
            assert proc.poll() is None and time.monotonic() < deadline, "initdb never started"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its initdb, half-way
        proc.wait()
        server = EmbeddedServer(data, fast=True)
        running = server.ensure_running()
        with psycopg.connect(running.url("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert list(base.glob(".pgdata.initdb-*")) == []
    finally:
        if (data / "postmaster.pid").exists():
            EmbeddedServer(data).stop()
        shutil.rmtree(base, ignore_errors=True)
