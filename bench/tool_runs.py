"""The timed runs of each tool of ``deploy_vs_dbmate.py``: rally, dbmate, the psql floor, and
where a ``status`` run's time goes (start-up, imports).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from common import ROOT, Server, Timed, install, must, run_timed, summary, venv_bin

NPM_DIR = ROOT / ".rally" / "bench"


def dbmate_binary(npm_dir: Path = NPM_DIR) -> Path:
    """The native dbmate binary, installed from npm into ``npm_dir`` when missing."""
    arch = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x64")
    system = sys.platform if sys.platform != "linux" else "linux"
    binary = npm_dir / "node_modules" / "@dbmate" / f"{system}-{arch}" / "bin" / "dbmate"
    if binary.exists():
        return binary
    npm_dir.mkdir(parents=True, exist_ok=True)
    install(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(npm_dir), "dbmate"],
        f"dbmate from npm into {npm_dir}",
    )
    if not binary.exists():
        raise SystemExit(
            f"bench: npm installed dbmate but not its native binary {binary} "
            f"(optional dependency @dbmate/{system}-{arch} skipped?)"
        )
    return binary


def tool_env(**extra: str) -> dict[str, str]:
    """The environment of a tool run: ours minus any database variable, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "PG")) and k not in ("CI",)
    }
    # dbmate has no drift check: rally's (a replay of the history before and after) is not timed
    env["RALLY_DRIFT"] = "off"
    env.update(extra)
    return env


def count_rows(server: Server, database: str, query: str) -> int:
    """One integer from ``query`` in ``database`` (to check that a run applied everything)."""
    import psycopg

    with psycopg.connect(server.tcp_url(database)) as conn:
        return int(conn.execute(query).fetchone()[0])


OBJECTS = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relname NOT LIKE 'schema\\_migrations%'"
)


def run_rally(
    project: Path, server: Server, database: str, count: int, extra: tuple[str, ...] = ()
) -> Timed:
    """One timed ``rally-gitops deploy`` into a fresh database, checked to have applied all."""
    url = server.create_database(database)
    result = must(
        run_timed(
            [venv_bin("rally-gitops"), "deploy", "--env", "staging", "--yes", *extra],
            cwd=project,
            env=tool_env(DATABASE_STAGING_URL=url),
        ),
        "rally-gitops deploy",
    )
    applied = count_rows(server, database, "SELECT count(*) FROM rally_gitops.applied")
    if applied != count:
        raise SystemExit(f"bench: rally-gitops applied {applied} of {count} migrations")
    return result


def run_dbmate(binary: Path, project: Path, server: Server, database: str, count: int) -> Timed:
    """One timed ``dbmate up`` into a fresh database, checked to have applied all."""
    url = server.create_database(database)
    result = must(
        run_timed(
            [binary, "--migrations-dir", project / "db" / "migrations", "--no-dump-schema", "up"],
            cwd=project,
            env=tool_env(DATABASE_URL=url),
        ),
        "dbmate up",
    )
    applied = count_rows(server, database, "SELECT count(*) FROM schema_migrations")
    if applied != count:
        raise SystemExit(f"bench: dbmate applied {applied} of {count} migrations")
    return result


def psql_binary(pg_bin: Path | None) -> Path:
    """psql of ``--pg-bin``, else the embedded wheel's, else the one on PATH."""
    import shutil

    from rally_gitops.postgres.embedded import bin_dir

    for candidate in (pg_bin / "psql" if pg_bin else None, bin_dir() / "psql"):
        if candidate is not None and candidate.exists():
            return candidate
    found = shutil.which("psql")
    if found is None:
        raise SystemExit("bench: psql not found (pass --pg-bin)")
    return Path(found)


def run_floor(psql: Path, script: Path, server: Server, database: str) -> Timed:
    """One timed ``psql -1 -f all.sql``: the whole history, one transaction, no ledger."""
    url = server.create_database(database)
    argv = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", script, "-d", url.split("?")[0]]
    password = url.split(":", 2)[2].split("@")[0]
    env = tool_env(PGPASSWORD=password, PGSSLMODE="disable")
    argv[-1] = url.split("?")[0].replace(f":{password}@", "@")  # no password in argv
    return must(run_timed(argv, cwd=script.parent, env=env), "psql -1 -f all.sql")


def startup_share(project: Path, url: str, runs: int) -> list[str]:
    """Where a ``status`` run's time goes before any work: interpreter, imports, parser."""
    python = sys.executable
    env = tool_env(DATABASE_STAGING_URL=url)
    lines = []
    for label, argv in (
        ("python -c pass (bare interpreter)", [python, "-c", "pass"]),
        ("python -c 'import rally_gitops.main'", [python, "-c", "import rally_gitops.main"]),
        (
            "rally-gitops --version (all command modules + parser)",
            [venv_bin("rally-gitops"), "--version"],
        ),
    ):
        samples = [must(run_timed(argv, cwd=project, env=env), label).seconds for _ in range(runs)]
        lines.append(f"{label}: {summary(samples)}")
    trace = run_timed(
        [python, "-X", "importtime", "-m", "rally_gitops", "status", "--env", "staging"],
        cwd=project,
        env=env,
    )
    top: list[tuple[int, str]] = []
    for line in trace.stderr.splitlines():
        # "import time:   self |  cumulative | name"; top-level modules have no leading spaces
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _, rest = line.partition(":")
        parts = rest.split("|")
        if len(parts) == 3 and not parts[2].startswith("  "):
            top.append((int(parts[1]), parts[2].strip()))
    top.sort(reverse=True)
    total = sum(us for us, _ in top)
    lines.append(f"imports during `status` (python -X importtime): {total / 1e6:.3f} s in total")
    lines.extend(f"  {us / 1e6:.3f} s  {name}" for us, name in top[:8])
    return lines
