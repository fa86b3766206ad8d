"""Stop the replay server when nobody uses it: after an idle time, or when its data is gone.

The embedded replay server (``.rally/replay-pgdata``) is left running between replays so the next
commit's replay connects in milliseconds. A small watchdog process, started with the server, ends
it once no replay has used it for ``idle_timeout`` (``[tool.rally_gitops.replay]``, default 15
minutes) and no client is connected, or at once when its data directory disappears (the project
was deleted). It sleeps between checks and exits with the server (whoever stops it).

Run as ``python -m rally_gitops.replay.watchdog DATA_DIR IDLE_SECONDS``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from pathlib import Path

from rally_gitops.config import Config
from rally_gitops.postgres.embedded import EmbeddedServer, pid_alive
from rally_gitops.redact import start_detached

MAX_NAP = 10.0  # a deleted data directory is noticed within this many seconds


def data_dir(config: Config) -> Path:
    """The replay server's data directory in the project (the bundled PostgreSQL's)."""
    return config.state_dir / "replay-pgdata"


def data_dirs(config: Config) -> list[Path]:
    """Every replay data directory: the bundled server's, and one per configured ``server_bin``."""
    found = sorted(config.state_dir.glob("replay-pgdata-*"))
    return [data_dir(config), *(path for path in found if path.is_dir())]


def touch(directory: Path) -> None:
    """Record a use of the replay server (the idle time counts from the last one)."""
    with contextlib.suppress(OSError):
        _stamp_path(directory).touch()


def watch(directory: Path, idle: float) -> None:
    """Record a use and make sure a watchdog watches the server running on ``directory``."""
    touch(directory)
    postmaster = _postmaster(directory)
    if postmaster is None:
        return
    with open(directory.parent / f".{directory.name}.watchdog", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # concurrent replays start one watchdog, not two
        handle.seek(0)
        known = handle.read().split()
        if len(known) == 2 and known[1] == str(postmaster) and pid_alive(int(known[0])):
            return
        pid = start_detached(["-m", "rally_gitops.replay.watchdog", str(directory), str(idle)])
        handle.seek(0)
        handle.truncate()
        handle.write(f"{pid} {postmaster}\n")


def main(argv: list[str] | None = None) -> int:
    """The watchdog's loop: sleep, then stop the server if idle or orphaned; exit with it."""
    args = sys.argv[1:] if argv is None else argv
    directory, idle = Path(args[0]), float(args[1])
    postmaster = _postmaster(directory)
    if postmaster is None:
        return 0
    started = _start_time(postmaster)
    nap = max(0.2, min(idle / 4, MAX_NAP))
    while True:
        time.sleep(nap)
        if _start_time(postmaster) != started:
            return 0  # stopped by someone else (server stop, a reboot): nothing to watch
        if not (directory / "postmaster.pid").exists():
            _kill(postmaster, signal.SIGQUIT)  # no data left to shut down cleanly
            return 0
        try:
            last_use = _stamp_path(directory).stat().st_mtime
        except OSError:
            last_use = 0.0
        if time.time() - last_use >= idle:
            if _clients(directory):
                touch(directory)  # a replay is running: idle only once it is done
                continue
            with contextlib.suppress(Exception):
                EmbeddedServer(directory).stop()
            _kill(postmaster, signal.SIGINT)  # in case pg_ctl could not (fast shutdown)
            return 0


def _stamp_path(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.used"


def _postmaster(directory: Path) -> int | None:
    try:
        return int((directory / "postmaster.pid").read_text().split("\n")[0])
    except (OSError, ValueError):
        return None


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat): a reused pid has another one."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while _start_time(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.2)


def _clients(directory: Path) -> int:
    """Client sessions other than ours (0 when the server cannot be asked)."""
    running = EmbeddedServer(directory).running()
    if running is None:
        return 0
    try:
        import psycopg

        with psycopg.connect(running.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()"
            ).fetchone()
    except Exception:  # noqa: BLE001 - a server that cannot answer is not in use
        return 0
    return int(row[0]) if row else 0


if __name__ == "__main__":
    raise SystemExit(main())
