"""The embedded replay server: stopped by ``server stop``, by itself when idle or orphaned."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.migration_files import make_project, write_migration
from testing.process import run_process


@pytest.fixture
def replay_project() -> Iterator[Path]:
    """A project outside basetemp (see pg_server in conftest); its servers stopped after."""
    base = Path(tempfile.mkdtemp(prefix="rally-replay-life-"))
    root = make_project(base / "proj")
    write_migration(root / "migrations", "20250101_000000", "first", "CREATE TABLE t1 (id int);")
    try:
        yield root
    finally:
        if (root / ".rally").exists():
            run_process(["server", "stop"], cwd=root)
        shutil.rmtree(base, ignore_errors=True)


def configure(root: Path, lines: str) -> None:
    path = root / "pyproject.toml"
    path.write_text(path.read_text() + f"\n[tool.rally_gitops.replay]\n{lines}\n")


def pid_of(path: Path) -> int:
    return int(path.read_text().split()[0])


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def wait_gone(pid: int, seconds: float) -> float:
    """Seconds until ``pid`` exited; fails the test after ``seconds``."""
    started = time.monotonic()
    while alive(pid):
        assert time.monotonic() - started < seconds, f"process {pid} still running"
        time.sleep(0.1)
    return time.monotonic() - started


def validate(root: Path) -> tuple[int, int]:
    """Run ``validate --all``; (postmaster pid, watchdog pid) of the replay server it used."""
    result = run_process(["validate", "--all"], cwd=root)
    assert result.code == 0, result.text
    rally = root / ".rally"
    return pid_of(rally / "replay-pgdata" / "postmaster.pid"), pid_of(
        rally / ".replay-pgdata.watchdog"
    )


def test_server_stop_stops_the_replay_server_too(replay_project: Path) -> None:
    root = replay_project
    postmaster, watchdog = validate(root)
    assert alive(postmaster) and alive(watchdog)
    status = run_process(["server", "status"], cwd=root)
    assert status.out.splitlines()[0].startswith("local: not running")
    assert status.out.splitlines()[1].startswith("replay: running on port ")
    only = run_process(["server", "stop", "--replay"], cwd=root)
    assert only.code == 0 and only.out.splitlines() == ["replay: stopped"]
    wait_gone(postmaster, 5)
    wait_gone(watchdog, 15)  # it leaves with the server it watched
    postmaster, _ = validate(root)  # a second validate reuses the data, starts a new server
    both = run_process(["server", "stop"], cwd=root)
    assert both.out.splitlines()[1] == "replay: stopped"
    wait_gone(postmaster, 5)


def test_a_used_replay_server_keeps_its_one_watchdog(replay_project: Path) -> None:
    root = replay_project
    first = validate(root)
    assert validate(root) == first  # used again: the same server, the same watchdog


def test_an_idle_replay_server_stops_itself(replay_project: Path) -> None:
    root = replay_project
    configure(root, 'idle_timeout = "2s"')
    postmaster, watchdog = validate(root)
    took = wait_gone(postmaster, 30)
    assert took >= 1.0  # not at once: only after the idle time
    wait_gone(watchdog, 5)
    assert not (root / ".rally" / "replay-pgdata" / "postmaster.pid").exists()  # a clean stop


def test_a_replay_server_whose_project_was_deleted_stops(replay_project: Path) -> None:
    root = replay_project
    postmaster, watchdog = validate(root)  # default idle time: 15 minutes
    shutil.rmtree(root)
    # PostgreSQL itself notices a missing data directory only once a minute
    assert wait_gone(postmaster, 25) < 25
    wait_gone(watchdog, 5)


def test_idle_timeout_must_be_a_time(replay_project: Path) -> None:
    configure(replay_project, 'idle_timeout = "soon"')
    result = run_process(["validate", "--all"], cwd=replay_project)
    assert result.code == 2
    assert result.err.strip() == (
        'error: [tool.rally_gitops.replay] idle_timeout: a time above 0 such as 900, "15min" '
        "or \"30s\" (got 'soon')"
    )
