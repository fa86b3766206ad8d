"""Write migration files and scratch projects for the tests (the seed's format)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from testing.process import interruptible

PYPROJECT = (
    '[project]\nname = "scratch"\nversion = "0"\n\n[tool.rally_gitops]\n'
    'lock_timeout = "2s"\ndeploy_lock_wait = 30\nrequire_committed = []\ndrift = "off"\n'
)


def version_at(index: int, base: str = "20250101_000000") -> str:
    """The ``index``-th version after ``base``, one minute apart (``20250101_000100``...)."""
    start = dt.datetime.strptime(base, "%Y%m%d_%H%M%S")
    return (start + dt.timedelta(minutes=index)).strftime("%Y%m%d_%H%M%S")


def write_migration(
    directory: Path,
    version: str,
    slug: str,
    sql: str,
    *,
    no_transaction: bool = False,
    rollback: str | None = None,
) -> Path:
    """A seed-style file: header, BEGIN/COMMIT around ``sql`` (unless no-transaction), rollback."""
    directory.mkdir(parents=True, exist_ok=True)
    header = f"-- Migration: {version}_{slug}\n-- Description: {slug.replace('_', ' ')}\n"
    if no_transaction:
        header += "-- rally:no-transaction\n"
        body = f"\n{sql.strip()}\n"
    else:
        body = f"\nBEGIN;\n\n{sql.strip()}\n\nCOMMIT;\n"
    text = header + body
    if rollback is not None:
        commented = "\n".join(f"-- {line}" for line in rollback.strip().split("\n"))
        text += f"\n-- Rollback script (uncomment if needed):\n{commented}\n"
    path = directory / f"{version}_{slug}.sql"
    path.write_text(text, encoding="utf-8")
    return path


def make_project(root: Path, *, settings: str = "") -> Path:
    """An empty project: pyproject.toml (``settings`` go under [tool.rally_gitops]), migrations/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT + settings, encoding="utf-8")
    (root / "migrations").mkdir(exist_ok=True)
    return root


def generate_tables(directory: Path, count: int, *, base: str = "20250101_000000") -> list[str]:
    """``count`` small migrations, each creating table ``t_<i>`` (and an index); their versions."""
    versions = []
    for index in range(count):
        version = version_at(index, base)
        write_migration(
            directory,
            version,
            f"create_t_{index}",
            f"CREATE TABLE t_{index} (id bigint PRIMARY KEY, v text);\n"
            f"CREATE INDEX t_{index}_v_idx ON t_{index} (v);",
            rollback=f"BEGIN;\nDROP TABLE t_{index};\nCOMMIT;",
        )
        versions.append(version)
    return versions


def tables(url: str, schema: str = "public") -> set[str]:
    """The names of the ordinary tables in ``schema``."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
    return {row[0] for row in rows}


def ledger_rows(url: str, schema: str = "rally_gitops") -> list[tuple[str, str]]:
    """(version, name) of every applied row, by version; empty without a ledger."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.applied",)).fetchone()
        if not exists or exists[0] is None:
            return []
        return [
            (row[0], row[1])
            for row in conn.execute(f"SELECT version, name FROM {schema}.applied ORDER BY version")
        ]


def history(url: str, schema: str = "rally_gitops") -> list[tuple[str, str | None, bool]]:
    """(event, version, blocking) of every history row, oldest first."""
    with psycopg.connect(url) as conn:
        return [
            (row[0], row[1], row[2])
            for row in conn.execute(
                f"SELECT event, version, blocking FROM {schema}.history ORDER BY id"
            )
        ]


def start_deploy(project: Path, url: str) -> subprocess.Popen[str]:
    """``rally-gitops deploy --env staging --no-backup`` of ``project`` as a real process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env["DATABASE_STAGING_URL"] = url
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rally_gitops",
            "-C",
            str(project),
            "deploy",
            "--env",
            "staging",
            "--no-backup",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        preexec_fn=interruptible,  # the tests send it SIGINT
    )
